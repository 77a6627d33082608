using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

public sealed partial class ReferenceModel
{
    private const uint FlagMask = V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_DONE;

    private bool TryVideo(int fd, out VideoFile v, out Outcome error)
    {
        error = default;
        if (!TryFile(fd, out var f)) { v = null!; error = Cite(Inv.DmaBufBadFd, Errno.EBADF); return false; }
        if (f is VideoFile vf)
        {
            v = vf;
            AttributeQueueState(vf);
            return true;
        }
        v = null!;
        error = Outcome.Fail(Errno.ENOTTY);
        return false;
    }

    /// <summary>What any handle sees of v's queue rests, until something is allocated again, on the close that released it
    /// (VB2-OWN-9), on a read() refused to its owner (VB2-READ-1), and on a read() or write() refused for its planes
    /// (VB2-READ-5: it must have left nothing behind).</summary>
    private void AttributeQueueState(VideoFile v)
    {
        if (v.Q.ReleasedOnClose) _decidedBy = Inv.OwnClose;
        if (v.Q.OwnerAtStake && v.Q.ReadRefusedOwner == v.Q.Owner) _decidedBy = Inv.ReadAfterStreaming;
        if (v.Q.ZeroWriter != null) _decidedBy = Inv.WriteZero;
        if (v.Q.PlanesRefused) _decidedBy = Inv.FileIoPlanes;
    }

    /// <summary>The rule the file I/O emulator holding q refuses streaming I/O by: VB2-WRITE-2 for write(), VB2-READ-2 for read().</summary>
    private static string FileIoRule(VideoQueue q) => q.FileIoWrite ? Inv.WriteBusy : Inv.ReadBusy;

    /// <summary>
    /// The queue a buffer type reaches through v. With more than one mem2mem context open, what a handle sees of its own
    /// queues shows they are its own (VB2-M2M-1); while its queue is still untouched and another context's is not, any
    /// difference the target shows rests on that rule.
    /// </summary>
    private VideoQueue QueueOf(VideoFile v, uint type)
    {
        var q = v.QueueFor(type);
        if (v.Out == null || _openContexts < 2) return q;
        Cite(Inv.M2mContext);
        if (q.NumBufs == 0 && !q.Streaming && OtherContextInUse(v))
            _decidedBy = Inv.M2mContext;
        return q;
    }

    /// <summary>Whether a mem2mem context other than <paramref name="v"/>'s has a queue with buffers or streaming. (A loop: a
    /// lambda over v in <see cref="QueueOf"/> was a closure allocated at each of its calls, whether it was asked or not.)</summary>
    private bool OtherContextInUse(VideoFile v)
    {
        foreach (var c in _contexts)
            if (c != v && (InUse(c.Q) || c.Out is { } o && InUse(o))) return true;
        return false;

        static bool InUse(VideoQueue q) => q.NumBufs > 0 || q.Streaming;
    }

    /// <summary>Another file handle owns the queue (never on a mem2mem node: each context's queues are its handle's own). When the
    /// owner is one whose read() was refused and the target lets this handle through, the difference rests on VB2-READ-3 (a
    /// refused read() keeps the ownership); <paramref name="refuses"/> says the caller refuses the op when busy.</summary>
    private bool IsBusy(VideoFile v, VideoQueue q, bool refuses = true)
    {
        bool busy = q.Peer == null && q.Owner != null && q.Owner != v;
        if (busy && refuses && q.ReadRefusedOwner == q.Owner && _hasActual && _actual.Errno != Errno.EBUSY) _decidedBy = Inv.ReadAfterStreaming;
        return busy;
    }

    /// <summary>
    /// How many more of q's queued buffers, oldest first, may be found done now. A plain queue: every one, while streaming. A
    /// mem2mem queue: every one while both queues of its context stream (dev-mem2mem.rst: the hardware starts once both are
    /// streaming; how many CAPTURE buffers a job fills per OUTPUT buffer is the driver's own, vim2m one, a deinterlacer two);
    /// once the other queue stopped, only those that may have been processed before its STREAMOFF (<see cref="VideoQueue.Budget"/>).
    /// A decoder's OUTPUT queue: every one while it streams, since a decoder consumes bitstream buffers to find the stream's
    /// headers before its CAPTURE queue is set up (dev-decoder.rst, Initialization, steps 3-4).
    /// </summary>
    private int CanComplete(VideoQueue q)
    {
        int mine = q.Streaming ? q.QueuedOrder.Count - q.KnownDone : 0;
        // a codec that has stopped after its drain runs no job (v4l2_m2m_try_schedule: has_stopped) until START
        if (DrainCapture(q) && q.Drain == CodecDrain.Stopped) return 0;
        // during and after its drain, a codec processes only the OUTPUT buffers queued before the STOP: those queued after
        // it wait for START or a STREAMOFF (VB2-DRAIN-5, VB2-DEC-8)
        if (HoldsNewOutput(q) && !(!_hasActual && Broken(ModelBug.DrainProcessesLate)))
        {
            int before = 0;
            for (int i = q.KnownDone; i < q.QueuedOrder.Count && q.Bufs[q.QueuedOrder[i]] is { AfterStop: false }; i++) before++;
            if (before < mine) { var hold = Ids(q).Hold; Cite(hold); _decidedBy = hold; mine = before; }   // what is not done rests on it
        }
        if (q.Peer == null || Broken(ModelBug.M2mOutputUnprocessed) && q.P.IsOutput || q.Peer.Streaming) return mine;
        if (q.P.IsOutput && q.P.Codec == CodecKind.Decoder) return mine;   // a decoder parses its bitstream before CAPTURE streams
        if (q.Budget < mine && q.BudgetBy is { } by) _decidedBy = by;
        return Math.Min(mine, q.Budget);
    }

    /// <summary>k more of q's queued buffers are done; on a mem2mem queue whose other queue has stopped, each was processed
    /// before that STREAMOFF.</summary>
    private void Complete(VideoQueue q, int k, string? inferredBy = null)
    {
        q.KnownDone += k;
        q.DoneInferredBy = inferredBy;
        if (q.Peer is { Streaming: false } && !(Broken(ModelBug.M2mOutputUnprocessed) && q.P.IsOutput)) q.Budget = Math.Max(0, q.Budget - k);
    }

    /// <summary>A buffer known done because poll() said one was: what QUERYBUF or DQBUF then shows of it rests on the poll rule
    /// that inferred it.</summary>
    private void DoneDecides(VideoQueue q)
    {
        if (q.KnownDone > 0 && q.DoneInferredBy is { } by) _decidedBy = by;
    }

    private bool ValidMemory(VideoQueue q, uint memory) =>
        memory is V4L2_MEMORY_MMAP or V4L2_MEMORY_USERPTR or V4L2_MEMORY_DMABUF && q.P.SupportsMemory(memory);

    private uint Caps(VideoQueue q) => q.P.Capabilities;

    /// <summary>Frees buffers [start, start+count): mapped or exported memory is orphaned, not freed.</summary>
    private void FreeBuffers(VideoQueue q, int start, int count, bool dropExported = false)
    {
        for (int i = start; i < start + count; i++)
        {
            var b = q.Bufs[i];
            if (b == null) continue;
            DeviceReturns(b);
            b.Freed = true;
            foreach (var p in b.Planes)
            {
                if (p.Mem != null)
                {
                    p.Mem.Orphaned = true;
                    if (dropExported && b.MapUsers > 0)
                    {
                        p.Mem.DeviceWrote();   // the bug: memory reused (zeroed) while still mapped or exported
                        p.Mem.Initial = 0;
                    }
                }
                if (p.Imported != null) { var d = p.Imported; p.Imported = null; Put(d); }
            }
            q.Bufs[i] = null;
            q.NumBufs--;
        }
        q.QueuedOrder.RemoveAll(i => q.Bufs[i] == null);
        q.KnownDone = Math.Min(q.KnownDone, q.QueuedOrder.Count);
        if (q.NumBufs == 0) q.Memory = 0;
    }

    private void QueueRelease(VideoQueue q)
    {
        if (q.Owner != null || q.NumBufs > 0) { Cite(Inv.OwnClose); q.ReleasedOnClose = true; }
        StopStreaming(q, Inv.OwnClose);
        FreeBuffers(q, 0, q.Bufs.Length);
        q.Owner = null;
        if (q.FileIo) Cite(FileIoRule(q));   // __vb2_cleanup_fileio: the emulator's buffers go with it
        q.FileIo = false;
        q.FileIoWrite = false;
        q.WriteTaken = 0;
        q.WriteStuck = false;
        q.WriteReady = false;
        q.ReadRefusedOwner = null;
        q.OwnerAtStake = false;
        q.Memory = 0;
        q.FmtBusy = false;
    }

