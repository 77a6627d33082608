using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>
/// Media requests as far as buffers go (request-api.rst and the mediactl request ioctls; vb2's request objects in
/// videobuf2-core.c, the request life cycle in drivers/media/mc/mc-request.c): a QBUF with V4L2_BUF_FLAG_REQUEST_FD binds the
/// buffer to the request (IN_REQUEST) instead of queueing it; MEDIA_REQUEST_IOC_QUEUE queues every bound buffer; the request
/// completes when they are all done; MEDIA_REQUEST_IOC_REINIT empties it; resetting the queue unbinds its buffers.
/// </summary>
public sealed partial class ReferenceModel
{
    /// <summary>What the driver's request validation answered for a request of n buffers (0, ENOENT or EINVAL): its choice
    /// (the suite sets no controls in a request), learned from the first request of that size and held for the sequence.</summary>
    private readonly Dictionary<int, Errno> _requestVerdicts = new();

    public Outcome RequestAlloc(string media)
    {
        if (!Profile.Video.Any(v => v.RequestMedia == media)) return Outcome.Fail(Errno.ENOENT);
        Cite(Inv.RequestFd);
        var r = new RequestFile(media) { AccMode = O_RDWR };
        return Outcome.Created(Install(r, cloexec: true));   // media_request_alloc: get_unused_fd_flags(O_CLOEXEC)
    }

    /// <summary>
    /// QBUF of a dequeued buffer with V4L2_BUF_FLAG_REQUEST_FD, in vb2_queue_or_prepare_buf's order: a buffer that is not
    /// dequeued (EINVAL), the lengths the QBUF passes (EINVAL, __verify_length), a queue that does not support requests
    /// (EBADR), a queue fed directly (EBUSY, VB2-REQ-4), an fd that is not a request (EINVAL), a request that is not idle
    /// (EBUSY); then vb2_core_qbuf binds the buffer (IN_REQUEST). DMABUF and USERPTR memory is only noted: vb2 takes it
    /// when the request is queued (VB2-REQ-9). <paramref name="payload"/> is the output payload in bytes (0 on capture).
    /// </summary>
    private Outcome QBufInRequest(VideoQueue q, VideoBuffer b, uint index, int requestFd, uint memory, IReadOnlyList<int> handles, long payload)
    {
        Cite(Inv.RequestFd);
        if (b.Queued || b.Request != null) return Cite(Inv.RequestFd, Errno.EINVAL);   // "buffer is not in dequeued state"
        // a prepared buffer's fields are not copied again (vb2_queue_or_prepare_buf), and its memory is already taken
        bool copies = !b.Prepared && memory != V4L2_MEMORY_MMAP;
        if (!b.Prepared && VerifyLength(q, b, memory, handles, payload) is { } tooLong) return tooLong;
        if (!q.P.Has(V4L2_BUF_CAP_SUPPORTS_REQUESTS) && !(!_hasActual && Broken(ModelBug.M2mCaptureInRequest))) return Cite(Inv.RequestFd, Errno.EBADR);
        if (q.UsesQbuf) return Cite(Inv.RequestMixing, Errno.EBUSY);
        if (!TryFile(requestFd, out var f) || f is not RequestFile r)
        {
            // the bug (as a target): request_fd is not looked at, and the buffer is queued directly
            if (!_hasActual && Broken(ModelBug.RequestFdUnchecked)) { q.UsesQbuf = true; Queue(q, b, index); return Outcome.Success(); }
            return Cite(Inv.RequestFd, Errno.EINVAL);
        }
        if (r.State != RequestState.Idle) return Cite(Inv.RequestFd, Errno.EBUSY);   // "request is not idle"
        q.UsesRequests = true;
        Cite(Inv.RequestMixing);
        // the bug (as a target): the buffer is queued at once, as if the request had been
        if (!_hasActual && Broken(ModelBug.RequestQueuesAtOnce)) { Queue(q, b, index); return Outcome.Success(); }
        b.Request = r;
        b.LeftRequest = false;
        b.RefusedWhileInRequest = false;
        if (!q.P.MultiPlanar) b.Payload = payload;
        b.Pending = copies ? Note(memory, handles) : null;
        if (copies) Cite(Inv.RequestMemory);
        // the single-planar output payload is bounded by the length the buffer stored (known issue vb2-output-dmabuf-stored-length)
        if (!b.Prepared && StaleLength(q, b, memory, payload)) _decidedBy = Inv.DmabufOk;
        r.EmptiedBy = null;
        r.Bufs.Add((q, b));
        return Cite(Inv.RequestHolds, Outcome.Success());
    }

