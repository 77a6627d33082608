namespace Conformance.Adapters;

/// <summary>One entry of a UDMABUF_CREATE_LIST request (handles are the target's own).</summary>
public readonly record struct UdmabufItem(int Memfd, long Offset, long Size);

/// <summary>
/// The format CREATE_BUFS passes on a multi-planar queue, relative to the current one (vidioc-create-bufs.rst; vb2_create_bufs;
/// the queue_setup contract in include/media/videobuf2-core.h).
/// </summary>
public enum PlaneLayout
{
    /// <summary>fmt.pix_mp as VIDIOC_G_FMT reports it (and always on a single-planar queue).</summary>
    Format,
    /// <summary>num_planes one fewer than the format's (0 for a one-plane format).</summary>
    FewerPlanes,
    /// <summary>num_planes one more than the format's, the extra plane as large as the last.</summary>
    MorePlanes,
    /// <summary>The last plane's sizeimage 0.</summary>
    LastPlaneZero,
}

/// <summary>
/// The payload fields a DMABUF QBUF (or PREPARE_BUF) on an output queue passes per plane, which the application sets
/// (buffer.rst, struct v4l2_plane: bytesused and data_offset, "applications when it refers to an output stream"). L is the
/// length the call passes for the plane (multi-planar: the dma-buf's size as fstat reports it; single-planar, where the
/// harness passes length 0: the dma-buf's size), S the plane's sizeimage in the current format. Every value but
/// <see cref="Format"/> makes the op report what VIDIOC_QUERYBUF shows of plane 0 right after a call that succeeded
/// (<see cref="IBufferTarget.QBuf"/>). The offsets and the payload past the plane exist on a multi-planar queue only
/// (a single-planar buffer has no data_offset, and there vb2 bounds the payload by a stored length: known issue
/// vb2-output-dmabuf-stored-length).
/// </summary>
public enum PlaneFields
{
    /// <summary>bytesused = S, data_offset 0: one frame, as every QBUF of the harness passes it.</summary>
    Format,
    /// <summary>bytesused = L, data_offset 0: the whole plane.</summary>
    PayloadLength,
    /// <summary>Multi-planar: bytesused = L, data_offset = L - S (the frame at the plane's end; 0 where L is not above S).</summary>
    OffsetTail,
    /// <summary>Multi-planar: bytesused = L + 1, one byte past the plane (videobuf2-v4l2.c __verify_length: EINVAL).</summary>
    PayloadPastLength,
    /// <summary>Multi-planar: bytesused = S, data_offset = S (data_offset not below the payload: EINVAL).</summary>
    OffsetAtPayload,
}

/// <summary>What <see cref="PlaneFields"/> puts in a plane: the one place both the model and the kernel adapter read it from.</summary>
public static class PlaneFieldValues
{
    /// <summary>A plane's bytesused and data_offset, in bytes, for the frame <paramref name="frame"/> (S) and the length
    /// <paramref name="length"/> (L) the call passes.</summary>
    public static (long BytesUsed, long DataOffset) Of(PlaneFields fields, long frame, long length) => fields switch
    {
        PlaneFields.PayloadLength => (length, 0),
        PlaneFields.OffsetTail => (length, length > frame ? length - frame : 0),
        PlaneFields.PayloadPastLength => (length + 1, 0),
        PlaneFields.OffsetAtPayload => (frame, frame),
        _ => (frame, 0),
    };
}

/// <summary>
/// The frame size VIDIOC_S_FMT or VIDIOC_TRY_FMT asks for, relative to the queue's current format (VIDIOC_G_FMT): the driver
/// adjusts what it cannot do to what it can (vidioc-g-fmt.rst), so every value is a valid request and the boundary ones
/// show the driver's clamping.
/// </summary>
public enum FrameSize
{
    /// <summary>The current format unchanged (G_FMT's own answer sent back).</summary>
    Current,
    /// <summary>Half the current width and height.</summary>
    Half,
    /// <summary>Twice the current width and height.</summary>
    Double,
    /// <summary>Width and height 1: below any driver's minimum.</summary>
    Minimum,
    /// <summary>Width and height 65535: above any driver's maximum.</summary>
    Maximum,
}

