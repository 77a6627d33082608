using Conformance.Adapters;
namespace Conformance.Adapters.Model;

/// <summary>A piece of memory (a vb2 plane, heap pages, a memfd's pages). Contents are sparse 64-bit stamps.</summary>
internal sealed class Mem(long size, ulong? initial)
{
    public readonly long Size = size;
    /// <summary>Value of a never-written word: 0 for zero-filled memory, null when the contents are not specified.</summary>
    public ulong? Initial = initial;
    /// <summary>The exporter's own reference is gone (vb2 buffer freed, memfd closed); only mappings / dma-bufs keep it.</summary>
    public bool Orphaned;
    /// <summary>Queued buffers of streaming capture queues that hold this memory: while any does, the device may
    /// write it at any moment, so a read shows whatever is there and a write need not persist.</summary>
    public int DeviceUsers;
    /// <summary>Some word was written through a dma-buf mapping at a non-zero page offset: where it landed, and so what
    /// any read of this memory shows, depends on DMABUF-MMAP-5.</summary>
    public bool WrittenViaOffset;
    private SmallMap<long, Stamp> _stamps;

    public bool TryRead(long off, out Stamp s) => _stamps.TryGetValue(off, out s);

    public void Write(long off, Stamp s)
    {
        Learn(off, s);
        if (Frame is { } f && off + 8 > f.Offset && off < f.Offset + Bitstream.FwhtHeaderBytes) Frame = null;   // its header is gone
    }

    /// <summary>A read learned what an unspecified word holds: recorded as <see cref="Write"/> does, but nothing was written,
    /// so a coded frame there stays intact.</summary>
    public void Learn(long off, Stamp s)
    {
        _stamps.Set(off, s);
        _written.Set(s.Value, true);
    }

    public bool HasStamps => _stamps.Count > 0;

    /// <summary>Some word of this memory holds or held the value (the initial contents count when they are specified).</summary>
    public bool EverHeld(ulong value) => Initial == value || _written.TryGetValue(value, out _);
    private SmallMap<ulong, bool> _written;   // (a set: every value written, each once)

    /// <summary>A device may have written anywhere: every word becomes unspecified.</summary>
    public void DeviceWrote() { _stamps.Clear(); Initial = null; Frame = null; }
    /// <summary>A coded frame the harness wrote (WriteFrame) into this memory, intact since (no word of its header written
    /// over); null when none is. (A reference: few memories ever hold one, and a nullable tuple in place took 24 bytes more
    /// of every Mem.)</summary>
    public CodedFrame? Frame;
    /// <summary>A hugetlb memfd's memory: which of its huge pages the pool gave it and which are reserved; null for any other.</summary>
    public HugeFile? Huge;
}

/// <summary>
/// The hugetlb pool's view of one hugetlb memfd (UDMABUF-HUGE-2), by huge page index: Populated, the pages its page cache holds
/// (taken from HugePages_Free); Reserved, those a shared mapping or an allocation reserved (its inode's reservation map);
/// HugePages_Rsvd counts the reserved ones not populated. Pins: the pages each udmabuf pinned, which stay taken after the
/// memfd is gone (Evicted) until that udmabuf is. Debt and Unregioned belong to the broken behaviour only (a page taken
/// with no reservation made: HugePages_Rsvd one lower, the page not in the reservation map).
/// </summary>
internal sealed class HugeFile(long pageSize)
{
    public readonly long PageSize = pageSize;
    public readonly HashSet<long> Populated = new(), Reserved = new(), Unregioned = new();
    public int Debt;
    public bool Evicted;
    public readonly List<(DmaBuf Buf, long First, long Last)> Pins = new();

    /// <summary>The huge pages bytes offset..offset+length-1 of the memfd lie in, first and last.</summary>
    public (long First, long Last) PagesOf(long offset, long length) => (offset / PageSize, (offset + length - 1) / PageSize);

    /// <summary>A fault (or a pin) put huge page idx in the page cache, using its reservation.</summary>
    public void Populate(long idx)
    {
        if (Evicted || !Populated.Add(idx)) return;
        Reserved.Add(idx);
    }
}

