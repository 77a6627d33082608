using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Spec;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// write() I/O on an output node: what a zero-count write() leaves (vb2 starts its emulator, func-write.rst says nothing
/// happens) is reported against VB2-WRITE-4 however the sequence goes on, never as another rule's failure. The target here
/// is the broken variant write-zero-starts-io, which does with count 0 what vb2 does.
/// </summary>
public class WriteTests
{
    private static Failure? Run(params Op[] ops)
    {
        var seq = new OpSequence(1, [.. ops.Select((o, i) => o with { Id = i + 1 })]);
        var target = new ReferenceModel(TargetProfile.VividOutput, ModelBug.WriteZeroStartsIo);
        return new LockstepProperty().Check(seq, target, null);
    }

    [Fact]
    public void Another_handles_close_after_a_zero_count_write_leaves_the_difference_on_VB2_WRITE_4()
    {
        // A owns the queue on the target (its emulator runs), so B's close releases nothing and A's REQBUFS is refused
        var f = Run(new Open("video0", O_RDWR | O_NONBLOCK), new Open("video0", O_RDWR | O_NONBLOCK), new VideoWrite(new Var(1), 0),
            new Close(new Var(2)), new ReqBufs(new Var(1), V4L2_BUF_TYPE_VIDEO_OUTPUT, V4L2_MEMORY_MMAP, 1));
        Assert.NotNull(f);
        Assert.Equal(Inv.WriteZero, f!.InvariantId);
        Assert.Equal(4, f.StepIndex);
    }

    [Fact]
    public void A_poll_by_another_handle_after_a_zero_count_write_leaves_the_difference_on_VB2_WRITE_4()
    {
        // the target's emulator is A's: B's poll changes no owner, A's close releases the queue, and B's REQBUFS succeeds
        var f = Run(new Open("video0", O_RDWR | O_NONBLOCK), new Open("video0", O_RDWR | O_NONBLOCK), new VideoWrite(new Var(1), 0),
            new VideoPoll(new Var(2), POLLOUT), new Close(new Var(1)), new ReqBufs(new Var(2), V4L2_BUF_TYPE_VIDEO_OUTPUT, V4L2_MEMORY_MMAP, 1));
        Assert.NotNull(f);
        Assert.Equal(Inv.WriteZero, f!.InvariantId);
    }

    [Fact]
    public void Closing_the_zero_count_writer_of_an_idle_queue_makes_target_and_model_agree_again()
    {
        var f = Run(new Open("video0", O_RDWR | O_NONBLOCK), new VideoWrite(new Var(1), 0), new Close(new Var(1)),
            new Open("video0", O_RDWR | O_NONBLOCK), new ReqBufs(new Var(4), V4L2_BUF_TYPE_VIDEO_OUTPUT, V4L2_MEMORY_MMAP, 1),
            new Close(new Var(4)));
        Assert.Null(f);
    }
}
