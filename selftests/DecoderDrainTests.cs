using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// The reference model as the oracle of a stateful decoder's drain (VB2-DEC-4..8; adapters/Model/Drain.cs, Decoder.cs), fed what
/// vicodec's decoder did in the lab: the documented drain is judged with the decoder's own rules, and a drain begun while a
/// resolution change is queued ahead (whose LAST buffer may be either's) is not.
/// </summary>
public class DecoderDrainTests
{
    private static readonly TargetProfile Dec = TargetProfile.VicodecDecoderLike;
    private static readonly Var V1 = new(1);
    private const uint Cap = V4L2_BUF_TYPE_VIDEO_CAPTURE, Out = V4L2_BUF_TYPE_VIDEO_OUTPUT, Mmap = V4L2_MEMORY_MMAP;
    private static readonly Outcome Ok = Outcome.Success();
    private static readonly long Caps = Dec.Video[0].Capabilities;

    /// <summary>Each op with the outcome the target gave; per step, whether the oracle allowed it and the rule it cited last.</summary>
    private static List<(bool Allowed, string? Rule)> Follow(ReferenceModel m, params (Op Op, Outcome Actual)[] steps)
    {
        var env = new Env();
        var result = new List<(bool, string?)>();
        foreach (var (op, actual) in steps)
        {
            m.BeginStep(actual);
            var expected = op.Run(m, env);
            result.Add((expected.SameObservation(actual), m.Cited.LastOrDefault()));
        }
        return result;
    }

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