/// <summary>Which dma_heap_allocation_data layout an allocation passes (the ioctl is extensible).</summary>
public enum HeapAbi { Current, Short, Long }

/// <summary>
/// The calls an op can make in any process of a sequence (<c>Op.Process</c>): the suite's own (the target itself) and the
/// helper processes a target starts for a sequence (<see cref="IBufferTarget.Process"/>). Handles are that process's own
/// fd numbers and mapping ids; an fd of one process means nothing in another.
/// </summary>
public interface IProcessCalls
{
    /// <summary>close(2). EBADF for an fd the process does not hold.</summary>
    Outcome Close(int fd);
    /// <summary>fcntl(F_GETFD). R0 = FD_CLOEXEC bit.</summary>
    Outcome FcntlGetFd(int fd);
    /// <summary>mmap(2) of a dma-buf or memfd. Handle = mapping id.</summary>
    Outcome Mmap(int fd, long pgoff, long length, int prot, int flags);
    /// <summary>mmap of the video node at the mem offset of (index, plane) as QUERYBUF reports it (or the vb2 layout when there is no such buffer). Handle = mapping id.</summary>
    Outcome MmapVideo(int fd, uint type, uint index, uint plane, long length, int prot, int flags);
    /// <summary>munmap(2) of a mapping this process made. NotRun for an id it does not hold.</summary>
    Outcome Munmap(int map);
    /// <summary>Stores a 64-bit value at byte offset of a mapping. NotRun if the mapping is not writable.</summary>
    Outcome WriteStamp(int map, long offset, ulong value);
    /// <summary>Loads the 64-bit value at byte offset of a mapping. R0 = value.</summary>
    Outcome ReadStamp(int map, long offset);
    /// <summary>DMA_BUF_IOCTL_SYNC with <paramref name="flags"/> (DMA_BUF_SYNC_*). EINVAL for undefined flags; EWOULDBLOCK, without
    /// the call, for a START that would sleep on a fence.</summary>
    Outcome DmaBufSync(int fd, ulong flags);
}

/// <summary>
/// Every operation the suite can drive, with uapi arguments and the target's own handles (fd numbers,
/// mapping ids). The reference model and the kernel adapter both implement it, so the compiler keeps
/// them in step. Expected failures come back as <see cref="Outcome"/> values, never as exceptions.
/// Observed values (R0..R2) per method are documented on the method.
/// </summary>
public interface IBufferTarget : IProcessCalls, IDisposable
{
    TargetProfile Profile { get; }

    /// <summary>An op with id <paramref name="opId"/> (its place-independent name in its sequence) is about to call the target.
    /// A real kernel ignores it; the model as a target draws the device's clock for that op from it, so that removing other
    /// ops (as shrinking does) leaves this one's timing as it was.</summary>
    void BeginOp(int opId) { }

    /// <summary>True when the target runs a parallel block's branches on threads of their own, started together (a kernel: its
    /// calls may overlap and race); false when the harness runs the branches' ops one after another in an interleaving it
    /// chooses (the model as a target). Either way the outcomes are judged against every interleaving (DMABUF-PAR-1).</summary>
    bool Concurrent => false;

    /// <summary>True when the lockstep harness judges this target's outcomes on a thread of its own while the target runs the
    /// next calls (a kernel: each call waits in the kernel for microseconds, and the oracle's work fits beside it); false where
    /// judging each outcome before the next call costs less than handing it to another thread (the model as a target, whose
    /// calls cost what the oracle's do). Either way the same steps are judged against the same outcomes.</summary>
    bool OverlapsOracle => false;

    /// <summary>A parallel block's branches start (<paramref name="inBlock"/> true) or have all returned (false). A real kernel
    /// ignores it; a broken model uses it to act as a non-atomic implementation would when calls overlap.</summary>
    void Parallel(bool inBlock) { }

