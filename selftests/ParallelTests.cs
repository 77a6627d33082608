using System.Collections.Immutable;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// Parallel blocks (DMABUF-PAR-1): a sequence's last steps as branches run at once, judged against every interleaving of
/// them; generated only where no handle number can be reused under a branch; written to replay files and C reproducers that
/// run the branches on threads and check the block as a whole.
/// </summary>
public class ParallelTests
{
    private static readonly Var Heap = new(1), Buf = new(2);

    /// <summary>A heap, one buffer of it (steps 1 and 2), then the given block.</summary>
    private static ImmutableArray<Op> WithBuffer(params Op[] block)
    {
        var ops = new List<Op>
        {
            new Open("heap:system", O_RDONLY | O_CLOEXEC) { Id = 1 },
            new DmaHeapAlloc(Heap, 4096, (uint)(O_RDWR | O_CLOEXEC), 0, 0, HeapAbi.Current) { Id = 2 },
        };
        int id = 3;
        foreach (var op in block) ops.Add(op with { Id = id++ });
        return [.. ops];
    }

    /// <summary>Whether some interleaving of the blocks explains the outcomes (the parallel property's judgement).</summary>
    private static bool Explained(ImmutableArray<Op> ops, params Outcome[] blockOutcomes)
    {
        var actual = new List<Outcome> { Outcome.Created(3), Outcome.Created(4) };
        actual.AddRange(blockOutcomes);
        var lin = new Linearization(ops, actual, Linearization.Blocks(ops), TargetProfile.VividLike, new HashSet<string>(), 2);
        return Enumerable.Range(0, (int)lin.Combinations).Any(c => lin.Replay(lin.Combination(c)).Diverged < 0);
    }

    [Fact]
    public void Interleavings_keep_each_branch_in_its_own_order_and_are_all_there()
    {
        var ops = WithBuffer(new FcntlGetFd(Buf) { Branch = 1 }, new FcntlGetFd(Buf) { Branch = 1 }, new Llseek(Buf, 0, SEEK_END) { Branch = 2 });
        var orders = Linearization.Interleavings(ops, 2, 5).Select(o => string.Join(" ", o)).ToList();
        Assert.Equal(["2 3 4", "2 4 3", "4 2 3"], orders);
        // three branches of one step each: every permutation
        var three = WithBuffer(new FcntlGetFd(Buf) { Branch = 1 }, new FcntlGetFd(Buf) { Branch = 2 }, new FcntlGetFd(Buf) { Branch = 3 });
        Assert.Equal(6, Linearization.Interleavings(three, 2, 5).Count());
    }

    [Fact]
    public void Outcomes_some_order_gives_pass_and_outcomes_no_order_gives_fail()
    {
        var close2 = WithBuffer(new Close(Buf) { Branch = 1 }, new Close(Buf) { Branch = 2 });
        Assert.True(Explained(close2, Outcome.Success(), Outcome.Fail(Errno.EBADF)));
        Assert.True(Explained(close2, Outcome.Fail(Errno.EBADF), Outcome.Success()));   // B first: an order the harness never ran
        Assert.False(Explained(close2, Outcome.Success(), Outcome.Success()));          // both found the fd: no order does that
        Assert.False(Explained(close2, Outcome.Fail(Errno.EBADF), Outcome.Fail(Errno.EBADF)));
        // a branch keeps the number it had when the block began: after the other branch's close it names a closed fd (EBADF),
        // before it the buffer (its FD_CLOEXEC)
        var closeVsQuery = WithBuffer(new Close(Buf) { Branch = 1 }, new FcntlGetFd(Buf) { Branch = 2 });
        Assert.True(Explained(closeVsQuery, Outcome.Success(), Outcome.Fail(Errno.EBADF)));
        Assert.True(Explained(closeVsQuery, Outcome.Success(), Outcome.Success(FD_CLOEXEC)));
        Assert.False(Explained(closeVsQuery, Outcome.Success(), Outcome.Success(0)));   // FD_CLOEXEC lost: no order
    }

