namespace Conformance.Adapters;

/// <summary>
/// What one V4L2 node's queue offers, as the documentation lets a driver choose it and as the documented query
/// interfaces report it: QUERYCAP (driver, card, buffer type), the capabilities REQBUFS(0) and CREATE_BUFS(0)
/// report, CREATE_BUFS(0)'s max_num_buffers, G_FMT's sizeimage, V4L2_CID_MIN_BUFFERS_FOR_CAPTURE/OUTPUT where the
/// driver has it, and whether VIDIOC_REMOVE_BUFS exists. Nothing the suite tests (counts REQBUFS grants, offsets,
/// contents, errnos) is read into it: those are judged, never learned.
/// </summary>
/// <param name="Device">Symbolic device name the ops use, e.g. "video0".</param>
/// <param name="Capabilities">V4L2_BUF_CAP_* as REQBUFS(0) reports them (REQBUFS reports the same on every call).</param>
/// <param name="CreateCapabilities">V4L2_BUF_CAP_* as CREATE_BUFS(0) reports them (6.8+ adds SUPPORTS_MAX_NUM_BUFFERS there).</param>
/// <param name="MaxBuffers">The queue's maximum: CREATE_BUFS(0)'s max_num_buffers when it reports V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS,
/// otherwise VIDEO_MAX_FRAME (32), as vidioc-reqbufs.rst says.</param>
/// <param name="MinBuffersControl">V4L2_CID_MIN_BUFFERS_FOR_CAPTURE/OUTPUT (a hint, control.rst), or null when the driver has none.</param>
/// <param name="SizeImage">The current format's sizeimage in bytes, from G_FMT: fmt.pix.sizeimage, or plane 0's
/// fmt.pix_mp.plane_fmt[0].sizeimage on a multi-planar queue (<see cref="PlaneSizes"/> has every plane's).</param>
/// <param name="Exporter">fdinfo exp_name of a buffer EXPBUF exported (e.g. videobuf2_vmalloc), naming the dma-buf exporter; null when unknown.</param>
/// <param name="ModelMinBuffers">Only when the reference model plays this driver as a target: the minimum REQBUFS count it then requires.
/// The oracle never reads it: a driver's minimum is judged by its bounds and its consistency (VB2-REQBUFS-2).</param>
/// <remarks><see cref="ModelAllocationCap"/> is the same kind of value: the most buffers one allocation call grants when the
/// model plays the driver (a driver may grant fewer than requested when it runs out of memory, vidioc-reqbufs.rst); the
/// oracle learns nothing from it.</remarks>
public sealed record VideoNodeProfile(
    string Device, string Driver, string Card, uint BufType, uint Capabilities, uint CreateCapabilities,
    int MaxBuffers, int? MinBuffersControl, long SizeImage, bool HasRemoveBufs, string? Exporter, bool DeviceWritesCaptureBuffers,
    int ModelMinBuffers = 1)
{
    public bool Has(uint cap) => (Capabilities & cap) != 0;
    public bool SupportsMemory(uint memory) => memory switch
    {
        Uapi.V4L2_MEMORY_MMAP => Has(Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP),
        Uapi.V4L2_MEMORY_USERPTR => Has(Uapi.V4L2_BUF_CAP_SUPPORTS_USERPTR),
        Uapi.V4L2_MEMORY_DMABUF => Has(Uapi.V4L2_BUF_CAP_SUPPORTS_DMABUF),
        _ => false,
    };
    /// <summary>The queue is one of the multi-planar API's (VIDEO_CAPTURE_MPLANE or VIDEO_OUTPUT_MPLANE): v4l2_buffer carries
    /// an array of v4l2_plane and every plane is its own memory (planar-apis.rst).</summary>
    public bool MultiPlanar => Uapi.IsMultiPlanar(BufType);
    /// <summary>The queue's direction is output (the application fills buffers, the device consumes them).</summary>
    public bool IsOutput => BufType is Uapi.V4L2_BUF_TYPE_VIDEO_OUTPUT or Uapi.V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
    /// <summary>The node's queue of raw output frames (the node itself if it is an output node, a mem2mem node's OUTPUT queue),
    /// or null: a capture node, or a decoder, whose OUTPUT takes coded data (VB2-QBUF-4's payload fields are drawn there).</summary>
    public VideoNodeProfile? RawOutputQueue => Codec == CodecKind.Decoder ? null : IsOutput ? this : OutputQueue;
    /// <summary>sizeimage of each plane of the current format, in bytes, one entry per plane (G_FMT fmt.pix_mp.num_planes
    /// entries of plane_fmt[].sizeimage; one entry, <see cref="SizeImage"/>, on a single-planar queue).</summary>
    public IReadOnlyList<long> PlaneSizes { get => _planeSizes ?? [SizeImage]; init => _planeSizes = value; }
    private readonly IReadOnlyList<long>? _planeSizes;
    /// <summary>
    /// On a mem2mem node (V4L2_CAP_VIDEO_M2M or _M2M_MPLANE, dev-mem2mem.rst): the OUTPUT queue's profile, read the same way
    /// as this one, which is then the CAPTURE queue's. Every open of such a node is its own context with its own pair of
    /// queues. Null on any other node.
    /// </summary>
    public VideoNodeProfile? OutputQueue { get; init; }
    /// <summary>The node is a mem2mem device: an OUTPUT and a CAPTURE queue on every file handle.</summary>
    public bool IsMem2Mem => OutputQueue != null;
    /// <summary>The profile of the queue a buffer type names: on a mem2mem node the OUTPUT queue's for an output type, else this one.</summary>
    public VideoNodeProfile QueueFor(uint type) => OutputQueue != null && Uapi.IsOutputType(type) ? OutputQueue : this;
    /// <summary>Plane p's sizeimage in bytes; the last plane's for a p past it (a plane number drawn out of range). (Neither
    /// this nor <see cref="NumPlanes"/> makes <see cref="PlaneSizes"/>' list of one for a single-planar queue: the generator and
    /// the model ask them at many ops.)</summary>
    public long PlaneSize(uint p) => _planeSizes is { } sizes ? sizes[(int)Math.Min(p, (uint)sizes.Count - 1)] : SizeImage;
    /// <summary>How many planes each buffer has: the format's num_planes (1 on a single-planar queue).</summary>
    public int NumPlanes => _planeSizes?.Count ?? 1;
    /// <summary>The pixel format (fourcc) the suite set with VIDIOC_S_FMT before certifying the node, so that a multi-planar
    /// queue is tested with more than one plane; 0 when the suite keeps the driver's current format. A reproducer sets it
    /// the same way before its first step.</summary>
    public uint PixelFormat { get; init; }
    /// <summary>The pixel format the node had before the suite set <see cref="PixelFormat"/> (G_FMT); the kernel adapter puts it
    /// back when it is done, so certifying a device leaves it as it was. 0 when the suite set none.</summary>
    public uint InitialPixelFormat { get; init; }
    /// <summary>VIDEO_MAX_FRAME (videodev2.h): the maximum when a queue does not report SUPPORTS_MAX_NUM_BUFFERS.</summary>
    public const int VideoMaxFrame = 32;
    /// <summary>Only when the model plays this driver: the most buffers one REQBUFS or CREATE_BUFS call grants (null: no cap
    /// below the queue's maximum). Never read by the oracle.</summary>
    public int? ModelAllocationCap { get; init; }
    /// <summary>Only when the model plays this driver: whether its queue requires every QBUF to carry a request (vb2's
    /// requires_requests; a stateless decoder's OUTPUT queue may, dev-stateless-decoder.rst). Never read by the oracle.</summary>
    public bool ModelRequiresRequests { get; init; }
    /// <summary>On a mem2mem node, what converts what (both queues' profiles carry it): a decoder takes a coded bitstream on
    /// OUTPUT (VIDIOC_ENUM_FMT lists formats with V4L2_FMT_FLAG_COMPRESSED there, dev-decoder.rst and
    /// dev-stateless-decoder.rst), an encoder gives one on CAPTURE (dev-encoder.rst); <see cref="CodecKind.None"/> otherwise.</summary>
    public CodecKind Codec { get; init; }
    /// <summary>On a stateful decoder's CAPTURE queue profile: the stream the suite writes into its OUTPUT buffers
    /// (<see cref="Bitstream"/>) and what the decoder gives each resolution of it; null where the suite writes none of the
    /// decoder's coded formats (its source change is then not exercised).</summary>
    public DecoderStream? Stream { get; init; }
    /// <summary>Format changes (VIDIOC_S_FMT and VIDIOC_TRY_FMT of the frame size, VB2-FMT-1..3) are certified on this node:
    /// not on a codec (setting one queue's format changes the other's, dev-decoder.rst, dev-encoder.rst) and not in a media
    /// pipeline (a frame size the pipeline was not configured for fails link validation at STREAMON).</summary>
    public bool FormatsCertified => Codec == CodecKind.None && Pipeline == null && (OutputQueue == null || OutputQueue.Codec == CodecKind.None);
    /// <summary>On a video node of a media-controller pipeline (V4L2_CAP_IO_MC): the pad formats and the video format the suite
    /// set so that the pipeline ending at this node is valid to stream (dev-subdev.rst, Format Negotiation), or null on any
    /// other node. The kernel adapter applies it before it runs and puts <see cref="MediaPipeline.Initial"/> back afterwards;
    /// a reproducer applies it before its first step.</summary>
    public MediaPipeline? Pipeline { get; init; }
    /// <summary>The media device that allocates requests for this node's queues (MEDIA_IOC_REQUEST_ALLOC, request-api.rst), as a
    /// symbolic device name like <see cref="Device"/> ("media"; the kernel adapter maps it to the /dev/mediaN whose graph,
    /// MEDIA_IOC_G_TOPOLOGY, lists the node). Set only when some queue of the node reports V4L2_BUF_CAP_SUPPORTS_REQUESTS and
    /// such a media device exists; null otherwise.</summary>
    public string? RequestMedia { get; init; }
    /// <summary>The node offers file I/O on this single-planar queue: read() on a VIDEO_CAPTURE queue, write() on a VIDEO_OUTPUT one
    /// (QUERYCAP reports V4L2_CAP_READWRITE, rw.rst) of a node that is not mem2mem. False on every other queue (multi-planar ones
    /// included: vb2's emulator serves single-plane formats only).</summary>
    public bool ReadWrite { get; init; }
    /// <summary>QUERYCAP reports V4L2_CAP_READWRITE for the node, which is not mem2mem, whatever its queue type (a multi-planar
    /// queue included). vb2's poll() tries its read() emulator on such a capture queue that has no buffers (vb2_core_poll,
    /// __vb2_init_fileio): it starts it on an idle queue with a one-plane format, and refuses it (EBUSY, so poll() reports
    /// POLLERR) on a queue that streams or whose format has more planes. True wherever <see cref="ReadWrite"/> is.</summary>
    public bool ReportsReadWrite { get => _reportsReadWrite || ReadWrite; init => _reportsReadWrite = value; }
    private readonly bool _reportsReadWrite;
}