/// <summary>A coded frame the harness wrote (WriteFrame): from byte <paramref name="Offset"/> of its memory, of resolution
/// index <paramref name="Res"/> (<see cref="Bitstream.Resolutions"/>), <paramref name="Length"/> bytes.</summary>
internal sealed record CodedFrame(long Offset, int Res, long Length);

/// <summary>A word written through some mapping; Writer names the mapping, WriterKind what it maps.</summary>
internal readonly record struct Stamp(ulong Value, int Writer, MapKind WriterKind);

internal enum MapKind { Anon, Video, DmaBuf, Memfd, Drm }

/// <summary>Contiguous run of a Mem that forms part of a buffer (udmabuf lists have several).</summary>
internal readonly record struct Seg(Mem Mem, long MemOffset, long Length);

internal abstract class OFile
{
    public int Refs;          // fds + VMAs + kernel references (vb2 DMABUF import)
    public int Fds;           // fd-table entries alone
    public int AccMode;
}

/// <summary>An open video node: its queue, or on a mem2mem node its own context's CAPTURE queue (Q) and OUTPUT queue (Out).</summary>
internal sealed class VideoFile(VideoQueue q, VideoQueue? output = null) : OFile
{
    public readonly VideoQueue Q = q;
    public readonly VideoQueue? Out = output;
    /// <summary>The queue a buffer type reaches: on a mem2mem node v4l2_m2m_get_vq picks by direction; else the node's one queue.</summary>
    public VideoQueue QueueFor(uint type) => Out != null && Uapi.IsOutputType(type) ? Out : Q;
    public IEnumerable<VideoQueue> Queues => Out == null ? [Q] : [Q, Out];
    /// <summary>The event types this open file is subscribed to, one bit (1 &lt;&lt; type) each (vidioc-subscribe-event.rst; v4l2_fh's
    /// subscribed list). Events belong to the file: a dup shares them.</summary>
    public uint Subscribed;
    /// <summary>The event types certainly pending (at most one of each: a subscription holds one element).</summary>
    public uint Pending;
    /// <summary>The event types that may be pending: caused on the device's clock, or where what causes them is past what the
    /// documentation describes.</summary>
    public uint Maybe;
    /// <summary>Subscribed to EOS when the encoder's drain began and not dequeued since: the drain's LAST buffer brings one
    /// (VB2-DRAIN-4).</summary>
    public bool EosWatch;
    /// <summary>Subscribed to SOURCE_CHANGE when a frame of a new resolution was queued to this decoder's context, and not dequeued
    /// since: the LAST buffer that change brings comes after the event (VB2-DEC-1).</summary>
    public bool SrcWatch;
    /// <summary>The event types whose subscription VIDIOC_UNSUBSCRIBE_EVENT ended (and none has renewed): one of them dequeued
    /// rests on VB2-EVENT-1.</summary>
    public uint Ended;
}

internal enum DevKind { Heap, Udmabuf, Drm }

internal sealed class DevFile(DevKind kind, HeapProfile? heap, DrmProfile? drm = null) : OFile
{
    public readonly DevKind Kind = kind;
    public readonly HeapProfile? Heap = heap;
    public readonly DrmProfile? Drm = drm;
    // a DRM file: its GEM handle namespace, its PRIME table (dma-buf -> handle) and its vgem fence ids (index = id - 1; null once signalled by the client)
    public GemHandles Handles;
    public SmallMap<DmaBuf, uint> Prime;
    public List<Fence?>? FenceIds;
}

/// <summary>A memfd; its Mem's <see cref="Mem.Huge"/> is set for a hugetlb one.</summary>
internal sealed class MemfdFile(Mem mem, bool allowSealing, int seals) : OFile
{
    public readonly Mem Mem = mem;
    public readonly bool AllowSealing = allowSealing;
    public readonly int Seals = seals;
    public long Size => Mem.Size;
}

internal enum Exporter { Heap, Udmabuf, Vb2, Drm }

