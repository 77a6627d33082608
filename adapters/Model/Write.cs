using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>
/// write() I/O on a video output node, and poll() of one (func-write.rst, func-poll.rst; vb2_fop_write, __vb2_init_fileio,
/// __vb2_perform_fileio and vb2_core_poll in 6.12).
/// </summary>
public sealed partial class ReferenceModel
{
    /// <summary>
    /// write() on an output node opened O_NONBLOCK. Count 0 returns 0 and does nothing (VB2-WRITE-4); another handle's queue
    /// is refused (EBUSY); a queue streaming I/O holds refuses and keeps its owner (VB2-WRITE-3); otherwise the first write()
    /// starts the write() emulator and the writer owns the queue (VB2-WRITE-1). Each write() takes 1 to count bytes, or
    /// returns EAGAIN once no buffer space is free, which it cannot be before a frame per buffer the emulator may have was
    /// taken. R0: the number of bytes written.
    /// </summary>
    private Outcome WriteCore(int fd, long count)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = v.Q;
        // the generator writes only output nodes that offer write(), and multi-planar ones that report it with a format of more
        // than one plane (which vb2 refuses)
        bool planes = TargetProfile.PlanesRefuseFileIo(q.P);
        if (!(q.P.ReadWrite || planes) || !q.P.IsOutput) return Outcome.NotRun;
        // VB2-WRITE-4 already failed on this target: count 0 is followed as vb2 runs it (as any write(), vb2-write-count-zero),
        // so that what the rest of the sequence shows is judged on its own
        bool vb2Zero = count == 0 && Relaxed.Contains(Inv.WriteZero);
        if (vb2Zero) Cite(Inv.WriteZero);
        if (count == 0 && !vb2Zero)
        {
            // func-write.rst: nothing happens. vb2 starts its emulator first (and, with every buffer queued, may dequeue one):
            // whatever the queue shows until this handle is closed rests on this rule
            if (!q.FileIo && !q.Streaming && q.NumBufs == 0 && !IsBusy(v, q, refuses: false) && !planes)
            {
                // the bug (as a target), vb2's own: the emulator starts and the writer owns the queue
                if (!_hasActual && Broken(ModelBug.WriteZeroStartsIo)) StartFileIo(q, v, write: true);
                else q.ZeroWriter ??= v;
            }
            return Cite(Inv.WriteZero, Outcome.Success(0));
        }
        if (IsBusy(v, q)) return Cite(q.FileIo ? Inv.WriteBusy : Inv.WriteAfterStreaming, Errno.EBUSY);
        if (!q.FileIo)
        {
            // the bug (as a target): write() goes through although streaming I/O holds the queue, and changes nothing
            if (q.Streaming || q.NumBufs > 0)
                return Cite(Inv.WriteAfterStreaming, !_hasActual && Broken(ModelBug.WriteWhileStreaming) ? Outcome.Success(count) : Outcome.Fail(Errno.EBUSY));
            if (planes) return FileIoRefusedPlanes(q, v);
            StartFileIo(q, v, write: true);
            // the bug (as a target): the writer does not become the owner
            if (!_hasActual && Broken(ModelBug.WriteTakesNoOwner)) q.Owner = null;
            q.ReleasedOnClose = q.PlanesRefused = false;
        }
        Cite(Inv.WriteIo);
        // VB2-WRITE-1 already failed on this target with a full frame refused (vb2-write-bytesused-lost): the emulator is
        // stuck at that frame's end, and every write() fails as the first did
        if (q.WriteStuck) return Outcome.Fail(Errno.EINVAL);
        // vb2 fills one frame buffer at a time and queues it when full: what is left of the current frame
        long left = q.FileIoSize - q.WriteTaken % q.FileIoSize;
        if (count >= left && Relaxed.Contains(Inv.WriteIo) && _hasActual && _actual.Errno == Errno.EINVAL)
        {
            q.WriteStuck = true;
            return Outcome.Fail(Errno.EINVAL);
        }
        long taken = _hasActual && _actual.Ok && _actual.R0 >= 1 && _actual.R0 <= count ? _actual.R0 : Math.Min(count, left);
        // the bug (as a target): the first write() finds no buffer space
        if (!_hasActual && Broken(ModelBug.WriteRefusesFirst) && q.WriteTaken == 0) return Outcome.Fail(Errno.EAGAIN);
        bool spaceKnown = q.WriteTaken < (long)q.FileLo * q.FileIoSize;
        bool boundary = q.WriteTaken % q.FileIoSize == 0;
        if (spaceKnown) AllowedSet = $"1 to {count} bytes (buffer space is free: fewer than {q.FileLo} frames of {q.FileIoSize} bytes were written)";
        else if (boundary && q.WriteReady)
        {
            // an earlier poll() said write() would take data: the done buffer it saw is still there (VB2-POLL-5)
            Cite(Inv.PollOutput);
            q.WriteReady = false;
            // the bug (as a target): the readiness poll() reported is not there
            if (!_hasActual && Broken(ModelBug.WriteEagainAfterPollOut)) return Outcome.Fail(Errno.EAGAIN);
            spaceKnown = true;
            AllowedSet = $"1 to {count} bytes (poll() reported POLLOUT: a buffer is free or done)";
        }
        if (!spaceKnown && boundary
            && Choose($"1 to {count} bytes, or EAGAIN once no buffer space is free (every buffer queued, none output yet)",
                      Outcome.Success(taken), Outcome.Fail(Errno.EAGAIN)) == 1)
            return Outcome.Fail(Errno.EAGAIN);
        AnyValue = true;
        q.WriteTaken += taken;
        return Outcome.Success(taken);
    }

    /// <summary>
    /// poll() of an output node with write() I/O (VB2-POLL-5): without POLLOUT asked for, 0. A queue without buffers starts the
    /// write() emulator and reports POLLOUT (POLLERR if it streams: the emulator refuses); the emulator reports POLLOUT while a
    /// buffer is free for write(). Streaming I/O: POLLERR unless streaming, POLLOUT for a done buffer, and where func-poll.rst
    /// and vb2 differ (a buffer the application could still queue, nothing done) both answers (AMB-36).
    /// </summary>
    private Outcome OutputPollEvents(VideoFile v, short events)
    {
        var q = v.Q;
        Cite(Inv.PollOutput);
        if ((events & POLLOUT) == 0) return Outcome.Success(0);
        if (q.NumBufs == 0 && !q.FileIo)
        {
            if (q.Streaming) return Outcome.Success(POLLERR);   // __vb2_init_fileio refuses a streaming queue
            // the bug (as a target): poll() starts no write() I/O
            if (!_hasActual && Broken(ModelBug.PollOutStartsNothing)) return Outcome.Success(POLLERR);
            StartFileIo(q, v, write: true);
            q.ReleasedOnClose = q.PlanesRefused = false;
            return Outcome.Success(POLLOUT);
        }
        if (q.FileIo)
        {
            // a buffer is free (not queued): before a frame per buffer was written, while one is partly written, and while a
            // refused frame holds one (WriteStuck)
            if (q.WriteStuck || q.WriteTaken < (long)q.FileLo * q.FileIoSize || q.WriteTaken % q.FileIoSize != 0) return Outcome.Success(POLLOUT);
            var either = new[] { Outcome.Success(POLLOUT), Outcome.Success(0) };
            int k = Choose("POLLOUT, or 0 while every buffer is queued and none was output yet", either);
            // POLLOUT: a buffer is free or done, so the next write() takes data
            if (k == 0) q.WriteReady = true;
            return either[k];
        }
        if (!q.Streaming) return Outcome.Success(POLLERR);
        if (q.KnownDone > 0) { DoneDecides(q); return Outcome.Success(POLLOUT); }
        if (q.AnyBuffer(static b => b is { Queued: false }))
        {
            // the incoming queue is not full: func-poll.rst says POLLOUT, vb2 says 0 until a buffer is done (AMB-36)
            var both = new[] { Outcome.Success(0), Outcome.Success(POLLOUT) };
            return both[Choose("0 (vb2: nothing done) or POLLOUT (func-poll.rst: the incoming queue is not full), AMB-36", both)];
        }
        if (CanComplete(q) == 0) return Outcome.Success(0);
        if (Choose("0 or POLLOUT (the device outputs buffers on its own clock)", Outcome.Success(0), Outcome.Success(POLLOUT)) == 0)
            return Outcome.Success(0);
        Complete(q, 1, Inv.PollOutput);
        return Outcome.Success(POLLOUT);
    }
}