/// <summary>One pad's active format (VIDIOC_SUBDEV_S_FMT, V4L2_SUBDEV_FORMAT_ACTIVE) on a sub-device node.</summary>
/// <param name="Subdev">The sub-device node, e.g. /dev/v4l-subdev2.</param>
/// <param name="Entity">The entity's name in the media graph (MEDIA_IOC_G_TOPOLOGY), for reports.</param>
/// <param name="Pad">The pad's index within the entity.</param>
/// <param name="Code">The media bus code (MEDIA_BUS_FMT_*).</param>
/// <param name="Width">Width in pixels.</param><param name="Height">Height in lines.</param>
/// <param name="Field">enum v4l2_field.</param>
public sealed record PadFormat(string Subdev, string Entity, uint Pad, uint Code, uint Width, uint Height, uint Field);

/// <summary>One video node's single-planar format (VIDIOC_S_FMT) in a configured media pipeline.</summary>
/// <param name="Node">The video node, e.g. /dev/video14.</param>
/// <param name="BufType">Its buffer type (VIDEO_CAPTURE or VIDEO_OUTPUT).</param>
/// <param name="PixelFormat">The fourcc.</param><param name="Width">Width in pixels.</param><param name="Height">Height in lines.</param>
public sealed record NodeFormat(string Node, uint BufType, uint PixelFormat, uint Width, uint Height);

