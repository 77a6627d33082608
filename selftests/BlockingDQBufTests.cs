using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// When the harness lets a blocking VIDIOC_DQBUF run (<see cref="ReferenceModel.DQBufWait"/>, VB2-DQBUF-3): only where a buffer
/// will be done, as many queued as the STREAMON the queue accepted, two on an output queue; at once where the non-blocking call
/// fails; and, in lockstep, NOT RUN on both sides anywhere else. Also poll() of a multi-planar node that reports
/// V4L2_CAP_READWRITE, where vb2's read() emulator cannot start (VB2-POLL-3).
/// </summary>
public class BlockingDQBufTests
{
    private static (ReferenceModel Model, Env Env) Play(TargetProfile p, params Op[] ops)
    {
        var m = new ReferenceModel(p);
        var env = new Env();
        int id = 0;
        foreach (var op in ops) { m.BeginStep(null); (op with { Id = ++id }).Run(m, env); }
        return (m, env);
    }

    private static BlockingDQBuf Wait(ReferenceModel m, Env env, int handle, uint type)
    {
        Assert.True(env.Resolve(new Var(handle), out var fd));
        return m.DQBufWait(fd, type);
    }

    private static readonly Var V1 = new(1), V2 = new(2);
    private const uint Cap = V4L2_BUF_TYPE_VIDEO_CAPTURE, Out = V4L2_BUF_TYPE_VIDEO_OUTPUT, Mmap = V4L2_MEMORY_MMAP;

    [Fact]
    public void A_capture_queue_waits_once_it_holds_as_many_queued_buffers_as_its_STREAMON_had()
    {
        // REQBUFS(1) grants 2 on the vivid-like profile: STREAMON with 2 allocated bounds min_queued_buffers by 2
        var (m, env) = Play(TargetProfile.VividLike, new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(V1, Cap, Mmap, 1),
            new QBuf(V1, Cap, 0, Mmap, Var.None));
        Assert.Equal(BlockingDQBuf.ReturnsAtOnce, Wait(m, env, 1, Cap));   // not streaming: EINVAL at once
        m.BeginStep(null); new StreamOn(V1, Cap) { Id = 4 }.Run(m, env);
        Assert.Equal(BlockingDQBuf.MaySleepForever, Wait(m, env, 1, Cap));   // one queued, the driver may need two
        m.BeginStep(null); new QBuf(V1, Cap, 1, Mmap, Var.None) { Id = 5 }.Run(m, env);
        Assert.Equal(BlockingDQBuf.WaitsForBuffer, Wait(m, env, 1, Cap));
    }

    [Fact]
    public void Another_handles_queue_returns_at_once_and_the_query_changes_nothing()
    {
        var (m, env) = Play(TargetProfile.VividLike, new Open("video0", O_RDWR | O_NONBLOCK), new Open("video0", O_RDWR | O_NONBLOCK),
            new CreateBufs(V1, Cap, Mmap, 1, 0), new QBuf(V1, Cap, 0, Mmap, Var.None), new StreamOn(V1, Cap));
        m.BeginStep(null);
        Assert.Equal(BlockingDQBuf.ReturnsAtOnce, Wait(m, env, 2, Cap));   // EBUSY: v1 owns the queue
        Assert.Equal(BlockingDQBuf.WaitsForBuffer, Wait(m, env, 1, Cap));   // one buffer allocated at STREAMON, one queued
        Assert.Equal(BlockingDQBuf.WaitsForBuffer, Wait(m, env, 1, Cap));
        Assert.Empty(m.Cited);
    }

    [Fact]
    public void An_output_queue_waits_only_with_two_buffers_queued()
    {
        // an output device may keep showing its last frame until another comes (vivid does)
        var (m, env) = Play(TargetProfile.VividOutput, new Open("video0", O_RDWR | O_NONBLOCK), new CreateBufs(V1, Out, Mmap, 1, 0),
            new QBuf(V1, Out, 0, Mmap, Var.None), new StreamOn(V1, Out));
        Assert.Equal(BlockingDQBuf.MaySleepForever, Wait(m, env, 1, Out));
        m.BeginStep(null); new CreateBufs(V1, Out, Mmap, 1, 0) { Id = 5 }.Run(m, env);
        m.BeginStep(null); new QBuf(V1, Out, 1, Mmap, Var.None) { Id = 6 }.Run(m, env);
        Assert.Equal(BlockingDQBuf.WaitsForBuffer, Wait(m, env, 1, Out));
    }

    [Fact]
    public void In_lockstep_a_blocking_DQBUF_that_could_sleep_for_ever_is_not_run_on_either_side()
    {
        // streaming with nothing queued: on a kernel the call would sleep until STREAMOFF
        var ops = new Op[] { new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(V1, Cap, Mmap, 1), new StreamOn(V1, Cap), new DQBufBlocking(V1, Cap),
            new QBuf(V1, Cap, 0, Mmap, Var.None), new QBuf(V1, Cap, 1, Mmap, Var.None), new DQBufBlocking(V1, Cap) };
        var seq = new OpSequence(1, [.. ops.Select((o, i) => o with { Id = i + 1 })]);
        var f = new LockstepProperty().Trace(seq, new ReferenceModel(TargetProfile.VividLike), null, out var steps);
        Assert.Null(f);
        Assert.Equal(Errno.NotRun, steps[3].Actual.Errno);
        Assert.Equal(Errno.NotRun, steps[3].Expected!.Value.Errno);
        Assert.True(steps[6].Actual.Ok);   // two queued: it waits for buffer 0 and returns it
        Assert.Equal(0L, steps[6].Actual.R0);
    }

    [Fact]
    public void Poll_of_a_multi_planar_READWRITE_node_reports_POLLERR_where_the_read_emulator_cannot_start()
    {
        var p = TargetProfile.VividMplane;
        uint mp = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
        // idle, but three planes: __vb2_init_fileio refuses a buffer of more than one (EBUSY)
        var (m, env) = Play(p, new Open("video0", O_RDWR | O_NONBLOCK));
        Assert.True(env.Resolve(V1, out var fd));
        m.BeginStep(null);
        Assert.Equal((long)POLLERR, m.Poll(fd, POLLIN).R0);
        Assert.Contains(Inv.PollStartsRead, m.Cited);
        // streaming with every buffer removed: the emulator refuses a streaming queue
        (m, env) = Play(p, new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(V1, mp, Mmap, 1), new StreamOn(V1, mp), new RemoveBufs(V1, mp, 0, 2));
        Assert.True(env.Resolve(V1, out fd));
        m.BeginStep(null);
        Assert.Equal((long)POLLERR, m.Poll(fd, POLLIN).R0);
        Assert.Contains(Inv.PollStartsRead, m.Cited);
    }
}