    /// <summary>
    /// mremap(2) of a dma-buf mapping this process made, growing it with MREMAP_MAYMOVE to <paramref name="newLength"/> bytes,
    /// past the end of its buffer, which lies <paramref name="end"/> bytes into the mapping (the buffer's size less the
    /// mapping's page offset; <paramref name="end"/> &lt; <paramref name="newLength"/>). The errno where mremap refuses
    /// (EFAULT: the exporter's mapping is VM_DONTEXPAND or VM_PFNMAP, mm/mremap.c vma_to_resize). Where it grows the mapping:
    /// R0 = 1 when the kernel could copy the 8 bytes at the buffer's end out of the grown mapping (write(2) of them to a pipe;
    /// a page that cannot be faulted in fails that copy with EFAULT, raising no signal), 0 when it could not; the mapping is
    /// then shrunk back to its old length (at the address mremap moved it to), so later steps see it as before. DMABUF-MMAP-6.
    /// NotRun for a mapping that is not of a dma-buf.
    /// </summary>
    Outcome MremapGrow(int map, long newLength, long end);

    /// <summary>
    /// The next call (one ioctl whose result is a new fd written into its argument: DMA_HEAP_IOCTL_ALLOC, VIDIOC_EXPBUF,
    /// DRM_IOCTL_PRIME_HANDLE_TO_FD, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, SYNC_IOC_MERGE) passes its argument in a page the process
    /// can read but not write, so the kernel's copy of the result back faults (EFAULT). A kernel target notes which dma-buf
    /// and sync_file fds the process holds, for <see cref="EndReadOnlyArg"/>. <paramref name="copiedBackOnFailure"/>: the
    /// request's core copies the argument back whatever the call returned (drm_ioctl), so a call that fails for its own
    /// reason fails with EFAULT here too; video_usercopy, dma_heap_ioctl and the dma-buf core copy back only after a success.
    /// </summary>
    void BeginReadOnlyArg(bool copiedBackOnFailure);

    /// <summary>
    /// The call made after <see cref="BeginReadOnlyArg"/> returned <paramref name="call"/>. Returns what the op observes: on
    /// failure, the errno with R0 = how many dma-buf and sync_file fds the process gained (a kernel target closes them: the
    /// caller never learned their numbers), which must be 0 (DMABUF-FAIL-1: a create ioctl that fails leaves no fd behind;
    /// drivers/dma-buf/dma-heap.c dma_heap_ioctl installs the fd only after copy_to_user). A success (the copy-out did not
    /// fault) is returned as it is.
    /// </summary>
    Outcome EndReadOnlyArg(in Outcome call);

    /// <summary>
    /// Makes <paramref name="call"/> (one create ioctl whose success is a new dma-buf or sync_file fd: UDMABUF_CREATE,
    /// UDMABUF_CREATE_LIST, DMA_HEAP_IOCTL_ALLOC, VIDIOC_EXPBUF, DRM_IOCTL_PRIME_HANDLE_TO_FD, DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
    /// SYNC_IOC_MERGE) with the fd table full up to RLIMIT_NOFILE, so get_unused_fd_flags fails with EMFILE (fs/file.c
    /// alloc_fd). Returns what the op observes: the call's errno (EMFILE where the fd was what failed) with R0 = the change in
    /// the system's count of live dma-bufs across the call, which must be 0 (DMABUF-FAIL-2: drivers/dma-buf/udmabuf.c
    /// udmabuf_create drops the dma-buf it exported when dma_buf_fd fails) but for a PRIME export an older kernel caches in
    /// its GEM object (it goes with the handle), or -1 where bufinfo cannot be read (not root, no debugfs), and then the count
    /// is not judged. A success is returned as the call gave it. Throws what <paramref name="call"/> throws, with the table's
    /// room given back.
    /// A kernel target makes the call on a thread of its own whose fd table is a private copy of the process's
    /// (unshare(CLONE_FILES)), fills that copy (the soft limit lowered to one past its highest fd, every free number below it
    /// a duplicate) and, after the call, closes there what it opened and its copies of the suite's own files: no other thread
    /// can free a number in it meanwhile (the runtime's own threads open and close files at any moment; its garbage collector
    /// reads /proc/meminfo), so the table is full when the kernel looks.
    /// </summary>
    Outcome WithFdTableFull(Func<Outcome> call);

