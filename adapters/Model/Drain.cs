using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>
/// A stateful codec's drain (dev-encoder.rst and dev-decoder.rst, Drain; vidioc-encoder-cmd.rst, vidioc-decoder-cmd.rst;
/// vidioc-qbuf.rst, EPIPE): VIDIOC_ENCODER_CMD or VIDIOC_DECODER_CMD STOP with both queues streaming makes the codec finish the
/// OUTPUT buffers queued before it and return a CAPTURE buffer flagged V4L2_BUF_FLAG_LAST; once that buffer is dequeued, DQBUF
/// of CAPTURE fails with EPIPE until START resumes the codec or CAPTURE stops streaming. In 6.12: v4l2_m2m_encoder_cmd,
/// v4l2_m2m_decoder_cmd, v4l2_update_last_buf_state and v4l2_m2m_last_buffer_done in v4l2-mem2mem.c, vb2_dqbuf's
/// last_buffer_dequeued in videobuf2-v4l2.c, __vb2_wait_for_done_vb in videobuf2-core.c. The two documents describe the same
/// sequence; an encoder's rules are VB2-DRAIN-1..5, a decoder's VB2-DEC-4..8 (<see cref="DrainIds"/>). The drain state lives
/// on the context's CAPTURE queue (<see cref="VideoQueue.Drain"/>).
/// </summary>
public sealed partial class ReferenceModel
{
    /// <summary>The invariants a codec's drain rests on: the command ioctl, the LAST buffer and EPIPE, the resume by START, the
    /// EOS event, and the OUTPUT buffers held after the STOP.</summary>
    private sealed record DrainIds(string Cmd, string Last, string Resume, string Eos, string Hold);

    private static readonly DrainIds EncoderDrainIds = new(Inv.EncoderCmd, Inv.DrainLast, Inv.DrainResume, Inv.DrainEos, Inv.DrainHold);
    private static readonly DrainIds DecoderDrainIds = new(Inv.DecoderCmd, Inv.DecDrainLast, Inv.DecResume, Inv.DecDrainEos, Inv.DecDrainHold);

    /// <summary>The drain invariants of the codec whose CAPTURE queue (or OUTPUT queue) q is.</summary>
    private static DrainIds Ids(VideoQueue q) => q.P.Codec == CodecKind.Decoder ? DecoderDrainIds : EncoderDrainIds;

