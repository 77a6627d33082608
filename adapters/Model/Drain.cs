using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>
/// A stateful encoder's drain (dev-encoder.rst, Drain; vidioc-encoder-cmd.rst; vidioc-qbuf.rst, EPIPE): VIDIOC_ENCODER_CMD STOP
/// with both queues streaming makes the encoder finish the OUTPUT buffers queued before it and return a CAPTURE buffer flagged
/// V4L2_BUF_FLAG_LAST; once that buffer is dequeued, DQBUF of CAPTURE fails with EPIPE until START resumes the encoder or
/// CAPTURE stops streaming. In 6.12: v4l2_m2m_encoder_cmd, v4l2_update_last_buf_state and v4l2_m2m_last_buffer_done in
/// v4l2-mem2mem.c, vb2_dqbuf's last_buffer_dequeued in videobuf2-v4l2.c, __vb2_wait_for_done_vb in videobuf2-core.c.
/// The drain state lives on the context's CAPTURE queue (<see cref="VideoQueue.Drain"/>).
/// </summary>
public sealed partial class ReferenceModel
{
    /// <summary>
    /// VIDIOC_ENCODER_CMD or VIDIOC_TRY_ENCODER_CMD (flags and data 0). On a node that is not a stateful encoder: ENOTTY (the
    /// generator sends it only to encoders). Otherwise a command other than STOP and START is refused with EINVAL (VB2-DRAIN-1);
    /// TRY executes nothing; STOP and START while a drain is in progress fail with EBUSY, or succeed once the device has
    /// returned its last buffer on its own clock; STOP with both queues streaming begins the drain; START after it resumes.
    /// </summary>
    public Outcome EncoderCmd(int fd, uint cmd, bool tryOnly)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        if (!EncoderFile(v)) return Outcome.Fail(Errno.ENOTTY);
        var outq = v.Out!;   // an encoder's file has both queues
        Cite(Inv.EncoderCmd);
        if (cmd is not (V4L2_ENC_CMD_STOP or V4L2_ENC_CMD_START)) return Outcome.Fail(Errno.EINVAL);
        if (tryOnly) return Outcome.Success();
        var cap = v.Q;
        switch (cap.Drain)
        {
            case EncoderDrain.Draining when cap.QueuedOrder.Count == 0:
                // no CAPTURE buffer queued: none can have come back as the LAST one, so the drain is still in progress
                return Outcome.Fail(Errno.EBUSY);
            case EncoderDrain.Draining:
                // the device ends the drain when it returns the LAST buffer, which this model has not seen yet: EBUSY while it
                // runs, 0 once it is over (what follows is then past what the documentation describes)
                if (Choose("EBUSY while the drain is in progress, or 0 once the device has returned its last buffer", Outcome.Fail(Errno.EBUSY), Outcome.Success()) == 0)
                    return Outcome.Fail(Errno.EBUSY);
                cap.Drain = EncoderDrain.Unsure;
                return Outcome.Success();
            case EncoderDrain.Stopped when cmd == V4L2_ENC_CMD_START:
                // "the encoder will not be reset and will resume operation normally": DQBUF waits for buffers again
                Cite(Inv.DrainResume);
                // once VB2-DRAIN-3 has failed on this target (vicodec keeps EPIPE), the oracle follows it: whether vb2 still
                // answers EPIPE is then not judged, so that the rest of the sequence is
                if (Relaxed.Contains(Inv.DrainResume)) { cap.Drain = EncoderDrain.Unsure; return Outcome.Success(); }
                if (!(!_hasActual && Broken(ModelBug.StartKeepsEpipe))) cap.LastDequeued = false;   // the bug: still EPIPE
                cap.Drain = EncoderDrain.Running;
                cap.Resumed = true;
                return Outcome.Success();
            case EncoderDrain.Running when cmd == V4L2_ENC_CMD_STOP:
                // "The sequence can be only initiated if both OUTPUT and CAPTURE queues are streaming ... the call will not
                // fail even if any of the queues is not streaming, but ... it will not initiate the Drain sequence"; the kernel's
                // helpers and drivers differ there (spec/ambiguities.md, AMB-37): not judged
                cap.Drain = cap.Streaming && outq.Streaming ? EncoderDrain.Draining : EncoderDrain.Unsure;
                if (cap.Drain == EncoderDrain.Draining) Cite(Inv.DrainLast);
                // the OUTPUT buffers queued now are the ones this drain processes; any queued from here on wait (VB2-DRAIN-5)
                foreach (var i in outq.QueuedOrder) if (outq.Bufs[i] is { } ob) ob.AfterStop = false;
                EosOnStop(cap);
                return Outcome.Success();
            case EncoderDrain.Unsure:
                // a drain the code may have begun where the documentation says none begins (AMB-37): EBUSY or 0, not judged
                return Choose("0, or EBUSY if the driver began a drain (AMB-37: not judged)", Outcome.Success(), Outcome.Fail(Errno.EBUSY)) == 0
                    ? Outcome.Success() : Outcome.Fail(Errno.EBUSY);
            default:
                // STOP when stopped, START when running: nothing to do; a STOP once stopped may signal the end of the stream
                // again (vicodec_encoder_cmd queues another EOS), which no rule forbids
                if (cmd == V4L2_ENC_CMD_STOP && cap.Context is { } f && (f.Subscribed & EosBit) != 0) f.Maybe |= EosBit;
                return Outcome.Success();
        }
    }

    /// <summary>A stateful encoder's CAPTURE queue (the one whose <see cref="VideoQueue.Drain"/> is kept).</summary>
    private static bool EncoderCapture(VideoQueue q) => q.Peer != null && !q.P.IsOutput && q.P.Codec == CodecKind.Encoder;

    /// <summary>A stateful encoder's open file: a mem2mem context whose CAPTURE format is coded.</summary>
    private static bool EncoderFile(VideoFile v) => v.Out != null && v.Q.P.Codec == CodecKind.Encoder;

    /// <summary>An encoder's OUTPUT queue while its drain runs or after it has stopped: what is queued now waits for START or a
    /// STREAMOFF (VB2-DRAIN-5).</summary>
    private static bool HoldsNewOutput(VideoQueue q) =>
        q.P.IsOutput && q.Peer is { } cap && EncoderCapture(cap) && cap.Drain is EncoderDrain.Draining or EncoderDrain.Stopped;

    /// <summary>
    /// What DQBUF of q gives before it looks for a done buffer, once the queue streams: EPIPE after a LAST buffer was dequeued
    /// (VB2-DRAIN-2; VB2-DRAIN-3 after a START), null otherwise. Where the drain is past what the documentation describes,
    /// EPIPE or the usual outcome.
    /// </summary>
    private Outcome? DrainDQBuf(VideoQueue q)
    {
        if (EncoderCapture(q) && q.Drain == EncoderDrain.Unsure)
        {
            // the target's answer says whether vb2 saw a LAST buffer dequeued (EPIPE) or not (anything else)
            q.LastDequeued = _hasActual ? _actual.Errno == Errno.EPIPE : NextRandom() % 2 == 0;
            if (!q.LastDequeued) return null;
            AllowedSet = "EPIPE, or as usual (the drain is past what the documentation describes)";
            return Outcome.Fail(Errno.EPIPE);
        }
        if (!q.LastDequeued)
        {
            ResumedDecides(q);   // DQBUF waits for buffers again after a START
            return null;
        }
        Cite(DecoderCapture(q) ? Inv.DecChangeLast : Inv.DrainLast);
        if (!_hasActual && Broken(ModelBug.LastNoEpipe)) return null;   // the bug: as if no LAST buffer had come
        return Outcome.Fail(Errno.EPIPE);
    }

    /// <summary>
    /// The forms a CAPTURE buffer DQBUF returns may take, as far as the drain decides them: during a drain, as usual or as the
    /// LAST one; outside one, never flagged LAST (VB2-DRAIN-2); where the drain is past what the documentation describes,
    /// either. The first is the usual form.
    /// </summary>
    private Outcome[] DrainForms(VideoQueue q, Outcome got)
    {
        // a decoder's LAST buffer ends what it decoded before a resolution change (VB2-DEC-2)
        if (DecoderCapture(q)) return DecoderLastAllowed(q) ? [got, Outcome.Success(got.R0, got.R1 | V4L2_BUF_FLAG_LAST)] : [got];
        if (!EncoderCapture(q)) return [got];
        if (q.Drain != EncoderDrain.Unsure) Cite(Inv.DrainLast);   // judged: LAST during a drain only
        return q.Drain is EncoderDrain.Draining or EncoderDrain.Unsure ? [got, Outcome.Success(got.R0, got.R1 | V4L2_BUF_FLAG_LAST)] : [got];
    }

    /// <summary>Resumed by START after a drain, the queue answers as before it: an EPIPE the target gives rests on VB2-DRAIN-3.</summary>
    private void ResumedDecides(VideoQueue q)
    {
        if (q.Resumed && _hasActual && _actual.Errno == Errno.EPIPE) _decidedBy = Inv.DrainResume;
    }

    /// <summary>A CAPTURE buffer was dequeued in the form <paramref name="got"/>: flagged LAST, the encoder has stopped and vb2
    /// makes every later DQBUF of the queue fail with EPIPE (vb2_dqbuf sets last_buffer_dequeued).</summary>
    private void DrainTook(VideoQueue q, in Outcome got)
    {
        if (!got.Ok || (got.R1 & V4L2_BUF_FLAG_LAST) == 0 || q.P.IsOutput) return;
        EosOnLast(q);
        if (DecoderCapture(q)) DecoderLast(q);
        q.LastDequeued = true;
        q.Resumed = false;
        if (q.Drain == EncoderDrain.Draining) q.Drain = EncoderDrain.Stopped;
    }

    /// <summary>
    /// The drain when q stops streaming (STREAMOFF, or REQBUFS(0) and close cancelling it). A CAPTURE queue whose driver had
    /// started (<paramref name="started"/>: vb2 calls stop_streaming only then) ends it: v4l2_m2m_update_stop_streaming_state
    /// clears the context's drain state. vb2 forgets a dequeued LAST buffer only on STREAMOFF (vb2_core_streamoff, which the
    /// caller handles): after REQBUFS(0) it still answers EPIPE once streaming again, which the documentation does not
    /// describe, so that is not judged. An OUTPUT queue stopping during or after a drain leaves it where the documentation
    /// and the code part ways (AMB-37).
    /// </summary>
    private static void DrainOnStop(VideoQueue q, bool started)
    {
        // an EOS the drain may have signalled stays pending on the file; one owed is no longer judged once the drain is cut short
        var ctx = EncoderCapture(q) ? q : q.Peer is { } p && EncoderCapture(p) ? p : null;
        if (ctx != null) { EosMayCome(ctx); if (ctx.Context is { } f) f.EosWatch = false; }
        if (EncoderCapture(q))
        {
            if (started) q.Drain = EncoderDrain.Running;
            else if (q.Drain != EncoderDrain.Running) q.Drain = EncoderDrain.Unsure;
            if (q.LastDequeued) q.Drain = EncoderDrain.Unsure;
        }
        else if (q.Peer is { } cap && EncoderCapture(cap) && cap.Drain != EncoderDrain.Running) cap.Drain = EncoderDrain.Unsure;
        if (ctx != null) EosMayCome(ctx);
    }
}
