using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// The reference model as the oracle of a stateful encoder's drain and its events (VB2-DRAIN-1..5, VB2-EVENT-1..2; adapters/Model/Drain.cs, Events.cs), fed what vicodec
/// did in the lab: the documented drain is judged, the paths where the kernel's code and the documentation part ways (AMB-37)
/// are not, and a blocking DQBUF is let run only where the drain must hand a buffer back.
/// </summary>
public class CodecDrainTests
{
    private static readonly TargetProfile Enc = TargetProfile.VicodecEncoderLike;
    private static readonly Var V1 = new(1);
    private const uint Cap = V4L2_BUF_TYPE_VIDEO_CAPTURE, Out = V4L2_BUF_TYPE_VIDEO_OUTPUT, Mmap = V4L2_MEMORY_MMAP;
    private static readonly Outcome Ok = Outcome.Success();
    private static readonly long Caps = Enc.Video[0].Capabilities;

    /// <summary>Each op with the outcome the target gave; returns, per step, whether the oracle allowed it and the rule it cited last.
    /// The decoder's tests (DecoderTests) follow their steps with it too.</summary>
    internal static List<(bool Allowed, string? Rule)> Follow(ReferenceModel m, Env env, params (Op Op, Outcome Actual)[] steps)
    {
        var result = new List<(bool, string?)>();
        foreach (var (op, actual) in steps)
        {
            m.BeginStep(actual);
            var expected = op.Run(m, env);
            result.Add((expected.SameObservation(actual), m.Cited.LastOrDefault()));
        }
        return result;
    }

    private static Op[] Numbered(params Op[] ops) => [.. ops.Select((o, i) => o with { Id = i + 1 })];

    private static (Op, Outcome)[] Pair(Op[] ops, params Outcome[] actual) => [.. ops.Zip(actual)];

    [Fact]
    public void Vicodecs_START_that_keeps_EPIPE_is_a_VB2_DRAIN_3_failure_at_the_last_step()
    {
        // the lab's 10 steps on vicodec (6.12.117, /dev/video9)
        var ops = Numbered(new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(V1, Out, Mmap, 1), new ReqBufs(V1, Cap, Mmap, 1),
            new StreamOn(V1, Out), new StreamOn(V1, Cap), new EncoderCmd(V1, V4L2_ENC_CMD_STOP, false), new QBuf(V1, Cap, 0, Mmap, Var.None),
            new DQBufBlocking(V1, Cap), new EncoderCmd(V1, V4L2_ENC_CMD_START, false), new DQBuf(V1, Cap));
        var r = Follow(new ReferenceModel(Enc), new Env(), Pair(ops, Ok, Outcome.Success(1, Caps), Outcome.Success(1, Caps), Ok, Ok, Ok, Ok,
            Outcome.Success(0, V4L2_BUF_FLAG_LAST), Ok, Outcome.Fail(Errno.EPIPE)));
        Assert.All(r.Take(9), s => Assert.True(s.Allowed));
        Assert.Equal((false, Inv.DrainResume), r[9]);

        // once VB2-DRAIN-3 has failed on the target, the oracle follows it there, so the sequence goes on being judged
        var relaxed = new ReferenceModel(Enc) { Relaxed = new HashSet<string> { Inv.DrainResume } };
        var again = Follow(relaxed, new Env(), Pair(ops, Ok, Outcome.Success(1, Caps), Outcome.Success(1, Caps), Ok, Ok, Ok, Ok,
            Outcome.Success(0, V4L2_BUF_FLAG_LAST), Ok, Outcome.Fail(Errno.EPIPE)));
        Assert.All(again, s => Assert.True(s.Allowed));
    }

    [Fact]
    public void After_the_LAST_buffer_DQBUF_is_EPIPE_and_a_blocking_one_returns_at_once()
    {
        var ops = Numbered(new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(V1, Out, Mmap, 1), new ReqBufs(V1, Cap, Mmap, 1),
            new StreamOn(V1, Out), new StreamOn(V1, Cap), new EncoderCmd(V1, V4L2_ENC_CMD_STOP, false), new QBuf(V1, Cap, 0, Mmap, Var.None),
            new DQBuf(V1, Cap), new DQBuf(V1, Cap));
        var m = new ReferenceModel(Enc);
        var env = new Env();
        var r = Follow(m, env, Pair(ops, Ok, Outcome.Success(1, Caps), Outcome.Success(1, Caps), Ok, Ok, Ok, Ok,
            Outcome.Success(0, V4L2_BUF_FLAG_LAST), Outcome.Fail(Errno.EAGAIN)));
        Assert.Equal((false, Inv.DrainLast), r[8]);   // EAGAIN where EPIPE is documented
        Assert.True(env.Resolve(V1, out var fd));
        Assert.Equal(BlockingDQBuf.ReturnsAtOnce, m.DQBufWait(fd, Cap));
    }