    /// <summary>
    /// VIDIOC_ENCODER_CMD or VIDIOC_TRY_ENCODER_CMD (flags and data 0). On a node that is not a stateful encoder: ENOTTY (the
    /// generator sends it only to encoders). Otherwise as <see cref="CodecCmd"/>.
    /// </summary>
    public Outcome EncoderCmd(int fd, uint cmd, bool tryOnly)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        if (!EncoderFile(v)) return Outcome.Fail(Errno.ENOTTY);
        return CodecCmd(v, cmd, tryOnly);
    }

    /// <summary>
    /// VIDIOC_DECODER_CMD or VIDIOC_TRY_DECODER_CMD (flags and data 0). On a node that is not a stateful decoder whose stream
    /// the suite writes: ENOTTY (the generator sends it only there). Otherwise as <see cref="CodecCmd"/>: STOP and START carry
    /// the encoder's numbers, and START also resumes a decoder stopped at a resolution change (dev-decoder.rst, Dynamic
    /// Resolution Change: "or a call to VIDIOC_DECODER_CMD with the V4L2_DEC_CMD_START command").
    /// </summary>
    public Outcome DecoderCmd(int fd, uint cmd, bool tryOnly)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        if (!DecoderFile(v) || !DecoderCapture(v.Q)) return Outcome.Fail(Errno.ENOTTY);
        return CodecCmd(v, cmd, tryOnly);
    }

    /// <summary>
    /// A stateful codec's command: one other than STOP and START is refused with EINVAL (VB2-DRAIN-1, VB2-DEC-4); TRY executes
    /// nothing; STOP and START while a drain is in progress fail with EBUSY, or succeed once the device has returned its last
    /// buffer on its own clock; STOP with both queues streaming begins the drain; START after it resumes.
    /// </summary>
    private Outcome CodecCmd(VideoFile v, uint cmd, bool tryOnly)
    {
        var outq = v.Out!;   // a codec's file has both queues
        var cap = v.Q;
        var ids = Ids(cap);
        Cite(ids.Cmd);
        // V4L2_ENC_CMD_STOP/START and V4L2_DEC_CMD_STOP/START have the same numbers (1 and 0)
        if (cmd is not (V4L2_ENC_CMD_STOP or V4L2_ENC_CMD_START))
            return !_hasActual && Broken(ModelBug.CodecCmdAcceptsAny) ? Outcome.Success() : Outcome.Fail(Errno.EINVAL);   // the bug: any number goes
        if (tryOnly) return Outcome.Success();
        bool decoder = DecoderCapture(cap);
        switch (cap.Drain)
        {
            case CodecDrain.Draining when cap.QueuedOrder.Count == 0:
                // no CAPTURE buffer queued: none can have come back as the LAST one, so the drain is still in progress
                return Outcome.Fail(Errno.EBUSY);
            case CodecDrain.Draining:
                // the device ends the drain when it returns the LAST buffer, which this model has not seen yet: EBUSY while it
                // runs, 0 once it is over (what follows is then past what the documentation describes)
                if (Choose("EBUSY while the drain is in progress, or 0 once the device has returned its last buffer", Outcome.Fail(Errno.EBUSY), Outcome.Success()) == 0)
                    return Outcome.Fail(Errno.EBUSY);
                cap.Drain = CodecDrain.Unsure;
                return Outcome.Success();
            case CodecDrain.Stopped when cmd == V4L2_ENC_CMD_START:
            case CodecDrain.Running when cmd == V4L2_ENC_CMD_START && decoder && cap.LastDequeued:
                // "the encoder [decoder] will not be reset and will resume operation normally": DQBUF waits for buffers again
                // (a decoder stopped at a resolution change resumes the same way)
                Cite(ids.Resume);
                // once the resume rule has failed on this target (vicodec keeps EPIPE), the oracle follows it: whether vb2 still
                // answers EPIPE is then not judged, so that the rest of the sequence is
                if (Relaxed.Contains(ids.Resume)) { cap.Drain = CodecDrain.Unsure; return Outcome.Success(); }
                if (!(!_hasActual && Broken(ModelBug.StartKeepsEpipe))) cap.LastDequeued = false;   // the bug: still EPIPE
                cap.Drain = CodecDrain.Running;
                cap.Resumed = true;
                return Outcome.Success();
            case CodecDrain.Running when cmd == V4L2_ENC_CMD_STOP:
                // "The sequence can be only initiated if both OUTPUT and CAPTURE queues are streaming ... the call will not
                // fail even if any of the queues is not streaming, but ... it will not initiate the Drain sequence"; the kernel's
                // helpers and drivers differ there (spec/ambiguities.md, AMB-37): not judged. A decoder's drain begun with a
                // resolution change queued ahead (or with the stream past what the model follows, or stopped at a change's LAST
                // buffer) goes through the change first, and its LAST buffer may be either's: not judged either.
                bool settled = !decoder || ChangeAhead(cap) == null && !cap.StreamUnsure && !cap.LastDequeued && !cap.LastMayCome;
                cap.Drain = cap.Streaming && outq.Streaming && settled ? CodecDrain.Draining : CodecDrain.Unsure;
                if (cap.Drain == CodecDrain.Draining) Cite(ids.Last);
                // the OUTPUT buffers queued now are the ones this drain processes; any queued from here on wait (VB2-DRAIN-5)
                foreach (var i in outq.QueuedOrder) if (outq.Bufs[i] is { } ob) ob.AfterStop = false;
                EosOnStop(cap);
                return Outcome.Success();
            case CodecDrain.Unsure:
                // a drain the code may have begun where the documentation says none begins (AMB-37): EBUSY or 0, not judged
                return Choose("0, or EBUSY if the driver began a drain (AMB-37: not judged)", Outcome.Success(), Outcome.Fail(Errno.EBUSY)) == 0
                    ? Outcome.Success() : Outcome.Fail(Errno.EBUSY);
            default:
                // STOP when stopped, START when running: nothing to do; a STOP once stopped may signal the end of the stream
                // again (vicodec queues another EOS), which no rule forbids
                if (cmd == V4L2_ENC_CMD_STOP && cap.Context is { } f && (f.Subscribed & EosBit) != 0) f.Maybe |= EosBit;
                return Outcome.Success();
        }
    }

    /// <summary>A stateful encoder's CAPTURE queue (the one whose <see cref="VideoQueue.Drain"/> is kept).</summary>
    private static bool EncoderCapture(VideoQueue q) => q.Peer != null && !q.P.IsOutput && q.P.Codec == CodecKind.Encoder;

    /// <summary>A stateful encoder's open file: a mem2mem context whose CAPTURE format is coded.</summary>
    private static bool EncoderFile(VideoFile v) => v.Out != null && v.Q.P.Codec == CodecKind.Encoder;

    /// <summary>A stateful codec's open file (an encoder's, or a decoder's: a mem2mem context with a coded format on one side),
    /// whose events (EOS, SOURCE_CHANGE) the model follows.</summary>
    private static bool CodecFile(VideoFile v) => EncoderFile(v) || DecoderFile(v);

    /// <summary>A stateful codec's CAPTURE queue whose drain the model follows: an encoder's, or a decoder's whose stream the suite
    /// writes.</summary>
    private static bool DrainCapture(VideoQueue q) => EncoderCapture(q) || DecoderCapture(q);

    /// <summary>An open file of a codec whose drain the model follows (<see cref="DrainCapture"/>).</summary>
    private static bool DrainFile(VideoFile v) => v.Out != null && DrainCapture(v.Q);

    /// <summary>A codec's OUTPUT queue while its drain runs or after it has stopped: what is queued now waits for START or a
    /// STREAMOFF (VB2-DRAIN-5, VB2-DEC-8).</summary>
    private static bool HoldsNewOutput(VideoQueue q) =>
        q.P.IsOutput && q.Peer is { } cap && DrainCapture(cap) && cap.Drain is CodecDrain.Draining or CodecDrain.Stopped;

    /// <summary>
    /// What DQBUF of q gives before it looks for a done buffer, once the queue streams: EPIPE after a LAST buffer was dequeued
    /// (VB2-DRAIN-2; VB2-DRAIN-3 after a START), null otherwise. Where the drain is past what the documentation describes,
    /// EPIPE or the usual outcome.
    /// </summary>
    private Outcome? DrainDQBuf(VideoQueue q)
    {
        if (DrainCapture(q) && q.Drain == CodecDrain.Unsure)
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
        Cite(q.LastBy ?? Ids(q).Last);
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
        Outcome[] either = [got, Outcome.Success(got.R0, got.R1 | V4L2_BUF_FLAG_LAST)];
        if (!DrainCapture(q)) return [got];
        if (q.Drain == CodecDrain.Unsure) return either;
        // a decoder's LAST buffer ends a drain, or what it decoded before a resolution change (VB2-DEC-2)
        if (DecoderCapture(q) && q.Drain != CodecDrain.Draining) return DecoderLastAllowed(q) ? either : [got];
        Cite(Ids(q).Last);   // judged: LAST during a drain only
        return q.Drain == CodecDrain.Draining ? either : [got];
    }

    /// <summary>Resumed by START after a drain, the queue answers as before it: an EPIPE the target gives rests on VB2-DRAIN-3.</summary>
    private void ResumedDecides(VideoQueue q)
    {
        if (q.Resumed && _hasActual && _actual.Errno == Errno.EPIPE) _decidedBy = Ids(q).Resume;
    }

    /// <summary>A CAPTURE buffer was dequeued in the form <paramref name="got"/>: flagged LAST, the encoder has stopped and vb2
    /// makes every later DQBUF of the queue fail with EPIPE (vb2_dqbuf sets last_buffer_dequeued).</summary>
    private void DrainTook(VideoQueue q, in Outcome got)
    {
        if (!got.Ok || (got.R1 & V4L2_BUF_FLAG_LAST) == 0 || q.P.IsOutput) return;
        EosOnLast(q);
        // a decoder's LAST buffer during a drain (begun with no change ahead) is the drain's; otherwise a resolution change's
        bool change = DecoderCapture(q) && q.Drain != CodecDrain.Draining;
        if (change) DecoderLast(q);
        q.LastBy = change ? Inv.DecChangeLast : Ids(q).Last;
        q.LastDequeued = true;
        q.Resumed = false;
        if (q.Drain == CodecDrain.Draining) q.Drain = CodecDrain.Stopped;
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
        var ctx = DrainCapture(q) ? q : q.Peer is { } p && DrainCapture(p) ? p : null;
        if (ctx != null) { EosMayCome(ctx); if (ctx.Context is { } f) f.EosWatch = false; }
        if (DrainCapture(q))
        {
            if (started) q.Drain = CodecDrain.Running;
            else if (q.Drain != CodecDrain.Running) q.Drain = CodecDrain.Unsure;
            if (q.LastDequeued) q.Drain = CodecDrain.Unsure;
        }
        else if (q.Peer is { } cap && DrainCapture(cap) && cap.Drain != CodecDrain.Running) cap.Drain = CodecDrain.Unsure;
        if (ctx != null) EosMayCome(ctx);
    }
}
