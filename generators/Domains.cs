using Conformance.Adapters;
using static Conformance.Adapters.Uapi;
using static Conformance.Generators.DomainValues;

namespace Conformance.Generators;

/// <summary>
/// Every argument domain the generator draws from, declared once: the valid values of each flag, enum and boundary
/// field (as its documentation lists them) and the invalid ones the suite sends on purpose, with weights. Which handle
/// or which buffer an op names, and values tied to the state (the queue's own buffer type, a size relative to the
/// buffer in hand), are the only choices <see cref="SequenceGenerator"/> makes in code; relative values are declared here
/// as functions of that state. The order of values is part of what a seed means: append, do not reorder.
/// An op names the domain of each argument where it declares the argument (<see cref="DrawnFromAttribute"/>, or
/// <see cref="DerivedAttribute"/> with the reason the state decides); a test checks that every scalar argument of every op
/// says one or the other.
/// </summary>
public static class Domains
{
    /// <summary>Every declared domain, in declaration order.</summary>
    public static IReadOnlyList<Domain> All => _all ??= DomainRegistry.Collect(typeof(Domains));
    private static IReadOnlyList<Domain>? _all;

    /// <summary>The domain with this name, or null.</summary>
    public static Domain? Find(string name) => All.FirstOrDefault(d => d.Name == name);

    // ---- V4L2 / videobuf2 ---------------------------------------------------------------------------

    /// <summary>A buffer type relative to the queue under test (its own type, or the other direction).</summary>
    public static readonly Domain<Func<uint, uint>> BufType = new(
        Ok<Func<uint, uint>>(94, t => t, "the queue's type"),
        Bad<Func<uint, uint>>(6, t => t switch
        {
            V4L2_BUF_TYPE_VIDEO_CAPTURE => V4L2_BUF_TYPE_VIDEO_OUTPUT, V4L2_BUF_TYPE_VIDEO_OUTPUT => V4L2_BUF_TYPE_VIDEO_CAPTURE,
            V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE => V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, _ => V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
        }, "the other direction"))
    {
        Name = "v4l2 buffer type", Source = "Documentation/userspace-api/media/v4l/buffer.rst (enum v4l2_buf_type): a node serves the types its capabilities list",
    };

    public static readonly Domain<uint> Memory = new(
        Ok(14, V4L2_MEMORY_MMAP, "V4L2_MEMORY_MMAP"), Ok(3, V4L2_MEMORY_DMABUF, "V4L2_MEMORY_DMABUF"), Ok(3, V4L2_MEMORY_USERPTR, "V4L2_MEMORY_USERPTR"),
        Bad(1, 0u, "0"), Bad(1, V4L2_MEMORY_OVERLAY, "V4L2_MEMORY_OVERLAY (not a videobuf2 memory type)"))
    {
        Name = "v4l2 memory", Source = "Documentation/userspace-api/media/v4l/buffer.rst (enum v4l2_memory); videobuf2-core.c vb2_verify_memory_type",
    };

    /// <summary>Boundary values: whether an index names a buffer is the queue's state, not the value's.</summary>
    public static readonly Domain<uint> BufIndex = new(
        Ok(8, 0u), Ok(6, 1u), Ok(3, 2u), Ok(2, 3u), Ok(1, 63u), Ok(1, 64u), Ok(1, 1000u))
    {
        Name = "v4l2 buffer index", Source = "Documentation/userspace-api/media/v4l/buffer.rst (index: 0 to the number of buffers allocated - 1)",
    };

    public static readonly Domain<uint> ReqBufsCount = new(
        Ok(6, 1u), Ok(3, 2u), Ok(3, 0u, "0 (frees the buffers)"), Ok(2, 4u), Ok(1, 3u), Ok(1, 1000u, "1000 (more than any queue allows: adjusted)"))
    {
        Name = "v4l2_requestbuffers.count", Source = "Documentation/userspace-api/media/v4l/vidioc-reqbufs.rst (count 0 frees; the driver may adjust it)",
    };

    public static readonly Domain<uint> CreateBufsCount = new(Ok(6, 1u), Ok(3, 0u, "0 (a query)"), Ok(2, 2u), Ok(1, 100u))
    {
        Name = "v4l2_create_buffers.count", Source = "Documentation/userspace-api/media/v4l/vidioc-create-bufs.rst (count 0 only checks the format and memory)",
    };

    public static readonly Domain<long> CreateBufsSizeDelta = new(
        Ok(8, 0L, "the current sizeimage"), Ok(2, 4096L, "sizeimage + 4096"), Bad(1, -1L, "sizeimage - 1 (too small for the format)"), Ok(1, 1L, "sizeimage + 1"))
    {
        Name = "v4l2_create_buffers.format sizeimage", Source = "Documentation/userspace-api/media/v4l/vidioc-create-bufs.rst (a sizeimage smaller than the format needs is an error)",
    };

    public static readonly Domain<uint> ExpBufPlane = new(Ok(12, 0u), Bad(1, 1u, "1 (a second plane on a single-planar queue)"))
    {
        Name = "v4l2_exportbuffer.plane", Source = "Documentation/userspace-api/media/v4l/vidioc-expbuf.rst (single-planar API: plane must be zero)",
    };

    public static readonly Domain<uint> ExpBufFlags = new(
        Ok(5, (uint)(O_RDWR | O_CLOEXEC), "O_RDWR|O_CLOEXEC"), Ok(3, (uint)O_RDWR, "O_RDWR"), Ok(2, (uint)O_RDONLY, "O_RDONLY"), Ok(2, (uint)O_CLOEXEC, "O_RDONLY|O_CLOEXEC"),
        Ok(1, (uint)O_WRONLY, "O_WRONLY"), Bad(1, (uint)O_NONBLOCK, "O_NONBLOCK"), Bad(1, 0x100u, "0x100 (O_NOCTTY)"))
    {
        Name = "v4l2_exportbuffer.flags", Source = "Documentation/userspace-api/media/v4l/vidioc-expbuf.rst (O_CLOEXEC and the access mode); videobuf2-core.c vb2_core_expbuf",
    };

    public static readonly Domain<uint> MmapVideoPlane = new(Ok(15, 0u), Bad(1, 1u, "1 (a second plane on a single-planar queue)"))
    {
        Name = "video mmap plane", Source = "Documentation/userspace-api/media/v4l/mmap.rst (the offset QUERYBUF reports for the plane)",
    };