internal sealed class DmaBuf(Exporter exporter, Seg[] segs, long size) : OFile
{
    public readonly Exporter Exporter = exporter;
    public readonly Seg[] Segs = segs;
    public readonly long Size = size;
    public VideoBuffer? From;       // vb2 buffer this was exported from
    public bool FromPlane;          // exported from one plane of a multi-planar buffer: its size and memory are that plane's (VB2-MPLANE-2)
    public bool CpuAccessStarted;   // udmabuf tracks begin_cpu_access
    /// <summary>The reservation object (a DRM export shares its GEM object's), made at its first use: most dma-bufs a
    /// sequence makes never meet a fence, and the generator's model makes one at every export.</summary>
    public Resv Resv { get => _resv ??= new(); set => _resv = value; }
    private Resv? _resv;
    /// <summary>Whether a fence not yet signalled of usage up to <paramref name="upTo"/> is in the reservation object, without
    /// making one (none: none pending).</summary>
    public bool HasPending(Usage upTo) => _resv != null && _resv.HasPending(upTo);
    /// <summary>The reservation object where one was made, else null (none: no fence was ever attached or imported).</summary>
    public Resv? ResvIfMade => _resv;
    public GemObject? Gem;          // the GEM object a DRM export was made from
    public int Renames;
    public bool Released;
}

/// <summary>One plane of a vb2 buffer (vb2_plane): its length, vb2's min_length (the size it was set up with), and the
/// memory behind it for the queue's memory type.</summary>
internal sealed class VideoPlane(long length, Mem? mem)
{
    public long Length = length;
    public readonly long MinLength = length;   // vb2's min_length: the setup size
    public readonly Mem? Mem = mem;            // MMAP memory
    public DmaBuf? Imported;                   // DMABUF memory held by the queue
    public Seg[]? UserMem;                     // USERPTR memory pinned by the queue
    /// <summary>On an output queue: the bytesused and data_offset the last QBUF or PREPARE_BUF that took memory passed for
    /// this plane, in bytes (what QUERYBUF reports, VB2-QBUF-4).</summary>
    public long BytesUsed, DataOffset;
}

/// <summary>
/// What vb2_fill_vb2_v4l2_buffer copied at a QBUF into a request, for vb2_req_prepare to take when the request is queued
/// (VB2-REQ-9): the memory type, one handle per plane (the model's fds for DMABUF, its mapping handles for USERPTR), and
/// what each handle named at the QBUF (the file or the mapping; null for none). The kernel
/// keeps fd numbers and addresses, not files: if a handle names something else when the request is queued, what vb2 finds
/// there is beyond the model (<see cref="ReferenceModel.Unfollowed"/>).
/// </summary>
internal sealed record PendingMemory(uint Memory, int[] Handles, object?[] Named);

internal sealed class VideoBuffer(int index, VideoPlane[] planes)
{
    public readonly int Index = index;
    /// <summary>num_planes planes (one on a single-planar queue).</summary>
    public readonly VideoPlane[] Planes = planes;
    public int MapUsers;            // live video VMAs + live exported dma-bufs, over every plane
    public bool Queued;
    public bool Freed;
    public bool DeviceHeld;         // counted in its memory's DeviceUsers
    /// <summary>VIDIOC_PREPARE_BUF made it ready (vb->prepared): QUERYBUF shows PREPARED while it is dequeued; DQBUF and
    /// STREAMOFF clear it.</summary>
    public bool Prepared;
    /// <summary>Prepared by its request's MEDIA_REQUEST_IOC_QUEUE (vb2_req_prepare, __buf_prepare sets vb->prepared), not by
    /// PREPARE_BUF: a later QBUF without a request is refused before its fields are read (EBUSY or EBADR), and that rests on
    /// the request, not on PREPARE_BUF.</summary>
    public bool PreparedInRequest;
    /// <summary>An encoder's OUTPUT buffer queued after the STOP that began the current drain: accepted, and not processed until
    /// START or a STREAMOFF ends the drain (VB2-DRAIN-5).</summary>
    public bool AfterStop;
    /// <summary>On an output queue: bytesused of plane 0 as last queued (the format's sizeimage, or the step's), in bytes.</summary>
    public long Payload;
    /// <summary>The format rule its sizes rest on (<see cref="VideoQueue.SizesAtStake"/> when it was allocated), or null.</summary>
    public string? SizedBy;
    /// <summary>The request the buffer is bound to (vb2's req_obj): set by a QBUF with V4L2_BUF_FLAG_REQUEST_FD, cleared when the
    /// buffer is dequeued, the queue is reset or the request re-initialized. While the buffer is not queued it is IN_REQUEST.</summary>
    public RequestFile? Request;
    /// <summary>Dequeued because the request it was in was emptied or its queue reset while the request was not queued: what
    /// the target shows of it until it is queued again rests on VB2-REQ-3 (it was never queued).</summary>
    public bool LeftRequest;
    /// <summary>The DMABUF or USERPTR memory a QBUF into a request named, which vb2 takes only when the request is queued;
    /// null for MMAP and for a buffer PREPARE_BUF had prepared.</summary>
    public PendingMemory? Pending;
    /// <summary>A QBUF without a request or a PREPARE_BUF was refused for this buffer while it waited in a request, after vb2
    /// had copied that call's fields (VB2-REQ-10): what the request's queue then finds rests on that rule.</summary>
    public bool RefusedWhileInRequest;
    /// <summary>vb2's VB2_BUF_STATE_IN_REQUEST: in a request that has not been queued (QUERYBUF shows V4L2_BUF_FLAG_IN_REQUEST).</summary>
    public bool InRequest => Request != null && !Queued;

