using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>
/// A stateful decoder's source change (dev-decoder.rst, Initialization step 4, Capture Setup, Dynamic Resolution Change), as
/// far as buffer sharing needs it, on the frames the suite writes itself (<see cref="Bitstream"/>): a frame of a resolution
/// other than the one the decoder signalled last is a change; the decoder signals V4L2_EVENT_SOURCE_CHANGE for it (VB2-DEC-1),
/// ends what CAPTURE decoded before it with a buffer flagged LAST, after which DQBUF of CAPTURE fails with EPIPE until CAPTURE
/// stops streaming (VB2-DEC-2), and from the signal on the CAPTURE format is the stream's: what REQBUFS and CREATE_BUFS
/// allocate follows it (VB2-DEC-3). When the decoder parses a frame is its own clock: until the event is dequeued or the
/// LAST buffer is, a change is "ahead" (<see cref="VideoQueue.StreamAhead"/>), and what it brings may or may not have come.
/// The state lives on the context's CAPTURE queue, the events on its file (<see cref="VideoFile.SrcWatch"/>).
/// </summary>
public sealed partial class ReferenceModel
{
    private const uint SrcChangeBit = 1u << (int)V4L2_EVENT_SOURCE_CHANGE;

    /// <summary>The marker of the sizes of buffers allocated while a source change was queued and not yet signalled (either
    /// format is then allowed: VB2-DEC-3 judges sizes only once the change was signalled); not an invariant ID.</summary>
    private const string UnsettledSizes = "unsettled: a source change queued, not yet signalled";

    /// <summary>A stateful decoder's CAPTURE queue whose stream the suite writes (the one whose stream state is kept).</summary>
    private static bool DecoderCapture(VideoQueue q) => q.Peer != null && !q.P.IsOutput && q.P.Codec == CodecKind.Decoder && q.P.Stream != null;

    /// <summary>A stateful decoder's open file (a mem2mem context whose OUTPUT format is coded).</summary>
    private static bool DecoderFile(VideoFile v) => v.Out != null && v.Q.P.Codec == CodecKind.Decoder;

    /// <summary>
    /// Writes one coded frame at the start of a mapping: the memory's words become the frame's (not followed word by word: a
    /// read of them may show any value), and the memory holds the frame (<see cref="Mem.Frame"/>) until a word of its header
    /// is written over or a device writes it. R0 = the frame's length.
    /// </summary>
    public Outcome WriteFrame(int map, int res)
    {
        long len = Bitstream.FrameLength(res);
        if (!_maps.TryGetValue(map, out var m) || (m.Prot & PROT_WRITE) == 0 || len > m.Length) return Outcome.Fail(Errno.NotRun);
        if (!m.Locate(0, out var mem, out var memOff)) return Outcome.Fail(Errno.NotRun);
        // every segment the frame covers now holds frame bytes; the first keeps the frame itself (its header is there)
        long start = 0;
        foreach (var seg in m.Segs)
        {
            long end = start + seg.Length;
            if (end > m.Base && start < m.Base + len) seg.Mem.DeviceWrote();
            start = end;
        }
        mem.Frame = new CodedFrame(memOff, res, len);
        HarnessWroteQueued(mem);
        return Outcome.Success(len);
    }

    /// <summary>The harness wrote memory that a decoder's queued OUTPUT buffer holds: the buffer belongs to the driver until it
    /// is dequeued (buffer.rst), and what the decoder parses from it now depends on when it reads it, so where the stream
    /// stands is past what the model follows (<see cref="VideoQueue.StreamUnsure"/>).</summary>
    private void HarnessWroteQueued(Mem mem)
    {
        foreach (var f in _contexts)
        {
            // (before STREAMON the driver has seen nothing: STREAMON hands the buffers over as they are then)
            if (f.Out is not { Streaming: true } outq || !DecoderCapture(f.Q) || f.Q.StreamUnsure) continue;
            foreach (int i in outq.QueuedOrder)
                if (outq.Bufs[i] is { } b && b.Memory().Contains(mem)) { Unsure(f.Q); break; }
        }
    }