    /// <summary>What a handle names now: the open file behind a DMABUF fd, the mapping behind a USERPTR handle, or null.</summary>
    private object? Named(uint memory, int handle) =>
        memory == V4L2_MEMORY_DMABUF ? TryFile(handle, out var f) ? f : null : _maps.TryGetValue(handle, out var m) ? m : null;

    /// <summary>The memory a QBUF gives a buffer in a request, with what each handle names now.</summary>
    private PendingMemory Note(uint memory, IReadOnlyList<int> handles) =>
        new(memory, [.. handles], [.. handles.Select(h => Named(memory, h))]);

    /// <summary>Whether every handle still names what it named when the memory was noted.</summary>
    private bool StillNames(PendingMemory p) => p.Handles.Select(h => Named(p.Memory, h)).SequenceEqual(p.Named);

    /// <summary>Whether a buffer bound to a request not yet queued names this fd (DMABUF: any fd it was given, dma-buf or not) or
    /// mapping handle (USERPTR) for vb2 to take when the request is queued (VB2-REQ-9): closing or unmapping it first would
    /// leave the kernel a number or an address that names whatever comes next, which the model cannot follow. Read-only; a
    /// generator steers around it.</summary>
    public bool NamedByRequest(int handle, bool mapping) =>
        AnyBuffer((handle, memory: mapping ? V4L2_MEMORY_USERPTR : V4L2_MEMORY_DMABUF),
            static (b, a) => b is { InRequest: true, Pending: { } p } && p.Memory == a.memory && p.Handles.Contains(a.handle));

    /// <summary>Whether some buffer of any queue (the shared queues', then each mem2mem context's capture and output queues)
    /// passes <paramref name="test"/>, given a value it reads (a static lambda: the generator asks at every close).</summary>
    private bool AnyBuffer<T>(T arg, Func<VideoBuffer, T, bool> test)
    {
        foreach (var q in _queueList.AsSpan(0, _queueCount)) if (AnyIn(q, arg, test)) return true;
        foreach (var c in _contexts)
            if (AnyIn(c.Q, arg, test) || c.Out is { } o && AnyIn(o, arg, test)) return true;
        return false;

        static bool AnyIn(VideoQueue q, T arg, Func<VideoBuffer, T, bool> test)
        {
            foreach (var b in q.Bufs) if (b != null && test(b, arg)) return true;
            return false;
        }
    }

    /// <summary>
    /// A mem2mem device takes requests for OUTPUT buffers only: a CAPTURE buffer with V4L2_BUF_FLAG_REQUEST_FD is refused with
    /// EBADR before anything else is looked at (request-api.rst; v4l2_m2m_qbuf checks it first). Once the known EPERM of 6.12
    /// (m2m-capture-request-eperm) has been reported, the oracle follows it. Null when the bug lets the buffer through.
    /// </summary>
    private Outcome? QBufM2mCaptureInRequest(VideoQueue q, uint index)
    {
        Cite(Inv.RequestM2mCapture);
        if (_hasActual && _actual.Errno == Errno.EPERM && Relaxed.Contains(Inv.RequestM2mCapture)) return Outcome.Fail(Errno.EPERM);
        // the bug (as a target): the CAPTURE queue takes the buffer into the request
        if (!_hasActual && Broken(ModelBug.M2mCaptureInRequest) && Buffer(q, index) is { Queued: false, Request: null } && q.Memory == V4L2_MEMORY_MMAP) return null;
        return Cite(Inv.RequestM2mCapture, Errno.EBADR);
    }