    // ---- processes ----------------------------------------------------------------------------------
    /// <summary>
    /// The calls of helper process <paramref name="process"/> (1 or 2): a process of the sequence besides the suite's own,
    /// started with no fd and no mapping of the suite's (a kernel target starts a small program of its own on first use and
    /// drives it over a socket; the model keeps one fd table per process). It lives until <see cref="ExitProcess"/> or
    /// <see cref="Reset"/>, which ends it; a call after that starts a new one.
    /// </summary>
    IProcessCalls Process(int process);
    /// <summary>
    /// sendmsg(SCM_RIGHTS) of <paramref name="fd"/> by process <paramref name="from"/> (0: the suite's own) to process
    /// <paramref name="to"/>, which receives it with recvmsg (MSG_CMSG_CLOEXEC when <paramref name="cloexec"/>). Handle = the fd
    /// in process <paramref name="to"/>; R0 = 1 when it is the same file as the sender's (fstat: device and inode), else 0.
    /// EBADF for an fd the sender does not hold (unix(7), net/core/scm.c; DMABUF-PROC-1).
    /// </summary>
    Outcome SendFd(int from, int fd, int to, bool cloexec);
    /// <summary>
    /// Helper process <paramref name="process"/> calls _exit(0) holding whatever it holds, and the suite waits for it
    /// (waitpid). R0 = how many dma-bufs its exit released (live dma-bufs before less after, as <see cref="LiveDmaBufs"/> counts
    /// them), or -1 when the target cannot count. The exit closes every fd and unmaps every mapping of the process before the
    /// wait returns (kernel/exit.c do_exit: exit_mm, exit_files, exit_task_work, then exit_notify; DMABUF-PROC-2).
    /// </summary>
    Outcome ExitProcess(int process);
    /// <summary>
    /// Helper process <paramref name="from"/> calls fork(2); the child becomes process <paramref name="to"/>, holding a copy of
    /// each of its fds (the same open files, FD_CLOEXEC kept) and of each of its mappings (fork(2); kernel/fork.c: dup_fd,
    /// dup_mmap; DMABUF-PROC-3). No values. The parent of <paramref name="to"/> is <paramref name="from"/>, not the suite: its
    /// <see cref="ExitProcess"/> waits for it through a pidfd.
    /// </summary>
    Outcome Fork(int from, int to);
    /// <summary>After <see cref="Fork"/>: the child's own handle for the parent's <paramref name="handle"/> (an fd number, or a
    /// mapping id when <paramref name="mapping"/>). A kernel's child has the parent's very numbers and addresses.</summary>
    int ForkedHandle(int to, int handle, bool mapping);

    // ---- fd table -------------------------------------------------------------------------------
    /// <summary>open(2) of a profile device ("video0", "heap:system", "udmabuf"). Handle = fd.</summary>
    Outcome Open(string device, int oflags);
    /// <summary>dup(2). Handle = new fd.</summary>
    Outcome Dup(int fd);
    /// <summary>
    /// fd sent over a UNIX socketpair with SCM_RIGHTS and received in this process, with MSG_CMSG_CLOEXEC when
    /// <paramref name="cloexec"/>. Handle = the received fd; R0 = 1 when it is the same file as fd (fstat: same device and
    /// inode), else 0. EBADF for an fd the process does not hold (net/core/scm.c; DMABUF-SCM-1).
    /// </summary>
    Outcome PassFd(int fd, bool cloexec);
    /// <summary>fcntl(F_GETFL). R0 = flags &amp; O_ACCMODE.</summary>
    Outcome FcntlGetFl(int fd);
    /// <summary>
    /// A new program exec'd by this process (posix_spawn, an execve; the kernel adapter runs conformance-helper exec-probe),
    /// asked from inside about each of <paramref name="fds"/> (at most 62, fds of this process): R0 bit i = fds[i] is open
    /// in the new program; R1 bit i = it is open there and names the same file as here (same device and inode). execve
    /// closes exactly the fds with FD_CLOEXEC (fs/exec.c begin_new_exec, fs/file.c do_close_on_exec; DMABUF-CLOEXEC-3).
    /// EBADF for an fd this process does not hold.
    /// </summary>
    Outcome Exec(IReadOnlyList<int> fds);
    /// <summary>lseek(2). R0 = resulting offset.</summary>
    Outcome Llseek(int fd, long offset, int whence);
    /// <summary>An ioctl request no driver in the catalog defines (_IO('b', 0x7f) family, per file kind).</summary>
    Outcome UnknownIoctl(int fd);

