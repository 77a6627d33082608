using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Spec;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// Self-contained counterexamples: sequences join with their closing ops, every lockstep sequence ends by asking each
/// queue whether a new file handle finds it idle, and a device left busy fails the sequence that left it so, not the next.
/// </summary>
public class IdleTests
{
    private static readonly Catalog Cat = Catalog.Load();

    [Fact]
    public void Joined_sequences_close_what_each_part_made_and_keep_their_handles_apart()
    {
        var a = new OpSequence(1, [
            new Open("heap:system", O_RDONLY) { Id = 1 },
            new DmaHeapAlloc(new Var(1), 4096, (uint)O_RDWR, 0, 0, HeapAbi.Current) { Id = 2 },
            new Mmap(new Var(2), 0, 4096, PROT_READ, MAP_SHARED) { Id = 3 }]);
        var b = new OpSequence(2, [new Open("video0", O_RDWR) { Id = 1 }, new Close(new Var(1)) { Id = 2 }]);
        var j = OpSequence.Join([a, b]);
        Assert.Equal(["Open", "DmaHeapAlloc", "Mmap", "Munmap", "Close", "Close", "Open", "Close"], j.Ops.Select(o => o.GetType().Name));
        // mappings go before fds, newest first; the second part's handles come after the first's
        Assert.Equal(new Var(3), ((Munmap)j.Ops[3]).Map);
        Assert.Equal([new Var(2), new Var(1)], j.Ops.Skip(4).Take(2).Select(o => ((Close)o).Fd));
        Assert.Equal(((Close)j.Ops[7]).Fd, new Var(j.Ops[6].Id));
        Assert.Equal(j.Ops.Length, j.Ops.Select(o => o.Id).Distinct().Count());
        // and it runs: every closing op finds its handle
        var model = new ReferenceModel(TargetProfile.VividLike);
        var env = new Env();
        Assert.All(j.Ops, op => Assert.NotEqual(Errno.NotRun, op.Run(model, env).Errno));
    }

    [Fact]
    public void A_handle_the_sequence_released_itself_gets_no_closing_op()
    {
        var seq = new OpSequence(1, [
            new Open("heap:system", O_RDONLY) { Id = 1 },
            new DmaHeapAlloc(new Var(1), 4096, (uint)O_RDWR, 0, 0, HeapAbi.Current) { Id = 2 },
            new DmaHeapAlloc(new Var(1), 4096, (uint)O_RDWR, 0, 0, HeapAbi.Current) { Id = 3 },
            new Close(new Var(2)) { Id = 4 },
            new Mmap(new Var(3), 0, 4096, PROT_READ, MAP_SHARED) { Id = 5 },
            new Munmap(new Var(5)) { Id = 6 },
            new Mmap(new Var(3), 0, 4096, PROT_READ, MAP_SHARED) { Id = 7 },
            // sent to the helper, which then exits: its copy goes with it
            new SendFd(new Var(3), 1, false) { Id = 8 },
            new ExitProcess { Id = 9, Process = 1 },
            // a create that fails (no such heap fd) keeps its closing op, which is not run
            new DmaHeapAlloc(new Var(99), 4096, (uint)O_RDWR, 0, 0, HeapAbi.Current) { Id = 10 }]);
        var closing = seq.Closing();
        Assert.Equal(["Munmap v7", "Close v10", "Close v3", "Close v1", "ExitProcess 1"],
            closing.Select(o => o switch { Munmap u => $"Munmap {u.Map}", Close c => $"Close {c.Fd}", _ => $"{o.GetType().Name} {o.Process}" }));
        // every closing op but the failed create's finds its handle on a target that ran the sequence
        var model = new ReferenceModel(TargetProfile.VividLike);
        var env = new Env();
        foreach (var op in seq.Ops) op.Run(model, env);
        Assert.Equal([true, false, true, true, true], closing.Select(op => op.Run(model, env).Errno != Errno.NotRun));
        Assert.Equal(0, model.LiveDmaBufs());
    }