    /// <summary>A QBUF without a request on a queue fed through requests is refused (EBUSY); otherwise the queue is fed directly
    /// from now on (vb2_core_qbuf sets uses_qbuf before it looks at the buffer's state).</summary>
    private bool RefusesDirectQBuf(VideoQueue q)
    {
        if (q.UsesRequests)
        {
            Cite(Inv.RequestMixing);
            if (!(!_hasActual && Broken(ModelBug.RequestMixingAllowed))) return true;
        }
        q.UsesQbuf = true;
        return false;
    }

    /// <summary>__vb2_queue_cancel's part in requests: every buffer of the queue leaves its request (IN_REQUEST ones are
    /// dequeued), and the queue may be fed either way again.</summary>
    private static void UnbindRequests(VideoQueue q, string? emptiedBy)
    {
        foreach (var b in q.Bufs)
            if (b?.Request is { } r)
            {
                // (StopStreaming has already taken the queued ones back: the request's state tells which were in a queued one)
                bool unqueued = r.State == RequestState.Idle;
                if (unqueued) r.EmptiedBy = emptiedBy ?? Inv.RequestReinit;
                else if (emptiedBy != null && r.State == RequestState.Queued) r.CompletedBy = emptiedBy;   // complete because the close returned it
                b.LeftRequest = unqueued;
                Unbind(q, b);
            }
        q.UsesRequests = q.UsesQbuf = false;
    }

    /// <summary>The buffer was dequeued: vb2 drops its request (vb2_core_dqbuf).</summary>
    private static void Unbind(VideoQueue q, VideoBuffer b)
    {
        if (b.Request is not { } r) return;
        r.Bufs.Remove((q, b));
        b.Request = null;
    }

    /// <summary>Whether a queued buffer is among the leading ones of its queue known done.</summary>
    private static bool IsKnownDone(VideoQueue q, VideoBuffer b) => q.QueuedOrder.IndexOf(b.Index) is var pos and >= 0 && pos < q.KnownDone;

    /// <summary>A queued request whose buffers are all known done is complete.</summary>
    private static void Settle(RequestFile r)
    {
        if (r.State == RequestState.Queued && r.Bufs.All(x => IsKnownDone(x.Q, x.B))) r.State = RequestState.Complete;
    }

    /// <summary>Per queue the request's buffers are in: how many of its leading queued buffers must be done for all of them to be
    /// (queues complete in order).</summary>
    private static IEnumerable<(VideoQueue Q, int Reach)> Reaches(RequestFile r) =>
        r.Bufs.GroupBy(x => x.Q).Select(g => (g.Key, g.Max(x => g.Key.QueuedOrder.IndexOf(x.B.Index)) + 1));

    /// <summary>Whether every buffer of a queued request may be done by now (the device completes them on its own clock).</summary>
    private bool MayComplete(RequestFile r) => Reaches(r).All(x => x.Reach <= x.Q.KnownDone + CanComplete(x.Q));

    /// <summary>The device has completed every buffer of the request: they are known done.</summary>
    private void CompleteRequest(RequestFile r, string inferredBy)
    {
        r.CompletedBy = inferredBy;
        foreach (var (q, reach) in Reaches(r).ToList())
            if (reach > q.KnownDone) Complete(q, reach - q.KnownDone);
        r.State = RequestState.Complete;
    }

