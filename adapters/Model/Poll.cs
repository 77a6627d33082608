using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>
/// poll() of a video node with a zero timeout (func-poll.rst; vb2_fop_poll and vb2_core_poll, v4l2_m2m_poll in 6.12; notes in
/// spec/notes/vb2-poll.md). R0 is revents as poll(2) reports them: the requested events plus POLLERR.
/// </summary>
public sealed partial class ReferenceModel
{
    private Outcome VideoPollEvents(VideoFile v, short events)
    {
        AttributeQueueState(v);
        if (v.Out != null) return M2mPollEvents(v, events);
        var q = v.Q;
        if (q.P.IsOutput) return q.P.ReadWrite ? OutputPollEvents(v, events) : Outcome.NotRun;   // output nodes are polled where write() is modelled
        // only buffers are asked about here; a poll for events alone starts nothing (vb2_core_poll's first check)
        if ((events & POLLIN) == 0) { Cite(Inv.PollStartsRead); return Outcome.Success(0); }
        // vb2 tries its read() emulator on a queue without buffers of a node that reports V4L2_CAP_READWRITE, multi-planar or not
        bool tries = q.NumBufs == 0 && !q.FileIo && q.P.ReportsReadWrite;
        if (tries && (q.Streaming || q.PlaneSizes.Count > 1))
        {
            // every buffer removed while streaming, or a format of more than one plane (the emulator's buffers have one):
            // __vb2_init_fileio refuses (EBUSY), and poll reports POLLERR
            Cite(Inv.PollStartsRead);
            return Outcome.Success(POLLERR);
        }
        // the bug (as a target): poll() starts no read() I/O
        if (tries && !(!_hasActual && Broken(ModelBug.PollStartsNothing)))
        {
            // the read() emulator starts, as read() would have started it, and the poller owns the queue
            StartFileIo(q, v);
            Cite(Inv.PollStartsRead);
        }
        if (q.FileIo)
        {
            Cite(Inv.PollStartsRead);
            var ready = new[] { Outcome.Success(0), Outcome.Success(POLLIN) };
            return ready[Choose("0 or POLLIN (the read() emulator's frame is ready on the device's clock)", ready)];
        }
        Cite(Inv.PollNotStreaming);
        if (!q.Streaming) return Outcome.Success(POLLERR);
        // STREAMON, but no QBUF since the buffers were allocated (the bug, as a target: that is not an error)
        if (q.WaitingForBuffers && !(!_hasActual && Broken(ModelBug.PollIgnoresWaiting)))
        {
            if (q.AnyBuffer(static x => x is { Prepared: true, Queued: false })) _decidedBy = Inv.PrepareBuf;   // a prepared buffer is not queued
            return Outcome.Success(POLLERR);
        }
        // the bug (as a target): POLLIN before any buffer is done
        if (!_hasActual && Broken(ModelBug.PollReadyEarly) && q.QueuedOrder.Count == 0) return Outcome.Success(POLLIN);
        Cite(Inv.PollDone);
        if (q.KnownDone > 0) { DoneDecides(q); return Outcome.Success(POLLIN); }
        if (CanComplete(q) == 0) return Outcome.Success(0);
        if (Choose("0 or POLLIN (the device completes buffers on its own clock)", Outcome.Success(0), Outcome.Success(POLLIN)) == 0)
            return Outcome.Success(0);
        Complete(q, 1, Inv.PollDone);
        return Outcome.Success(POLLIN);
    }

    /// <summary>
    /// v4l2_m2m_poll: with IN or OUT requested, POLLERR unless one of the context's queues streams with a buffer queued;
    /// otherwise POLLOUT when the OUTPUT queue has a done buffer and POLLIN when the CAPTURE queue has one (each on the device's
    /// clock while a job may still be running), as far as the events asked for them.
    /// </summary>
    private Outcome M2mPollEvents(VideoFile v, short events)
    {
        if ((events & (POLLIN | POLLOUT)) == 0) return (events & POLLPRI) != 0 && CodecFile(v) ? EventPoll(v) : Outcome.Success(0);
        Cite(Inv.PollM2m);
        VideoQueue cap = QueueOf(v, v.Q.P.BufType), outq = QueueOf(v, v.Out!.P.BufType);
        // resumed by START after a drain, the CAPTURE queue no longer counts its LAST buffer: a POLLIN for it rests on VB2-DRAIN-3
        if (cap.Resumed && _hasActual && (_actual.R0 & POLLIN) != 0) _decidedBy = Ids(cap).Resume;
        // past what the documentation describes of a drain, whether vb2 still remembers a LAST buffer (which makes the context
        // active and reports POLLIN) is not known: not judged
        if (DrainCapture(cap) && cap.Drain == CodecDrain.Unsure && cap.Streaming)
        {
            short asked = (short)(events & (POLLIN | POLLOUT));
            var any = new[] { POLLERR, POLLIN, POLLOUT, (short)(POLLIN | POLLOUT), (short)0 }.Where(r => r == POLLERR || (r & ~asked) == 0)
                .Select(r => Outcome.Success(r)).ToArray();
            return any[Choose("any (the drain is past what the documentation describes: AMB-37)", any)];
        }
        // (a capture queue whose LAST buffer was dequeued counts: DQBUF will return EPIPE at once)
        bool Active(VideoQueue q) => q.Streaming && (q.QueuedOrder.Count > 0 || q.LastDequeued);
        if (!Active(outq) && !Active(cap) && !(!_hasActual && Broken(ModelBug.M2mPollNoError))) return Outcome.Success(POLLERR);
        // each queue: known done, may be done, or not done; every combination the device's clock allows is a documented outcome
        var sides = new List<(VideoQueue Q, short Bit, bool Known, bool May)>();
        foreach (var (q, bit) in new[] { (outq, POLLOUT), (cap, POLLIN) })
        {
            if ((events & bit) == 0) continue;
            int waiting = q.Streaming ? q.QueuedOrder.Count - q.KnownDone : 0;
            // the bug (as a target): an OUTPUT buffer comes back at once, unprocessed
            bool atOnce = !_hasActual && Broken(ModelBug.M2mOutputUnprocessed) && q.P.IsOutput && waiting > 0;
            if (atOnce) Complete(q, 1);
            bool known = q.KnownDone > 0 || q.LastDequeued && q.Streaming, may = !known && CanComplete(q) > 0;
            if (known) DoneDecides(q);
            // a buffer the device could only have processed in a job it cannot run (the other queue does not stream) is not done
            if (!known && waiting > CanComplete(q) && _hasActual && (_actual.R0 & bit) != 0 && !may) _decidedBy = Inv.M2mJob;
            sides.Add((q, bit, known, may));
        }
        var combos = new List<(short Rev, List<VideoQueue> Completed)> { (0, new()) };
        foreach (var s in sides)
        {
            if (s.Known) { combos = combos.Select(c => ((short)(c.Rev | s.Bit), c.Completed)).ToList(); continue; }
            if (!s.May) continue;
            combos = combos.SelectMany(c => new[] { c, ((short)(c.Rev | s.Bit), new List<VideoQueue>(c.Completed) { s.Q }) }).ToList();
        }
        int k = combos.Count == 1 ? 0 : Choose("any of these (the device completes jobs on its own clock)", combos.Select(c => Outcome.Success(c.Rev)).ToArray());
        foreach (var q in combos[k].Completed) Complete(q, 1, Inv.PollM2m);
        return Outcome.Success(combos[k].Rev);
    }
}
