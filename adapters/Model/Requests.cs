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
    /// dequeued (EINVAL), a queue that does not support requests (EBADR), a queue fed directly (EBUSY, VB2-REQ-4), an fd that is
    /// not a request (EINVAL), a request that is not idle (EBUSY); then vb2_core_qbuf binds the buffer (IN_REQUEST).
    /// </summary>
    private Outcome QBufInRequest(VideoQueue q, VideoBuffer b, uint index, int requestFd)
    {
        Cite(Inv.RequestFd);
        if (b.Queued || b.Request != null) return Cite(Inv.RequestFd, Errno.EINVAL);   // "buffer is not in dequeued state"
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
        r.EmptiedBy = null;
        r.Bufs.Add((q, b));
        return Cite(Inv.RequestHolds, Outcome.Success());
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
        if (!_requestVerdicts.TryGetValue(n, out var verdict))
        {
            var allowed = new[] { Outcome.Success(), Outcome.Fail(Errno.ENOENT), Outcome.Fail(Errno.EINVAL) };
            verdict = _hasActual ? allowed[Choose($"0, or ENOENT or EINVAL when the driver requires what the request lacks (its choice, the same for every request of {n} buffer{(n == 1 ? "" : "s")})", allowed)].Errno
                : Errno.OK;
            _requestVerdicts[n] = verdict;
        }
        else if (verdict != Errno.OK && _hasActual && _actual.Errno != verdict) _decidedBy = Inv.RequestQueue;   // the driver changed its mind
        if (verdict != Errno.OK) return Cite(Inv.RequestQueue, verdict);   // nothing changes: the buffers stay IN_REQUEST
        r.State = RequestState.Queued;
        foreach (var (q, b) in r.Bufs) Queue(q, b, (uint)b.Index);
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
        _queues.Values.Concat(_contexts.SelectMany(c => c.Queues)).SelectMany(q => q.Bufs).Any(b => (b is { InRequest: true } or { LeftRequest: true }) && b.Memory().Contains(mem));

    /// <summary>What a divergence about a buffer's state rests on when requests decided it: a buffer that left an unqueued
    /// request was never queued (VB2-REQ-3); one whose request's completion was inferred is done by that rule.</summary>
    private void RequestDecides(VideoBuffer b)
    {
        if (b.LeftRequest || b.InRequest) _decidedBy = Inv.RequestHolds;
        else if (b.Request?.CompletedBy is { } by) _decidedBy = by;
    }
}