    [Fact]
    public void An_op_that_has_run_is_the_same_value_as_one_that_never_ran()
    {
        // (an op keeps what it found out about itself at its first run, Op.ShapeOf: not part of its value)
        var model = new ReferenceModel(TargetProfile.VividLike);
        var env = new Env();
        var open = new Open("heap:system", O_RDONLY) { Id = 1 };
        var ran = new Close(new Var(1)) { Id = 2 };
        open.Run(model, env);
        Assert.Equal(Errno.OK, ran.Run(model, env).Errno);
        var fresh = new Close(new Var(1)) { Id = 2 };
        Assert.Equal(fresh, ran);
        Assert.Equal(fresh.GetHashCode(), ran.GetHashCode());
        Assert.NotEqual(ran with { Id = 3 }, ran);
        Assert.NotEqual<Op>(new Dup(new Var(1)) { Id = 2 }, ran);
        // a copy naming another handle releases that one, not the first's
        var second = new Open("heap:system", O_RDONLY) { Id = 3 };
        second.Run(model, env);
        Assert.Equal(Errno.OK, (ran with { Fd = new Var(3), Id = 4 }).Run(model, env).Errno);
        Assert.False(env.IsLive(new Var(3)));
    }

    [Fact]
    public void The_idle_probe_is_appended_once_and_only_where_there_is_a_video_queue()
    {
        var p = TargetProfile.VividLike;
        var seq = new SequenceGenerator(p).Generate(7, 20);
        var probed = LockstepProperty.WithIdleProbe(seq, p);
        var probe = LockstepProperty.IdleProbe(p);
        Assert.Equal(4, probe.Length);
        Assert.True(probed.Length >= seq.Length + probe.Length);
        Assert.Equal(probed.Ops, LockstepProperty.WithIdleProbe(probed, p).Ops);
        var heapOnly = p with { Video = [] };
        Assert.Same(seq, LockstepProperty.WithIdleProbe(seq, heapOnly));
    }

    /// <summary>A kernel-like model: its reset closes the suite's files but keeps the device's state, and it cannot be reloaded.</summary>
    public class NoReload : ForwardingProxy<NoReload>
    {
        public ReferenceModel Model = null!;
        protected override bool Answers(System.Reflection.MethodInfo m, object?[]? args, out object? result)
        {
            result = m.Name == nameof(IBufferTarget.Refresh) ? false : null;
            if (m.Name is not (nameof(IBufferTarget.Reset) or nameof(IBufferTarget.Refresh))) return false;
            Model.CloseAll();
            return true;
        }
        protected override object Route(System.Reflection.MethodInfo m, object?[]? args) => Model;
    }

    [Fact]
    public void A_queue_left_busy_fails_the_sequence_that_left_it_and_a_device_that_cannot_be_reloaded_ends_the_run()
    {
        var (target, proxy) = NoReload.Make();
        proxy.Model = new ReferenceModel(TargetProfile.VividLike, ModelBug.CloseKeepsQueue);
        var r = Engine.Run("stuck", target, new RunOptions { Areas = ["vb2"], Sequences = 300 }, Cat);
        // the one counterexample is the sequence that left the queue owned, closed, then a new handle's view of it
        var f = Assert.Single(r.Findings);
        Assert.Equal(Inv.OwnClose, f.Failure.InvariantId);
        Assert.IsType<Close>(f.Failure.Steps[f.Failure.StepIndex - 2].Op);
        Assert.IsType<Open>(f.Failure.Steps[f.Failure.StepIndex - 1].Op);
        // nothing after it is judged from a dirty device: the run says why it stopped
        Assert.NotNull(r.Exercise.StoppedBecause);
        var stopped = r.Invariants.Where(i => i.Verdict == Verdict.NotExercised).ToList();
        Assert.NotEmpty(stopped);
        Assert.All(stopped, i => Assert.Contains("cannot be reloaded", i.Reason));
    }

    [Fact]
    public void With_a_reloadable_device_the_same_bug_is_one_counterexample_and_the_rest_is_judged()
    {
        var r = Engine.Run("reload", new ReferenceModel(TargetProfile.VividLike, ModelBug.CloseKeepsQueue), new RunOptions { Areas = ["vb2"], Property = "lockstep" }, Cat);
        Assert.Equal([Inv.OwnClose], r.Findings.Select(f => f.Failure.InvariantId));
        Assert.Null(r.Exercise.StoppedBecause);
        Assert.DoesNotContain(r.Invariants, i => i.Verdict == Verdict.NotExercised);
        Assert.Contains("reproduced: failed again in 10 of 10", TextReport.Counterexample(r, r.Findings.Single(), Cat, "cmd"));
    }
}
