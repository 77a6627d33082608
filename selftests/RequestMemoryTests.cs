using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// A request's DMABUF and USERPTR memory (VB2-REQ-9): the QBUF stores the fd or address, MEDIA_REQUEST_IOC_QUEUE takes it
/// (vb2_req_prepare), a refusal there leaves the request idle and the buffer IN_REQUEST; a handle closed in between is past
/// what the model follows, and the generator never closes one.
/// </summary>
public class RequestMemoryTests
{
    private const uint Cap = V4L2_BUF_TYPE_VIDEO_CAPTURE, Dmabuf = V4L2_MEMORY_DMABUF;
    private static readonly Var Video = new(1), Req = new(2), Heap = new(3), Frame = new(4);

    /// <summary>The model as the target: each op's outcome, in order.</summary>
    private static List<Outcome> Play(params Op[] ops)
    {
        var m = new ReferenceModel(TargetProfile.VividLike);
        var env = new Env();
        int id = 0;
        var outcomes = new List<Outcome>();
        foreach (var op in ops) { m.BeginStep(null); outcomes.Add((op with { Id = ++id }).Run(m, env)); }
        return outcomes;
    }

    /// <summary>A video node, a request, a heap buffer of a frame and two DMABUF buffers (ops 1-5).</summary>
    private static Op[] Setup() =>
    [
        new Open("video0", O_RDWR | O_NONBLOCK),
        new RequestAlloc("media"),
        new Open("heap:system", O_RDONLY | O_CLOEXEC),
        new DmaHeapAlloc(Heap, (ulong)PageAlign(TargetProfile.VividLike.Video[0].SizeImage), (uint)(O_RDWR | O_CLOEXEC), 0, 0, HeapAbi.Current),
        new ReqBufs(Video, Cap, Dmabuf, 2),
    ];

    private static long PageAlign(long n) => (n + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;

    [Fact]
    public void A_dma_buf_in_a_request_is_taken_when_the_request_is_queued()
    {
        var o = Play([.. Setup(),
            new QBuf(Video, Cap, 0, Dmabuf, Frame) { Req = Req },   // 6
            new QueryBuf(Video, Cap, 0),                            // 7
            new RequestQueue(Req),                                  // 8
            new QueryBuf(Video, Cap, 0)]);                          // 9
        Assert.True(o[5].Ok);
        Assert.NotEqual(0, o[6].R1 & V4L2_BUF_FLAG_IN_REQUEST);
        Assert.True(o[7].Ok, $"MEDIA_REQUEST_IOC_QUEUE gave {o[7].Errno}");
        Assert.Equal(0, o[8].R1 & V4L2_BUF_FLAG_IN_REQUEST);
        Assert.Equal(PageAlign(TargetProfile.VividLike.Video[0].SizeImage), o[8].R0);   // the plane's length is the dma-buf's size
    }

    [Fact]
    public void An_fd_that_is_no_dma_buf_passes_the_qbuf_and_fails_the_request_which_stays_idle()
    {
        var o = Play([.. Setup(),
            new QBuf(Video, Cap, 0, Dmabuf, Req) { Req = Req },     // 6: the request's own fd as the buffer's memory
            new RequestQueue(Req),                                  // 7
            new QueryBuf(Video, Cap, 0),                            // 8
            new RequestReinit(Req),                                 // 9: still idle, so it can be re-initialized
            new QueryBuf(Video, Cap, 0)]);                          // 10
        Assert.True(o[5].Ok, "the QBUF does not look the fd up");
        Assert.Equal(Errno.EINVAL, o[6].Errno);
        Assert.NotEqual(0, o[7].R1 & V4L2_BUF_FLAG_IN_REQUEST);
        Assert.True(o[8].Ok);
        Assert.Equal(0, o[9].R1 & V4L2_BUF_FLAG_IN_REQUEST);
    }

    [Fact]
    public void The_model_allows_only_a_refusal_where_a_request_names_no_dma_buf()
    {
        // what a driver whose req_validate skips vb2_request_validate does: the request is queued
        var target = new ReferenceModel(TargetProfile.VividLike, ModelBug.RequestMemoryUnchecked);
        var ops = Setup().Append(new QBuf(Video, Cap, 0, Dmabuf, Req) { Req = Req }).Append(new RequestQueue(Req))
            .Select((op, i) => op with { Id = i + 1 }).ToArray();
        var failure = new LockstepProperty().Trace(new OpSequence(1, [.. ops]), target, null, out var steps);
        Assert.NotNull(failure);
        Assert.Equal(Inv.RequestMemory, failure!.InvariantId);
        Assert.Equal(6, failure.StepIndex);
    }

    [Fact]
    public void A_dma_buf_fd_closed_before_its_request_is_queued_ends_the_judging_there()
    {
        // the kernel looks the stored number up when the request is queued: whatever has that number by then
        var ops = Setup().Append(new QBuf(Video, Cap, 0, Dmabuf, Frame) { Req = Req }).Append(new Close(Frame))
            .Append(new RequestQueue(Req)).Append(new QueryBuf(Video, Cap, 0))
            .Select((op, i) => op with { Id = i + 1 }).ToArray();
        var exercise = new Exercise();
        var property = new LockstepProperty();
        var failure = property.Trace(new OpSequence(1, [.. ops]), new ReferenceModel(TargetProfile.VividLike), exercise, out var steps);
        Assert.Null(failure);
        Assert.Equal(8, steps.Count);   // the request's queue is the last step run
        Assert.Equal(1, exercise.MaskedIn(property.Name));
    }

    [Fact]
    public void The_generator_never_closes_or_unmaps_what_a_request_still_names()
    {
        var gen = new SequenceGenerator(TargetProfile.VividLike);
        int named = 0;
        for (ulong seed = 4; seed < 4 + 8 * 300; seed += 8)   // the request-memory family
        {
            var seq = gen.Generate(seed, 60);
            var m = new ReferenceModel(TargetProfile.VividLike);
            var env = new Env();
            foreach (var op in seq.Ops)
            {
                m.BeginStep(null);
                bool held = op switch
                {
                    Close c => env.Resolve(c.Fd, out var fd) && m.NamedByRequest(fd, mapping: false),
                    Munmap u => env.Resolve(u.Map, out var h) && m.NamedByRequest(h, mapping: true),
                    _ => false,
                };
                Assert.False(held, $"seed {seed}: {op.Text} while a request not yet queued names it");
                if (op is QBuf { InRequest: true, Memory: not V4L2_MEMORY_MMAP } && op.Run(m, env).Ok) named++;
                else if (op is not QBuf { InRequest: true, Memory: not V4L2_MEMORY_MMAP }) op.Run(m, env);
            }
        }
        Assert.True(named > 50, $"only {named} QBUFs put imported memory into a request");
    }
}
