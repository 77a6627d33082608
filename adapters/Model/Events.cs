using System.Numerics;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>
/// V4L2 events on a stateful codec's file (vidioc-subscribe-event.rst, vidioc-dqevent.rst, func-poll.rst; v4l2-event.c and
/// v4l2_m2m_poll in 6.12): which types the file is subscribed to, which are certainly pending and which may be, the EOS an
/// encoder's drain signals (dev-encoder.rst, Drain; VB2-DRAIN-4) and the SOURCE_CHANGE a decoder's stream brings
/// (dev-decoder.rst; VB2-DEC-1, in Decoder.cs). The state is kept on the open file (<see cref="VideoFile.Subscribed"/>,
/// <see cref="VideoFile.Pending"/>, <see cref="VideoFile.Maybe"/>).
/// </summary>
public sealed partial class ReferenceModel
{
    private const uint EosBit = 1u << (int)V4L2_EVENT_EOS;

    /// <summary>The one-bit mask of an event type, 0 for a type past the mask's width.</summary>
    private static uint EventBit(uint type) => type < 32 ? 1u << (int)type : 0;

    /// <summary>
    /// VIDIOC_SUBSCRIBE_EVENT or VIDIOC_UNSUBSCRIBE_EVENT (id and flags 0). On a node that is not a stateful codec: ENOTTY
    /// (the generator sends it only to codecs). Unsubscribing always succeeds and drops the ended subscriptions' pending
    /// events (V4L2_EVENT_ALL: every one); subscribing V4L2_EVENT_ALL fails with EINVAL; EOS is taken, and on a decoder
    /// SOURCE_CHANGE too (VB2-DEC-1); another type is the codec's choice (not judged).
    /// </summary>
    public Outcome SubscribeEvent(int fd, uint type, bool unsubscribe)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        if (!CodecFile(v)) return Outcome.Fail(Errno.ENOTTY);
        Cite(Inv.EventSubscribe);
        uint bit = EventBit(type);
        if (unsubscribe)
        {
            uint gone = type == V4L2_EVENT_ALL ? v.Subscribed : v.Subscribed & bit;
            v.Subscribed &= ~gone;
            v.Ended |= gone;
            // the bug (as a target): an ended subscription's pending event is still there to dequeue
            if (!(!_hasActual && Broken(ModelBug.UnsubscribeKeepsPending))) v.Pending &= ~gone;
            v.Maybe &= ~gone;
            if ((gone & EosBit) != 0) v.EosWatch = false;
            if ((gone & SrcChangeBit) != 0) v.SrcWatch = false;
            return Outcome.Success();
        }
        if (type == V4L2_EVENT_ALL) return Outcome.Fail(Errno.EINVAL);
        if (type == V4L2_EVENT_SOURCE_CHANGE && DecoderCapture(v.Q))
        {
            // a stateful decoder signals it (dev-decoder.rst): taken; pending at once if a change is ahead of the decoder
            Cite(Inv.DecSourceChange);
            v.Subscribed |= SrcChangeBit;
            v.Ended &= ~SrcChangeBit;
            SourceChangeMayCome(v.Q);
            return Outcome.Success();
        }
        if (type != V4L2_EVENT_EOS)
        {
            // whether an encoder signals a source change is its own (vicodec refuses it), and so whether a decoder whose stream
            // the suite does not write takes one: if taken, it may come at any time
            if (Choose("0 or EINVAL (whether this codec takes this event is its own choice)", Outcome.Success(), Outcome.Fail(Errno.EINVAL)) == 1)
                return Outcome.Fail(Errno.EINVAL);
            v.Subscribed |= bit;
            v.Ended &= ~bit;
            v.Maybe |= bit;
            return Outcome.Success();
        }
        v.Subscribed |= EosBit;   // subscribing again keeps the subscription as it is
        v.Ended &= ~EosBit;
        EosMayCome(v.Q);
        return Outcome.Success();
    }

    /// <summary>
    /// VIDIOC_DQEVENT on an O_NONBLOCK file: ENOENT while no event is pending; else a pending event with pending = how many
    /// are still pending after it. Which event comes first, and whether one caused on the device's clock has come yet, the
    /// target's answer decides among those allowed.
    /// </summary>
    public Outcome DQEvent(int fd)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        if (!CodecFile(v)) return Outcome.Fail(Errno.ENOTTY);
        EosMayCome(v.Q);
        SourceChangeMayCome(v.Q);
        // a source change comes with a new resolution, and only then: one owed or given rests on VB2-DEC-1, judged too where
        // none may come and none did
        // (an event made certain before the stream went past what the model follows is still owed)
        bool srcJudged = DecoderCapture(v.Q) && !v.Q.StreamUnsure && (v.Subscribed & SrcChangeBit) != 0;
        bool srcDecides = DecoderCapture(v.Q) && (v.Subscribed & SrcChangeBit) != 0
            && ((v.Pending & SrcChangeBit) != 0 || srcJudged && _hasActual && _actual.Ok && _actual.R0 == V4L2_EVENT_SOURCE_CHANGE);
        if (srcJudged && !srcDecides) Cite(Inv.DecSourceChange);
        // an EOS comes with the drain's end, and only then: an EOS owed or given rests on VB2-DRAIN-4 (VB2-DEC-7 on a decoder);
        // where none is owed and none came, that was judged too, and the rest of the answer rests on VB2-EVENT-2
        var eosRule = Ids(v.Q).Eos;
        bool eosSure = DrainFile(v) && (v.Subscribed & EosBit) != 0 && (v.Maybe & EosBit) == 0;
        bool eosDecides = DrainFile(v) && (v.Subscribed & EosBit) != 0 && ((v.Pending & EosBit) != 0 || _hasActual && _actual.Ok && _actual.R0 == V4L2_EVENT_EOS);
        if (eosSure && !eosDecides) Cite(eosRule);
        Cite(Inv.EventDequeue);
        if (eosDecides) Cite(eosRule);
        if (srcDecides) Cite(Inv.DecSourceChange);
        // an event of a type whose subscription was ended: its pending instance should have gone with it
        if (_hasActual && _actual.Ok && (v.Ended & EventBit((uint)_actual.R0)) != 0) Cite(Inv.EventSubscribe);
        uint could = v.Pending | v.Maybe;
        var forms = new List<(Outcome O, uint Type, uint NowPending)>();
        // the bug (as a target): an empty event queue answers EAGAIN, as an empty buffer queue does
        if (v.Pending == 0) forms.Add((Outcome.Fail(!_hasActual && Broken(ModelBug.DQEventEagain) ? Errno.EAGAIN : Errno.ENOENT), 0, 0));
        foreach (uint type in (uint[])[V4L2_EVENT_EOS, V4L2_EVENT_SOURCE_CHANGE])
        {
            uint bit = EventBit(type);
            if ((could & bit) == 0) continue;
            uint sure = v.Pending & ~bit, unsure = v.Maybe & ~v.Pending & ~bit;
            // the others certainly pending, and any of those that may be
            forms.Add((Outcome.Success(type, BitOperations.PopCount(sure)), bit, sure));
            if (unsure != 0) forms.Add((Outcome.Success(type, BitOperations.PopCount(sure | unsure)), bit, sure | unsure));
        }
        var (o, got, still) = forms[Choose("ENOENT while none is pending, or a pending event with the count still pending after it", [.. forms.Select(f => f.O)])];
        if (!o.Ok) return o;
        v.Pending = still;
        v.Maybe &= ~got & ~still;
        if (got == EosBit) v.EosWatch = false;
        if (got == SrcChangeBit && DecoderCapture(v.Q))
        {
            v.SrcWatch = false;
            DecoderSignalled(v.Q);   // the decoder has parsed the change: queries now answer for it
        }
        return o;
    }

    /// <summary>
    /// Whether an event is certain to come on fd's file, so that a poll() for POLLPRI with a timeout returns before it runs out
    /// (<see cref="EventWait"/> is issued only then): one is pending, or a decoder owes the event of its stream's first
    /// resolution (<see cref="FirstChangeOwed"/>). Pure.
    /// </summary>
    public bool EventComes(int fd) => TryFile(fd, out var f) && f is VideoFile v && EventComes(v);

    private static bool EventComes(VideoFile v) => CodecFile(v) && (v.Pending != 0 || FirstChangeOwed(v));

    /// <summary>
    /// A stateful decoder's file owes the event of the stream's first resolution: it was subscribed when a whole frame reached
    /// the driver (queued while OUTPUT streams, or at STREAMON), no resolution was signalled yet, and CAPTURE is not streaming,
    /// so the decoder has nothing to do but parse what OUTPUT holds "until required metadata to configure the CAPTURE queue
    /// are found. This is indicated by the decoder sending a V4L2_EVENT_SOURCE_CHANGE event" (dev-decoder.rst, Initialization,
    /// step 4). Not where the stream is past what the model follows.
    /// </summary>
    private static bool FirstChangeOwed(VideoFile v) =>
        DecoderCapture(v.Q) && v.SrcWatch && (v.Pending & SrcChangeBit) == 0 && v.Q.StreamRes == null && !v.Q.Streaming
        && !v.Q.StreamUnsure && ChangeAhead(v.Q) != null && v.Out is { Streaming: true };

    /// <summary>
    /// poll() for POLLPRI with a timeout (<see cref="EventWait"/>), issued only where an event is certain to come: POLLPRI. An
    /// event a decoder owes for its stream's first resolution is pending from then on (VB2-DEC-1). Where none is certain the op
    /// is not run (it could wait the whole timeout).
    /// </summary>
    public Outcome EventWait(int fd, int timeoutMs)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        bool comes = EventComes(v);
        if (_hasActual && !comes) return Outcome.NotRun;   // the harness never issues it where it could wait out
        if (!comes) return EventPoll(v);                   // the model as the device: what the wait would end with
        Cite(Inv.EventDequeue);
        // the event that is certain rests on the rule that made it so
        if ((v.Pending & EosBit) != 0 && DrainFile(v)) Cite(Ids(v.Q).Eos);
        bool first = FirstChangeOwed(v);
        if (first || (v.Pending & SrcChangeBit) != 0 && DecoderCapture(v.Q)) Cite(Inv.DecSourceChange);
        if (first)
        {
            // the bug (as a target): the decoder never signals the change
            if (!_hasActual && Broken(ModelBug.SourceChangeNever)) return Outcome.Success(0);
            v.Pending |= SrcChangeBit;
            v.Maybe &= ~SrcChangeBit;
        }
        return Outcome.Success(POLLPRI);
    }

    /// <summary>poll() of a stateful codec's file for POLLPRI alone: POLLPRI when an event is pending, 0 when none can be,
    /// either while one may have come on the device's clock. Starts nothing.</summary>
    private Outcome EventPoll(VideoFile v)
    {
        Cite(Inv.EventDequeue);
        EosMayCome(v.Q);
        SourceChangeMayCome(v.Q);
        bool shown = v.Pending == 0 && _hasActual && (_actual.R0 & POLLPRI) != 0;
        if ((v.Subscribed & EosBit) != 0 && ((v.Pending & EosBit) != 0 || shown) && DrainFile(v))
            Cite(Ids(v.Q).Eos);
        if ((v.Subscribed & SrcChangeBit) != 0 && DecoderCapture(v.Q) && ((v.Pending & SrcChangeBit) != 0 || !v.Q.StreamUnsure && shown))
            Cite(Inv.DecSourceChange);
        if (v.Pending != 0) return Outcome.Success(POLLPRI);
        if (v.Maybe == 0) return Outcome.Success(0);
        return Choose("0 or POLLPRI (an event caused on the device's clock may have come)", Outcome.Success(0), Outcome.Success(POLLPRI)) == 0
            ? Outcome.Success(0) : Outcome.Success(POLLPRI);
    }

    /// <summary>For a generator: the event types the file behind fd is subscribed to (one bit, 1 &lt;&lt; type, each), 0 for a
    /// file that is not a video node's.</summary>
    public uint SubscribedEvents(int fd) => TryFile(fd, out var f) && f is VideoFile v ? v.Subscribed : 0;

    /// <summary>While cap's drain is in progress or past what the documentation describes, an EOS may be signalled on its
    /// context's file (if subscribed) at any time: vicodec, for one, signals it again when OUTPUT stops after a drain.</summary>
    private static void EosMayCome(VideoQueue cap)
    {
        if (cap.Context is { } f && (f.Subscribed & EosBit) != 0 && cap.Drain is CodecDrain.Draining or CodecDrain.Unsure) f.Maybe |= EosBit;
    }

    /// <summary>STOP began a drain on cap: a file subscribed to EOS now is owed one when the LAST buffer comes (VB2-DRAIN-4).</summary>
    private static void EosOnStop(VideoQueue cap)
    {
        if (cap.Context is { } f && (f.Subscribed & EosBit) != 0 && cap.Drain == CodecDrain.Draining) f.EosWatch = true;
        EosMayCome(cap);
    }

    /// <summary>The drain's LAST buffer was dequeued from cap: the EOS owed is pending now (dev-encoder.rst: signalled "when the
    /// last frame has been encoded and all frames are ready to be dequeued").</summary>
    private void EosOnLast(VideoQueue cap)
    {
        if (cap.Context is not { } f || !f.EosWatch) return;
        f.EosWatch = false;
        // the bug (as a target): the drain ends without the EOS event
        if (!_hasActual && Broken(ModelBug.EosNever)) { f.Maybe &= ~EosBit; return; }
        f.Pending |= EosBit;
        f.Maybe &= ~EosBit;
    }
}