    /// <summary>What the decoder finds in an OUTPUT buffer queued with <paramref name="payload"/> bytes: the resolution of the
    /// frame it holds whole, -1 when it holds part of one (the rest would come from the next buffer), null for none.</summary>
    private static int? FrameQueued(VideoBuffer b, long payload)
    {
        var p = b.Planes[0];
        Seg? first = p.Mem != null ? new Seg(p.Mem, 0, p.Mem.Size) : p.Imported is { } d ? d.Segs[0] : p.UserMem is { } u ? u[0] : null;
        if (first is not { } s || s.Mem.Frame is not { } f || f.Offset < s.MemOffset) return null;
        long at = f.Offset - s.MemOffset;
        if (at + f.Length <= Math.Min(payload, s.Length)) return f.Res;
        return at < payload ? -1 : null;
    }

    /// <summary>A buffer on a decoder's OUTPUT queue reached the driver (queued while the queue streams, or queued before and handed
    /// over at STREAMON, in order): a frame it holds joins the stream ahead. A frame of a new resolution while the file is subscribed is owed its
    /// event; from now on, until the change is signalled, CAPTURE allocations may get either format.</summary>
    private static void StreamQueued(VideoQueue outq, VideoBuffer b)
    {
        if (outq.Peer is not { } cap || !DecoderCapture(cap) || outq.P.MultiPlanar) return;
        if (FrameQueued(b, b.Payload) is not { } res) return;
        // a frame queued after a STOP waits with its buffer (VB2-DEC-8) and is parsed only once the decoder resumes: where the
        // stream then stands is past what the model follows (the drain's own LAST buffer is still judged)
        if (res < 0 || cap.Drain is CodecDrain.Draining or CodecDrain.Stopped) { Unsure(cap); return; }
        bool wasAhead = ChangeAhead(cap) != null;
        cap.StreamAhead.Add(res);
        if (!wasAhead) ExpectChange(cap);
        SourceChangeMayCome(cap);
    }

    /// <summary>If a change is now ahead (none was): a file subscribed to SOURCE_CHANGE is owed its event, and until the change
    /// is signalled CAPTURE allocations may get the new format's sizes or the old one's (not judged).</summary>
    private static void ExpectChange(VideoQueue cap)
    {
        if (ChangeAhead(cap) is not { } next) return;
        if (cap.Context is { } f && (f.Subscribed & SrcChangeBit) != 0 && !cap.StreamUnsure) f.SrcWatch = true;
        if (cap.P.Stream!.CaptureSizes[next] is > 0 and var size) cap.PlaneSizes = [size];
        cap.FmtAnswers.Clear();
        cap.SizesAtStake = UnsettledSizes;
    }

    /// <summary>Where the stream stands is past what the model follows, for the rest of the context's life: an event may come at
    /// any time, and a LAST buffer too. (The sizes CAPTURE allocates stay judged once a change was signalled: the model cannot
    /// follow a target's other size into the state that rests on it, a mapping it refused, and every resolution the suite
    /// writes has one CAPTURE size on the decoders it certifies, spec/notes/vicodec-drc-small-buffers.md.)</summary>
    private static void Unsure(VideoQueue cap)
    {
        cap.StreamUnsure = true;
        SourceChangeMayCome(cap);
    }

    /// <summary>The resolution of the first frame ahead that differs from the one signalled last (any, before the first), or null.</summary>
    private static int? ChangeAhead(VideoQueue cap)
    {
        foreach (int r in cap.StreamAhead) if (r != cap.StreamRes) return r;
        return null;
    }

    /// <summary>While a change is ahead (or the stream is past what the model follows, or OUTPUT restarted with frames queued),
    /// a file subscribed to SOURCE_CHANGE may have it pending at any time.</summary>
    private static void SourceChangeMayCome(VideoQueue cap)
    {
        if (cap.Context is not { } f || (f.Subscribed & SrcChangeBit) == 0) return;
        if (ChangeAhead(cap) != null || cap.StreamUnsure || cap.Reparse && cap.StreamAhead.Count > 0) f.Maybe |= SrcChangeBit;
    }

