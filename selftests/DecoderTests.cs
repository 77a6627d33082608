using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Spec;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// The reference model as the oracle of a stateful decoder (VB2-DEC-1, VB2-DEC-4..8; adapters/Model/Drain.cs, Decoder.cs, Events.cs), fed what
/// vicodec's decoder did in the lab: the documented drain is judged with the decoder's own rules, and a drain begun while a
/// resolution change is queued ahead (whose LAST buffer may be either's) is not.
/// </summary>
public class DecoderTests
{
    private static readonly TargetProfile Dec = TargetProfile.VicodecDecoderLike;
    private static readonly Var V1 = new(1);
    private const uint Cap = V4L2_BUF_TYPE_VIDEO_CAPTURE, Out = V4L2_BUF_TYPE_VIDEO_OUTPUT, Mmap = V4L2_MEMORY_MMAP;
    private static readonly Outcome Ok = Outcome.Success();
    private static readonly long Caps = Dec.Video[0].Capabilities;

    /// <summary>Each op with the outcome the target gave, from a fresh environment (<see cref="CodecDrainTests.Follow"/>).</summary>
    private static List<(bool Allowed, string? Rule)> Follow(ReferenceModel m, params (Op Op, Outcome Actual)[] steps) =>
        CodecDrainTests.Follow(m, new Env(), steps);

    private static (Op, Outcome)[] Steps(params (Op Op, Outcome Actual)[] steps) =>
        [.. steps.Select((s, i) => (s.Op with { Id = i + 1 }, s.Actual))];

    /// <summary>Both queues allocated (one MMAP buffer each) and streaming, no frame queued.</summary>
    private static (Op, Outcome)[] Streaming =>
    [
        (new Open("video0", O_RDWR | O_NONBLOCK), Ok), (new ReqBufs(V1, Out, Mmap, 1), Outcome.Success(1, Caps)),
        (new ReqBufs(V1, Cap, Mmap, 1), Outcome.Success(1, Caps)), (new StreamOn(V1, Out), Ok), (new StreamOn(V1, Cap), Ok),
    ];

    [Fact]
    public void Vicodecs_decoder_START_that_keeps_EPIPE_is_a_VB2_DEC_6_failure_at_the_last_step()
    {
        // the lab's 10 steps on vicodec's stateful decoder (6.12.118, /dev/video10)
        var steps = Steps([.. Streaming, (new QBuf(V1, Cap, 0, Mmap, Var.None), Ok), (new DecoderCmd(V1, V4L2_DEC_CMD_STOP, false), Ok),
            (new DQBufBlocking(V1, Cap), Outcome.Success(0, V4L2_BUF_FLAG_LAST)), (new DecoderCmd(V1, V4L2_DEC_CMD_START, false), Ok),
            (new DQBuf(V1, Cap), Outcome.Fail(Errno.EPIPE))]);
        var r = Follow(new ReferenceModel(Dec), steps);
        Assert.All(r.Take(9), s => Assert.True(s.Allowed));
        Assert.Equal((false, Inv.DecResume), r[9]);
        // the drain's LAST buffer was judged by the decoder's rule, not the encoder's
        Assert.Equal(Inv.DecDrainLast, r[7].Rule);

        // once VB2-DEC-6 has failed on the target, the oracle follows it there, so the sequence goes on being judged
        var relaxed = new ReferenceModel(Dec) { Relaxed = new HashSet<string> { Inv.DecResume } };
        Assert.All(Follow(relaxed, steps), s => Assert.True(s.Allowed));
    }

    [Fact]
    public void FLUSH_and_a_number_that_is_no_command_are_EINVAL_and_TRY_STOP_begins_no_drain()
    {
        var r = Follow(new ReferenceModel(Dec), Steps([.. Streaming,
            (new DecoderCmd(V1, V4L2_DEC_CMD_FLUSH, false), Outcome.Fail(Errno.EINVAL)), (new DecoderCmd(V1, 5, true), Outcome.Fail(Errno.EINVAL)),
            (new DecoderCmd(V1, V4L2_DEC_CMD_STOP, true), Ok), (new QBuf(V1, Cap, 0, Mmap, Var.None), Ok),
            // no drain began: a CAPTURE buffer flagged LAST now breaks VB2-DEC-2 (no change queued, no drain)
            (new DQBuf(V1, Cap), Outcome.Success(0, V4L2_BUF_FLAG_LAST))]));
        Assert.All(r.Take(9), s => Assert.True(s.Allowed));
        Assert.Equal(Inv.DecoderCmd, r[5].Rule);
        Assert.Equal((false, Inv.DecChangeLast), r[9]);

        // accepting FLUSH is a VB2-DEC-4 failure
        var bad = Follow(new ReferenceModel(Dec), Steps([.. Streaming, (new DecoderCmd(V1, V4L2_DEC_CMD_FLUSH, false), Ok)]));
        Assert.Equal((false, Inv.DecoderCmd), bad[5]);
    }

