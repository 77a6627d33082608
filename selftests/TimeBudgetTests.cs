using Conformance.Adapters.Interop;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Properties;
using Conformance.Runner;
using Conformance.Spec;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// --time is the whole run's budget: a kernel run's devices each get what is left over the devices left, a device's
/// properties likewise, a share that runs out stops its property between sequences, and the run says what it could not
/// reach (devices whose turn came too late; invariants no sequence reached in their properties' shares).
/// </summary>
public class TimeBudgetTests
{
    [Fact]
    public void Each_device_gets_what_is_left_over_the_devices_left_and_a_spent_budget_reaches_no_more()
    {
        var t0 = new DateTime(2026, 12, 4, 0, 0, 0, DateTimeKind.Utc);
        var budget = new KernelRun.TimeBudget(TimeSpan.FromSeconds(100), t0);
        Assert.Equal(TimeSpan.FromSeconds(25), budget.Share(4, t0));
        // the first device took 40 s: the three left share the 60 s left
        Assert.Equal(TimeSpan.FromSeconds(20), budget.Share(3, t0.AddSeconds(40)));
        // one that finished early leaves its time to the rest
        Assert.Equal(TimeSpan.FromSeconds(50), budget.Share(1, t0.AddSeconds(50)));
        Assert.Null(budget.Share(1, t0.AddSeconds(99.5)));
        Assert.Null(budget.Share(2, t0.AddSeconds(130)));
        Assert.Null(new KernelRun.TimeBudget(null, t0).Share(1, t0));
        Assert.Null(new KernelRun.TimeBudget(null, t0).Summary([], t0));
    }

    [Fact]
    public void A_share_that_runs_out_stops_its_property_and_its_unreached_invariants_say_so()
    {
        var catalog = Catalog.Load();
        // a tick (100 ns, less than any sequence takes): every property runs the one sequence a share always gets, then its
        // time is up
        var opt = new RunOptions { Budget = TimeSpan.FromTicks(1), SlowOps = true };
        var result = Engine.Run("model", new ReferenceModel(TargetProfile.VividLike), opt, catalog);
        Assert.NotEmpty(result.Properties);
        Assert.All(result.Properties, p =>
        {
            Assert.Equal(1, p.Sequences);
            Assert.True(p.OutOfTime, p.Property.Name);
            Assert.NotNull(p.TimeShare);
        });
        var unreached = result.Invariants.Where(i => i.Verdict == Verdict.NotExercised && i.Reason!.StartsWith(Engine.OutOfTimeReason)).ToList();
        Assert.NotEmpty(unreached);
        Assert.Contains("lockstep: 1 sequences in its 0 s share", unreached[0].Reason);
        Assert.EndsWith("a longer --time may", unreached[0].Reason);

        var summary = new KernelRun.TimeBudget(opt.Budget, DateTime.UtcNow).Summary([result], DateTime.UtcNow)!;
        Assert.StartsWith("# time budget: 0 s of 0 s spent on 1 device(s), each property running to the end of its share; not reached: ", summary);
        Assert.Contains($"{unreached.Count} invariant(s) no sequence reached in their properties' shares: {unreached.Select(i => i.Invariant.Id).Order(StringComparer.Ordinal).First()}", summary);
    }

    [Fact]
    public void The_properties_share_a_devices_time_as_it_is_left()
    {
        var catalog = Catalog.Load();
        var opt = new RunOptions { Budget = TimeSpan.FromSeconds(4), SlowOps = true };
        var start = DateTime.UtcNow;
        var result = Engine.Run("model", new ReferenceModel(TargetProfile.VividLike), opt, catalog);
        var elapsed = DateTime.UtcNow - start;
        var shares = result.Properties.Select(p => p.TimeShare!.Value.TotalSeconds).ToList();
        // the first property's share is the budget over all of them; the shares add up to about the budget, not more
        Assert.InRange(shares[0], 4.0 / shares.Count - 0.05, 4.0 / shares.Count + 0.001);
        Assert.InRange(shares.Sum(), 3.5, 4.5);
        Assert.All(result.Properties, p => Assert.True(p.Sequences > 1, $"{p.Property.Name}: {p.Sequences} sequences"));
        Assert.InRange(elapsed.TotalSeconds, 3.5, 30);   // a batch in progress finishes its sequence, never a whole batch more
    }

    [Fact]
    public void The_time_lines_are_summed_over_the_devices_with_each_part_s_share()
    {
        var run = Engine.Run("model", new ReferenceModel(TargetProfile.VividLike), new RunOptions { Sequences = 50 }, Catalog.Load());
        var splits = run.Properties.Select(p => p.Split!).ToList();
        var line = KernelRun.TimeTotals([run, run])!;
        double sequences = 2 * splits.Sum(s => s.Sequences), all = 2 * splits.Sum(s => s.Sequences + s.Drawing + s.Shrinking + s.ReRuns + s.KernelMemory);
        Assert.StartsWith($"# time, all devices: {all:0.0} s: sequences {sequences:0.0} s (", line);
        // (the model has no kernel memory to check: its part is the clock's reads around nothing, a few microseconds, or a
        // preemption on a loaded host; a share of a 0.1-s run that a test fixes at 0% failed once in a full run)
        double memory = 2 * splits.Sum(s => s.KernelMemory);
        Assert.True(memory < 0.5, $"the kernel-memory check took {memory} s on the model");
        Assert.Contains($", the kernel-memory check {memory:0.0} s ({(all > 0 ? 100 * memory / all : 0):0}%), shrinking ", line);
        Assert.Null(KernelRun.TimeTotals([]));
    }

    /// <summary>The benchmark's throughput line: ops judged over the run's whole time, and the run's time against its system
    /// calls' (what a raw C program making them would take); none where the calls were not timed.</summary>
    [Fact]
    public void The_throughput_line_sets_the_run_s_time_against_its_system_calls()
    {
        var run = Engine.Run("model", new ReferenceModel(TargetProfile.VividLike), new RunOptions { Sequences = 20 }, Catalog.Load());
        Assert.Null(KernelRun.Throughput(run));
        double s = run.Elapsed.TotalSeconds;
        // 1,000 calls timed at a quarter of the run, each with 10 us of the clock's own (subtracted): a fifth of the run
        var timed = run with { Syscalls = new SyscallTime(1000, s / 4, s / 20 / 1000) };
        Assert.Equal($"# throughput: {run.Exercise.Ops:N0} ops judged in {s:0.0} s, {run.Exercise.Ops / s:N0} ops/s; its 1,000 system calls took " +
            $"{s / 5:0.0} s of it (20%): the run took 5.0x its calls' time", KernelRun.Throughput(timed));
        var both = KernelRun.Throughput([timed, timed, run], "all devices")!;
        Assert.StartsWith($"# throughput, all devices: {2 * run.Exercise.Ops:N0} ops judged in {2 * s:0.0} s", both);
        Assert.Contains("its 2,000 system calls took", both);
        Assert.EndsWith("(20%): the run took 5.0x its calls' time", both);
    }
}