    /// <summary>
    /// MEDIA_REQUEST_IOC_QUEUE: EBUSY unless the request is idle; ENOENT without buffers; then the driver's validation, whose
    /// answer for a request with buffers is its own (VB2-REQ-5); on success every bound buffer is queued in the order it
    /// was added (vb2_req_queue), still bound to the request until it is done.
    /// </summary>
    [ModelOf("MEDIA_REQUEST_IOC_QUEUE")]
    private Outcome RequestQueueIoctl(int fd, IoctlCall call)
    {
        if (!TryFile(fd, out var f)) return Outcome.Fail(Errno.EBADF);
        if (f is not RequestFile r) return Outcome.Fail(Errno.ENOTTY);
        Cite(Inv.RequestQueue);
        if (r.State != RequestState.Idle) return Cite(Inv.RequestQueue, Errno.EBUSY);
        int n = r.Bufs.Count;
        if (n == 0)
        {
            if (r.EmptiedBy != null) _decidedBy = r.EmptiedBy;   // a queue reset took its buffers
            // the bug (as a target): an empty request is queued, and completes at once
            if (!_hasActual && Broken(ModelBug.RequestEmptyQueued)) { r.State = RequestState.Complete; return Outcome.Success(); }
            return Cite(Inv.RequestQueue, Errno.ENOENT);
        }
        // the memory vb2 is still to take, and whether its handles still name what they named at the QBUF
        var pending = r.Bufs.Where(x => x.B.Pending != null).ToList();
        foreach (var (_, b) in pending)
            if (b.Pending is { } noted && !StillNames(noted))
            {
                Unfollowed = $"buffer {b.Index}'s {(noted.Memory == V4L2_MEMORY_DMABUF ? "dma-buf fd was closed" : "USERPTR mapping was unmapped")} before its request was queued: the kernel looks up the number or address it stored, which may name anything opened since";
                return _hasActual ? _actual : Outcome.NotRun;
            }
        // (a look ahead, before the driver's own answer: no rule is named for it yet)
        var fault = pending.Select(x => MemoryFault(x.Q, x.B, x.B.Pending!.Memory, x.B.Pending.Handles, attribute: false)).FirstOrDefault(x => x != null);
        if (!_requestVerdicts.TryGetValue(n, out var verdict) && fault is var (faultOutcome, _))
        {
            // the driver's validation answers first, then vb2 prepares the buffers: either refuses, never 0; where the target
            // refused as vb2 refuses the memory, the driver's own answer is still to be learned (an EINVAL of its own looks alike)
            var allowed = new[] { faultOutcome, Outcome.Fail(Errno.ENOENT), Outcome.Fail(Errno.EINVAL) }.DistinctBy(o => o.Errno).ToArray();
            int pick = _hasActual ? Choose("the memory's refusal when vb2 prepares the buffer, or ENOENT or EINVAL from the driver's own validation before it", allowed) : 0;
            verdict = pick == 0 ? Errno.OK : allowed[pick].Errno;
            if (pick != 0) _requestVerdicts[n] = verdict;
        }
        else if (!_requestVerdicts.ContainsKey(n))
        {
            var allowed = new[] { Outcome.Success(), Outcome.Fail(Errno.ENOENT), Outcome.Fail(Errno.EINVAL) };
            verdict = _hasActual ? allowed[Choose($"0, or ENOENT or EINVAL when the driver requires what the request lacks (its choice, the same for every request of {n} buffer{(n == 1 ? "" : "s")})", allowed)].Errno
                : Errno.OK;
            _requestVerdicts[n] = verdict;
        }
        else if (verdict != Errno.OK && _hasActual && _actual.Errno != verdict) _decidedBy = Inv.RequestQueue;   // the driver changed its mind
        if (verdict != Errno.OK) return Cite(Inv.RequestQueue, verdict);   // nothing changes: the buffers stay IN_REQUEST
        // a refused QBUF or PREPARE_BUF touched a buffer of this request: what vb2 takes now rests on VB2-REQ-10 too
        if (pending.Any(x => x.B.RefusedWhileInRequest)) _decidedBy = Inv.RequestKeepsFields;
        // vb2_request_validate prepares each buffer in the order it was bound: its memory is taken now (VB2-REQ-9); a refusal
        // leaves the request idle and the buffers IN_REQUEST, as the prepare's error path leaves them (spec/notes/vb2-failed-prepare.md)
        foreach (var (q, b) in pending)
        {
            Cite(Inv.RequestMemory);
            // the bug (as a target): the driver's validation never asks vb2 to prepare the buffers, so the request is queued
            // and vb2_req_queue's QBUF fails on the memory, leaving that buffer in the request, never queued
            if (!_hasActual && Broken(ModelBug.RequestMemoryUnchecked) && MemoryFault(q, b, b.Pending!.Memory, b.Pending.Handles) != null)
                continue;
            if (TakeMemory(q, b, b.Pending!.Memory, b.Pending.Handles) is { } refusal)
            {
                Cite(Inv.RequestQueue);
                return Cite(Inv.RequestMemory, refusal);
            }
            b.Pending = null;
        }
        r.State = RequestState.Queued;
        // vb2_req_prepare prepared each buffer (vb->prepared) before vb2_req_queue queued it: a QBUF of it now reads none of
        // its fields (vb2_queue_or_prepare_buf) and is refused by the request rules
        foreach (var (q, b) in r.Bufs) if (b.Pending == null) { Queue(q, b, (uint)b.Index); b.Prepared = b.PreparedInRequest = true; }
        if (pending.Count > 0) Cite(Inv.RequestMemory);
        Cite(Inv.RequestHolds);
        return Cite(Inv.RequestQueue, Outcome.Success());
    }