    [Fact]
    public void A_close_while_another_thread_uses_the_file_may_release_it_when_that_call_returns()
    {
        // v1 owns the queue; B closes it and asks for buffers through v2. While A's QUERYBUF on v1 is inside the kernel it
        // holds v1's file, so the queue may still be v1's when B's REQBUFS comes (EBUSY): close(2) NOTES
        static bool Busy(Var queried)
        {
            Var v1 = new(1), v2 = new(2);
            ImmutableArray<Op> ops =
            [
                new Open("video0", O_RDWR | O_NONBLOCK) { Id = 1 },
                new Open("video0", O_RDWR | O_NONBLOCK) { Id = 2 },
                new ReqBufs(v1, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 2) { Id = 3 },
                new QueryBuf(queried, V4L2_BUF_TYPE_VIDEO_CAPTURE, 0) { Id = 4, Branch = 1 },
                new Close(v1) { Id = 5, Branch = 2 },
                new ReqBufs(v2, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 2) { Id = 6, Branch = 2 },
            ];
            var model = new ReferenceModel(TargetProfile.VividLike);
            var env = new Env();
            var actual = new List<Outcome>();
            for (int i = 0; i < 4; i++) { model.BeginStep(null); actual.Add(ops[i].Run(model, env)); }
            actual.Add(Outcome.Success());
            actual.Add(Outcome.Fail(Errno.EBUSY));
            var lin = new Linearization(ops, actual, Linearization.Blocks(ops), TargetProfile.VividLike, new HashSet<string>(), 3);
            return Enumerable.Range(0, (int)lin.Combinations).Any(c => lin.Replay(lin.Combination(c)).Diverged < 0);
        }
        Assert.True(Busy(new Var(1)));    // A's call on v1 kept the file: the release came after B's REQBUFS
        Assert.False(Busy(new Var(2)));   // nothing else held v1's file: closing it released the queue at once
    }

    public static TheoryData<string> Profiles => new(TargetProfile.BuiltIn.Select(p => p.Name));

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Generated_blocks_race_on_a_shared_handle_and_never_reuse_a_number(string profile)
    {
        var p = TargetProfile.BuiltIn.Single(x => x.Name == profile);
        var gen = new SequenceGenerator(p);
        int twoBranches = 0, shared = 0;
        const int n = 300;
        for (ulong seed = 1; seed <= n; seed++)
        {
            var seq = gen.GenerateParallel(seed * 7919, 40);
            var blocks = Linearization.Blocks(seq.Ops);
            Assert.True(blocks.Count <= 1);
            if (blocks.Count == 0) continue;   // the state the steps left offers no call a block may hold
            var (start, end) = blocks[0];
            Assert.Equal(seq.Ops.Length, end);
            var block = seq.Ops[start..end];
            Assert.All(block, op => Assert.True(SequenceGenerator.InBlock(op), $"{op.Text} in a block"));
            OpJson.CheckHandles(seq.Ops);   // no branch names what another creates
            if (block.Any(o => o is Close or GemClose))
                Assert.DoesNotContain(block, o => o.Creates && o.Makes is Resource.Fd or Resource.GemHandle or Resource.FenceId);
            // a dumb export's GEM handle lives and dies inside its step: no other step of the block may take a handle number
            if (block.Any(o => o is DrmDumbExport))
                Assert.DoesNotContain(block, o => o.Creates && o.Makes == Resource.GemHandle);
            // a close of an fd another branch names ends its branch (that call may act on the file after it)
            foreach (var g in block.GroupBy(o => o.Branch))
            {
                var mine = g.ToList();
                int at = mine.FindIndex(o => o is Close c && block.Any(x => x.Branch != o.Branch && x.Uses.Contains(c.Fd)));
                Assert.True(at < 0 || at == mine.Count - 1, $"{profile}: branch {g.Key} goes on after closing what another branch names");
            }
            var branches = block.GroupBy(o => o.Branch).ToList();
            if (branches.Count >= 2) twoBranches++;
            if (branches.Count >= 2 && branches.Select(g => g.SelectMany(o => o.Uses).ToHashSet()).Aggregate((a, b) => [.. a.Intersect(b)]).Count > 0) shared++;
            Assert.Equal(seq.Ops.Length, seq.Ops.Select(o => o.Id).Distinct().Count());
        }
        // most blocks are a race: two or more branches, on a handle they share
        Assert.True(twoBranches >= n * 8 / 10, $"{profile}: {twoBranches} of {n} blocks have two branches or more");
        Assert.True(shared >= n / 2, $"{profile}: {shared} of {n} blocks have branches on a shared handle");
    }