    // ---- mappings ---------------------------------------------------------------------------------
    /// <summary>Anonymous private memory (for USERPTR). Handle = mapping id.</summary>
    Outcome MmapAnon(long length);
    /// <summary>Writes one coded frame of stream resolution res (<see cref="Bitstream.Resolutions"/> index) at offset 0 of a
    /// mapping (<see cref="Bitstream.WriteFrame"/>). R0 = its length in bytes. NotRun if the mapping is not writable or shorter.</summary>
    Outcome WriteFrame(int map, int res);

    // ---- dma-buf core ------------------------------------------------------------------------------

    // ---- dma-heap --------------------------------------------------------------------------------
    /// <summary>DMA_HEAP_IOCTL_ALLOC. Handle = data.fd.</summary>
    Outcome DmaHeapAlloc(int heapFd, ulong len, uint fdFlags, ulong heapFlags, uint fdIn, HeapAbi abi);

    // ---- memfd / udmabuf ---------------------------------------------------------------------------
    /// <summary>
    /// memfd_create + ftruncate(size) + F_ADD_SEALS(seals). Handle = fd. With <paramref name="hugetlb"/>, MFD_HUGETLB: a
    /// hugetlbfs file of the default huge page size, whose size must be whole huge pages (else ftruncate's EINVAL,
    /// fs/hugetlbfs/inode.c hugetlbfs_setattr) and whose mappings start at a huge page (hugetlbfs_file_mmap). Errors: the
    /// first call's that fails (the fd is closed then); EPERM for seals without allowSealing.
    /// </summary>
    Outcome MemfdCreate(long size, bool allowSealing, int seals, bool hugetlb = false);
    /// <summary>
    /// The hugetlb pool's counters, from the start of the sequence (the last <see cref="Reset"/>): R0 = huge pages taken
    /// (HugePages_Free then less now), R1 = reservations made (HugePages_Rsvd now less then; one that wrapped past 0 reads
    /// negative). Always succeeds where the machine has a pool (Documentation/admin-guide/mm/hugetlbpage.rst); NotRun without one.
    /// </summary>
    Outcome HugetlbPool();
    /// <summary>UDMABUF_CREATE. Handle = returned fd.</summary>
    Outcome UdmabufCreate(int devFd, int memfd, long offset, long size, uint flags);
    /// <summary>
    /// UDMABUF_CREATE_LIST with <paramref name="items"/> as the list. Handle = returned fd. <paramref name="count"/>: the
    /// header's count where it is not the number of items (0: it is), for a count past list_limit that the kernel must refuse
    /// before it reads the list (EINVAL, UDMABUF-LIST-4), of which only the items given are in memory.
    /// </summary>
    Outcome UdmabufCreateList(int devFd, uint flags, IReadOnlyList<UdmabufItem> items, uint count = 0);

    // ---- DRM PRIME --------------------------------------------------------------------------------
    /// <summary>DRM_IOCTL_MODE_CREATE_DUMB(width, height, bpp), DRM_IOCTL_PRIME_HANDLE_TO_FD(flags), then
    /// DRM_IOCTL_GEM_CLOSE of the handle. Handle = the dma-buf fd; R0 = the dumb buffer's size.</summary>
    Outcome DrmDumbExport(int drmFd, uint width, uint height, uint bpp, uint primeFlags);

    /// <summary>DRM_IOCTL_MODE_CREATE_DUMB(width, height, bpp). Handle = the GEM handle; R0 = handle, R1 = size.</summary>
    Outcome DrmCreateDumb(int drmFd, uint width, uint height, uint bpp);
    /// <summary>DRM_IOCTL_PRIME_HANDLE_TO_FD. Handle = the dma-buf fd.</summary>
    Outcome PrimeHandleToFd(int drmFd, uint handle, uint flags);
    /// <summary>DRM_IOCTL_PRIME_FD_TO_HANDLE. Handle = the GEM handle; R0 = handle.</summary>
    Outcome PrimeFdToHandle(int drmFd, int fd, uint flags);
    /// <summary>DRM_IOCTL_GEM_CLOSE.</summary>
    Outcome GemClose(int drmFd, uint handle);
    /// <summary>DRM_IOCTL_MODE_MAP_DUMB, then a MAP_SHARED mmap of the whole object through the DRM fd at the returned offset. Handle = mapping id.</summary>
    Outcome DrmMapDumb(int drmFd, uint handle, int prot);
    /// <summary>statx of two dma-buf fds. R0 = 1 when both name the same dma-buf (same inode). NotRun unless both are dma-bufs.</summary>
    Outcome SameInode(int fdA, int fdB);