    /// <summary>__vb2_queue_cancel: streaming stops, every buffer is dequeued and unprepared and leaves its request;
    /// <paramref name="emptiedBy"/> is the rule under which that reset happened (a close's: VB2-OWN-9), for attribution.</summary>
    private static void StopStreaming(VideoQueue q, string? emptiedBy = null)
    {
        // whether vb2 had called start_streaming (queued_count reached min_queued_buffers, which is at most StartHi): only
        // then does it call the driver's stop_streaming now
        bool started = q.Streaming && q.PeakQueued >= q.StartHi, wasStreaming = q.Streaming;
        q.Streaming = false;
        q.PeakQueued = 0;
        foreach (var b in q.Bufs) if (b != null) b.Prepared = b.PreparedInRequest = false;   // __vb2_queue_cancel: every buffer, queued or not
        foreach (var i in q.QueuedOrder) if (q.Bufs[i] is { } b) { DeviceReturns(b); b.Queued = false; }
        q.QueuedOrder.Clear();
        q.KnownDone = 0;
        q.DoneInferredBy = null;
        UnbindRequests(q, emptiedBy);
        DrainOnStop(q, started);
        DecoderOnStop(q, wasStreaming);
    }

    /// <summary>Where __vb2_queue_alloc puts n new buffers: the first free run of indices long enough, shrinking n until one
    /// fits. Returns the first index and how many fit.</summary>
    private static (int First, int Count) FirstFit(VideoQueue q, int n)
    {
        n = Math.Min(n, q.P.MaxBuffers - q.NumBufs);
        for (; n > 0; n--)
            for (int s = 0; s + n <= q.P.MaxBuffers; s++)
            {
                bool free = true;
                for (int i = s; i < s + n && free; i++) free = q.Bufs[i] == null;
                if (free) return (s, n);
            }
        return (0, 0);
    }

    /// <summary>Allocates up to n buffers of sizes.Count planes each (sizes in bytes, per plane).</summary>
    private int Allocate(VideoQueue q, uint memory, int n, IReadOnlyList<long> sizes, out int first)
    {
        // first free contiguous range, shrinking the request until one fits (__vb2_queue_alloc)
        (first, n) = FirstFit(q, n);
        if (n == 0) return 0;
        for (int i = first; i < first + n; i++)
        {
            var planes = new VideoPlane[sizes.Count];
            for (int p = 0; p < planes.Length; p++)
                planes[p] = new VideoPlane(sizes[p], memory == V4L2_MEMORY_MMAP ? new Mem(PageAlign(sizes[p]), null) : null);
            q.Bufs[i] = new VideoBuffer(i, planes) { SizedBy = q.SizesAtStake };
        }
        q.NumBufs += n;
        q.Memory = memory;
        return n;
    }