    public IEnumerable<Mem> Memory()
    {
        foreach (var p in Planes)
        {
            if (p.Mem != null) yield return p.Mem;
            if (p.Imported != null) foreach (var s in p.Imported.Segs) yield return s.Mem;
            if (p.UserMem != null) foreach (var s in p.UserMem) yield return s.Mem;
        }
    }
}

/// <summary>Where a stateful codec's context is in the drain (dev-encoder.rst and dev-decoder.rst, Drain), as the model knows it.</summary>
internal enum CodecDrain
{
    /// <summary>No drain: encoding or decoding as normal.</summary>
    Running,
    /// <summary>STOP was accepted with both queues streaming: the OUTPUT buffers queued before it are encoded, then a CAPTURE
    /// buffer comes back flagged LAST. Until that buffer is dequeued the device may have finished on its own clock.</summary>
    Draining,
    /// <summary>The drain's LAST buffer was dequeued: the codec has stopped; DQBUF of CAPTURE fails with EPIPE; START resumes.</summary>
    Stopped,
    /// <summary>Where the documentation and the kernel's code part ways (a STOP while a queue does not stream; a STREAMOFF of
    /// OUTPUT during or after a drain; a STOP or START that found the drain over before its LAST buffer was seen): nothing
    /// about the drain is judged until CAPTURE stops streaming.</summary>
    Unsure,
}