    [Fact]
    public void A_blocking_DQBUF_during_a_drain_waits_only_once_vb2_has_handed_the_buffers_to_the_driver()
    {
        // STREAMON with 2 allocated: min_queued_buffers may be 2, and vb2 gives the driver nothing before that many are queued
        var ops = Numbered(new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(V1, Out, Mmap, 2), new ReqBufs(V1, Cap, Mmap, 2),
            new StreamOn(V1, Out), new StreamOn(V1, Cap), new EncoderCmd(V1, V4L2_ENC_CMD_STOP, false), new QBuf(V1, Cap, 0, Mmap, Var.None));
        var m = new ReferenceModel(Enc);
        var env = new Env();
        Assert.All(Follow(m, env, Pair(ops, Ok, Outcome.Success(2, Caps), Outcome.Success(2, Caps), Ok, Ok, Ok, Ok)), s => Assert.True(s.Allowed));
        Assert.True(env.Resolve(V1, out var fd));
        Assert.Equal(BlockingDQBuf.MaySleepForever, m.DQBufWait(fd, Cap));
        Follow(m, env, (new QBuf(V1, Cap, 1, Mmap, Var.None) { Id = 8 }, Ok));
        Assert.Equal(BlockingDQBuf.WaitsForBuffer, m.DQBufWait(fd, Cap));
    }

    [Fact]
    public void STOP_during_a_drain_with_no_CAPTURE_buffer_queued_must_be_EBUSY()
    {
        // an OUTPUT frame pending and no CAPTURE buffer: no job can run, the LAST buffer cannot have come
        var ops = Numbered(new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(V1, Out, Mmap, 1), new ReqBufs(V1, Cap, Mmap, 1),
            new StreamOn(V1, Out), new StreamOn(V1, Cap), new QBuf(V1, Out, 0, Mmap, Var.None), new EncoderCmd(V1, V4L2_ENC_CMD_STOP, false),
            new EncoderCmd(V1, V4L2_ENC_CMD_STOP, false));
        var r = Follow(new ReferenceModel(Enc), new Env(), Pair(ops, Ok, Outcome.Success(1, Caps), Outcome.Success(1, Caps), Ok, Ok, Ok, Ok, Ok));
        Assert.Equal((false, Inv.EncoderCmd), r[7]);
        // TRY executes nothing, and a cmd that is no command is EINVAL
        var m = new ReferenceModel(Enc);
        var env = new Env();
        var t = Follow(m, env, (new Open("video0", O_RDWR | O_NONBLOCK) { Id = 1 }, Ok), (new EncoderCmd(V1, 4, true) { Id = 2 }, Outcome.Fail(Errno.EINVAL)),
            (new EncoderCmd(V1, V4L2_ENC_CMD_STOP, true) { Id = 3 }, Ok), (new EncoderCmd(V1, 4, false) { Id = 4 }, Ok));
        Assert.Equal([true, true, false], t.Skip(1).Select(s => s.Allowed));
    }

    [Fact]
    public void Where_the_code_and_the_documentation_part_ways_nothing_about_the_drain_is_judged()
    {
        // AMB-37 on vicodec: STOP with only OUTPUT streaming begins a drain; a STREAMOFF of a CAPTURE queue that never streamed
        // calls no stop_streaming, so the drain survives it and a second STOP is EBUSY
        var ops = Numbered(new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(V1, Out, Mmap, 1), new ReqBufs(V1, Cap, Mmap, 1),
            new StreamOn(V1, Out), new EncoderCmd(V1, V4L2_ENC_CMD_STOP, false), new StreamOff(V1, Cap), new StreamOn(V1, Cap),
            new EncoderCmd(V1, V4L2_ENC_CMD_STOP, false), new QBuf(V1, Cap, 0, Mmap, Var.None), new DQBuf(V1, Cap));
        var m = new ReferenceModel(Enc);
        var env = new Env();
        var r = Follow(m, env, Pair(ops, Ok, Outcome.Success(1, Caps), Outcome.Success(1, Caps), Ok, Ok, Ok, Ok,
            Outcome.Fail(Errno.EBUSY), Ok, Outcome.Success(0, V4L2_BUF_FLAG_LAST)));
        Assert.All(r, s => Assert.True(s.Allowed));
        Assert.True(env.Resolve(V1, out var fd));
        Assert.Equal(BlockingDQBuf.MaySleepForever, m.DQBufWait(fd, Cap));   // whether vb2 answers EPIPE is not known here
    }

    [Fact]
    public void STREAMOFF_of_CAPTURE_ends_the_drain_and_forgets_the_LAST_buffer()
    {
        // vb2_core_streamoff clears last_buffer_dequeued, and the driver's stop_streaming the drain state: EPIPE after it fails
        var ops = Numbered(new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(V1, Out, Mmap, 1), new ReqBufs(V1, Cap, Mmap, 1),
            new StreamOn(V1, Out), new StreamOn(V1, Cap), new EncoderCmd(V1, V4L2_ENC_CMD_STOP, false), new QBuf(V1, Cap, 0, Mmap, Var.None),
            new DQBuf(V1, Cap), new StreamOff(V1, Cap), new StreamOn(V1, Cap), new DQBuf(V1, Cap));
        var r = Follow(new ReferenceModel(Enc), new Env(), Pair(ops, Ok, Outcome.Success(1, Caps), Outcome.Success(1, Caps), Ok, Ok, Ok, Ok,
            Outcome.Success(0, V4L2_BUF_FLAG_LAST), Ok, Ok, Outcome.Fail(Errno.EPIPE)));
        Assert.All(r.Take(10), s => Assert.True(s.Allowed));
        Assert.False(r[10].Allowed);
    }