    [Fact]
    public void A_parallel_counterexample_round_trips_its_replay_file_and_its_c_reproducer_checks_the_block_as_a_whole()
    {
        var target = new ReferenceModel(TargetProfile.VividLike, ModelBug.CloseRaces);
        var ops = WithBuffer(new Close(Buf) { Branch = 1 }, new Close(Buf) { Branch = 2 });
        var f = new LockstepProperty(parallel: true).Check(new OpSequence(1, ops), target, null);
        Assert.NotNull(f);
        Assert.Equal(Inv.Linearizable, f.InvariantId);
        Assert.Equal(3, f.StepIndex);      // the second close: the closest order, A first, expects EBADF there
        Assert.Equal(4, f.Steps.Count);    // the counterexample ends with its block: the steps after it were not judged
        Assert.Contains("no interleaving", f.Detail);
        var site = new RunSite("broken:close-races", "vivid-like", TargetProfile.VividLike, null, null, RunSite.DefaultPaths(TargetProfile.VividLike));
        var rf = Counterexamples.WithFailure(Counterexamples.Sample(site, Program.Parse([]), "parallel", 1, 1, f.Steps, "test"), f, Conformance.Spec.Catalog.Load());
        var back = ReplayFile.Parse(rf.ToJson());
        Assert.Equal(rf.ToJson(), back.ToJson());
        Assert.Equal([0, 0, 1, 2], back.Steps.Select(s => s.Op.Branch));
        // each close may return 0 or EBADF, but not both 0: two orders, (0, EBADF) and (EBADF, 0)
        Assert.Equal(2, back.Steps[2].ByOrder!.Count);
        Assert.Equal([Errno.OK, Errno.EBADF], back.Steps[2].ByOrder!.Select(l => l.Single().Errno));
        Assert.Equal([Errno.EBADF, Errno.OK], back.Steps[3].ByOrder!.Select(l => l.Single().Errno));
        var c = CReproducer.Write(back);
        Assert.Contains("\tblock_start();\n", c);
        Assert.Contains("rc = check_block(3, 2, what, po, 2, alt, nalt, any_value, content, -1, \"(0, -1 EBADF) or (-1 EBADF, 0)\");", c);
        Assert.Contains($"#define RACE_RUNS {CReproducer.RaceRuns}", c);
        Assert.Null(CCompile.Check(c));
        // a block step without what each order allows is not a replay file
        var broken = rf.ToJson().Replace("\"allowed_by_order\"", "\"allowed_by_orders\"");
        Assert.Contains("allowed_by_order", Assert.Throws<ReplayFormatException>(() => ReplayFile.Parse(broken)).Message);
    }