internal sealed class VideoQueue(VideoNodeProfile p)
{
    public readonly VideoNodeProfile P = p;
    public uint Memory;                         // 0 = no buffers yet (VB2_MEMORY_UNKNOWN)
    public readonly VideoBuffer?[] Bufs = new VideoBuffer?[p.MaxBuffers];
    /// <summary>Whether some allocated buffer passes <paramref name="test"/> (asked only of the buffers, not of the free
    /// indices: LINQ's Any over <see cref="Bufs"/> called the test at every one of its MaxBuffers).</summary>
    public bool AnyBuffer(Func<VideoBuffer, bool> test)
    {
        foreach (var b in Bufs) if (b != null && test(b)) return true;
        return false;
    }
    public int NumBufs;
    public VideoFile? Owner;
    /// <summary>On a mem2mem node's CAPTURE queue: the open file whose context it is (where the context's events go).</summary>
    public VideoFile? Context;
    /// <summary>The owner's close released the queue and nothing was allocated since: a new file handle's view of an
    /// empty, unowned, idle queue rests on VB2-OWN-9.</summary>
    public bool ReleasedOnClose;
    /// <summary>A read() or write() was refused for the format's planes and nothing was allocated since: what any handle sees
    /// of the queue (no buffers, no owner) rests on VB2-READ-5.</summary>
    public bool PlanesRefused;
    public bool Streaming;
    /// <summary>On a stateful codec's CAPTURE queue: where its context is in the drain (dev-encoder.rst, dev-decoder.rst, Drain).</summary>
    public CodecDrain Drain;
    /// <summary>vb2's last_buffer_dequeued: a buffer flagged V4L2_BUF_FLAG_LAST was dequeued from this capture queue, so every
    /// DQBUF fails with EPIPE until streaming stops (or a codec's START resumes it).</summary>
    public bool LastDequeued;
    /// <summary>The invariant the LAST buffer that set <see cref="LastDequeued"/> rests on: a drain's (VB2-DRAIN-2, VB2-DEC-5) or a
    /// decoder's resolution change (VB2-DEC-2).</summary>
    public string? LastBy;
    /// <summary>A codec's START resumed this CAPTURE queue after its LAST buffer: what DQBUF gives rests on VB2-DRAIN-3 (VB2-DEC-6
    /// on a decoder) until the next LAST buffer or STREAMOFF.</summary>
    public bool Resumed;
    /// <summary>On a stateful decoder's CAPTURE queue: the stream resolution (<see cref="Bitstream.Resolutions"/> index) the decoder
    /// has signalled, null before its first.</summary>
    public int? StreamRes;
    /// <summary>On a stateful decoder's CAPTURE queue: the resolutions of the frames queued on OUTPUT since the last one the model
    /// knows the decoder signalled, in queue order (the decoder parses them in that order).</summary>
    public readonly List<int> StreamAhead = new();
    /// <summary>On a stateful decoder's CAPTURE queue: a source change was signalled while CAPTURE streamed and its LAST buffer
    /// has not been dequeued: the LAST buffer may still come.</summary>
    public bool LastMayCome;
    /// <summary>On a stateful decoder's CAPTURE queue: OUTPUT stopped streaming (a seek) after frames reached the decoder, which
    /// then parses the next first frame afresh: it may signal a source change even for the resolution it had.</summary>
    public bool Reparse;
    /// <summary>On a stateful decoder's CAPTURE queue: OUTPUT stopped streaming while a change was queued and not yet signalled,
    /// or a queued buffer may hold part of a frame: where the stream stands is past what the model follows, and nothing about
    /// the source change is judged for the rest of the context's life.</summary>
    public bool StreamUnsure;
    /// <summary>The most buffers queued at once since STREAMON: once it reaches the most min_queued_buffers may be (StartHi), vb2
    /// has called the driver's start_streaming.</summary>
    public int PeakQueued;
    public readonly List<int> QueuedOrder = new();
    public int KnownDone;                       // leading entries of QueuedOrder observed DONE
    /// <summary>sizeimage of each plane of the queue's current format, in bytes: the profile's until a VIDIOC_S_FMT changes it
    /// (what REQBUFS and CREATE_BUFS with G_FMT's format allocate from then on).</summary>
    public List<long> PlaneSizes = [.. p.PlaneSizes];
    /// <summary>Plane 0's sizeimage of the current format (a single-planar queue's only one).</summary>
    public long SizeImage => PlaneSizes[0];
    /// <summary>What the driver answered for each frame-size request in the current format (VIDIOC_TRY_FMT or VIDIOC_S_FMT):
    /// the same request must get the same answer until the format changes (vidioc-g-fmt.rst).</summary>
    public readonly Dictionary<FrameSize, long[]> FmtAnswers = new();
    /// <summary>The driver's answer to VIDIOC_S_FMT while the queue has buffers (EBUSY, or OK where it allows the change), held
    /// for the sequence once seen; null until then.</summary>
    public Errno? FmtWithBuffers;
    /// <summary>vb2's is_busy (vb2_is_busy, which drivers' S_FMT checks): set by an allocation (REQBUFS, CREATE_BUFS, the read()
    /// emulator), cleared only by REQBUFS freeing and by the queue's release; REMOVE_BUFS of every buffer leaves it set.</summary>
    public bool FmtBusy;
    /// <summary>The format rule the sizes of buffers allocated from now on rest on: VB2-FMT-3 once a VIDIOC_S_FMT set
    /// the format, VB2-FMT-2 once a VIDIOC_TRY_FMT answered other sizes (which must have changed nothing); null before either.</summary>
    public string? SizesAtStake;
    /// <summary>The file I/O emulator holding the queue is write()'s (an output queue), not read()'s: what it refuses rests on
    /// VB2-WRITE-2 rather than VB2-READ-2.</summary>
    public bool FileIoWrite;
    /// <summary>Bytes write() has taken since the write() emulator started, in bytes: space is free (no EAGAIN) until a frame per
    /// buffer it may have allocated (FileLo frames of FileIoSize) was taken.</summary>
    public long WriteTaken;
    /// <summary>Only once VB2-WRITE-1 has failed on the target (relaxed): the target refused a full frame with EINVAL, as vb2 does
    /// for every frame (vb2-write-bytesused-lost); its emulator stays at that frame's end and refuses each write() the same way.</summary>
    public bool WriteStuck;
    /// <summary>The handle whose write() of 0 bytes found the queue idle: vb2 starts its emulator there (func-write.rst says
    /// nothing happens), so until that handle is closed or starts write() I/O itself, what the queue shows rests on VB2-WRITE-4.</summary>
    public VideoFile? ZeroWriter;
    /// <summary>poll() reported POLLOUT while every buffer of the write() emulator may have been queued: a buffer is free or done,
    /// so the next write() at a frame boundary takes data (no EAGAIN: VB2-POLL-5). Cleared by that write().</summary>
    public bool WriteReady;
    /// <summary>The read() emulator's frame size (its buffers' length, set when it started) and the format rule it rests on.</summary>
    public long FileIoSize;
    public string? FileIoSizedBy;
    /// <summary>The rule whose observation made the leading buffers known done, when it was a poll() (VB2-POLL-2, VB2-POLL-4):
    /// null when they were seen done directly (QUERYBUF, DQBUF, a request's completion).</summary>
    public string? DoneInferredBy;
    // what the sequence has shown of the driver's minimum buffer count m (REQBUFS grants max(count, m)): m is in [MinLo, MinHi]
    public int MinLo = 1, MinHi = p.MaxBuffers;
    // and of how many buffers STREAMON needs allocated (vb2's min_queued_buffers, the driver's choice): t is in [StartLo, StartHi]
    public int StartLo = 1, StartHi = 1 + p.MaxBuffers;
    // and of the most buffers one allocation call grants (a driver may grant fewer when it runs out of memory): k is in [CapLo, CapHi]
    public int CapLo = 1, CapHi = p.MaxBuffers;
    /// <summary>Whether the driver requires every QBUF to name a request (vb2's requires_requests, which no query reports):
    /// null until a QBUF without one shows it, then fixed. Only a queue reporting V4L2_BUF_CAP_SUPPORTS_REQUESTS may.</summary>
    public bool? RequiresRequests;
    /// <summary>read() I/O holds the queue (vb2's file I/O emulator): streaming ioctls are refused with EBUSY (VB2-READ-2).</summary>
    public bool FileIo;
    /// <summary>How many buffers the emulator allocated (min_reqbufs_allocation, the driver's choice, never reported by read()):
    /// what QUERYBUF, EXPBUF and CREATE_BUFS(0) have shown puts it in [FileLo, FileHi].</summary>
    public int FileLo = 1, FileHi = VideoNodeProfile.VideoMaxFrame;
    /// <summary>The owner whose read() was refused because streaming I/O held the queue: it is still the owner (VB2-READ-3).</summary>
    public VideoFile? ReadRefusedOwner;
    /// <summary>Another handle was closed after the owner's refused read(): a vb2 that dropped the owner then (the known issue
    /// vb2-read-drops-owner) released the queue with that close (_vb2_fop_release frees an unowned queue), so whatever the
    /// queue shows from here rests on VB2-READ-3.</summary>
    public bool OwnerAtStake;
    /// <summary>vb2's uses_requests and uses_qbuf: how buffers were queued since the queue was last reset (request-api.rst: the
    /// first way locks the other out until STREAMOFF or close; vb2 resets them in __vb2_queue_cancel).</summary>
    public bool UsesRequests, UsesQbuf;
    /// <summary>vb2's waiting_for_buffers: a capture queue that has had no QBUF since its buffers were allocated or it was
    /// stopped; poll() then sets POLLERR even while it streams (func-poll.rst).</summary>
    public bool WaitingForBuffers;
    /// <summary>Mem2mem: the other queue of the same context (a job takes one buffer from each).</summary>
    public VideoQueue? Peer;
    /// <summary>Mem2mem: jobs that may have completed, unobserved, before the peer's STREAMOFF returned its buffers: each
    /// lets one more of this queue's queued buffers be found done without a peer buffer.</summary>
    public int Budget;
    /// <summary>The rule that kept <see cref="Budget"/> below what was queued (VB2-DRAIN-5: OUTPUT buffers the encoder held), or
    /// null: a buffer found done beyond it rests on that rule.</summary>
    public string? BudgetBy;
}