    [Fact]
    public void The_drains_EOS_is_owed_to_a_file_subscribed_before_STOP_and_gone_once_unsubscribed()
    {
        // vicodec's order (6.12.117, /dev/video9): subscribe, STOP, the LAST buffer, then the EOS event is pending
        var ops = Numbered(new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(V1, Out, Mmap, 1), new ReqBufs(V1, Cap, Mmap, 1),
            new StreamOn(V1, Out), new StreamOn(V1, Cap), new QBuf(V1, Cap, 0, Mmap, Var.None), new SubscribeEvent(V1, V4L2_EVENT_EOS, false),
            new DQEvent(V1), new EncoderCmd(V1, V4L2_ENC_CMD_STOP, false), new DQBufBlocking(V1, Cap), new VideoPoll(V1, POLLPRI), new DQEvent(V1));
        Outcome[] vicodec = [Ok, Outcome.Success(1, Caps), Outcome.Success(1, Caps), Ok, Ok, Ok, Ok, Outcome.Fail(Errno.ENOENT), Ok,
            Outcome.Success(0, V4L2_BUF_FLAG_LAST), Outcome.Success(POLLPRI), Outcome.Success(V4L2_EVENT_EOS, 0)];
        Assert.All(Follow(new ReferenceModel(Enc), new Env(), Pair(ops, vicodec)), s => Assert.True(s.Allowed));

        // no EOS after the LAST buffer: VB2-DRAIN-4, at the poll and at the DQEVENT
        var none = (Outcome[])vicodec.Clone();
        none[10] = Outcome.Success(0);
        none[11] = Outcome.Fail(Errno.ENOENT);
        var r = Follow(new ReferenceModel(Enc), new Env(), Pair(ops, none));
        Assert.Equal((false, Inv.DrainEos), r[10]);

        // an EOS before any drain: VB2-DRAIN-4 too
        var early = (Outcome[])vicodec.Clone();
        early[7] = Outcome.Success(V4L2_EVENT_EOS, 0);
        Assert.Equal((false, Inv.DrainEos), Follow(new ReferenceModel(Enc), new Env(), Pair(ops, early))[7]);

        // dequeued, then a second STOP once stopped: vicodec_encoder_cmd signals the end of the stream again, which no rule
        // forbids (found by review; v4l2_update_last_buf_state returns 0 when has_stopped)
        var again = Numbered([.. ops, new EncoderCmd(V1, V4L2_ENC_CMD_STOP, false), new DQEvent(V1)]);
        Assert.All(Follow(new ReferenceModel(Enc), new Env(), Pair(again, [.. vicodec, Ok, Outcome.Success(V4L2_EVENT_EOS, 0)])), s => Assert.True(s.Allowed));
        Assert.All(Follow(new ReferenceModel(Enc), new Env(), Pair(again, [.. vicodec, Ok, Outcome.Fail(Errno.ENOENT)])), s => Assert.True(s.Allowed));

        // unsubscribed after the LAST buffer: the pending EOS went with the subscription (VB2-EVENT-1)
        var unsub = Numbered([.. ops.Take(10), new SubscribeEvent(V1, V4L2_EVENT_ALL, true), new DQEvent(V1)]);
        var kept = Follow(new ReferenceModel(Enc), new Env(), Pair(unsub, [.. vicodec.Take(10), Ok, Outcome.Success(V4L2_EVENT_EOS, 0)]));
        Assert.Equal((false, Inv.EventSubscribe), kept[11]);
        Assert.True(Follow(new ReferenceModel(Enc), new Env(), Pair(unsub, [.. vicodec.Take(10), Ok, Outcome.Fail(Errno.ENOENT)]))[11].Allowed);
    }

    [Fact]
    public void Subscribing_V4L2_EVENT_ALL_is_EINVAL_and_an_empty_event_queue_is_ENOENT()
    {
        var ops = Numbered(new Open("video0", O_RDWR | O_NONBLOCK), new SubscribeEvent(V1, V4L2_EVENT_ALL, false), new DQEvent(V1),
            new SubscribeEvent(V1, V4L2_EVENT_EOS, true));
        Assert.All(Follow(new ReferenceModel(Enc), new Env(), Pair(ops, Ok, Outcome.Fail(Errno.EINVAL), Outcome.Fail(Errno.ENOENT), Ok)),
            s => Assert.True(s.Allowed));
        var r = Follow(new ReferenceModel(Enc), new Env(), Pair(ops, Ok, Ok, Outcome.Fail(Errno.EAGAIN), Ok));
        Assert.Equal((false, Inv.EventSubscribe), r[1]);
        Assert.Equal((false, Inv.EventDequeue), r[2]);
    }
}