    [Fact]
    public void Reading_a_written_frame_back_leaves_it_whole_and_its_first_resolution_owed()
    {
        // the lab's 9 steps on vicodec's decoder (6.12.118, /dev/video10): the model once took the read at step 7 for a write
        // over the frame's header, lost the frame, and refused the event the decoder then rightly signalled
        long frame = Bitstream.FrameLength(0);
        var map = new Var(4);
        (Op, Outcome)[] steps =
        [
            (new Open("video0", O_RDWR | O_NONBLOCK), Ok), (new SubscribeEvent(V1, V4L2_EVENT_SOURCE_CHANGE, false), Ok),
            (new ReqBufs(V1, Out, Mmap, 1), Outcome.Success(1, Caps)),
            (new MmapVideo(V1, Out, 0, 0, Dec.Video[0].OutputQueue!.SizeImage, PROT_READ | PROT_WRITE, MAP_SHARED), Ok),
            (new WriteFrame(map, 0), Outcome.Success(frame)), (new QBuf(V1, Out, 0, Mmap, Var.None) { BytesUsed = frame }, Ok),
            (new ReadStamp(map, 0), Outcome.Success(unchecked((long)0xffffffff4f4f4f4f))), (new StreamOn(V1, Out), Ok),
        ];
        var m = new ReferenceModel(Dec);
        var r = Follow(m, Steps([.. steps, (new DQEvent(V1), Outcome.Success(V4L2_EVENT_SOURCE_CHANGE, 0))]));
        Assert.All(r, s => Assert.True(s.Allowed));
        // before it is dequeued, the event is owed: a wait for it must end with POLLPRI (VB2-DEC-1)
        var owed = new ReferenceModel(Dec);
        var w = Follow(owed, Steps([.. steps, (new EventWait(V1), Outcome.Success(0))]));
        Assert.Equal((false, Inv.DecSourceChange), w[^1]);
    }

    [Fact]
    public void A_decoder_that_never_signals_fails_VB2_DEC_1_even_when_discovery_saw_no_event()
    {
        // discovery keeps the stream with its CAPTURE sizes unknown (0) when no event came: the run waits for the first
        // resolution's event with poll() and reports its absence, with a counterexample, instead of skipping the decoder
        var node = Dec.Video[0] with { Stream = Dec.Video[0].Stream! with { CaptureSizes = [0, 0] } };
        var silent = Dec with { Video = [node] };
        var r = Engine.Run("broken:source-change-never", new ReferenceModel(silent, ModelBug.SourceChangeNever), new RunOptions(), Catalog.Load());
        var failed = r.Invariants.Where(i => i.Verdict == Verdict.Fail).Select(i => i.Invariant.Id).ToList();
        Assert.Equal(["VB2-DEC-1"], failed);
        Assert.Contains(r.Findings, f => f.Failure.InvariantId == Inv.DecSourceChange && f.Failure.Steps[^1].Op is EventWait);

        // and a decoder that signals is judged on the same profile without a failure
        var ok = Engine.Run("model", new ReferenceModel(silent), new RunOptions { Sequences = 100 }, Catalog.Load());
        Assert.False(ok.Failed);
    }

    [Fact]
    public void A_drain_begun_with_a_change_queued_ahead_is_not_judged_and_a_frame_queued_after_STOP_is_held()
    {
        long frame = Bitstream.FrameLength(0);
        var outLen = Dec.Video[0].OutputQueue!.SizeImage;
        var map = new Var(4);   // the mapping step 4 makes
        (Op, Outcome)[] setup =
        [
            (new Open("video0", O_RDWR | O_NONBLOCK), Ok), (new ReqBufs(V1, Out, Mmap, 2), Outcome.Success(2, Caps)),
            (new ReqBufs(V1, Cap, Mmap, 1), Outcome.Success(1, Caps)),
            (new MmapVideo(V1, Out, 0, 0, outLen, PROT_READ | PROT_WRITE, MAP_SHARED), Ok), (new WriteFrame(map, 0), Outcome.Success(frame)),
        ];
        // a frame (the stream's first resolution: a change from nothing) queued and OUTPUT streaming, then STOP: the LAST buffer
        // may be the change's or the drain's, and so is EPIPE after it; the drain rules cite nothing of it
        var ahead = Follow(new ReferenceModel(Dec), Steps([.. setup, (new QBuf(V1, Out, 0, Mmap, Var.None) { BytesUsed = frame }, Ok),
            (new StreamOn(V1, Out), Ok), (new StreamOn(V1, Cap), Ok), (new QBuf(V1, Cap, 0, Mmap, Var.None), Ok),
            (new DecoderCmd(V1, V4L2_DEC_CMD_STOP, false), Ok), (new DQBuf(V1, Cap), Outcome.Success(0, V4L2_BUF_FLAG_LAST)),
            (new DQBuf(V1, Cap), Outcome.Fail(Errno.EPIPE))]));
        Assert.All(ahead, s => Assert.True(s.Allowed));
        Assert.DoesNotContain(ahead, s => s.Rule == Inv.DecDrainLast);

        // no frame ahead: STOP, then a frame queued on OUTPUT is held (VB2-DEC-8): the decoder handing it back breaks that rule
        var held = Follow(new ReferenceModel(Dec), Steps([.. setup, (new StreamOn(V1, Out), Ok), (new StreamOn(V1, Cap), Ok),
            (new DecoderCmd(V1, V4L2_DEC_CMD_STOP, false), Ok), (new QBuf(V1, Out, 0, Mmap, Var.None) { BytesUsed = frame }, Ok),
            (new DQBuf(V1, Out), Outcome.Success(0, 0))]));
        Assert.All(held.Take(9), s => Assert.True(s.Allowed));
        Assert.False(held[9].Allowed);
    }
}