internal enum RequestState { Idle, Queued, Complete }

/// <summary>A media request (MEDIA_IOC_REQUEST_ALLOC): its state and the buffers bound to it, in the order they were queued to it.
/// A bound buffer keeps the request alive after its fd is closed (vb2 holds vb->request).</summary>
internal sealed class RequestFile(string media) : OFile
{
    public readonly string Media = media;
    public RequestState State;
    /// <summary>The rule on which the request's completion was inferred (a poll that reported POLLPRI, a REINIT that succeeded
    /// while its buffers were still in flight): whether those buffers are done rests on it. Null otherwise.</summary>
    public string? CompletedBy;
    /// <summary>The rule by which a queue reset took buffers out of the request while it was not queued (VB2-REQ-6 for
    /// STREAMOFF and REQBUFS, VB2-OWN-9 for the owner's close): whether it still holds them rests on it. Null otherwise.</summary>
    public string? EmptiedBy;
    public readonly List<(VideoQueue Q, VideoBuffer B)> Bufs = new();
}

internal sealed class Mapping(int id, MapKind kind, Seg[] segs, long baseOff, long length, int prot, OFile? file)
{
    public readonly int Id = id;
    public readonly MapKind Kind = kind;
    public readonly Seg[] Segs = segs;
    public readonly long Base = baseOff;
    public readonly long Length = length;
    public readonly int Prot = prot;
    public readonly OFile? File = file;
    public VideoBuffer? VBuf;                   // video mapping: the buffer whose MAPPED count it holds
    public bool Pfnmap;                         // VM_PFNMAP / VM_IO (not usable as USERPTR)
    /// <summary>Per offset this mapping read, the word its memory held then: a later read of the same offset while the word
    /// is still that one (nothing wrote it since) reads where the first did, so where the mapping lands (DMABUF-MMAP-5) is
    /// no longer what decides it.</summary>
    public SmallMap<long, Stamp> Seen;

