using Conformance.Adapters;
using Conformance.Generators;
using Conformance.Properties;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// VB2-QBUF-4: the payload fields of an output queue's DMABUF QBUF are what QUERYBUF shows afterwards, and vb2's bounds on
/// them; and the count CREATE_BUFS grants where the free run of indices, not the driver, bounds it.
/// </summary>
public class QBufFieldsTests
{
    private static Step S(Op op, Outcome actual) => new(op, actual);
    private static Outcome Ok(long r0 = 0, long r1 = 0, long r2 = 0) => Outcome.Success(r0, r1, r2);
    private static Outcome Made(int fd) => Outcome.Created(fd);

    /// <summary>The index of the outcome the model allows at each step that the recorded one matches (-1: not allowed).</summary>
    private static int[] Taken(TargetProfile p, IReadOnlyList<Step> steps) => [.. Expectations.Derive(p, steps).Select(e => e.Taken)];

    /// <summary>Open the output node and the system heap, allocate a dma-buf of <paramref name="size"/> bytes, one DMABUF buffer.</summary>
    private static List<Step> Start(TargetProfile p, ulong size)
    {
        var n = p.Video[0];
        return [
            S(new Open("video0", O_RDWR | O_NONBLOCK) { Id = 1 }, Made(3)),
            S(new Open("heap:system", O_RDONLY | O_CLOEXEC) { Id = 2 }, Made(4)),
            S(new DmaHeapAlloc(new Var(2), size, (uint)(O_RDWR | O_CLOEXEC), 0, 0, HeapAbi.Current) { Id = 3 }, Made(5)),
            S(new ReqBufs(new Var(1), n.BufType, V4L2_MEMORY_DMABUF, 1) { Id = 4 }, Ok(2, n.Capabilities)),
        ];
    }

    private static QBuf Q(TargetProfile p, int id, PlaneFields fields) =>
        new QBuf(new Var(1), p.Video[0].BufType, 0, V4L2_MEMORY_DMABUF, new Var(3)) { Id = id, Fields = fields };

    [Fact]
    public void Queueing_the_same_dma_buf_again_with_the_whole_plane_shows_the_new_payload_and_not_the_old_one()
    {
        foreach (var p in new[] { TargetProfile.VividOutput, TargetProfile.VividMplaneOutput })
        {
            const long size = 831488;   // two pages more than the 829440-byte frame
            var steps = Start(p, size);
            steps.Add(S(Q(p, 5, PlaneFields.Format), Ok()));
            steps.Add(S(new StreamOff(new Var(1), p.Video[0].BufType) { Id = 6 }, Ok()));
            var good = steps.Append(S(Q(p, 7, PlaneFields.PayloadLength), Ok(size, 0))).ToList();
            Assert.All(Taken(p, good), t => Assert.True(t >= 0));
            // vb2 in 6.12's release candidates skipped the copy for a plane it already held: the frame's size stayed
            var stale = steps.Append(S(Q(p, 7, PlaneFields.PayloadLength), Ok(829440, 0))).ToList();
            Assert.Equal(-1, Taken(p, stale)[^1]);
            Assert.Equal("VB2-QBUF-4", Expectations.Derive(p, stale)[^1].Cited[^1]);
        }
    }

    [Fact]
    public void A_multi_planar_payload_past_the_plane_or_an_offset_at_the_payload_is_refused_and_the_frame_at_the_end_is_shown()
    {
        var p = TargetProfile.VividMplaneOutput;
        const long size = 831488;
        foreach (var (fields, actual) in new[] { (PlaneFields.PayloadPastLength, Outcome.Fail(Errno.EINVAL)), (PlaneFields.OffsetAtPayload, Outcome.Fail(Errno.EINVAL)),
                     (PlaneFields.OffsetTail, Ok(size, size - 829440)) })
        {
            var steps = Start(p, size);
            steps.Add(S(Q(p, 5, fields), actual));
            Assert.All(Taken(p, steps), t => Assert.True(t >= 0, $"{fields}"));
            // a driver that accepted either refused call, or did not show the offset, departs
            var other = Start(p, size);
            other.Add(S(Q(p, 5, fields), actual.Ok ? Ok(size, 0) : Ok(0, 0)));
            Assert.Equal(-1, Taken(p, other)[^1]);
        }
    }

    [Fact]
    public void A_create_bufs_count_bounded_by_the_free_run_of_indices_shows_nothing_of_the_drivers_memory()
    {
        // REQBUFS(1) gives vivid's two, REMOVE_BUFS frees index 0, CREATE_BUFS(100) gets the 30 indices from 2 up (index 1 is
        // taken, so the free run is 30 long); a later REQBUFS(1000) frees everything and gets all 32: the 30 was the run's
        var p = TargetProfile.VividOutput;
        var n = p.Video[0];
        var v1 = new Var(1);
        Assert.All(Taken(p, [
            S(new Open("video0", O_RDWR | O_NONBLOCK) { Id = 1 }, Made(3)),
            S(new ReqBufs(v1, n.BufType, V4L2_MEMORY_MMAP, 1) { Id = 2 }, Ok(2, n.Capabilities)),
            S(new RemoveBufs(v1, n.BufType, 0, 1) { Id = 3 }, Ok()),
            S(new CreateBufs(v1, n.BufType, V4L2_MEMORY_MMAP, 100, 0) { Id = 4 }, Ok(2, 30, n.CreateCapabilities)),
            S(new ReqBufs(v1, n.BufType, V4L2_MEMORY_MMAP, 1000) { Id = 5 }, Ok(32, n.Capabilities)),
        ]), t => Assert.True(t >= 0));
    }
}