    // ---- fences and sync_file ------------------------------------------------------------------------
    /// <summary>DRM_IOCTL_VGEM_FENCE_ATTACH. Handle = the fence id; R0 = fence id.</summary>
    Outcome VgemFenceAttach(int drmFd, uint handle, uint flags, uint pad);
    /// <summary>DRM_IOCTL_VGEM_FENCE_SIGNAL.</summary>
    Outcome VgemFenceSignal(int drmFd, uint fenceId, uint flags);
    /// <summary>Waits until every vgem fence attached so far has expired on its own (vgem's 10 s timeout).</summary>
    Outcome VgemFenceExpire();
    /// <summary>DMA_BUF_IOCTL_EXPORT_SYNC_FILE. Handle = the sync_file fd; R0 = its status, R1 = num_fences, R2 = name kind (SYNC_IOC_FILE_INFO query).</summary>
    Outcome ExportSyncFile(int fd, uint flags);
    /// <summary>DMA_BUF_IOCTL_IMPORT_SYNC_FILE.</summary>
    Outcome ImportSyncFile(int fd, int syncFd, uint flags);
    /// <summary>SYNC_IOC_MERGE of fd and fd2 (name "merged" when named, else empty). Handle = the new sync_file fd; R0..R2 as for ExportSyncFile.</summary>
    Outcome SyncMerge(int fd, int fd2, bool named, uint flags);
    /// <summary>SYNC_IOC_FILE_INFO. numFences 0: R0 = status, R1 = num_fences, R2 = name kind.
    /// Otherwise: R0 = status, R1 = num_fences, R2 = entries whose status is 1.</summary>
    Outcome SyncFileInfo(int fd, uint numFences, uint flags, uint pad);
    /// <summary>poll(2) of one fd with a zero timeout. R0 = revents &amp; (POLLIN|POLLOUT) on a dma-buf or sync_file, revents &amp;
    /// (POLLPRI|POLLERR) on a media request (request-func-poll.rst).</summary>
    Outcome Poll(int fd, short events);