/// <summary>
/// How the suite configured the media pipeline a video node streams in, from the topology the media device reports
/// (MEDIA_IOC_G_TOPOLOGY) and the formats its pads accept (VIDIOC_SUBDEV_ENUM_MBUS_CODE, VIDIOC_SUBDEV_S_FMT, then
/// VIDIOC_ENUM_FMT with mbus_code on each video node): nothing is hard-coded per driver. The pipeline is every entity the
/// enabled data links join to the node, since STREAMON validates every enabled link of every pad in it
/// (mc-entity.c:__media_pipeline_start); links are used as the driver enabled them and none is changed.
/// </summary>
/// <param name="MediaDevice">The media device node the graph was read from, e.g. /dev/media4.</param>
/// <param name="Settings">The pad formats, in the order they are set (each entity's after the entities that feed it).</param>
/// <param name="Nodes">The format of every video node in the pipeline (the certified one among them), set after the pads.</param>
/// <param name="InitialPads">Every pad's format before the suite set any, to put back.</param>
/// <param name="InitialNodes">Every video node's format before, to put back.</param>
/// <param name="Path">The pipeline's entities, sources first, for reports.</param>
public sealed record MediaPipeline(string MediaDevice, IReadOnlyList<PadFormat> Settings, IReadOnlyList<NodeFormat> Nodes,
    IReadOnlyList<PadFormat> InitialPads, IReadOnlyList<NodeFormat> InitialNodes, string Path);

/// <summary>
/// A stateful decoder's stream as the suite writes it (<see cref="Bitstream"/>), read at discovery.
/// </summary>
/// <param name="CodedFormat">The OUTPUT queue's coded pixel format (a fourcc <see cref="Bitstream.Writes"/>).</param>
/// <param name="CaptureSizes">Per <see cref="Bitstream.Resolutions"/> index, in bytes: the sizeimage of plane 0 of the CAPTURE
/// format the decoder gives a stream of that resolution once it signalled the source change (dev-decoder.rst, Capture Setup,
/// step 1: VIDIOC_G_FMT "to get format for the destination buffers parsed/decoded from the bytestream"). The driver's choice,
/// read through G_FMT at discovery and checked there to hold a frame (at least width x height bytes); the oracle judges
/// every later allocation against it. 0 where discovery saw no V4L2_EVENT_SOURCE_CHANGE for that resolution within 2 s (the
/// size is then unknown and not judged; the missing event is VB2-DEC-1's to judge in the run).</param>
public sealed record DecoderStream(uint CodedFormat, IReadOnlyList<long> CaptureSizes);

/// <summary>What a mem2mem node converts (read from VIDIOC_ENUM_FMT's V4L2_FMT_FLAG_COMPRESSED on each queue).</summary>
public enum CodecKind
{
    /// <summary>Raw frames on both queues (a scaler, a deinterlacer, vim2m).</summary>
    None,
    /// <summary>A coded bitstream on OUTPUT, raw frames on CAPTURE: the OUTPUT queue may process buffers while it alone
    /// streams, to parse the stream's headers (dev-decoder.rst, Initialization).</summary>
    Decoder,
    /// <summary>Raw frames on OUTPUT, a coded bitstream on CAPTURE (dev-encoder.rst).</summary>
    Encoder,
}