    /// <summary>MEDIA_REQUEST_IOC_REINIT: EBUSY while the request is queued and not complete; otherwise it is emptied: its buffers
    /// that were not queued are dequeued (vb2_req_unbind, vb2_req_release).</summary>
    [ModelOf("MEDIA_REQUEST_IOC_REINIT")]
    private Outcome RequestReinitIoctl(int fd, IoctlCall call)
    {
        if (!TryFile(fd, out var f)) return Outcome.Fail(Errno.EBADF);
        if (f is not RequestFile r) return Outcome.Fail(Errno.ENOTTY);
        Cite(Inv.RequestReinit);
        Settle(r);
        if (r.State == RequestState.Complete && r.CompletedBy is { } by) _decidedBy = by;   // its completion was inferred earlier
        if (r.State == RequestState.Queued)
        {
            bool done = MayComplete(r) && Choose("EBUSY while the request is in flight, or 0 once the device has completed its buffers (on its own clock)",
                Outcome.Fail(Errno.EBUSY), Outcome.Success()) == 1;
            // the bug (as a target): a request in flight is re-initialized
            if (!done && !(!_hasActual && Broken(ModelBug.RequestReinitQueued))) return Cite(Inv.RequestReinit, Errno.EBUSY);
            if (done) CompleteRequest(r, Inv.RequestReinit);
        }
        foreach (var (_, b) in r.Bufs) { b.LeftRequest = b.InRequest; b.Request = null; }   // IN_REQUEST ones are dequeued; done ones were unbound when done
        r.Bufs.Clear();
        r.State = RequestState.Idle;
        return Cite(Inv.RequestReinit, Outcome.Success());
    }

    /// <summary>poll() of a request for POLLPRI: POLLERR while not queued, POLLPRI once complete, nothing in between.</summary>
    private Outcome RequestPollEvents(RequestFile r)
    {
        Cite(Inv.RequestPoll);
        Settle(r);
        switch (r.State)
        {
            case RequestState.Idle: return Outcome.Success(POLLERR);
            case RequestState.Complete: return Outcome.Success(POLLPRI);
        }
        // the bug (as a target): a queued request reports completion at once
        if (!_hasActual && Broken(ModelBug.RequestPollEarly)) return Outcome.Success(POLLPRI);
        if (!MayComplete(r)) return Outcome.Success(0);
        if (Choose("0 while the request is in flight, or POLLPRI once the device has completed its buffers (on its own clock)",
                Outcome.Success(0), Outcome.Success(POLLPRI)) == 0)
            return Outcome.Success(0);
        CompleteRequest(r, Inv.RequestPoll);
        return Outcome.Success(POLLPRI);
    }

    /// <summary>Whether this memory is a buffer's that is in a request not yet queued (a device must not have written it).</summary>
    private bool InRequestMemory(Mem mem) =>
        AnyBuffer(mem, static (b, m) => (b is { InRequest: true } or { LeftRequest: true }) && b.Memory().Contains(m));

    /// <summary>What a divergence about a buffer's state rests on when requests decided it: a buffer that left an unqueued
    /// request was never queued (VB2-REQ-3); one whose request's completion was inferred is done by that rule.</summary>
    private void RequestDecides(VideoBuffer b)
    {
        if (b.LeftRequest || b.InRequest) _decidedBy = Inv.RequestHolds;
        else if (b.Request?.CompletedBy is { } by) _decidedBy = by;
    }
}