    public bool Locate(long off, out Mem mem, out long memOff)
    {
        long o = Base + off;
        foreach (var s in Segs)
        {
            if (o < s.Length) { mem = s.Mem; memOff = s.MemOffset + o; return true; }
            o -= s.Length;
        }
        mem = null!; memOff = 0;
        return false;
    }
}

/// <summary>What a VIDIOC_DQBUF from a file without O_NONBLOCK does (<see cref="ReferenceModel.DQBufWait"/>).</summary>
public enum BlockingDQBuf
{
    /// <summary>It fails or finds a done buffer without sleeping.</summary>
    ReturnsAtOnce,
    /// <summary>It sleeps until the device completes the oldest queued buffer, which it must.</summary>
    WaitsForBuffer,
    /// <summary>Nothing says a buffer will be done: it could sleep until STREAMOFF or a signal (never issued).</summary>
    MaySleepForever,
}

/// <summary>A read-only view of a video queue for generators (<see cref="ReferenceModel.ViewQueue"/>): memory type (0 = none),
/// buffers allocated, the lowest index neither queued nor in a request (null if none), streaming; on a stateful encoder's
/// CAPTURE queue, whether a drain is in progress and whether its LAST buffer was dequeued (on a codec's CAPTURE queue); on a
/// stateful decoder's CAPTURE queue, the stream resolution signalled last and the first one queued that differs from it
/// (<see cref="Bitstream.Resolutions"/> indices, null for none).</summary>
public readonly record struct QueueView(uint Memory, int Allocated, int? Idle, bool Streaming, bool Draining = false, bool LastDequeued = false,
    int? StreamRes = null, int? ChangeAhead = null);