    public Outcome ReqBufs(int fd, uint type, uint memory, uint count)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        if (type != q.P.BufType) return Cite(Inv.ReqBufsBadType, Errno.EINVAL);
        uint caps = Caps(q);
        Cite(Inv.ReqBufsCaps);
        if (!ValidMemory(q, memory)) return Cite(Inv.ReqBufsBadMemory, new Outcome(Errno.EINVAL));
        if (q.FileIo) return Cite(FileIoRule(q), new Outcome(Errno.EBUSY));   // vb2_verify_memory_type, before the owner check
        if (IsBusy(v, q) && !Broken(ModelBug.NonOwnerReqBufs)) return Cite(Inv.OwnReqBufs, new Outcome(Errno.EBUSY));
        if (q.Streaming) return Cite(Inv.ReqBufsStreaming, new Outcome(Errno.EBUSY));
        if (q.NumBufs > 0 && !q.P.Has(V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS)
            && q.AnyBuffer(static b => b.MapUsers > 0))
            return Cite(Inv.ReqBufsBusyMapped, new Outcome(Errno.EBUSY));
        // vb2_core_reqbufs cancels the queue before it frees or allocates (__vb2_queue_cancel): requests lose its buffers
        if (count == 0 || q.NumBufs > 0)
        {
            if (q.UsesRequests || q.UsesQbuf || q.AnyBuffer(static x => x.Request != null)) Cite(Inv.RequestMixing);
            StopStreaming(q);
        }
        if (q.NumBufs > 0)
        {
            if (q.P.Has(V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS) && q.AnyBuffer(static b => b.MapUsers > 0)) Cite(Inv.ReqBufsOrphan);
            if (count > 0 && memory != q.Memory) Cite(Inv.ReqBufsSwitch);
            FreeBuffers(q, 0, q.Bufs.Length, dropExported: Broken(ModelBug.ReqBufs0FreesMapped) && count == 0);
        }
        q.FmtBusy = false;   // vb2_core_reqbufs clears is_busy whenever it frees (and always for count 0)
        if (count == 0)
        {
            if (q.Owner == v) Cite(Inv.OwnRelease);
            q.Owner = null;
            Cite(Inv.ReqBufsFree);
            if (q.ReleasedOnClose) Cite(Inv.OwnClose);   // unowned and empty because the owner's close released it
            return Outcome.Success(0, caps);
        }
        q.ReleasedOnClose = q.PlanesRefused = false;
        q.WaitingForBuffers = !q.P.IsOutput;   // vb2_core_reqbufs
        int got = Allocate(q, memory, GrantedCount(q, (int)Math.Min(count, (uint)q.P.MaxBuffers), caps), q.PlaneSizes, out _);
        q.FmtBusy = got > 0;
        q.Owner = v;
        return Cite(Inv.ReqBufsCount, Outcome.Success(got, caps));
    }

    /// <summary>The end of a QBUF that got this far: the buffer is queued; of a PREPARE_BUF (<paramref name="prepare"/>): it is
    /// prepared, still dequeued.</summary>
    private Outcome Enqueue(VideoQueue q, VideoBuffer b, uint index, bool prepare)
    {
        // the bug (as a target): PREPARE_BUF queues the buffer as QBUF would
        if (prepare && !(!_hasActual && Broken(ModelBug.PrepareQueues))) { b.Prepared = true; return Cite(Inv.PrepareBuf, Outcome.Success()); }
        Queue(q, b, index);
        return Cite(Inv.QBufOk, Outcome.Success());
    }

    /// <summary>
    /// vb2_queue_or_prepare_buf, after the buffer's fields are checked and before vb2_core_qbuf: a QBUF without
    /// V4L2_BUF_FLAG_REQUEST_FD fails with EBADR when the device requires requests (vidioc-qbuf.rst, EBADR). Only a queue
    /// reporting V4L2_BUF_CAP_SUPPORTS_REQUESTS may; no query says whether it does, so the first QBUF that reaches this
    /// check shows it and every later one in the sequence must agree. (The suite queues no requests yet.)
    /// </summary>
    private bool RefusesWithoutRequest(VideoQueue q)
    {
        Cite(Inv.RequestRequired);
        if (!q.P.Has(V4L2_BUF_CAP_SUPPORTS_REQUESTS))
        {
            if (_hasActual && _actual.Errno == Errno.EBADR) _decidedBy = Inv.RequestRequired;   // refused as if requests were required
            return false;
        }
        // the bug (as a target): a queue that took a QBUF without a request refuses every later one
        if (q.RequiresRequests is { } known)
        {
            if (!known && _hasActual && _actual.Errno == Errno.EBADR) _decidedBy = Inv.RequestRequired;   // the queue changed its mind
            return known || !_hasActual && Broken(ModelBug.RequestsRequiredLater);
        }
        bool refuses = _hasActual ? _actual.Errno == Errno.EBADR : q.P.ModelRequiresRequests;
        if (refuses) AllowedSet = "EBADR or the QBUF going on (whether the device requires requests is its choice, the same for every QBUF of the queue)";
        q.RequiresRequests = refuses;
        return refuses;
    }

    /// <summary>
    /// How many buffers REQBUFS(n) grants: n, or more when the driver requires more to function (vidioc-reqbufs.rst),
    /// i.e. max(n, m) for one minimum m of the driver's choosing in [1, max_num_buffers]. The documentation does not let
    /// the suite know m in advance, so the first grant that shows it fixes it, and every later grant in the sequence
    /// must agree (a driver's minimum does not drift); as a target the model requires its profile's minimum.
    /// </summary>
    private int GrantedCount(VideoQueue q, int n, uint caps)
    {
        int Grant(int m) => Math.Min(Math.Max(n, m), q.P.MaxBuffers);
        // a driver may also grant fewer when it runs out of memory: the most one call grants, k, is in [CapLo, CapHi]
        int lo = Math.Min(Grant(q.MinLo), q.CapLo), hi = Math.Min(Grant(q.MinHi), q.CapHi), c = lo;
        if (!_hasActual) c = Math.Min(Grant(Math.Clamp(q.P.ModelMinBuffers, q.MinLo, q.MinHi)), q.P.ModelAllocationCap ?? q.P.MaxBuffers);
        else if (hi > lo)
        {
            var allowed = Enumerable.Range(lo, hi - lo + 1).Select(k => Outcome.Success(k, caps)).ToArray();
            c = lo + Choose($"{lo} to {hi} (the request, or more when the driver requires more buffers, or fewer when it runs out of memory; " +
                "its minimum and the most it grants are the same on every call)", allowed);
        }
        // what this grant shows of the minimum and of the most one call grants
        if (c < Math.Min(Grant(q.MinLo), q.CapHi)) { q.CapLo = q.CapHi = c; return c; }
        q.CapLo = Math.Max(q.CapLo, c);
        if (c > n && c < q.P.MaxBuffers) q.MinLo = q.MinHi = c;
        else if (c > n) q.MinLo = Math.Max(q.MinLo, c);
        else if (n < q.P.MaxBuffers) q.MinHi = Math.Min(q.MinHi, n);
        return c;
    }

    public Outcome CreateBufs(int fd, uint type, uint memory, uint count, long sizeDelta, PlaneLayout layout = PlaneLayout.Format)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        if (type != q.P.BufType) return Cite(Inv.BufType, Errno.EINVAL);
        uint caps = q.P.CreateCapabilities;
        bool memOk = ValidMemory(q, memory);
        if (q.FileIo && memOk)
        {
            // vb2_verify_memory_type's EBUSY; with count 0 vb2_ioctl_create_bufs maps it to 0 and reports the emulator's count
            if (count != 0) return Cite(FileIoRule(q), Errno.EBUSY);
            Cite(FileIoRule(q));
            return Outcome.Success(FileIoCount(q), 0, caps);
        }
        if (count == 0)
        {
            if (!memOk) return Cite(Inv.ReqBufsBadMemory, new Outcome(Errno.EINVAL));
            if (IsBusy(v, q, refuses: false)) Cite(Inv.OwnCreate0);
            Cite(Inv.Create0);
            if (q.ReleasedOnClose) Cite(Inv.OwnClose);   // no buffers because the owner's close released them
            return Outcome.Success(q.NumBufs, 0, caps);
        }
        if (!memOk) return Cite(Inv.ReqBufsBadMemory, new Outcome(Errno.EINVAL));
        if (IsBusy(v, q)) return Cite(Inv.OwnCreate, new Outcome(Errno.EBUSY));
        // each plane's size from the format, adjusted; a multi-planar format may also be given the wrong planes
        var sizes = q.PlaneSizes.Select(x => x + sizeDelta).ToList();
        if (q.P.MultiPlanar)
        {
            switch (layout)
            {
                case PlaneLayout.FewerPlanes: sizes.RemoveAt(sizes.Count - 1); break;
                case PlaneLayout.MorePlanes: sizes.Add(sizes[^1]); break;
                case PlaneLayout.LastPlaneZero: sizes[^1] = 0; break;
            }
            // vb2_create_bufs itself, before the queue is looked at
            if (sizes.Count == 0 || sizes.Count > VIDEO_MAX_PLANES || sizes.Any(x => x == 0)) return Cite(Inv.MplaneCreate, Errno.EINVAL);
        }
        if (q.NumBufs == q.P.MaxBuffers) return Cite(Inv.CreateFull, new Outcome(Errno.ENOBUFS));
        if (q.NumBufs > 0 && q.Memory != memory) return Cite(Inv.CreateMemory, new Outcome(Errno.EINVAL));
        // the driver's queue_setup: a format has its own number of planes, each at least its sizeimage
        if (sizes.Count != q.P.NumPlanes) return Cite(Inv.MplaneCreate, Errno.EINVAL);
        for (int p = 0; p < sizes.Count; p++)
            if (sizes[p] <= 0 || sizes[p] < q.PlaneSizes[p]) return Cite(Inv.CreateSize, new Outcome(Errno.EINVAL));
        int asked = (int)Math.Min(count, (uint)(q.P.MaxBuffers - q.NumBufs)), want = asked;
        if (_hasActual && Relaxed.Contains(Inv.CreateAppend) && _actual.Ok && _actual.R1 > want && _actual.R1 <= q.P.MaxBuffers - q.NumBufs)
            want = (int)_actual.R1;   // already reported: follow the count the target created
        // fewer when the driver runs out of memory: at most the most one call grants, the same on every call
        int few = Math.Min(want, q.CapLo), many = Math.Min(want, q.CapHi);
        if (!_hasActual) want = Math.Min(want, q.P.ModelAllocationCap ?? want);
        else if (many > few)
            want = few + Choose($"{few} to {many} (the request, or fewer when the driver runs out of memory; the most it grants is the same on every call)",
                Enumerable.Range(few, many - few + 1).Select(k => FirstFit(q, k) is var (at, got) ? Outcome.Success(at, got, caps) : default).ToArray());
        else want = few;
        // vb2 asks the driver first (queue_setup may grant fewer), then gives the largest run of free indices that holds
        // what was granted (__vb2_queue_alloc): a count the free run bounds shows nothing of the driver's memory, only that it
        // granted at least that many
        int fit = FirstFit(q, asked).Count;
        if (want < Math.Min(fit, q.CapHi)) q.CapLo = q.CapHi = want;
        else q.CapLo = Math.Max(q.CapLo, Math.Min(want, fit));
        if (q.NumBufs == 0) q.WaitingForBuffers = !q.P.IsOutput;   // vb2_core_create_bufs, first allocation
        int got = Allocate(q, memory, want, sizes, out int first);
        if (q.P.MultiPlanar) Cite(Inv.MplaneCreate);
        if (got == 0) return new Outcome(Errno.ENOMEM);
        q.FmtBusy = true;
        if (first < q.NumBufs - got) Cite(Inv.RemoveOrphan);   // a hole left by REMOVE_BUFS was reused
        q.Owner = v;
        q.ReleasedOnClose = q.PlanesRefused = false;
        return Cite(Inv.CreateAppend, Outcome.Success(first, got, caps));
    }

    private VideoBuffer? Buffer(VideoQueue q, uint index) => index < q.Bufs.Length ? q.Bufs[index] : null;

    private Outcome QueryBufCore(int fd, uint type, uint index, uint plane)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        if (type != q.P.BufType) return Cite(Inv.QueryBufType, Errno.EINVAL);
        if (q.FileIo) return FileIoQueryBuf(q, index, plane);
        if (Buffer(q, index) is not { } b) return Cite(Inv.QueryBufIndex, Errno.EINVAL);
        if (IsBusy(v, q, refuses: false)) Cite(Inv.OwnQueryBuf);
        uint flags = 0;
        if (q.Memory == V4L2_MEMORY_MMAP && b.MapUsers > 0) flags |= V4L2_BUF_FLAG_MAPPED;
        if (q.Memory == V4L2_MEMORY_MMAP) Cite(Inv.QueryBufMapped);
        if (b.Prepared && !b.Queued) { flags |= V4L2_BUF_FLAG_PREPARED; _decidedBy = Inv.PrepareBuf; }   // __fill_v4l2_buffer: dequeued and prepared
        if (b.InRequest) flags |= V4L2_BUF_FLAG_IN_REQUEST;   // in a request not yet queued
        else if (b.Request != null) Cite(Inv.RequestHolds);   // queued with its request
        RequestDecides(b);
        Cite(Inv.QueryBufFields);
        // the length read: the buffer's (single-planar), or the plane's, -1 when the buffer has no such plane
        long length = plane < b.Planes.Length ? b.Planes[plane].Length : -1;
        if (b.SizedBy is Inv.FmtAlloc or Inv.DecStreamFormat) Cite(b.SizedBy);   // a length after a format change is the new format's
        // a refused QBUF or PREPARE_BUF touched this buffer while it waited in a request: the length it reports rests on
        // VB2-REQ-10 (vb2 keeps the refused call's fields: known issue vb2-refused-qbuf-rewrites-request)
        if (b.RefusedWhileInRequest) _decidedBy = Inv.RequestKeepsFields;
        if (q.P.MultiPlanar) Cite(Inv.MplanePlanes);
        if (q.P.MultiPlanar && q.Memory == V4L2_MEMORY_DMABUF && length > 0 && b.Planes[plane].Imported != null) Cite(Inv.MplaneDmabuf);
        if (b.Queued)
        {
            int pos = q.QueuedOrder.IndexOf((int)index);
            // capture and output devices both complete buffers, a mem2mem device one job (a buffer of each queue) at a time
            bool mayBeDone = pos >= q.KnownDone && CanComplete(q) >= pos + 1 - q.KnownDone;
            if (q.Peer != null) Cite(Inv.M2mJob);
            if (pos < q.KnownDone) { flags |= V4L2_BUF_FLAG_DONE; DoneDecides(q); }
            else if (mayBeDone)
            {
                var queued = Outcome.Success(length, flags | V4L2_BUF_FLAG_QUEUED, q.Memory);
                var done = Outcome.Success(length, flags | V4L2_BUF_FLAG_DONE, q.Memory);
                // the bug (as a target) returns an OUTPUT buffer at once, unprocessed
                bool atOnce = !_hasActual && Broken(ModelBug.M2mOutputUnprocessed) && q.P.IsOutput && q.Peer != null;
                if (atOnce || Choose("QUEUED or DONE (the device completes buffers on its own clock)", queued, done) == 1)
                    Complete(q, pos + 1 - q.KnownDone);
                else return queued;
                flags |= V4L2_BUF_FLAG_DONE;
            }
            else flags |= V4L2_BUF_FLAG_QUEUED;
        }
        return Outcome.Success(length, flags, q.Memory);
    }

    public Outcome ExpBuf(int fd, uint type, uint index, uint plane, uint flags)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        if (IsBusy(v, q) && !Broken(ModelBug.NonOwnerExpBuf)) return Cite(Inv.OwnExpBuf, Errno.EBUSY);
        if (q.FileIo)
        {
            // vb2_expbuf looks the buffer up first; vb2_core_expbuf checks the rest before the file-I/O check
            bool rest = (flags & ~(uint)(O_CLOEXEC | O_ACCMODE)) == 0 && type == q.P.BufType && plane == 0;
            if (!FileIoHas(q, index, narrow: rest)) return Cite(Inv.ExpBufIndex, Errno.EINVAL);
            if (!rest) return Cite(Inv.ExpBufFlags, Errno.EINVAL);
            return Cite(FileIoRule(q), Errno.EBUSY);
        }
        if (Buffer(q, index) is not { } b) return Cite(Inv.ExpBufIndex, Errno.EINVAL);
        if (q.Memory != V4L2_MEMORY_MMAP) return Cite(Inv.ExpBufMemory, Errno.EINVAL);
        if ((flags & ~(uint)(O_CLOEXEC | O_ACCMODE)) != 0) return Cite(Inv.ExpBufFlags, Errno.EINVAL);
        if (type != q.P.BufType) return Cite(Inv.BufType, Errno.EINVAL);
        if (plane >= b.Planes.Length)
        {
            if (q.P.MultiPlanar) Cite(Inv.MplaneExpBuf);
            return Cite(Inv.ExpBufIndex, Errno.EINVAL);
        }
        // the bug: plane p exported as the plane after it
        var pl = b.Planes[Broken(ModelBug.ExpBufWrongPlane) ? (plane + 1) % (uint)b.Planes.Length : plane];
        var mem = pl.Mem!;
        if (Broken(ModelBug.ExpBufCopiesMemory)) mem = new Mem(mem.Size, mem.Initial);
        if (q.P.MultiPlanar) Cite(Inv.MplaneExpBuf);
        var d = NewDmaBuf(Exporter.Vb2, [new Seg(mem, 0, mem.Size)], PageAlign(pl.Length), (int)(flags & O_ACCMODE));
        d.From = b;
        d.FromPlane = q.P.MultiPlanar;
        b.MapUsers++;
        bool cloexec = (flags & O_CLOEXEC) != 0 && !Broken(ModelBug.ExpBufDropsCloexec);
        return Cite(Inv.ExpBufOk, Outcome.Created(Install(d, cloexec)));
    }

    private Outcome MmapVideoCore(int fd, uint type, uint index, uint plane, long length, int prot, int flags)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        if (length == 0) return Cite(Inv.MmapZeroLen, Errno.EINVAL);
        if (q.FileIo)
        {
            // vb2_mmap: VM_SHARED and the direction's protection first, then __find_plane_by_offset's file-I/O check
            if ((flags & MAP_SHARED) == 0) return Cite(Inv.VMmapPrivate, Errno.EINVAL);
            if ((prot & (q.P.IsOutput ? PROT_WRITE : PROT_READ)) == 0) return Outcome.Fail(Errno.EINVAL);
            return Cite(FileIoRule(q), Errno.EBUSY);
        }
        if (q.Memory != V4L2_MEMORY_MMAP) return Cite(Inv.VMmapNoBuffer, Errno.EINVAL);
        if ((flags & MAP_SHARED) == 0) return Cite(Inv.VMmapPrivate, Errno.EINVAL);
        if ((prot & (q.P.IsOutput ? PROT_WRITE : PROT_READ)) == 0) return Outcome.Fail(Errno.EINVAL);
        var b = Buffer(q, index);
        if (b == null || plane >= b.Planes.Length)
        {
            if (q.P.MultiPlanar && b != null) Cite(Inv.MplaneMmap);
            return Cite(Inv.VMmapNoBuffer, Errno.EINVAL);
        }
        var pl = b.Planes[plane];
        if (length > PageAlign(pl.Length))
        {
            if (q.P.MultiPlanar) Cite(Inv.MplaneMmap);
            return Cite(Inv.VMmapLength, Errno.EINVAL);
        }
        if (IsBusy(v, q, refuses: false)) Cite(Inv.OwnMmap);
        if (q.P.MultiPlanar) Cite(Inv.MplaneMmap);
        var m = new Mapping(_nextMap++, MapKind.Video, [new Seg(pl.Mem!, 0, pl.Mem!.Size)], 0, length, prot, v) { VBuf = b };
        b.MapUsers++;
        Get(v);
        return Cite(Inv.VMmapOk, Outcome.Created(AddMap(m)));
    }

    /// <summary>A capture device may write any queued buffer's memory from now on, until the buffer comes back.</summary>
    private static void DeviceOwns(VideoQueue q, VideoBuffer b)
    {
        if (!q.Streaming || !q.P.DeviceWritesCaptureBuffers || b.DeviceHeld) return;
        b.DeviceHeld = true;
        foreach (var m in b.Memory()) { m.DeviceWrote(); m.DeviceUsers++; }
    }

    /// <summary>The buffer is back (dequeued, streaming stopped, freed): its memory holds what the device last wrote.</summary>
    private static void DeviceReturns(VideoBuffer b)
    {
        if (!b.DeviceHeld) return;
        b.DeviceHeld = false;
        foreach (var m in b.Memory()) { m.DeviceWrote(); m.DeviceUsers--; }
    }

    /// <summary>
    /// VIDIOC_QBUF, or with <paramref name="prepare"/> VIDIOC_PREPARE_BUF (vb2_prepare_buf and vb2_qbuf share
    /// vb2_queue_or_prepare_buf): PREPARE_BUF takes the buffer's memory as QBUF would and leaves it dequeued and PREPARED;
    /// a second PREPARE_BUF, or one of a queued buffer, is refused (EINVAL); QBUF of a prepared buffer queues it with what
    /// PREPARE_BUF took, without reading the memory fields again (VB2-PREPARE-1).
    /// </summary>
    /// <remarks><paramref name="fields"/> other than <see cref="PlaneFields.Format"/> (the op passes them only for a DMABUF buffer
    /// of an output queue, not in a request) sets each plane's bytesused and data_offset as <see cref="SentFields"/> says,
    /// and a call that succeeds reports what QUERYBUF then shows of plane 0 (<see cref="Reported"/>).</remarks>
    private Outcome QBufCore(int fd, uint type, uint index, uint memory, IReadOnlyList<int> planes, bool prepare, int? request, long bytesUsed,
        PlaneFields fields = PlaneFields.Format)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        if (request != null && v.Out != null && !q.P.IsOutput && QBufM2mCaptureInRequest(q, index) is { } refused) return refused;
        if (type != q.P.BufType) return Cite(Inv.BufType, Errno.EINVAL);
        if (IsBusy(v, q)) return Cite(Inv.OwnStreaming, Errno.EBUSY);
        if (q.FileIo) return Cite(FileIoRule(q), Errno.EBUSY);
        if (Buffer(q, index) is not { } b) return Cite(Inv.QBufBad, Errno.EINVAL);
        if (memory != q.Memory) return Cite(Inv.QBufBad, Errno.EINVAL);
        // an output buffer is queued with one frame: bytesused = sizeimage, or the coded frame's length where the step gives it
        long payload = q.P.IsOutput ? bytesUsed > 0 ? bytesUsed : q.SizeImage : 0;
        if (request is { } requestFd) return QBufInRequest(q, b, index, requestFd, memory, planes, payload);
        if (b.Prepared)
        {
            // vb2_queue_or_prepare_buf reads nothing more of a prepared buffer; vb2_core_prepare_buf refuses it again,
            // vb2_core_qbuf queues it (__buf_prepare returns at once)
            // what this QBUF finds rests on PREPARE_BUF having left the buffer dequeued; a buffer its queued request prepared is
            // refused by the request rules below
            _decidedBy = b.PreparedInRequest ? null : Inv.PrepareBuf;
            if (prepare) return Cite(Inv.PrepareBuf, Errno.EINVAL);
            if (RefusesWithoutRequest(q)) return Cite(Inv.RequestRequired, Errno.EBADR);
            if (RefusesDirectQBuf(q)) return Cite(Inv.RequestMixing, Errno.EBUSY);
            if (b.Queued) return Cite(Inv.QBufTwice, Errno.EINVAL);
            return Reported(b, fields, Enqueue(q, b, index, prepare: false));
        }
        // the order of vb2's checks decides what a refused QBUF leaves behind (spec/notes/vb2-failed-prepare.md):
        // refusals before __buf_prepare change nothing; inside the memory's prepare they release what the buffer held
        // vb2 has copied this call's fields by now (vb2_fill_vb2_v4l2_buffer); a buffer waiting in a request refuses the call
        // below, and must keep the fields its request's QBUF gave it (VB2-REQ-10)
        if (b.InRequest) b.RefusedWhileInRequest = true;
        if (!prepare && b.InRequest && !(!_hasActual && Broken(ModelBug.RefusedQbufRewrites))) Cite(Inv.RequestKeepsFields);
        // the bug (as a target): the refused call's memory replaces what the request's QBUF gave
        if (b.InRequest && b.Pending != null && !_hasActual && Broken(ModelBug.RefusedQbufRewrites) && memory == b.Pending.Memory)
            b.Pending = Note(memory, planes);
        var sent = SentFields(q, b, memory, planes, payload, bytesUsed, fields);
        if (!q.P.MultiPlanar && q.P.IsOutput) payload = sent[0].BytesUsed;
        if (VerifyLength(q, b, memory, planes, payload, fields == PlaneFields.Format ? null : sent) is { } tooLong) return tooLong;
        if (!prepare && RefusesWithoutRequest(q)) return Cite(Inv.RequestRequired, Errno.EBADR);
        if (!prepare && RefusesDirectQBuf(q)) return Cite(Inv.RequestMixing, Errno.EBUSY);
        if (b.Queued || prepare && b.InRequest) return prepare ? Cite(Inv.PrepareBuf, Errno.EINVAL) : Cite(Inv.QBufTwice, Errno.EINVAL);
        if (!q.P.MultiPlanar) b.Payload = payload;
        bool stale = StaleLength(q, b, memory, payload);
        // the bug (as a target, vb2 in 6.12's release candidates): a plane whose dma-buf and length are what it already holds is skipped,
        // and with it the copy of the call's bytesused and data_offset
        bool keeps = !_hasActual && Broken(ModelBug2.QBufKeepsFields) && SameMemory(b, memory, planes);
        if (TakeMemory(q, b, memory, planes) is { } refusal) return refusal;
        // __prepare_dmabuf (and __prepare_mmap, __prepare_userptr) copy the call's plane fields once the memory is taken
        if (q.P.IsOutput && !keeps)
            for (int p = 0; p < b.Planes.Length; p++) (b.Planes[p].BytesUsed, b.Planes[p].DataOffset) = sent[p];
        var queued = Enqueue(q, b, index, prepare);
        // single-planar output: vb2 bounds bytesused by the length it stored, 0 after a refusal, and refuses this QBUF
        // (known issue vb2-output-dmabuf-stored-length); the documented outcome is success
        return Reported(b, fields, stale ? Cite(Inv.DmabufOk, Outcome.Success()) : queued);
    }

    /// <summary>
    /// Each plane's bytesused and data_offset as the QBUF passes them (the kernel adapter's QBuf makes the same): on an output
    /// queue the frame (plane 0's <paramref name="bytesUsed"/> where the step gives one, else the plane's sizeimage; a
    /// single-planar queue's <paramref name="payload"/>) and data_offset 0, unless <paramref name="fields"/> says otherwise
    /// (<see cref="PlaneFields"/>, with L the plane's dma-buf size as fstat reports it, or the plane's sizeimage when it
    /// reports none). All 0 on a capture queue, where the driver sets them.
    /// </summary>
    private (long BytesUsed, long DataOffset)[] SentFields(VideoQueue q, VideoBuffer b, uint memory, IReadOnlyList<int> handles, long payload, long bytesUsed, PlaneFields fields)
    {
        var sent = new (long, long)[b.Planes.Length];
        if (!q.P.IsOutput) return sent;
        for (int p = 0; p < sent.Length; p++)
        {
            long s = !q.P.MultiPlanar ? payload : p == 0 && bytesUsed > 0 ? bytesUsed : p < q.PlaneSizes.Count ? q.PlaneSizes[p] : 0;
            long l = memory == V4L2_MEMORY_DMABUF && FstatSize(Handle(handles, p)) is > 0 and var size ? size : s;
            sent[p] = PlaneFieldValues.Of(fields, s, l);
        }
        return sent;
    }

    /// <summary>Whether every plane of this DMABUF QBUF names the dma-buf the plane already holds, at the same length (the
    /// dma-buf's size, the length the harness passes): __prepare_dmabuf then skips the plane ("already verified").</summary>
    private bool SameMemory(VideoBuffer b, uint memory, IReadOnlyList<int> handles) =>
        memory == V4L2_MEMORY_DMABUF && Enumerable.Range(0, b.Planes.Length).All(p =>
            TryFile(Handle(handles, p), out var f) && f is DmaBuf d && b.Planes[p].Imported == d && b.Planes[p].Length == d.Size);

    /// <summary>
    /// A QBUF with <paramref name="fields"/> that succeeded reports what the QUERYBUF after it shows of plane 0: R0 = its
    /// bytesused, R1 = its data_offset (buffer.rst: applications set both on an output stream; VB2-QBUF-4). Other outcomes
    /// pass unchanged.
    /// </summary>
    private Outcome Reported(VideoBuffer b, PlaneFields fields, Outcome o)
    {
        if (fields == PlaneFields.Format || !o.Ok) return o;
        var shown = o with { R0 = b.Planes[0].BytesUsed, R1 = b.Planes[0].DataOffset };
        // a target that refused the call departs from the rule that decided the QBUF (the stored length's, VB2-DMABUF-3,
        // where a single-planar payload is above it), not from what QUERYBUF would have shown
        if (_hasActual && !_actual.Ok) return shown;
        Cite(Inv.QBufFields);
        if (_hasActual && _actual.Ok && !shown.SameObservation(_actual)) _decidedBy = Inv.QBufFields;
        return shown;
    }

    /// <summary>Whether vb2 bounds this single-planar output DMABUF QBUF's payload by the length the buffer stored (0 after a
    /// refused import) rather than by the dma-buf it names: the known issue vb2-output-dmabuf-stored-length.</summary>
    private static bool StaleLength(VideoQueue q, VideoBuffer b, uint memory, long payload) =>
        !q.P.MultiPlanar && q.P.IsOutput && memory == V4L2_MEMORY_DMABUF && payload > b.Planes[0].Length;

    /// <summary>
    /// The lengths a QBUF passes, as vb2_fill_vb2_v4l2_buffer checks them before anything is touched (videobuf2-v4l2.c
    /// __verify_length): an output payload above the length passed is refused with EINVAL. The harness passes, per plane of a
    /// multi-planar queue, bytesused = the plane's sizeimage on an output queue and, for DMABUF, length = the fd's size as
    /// fstat reports it (the plane's sizeimage when fstat gives 0), for USERPTR the mapping's length; on a single-planar queue
    /// the USERPTR mapping's length. Null when the lengths pass; NotRun for memory the harness does not hand over.
    /// </summary>
    /// <remarks>With <paramref name="sent"/> (a step that sets the payload fields, <see cref="PlaneFields"/>), each plane's
    /// bytesused is held to the length passed and a data_offset other than 0 must lie below the payload (VB2-QBUF-4).</remarks>
    private Outcome? VerifyLength(VideoQueue q, VideoBuffer b, uint memory, IReadOnlyList<int> handles, long payload, (long BytesUsed, long DataOffset)[]? sent = null)
    {
        if (!q.P.MultiPlanar)
        {
            if (memory != V4L2_MEMORY_USERPTR) return null;
            if (HandedOver(Handle(handles, 0)) is not { } um) return Outcome.NotRun;
            return payload > um.Length ? Cite(Inv.QBufBad, Errno.EINVAL) : null;
        }
        int n = b.Planes.Length;
        if (memory == V4L2_MEMORY_MMAP) return null;
        if (handles.Count < n) return Outcome.NotRun;   // the generator gives every plane its memory
        for (int p = 0; p < n; p++)
        {
            long length = memory == V4L2_MEMORY_DMABUF ? FstatSize(handles[p]) is > 0 and var sz ? sz : q.PlaneSizes[p]
                : HandedOver(handles[p])?.Length ?? -1;
            if (length < 0) return Outcome.NotRun;
            if (sent != null && q.P.IsOutput)
            {
                var (used, offset) = sent[p];
                if (used > length || offset > 0 && offset >= (used > 0 ? used : length)) return Cite(Inv.QBufFields, Errno.EINVAL);
                continue;
            }
            if (q.P.IsOutput && q.PlaneSizes[p] > length) return Cite(memory == V4L2_MEMORY_DMABUF ? Inv.MplaneDmabuf : Inv.QBufBad, Errno.EINVAL);
        }
        // whether a plane's dma-buf is large enough rests on the size EXPBUF gave it, when it was exported from a plane
        if (memory == V4L2_MEMORY_DMABUF && handles.Any(h => TryFile(h, out var hf) && hf is DmaBuf { FromPlane: true })) _decidedBy = Inv.MplaneExpBuf;
        return null;
    }

    /// <summary>
    /// Why vb2's prepare of the buffer's memory (videobuf2-core.c __prepare_dmabuf, __prepare_userptr) refuses these handles,
    /// one per plane, or null when it takes them: DMABUF, an fd that is not a dma-buf or one smaller than the plane
    /// (EINVAL); USERPTR, a mapping shorter than the plane (EINVAL) or one of VM_PFNMAP pages, which cannot be pinned
    /// (EFAULT). NotRun for memory the harness does not hand over. It changes no state; with <paramref name="attribute"/> it
    /// names the rule a plane's size rests on (the size EXPBUF gave a plane's dma-buf, VB2-MPLANE-2).
    /// </summary>
    private (Outcome Refusal, string Rule)? MemoryFault(VideoQueue q, VideoBuffer b, uint memory, IReadOnlyList<int> handles, bool attribute = true)
    {
        if (memory == V4L2_MEMORY_MMAP) return null;
        for (int p = 0; p < b.Planes.Length; p++)
            if (memory == V4L2_MEMORY_DMABUF)
            {
                if (!TryFile(Handle(handles, p), out var f) || f is not DmaBuf d) return (Outcome.Fail(Errno.EINVAL), Inv.DmabufNotDmabuf);
                if (d.FromPlane && attribute) _decidedBy = Inv.MplaneExpBuf;   // whether it is large enough rests on the size EXPBUF gave it
                if (d.Size < b.Planes[p].MinLength) return (Outcome.Fail(Errno.EINVAL), Inv.DmabufSmall);
            }
            else
            {
                if (HandedOver(Handle(handles, p)) is not { } m) return (Outcome.NotRun, Inv.QBufBad);
                if (m.Length < b.Planes[p].MinLength) return (Outcome.Fail(Errno.EINVAL), Inv.UserptrShort);
                // __prepare_userptr drops the old pages and zeroes the length before trying to pin
                if (m.Pfnmap) return (Outcome.Fail(Errno.EFAULT), Inv.UserptrPfnmap);
            }
        return null;
    }

    /// <summary>The mapping behind a USERPTR handle, where it is one the harness hands over (anonymous memory or a dma-buf
    /// mapping, passed with its whole length); null otherwise (the QBUF is not run).</summary>
    private Mapping? HandedOver(int handle) =>
        _maps.TryGetValue(handle, out var m) && (m.Kind == MapKind.Anon || m.Pfnmap) ? m : null;

    /// <summary>Plane p's handle, or -1 (no file, no mapping) where the QBUF gave none.</summary>
    private static int Handle(IReadOnlyList<int> handles, int p) => p < handles.Count ? handles[p] : -1;

    /// <summary>
    /// vb2's prepare of the buffer's DMABUF or USERPTR memory (__prepare_dmabuf, __prepare_userptr), run by QBUF and
    /// PREPARE_BUF, and by MEDIA_REQUEST_IOC_QUEUE for a buffer in the request (vb2_req_prepare): each plane takes the
    /// dma-buf (its length the dma-buf's size) or the pinned pages its handle names. A refusal goes through the prepare's
    /// error path, which releases every dma-buf or page the buffer held and zeroes those planes' lengths (a plane that held
    /// none keeps its length). Null once taken, else the refusal.
    /// </summary>
    private Outcome? TakeMemory(VideoQueue q, VideoBuffer b, uint memory, IReadOnlyList<int> handles)
    {
        if (memory == V4L2_MEMORY_MMAP) return null;
        string ok = memory == V4L2_MEMORY_DMABUF ? Inv.DmabufOk : Inv.UserptrOk;
        if (MemoryFault(q, b, memory, handles) is var (refusal, rule))
        {
            if (refusal.Errno == Errno.NotRun) return refusal;
            if (memory == V4L2_MEMORY_DMABUF) ReleaseImport(b); else { ReleaseUserptr(b); Cite(Inv.UserptrLength); }
            if (q.P.MultiPlanar && memory == V4L2_MEMORY_DMABUF) Cite(Inv.MplaneDmabuf);
            return Cite(rule, refusal);
        }
        for (int p = 0; p < b.Planes.Length; p++)
            if (memory == V4L2_MEMORY_DMABUF)
            {
                var d = (DmaBuf)_fds[handles[p]].File;
                Import(b.Planes[p], d);
                if (d.HasPending(Usage.Read)) Cite(Inv.V4l2IgnoresFences);   // vb2 neither waits for nor adds fences
            }
            else
            {
                var m = _maps[handles[p]];
                b.Planes[p].UserMem = m.Segs;
                b.Planes[p].Length = m.Length;
            }
        if (memory == V4L2_MEMORY_USERPTR) Cite(Inv.UserptrLength);
        Cite(ok);
        if (q.P.MultiPlanar && memory == V4L2_MEMORY_DMABUF) Cite(Inv.MplaneDmabuf);
        return null;
    }

    /// <summary>What fstat(2) reports as the size of the file behind fd: a dma-buf's size, a memfd's; 0 for device nodes or no file.</summary>
    private long FstatSize(int fd) => !TryFile(fd, out var f) ? 0 : f switch { DmaBuf d => d.Size, MemfdFile m => m.Size, _ => 0 };

    /// <summary>The plane now holds dma-buf d (its length the dma-buf's size): the queue's reference moves from what it held.</summary>
    private void Import(VideoPlane p, DmaBuf d)
    {
        if (p.Imported != d)
        {
            Get(d);
            if (p.Imported != null) Put(p.Imported);
            p.Imported = d;
        }
        p.Length = d.Size;
    }

    /// <summary>__prepare_userptr's error path: every plane's pinned pages are dropped and its length zeroed.</summary>
    private static void ReleaseUserptr(VideoBuffer b)
    {
        foreach (var p in b.Planes) { p.UserMem = null; p.Length = 0; }
    }

    private static void Queue(VideoQueue q, VideoBuffer b, uint index)
    {
        q.WaitingForBuffers = false;
        b.Queued = true;
        b.LeftRequest = false;
        q.QueuedOrder.Add((int)index);
        b.AfterStop = HoldsNewOutput(q);
        if (q.P.IsOutput && q.Streaming) StreamQueued(q, b);   // a decoder parses what reaches it
        if (q.Streaming) q.PeakQueued = Math.Max(q.PeakQueued, q.QueuedOrder.Count);
        DeviceOwns(q, b);
    }

    /// <summary>__prepare_dmabuf's error path: every dma-buf the buffer held is put and its plane's length zeroed; a plane that
    /// held none keeps its length.</summary>
    private void ReleaseImport(VideoBuffer b)
    {
        foreach (var p in b.Planes)
        {
            if (p.Imported is not { } d) continue;
            p.Imported = null;
            p.Length = 0;
            Put(d);
        }
    }

    /// <summary>
    /// What VIDIOC_DQBUF on fd's queue does from a file without O_NONBLOCK (__vb2_wait_for_done_vb), as far as this model knows.
    /// <see cref="BlockingDQBuf.ReturnsAtOnce"/> where the non-blocking call fails before looking for a done buffer (a handle
    /// that is not a video node, the wrong type, another handle's queue, read()/write() I/O, not streaming) or a buffer is known
    /// done. <see cref="BlockingDQBuf.WaitsForBuffer"/> where the device must complete one: a queue that is not mem2mem (there a
    /// job needs buffers on both queues), with no request-bound buffer queued, holding as many queued buffers as the most its
    /// driver may need to start (vb2 calls start_streaming once queued_count reaches min_queued_buffers, which no query reports;
    /// the STREAMON the queue accepted bounds it: StartHi), and at least one on a capture queue, two on an output queue (an
    /// output device may hold the frame it shows until the next one comes). Otherwise <see cref="BlockingDQBuf.MaySleepForever"/>:
    /// the call could sleep until a STREAMOFF or a signal. Pure: it changes nothing.
    /// </summary>
    public BlockingDQBuf DQBufWait(int fd, uint type)
    {
        if (!TryFile(fd, out var f) || f is not VideoFile v) return BlockingDQBuf.ReturnsAtOnce;
        var q = v.QueueFor(type);
        if (type != q.P.BufType || IsBusy(v, q, refuses: false) || q.FileIo || !q.Streaming || q.KnownDone > 0) return BlockingDQBuf.ReturnsAtOnce;
        // past what the documentation describes of a drain, whether vb2 still remembers a LAST buffer is not known
        if (DrainCapture(q) && q.Drain == CodecDrain.Unsure) return BlockingDQBuf.MaySleepForever;
        if (q.LastDequeued) return BlockingDQBuf.ReturnsAtOnce;   // EPIPE
        // a codec's drain returns a queued CAPTURE buffer, the last one flagged LAST (dev-encoder.rst, dev-decoder.rst, Drain),
        // once vb2 has handed them to the driver (start_streaming: as many queued as the most min_queued_buffers may be)
        if (DrainCapture(q) && q.Drain == CodecDrain.Draining && q.QueuedOrder.Count > 0 && q.QueuedOrder.Count >= q.StartHi)
            return BlockingDQBuf.WaitsForBuffer;
        // an output device may keep showing its last buffer until another comes ("a repeated frame was displayed again by an
        // output device because the application did not pass new data in time", buffer.rst; vivid holds it): two there
        int need = Math.Max(q.P.IsOutput ? 2 : 1, q.StartHi);
        return q.Peer == null && q.QueuedOrder.Count >= need && NoneInRequest(q)
            ? BlockingDQBuf.WaitsForBuffer : BlockingDQBuf.MaySleepForever;
    }

    /// <summary>For generators: whether some queue an open video file can reach streams (a node's queue, a mem2mem context's
    /// two). Where none does, <see cref="DQBufWait"/> returns <see cref="BlockingDQBuf.ReturnsAtOnce"/> for every fd, and a
    /// generator that asks at every op need not ask it fd by fd. Read-only.</summary>
    public bool AnyQueueStreaming()
    {
        foreach (var q in _queueList.AsSpan(0, _queueCount)) if (q.Streaming) return true;
        foreach (var c in _contexts) if (c.Q.Streaming || c.Out is { Streaming: true }) return true;
        return false;
    }

    /// <summary>Whether no queued buffer of q was queued through a request.</summary>
    private static bool NoneInRequest(VideoQueue q)
    {
        foreach (int i in q.QueuedOrder) if (q.Bufs[i]!.Request != null) return false;
        return true;
    }

    /// <summary>What a generator may read of fd's queue (of <paramref name="type"/>'s queue on a mem2mem node): its memory type (0
    /// without buffers), how many buffers it has, the lowest index of one that is neither queued nor in a request (null if
    /// none), and whether it streams. Null when fd is not a video node. Read-only.</summary>
    /// <summary>For generators: whether buffer <paramref name="index"/> of fd's single-planar queue has stored a length (its
    /// setup size until it takes a dma-buf, then that dma-buf's size; 0 after a refused import) of at least the size of the
    /// dma-buf <paramref name="dmabuf"/>, so that a payload of that whole dma-buf stays clear of the stored-length bound
    /// (known issue vb2-output-dmabuf-stored-length, VB2-DMABUF-3's) and is judged by VB2-QBUF-4.</summary>
    public bool StoredLengthHolds(int fd, uint type, uint index, int dmabuf)
    {
        if (!TryFile(fd, out var f) || f is not VideoFile v) return false;
        var q = v.QueueFor(type);
        return Buffer(q, index) is { } b && FstatSize(dmabuf) is > 0 and var size && b.Planes[0].Length >= size;
    }

    public QueueView? ViewQueue(int fd, uint type)
    {
        if (!TryFile(fd, out var f) || f is not VideoFile v) return null;
        var q = v.QueueFor(type);
        int? idle = null;
        for (int i = 0; i < q.Bufs.Length && idle == null; i++)
            if (q.Bufs[i] is { Queued: false, Request: null }) idle = i;
        return new QueueView(q.Memory, q.NumBufs, idle, q.Streaming, q.Drain == CodecDrain.Draining, q.LastDequeued,
            DecoderCapture(q) ? q.StreamRes : null, DecoderCapture(q) ? ChangeAhead(q) : null);
    }

    /// <summary>Whether a blocking VIDIOC_DQBUF on fd's queue returns (<see cref="DQBufWait"/> is not MaySleepForever). The lockstep
    /// harness asks the oracle, which has followed the target's history, before the target runs one.</summary>
    public bool DQBufReturns(int fd, uint type) => DQBufWait(fd, type) != BlockingDQBuf.MaySleepForever;

    public Outcome DQBuf(int fd, uint type, bool blocking)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        if (type != q.P.BufType) return Cite(Inv.BufType, Errno.EINVAL);
        if (IsBusy(v, q)) return Cite(Inv.OwnStreaming, Errno.EBUSY);
        if (q.FileIo) return Cite(FileIoRule(q), Errno.EBUSY);
        if (q.AnyBuffer(static x => x is { Prepared: true, Queued: false })) _decidedBy = Inv.PrepareBuf;   // a prepared buffer is not queued
        if (!q.Streaming) return Cite(Inv.DQBufNotStreaming, Errno.EINVAL);
        Cite(Inv.DQBufOrder);
        // after a codec's LAST buffer: EPIPE, blocking or not (__vb2_wait_for_done_vb, before it looks for a done buffer)
        if (DrainDQBuf(q) is { } drained) return drained;
        // a blocking DQBUF that would sleep is not issued (the harness asks DQBufReturns first); one that returns waits for the
        // oldest queued buffer to be done: no EAGAIN (VB2-DQBUF-3)
        if (blocking)
        {
            if (!DQBufReturns(fd, type)) return Outcome.NotRun;
            Cite(DrainCapture(q) && q.Drain == CodecDrain.Draining ? Ids(q).Last : Inv.DQBufBlocking);   // on a codec, the drain is what makes it return
            if (q.KnownDone == 0)
            {
                if (!_hasActual && Broken(ModelBug.BlockingDQBufEagain)) return Outcome.Fail(Errno.EAGAIN);   // the bug: as if O_NONBLOCK
                Complete(q, 1);
            }
        }
        // a buffer the target returns that is in a request not yet queued was never queued (VB2-REQ-3)
        if (_hasActual && _actual.Ok && Buffer(q, (uint)_actual.R0) is { InRequest: true }) _decidedBy = Inv.RequestHolds;
        // capture and output devices alike complete queued buffers on their own clock; a mem2mem device only in jobs
        if (q.Peer != null) Cite(Inv.M2mJob);
        if (q.QueuedOrder.Count == 0 || q.KnownDone == 0 && CanComplete(q) == 0) return Outcome.Fail(Errno.EAGAIN);
        DoneDecides(q);
        ResumedDecides(q);   // over what DoneDecides set: a buffer, not EPIPE, once START resumed the encoder
        int idx = q.QueuedOrder[0];
        var b = q.Bufs[idx]!;
        RequestDecides(b);
        uint mapped = q.Memory == V4L2_MEMORY_MMAP && b.MapUsers > 0 ? V4L2_BUF_FLAG_MAPPED : 0;
        // the buffer as it may come back: during an encoder's drain, perhaps the last one (V4L2_BUF_FLAG_LAST)
        var forms = DrainForms(q, Outcome.Success(idx, mapped));
        var got = forms[0];
        if (q.KnownDone == 0)
        {
            // the bug returns an OUTPUT buffer at once, unprocessed
            bool atOnce = !_hasActual && Broken(ModelBug.M2mOutputUnprocessed) && q.P.IsOutput && q.Peer != null;
            int k = atOnce ? 1 : Choose("EAGAIN or the oldest queued buffer (the device completes buffers on its own clock)", [Outcome.Fail(Errno.EAGAIN), .. forms]);
            if (k == 0) return Outcome.Fail(Errno.EAGAIN);
            got = forms[k - 1];
            Complete(q, 1);
        }
        else if (forms.Length > 1) got = forms[Choose("the oldest done buffer, as usual or as the drain's last one (V4L2_BUF_FLAG_LAST)", forms)];
        DrainTook(q, got);
        q.QueuedOrder.RemoveAt(0);
        if (q.KnownDone > 0 && --q.KnownDone == 0) q.DoneInferredBy = null;
        DeviceReturns(b);
        b.Queued = false;
        b.Prepared = b.PreparedInRequest = false;   // vb2_core_dqbuf
        if (b.Request != null) Cite(Inv.RequestHolds);
        Unbind(q, b);
        return got;
    }

    public Outcome StreamOn(int fd, uint type)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        if (IsBusy(v, q)) return Cite(Inv.OwnStreaming, Errno.EBUSY);
        if (q.FileIo) return Cite(FileIoRule(q), Errno.EBUSY);   // vb2_streamon, before vb2_core_streamon looks at the type
        if (type != q.P.BufType) return Cite(Inv.BufType, Errno.EINVAL);
        if (q.Streaming) return Cite(Inv.StreamOn, Outcome.Success());
        if (q.NumBufs == 0) return Cite(Inv.StreamOn, Errno.EINVAL);
        // vb2 also refuses fewer buffers than the driver's min_queued_buffers, which no query reports: the first STREAMON
        // that shows the threshold fixes it for the rest of the sequence (as a target the model needs one buffer)
        int n = q.NumBufs;
        bool ok = n >= q.StartHi || n >= q.StartLo && (!_hasActual || Choose(
            "0, or EINVAL while fewer buffers are allocated than the driver needs to start (its min_queued_buffers)",
            Outcome.Success(), Outcome.Fail(Errno.EINVAL)) == 0);
        if (ok) q.StartHi = Math.Min(q.StartHi, n);
        else { q.StartLo = Math.Max(q.StartLo, n + 1); return Cite(Inv.StreamOn, Errno.EINVAL); }
        q.Streaming = true;
        q.PeakQueued = q.QueuedOrder.Count;
        foreach (var i in q.QueuedOrder) DeviceOwns(q, q.Bufs[i]!);
        if (q.P.IsOutput) foreach (var i in q.QueuedOrder) StreamQueued(q, q.Bufs[i]!);   // vb2 hands them to the driver in order
        return Cite(Inv.StreamOn, Outcome.Success());
    }

    public Outcome StreamOff(int fd, uint type)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        if (IsBusy(v, q)) return Cite(Inv.OwnStreaming, Errno.EBUSY);
        if (q.FileIo) return Cite(FileIoRule(q), Errno.EBUSY);   // vb2_streamoff, before vb2_core_streamoff looks at the type
        if (type != q.P.BufType) return Cite(Inv.BufType, Errno.EINVAL);
        if (q.Peer is { } peer)
        {
            // jobs may have run, unobserved, until now: the other queue keeps every buffer they completed
            var decided = _decidedBy;
            peer.Budget = CanComplete(peer);
            peer.BudgetBy = _decidedBy == Ids(peer).Hold ? _decidedBy : null;   // buffers held by a drain were not processed
            _decidedBy = decided;
            q.Budget = 0;
            q.BudgetBy = null;
            Cite(Inv.M2mStreamOff);
        }
        q.LastDequeued = false;   // vb2_core_streamoff, streaming or not (REQBUFS(0) and close leave it set)
        q.Resumed = false;
        StopStreaming(q);
        q.WaitingForBuffers = !q.P.IsOutput;   // vb2_core_streamoff
        return Cite(Inv.StreamOff, Outcome.Success());
    }

    /// <summary>
    /// read() on a video node (vb2_fop_read, func-read.rst): count 0 returns 0 and does nothing (VB2-READ-4); another handle's
    /// queue is refused (EBUSY); a queue streaming I/O holds refuses too and keeps its owner (VB2-READ-3); otherwise the first
    /// read() starts the file I/O emulator (the reader owns the queue, VB2-READ-2) and each returns EAGAIN or 1 to
    /// min(count, sizeimage) bytes (VB2-READ-1). R0: the number of bytes read.
    /// </summary>
    private Outcome ReadCore(int fd, long count)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = v.Q;
        // the generator reads only capture nodes that offer read(), and multi-planar ones that report it with a format of more
        // than one plane (which vb2 refuses)
        bool planes = TargetProfile.PlanesRefuseFileIo(q.P);
        if (!(q.P.ReadWrite || planes) || q.P.IsOutput) return Outcome.NotRun;
        if (count == 0) return Cite(Inv.ReadZero, Outcome.Success(0));
        if (IsBusy(v, q)) return Cite(Inv.ReadBusy, Errno.EBUSY);
        if (!q.FileIo)
        {
            if (q.Streaming || q.NumBufs > 0) { q.ReadRefusedOwner = q.Owner; return Cite(Inv.ReadAfterStreaming, Errno.EBUSY); }
            if (planes) return FileIoRefusedPlanes(q, v);
            StartFileIo(q, v);
            q.ReleasedOnClose = q.PlanesRefused = false;
        }
        long max = Math.Min(count, q.FileIoSize);
        Cite(Inv.ReadIo);
        // how many bytes is the driver's (the frame's payload, where an earlier read() of it stopped): any in 1..max
        var data = Outcome.Success(_hasActual && _actual.Ok && _actual.R0 >= 1 && _actual.R0 <= max ? _actual.R0 : max);
        if (Choose($"1 to {max} bytes (at most one frame, at most count), or EAGAIN while no frame is ready", data, Outcome.Fail(Errno.EAGAIN)) == 1)
            return Outcome.Fail(Errno.EAGAIN);
        AnyValue = true;
        return data;
    }

    /// <summary>
    /// read() or write() that would start vb2's emulator on a multi-planar queue whose format has more than one plane:
    /// __vb2_init_fileio allocates the emulator's buffers, finds more than one plane, frees them and fails with EBUSY, and
    /// vb2_fop_read/vb2_fop_write drop the ownership they took, so nothing changes (VB2-READ-5).
    /// </summary>
    private Outcome FileIoRefusedPlanes(VideoQueue q, VideoFile v)
    {
        // the bug (as a target): the emulator keeps the buffers it allocated, and the caller owns the queue
        if (!_hasActual && Broken(ModelBug.FileIoPlanesKeepsBuffers))
        {
            q.Owner = v;
            Allocate(q, V4L2_MEMORY_MMAP, 2, q.PlaneSizes, out _);
        }
        q.PlanesRefused = true;
        return Cite(Inv.FileIoPlanes, Errno.EBUSY);
    }

    /// <summary>__vb2_init_fileio for read(): the emulator allocates and queues its buffers and streams; the file that started
    /// it owns the queue (vb2_fop_read, vb2_fop_poll). Started by a poll(), whose outcome may not show it, what follows still
    /// rests on the close that released the queue (ReleasedOnClose stays).</summary>
    private static void StartFileIo(VideoQueue q, VideoFile v, bool write = false)
    {
        q.FileIo = true;
        q.FileIoWrite = write;
        q.WriteTaken = 0;
        q.WriteStuck = false;
        if (q.ZeroWriter == v) q.ZeroWriter = null;   // the zero-count write() had started this already
        q.Owner = v;
        q.Memory = V4L2_MEMORY_MMAP;
        q.FmtBusy = true;
        (q.FileIoSize, q.FileIoSizedBy) = (q.SizeImage, q.SizesAtStake);
        (q.FileLo, q.FileHi) = (1, VideoNodeProfile.VideoMaxFrame);
    }

    /// <summary>QUERYBUF while read() I/O holds the queue: one of the emulator's MMAP buffers (VB2-READ-2), each a frame long,
    /// queued, done, or dequeued by the emulator while it is read.</summary>
    private Outcome FileIoQueryBuf(VideoQueue q, uint index, uint plane)
    {
        Cite(FileIoRule(q));
        if (!FileIoHas(q, index, narrow: true)) return Cite(Inv.QueryBufIndex, Errno.EINVAL);
        long length = plane == 0 ? q.FileIoSize : -1;
        Cite(Inv.QueryBufFields);
        var states = new[] { V4L2_BUF_FLAG_QUEUED, V4L2_BUF_FLAG_DONE, 0u }.Select(f => Outcome.Success(length, f, V4L2_MEMORY_MMAP)).ToArray();
        return states[Choose("QUEUED, DONE, or dequeued by the file I/O emulator while it is read", states)];
    }

    /// <summary>Whether the emulator's buffer index exists (index &lt; its count k, in [FileLo, FileHi]); when not yet known, the
    /// target's answer decides and, if <paramref name="narrow"/> (its answer shows only that), narrows k.</summary>
    private bool FileIoHas(VideoQueue q, uint index, bool narrow)
    {
        if (index < q.FileLo) return true;
        if (index >= q.FileHi) return false;
        bool has = _hasActual ? _actual.Errno != Errno.EINVAL : index < Math.Clamp(q.P.ModelMinBuffers + 1, q.FileLo, q.FileHi);
        AllowedSet = $"the buffer exists, or EINVAL (the emulator allocated between {q.FileLo} and {q.FileHi} buffers, the driver's min_reqbufs_allocation)";
        if (narrow) { if (has) q.FileLo = (int)index + 1; else q.FileHi = (int)index; }
        return has;
    }

    /// <summary>The emulator's buffer count as CREATE_BUFS(0) reports it: the target's, when within [FileLo, FileHi]; then fixed.</summary>
    private int FileIoCount(VideoQueue q)
    {
        int k = _hasActual && _actual.Ok && _actual.R0 >= q.FileLo && _actual.R0 <= q.FileHi ? (int)_actual.R0
            : Math.Clamp(q.P.ModelMinBuffers + 1, q.FileLo, q.FileHi);
        if (q.FileLo < q.FileHi) AllowedSet = $"{q.FileLo} to {q.FileHi} (the emulator's buffer count, the driver's min_reqbufs_allocation)";
        q.FileLo = q.FileHi = k;
        return k;
    }

    public Outcome RemoveBufs(int fd, uint type, uint index, uint count)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        if (!q.P.HasRemoveBufs) return Cite(Inv.RemoveNotty, Errno.ENOTTY);
        if (type != q.P.BufType) return Cite(Inv.BufType, Errno.EINVAL);
        if (count == 0) return Cite(Inv.Remove0, Outcome.Success());
        if (IsBusy(v, q)) return Cite(Inv.OwnStreaming, Errno.EBUSY);
        // the bug (as a target): the file-I/O check is missing, and REMOVE_BUFS goes on to look for the buffers
        if (q.FileIo && !(!_hasActual && Broken(ModelBug.RemoveBufsDuringRead))) return Cite(FileIoRule(q), Errno.EBUSY);
        if (count > q.NumBufs) return Cite(Inv.RemoveMissing, Errno.EINVAL);
        if (index > q.P.MaxBuffers - count) return Cite(Inv.RemoveMissing, Errno.EINVAL);
        for (uint i = index; i < index + count; i++)
        {
            if (q.Bufs[i] is not { } b) return Cite(Inv.RemoveMissing, Errno.EINVAL);
            if (b.Queued || b.InRequest) return Cite(b.InRequest ? Inv.RequestHolds : Inv.RemoveQueued, Errno.EBUSY);
            if (b.Prepared) _decidedBy = Inv.PrepareBuf;   // a prepared buffer is dequeued, so removable
        }
        if (Enumerable.Range((int)index, (int)count).Any(i => q.Bufs[i]!.MapUsers > 0)) Cite(Inv.RemoveOrphan);
        FreeBuffers(q, (int)index, (int)count);
        return Cite(Inv.RemoveOrphan, Outcome.Success());
    }
}
