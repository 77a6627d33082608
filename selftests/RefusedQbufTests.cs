using Conformance.Adapters;
using Conformance.Generators;
using Conformance.Properties;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// What a refused QBUF leaves behind, pinned with the outcomes vivid gave on the lab's 6.12.117 (issue 11): the model
/// must allow every recorded outcome, step by step (spec/notes/vb2-failed-prepare.md has the check order).
/// </summary>
public class RefusedQbufTests
{
    private static readonly TargetProfile Capture = TargetProfile.VividLike;
    private static readonly TargetProfile Output = TargetProfile.VividLike with
    {
        Video = [TargetProfile.VividLike.Video[0] with { BufType = V4L2_BUF_TYPE_VIDEO_OUTPUT, SizeImage = 829440, MaxBuffers = 32, DeviceWritesCaptureBuffers = false }],
    };

    private static Step S(Op op, Outcome actual) => new(op, actual);
    private static Outcome Ok(long r0 = 0, long r1 = 0, long r2 = 0) => Outcome.Success(r0, r1, r2);
    private static Outcome Made(int fd) => Outcome.Created(fd);

    /// <summary>Every recorded outcome is one the model allows there.</summary>
    private static void AssertDocumented(TargetProfile p, IReadOnlyList<Step> steps)
    {
        var expected = Expectations.Derive(p, steps);
        for (int i = 0; i < expected.Count; i++)
            Assert.True(expected[i].Taken >= 0, $"step {i + 1} ({steps[i].Op.Text}): the kernel gave {steps[i].Op.Observed(steps[i].Actual)}, " +
                $"the model allows {string.Join(" or ", expected[i].Allowed.Select(a => steps[i].Op.Observed(a)))}");
    }

    [Fact]
    public void A_dmabuf_qbuf_refused_for_a_small_dma_buf_releases_the_dma_buf_the_buffer_held_on_capture_and_output()
    {
        foreach (var p in new[] { Capture, Output })
        {
            uint t = p.Video[0].BufType, caps = p.Video[0].Capabilities, create = p.Video[0].CreateCapabilities;
            var v1 = new Var(1);
            AssertDocumented(p, [
                S(new Open("video0", O_RDWR | O_NONBLOCK) { Id = 1 }, Made(3)),
                S(new CreateBufs(v1, t, V4L2_MEMORY_MMAP, 1, 0) { Id = 2 }, Ok(0, 1, create)),
                S(new CreateBufs(v1, t, V4L2_MEMORY_MMAP, 1, 0) { Id = 3 }, Ok(1, 1, create)),
                S(new ExpBuf(v1, t, 1, 0, O_RDONLY) { Id = 4 }, Made(4)),
                S(new ReqBufs(v1, t, V4L2_MEMORY_DMABUF, 1) { Id = 5 }, Ok(2, caps)),
                S(new QBuf(v1, t, 0, V4L2_MEMORY_DMABUF, new Var(4)) { Id = 6 }, Ok()),
                S(new Open("heap:system", O_RDONLY | O_CLOEXEC) { Id = 7 }, Made(5)),
                S(new DmaHeapAlloc(new Var(7), 100, (uint)(O_RDWR | O_CLOEXEC), 0, 0, HeapAbi.Current) { Id = 8 }, Made(6)),
                S(new StreamOff(v1, t) { Id = 9 }, Ok()),
                S(new QBuf(v1, t, 0, V4L2_MEMORY_DMABUF, new Var(8)) { Id = 10 }, Outcome.Fail(Errno.EINVAL)),
                // __prepare_dmabuf's error path put the dma-buf from step 6 and zeroed the length (6.12.117, vivid)
                S(new QueryBuf(v1, t, 0) { Id = 11 }, Ok(0, 0, V4L2_MEMORY_DMABUF)),
            ]);
        }
    }

    [Fact]
    public void An_output_userptr_qbuf_whose_payload_exceeds_the_length_passed_leaves_the_buffer_as_it_was()
    {
        uint t = V4L2_BUF_TYPE_VIDEO_OUTPUT;
        var v1 = new Var(1);
        AssertDocumented(Output, [
            S(new Open("video0", O_RDWR | O_NONBLOCK) { Id = 1 }, Made(3)),
            S(new CreateBufs(v1, t, V4L2_MEMORY_USERPTR, 100, 0) { Id = 2 }, Ok(0, 32, Output.Video[0].CreateCapabilities)),
            S(new Open("heap:system", O_RDONLY | O_CLOEXEC) { Id = 3 }, Made(4)),
            S(new DmaHeapAlloc(new Var(3), 4096, (uint)(O_RDWR | O_CLOEXEC), 0, 0, HeapAbi.Current) { Id = 4 }, Made(5)),
            S(new Mmap(new Var(4), 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED) { Id = 5 }, Outcome.Created(1)),
            // bytesused (one frame, 829440) > the 4096 bytes passed: __verify_length refuses before __prepare_userptr
            S(new QBuf(v1, t, 2, V4L2_MEMORY_USERPTR, new Var(5)) { Id = 6 }, Outcome.Fail(Errno.EINVAL)),
            S(new Open("video0", O_RDWR | O_NONBLOCK) { Id = 7 }, Made(6)),
            S(new QueryBuf(new Var(7), t, 2) { Id = 8 }, Ok(829440, 0, V4L2_MEMORY_USERPTR)),
        ]);
    }

    [Fact]
    public void The_model_does_not_accept_the_opposite_either()
    {
        // the same output case with the length wrongly zeroed must be a divergence: the pin has teeth
        uint t = V4L2_BUF_TYPE_VIDEO_OUTPUT;
        var v1 = new Var(1);
        var steps = new List<Step>
        {
            S(new Open("video0", O_RDWR | O_NONBLOCK) { Id = 1 }, Made(3)),
            S(new CreateBufs(v1, t, V4L2_MEMORY_USERPTR, 100, 0) { Id = 2 }, Ok(0, 32, Output.Video[0].CreateCapabilities)),
            S(new MmapAnon(4096) { Id = 3 }, Outcome.Created(1)),
            S(new QBuf(v1, t, 2, V4L2_MEMORY_USERPTR, new Var(3)) { Id = 4 }, Outcome.Fail(Errno.EINVAL)),
            S(new QueryBuf(v1, t, 2) { Id = 5 }, Ok(0, 0, V4L2_MEMORY_USERPTR)),
        };
        Assert.Equal(-1, Expectations.Derive(Output, steps)[^1].Taken);
    }
}