    /// <summary>The lab's round trip: a block step that reads a buffer's contents is compared, in the C reproducer, with what
    /// this device showed an earlier step (learned), as a step outside a block is: the recorded run's bytes were another
    /// device's (here the model's), and vivid's buffer held zeros.</summary>
    [Fact]
    public void A_block_step_reading_contents_compares_them_as_learned_from_the_device()
    {
        Var v1 = new(1), v2 = new(3), v3 = new(4), v4 = new(5);
        Op[] ops =
        [
            new Open("video0", O_RDWR | O_NONBLOCK) { Id = 1 },
            new ReqBufs(v1, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 1) { Id = 2 },
            new ExpBuf(v1, V4L2_BUF_TYPE_VIDEO_CAPTURE, 0, 0, (uint)(O_RDWR | O_CLOEXEC)) { Id = 3 },
            new Mmap(v2, 0, 462848, PROT_READ, MAP_SHARED) { Id = 4 },
            new MmapVideo(v1, V4L2_BUF_TYPE_VIDEO_CAPTURE, 0, 0, 462848, PROT_READ | PROT_WRITE, MAP_SHARED) { Id = 5 },
            new ReadStamp(v3, 4120) { Id = 6 },
            new ReadStamp(v4, 4120) { Id = 7, Branch = 2 },
        ];
        var target = new ReferenceModel(TargetProfile.VividLike, ModelBug.ExpBufCopiesMemory);
        var f = new LockstepProperty(parallel: true).Check(new OpSequence(1, [.. ops]), target, null);
        Assert.NotNull(f);
        Assert.Equal(6, f.StepIndex);
        var site = new RunSite("broken:expbuf-copies-memory", "vivid-like", TargetProfile.VividLike, null, null, RunSite.DefaultPaths(TargetProfile.VividLike));
        var rf = Counterexamples.WithFailure(Counterexamples.Sample(site, Program.Parse([]), "parallel", 1, 1, f.Steps, "test"), f, Conformance.Spec.Catalog.Load());
        var c = CReproducer.Write(ReplayFile.Parse(rf.ToJson()));
        Assert.Contains("static const int content[] = { 1 };", c);
        Assert.Contains("alt, nalt, any_value, content, ", c);
        Assert.Null(CCompile.Check(c));
    }

    [Fact]
    public void A_known_race_matches_only_its_failing_call_raced_by_its_calls()
    {
        var catalog = Conformance.Spec.Catalog.Load();
        var classify = KnownIssues.Classifier(TargetProfile.VividLike, Conformance.Spec.KnownIssueList.BuiltIn(catalog));
        Var v1 = new(1);
        Failure Race(Op racing)
        {
            Op[] ops =
            [
                new Open("video0", O_RDWR | O_NONBLOCK) { Id = 1 },
                new ReqBufs(v1, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 2) { Id = 2 },
                new MmapVideo(v1, V4L2_BUF_TYPE_VIDEO_CAPTURE, 0, 0, 460800, PROT_READ | PROT_WRITE, MAP_SHARED) { Id = 3, Branch = 1 },
                racing with { Id = 4, Branch = 2 },
            ];
            return new Failure("parallel", Inv.Linearizable, 2, [.. ops.Select(o => new Step(o, Outcome.Fail(Errno.EINVAL)))], "mapped", "MAP_FAILED EINVAL");
        }
        Assert.Equal("vb2-mmap-during-reqbufs", classify(Race(new ReqBufs(v1, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 4)))?.Id);
        // another race on the same call is not that issue: a plain failure
        Assert.Null(classify(Race(new QueryBuf(v1, V4L2_BUF_TYPE_VIDEO_CAPTURE, 0))));
        // nor is a failure at the REQBUFS, or one outside a parallel block
        var atReqBufs = Race(new ReqBufs(v1, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 4)) with { StepIndex = 3 };
        Assert.Null(classify(atReqBufs));
        var sequential = Race(new ReqBufs(v1, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 4));
        Assert.Null(classify(sequential with { Steps = [.. sequential.Steps.Select(st => st with { Op = st.Op with { Branch = 0 } })] }));
    }

    [Fact]
    public void A_step_that_names_a_handle_another_branch_creates_is_refused()
    {
        var ops = WithBuffer(new Dup(Buf) { Branch = 1 }, new FcntlGetFd(new Var(3)) { Branch = 2 });
        var e = Assert.Throws<OpFormatException>(() => OpJson.CheckHandles(ops));
        Assert.Contains("another branch", e.Message);
        var json = OpJson.ToJson(ops[2]);
        Assert.Equal(1, (int)json["branch"]!);
        Assert.Equal(1, OpJson.FromJson(json, "test").Branch);
        Assert.Null(OpJson.ToJson(ops[0])["branch"]);   // a step run in order writes no branch: older files stay as they were
    }
}