/// <summary>A dma-heap device (or any char device speaking the dma-heap ABI); Exporter is its buffers' fdinfo exp_name.</summary>
public sealed record HeapProfile(string Device, string Name, string? Exporter = null);

/// <summary>A DRM device the suite uses as a dma-buf exporter (dumb buffers exported with PRIME).</summary>
public sealed record DrmProfile(string Device, string Driver)
{
    /// <summary>The driver is vgem: DRM_IOCTL_VGEM_FENCE_ATTACH/SIGNAL make fences userspace controls.</summary>
    public bool VgemFences => Driver == "vgem";
}

/// <summary>
/// The hugetlb pool the suite may draw on for hugetlb memfds (memfd_create MFD_HUGETLB), read from /proc/meminfo: the default
/// huge page size (Hugepagesize, in bytes) and how many of its pages were free (HugePages_Free) when the device was probed,
/// capped at <see cref="MaxPages"/>. A fact of the machine (the admin's vm.nr_hugepages or hugepages= on the command line),
/// not of the driver under test (Documentation/admin-guide/mm/hugetlbpage.rst).
/// </summary>
public sealed record HugetlbProfile(long PageSize, int Pages)
{
    /// <summary>The most huge pages one sequence's memfds hold at once.</summary>
    public const int MaxPages = 4;
}

