using System.Collections.Immutable;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Xunit;
using Xunit.Abstractions;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

public class ShrinkAndModelTests(ITestOutputHelper output)
{
    [Fact]
    public void Model_against_itself_holds_for_any_generated_sequence_via_the_xunit_bridge()
    {
        var gen = new SequenceGenerator(TargetProfile.VividLike);
        var lockstep = new LockstepProperty();
        PropertyCheck.Holds(Shrink.Arbitrary(gen, 60), s => lockstep.Check(s, new ReferenceModel(TargetProfile.VividLike), null) == null, output, 200);
    }

    [Fact]
    public void The_xunit_bridge_reports_a_failing_property_with_its_shrunk_counterexample()
    {
        var gen = new SequenceGenerator(TargetProfile.VividLike);
        var lockstep = new LockstepProperty();
        var e = Assert.ThrowsAny<Exception>(() => PropertyCheck.Holds(Shrink.Arbitrary(gen, 60),
            s => lockstep.Check(s, new ReferenceModel(TargetProfile.VividLike, ModelBug.SyncAcceptsUnknownFlags), null) == null, output, 500));
        Assert.Contains("DMA_BUF_IOCTL_SYNC", e.Message);
    }

    [Fact]
    public void Shrinking_inlines_a_dup_so_its_users_name_the_original()
    {
        var ops = ImmutableArray.Create<Op>(
            new Open("heap:system", O_RDONLY) { Id = 1 },
            new DmaHeapAlloc(new Var(1), PAGE_SIZE, O_RDWR, 0, 0, HeapAbi.Current) { Id = 2 },
            new Dup(new Var(2)) { Id = 3 },
            new Llseek(new Var(3), 0, SEEK_CUR) { Id = 4 });
        var cands = Shrink.Candidates(new OpSequence(1, ops)).ToList();
        Assert.Contains(cands, c => c.Ops.Length == 3 && c.Ops[2] is Llseek { Fd.Id: 2 });
    }

    [Fact]
    public void Removing_a_creator_leaves_its_users_not_run_on_both_sides()
    {
        var env = new Env();
        var m = new ReferenceModel(TargetProfile.VividLike);
        var o = new Llseek(new Var(7), 0, SEEK_END) { Id = 8 }.Run(m, env);
        Assert.Equal(Errno.NotRun, o.Errno);
    }

    [Fact]
    public void Reqbufs_count_is_adjusted_to_the_profile_minimum_and_maximum()
    {
        var m = new ReferenceModel(TargetProfile.VividLike);
        int fd = m.Open("video0", O_RDWR).Handle;
        Assert.Equal(2, m.ReqBufs(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 1).R0);
        Assert.Equal(64, m.ReqBufs(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 1000).R0);
        Assert.Equal(Errno.ENOBUFS, m.CreateBufs(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 1, 0).Errno);
    }

    [Fact]
    public void An_exported_buffer_keeps_its_contents_after_reqbufs0_and_close()
    {
        var m = new ReferenceModel(TargetProfile.VividLike);
        int fd = m.Open("video0", O_RDWR).Handle;
        m.ReqBufs(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 2);
        int d = m.ExpBuf(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, 1, 0, (uint)O_RDWR).Handle;
        int map = m.Mmap(d, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED).Handle;
        m.WriteStamp(map, 16, 0xabc);
        m.ReqBufs(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 0);
        m.Close(fd);
        m.Close(d);
        m.BeginStep(null);
        Assert.Equal(0xabc, m.ReadStamp(map, 16).R0);
        Assert.Contains(Inv.LifeMapping, m.Cited);
        Assert.Contains(Inv.ExpBufOutlives, m.Cited);
        Assert.Equal(1, m.LiveDmaBufs());
        m.Munmap(map);
        Assert.Equal(0, m.LiveDmaBufs());
    }

    [Fact]
    public void Poll_of_a_streaming_queue_whose_buffers_were_all_removed_starts_no_read_io()
    {
        // found by the lab on conformance_vcap: __vb2_init_fileio refuses a streaming queue, and vb2_core_poll says POLLERR
        var m = new ReferenceModel(TargetProfile.VividLike);
        int fd = m.Open("video0", O_RDWR | O_NONBLOCK).Handle;
        Assert.Equal(2, m.ReqBufs(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_USERPTR, 1).R0);
        Assert.True(m.StreamOn(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE).Ok);
        Assert.True(m.RemoveBufs(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, 0, 2).Ok);
        m.BeginStep(null);
        Assert.Equal(POLLERR, m.Poll(fd, POLLIN | POLLOUT).R0);
        Assert.Contains(Inv.PollStartsRead, m.Cited);
        // nothing started: read() is refused as it is for any queue the streaming API holds
        Assert.Equal(Errno.EBUSY, m.Read(fd, 4096).Errno);
    }
}