    /// <summary>Lengths relative to the format's sizeimage.</summary>
    public static readonly Domain<Func<long, long>> MmapVideoLength = new(
        Ok<Func<long, long>>(6, s => s, "sizeimage"), Ok<Func<long, long>>(3, s => PageAlign(s), "sizeimage rounded up to a page"),
        Ok<Func<long, long>>(2, _ => PAGE_SIZE, "one page"), Bad<Func<long, long>>(1, s => PageAlign(s) + PAGE_SIZE, "one page past the buffer"),
        Bad<Func<long, long>>(1, _ => 0L, "0"))
    {
        Name = "video mmap length", Source = "Documentation/userspace-api/media/v4l/func-mmap.rst (length: at most the buffer's length)",
    };

    public static readonly Domain<int> MmapVideoProt = new(Ok(8, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE"), Ok(3, PROT_READ, "PROT_READ"))
    {
        Name = "video mmap prot", Source = "Documentation/userspace-api/media/v4l/func-mmap.rst (prot)",
    };

    public static readonly Domain<int> MmapVideoFlags = new(Ok(12, MAP_SHARED, "MAP_SHARED"), Bad(1, MAP_PRIVATE, "MAP_PRIVATE"))
    {
        Name = "video mmap flags", Source = "Documentation/userspace-api/media/v4l/func-mmap.rst (most drivers support only MAP_SHARED; videobuf2 requires it)",
    };

    /// <summary>recvmsg's flags when an fd comes back through SCM_RIGHTS: with or without MSG_CMSG_CLOEXEC.</summary>
    public static readonly Domain<bool> RecvCloexec = new(Ok(1, false, "recvmsg flags 0"), Ok(1, true, "recvmsg MSG_CMSG_CLOEXEC"))
    {
        Name = "recvmsg flags (SCM_RIGHTS)", Source = "net/core/scm.c:scm_detach_fds (MSG_CMSG_CLOEXEC gives the received fd O_CLOEXEC)",
    };

    /// <summary>Which request a QBuf op sends: VIDIOC_QBUF, or VIDIOC_PREPARE_BUF with the same argument.</summary>
    public static readonly Domain<bool> QBufRequest = new(Ok(6, false, "VIDIOC_QBUF"), Ok(1, true, "VIDIOC_PREPARE_BUF"))
    {
        Name = "QBUF or PREPARE_BUF", Source = "Documentation/userspace-api/media/v4l/vidioc-prepare-buf.rst (the argument of VIDIOC_QBUF)",
    };

    /// <summary>The payload fields a DMABUF QBUF of an output queue passes (<see cref="PlaneFields"/>): one frame, the whole plane,
    /// the frame at the plane's end, and the two vb2 refuses. Drawn from a stream of its own, so sequences without such a step
    /// are as they were.</summary>
    public static readonly Domain<PlaneFields> QBufPlaneFields = new(
        Ok(12, PlaneFields.Format, "bytesused = sizeimage, data_offset 0"), Ok(3, PlaneFields.PayloadLength, "bytesused = the plane's length"),
        Ok(2, PlaneFields.OffsetTail, "data_offset = length - sizeimage, bytesused = length"),
        Bad(1, PlaneFields.PayloadPastLength, "bytesused = length + 1"), Bad(1, PlaneFields.OffsetAtPayload, "data_offset = bytesused"))
    {
        Name = "QBUF payload fields (output)", Source = "Documentation/userspace-api/media/v4l/buffer.rst (struct v4l2_plane: bytesused, data_offset); drivers/media/common/videobuf2/videobuf2-v4l2.c __verify_length",
    };

    /// <summary>Whether a QBUF names a request (V4L2_BUF_FLAG_REQUEST_FD, buffer.rst request_fd): none, a live request of the
    /// node's media device, or an fd that is not a request (the video node's own). Drawn only where a request fd is live.</summary>
    public static readonly Domain<RequestArg> QBufInRequest = new(
        Ok(6, RequestArg.None, "no request"), Ok(4, RequestArg.Request, "a request fd"),
        Bad(1, RequestArg.NotARequest, "the video node's own fd as request_fd (not a request: EINVAL)"))
    {
        Name = "QBUF request_fd", Source = "Documentation/userspace-api/media/v4l/buffer.rst (request_fd, V4L2_BUF_FLAG_REQUEST_FD); vidioc-qbuf.rst (EINVAL, EBADR)",
    };

    /// <summary>The events a poll() of a video node asks for: buffers either way, capture's, output's, or events alone (which
    /// must start nothing).</summary>
    public static readonly Domain<short> VideoPollEvents = new(
        Ok(4, (short)(POLLIN | POLLOUT), "POLLIN|POLLOUT"), Ok(3, POLLIN, "POLLIN"), Ok(2, POLLOUT, "POLLOUT"),
        Ok(1, POLLPRI, "POLLPRI (events only: starts no streaming)"))
    {
        Name = "video poll events", Source = "Documentation/userspace-api/media/v4l/func-poll.rst",
    };

    /// <summary>The frame size a format change asks for, relative to the current format: unchanged, smaller, larger, and past
    /// either end of what any driver supports (the driver adjusts).</summary>
    public static readonly Domain<FrameSize> FormatFrameSize = new(
        Ok(3, FrameSize.Half, "half width and height"), Ok(2, FrameSize.Current, "the current format"),
        Ok(2, FrameSize.Double, "twice width and height"), Ok(1, FrameSize.Minimum, "1x1 (below the minimum)"),
        Ok(1, FrameSize.Maximum, "65535x65535 (above the maximum)"))
    {
        Name = "format frame size", Source = "Documentation/userspace-api/media/v4l/vidioc-g-fmt.rst (drivers adjust what they cannot do)",
    };

    /// <summary>Which format ioctl: VIDIOC_S_FMT (changes the format) or VIDIOC_TRY_FMT (only answers).</summary>
    public static readonly Domain<bool> FmtIoctl = new(Ok(3, false, "VIDIOC_S_FMT"), Ok(2, true, "VIDIOC_TRY_FMT"))
    {
        Name = "format ioctl", Source = "Documentation/userspace-api/media/v4l/vidioc-g-fmt.rst",
    };

    /// <summary>read()'s count, relative to the queue's sizeimage s.</summary>
    public static readonly Domain<Func<long, long>> ReadCount = new(
        Ok<Func<long, long>>(4, s => s, "sizeimage (one frame)"), Ok<Func<long, long>>(3, _ => PAGE_SIZE, "one page"), Ok<Func<long, long>>(2, _ => 1L, "1"),
        Ok<Func<long, long>>(2, s => s + PAGE_SIZE, "a frame and a page (more than one frame)"), Ok<Func<long, long>>(1, _ => 0L, "0 (returns 0, does nothing)"))
    {
        Name = "read count", Source = "Documentation/userspace-api/media/v4l/func-read.rst (count 0 returns 0; at most one frame per call)",
    };

    /// <summary>write()'s count, relative to the queue's sizeimage s.</summary>
    public static readonly Domain<Func<long, long>> WriteCount = new(
        Ok<Func<long, long>>(4, s => s, "sizeimage (one frame)"), Ok<Func<long, long>>(3, _ => PAGE_SIZE, "one page"), Ok<Func<long, long>>(2, _ => 1L, "1"),
        Ok<Func<long, long>>(2, s => s + PAGE_SIZE, "a frame and a page (more than one frame)"), Ok<Func<long, long>>(1, _ => 0L, "0 (returns 0, does nothing)"))
    {
        Name = "write count", Source = "Documentation/userspace-api/media/v4l/func-write.rst (count 0 returns 0 without any other effect; up to count bytes)",
    };

    public static readonly Domain<uint> RemoveBufsCount = new(Ok(5, 1u), Ok(2, 0u, "0 (does nothing)"), Ok(2, 2u), Ok(1, 65u))
    {
        Name = "v4l2_remove_buffers.count", Source = "Documentation/userspace-api/media/v4l/vidioc-remove-bufs.rst (count 0 does nothing and returns 0)",
    };

    // ---- multi-planar queues: drawn only on a VIDEO_CAPTURE_MPLANE or VIDEO_OUTPUT_MPLANE queue, in place of the
    // single-planar domains above, so single-planar sequences are drawn exactly as before. Relative to the format's num_planes.

    /// <summary>A plane to export, relative to the format's number of planes n.</summary>
    public static readonly Domain<Func<int, uint>> ExpBufMplanePlane = new(
        Ok<Func<int, uint>>(6, _ => 0u, "plane 0"), Ok<Func<int, uint>>(6, n => (uint)n - 1, "the last plane"),
        Ok<Func<int, uint>>(3, n => (uint)n / 2, "the middle plane"), Bad<Func<int, uint>>(1, n => (uint)n, "num_planes (one past the last)"),
        Bad<Func<int, uint>>(1, _ => (uint)VIDEO_MAX_PLANES, "VIDEO_MAX_PLANES"))
    {
        Name = "v4l2_exportbuffer.plane (multi-planar)",
        Source = "Documentation/userspace-api/media/v4l/vidioc-expbuf.rst (valid planes range from zero to the number of planes of the active format)",
    };

    /// <summary>A plane to map, relative to the format's number of planes n: mmap offsets carry the plane in 3 bits (vb2's
    /// cookie layout), so there is no VIDEO_MAX_PLANES here.</summary>
    public static readonly Domain<Func<int, uint>> MmapVideoMplanePlane = new(
        Ok<Func<int, uint>>(6, _ => 0u, "plane 0"), Ok<Func<int, uint>>(6, n => (uint)n - 1, "the last plane"),
        Ok<Func<int, uint>>(3, n => (uint)n / 2, "the middle plane"), Bad<Func<int, uint>>(1, n => (uint)n, "num_planes (one past the last)"))
    {
        Name = "video mmap plane (multi-planar)",
        Source = "Documentation/userspace-api/media/v4l/mmap.rst (every plane of every buffer is mapped separately, at its own m.offset)",
    };

    /// <summary>Which plane's length QUERYBUF's observation reads (one past the last reports that there is no such plane).</summary>
    public static readonly Domain<Func<int, uint>> QueryBufPlane = new(
        Ok<Func<int, uint>>(4, _ => 0u, "plane 0"), Ok<Func<int, uint>>(4, n => (uint)n - 1, "the last plane"),
        Ok<Func<int, uint>>(2, n => (uint)n / 2, "the middle plane"), Ok<Func<int, uint>>(1, n => (uint)n, "num_planes (no such plane: length says how many)"))
    {
        Name = "v4l2_buffer.m.planes index read",
        Source = "Documentation/userspace-api/media/v4l/buffer.rst (length: the number of elements in the planes array; struct v4l2_plane length)",
    };

    public static readonly Domain<PlaneLayout> CreateBufsLayout = new(
        Ok(12, PlaneLayout.Format, "the format's planes"), Bad(1, PlaneLayout.FewerPlanes, "num_planes - 1"),
        Bad(1, PlaneLayout.MorePlanes, "num_planes + 1"), Bad(1, PlaneLayout.LastPlaneZero, "a plane's sizeimage 0"))
    {
        Name = "v4l2_create_buffers.format.fmt.pix_mp planes",
        Source = "Documentation/userspace-api/media/v4l/vidioc-create-bufs.rst (the plane sizes of the format); include/media/videobuf2-core.h (queue_setup: invalid num_planes or sizes give EINVAL)",
    };

    /// <summary>The domains only a multi-planar queue draws from (a single-planar profile never sends their values).</summary>
    public static IReadOnlyList<Domain> MultiPlanarOnly => [ExpBufMplanePlane, MmapVideoMplanePlane, QueryBufPlane, CreateBufsLayout];

    /// <summary>A buffer type on a mem2mem node, relative to its profile: either of the context's two queues, or a type of the
    /// other API (multi-planar on a single-planar node, and the reverse), which the node does not serve. Drawn only on a
    /// mem2mem node, in place of <see cref="BufType"/>.</summary>
    public static readonly Domain<Func<VideoNodeProfile, uint>> M2mBufType = new(
        Ok<Func<VideoNodeProfile, uint>>(10, n => n.BufType, "the CAPTURE queue's type"),
        Ok<Func<VideoNodeProfile, uint>>(10, n => n.OutputQueue!.BufType, "the OUTPUT queue's type"),
        Bad<Func<VideoNodeProfile, uint>>(1, n => IsMultiPlanar(n.BufType) ? V4L2_BUF_TYPE_VIDEO_CAPTURE : V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, "the other API's CAPTURE type"))
    {
        Name = "v4l2 buffer type (mem2mem)",
        Source = "Documentation/userspace-api/media/v4l/dev-mem2mem.rst (a mem2mem node has an OUTPUT and a CAPTURE queue); buffer.rst (enum v4l2_buf_type)",
    };

    /// <summary>The domains only a mem2mem node draws from.</summary>
    public static IReadOnlyList<Domain> Mem2MemOnly => [M2mBufType];

    /// <summary>The domains only an output node with write() I/O draws from.</summary>
    public static IReadOnlyList<Domain> WriteOnly => [WriteCount];

    /// <summary>Domains drawn only for a multi-planar output queue of raw frames (the payload fields; on a single-planar
    /// queue only two of their values apply): the default run on such a node sends every value.</summary>
    public static IReadOnlyList<Domain> MplaneOutputOnly => [QBufPlaneFields];
    /// <summary>Domains drawn only on a stateful codec's node (a mem2mem node with a compressed format on one side); the
    /// encoder's default run sends every value of each.</summary>
    public static IReadOnlyList<Domain> EncoderOnly => [EncoderCommand, EncoderCmdIoctl, EventType, EventIoctl];

    /// <summary>The resolution of a coded frame the suite writes into a decoder's OUTPUT buffer (an index into
    /// <see cref="Bitstream.Resolutions"/>): a frame of the other one than the stream has is a resolution change.</summary>
    public static readonly Domain<int> StreamResolution = new(
        Ok(1, 0, $"{Bitstream.Resolutions[0]}"), Ok(1, 1, $"{Bitstream.Resolutions[1]}"))
    {
        Name = "stream resolution", Source = "Documentation/userspace-api/media/v4l/dev-decoder.rst (Dynamic Resolution Change); pixfmt-compressed.rst (V4L2_PIX_FMT_FWHT)",
    };

    /// <summary>Drawn only on a stateful decoder whose stream the suite writes.</summary>
    public static IReadOnlyList<Domain> DecoderOnly => [StreamResolution, DecoderCommand, DecoderCmdIoctl];

    // ---- dma-buf core --------------------------------------------------------------------------------

    public static readonly Domain<ulong> SyncFlags = new(
        Ok(4, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW, "START|RW"), Ok(4, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW, "END|RW"),
        Ok(2, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ, "START|READ"), Ok(2, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE, "END|WRITE"),
        Bad(1, 0UL, "0"), Bad(1, DMA_BUF_SYNC_END, "END (no direction)"), Bad(1, 8UL, "0x8 (an unknown bit)"), Bad(1, ulong.MaxValue, "every bit"),
        Ok(2, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE, "START|WRITE"), Ok(2, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ, "END|READ"))
    {
        Name = "dma_buf_sync.flags", Source = "include/uapi/linux/dma-buf.h (DMA_BUF_SYNC_VALID_FLAGS_MASK; a direction is required): all six direction pairs are valid",
    };

    /// <summary>How far past its buffer's end a dma-buf mapping is grown (<see cref="MremapGrow"/>), in pages: one, a few, or far.</summary>
    public static readonly Domain<long> MremapPastEnd = new(Ok(4, 1L, "1 page"), Ok(2, 2L, "2 pages"), Ok(1, 64L, "64 pages"))
    {
        Name = "mremap growth past the buffer's end (pages)", Source = "mm/mremap.c vma_to_resize (growth of a VM_DONTEXPAND or VM_PFNMAP mapping: EFAULT); drivers/dma-buf/udmabuf.c udmabuf_vm_fault (a page offset past the buffer: SIGBUS)",
    };

    /// <summary>Where the argument of an ioctl that writes a new fd into it lies (<see cref="Op.ReadOnlyArg"/>): writable memory,
    /// or a read-only page, so that the kernel's copy of the result back faults after the fd was made.</summary>
    public static readonly Domain<bool> ArgPage = new(Ok(40, false, "writable"), Bad(1, true, "a read-only page (the copy-out faults: EFAULT)"))
    {
        Name = "ioctl argument memory", Source = "Documentation/userspace-api/media/gen-errors.rst (EFAULT: the argument references an inaccessible memory area); drivers/dma-buf/dma-heap.c dma_heap_ioctl (copy_to_user, then fd_install)",
    };

    /// <summary>Whether the process's fd table has room when a create ioctl runs (<see cref="Op.FdTableFull"/>): room, or full
    /// up to its RLIMIT_NOFILE, so the call cannot get an fd (EMFILE).</summary>
    public static readonly Domain<bool> FdTable = new(Ok(40, false, "room for an fd"), Bad(1, true, "full up to RLIMIT_NOFILE (no fd can be had: EMFILE)"))
    {
        Name = "the process's fd table", Source = "fs/file.c alloc_fd (-EMFILE when no fd below rlimit(RLIMIT_NOFILE) is free); drivers/dma-buf/udmabuf.c udmabuf_create (dma_buf_put when dma_buf_fd fails)",
    };

    public static readonly Domain<int> NameLength = new(
        Ok(3, 5), Ok(2, 31, "31 (the longest name)"), Bad(2, 32, "32 (DMA_BUF_NAME_LEN: no room for the NUL)"), Ok(1, 0, "0 (empty)"), Bad(1, 64))
    {
        Name = "DMA_BUF_SET_NAME length", Source = "include/uapi/linux/dma-buf.h (DMA_BUF_NAME_LEN 32, with the NUL)",
    };

    /// <summary>v4l2_encoder_cmd.cmd on a stateful encoder: STOP and START are the drain's (dev-encoder.rst); PAUSE and RESUME
    /// are for encoders that capture (vidioc-encoder-cmd.rst), and a mem2mem encoder need not take them; 4 is no command.</summary>
    public static readonly Domain<uint> EncoderCommand = new(
        Ok(8, V4L2_ENC_CMD_STOP, "V4L2_ENC_CMD_STOP"), Ok(4, V4L2_ENC_CMD_START, "V4L2_ENC_CMD_START"), Bad(1, 4u, "4 (no such command)"))
    {
        Name = "encoder command", Source = "Documentation/userspace-api/media/v4l/vidioc-encoder-cmd.rst (cmd); dev-encoder.rst (Drain)",
    };

    /// <summary>VIDIOC_ENCODER_CMD, or VIDIOC_TRY_ENCODER_CMD (checks the command and executes nothing).</summary>
    public static readonly Domain<bool> EncoderCmdIoctl = new(Ok(4, false, "VIDIOC_ENCODER_CMD"), Ok(1, true, "VIDIOC_TRY_ENCODER_CMD"))
    {
        Name = "encoder command ioctl", Source = "Documentation/userspace-api/media/v4l/vidioc-encoder-cmd.rst",
    };

    /// <summary>v4l2_decoder_cmd.cmd on a stateful decoder: STOP and START are the drain's (dev-decoder.rst); FLUSH is "only
    /// valid for stateless decoders" and 5 is no command (vidioc-decoder-cmd.rst). PAUSE and RESUME (EPERM before the decoder
    /// started) are not sent.</summary>
    public static readonly Domain<uint> DecoderCommand = new(
        Ok(8, V4L2_DEC_CMD_STOP, "V4L2_DEC_CMD_STOP"), Ok(4, V4L2_DEC_CMD_START, "V4L2_DEC_CMD_START"),
        Bad(1, V4L2_DEC_CMD_FLUSH, "V4L2_DEC_CMD_FLUSH (stateless decoders only)"), Bad(1, 5u, "5 (no such command)"))
    {
        Name = "decoder command", Source = "Documentation/userspace-api/media/v4l/vidioc-decoder-cmd.rst (cmd); dev-decoder.rst (Drain)",
    };

    /// <summary>VIDIOC_DECODER_CMD, or VIDIOC_TRY_DECODER_CMD (checks the command and executes nothing).</summary>
    public static readonly Domain<bool> DecoderCmdIoctl = new(Ok(4, false, "VIDIOC_DECODER_CMD"), Ok(1, true, "VIDIOC_TRY_DECODER_CMD"))
    {
        Name = "decoder command ioctl", Source = "Documentation/userspace-api/media/v4l/vidioc-decoder-cmd.rst",
    };

    /// <summary>v4l2_event_subscription.type on a stateful codec: EOS (dev-encoder.rst and dev-decoder.rst, Drain), SOURCE_CHANGE
    /// (dev-decoder.rst: a decoder's; an encoder may refuse it), and V4L2_EVENT_ALL, which only VIDIOC_UNSUBSCRIBE_EVENT takes
    /// (vidioc-dqevent.rst, event types).</summary>
    public static readonly Domain<uint> EventType = new(
        Ok(6, V4L2_EVENT_EOS, "V4L2_EVENT_EOS"), Ok(2, V4L2_EVENT_SOURCE_CHANGE, "V4L2_EVENT_SOURCE_CHANGE"),
        Ok(1, V4L2_EVENT_ALL, "V4L2_EVENT_ALL (unsubscribes every event; EINVAL to subscribe)"))
    {
        Name = "event type", Source = "Documentation/userspace-api/media/v4l/vidioc-subscribe-event.rst; vidioc-dqevent.rst (event types)",
    };

    /// <summary>VIDIOC_SUBSCRIBE_EVENT, or VIDIOC_UNSUBSCRIBE_EVENT.</summary>
    public static readonly Domain<bool> EventIoctl = new(Ok(4, false, "VIDIOC_SUBSCRIBE_EVENT"), Ok(1, true, "VIDIOC_UNSUBSCRIBE_EVENT"))
    {
        Name = "event subscription ioctl", Source = "Documentation/userspace-api/media/v4l/vidioc-subscribe-event.rst",
    };

    public static readonly Domain<long> LlseekOffset = new(Ok(6, 0L), Bad(1, 1L), Bad(1, -1L))
    {
        Name = "dma-buf lseek offset", Source = "Documentation/driver-api/dma-buf.rst (llseek: only offset 0 is supported)",
    };

    public static readonly Domain<int> LlseekWhence = new(
        Ok(5, SEEK_END, "SEEK_END"), Ok(4, SEEK_SET, "SEEK_SET"), Bad(2, SEEK_CUR, "SEEK_CUR"), Bad(1, SEEK_DATA, "SEEK_DATA"), Bad(1, SEEK_HOLE, "SEEK_HOLE"))
    {
        Name = "dma-buf lseek whence", Source = "Documentation/driver-api/dma-buf.rst (llseek: only SEEK_SET and SEEK_END)",
    };

    /// <summary>Page offsets relative to the buffer's size in pages.</summary>
    public static readonly Domain<Func<long, long>> MmapPage = new(
        Ok<Func<long, long>>(6, _ => 0L, "page 0"), Ok<Func<long, long>>(3, pages => Math.Min(1, pages - 1), "page 1"),
        Ok<Func<long, long>>(2, pages => pages - 1, "the last page"), Bad<Func<long, long>>(1, pages => pages, "one past the last page"))
    {
        Name = "dma-buf mmap page offset", Source = "Documentation/driver-api/dma-buf.rst (mmap: the page offset selects where in the buffer the mapping starts)",
    };

    /// <summary>Lengths relative to (pages in the buffer, first page mapped).</summary>
    public static readonly Domain<Func<(long Pages, long Page), long>> MmapLength = new(
        Ok<Func<(long Pages, long Page), long>>(5, x => (x.Pages - x.Page) * PAGE_SIZE, "to the end"),
        Ok<Func<(long Pages, long Page), long>>(2, _ => PAGE_SIZE, "one page"),
        Bad<Func<(long Pages, long Page), long>>(1, x => (x.Pages - x.Page + 1) * PAGE_SIZE, "one page past the end"),
        Bad<Func<(long Pages, long Page), long>>(1, _ => 0L, "0"))
    {
        Name = "dma-buf mmap length", Source = "mmap(2) (length 0: EINVAL); Documentation/driver-api/dma-buf.rst (a mapping lies within the buffer)",
    };

    // ---- dma-heap ------------------------------------------------------------------------------------

    /// <summary>Lengths; "a frame" is relative to the first video node's sizeimage (a heap buffer a USERPTR queue can take).</summary>
    public static readonly Domain<Func<long, ulong>> HeapLen = new(
        Ok<Func<long, ulong>>(5, _ => PAGE_SIZE, "one page"), Ok<Func<long, ulong>>(4, _ => 3 * PAGE_SIZE, "3 pages"),
        Ok<Func<long, ulong>>(3, _ => 100UL, "100 bytes"), Ok<Func<long, ulong>>(2, _ => 2 * PAGE_SIZE + 1, "2 pages + 1"),
        Bad<Func<long, ulong>>(1, _ => 0UL, "0"), Ok<Func<long, ulong>>(1, frame => (ulong)PageAlign(frame), "a frame"))
    {
        Name = "dma_heap_allocation_data.len", Source = "Documentation/userspace-api/dma-buf-heaps.rst; drivers/dma-buf/dma-heap.c (len is page-aligned; 0 is refused)",
    };

    public static readonly Domain<uint> HeapFdFlags = new(
        Ok(6, (uint)(O_RDWR | O_CLOEXEC), "O_RDWR|O_CLOEXEC"), Ok(3, (uint)O_RDWR, "O_RDWR"), Ok(2, (uint)O_RDONLY, "O_RDONLY"), Ok(1, (uint)O_WRONLY, "O_WRONLY"),
        Bad(1, 3u, "3 (O_ACCMODE: not an access mode)"), Bad(1, (uint)O_NONBLOCK, "O_NONBLOCK"))
    {
        Name = "dma_heap_allocation_data.fd_flags", Source = "include/uapi/linux/dma-heap.h (DMA_HEAP_VALID_FD_FLAGS: O_CLOEXEC | O_ACCMODE)",
    };

    public static readonly Domain<ulong> HeapFlags = new(Ok(12, 0UL), Bad(1, 1UL, "1 (no heap flag is defined)"))
    {
        Name = "dma_heap_allocation_data.heap_flags", Source = "include/uapi/linux/dma-heap.h (DMA_HEAP_VALID_HEAP_FLAGS 0)",
    };

    public static readonly Domain<uint> HeapFdIn = new(Ok(12, 0u), Bad(1, 5u, "5 (fd is an output)"))
    {
        Name = "dma_heap_allocation_data.fd (in)", Source = "drivers/dma-buf/dma-heap.c dma_heap_ioctl_allocate (a non-zero fd on input is refused)",
    };

    public static readonly Domain<Adapters.HeapAbi> HeapAbiForm = new(
        Ok(10, Adapters.HeapAbi.Current, "24 bytes (6.12)"), Ok(1, Adapters.HeapAbi.Short, "16 bytes (without heap_flags)"), Ok(1, Adapters.HeapAbi.Long, "32 bytes (a newer caller's)"))
    {
        Name = "dma_heap_allocation_data size", Source = "drivers/dma-buf/dma-heap.c dma_heap_ioctl (the request's size selects the struct version; the rest is zero-filled)",
    };

    // ---- memfd / udmabuf -----------------------------------------------------------------------------

    public static readonly Domain<long> MemfdSize = new(Ok(3, (long)PAGE_SIZE, "one page"), Ok(3, 2L * PAGE_SIZE, "2 pages"), Ok(2, 4L * PAGE_SIZE, "4 pages"))
    {
        Name = "memfd size", Source = "ftruncate(2); udmabuf maps whole pages",
    };

    public static readonly Domain<bool> MemfdAllowSealing = new(Ok(8, false, "no MFD_ALLOW_SEALING"), Ok(92, true, "MFD_ALLOW_SEALING"))
    {
        Name = "memfd_create flags", Source = "memfd_create(2)",
    };

    /// <summary>Whether a memfd is a hugetlb one (MFD_HUGETLB, whole huge pages), drawn from a stream of its own where the profile
    /// has a hugetlb pool (<see cref="Adapters.TargetProfile.Hugetlb"/>), so that sequences without one are as they were.</summary>
    public static readonly Domain<bool> MemfdHugetlb = new(Ok(3, false, "shmem"), Ok(1, true, "MFD_HUGETLB"))
    {
        Name = "memfd backing", Source = "memfd_create(2) MFD_HUGETLB; drivers/dma-buf/udmabuf.c (a shmem or hugetlbfs memfd)",
    };

    /// <summary>A hugetlb memfd's size, from the huge page size: whole huge pages (hugetlbfs refuses a part of one).</summary>
    public static readonly Domain<Func<long, long>> MemfdHugeSize = new(
        Ok<Func<long, long>>(2, h => h, "one huge page"), Ok<Func<long, long>>(1, h => 2 * h, "two huge pages"))
    {
        Name = "hugetlb memfd size", Source = "fs/hugetlbfs/inode.c hugetlbfs_setattr (a size of whole huge pages); the profile's Hugepagesize",
    };

    public static readonly Domain<int> MemfdSeals = new(
        Ok(10, F_SEAL_SHRINK, "F_SEAL_SHRINK"), Ok(3, F_SEAL_SHRINK | F_SEAL_GROW, "F_SEAL_SHRINK|F_SEAL_GROW"),
        Bad(2, F_SEAL_SHRINK | F_SEAL_WRITE, "F_SEAL_SHRINK|F_SEAL_WRITE"), Bad(2, F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE, "F_SEAL_SHRINK|F_SEAL_FUTURE_WRITE"), Bad(2, 0, "none"))
    {
        Name = "memfd seals (for udmabuf)", Source = "drivers/dma-buf/udmabuf.c (SEALS_WANTED F_SEAL_SHRINK, SEALS_DENIED F_SEAL_WRITE|F_SEAL_FUTURE_WRITE)",
    };

    /// <summary>(offset, size) relative to a page-aligned offset into the memfd and the bytes from there to its end.</summary>
    public static readonly Domain<Func<(long Off, long Size), (long Off, long Size)>> UdmabufRange = new(
        Ok<Func<(long Off, long Size), (long Off, long Size)>>(14, x => x, "offset to the end"),
        Bad<Func<(long Off, long Size), (long Off, long Size)>>(2, x => (x.Off, x.Size + PAGE_SIZE), "one page past the memfd"),
        Bad<Func<(long Off, long Size), (long Off, long Size)>>(1, x => (x.Off + 100, x.Size), "offset not page-aligned"),
        Bad<Func<(long Off, long Size), (long Off, long Size)>>(1, x => (x.Off, x.Size - 100), "size not page-aligned"),
        Bad<Func<(long Off, long Size), (long Off, long Size)>>(1, x => (x.Off, 0L), "size 0"),
        Ok<Func<(long Off, long Size), (long Off, long Size)>>(2, x => (x.Off, (long)PAGE_SIZE), "one page"))
    {
        Name = "udmabuf range", Source = "include/uapi/linux/udmabuf.h; drivers/dma-buf/udmabuf.c (offset and size page-aligned, within the memfd)",
    };

    /// <summary>Now and then a UDMABUF_CREATE's range (drawn from <see cref="UdmabufRange"/>) is replaced by one at the boundaries of
    /// the size limit's arithmetic: page counts that need 20 and 21 bits, one near 2^52 (a size just under 2^64), each far above
    /// size_limit_mb; offsets at the top of loff_t's range and past it. Drawn from a stream of its own, so sequences without
    /// such a step are as they were.</summary>
    public static readonly Domain<Func<(long Off, long Size), (long Off, long Size)>> UdmabufLimits = new(
        Ok<Func<(long Off, long Size), (long Off, long Size)>>(60, x => x, "as drawn"),
        Bad<Func<(long Off, long Size), (long Off, long Size)>>(1, x => (x.Off, 1L << 31), "size 2^31 (above size_limit_mb)"),
        Bad<Func<(long Off, long Size), (long Off, long Size)>>(1, x => (x.Off, 1L << 32), "size 2^32 (above size_limit_mb)"),
        Bad<Func<(long Off, long Size), (long Off, long Size)>>(1, x => (x.Off, -(long)PAGE_SIZE), "size 2^64 - one page (above size_limit_mb)"),
        Bad<Func<(long Off, long Size), (long Off, long Size)>>(1, x => (long.MaxValue - (PAGE_SIZE - 1), (long)PAGE_SIZE), "offset 2^63 - one page (past the memfd)"),
        Bad<Func<(long Off, long Size), (long Off, long Size)>>(1, x => (long.MinValue, (long)PAGE_SIZE), "offset 2^63 (a negative loff_t)"))
    {
        Name = "udmabuf range at the limits", Source = "drivers/dma-buf/udmabuf.c udmabuf_create (the total at most size_limit_mb MiB, counted in pages in 64 bits); mm/gup.c memfd_pin_folios (a negative start, or an end at or past i_size: EINVAL)",
    };

    public static readonly Domain<uint> UdmabufFlags = new(Ok(4, UDMABUF_FLAGS_CLOEXEC, "UDMABUF_FLAGS_CLOEXEC"), Ok(3, 0u), Bad(1, 0x100u, "0x100 (undefined)"))
    {
        Name = "udmabuf_create.flags", Source = "include/uapi/linux/udmabuf.h (UDMABUF_FLAGS_CLOEXEC)",
    };

    public static readonly Domain<uint> UdmabufListFlags = new(Ok(1, UDMABUF_FLAGS_CLOEXEC, "UDMABUF_FLAGS_CLOEXEC"), Ok(1, 0u))
    {
        Name = "udmabuf_create_list.flags", Source = "include/uapi/linux/udmabuf.h (UDMABUF_FLAGS_CLOEXEC)",
    };

    /// <summary>Now and then a UDMABUF_CREATE_LIST's header count is set apart from its items, from list_limit (the profile's
    /// <see cref="Adapters.TargetProfile.UdmabufListLimit"/>): exactly the limit and one past it (the drawn items repeated
    /// to that count), 2^31 and 2^32 - 1 (the drawn items alone in memory: the count must be refused before the list is
    /// read). Drawn from a stream of its own, so sequences without such a step are as they were.</summary>
    public static readonly Domain<Func<int, uint>> UdmabufListLimits = new(
        Ok<Func<int, uint>>(60, _ => 0u, "as drawn"),
        Ok<Func<int, uint>>(1, l => (uint)l, "list_limit (the items repeated)"),
        Bad<Func<int, uint>>(1, l => (uint)l + 1, "list_limit + 1 (the items repeated)"),
        Bad<Func<int, uint>>(1, _ => 1u << 31, "2^31 (the items alone in memory)"),
        Bad<Func<int, uint>>(1, _ => uint.MaxValue, "2^32 - 1 (the items alone in memory)"))
    {
        Name = "udmabuf_create_list.count at list_limit", Source = "drivers/dma-buf/udmabuf.c udmabuf_ioctl_create_list (head.count > list_limit: EINVAL, before memdup_user)",
    };

    public static readonly Domain<int> UdmabufListCount = new(Bad(1, 0, "0 (an empty list)"), Ok(4, 1), Ok(4, 2), Ok(2, 3))
    {
        Name = "udmabuf_create_list.count", Source = "include/uapi/linux/udmabuf.h; drivers/dma-buf/udmabuf.c (list_limit, default 1024)",
    };

    // ---- DRM PRIME -----------------------------------------------------------------------------------

    public static readonly Domain<uint> DumbWidth = new(Ok(5, 64u), Ok(2, 640u), Ok(1, 100u))
    {
        Name = "drm_mode_create_dumb.width", Source = "include/uapi/drm/drm_mode.h (struct drm_mode_create_dumb)",
    };

    public static readonly Domain<uint> DumbHeight = new(Ok(5, 64u), Ok(2, 360u), Ok(1, 1u))
    {
        Name = "drm_mode_create_dumb.height", Source = "include/uapi/drm/drm_mode.h (struct drm_mode_create_dumb)",
    };

    /// <summary>The height of a 640-pixel, 32-bpp dumb buffer that holds one frame of the video node beside it (relative to
    /// its sizeimage), so a DRM export can be queued as a V4L2 DMABUF buffer and attached by the video device.</summary>
    /// <summary>The columns of a dumb buffer one frame (or one plane) large at 360 rows of 16 bpp: a buffer the queue can import.</summary>
    public static readonly Domain<Func<long, uint>> DumbFrameWidth = new(Ok<Func<long, uint>>(1, s => (uint)(s / 720), "the columns of one frame at 360 rows x 16 bpp"))
    {
        Name = "drm_mode_create_dumb.width (a frame)",
        Source = "Documentation/userspace-api/media/v4l/dmabuf.rst (an imported buffer must be large enough for the plane); include/uapi/drm/drm_mode.h",
    };

    public static readonly Domain<Func<long, uint>> DumbFrameHeight = new(Ok<Func<long, uint>>(1, s => (uint)((s + 2559) / 2560), "the rows of one frame at 640 x 32 bpp"))
    {
        Name = "drm_mode_create_dumb.height (a frame)",
        Source = "Documentation/userspace-api/media/v4l/dmabuf.rst (an imported buffer must be large enough for the plane); include/uapi/drm/drm_mode.h",
    };

    public static readonly Domain<uint> DumbBpp = new(Ok(5, 32u), Ok(2, 16u), Ok(1, 8u))
    {
        Name = "drm_mode_create_dumb.bpp", Source = "include/uapi/drm/drm_mode.h (struct drm_mode_create_dumb)",
    };

    public static readonly Domain<uint> DumbExportFlags = new(
        Ok(6, DRM_CLOEXEC | DRM_RDWR, "DRM_CLOEXEC|DRM_RDWR"), Ok(3, DRM_RDWR, "DRM_RDWR"), Ok(2, DRM_CLOEXEC, "DRM_CLOEXEC"), Ok(2, 0u),
        Bad(1, DRM_RDWR | (uint)O_NONBLOCK, "DRM_RDWR|O_NONBLOCK"), Bad(1, 0x4u, "0x4 (undefined)"))
    {
        Name = "drm_prime_handle.flags (dumb export)", Source = "include/uapi/drm/drm.h (DRM_CLOEXEC, DRM_RDWR); drm_prime.c drm_prime_handle_to_fd_ioctl",
    };

    public static readonly Domain<uint> PrimeFlags = new(
        Ok(6, DRM_CLOEXEC | DRM_RDWR, "DRM_CLOEXEC|DRM_RDWR"), Ok(3, DRM_RDWR, "DRM_RDWR"), Ok(2, DRM_CLOEXEC, "DRM_CLOEXEC"), Ok(2, 0u), Bad(1, (uint)O_NONBLOCK, "O_NONBLOCK"))
    {
        Name = "drm_prime_handle.flags", Source = "include/uapi/drm/drm.h (DRM_CLOEXEC, DRM_RDWR); drm_prime.c drm_prime_handle_to_fd_ioctl",
    };

    public static readonly Domain<uint> PrimeImportFlags = new(Ok(12, 0u), Bad(1, 0xffffffffu, "every bit"))
    {
        Name = "drm_prime_handle.flags (import)", Source = "include/uapi/drm/drm.h (flags: only for handle to fd)",
    };

    public static readonly Domain<int> DumbMapProt = new(Ok(4, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE"), Ok(1, PROT_READ, "PROT_READ"))
    {
        Name = "dumb mmap prot", Source = "include/uapi/drm/drm_mode.h (DRM_IOCTL_MODE_MAP_DUMB: the offset to mmap)",
    };

    // ---- fences and sync_file ------------------------------------------------------------------------

    public static readonly Domain<uint> VgemFenceFlags = new(Ok(4, VGEM_FENCE_WRITE, "VGEM_FENCE_WRITE"), Ok(8, 0u), Bad(1, 2u, "0x2 (undefined)"), Bad(1, 0xffffffffu, "every bit"))
    {
        Name = "drm_vgem_fence_attach.flags", Source = "include/uapi/drm/vgem_drm.h (VGEM_FENCE_WRITE)",
    };

    /// <summary>A reserved field that must be zero.</summary>
    public static readonly Domain<uint> MustBeZero = new(Ok(14, 0u), Bad(1, 1u))
    {
        Name = "reserved (must be zero)", Source = "include/uapi/drm/vgem_drm.h (pad, flags); include/uapi/linux/sync_file.h (sync_merge_data.flags)",
    };

    public static readonly Domain<uint> ExportSyncFlags = new(
        Ok(5, (uint)DMA_BUF_SYNC_READ, "READ"), Ok(5, (uint)DMA_BUF_SYNC_WRITE, "WRITE"), Ok(3, (uint)DMA_BUF_SYNC_RW, "RW"),
        Bad(1, 0u, "0"), Bad(1, (uint)DMA_BUF_SYNC_END, "END"), Bad(1, 0x100u, "0x100 (an unknown bit)"))
    {
        Name = "dma_buf_export_sync_file.flags", Source = "include/uapi/linux/dma-buf.h (DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE)",
    };

    public static readonly Domain<uint> ImportSyncFlags = new(
        Ok(5, (uint)DMA_BUF_SYNC_READ, "READ"), Ok(5, (uint)DMA_BUF_SYNC_WRITE, "WRITE"), Ok(2, (uint)DMA_BUF_SYNC_RW, "RW"),
        Bad(1, 0u, "0"), Bad(1, (uint)(DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END), "RW|END"))
    {
        Name = "dma_buf_import_sync_file.flags", Source = "include/uapi/linux/dma-buf.h (DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE)",
    };

    public static readonly Domain<short> PollEvents = new(Ok(6, (short)(POLLIN | POLLOUT), "POLLIN|POLLOUT"), Ok(2, POLLIN, "POLLIN"), Ok(2, POLLOUT, "POLLOUT"))
    {
        Name = "poll events", Source = "Documentation/driver-api/dma-buf.rst (implicit fence poll support: POLLIN, POLLOUT)",
    };

    public static readonly Domain<bool> MergeNamed = new(Ok(30, true, "\"merged\""), Ok(70, false, "\"\""))
    {
        Name = "sync_merge_data.name", Source = "include/uapi/linux/sync_file.h (name of the new fence)",
    };

    public static readonly Domain<uint> FileInfoNumFences = new(Ok(6, 0u, "0 (a query)"), Ok(2, 1u), Ok(2, 2u), Ok(2, 4u), Ok(1, 8u))
    {
        Name = "sync_file_info.num_fences", Source = "include/uapi/linux/sync_file.h (0: the kernel fills in the count; else the room in sync_fence_info)",
    };

    public static readonly Domain<uint> FileInfoReserved = new(Ok(16, 0u), Bad(1, 1u))
    {
        Name = "sync_file_info flags and pad", Source = "include/uapi/linux/sync_file.h (flags: must be 0; pad)",
    };
}

/// <summary>What a QBUF's request_fd names (<see cref="Domains.QBufInRequest"/>).</summary>
public enum RequestArg
{
    /// <summary>No V4L2_BUF_FLAG_REQUEST_FD.</summary>
    None,
    /// <summary>A live request fd.</summary>
    Request,
    /// <summary>V4L2_BUF_FLAG_REQUEST_FD with an fd that is not a request.</summary>
    NotARequest,
}