    // ---- V4L2 / videobuf2 -------------------------------------------------------------------------
    /// <summary>VIDIOC_REQBUFS; observes what <see cref="Ioctls.ReqBufs"/> reads (R0 = count written back, R1 = capabilities).</summary>
    Outcome ReqBufs(int fd, uint type, uint memory, uint count);
    /// <summary>VIDIOC_CREATE_BUFS with the current format (VIDIOC_G_FMT), every plane's sizeimage adjusted by sizeDelta bytes; on a
    /// multi-planar queue <paramref name="layout"/> then changes fmt.pix_mp (one plane fewer or more, or the last plane's
    /// sizeimage 0). R0 = index, R1 = count, R2 = capabilities.</summary>
    Outcome CreateBufs(int fd, uint type, uint memory, uint count, long sizeDelta, PlaneLayout layout = PlaneLayout.Format);
    /// <summary>VIDIOC_QUERYBUF. R0 = the length of plane <paramref name="plane"/> in bytes (v4l2_buffer.length on a single-planar
    /// queue, where plane is 0; m.planes[plane].length on a multi-planar one, or -1 when v4l2_buffer.length, the buffer's number of
    /// planes, is plane or fewer), R1 = flags &amp; <see cref="Ioctls.StateFlags"/> (MAPPED|QUEUED|DONE|PREPARED|IN_REQUEST), R2 = memory.</summary>
    Outcome QueryBuf(int fd, uint type, uint index, uint plane = 0);
    /// <summary>VIDIOC_EXPBUF. Handle = exported dma-buf fd.</summary>
    Outcome ExpBuf(int fd, uint type, uint index, uint plane, uint flags);
    /// <summary>VIDIOC_QBUF. <paramref name="planes"/> holds one handle per plane (one on a single-planar queue): for DMABUF the
    /// dma-buf fd (m.fd, or m.planes[p].m.fd with m.planes[p].length its size), for USERPTR a mapping id (its address and length);
    /// ignored for MMAP. An output buffer carries one frame: bytesused is each plane's sizeimage.</summary>
    /// <remarks>With <paramref name="prepare"/> the request is VIDIOC_PREPARE_BUF instead (vidioc-prepare-buf.rst): the same
    /// argument, and the buffer is made ready (its memory taken as QBUF would) without being queued. With <paramref name="request"/>
    /// the buffer goes into that request (V4L2_BUF_FLAG_REQUEST_FD, request_fd = the request's fd, buffer.rst): it is not queued
    /// until MEDIA_REQUEST_IOC_QUEUE (request-api.rst). Errors as vidioc-qbuf.rst lists them (EINVAL, EBADR, EBUSY).
    /// With <paramref name="fields"/> other than <see cref="PlaneFields.Format"/> (a DMABUF buffer of an output queue, not in
    /// a request) each plane's bytesused and data_offset are as <see cref="PlaneFields"/> says, and a call that succeeds is
    /// followed by VIDIOC_QUERYBUF of the buffer: R0 = plane 0's bytesused, R1 = its data_offset (0 on a single-planar
    /// queue), in bytes, or both -1 when that QUERYBUF fails.</remarks>
    Outcome QBuf(int fd, uint type, uint index, uint memory, IReadOnlyList<int> planes, bool prepare = false, int? request = null, long bytesUsed = 0,
        PlaneFields fields = PlaneFields.Format);
    /// <summary>MEDIA_IOC_REQUEST_ALLOC on the media device <paramref name="media"/> names (a symbolic device, like Open's), opened
    /// O_RDWR for the call and closed after it (media-ioc-request-alloc.rst). Handle = the request fd; ENOTTY when the media
    /// device has no request support.</summary>
    Outcome RequestAlloc(string media);
    /// <summary>VIDIOC_DQBUF (with a planes array on a multi-planar queue); observes what <see cref="Ioctls.DQBuf"/> reads (R0 = index, R1 = flags &amp; <see cref="Ioctls.DQBufFlags"/> (MAPPED|QUEUED|DONE|PREPARED|IN_REQUEST|LAST)).
    /// The harness's video files are O_NONBLOCK: with nothing done the call fails with EAGAIN (vidioc-qbuf.rst).</summary>
    /// <param name="blocking">Clear O_NONBLOCK for this one call (F_SETFL, then back): it sleeps in vb2 until a buffer is done,
    /// streaming stops or the queue errs, so callers issue it only where a buffer will be done (see
    /// <see cref="Model.ReferenceModel.DQBufReturns"/>); a kernel target bounds it by its hang watchdog. The reference model,
    /// asked where it would sleep, returns NotRun.</param>
    Outcome DQBuf(int fd, uint type, bool blocking);
    /// <summary>read(fd, buf, count) on a video node opened O_NONBLOCK (func-read.rst, vb2_fop_read): R0 = the number of bytes
    /// read (0 &lt;= R0 &lt;= count); the bytes themselves are not observed. Errors: EAGAIN (no frame ready), EBUSY (another
    /// handle owns the queue, or streaming I/O holds it), EINVAL (the node offers no read()).</summary>
    Outcome Read(int fd, long count);
    /// <summary>write(fd, buf, count) on a video output node opened O_NONBLOCK (func-write.rst, vb2_fop_write), of count bytes
    /// the harness does not look at again: R0 = the number of bytes written (0 &lt;= R0 &lt;= count). Errors: EAGAIN (no buffer
    /// space free), EBUSY (another handle owns the queue, or streaming I/O holds it), EINVAL (the node offers no write()).</summary>
    Outcome Write(int fd, long count);
    Outcome StreamOn(int fd, uint type);
    Outcome StreamOff(int fd, uint type);
    /// <summary>VIDIOC_ENCODER_CMD (or, with <paramref name="tryOnly"/>, VIDIOC_TRY_ENCODER_CMD) on a stateful encoder's node, with
    /// cmd <paramref name="cmd"/> (V4L2_ENC_CMD_*) and flags and data 0 (vidioc-encoder-cmd.rst; dev-encoder.rst, Drain). No
    /// values: 0, or EINVAL (a command the encoder does not take), EBUSY (STOP or START while a drain is in progress),
    /// ENOTTY (not an encoder).</summary>
    Outcome EncoderCmd(int fd, uint cmd, bool tryOnly);
    /// <summary>VIDIOC_DECODER_CMD (or, with <paramref name="tryOnly"/>, VIDIOC_TRY_DECODER_CMD) on a stateful decoder's node, with
    /// cmd <paramref name="cmd"/> (V4L2_DEC_CMD_*) and flags and data 0 (vidioc-decoder-cmd.rst; dev-decoder.rst, Drain). No
    /// values: 0, or EINVAL (a command the decoder does not take), EBUSY (STOP or START while a drain is in progress),
    /// ENOTTY (not a decoder).</summary>
    Outcome DecoderCmd(int fd, uint cmd, bool tryOnly);
    /// <summary>VIDIOC_SUBSCRIBE_EVENT (or, with <paramref name="unsubscribe"/>, VIDIOC_UNSUBSCRIBE_EVENT) of event type
    /// <paramref name="type"/> (V4L2_EVENT_*; V4L2_EVENT_ALL only to unsubscribe) on a video node's file, id and flags 0
    /// (vidioc-subscribe-event.rst). Events belong to the open file, not the fd: a dup shares them. No values: 0, or EINVAL (an
    /// event the driver does not signal), ENOTTY (a node without events).</summary>
    Outcome SubscribeEvent(int fd, uint type, bool unsubscribe);
    /// <summary>VIDIOC_DQEVENT on a video node's file, which the harness keeps O_NONBLOCK (vidioc-dqevent.rst). R0 = the
    /// event's type (V4L2_EVENT_*), R1 = the number of events still pending after it. ENOENT when none is pending.</summary>
    Outcome DQEvent(int fd);
    /// <summary>poll(2) of a video node's file for POLLPRI alone, waiting up to <paramref name="timeoutMs"/> milliseconds
    /// (func-poll.rst): R0 = revents &amp; POLLPRI (0 when the wait ran out). The harness issues it only where an event is
    /// certain to come, so a conforming driver never makes it wait out.</summary>
    Outcome EventWait(int fd, int timeoutMs);
    /// <summary>VIDIOC_REMOVE_BUFS.</summary>
    Outcome RemoveBufs(int fd, uint type, uint index, uint count);
    /// <summary>
    /// VIDIOC_G_FMT of the queue <paramref name="type"/> names, its width and height changed as <paramref name="size"/> says,
    /// then VIDIOC_TRY_FMT (<paramref name="tryOnly"/>) or VIDIOC_S_FMT (vidioc-g-fmt.rst): R0, R1, R2 = the sizeimage, in
    /// bytes, of planes 0, 1 and 2 of the format the driver returned (0 past its num_planes; R0 alone on a single-planar
    /// queue). Errors: EBUSY (S_FMT while the queue streams or has buffers), EINVAL (a type the node has no format for).
    /// </summary>
    Outcome SetFmt(int fd, uint type, FrameSize size, bool tryOnly);

    // ---- described ioctls ----------------------------------------------------------------------------
    /// <summary>
    /// An ioctl made from its description alone (<see cref="IoctlSpec"/>; an op record that is an IoctlOp): the kernel
    /// adapter packs the argument and reads R0..R2 as the spec says, the model answers with the method it marks
    /// [ModelOf(request)]. Only results that create nothing (Status, Values): a new fd or handle needs the adapter's books.
    /// </summary>
    Outcome Ioctl(int fd, IoctlCall call);

    // ---- hygiene -----------------------------------------------------------------------------------
    /// <summary>dma-bufs this target created that are still alive (kernel: bufinfo delta; -1 if it cannot tell).</summary>
    int LiveDmaBufs();
    /// <summary>Closes every fd and unmaps every mapping this target made; afterwards the target is as new.</summary>
    void Reset();
    /// <summary>
    /// Reset, then bring the device itself back to its state after loading (the lab reloads a module it loaded for the
    /// run), so a counterexample is shown to reproduce from a fresh device and not from state an earlier sequence left.
    /// False when the target cannot (a built-in driver, a device the suite did not load): Reset alone was done.
    /// </summary>
    bool Refresh();
}