/// <summary>Everything a target offers, as the suite sees it.</summary>
public sealed record TargetProfile(
    string Name,
    string Kernel,
    IReadOnlyList<VideoNodeProfile> Video,
    IReadOnlyList<HeapProfile> Heaps,
    string? UdmabufDevice,
    long UdmabufSizeLimit)
{
    /// <summary>A profile resembling vivid's default capture node, the system heap and udmabuf on Debian's 6.12.</summary>
    public static TargetProfile VividLike { get; } = new(
        "vivid-like", "6.12.117",
        [new VideoNodeProfile("video0", "vivid", "vivid-000-vid-cap", Uapi.V4L2_BUF_TYPE_VIDEO_CAPTURE, VividCaps,
            VividCaps | Uapi.V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS, MaxBuffers: 64, MinBuffersControl: null, SizeImage: 640 * 360 * 2,
            HasRemoveBufs: true, Exporter: "videobuf2_vmalloc", DeviceWritesCaptureBuffers: true, ModelMinBuffers: 2) { ReadWrite = true, RequestMedia = "media" }],
        [new HeapProfile("heap:system", "system", "system")],
        "udmabuf", 64L << 20)
    {
        Drm = [new DrmProfile("drm:vgem", "vgem")],
        Hugetlb = new HugetlbProfile(2L << 20, HugetlbProfile.MaxPages),
    };

    private const uint VividCaps = Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP | Uapi.V4L2_BUF_CAP_SUPPORTS_USERPTR | Uapi.V4L2_BUF_CAP_SUPPORTS_DMABUF
        | Uapi.V4L2_BUF_CAP_SUPPORTS_REQUESTS | Uapi.V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS | Uapi.V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS;
    private const uint LegacyCaps = Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP | Uapi.V4L2_BUF_CAP_SUPPORTS_USERPTR | Uapi.V4L2_BUF_CAP_SUPPORTS_DMABUF;

    /// <summary>A vb2 queue that does not report V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS nor REMOVE_BUFS (pre-5.0 style driver).</summary>
    public static TargetProfile LegacyVb2 { get; } = VividLike with
    {
        Name = "legacy-vb2",
        Video = [VividLike.Video[0] with
        {
            Driver = "legacy", Card = "legacy-vid-cap",
            Capabilities = LegacyCaps, CreateCapabilities = LegacyCaps,
            HasRemoveBufs = false, ModelMinBuffers = 1, MaxBuffers = VideoNodeProfile.VideoMaxFrame, RequestMedia = null,
        }],
    };

    /// <summary>
    /// A multi-planar capture node like vivid's with <c>multiplanar=2</c>, set to YUV420M at 640x360: three planes (Y, Cb, Cr)
    /// of 460800, 57600 and 57600 bytes, as vivid on 6.12 reports them (its Y plane's sizeimage is twice the 230400 bytes the
    /// luma needs; a driver may ask for more). vivid reports max_num_buffers 32 on these queues.
    /// </summary>
    public static TargetProfile VividMplane { get; } = VividLike with
    {
        Name = "vivid-mplane",
        Video = [VividLike.Video[0] with
        {
            Card = "vivid-001-vid-cap", BufType = Uapi.V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, SizeImage = 640 * 360 * 2, MaxBuffers = 32,
            PlaneSizes = [640 * 360 * 2, 640 * 360 / 4, 640 * 360 / 4], PixelFormat = Uapi.V4L2_PIX_FMT_YUV420M,
            ReadWrite = false, ReportsReadWrite = true,   // vivid reports V4L2_CAP_READWRITE here; read() is modelled on single-planar queues
        }],
    };

    /// <summary>
    /// An output node like vivid's default one: VIDEO_OUTPUT, 720x576 YUYV (829440 bytes), max_num_buffers 32, with write() I/O
    /// (V4L2_CAP_READWRITE) beside streaming I/O.
    /// </summary>
    public static TargetProfile VividOutput { get; } = VividLike with
    {
        Name = "vivid-output",
        Video = [VividLike.Video[0] with
        {
            Card = "vivid-000-vid-out", BufType = Uapi.V4L2_BUF_TYPE_VIDEO_OUTPUT, SizeImage = 720 * 576 * 2, PlaneSizes = [720 * 576 * 2],
            MaxBuffers = 32, DeviceWritesCaptureBuffers = false, RequestMedia = null,
        }],
    };

    /// <summary>
    /// An output node like vivid's on an instance loaded with <c>multiplanar=2</c>: VIDEO_OUTPUT_MPLANE, 720x576 YUYV in one
    /// plane (829440 bytes), max_num_buffers 32; write() I/O is modelled on single-planar queues only. Where the payload fields
    /// of a multi-planar output buffer (bytesused, data_offset: VB2-QBUF-4) are certified without a kernel.
    /// </summary>
    public static TargetProfile VividMplaneOutput { get; } = VividLike with
    {
        Name = "vivid-mplane-output",
        Video = [VividLike.Video[0] with
        {
            Card = "vivid-001-vid-out", BufType = Uapi.V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, SizeImage = 720 * 576 * 2, PlaneSizes = [720 * 576 * 2],
            MaxBuffers = 32, DeviceWritesCaptureBuffers = false, RequestMedia = null, ReadWrite = false, ReportsReadWrite = true,
        }],
    };

    /// <summary>
    /// A mem2mem node like vim2m's default context: CAPTURE and OUTPUT queues of 640x480 RGB565 (614400 bytes), vb2-vmalloc,
    /// max_num_buffers 32, each allocation call capped by the driver's 16 MiB memory limit (27 buffers).
    /// </summary>
    public static TargetProfile Vim2mLike { get; } = VividLike with
    {
        Name = "vim2m-like",
        Video = [new VideoNodeProfile("video0", "vim2m", "vim2m", Uapi.V4L2_BUF_TYPE_VIDEO_CAPTURE, M2mCaptureCaps, M2mCaptureCaps | Uapi.V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS,
            MaxBuffers: 32, MinBuffersControl: null, SizeImage: 640 * 480 * 2, HasRemoveBufs: true, Exporter: "videobuf2_vmalloc", DeviceWritesCaptureBuffers: true)
        {
            ModelAllocationCap = (16 << 20) / (640 * 480 * 2),
            RequestMedia = "media",
            OutputQueue = new VideoNodeProfile("video0", "vim2m", "vim2m", Uapi.V4L2_BUF_TYPE_VIDEO_OUTPUT, M2mCaps, M2mCaps | Uapi.V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS,
                MaxBuffers: 32, MinBuffersControl: null, SizeImage: 640 * 480 * 2, HasRemoveBufs: true, Exporter: "videobuf2_vmalloc", DeviceWritesCaptureBuffers: false)
            { ModelAllocationCap = (16 << 20) / (640 * 480 * 2) },
        }],
    };

    /// <summary>
    /// A stateful encoder like vicodec's (dev-encoder.rst): a mem2mem node whose OUTPUT queue takes 1280x720 YUV420 frames
    /// (1382400 bytes, max_num_buffers 32) and whose CAPTURE queue gives FWHT frames (sizeimage 3686444, max_num_buffers 64),
    /// vb2-vmalloc, no requests. What the drain (VIDIOC_ENCODER_CMD STOP, the LAST buffer, EPIPE) is certified on without a kernel.
    /// </summary>
    public static TargetProfile VicodecEncoderLike { get; } = VividLike with
    {
        Name = "vicodec-encoder-like",
        Video = [new VideoNodeProfile("video0", "vicodec", "vicodec", Uapi.V4L2_BUF_TYPE_VIDEO_CAPTURE, CodecCaps, CodecCaps | Uapi.V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS,
            MaxBuffers: 64, MinBuffersControl: null, SizeImage: 3686444, HasRemoveBufs: true, Exporter: "videobuf2_vmalloc", DeviceWritesCaptureBuffers: true)
        {
            Codec = CodecKind.Encoder,
            RequestMedia = null,
            OutputQueue = new VideoNodeProfile("video0", "vicodec", "vicodec", Uapi.V4L2_BUF_TYPE_VIDEO_OUTPUT, CodecCaps, CodecCaps | Uapi.V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS,
                MaxBuffers: 32, MinBuffersControl: 1, SizeImage: 1280 * 720 * 3 / 2, HasRemoveBufs: true, Exporter: "videobuf2_vmalloc", DeviceWritesCaptureBuffers: false)
            { Codec = CodecKind.Encoder },
        }],
    };

    /// <summary>
    /// A stateful decoder like vicodec's (dev-decoder.rst): a mem2mem node whose OUTPUT queue takes FWHT frames (the default
    /// 1280x720 stream's sizeimage 1382444, max_num_buffers 32) and whose CAPTURE queue gives YUV420 frames (1382400 bytes
    /// until a stream says otherwise, max_num_buffers 64), vb2-vmalloc, no requests. A stream of either resolution the suite
    /// writes gets CAPTURE buffers of 460800 bytes (640x480 and 768x400 at 12 bits per pixel). What the source change is
    /// certified on without a kernel.
    /// </summary>
    public static TargetProfile VicodecDecoderLike { get; } = VividLike with
    {
        Name = "vicodec-decoder-like",
        Video = [new VideoNodeProfile("video0", "vicodec", "vicodec", Uapi.V4L2_BUF_TYPE_VIDEO_CAPTURE, CodecCaps, CodecCaps | Uapi.V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS,
            MaxBuffers: 64, MinBuffersControl: 1, SizeImage: 1280 * 720 * 3 / 2, HasRemoveBufs: true, Exporter: "videobuf2_vmalloc", DeviceWritesCaptureBuffers: true)
        {
            Codec = CodecKind.Decoder,
            RequestMedia = null,
            Stream = new DecoderStream(Uapi.V4L2_PIX_FMT_FWHT, [.. Bitstream.Resolutions.Select(r => (long)r.Width * r.Height * 3 / 2)]),
            OutputQueue = new VideoNodeProfile("video0", "vicodec", "vicodec", Uapi.V4L2_BUF_TYPE_VIDEO_OUTPUT, CodecCaps, CodecCaps | Uapi.V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS,
                MaxBuffers: 32, MinBuffersControl: null, SizeImage: 1280 * 720 * 3 / 2 + Bitstream.FwhtHeaderBytes, HasRemoveBufs: true, Exporter: "videobuf2_vmalloc", DeviceWritesCaptureBuffers: false)
            { Codec = CodecKind.Decoder },
        }],
    };

    private const uint CodecCaps = Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP | Uapi.V4L2_BUF_CAP_SUPPORTS_USERPTR | Uapi.V4L2_BUF_CAP_SUPPORTS_DMABUF
        | Uapi.V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS | Uapi.V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS;

    private const uint M2mCaps = Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP | Uapi.V4L2_BUF_CAP_SUPPORTS_USERPTR | Uapi.V4L2_BUF_CAP_SUPPORTS_DMABUF
        | Uapi.V4L2_BUF_CAP_SUPPORTS_REQUESTS | Uapi.V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS | Uapi.V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS;
    /// <summary>vim2m's CAPTURE queue: as its OUTPUT queue's, without requests (only src_vq sets supports_requests).</summary>
    private const uint M2mCaptureCaps = M2mCaps & ~Uapi.V4L2_BUF_CAP_SUPPORTS_REQUESTS;

    public static IReadOnlyList<TargetProfile> BuiltIn { get; } = [VividLike, LegacyVb2, VividMplane, Vim2mLike, VividOutput, VividMplaneOutput, VicodecEncoderLike, VicodecDecoderLike];

    /// <summary>udmabuf's list_limit module parameter (/sys/module/udmabuf/parameters/list_limit, default 1024): the most items
    /// UDMABUF_CREATE_LIST takes (UDMABUF-LIST-4). The admin's setting, read through the documented parameter.</summary>
    public int UdmabufListLimit { get; init; } = 1024;

    /// <summary>Huge pages the udmabuf certification may put under hugetlb memfds (precondition device:hugetlb), or null where
    /// none are free (no pool: the hugetlb rules are not exercised, with that reason).</summary>
    public HugetlbProfile? Hugetlb { get; init; }

    /// <summary>DRM devices exporting dumb buffers (vgem on the lab kernel).</summary>
    public IReadOnlyList<DrmProfile> Drm { get; init; } = [];

    /// <summary>
    /// Why the kernel's allocations on the dma-buf paths cannot be followed on this target (precondition kernel:memory, rule
    /// DMABUF-LIFE-4), or null where they can: a kernel booted with slub_debug=U, debugfs readable (the runner reads SLUB's
    /// alloc_traces before and after each property). A fact of the machine, not of the driver.
    /// </summary>
    public string? MemoryUntracked { get; init; } = "the reference model allocates no kernel memory: judged on a kernel booted with slub_debug=U (the lab VM boots so)";

    /// <summary>The DRM device profile named <paramref name="device"/>, or null. (Each lookup here is a loop: a lambda over
    /// the name is a closure allocated at every call, and the model and the generator look devices up at every open.)</summary>
    public DrmProfile? DrmDevice(string device)
    {
        for (int i = 0; i < Drm.Count; i++) if (Drm[i].Device == device) return Drm[i];
        return null;
    }

    /// <summary>A multi-planar node (not mem2mem) that reports V4L2_CAP_READWRITE, certified with a format of more than one
    /// plane: vb2's read()/write() emulator serves one-plane formats only, so read() (capture) or write() (output) is refused
    /// there (VB2-READ-5).</summary>
    public static bool PlanesRefuseFileIo(VideoNodeProfile v) => v.ReportsReadWrite && v.MultiPlanar && !v.IsMem2Mem && v.NumPlanes > 1;

    /// <summary>The video node profile named <paramref name="device"/>, or null.</summary>
    public VideoNodeProfile? VideoNode(string device)
    {
        for (int i = 0; i < Video.Count; i++) if (Video[i].Device == device) return Video[i];
        return null;
    }

    /// <summary>Who a symbolic device is, as known-issue entries name it (driver; exporter of the dma-bufs it makes); null when unknown.</summary>
    public Conformance.Spec.DeviceIdentity? Identity(string device) =>
        VideoNode(device) is { } v ? new("video", v.Driver, v.Exporter)
        : Heap(device) is { } h ? new("heap", h.Name, h.Exporter ?? h.Name)
        : device == UdmabufDevice ? new("udmabuf", "udmabuf", "udmabuf")
        : DrmDevice(device) is { } d ? new("drm", d.Driver, null)
        : null;
    /// <summary>The dma-heap profile named <paramref name="device"/>, or null.</summary>
    public HeapProfile? Heap(string device)
    {
        for (int i = 0; i < Heaps.Count; i++) if (Heaps[i].Device == device) return Heaps[i];
        return null;
    }

    /// <summary>Whether this target meets a catalog precondition token; if not, why (reported as the skip reason).</summary>
    public bool Satisfies(string token, out string reason)
    {
        reason = "";
        var (kind, arg) = token.IndexOf(':') is var c and > 0 ? (token[..c], token[(c + 1)..]) : (token, "");
        switch (kind)
        {
            case "cap":
            case "nocap":
                {
                    uint bit = CapBit(arg);
                    var queues = Video.SelectMany(v => v.OutputQueue is { } o ? new[] { v, o } : [v]).ToList();   // a mem2mem node's both
                    if (kind == "cap" ? queues.Any(v => v.Has(bit)) : queues.Any(v => !v.Has(bit))) return true;
                    reason = Video.Count == 0 ? "no V4L2 node" : kind == "cap" ? $"no queue reports {arg}" : $"every queue reports {arg}";
                    return false;
                }
            case "memory":
                {
                    uint m = arg switch { "MMAP" => Uapi.V4L2_MEMORY_MMAP, "USERPTR" => Uapi.V4L2_MEMORY_USERPTR, "DMABUF" => Uapi.V4L2_MEMORY_DMABUF, _ => 0 };
                    if (Video.Any(v => v.SupportsMemory(m))) return true;
                    reason = $"no queue supports V4L2_MEMORY_{arg}";
                    return false;
                }
            case "calls" when arg is "accmode" or "fdcopyout":
                // the exporters besides udmabuf give both: a dma-buf fd of another access mode than O_RDWR (a heap's fd_flags,
                // EXPBUF's flags, PRIME's DRM_RDWR), and an ioctl that writes the fd it creates into its argument
                // (DMA_HEAP_IOCTL_ALLOC, VIDIOC_EXPBUF, PRIME_HANDLE_TO_FD, the sync_file exports with a DRM device's fences)
                if (Heaps.Count > 0 || Video.Count > 0 || Drm.Count > 0) return true;
                reason = arg == "accmode"
                    ? "every dma-buf this target makes is O_RDWR: udmabuf exports its buffers so (exp_info.flags), and no exporter here takes an access mode (a heap's fd_flags, EXPBUF's flags, PRIME's DRM_RDWR)"
                    : "no call made on this target writes the fd it creates into its argument: UDMABUF_CREATE returns its fd (a sync_file export of udmabuf's buffers is judged with a DRM device's fences)";
                return false;
            case "ioctl":
                if (arg != "VIDIOC_REMOVE_BUFS" || Video.Any(v => v.HasRemoveBufs)) return true;
                reason = "no node implements VIDIOC_REMOVE_BUFS";
                return false;
            case "noioctl":
                if (arg != "VIDIOC_REMOVE_BUFS" || Video.Any(v => !v.HasRemoveBufs)) return true;
                reason = "every node implements VIDIOC_REMOVE_BUFS";
                return false;
            case "queue" when arg == "shared":
                if (Video.Any(v => !v.IsMem2Mem)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "a mem2mem node: every file handle has its own queues (VB2-M2M-1), so no handle is another's non-owner and none sees what another's close left";
                return false;
            case "queue" when arg == "plain":
                if (Video.Any(v => !v.IsMem2Mem)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "a mem2mem node: a job needs buffers on both queues of a context, and a blocking DQBUF is issued only where the model knows a buffer will be done";
                return false;
            case "queue" when arg == "m2m":
                if (Video.Any(v => v.IsMem2Mem)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "no mem2mem node (V4L2_CAP_VIDEO_M2M or V4L2_CAP_VIDEO_M2M_MPLANE)";
                return false;
            case "queue" when arg == "encoder":
                if (Video.Any(v => v.IsMem2Mem && v.Codec == CodecKind.Encoder)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "no stateful encoder (a mem2mem node whose CAPTURE queue gives a compressed format, V4L2_FMT_FLAG_COMPRESSED): the drain (VIDIOC_ENCODER_CMD) is an encoder's";
                return false;
            case "queue" when arg == "events":
                if (Video.Any(v => v.IsMem2Mem && (v.Codec == CodecKind.Encoder || v.Codec == CodecKind.Decoder && v.Stream != null))) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "no stateful codec whose events the suite causes (an encoder's drain, or a decoder whose stream the suite writes): nothing would be pending to dequeue";
                return false;
            case "queue" when arg == "decoder":
                if (Video.Any(v => v.IsMem2Mem && v.Codec == CodecKind.Decoder && v.Stream != null)) return true;
                reason = Video.Count == 0 ? "no V4L2 node"
                    : Video.Any(v => v.IsMem2Mem && v.Codec == CodecKind.Decoder)
                        ? "a decoder whose stream the suite does not write (the node's notes say why: a coded format other than FWHT, which is all the suite writes, a stateless decoder's included; a multi-planar queue; or OUTPUT buffers that cannot hold a frame)"
                        : "no stateful decoder (a mem2mem node whose OUTPUT queue takes a compressed format, V4L2_FMT_FLAG_COMPRESSED): the source change and the drain of VIDIOC_DECODER_CMD are a decoder's";
                return false;
            case "queue" when arg == "mplane":
                if (Video.Any(v => v.MultiPlanar || v.OutputQueue is { MultiPlanar: true })) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "no multi-planar queue (VIDEO_CAPTURE_MPLANE or VIDEO_OUTPUT_MPLANE)";
                return false;
            case "queue" when arg == "rawoutput":
                if (Video.Any(v => v.RawOutputQueue?.SupportsMemory(Uapi.V4L2_MEMORY_DMABUF) == true)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "no output queue of raw frames that takes V4L2_MEMORY_DMABUF (a decoder's OUTPUT queue takes coded data, whose payload is the frame's)";
                return false;
            case "queue" when arg == "polled":
                if (Video.Any(v => !v.IsOutput || v.IsMem2Mem)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "only output nodes: their poll() is judged by VB2-POLL-5 where they offer write(), and not polled otherwise (poll() may start write() I/O)";
                return false;
            case "queue" when arg == "formats":
                if (Video.Any(v => v.FormatsCertified)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "every node is a codec (a format set on one queue changes the other's) or in a media pipeline (a changed format fails link validation at STREAMON)";
                return false;
            case "queue" when arg == "requests":
                if (Video.Any(v => v.RequestMedia != null)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "no queue reports V4L2_BUF_CAP_SUPPORTS_REQUESTS with a media device to allocate requests from (MEDIA_IOC_REQUEST_ALLOC)";
                return false;
            case "io" when arg == "write":
                if (Video.Any(v => v.ReadWrite && v.IsOutput)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "no output node offers write() (V4L2_CAP_READWRITE on a single-planar VIDEO_OUTPUT node)";
                return false;
            case "io" when arg == "planes":
                if (Video.Any(PlanesRefuseFileIo)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "no multi-planar node that reports V4L2_CAP_READWRITE with a format of more than one plane";
                return false;
            case "io" when arg == "readcap":
                if (Video.Any(v => v.ReportsReadWrite && !v.IsOutput && !v.IsMem2Mem)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "no capture node reports V4L2_CAP_READWRITE";
                return false;
            case "io" when arg == "read":
                if (Video.Any(v => v.ReadWrite && !v.IsOutput)) return true;
                reason = Video.Count == 0 ? "no V4L2 node" : "no capture node offers read() (V4L2_CAP_READWRITE on a single-planar VIDEO_CAPTURE node)";
                return false;
            case "kernel" when arg == "memory":
                if (MemoryUntracked == null) return true;
                reason = MemoryUntracked;
                return false;
            case "device":
                bool has = arg switch { "video" => Video.Count > 0, "heap" => Heaps.Count > 0, "udmabuf" => UdmabufDevice != null, "hugetlb" => UdmabufDevice != null && Hugetlb != null, "drm" => Drm.Count > 0, "vgem" => Drm.Any(d => d.VgemFences), _ => false };
                if (!has) reason = arg == "hugetlb" && UdmabufDevice != null ? "no free huge pages for hugetlb memfds (HugePages_Free 0 in /proc/meminfo: boot with hugepages=N or set vm.nr_hugepages)" : $"target has no {arg} device";
                return has;
        }
        reason = $"unknown precondition {token}";
        return false;
    }

    public static uint CapBit(string name) => name switch
    {
        "V4L2_BUF_CAP_SUPPORTS_MMAP" => Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP,
        "V4L2_BUF_CAP_SUPPORTS_USERPTR" => Uapi.V4L2_BUF_CAP_SUPPORTS_USERPTR,
        "V4L2_BUF_CAP_SUPPORTS_DMABUF" => Uapi.V4L2_BUF_CAP_SUPPORTS_DMABUF,
        "V4L2_BUF_CAP_SUPPORTS_REQUESTS" => Uapi.V4L2_BUF_CAP_SUPPORTS_REQUESTS,
        "V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS" => Uapi.V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS,
        "V4L2_BUF_CAP_SUPPORTS_MMAP_CACHE_HINTS" => Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP_CACHE_HINTS,
        "V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS" => Uapi.V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS,
        "V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS" => Uapi.V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS,
        _ => throw new ArgumentException($"unknown capability {name}"),
    };
}