    /// <summary>
    /// The decoder has signalled the change ahead (its event was dequeued, or its LAST buffer): that resolution is the stream's
    /// and the frames up to it are parsed; the CAPTURE format is now the one the decoder gives it (VB2-DEC-3), unless the bug
    /// keeps the old one. With CAPTURE streaming, the change's LAST buffer may still come.
    /// </summary>
    private void DecoderSignalled(VideoQueue cap)
    {
        cap.Reparse = false;
        if (ChangeAhead(cap) is not { } res) return;
        int at = cap.StreamAhead.FindIndex(r => r != cap.StreamRes);
        cap.StreamAhead.RemoveRange(0, at + 1);
        cap.StreamRes = res;
        if (cap.Streaming) cap.LastMayCome = true;
        // the bug (as a target): the CAPTURE format keeps the sizes it had before the stream said otherwise
        if (!_hasActual && Broken(ModelBug.CaptureFormatStale))
            cap.PlaneSizes = [.. cap.P.PlaneSizes];
        else if (cap.P.Stream!.CaptureSizes[res] > 0)
            TakeFormat(cap, [cap.P.Stream!.CaptureSizes[res]]);
        // a resolution whose CAPTURE size discovery could not read (the decoder gave it no event): its sizes are not judged
        cap.SizesAtStake = cap.P.Stream!.CaptureSizes[res] > 0 ? Inv.DecStreamFormat : UnsettledSizes;
        ExpectChange(cap);   // a further change queued behind this one
        SourceChangeMayCome(cap);
    }

    /// <summary>Whether a CAPTURE buffer of a decoder may come back flagged LAST now: a change is ahead or was signalled while
    /// CAPTURE streamed and its LAST buffer has not come (or the stream is past what the model follows). Cites VB2-DEC-2 where
    /// that is judged.</summary>
    private bool DecoderLastAllowed(VideoQueue cap)
    {
        if (cap.StreamUnsure) return true;
        Cite(Inv.DecChangeLast);
        // the bug (as a target): a LAST buffer with no resolution change
        if (!_hasActual && Broken(ModelBug.LastWithoutChange)) return true;
        return ChangeAhead(cap) != null || cap.LastMayCome;
    }

    /// <summary>A CAPTURE buffer flagged LAST was dequeued from a decoder: the change ahead is signalled (if it was not), and a
    /// file subscribed when its frame was queued has the event pending now (VB2-DEC-1), unless dequeued already.</summary>
    private void DecoderLast(VideoQueue cap)
    {
        bool owed = cap.Context is { SrcWatch: true } && !cap.StreamUnsure;   // past what the model follows, nothing is owed
        DecoderSignalled(cap);
        cap.LastMayCome = false;
        if (cap.Context is not { } f || !owed) return;
        f.SrcWatch = ChangeAhead(cap) != null && (f.Subscribed & SrcChangeBit) != 0;
        // the bug (as a target): the decoder never signals the change
        if (!_hasActual && Broken(ModelBug.SourceChangeNever)) { f.Maybe &= ~SrcChangeBit; return; }
        f.Pending |= SrcChangeBit;
        if (!f.SrcWatch) f.Maybe &= ~SrcChangeBit;
    }

    /// <summary>A decoder's queue stops streaming. CAPTURE: a LAST buffer no longer comes (vicodec's stop_streaming clears the
    /// change it waits on). OUTPUT that streamed (a seek, dev-decoder.rst: "would abort the sequence"): the frames it held are
    /// gone; a change ahead may have been parsed or not, so the stream is past what the model follows; and the decoder parses
    /// the next first frame afresh.</summary>
    private static void DecoderOnStop(VideoQueue q, bool wasStreaming)
    {
        if (DecoderCapture(q)) { q.LastMayCome = false; return; }
        if (!q.P.IsOutput || q.Peer is not { } cap || !DecoderCapture(cap)) return;
        if (!wasStreaming) { cap.StreamAhead.Clear(); return; }
        if (ChangeAhead(cap) != null) Unsure(cap);
        if (cap.StreamAhead.Count > 0 || cap.StreamRes != null) cap.Reparse = true;
        cap.StreamAhead.Clear();
        if (cap.Context is { } f) f.SrcWatch = false;
    }
}
