using System.Collections.Immutable;
using System.Diagnostics;
using Conformance.Adapters;
using Conformance.Adapters.Kernel;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Spec;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace Conformance.Properties;

/// <summary>
/// An invariant's verdict on one target. Known: it failed, and every counterexample matches an entry of the
/// known kernel issues (spec/known-issues.json or --expectations) for this kernel and driver; never a pass.
/// </summary>
public enum Verdict { Pass, Fail, NotExercised, Skip, Known }

public sealed record InvariantResult(Invariant Invariant, Verdict Verdict, long Exercised, string? Reason)
{
    /// <summary>For <see cref="Verdict.Known"/>: the known issues its counterexamples matched.</summary>
    public IReadOnlyList<KnownIssue> Known { get; init; } = [];
}

/// <summary>
/// One distinct failure a property found: the shrunk counterexample (Failure), the sequence it was shrunk from
/// (Original), the batch seed and size that replay it, and how often it failed again from a fresh state.
/// </summary>
public sealed record Finding(IConformanceProperty Property, Failure Failure, Failure? Original, int ShrinkSteps, ulong ReplaySeed, int ReplaySequences, int FoundAfter)
{
    /// <summary>How many times the final counterexample failed again, each time from a fresh state, out of <see cref="ReproRuns"/>.</summary>
    public int Reproduced { get; init; }
    public int ReproRuns { get; init; }
    /// <summary>Failed on every re-run: not a flaky failure.</summary>
    public bool Deterministic => ReproRuns > 0 && Reproduced == ReproRuns;
    /// <summary>The known kernel issue this failure matches (kernel targets only), or null: a plain failure.</summary>
    public KnownIssue? Known { get; init; }
    /// <summary>Invariants the property had already found failing when it found this one (their divergences were not judged).</summary>
    public IReadOnlyList<string> AlreadyFailing { get; init; } = [];
    /// <summary>Each re-run started from a freshly loaded driver (the lab reloaded the module), not only from closed files.</summary>
    public bool DriverReloaded { get; init; }
    /// <summary>How many steps the failing sequence had before shrinking (set where <see cref="Original"/> is not kept: a finding
    /// read back from results.json by --merge).</summary>
    public int? OriginalSteps { get; init; }
    /// <summary>Steps of the failing sequence before shrinking.</summary>
    public int OriginalLength => OriginalSteps ?? Original?.Steps.Count ?? Failure.Steps.Count;
    /// <summary>The failing sequence did not reproduce on its own: this counterexample was shrunk from it joined to the
    /// this many sequences the batch ran before it (0: it stands on its own).</summary>
    public int JoinedHistory { get; init; }
}

/// <summary>What one property did on one target: how many sequences it ran and every distinct failure it found (one per invariant).</summary>
public sealed record PropertyResult(IConformanceProperty Property, int Sequences, IReadOnlyList<Finding> Findings, TimeSpan Elapsed)
{
    /// <summary>Where the property's time went (<see cref="TimeSplit"/>); null where it was not measured.</summary>
    public TimeSplit? Split { get; init; }
    /// <summary>The kernel's allocations on the dma-buf paths before and after this property's sequences (DMABUF-LIFE-4), where
    /// the run follows them (<see cref="RunOptions.Memory"/>); null elsewhere.</summary>
    public MemoryCheck? Memory { get; init; }
    /// <summary>How many more dma-bufs were alive (bufinfo) after this property's sequences, every fd and mapping closed, than
    /// before them: 0 where none outlived them or the target cannot count (DMABUF-LIFE-3 over the property's whole run).</summary>
    public int DmaBufsLeft { get; init; }
    /// <summary>Under --time: this property's share of its target's budget (what was left, divided among the properties
    /// still to run); null without a time budget.</summary>
    public TimeSpan? TimeShare { get; init; }
    /// <summary>Under --time: the share ran out while the property had sequences left to run (its last batch stopped at
    /// the deadline, or batches were never started).</summary>
    public bool OutOfTime { get; init; }
}

/// <summary>
/// How a run follows the kernel's allocations on the dma-buf paths (DMABUF-LIFE-4): a snapshot before and after each
/// property's sequences (<see cref="Take"/>: SLUB's alloc_traces, <see cref="AllocTraces"/>), late frees given up to
/// <see cref="MaxWait"/>, and <see cref="Classify"/> telling which growth a known kernel issue explains.
/// </summary>
/// <param name="Take">A snapshot of the named kmalloc caches ("kmalloc-16"), every tracked one for null.</param>
public sealed record MemoryWatch(Func<IReadOnlyCollection<string>?, AllocTraces.Snapshot?> Take, TimeSpan MaxWait, Func<IReadOnlyList<AllocTraces.Growth>, KnownIssue?>? Classify = null)
{
    /// <summary>A snapshot of every tracked cache that still stands for the kernel's state when the run starts (the one the run
    /// before it ended with, <see cref="SuiteResult.MemoryAfter"/>, where only clean-up and set-up that allocate nothing on the
    /// dma-buf paths ran since): the first property's before, instead of a new one (a snapshot takes about a second under
    /// TCG). Null: the first property takes its own.</summary>
    public AllocTraces.Snapshot? Before { get; init; }
}

/// <summary>
/// Where one property's run on a target spent its time, in seconds of wall time: its sequences (the target running them and
/// the oracle judging them, resets included), drawing them (the batches' time outside the checks: FsCheck's, and waiting for
/// the next sequence where <see cref="Prefetch"/> had not made it yet, or making it),
/// checking shrink candidates, re-running counterexamples from a fresh device (the reproductions, and shrinking with the
/// batch's history), and the kernel-memory check around the property (reading the allocation traces, letting late frees
/// settle, hunting a leak).
/// </summary>
public sealed record TimeSplit(double Sequences, double Drawing, double Shrinking, double ReRuns, double KernelMemory)
{
    /// <summary>This split with a batch's checks, shrink candidates and drawing added.</summary>
    public TimeSplit Add(Engine.BatchResult r) => this with
    {
        Sequences = Sequences + r.Checking.TotalSeconds,
        Shrinking = Shrinking + r.Shrinking.TotalSeconds,
        Drawing = Drawing + Math.Max(0, (r.Whole - r.Checking - r.Shrinking).TotalSeconds),
    };

    /// <summary>The four parts of the property's own time (the kernel-memory check is outside it).</summary>
    public override string ToString() =>
        $"sequences {Sequences:0.0}, drawing {Drawing:0.0}, shrinking {Shrinking:0.0}, re-runs {ReRuns:0.0}";
}

/// <summary>
/// One property's sequences seen through SLUB (DMABUF-LIFE-4): the chains on the dma-buf paths that hold more live objects
/// after them than before (empty: nothing left behind), how long late frees were waited for, how many chains were live
/// before, and the known kernel issue that explains every chain that grew (null: none, or nothing grew).
/// </summary>
public sealed record MemoryCheck(string Property, int Sequences, IReadOnlyList<AllocTraces.Growth> Grown, TimeSpan Waited, int ChainsBefore)
{
    public KnownIssue? Known { get; init; }

    /// <summary>One line for reports: "after the parallel property's 300 sequences: +2 kmalloc-16: get_sg_table &lt;- ...".</summary>
    public override string ToString() => Grown.Count == 0
        ? $"after the {Property} property's {Sequences} sequences no allocating chain on the dma-buf paths holds more live objects than before ({ChainsBefore} chains live before)"
        : $"after the {Property} property's {Sequences} sequences, still allocated {Waited.TotalSeconds:F0} s later: {string.Join("; ", Grown)}";
}

/// <summary>What to run and how much of it.</summary>
public sealed record RunOptions
{
    public ulong Seed { get; init; } = 1;
    public int Sequences { get; init; } = 3000;
    /// <summary>--time: the whole run's time budget, shared by its devices (a kernel run divides it as each device's turn
    /// comes: what is left over the devices left) and, on each, by its properties (likewise); null: a sequence count.</summary>
    public TimeSpan? Budget { get; init; }
    /// <summary>Under --time, when this target's share ends (set by a run of several devices); null: <see cref="Budget"/> from
    /// the start of <see cref="Engine.Run"/>.</summary>
    public DateTime? Deadline { get; init; }
    public int MaxLength { get; init; } = 60;
    public int BatchSize { get; init; } = 50;
    public IReadOnlyList<string> Areas { get; init; } = SequenceGenerator.AllAreas;
    public IReadOnlyList<string> Ids { get; init; } = [];
    public string? Property { get; init; }
    /// <summary>Generate ops that wait in real time (vgem fence expiry, 10 s each); null = only on the model.</summary>
    public bool? SlowOps { get; init; }
    /// <summary>Told, before each sequence runs, how to describe it (called only if a hang must be reported).</summary>
    public Action<Func<string>>? OnSequence { get; init; }
    /// <summary>Told each batch's property and seed before it runs (the lab records it to name what a kernel WARNING interrupted).</summary>
    public Action<string, ulong, int>? OnBatch { get; init; }
    /// <summary>Told after each batch how far a property has got: its name, sequences done, sequences planned (0 with a
    /// time budget), ops run so far and time spent on it (a terminal's live progress line).</summary>
    public Action<string, int, int, long, TimeSpan>? OnProgress { get; init; }
    /// <summary>How many times the final counterexample is run again, each from a fresh state, to tell a flaky failure from a solid one.</summary>
    public int ReproRuns { get; init; } = 10;
    /// <summary>The kernel's allocations followed around each property (DMABUF-LIFE-4); null: not followed (the model, or a
    /// kernel without slub_debug=U, where the rule is a SKIP through its precondition).</summary>
    public MemoryWatch? Memory { get; init; }
    /// <summary>--shard I/N: this run does only shard I's share of the batches (<see cref="Shard.Takes"/>); null: all of them.</summary>
    public Shard? Shard { get; init; }
    /// <summary>The unit's place in the run (a kernel run's device index, 0 on the model): with the property's place in
    /// <see cref="Properties.All"/> it decides which shard takes a property's first batch, so that properties and devices with
    /// one batch each are spread over the shards rather than all given to the first.</summary>
    public int ShardLane { get; init; }
}

/// <summary>
/// One of N shares of a run (--shard I/N, I from 1): N boards or LAVA jobs each run one with the same seed and options, and
/// --merge joins their results into the run's. A property's sequences come in batches of <see cref="RunOptions.BatchSize"/>
/// whose seeds follow from the master seed and the batch's index alone (<see cref="Engine.BatchSeed"/>), so a batch is the
/// same sequences whichever shard runs it: shard I takes the batches whose index plus the property's lane is I-1 modulo N.
/// Every batch is taken by exactly one shard, and the shards together run the sequences the unsharded run runs.
/// </summary>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>Whether this shard runs batch <paramref name="batch"/> of the property in lane <paramref name="lane"/>.</summary>
    public bool Takes(int batch, int lane) => (int)(((long)batch + lane) % Count) == Index - 1;

    /// <summary>"I/N", as --shard takes it.</summary>
    public override string ToString() => $"{Index}/{Count}";

    /// <summary>Reads "I/N" (1 &lt;= I &lt;= N &lt;= 1024); null with the reason in <paramref name="error"/> otherwise.</summary>
    public static Shard? Parse(string text, out string? error)
    {
        error = null;
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out int i) && int.TryParse(parts[1], out int n) && n is >= 1 and <= 1024 && i >= 1 && i <= n)
            return new Shard(i, n);
        error = $"--shard takes I/N, shard I of N with 1 <= I <= N <= 1024 (e.g. 1/4), not '{text}'";
        return null;
    }
}

public sealed record SuiteResult(
    string Target, TargetProfile Profile, RunOptions Options, IReadOnlyList<PropertyResult> Properties,
    IReadOnlyList<InvariantResult> Invariants, Exercise Exercise, TimeSpan Elapsed)
{
    /// <summary>Which declared argument values (<see cref="Generators.Domains"/>) the run's generated sequences carried.</summary>
    public DomainTally Domains { get; init; } = new();

    /// <summary>The snapshot of every tracked cache the run's last kernel-memory check ended with, where no sequence has run on
    /// the target since (the next run's <see cref="MemoryWatch.Before"/>); null where kernel memory was not followed, or the
    /// last check found growth, a leak was hunted, dma-bufs outlived the sequences, or sequences ran with no check around them
    /// (the state moved on after the snapshot).</summary>
    public AllocTraces.Snapshot? MemoryAfter { get; init; }

    /// <summary>The kernel target's system calls over the run and their time (<see cref="Conformance.Adapters.Interop.SyscallClock"/>:
    /// a kernel run times them); null on the model.</summary>
    public Conformance.Adapters.Interop.SyscallTime? Syscalls { get; init; }

    /// <summary>Every distinct failure, property by property.</summary>
    public IEnumerable<Finding> Findings => Properties.SelectMany(p => p.Findings);

    /// <summary>A failure that is not a known kernel issue: the target does not conform. (A verdict can fail without a
    /// finding: kernel memory left allocated over a property's sequences, DMABUF-LIFE-4.)</summary>
    public bool Failed => Findings.Any(f => f.Known == null) || Invariants.Any(i => i.Verdict == Verdict.Fail);

    /// <summary>No invariant got a verdict: every one selected was skipped or not exercised (e.g. the kernel-memory property
    /// alone on the model). Such a run certifies nothing and is not green.</summary>
    public bool JudgedNothing => !Invariants.Any(i => i.Verdict is Verdict.Pass or Verdict.Fail or Verdict.Known);

    /// <summary>Some invariant failed only as a known kernel issue.</summary>
    public bool HasKnown => Findings.Any(f => f.Known != null) || Invariants.Any(i => i.Verdict == Verdict.Known);

    /// <summary>Findings that cite no invariant judged in this run (e.g. UNCITED): each still fails the unit, once per ID.</summary>
    public IEnumerable<Finding> Unjudged
    {
        get
        {
            var judged = Invariants.Select(i => i.Invariant.Id).ToHashSet(StringComparer.Ordinal);
            return Findings.Where(f => !judged.Contains(f.Failure.InvariantId));
        }
    }

    /// <summary>Invariants by verdict; a failure citing no invariant judged in this run (e.g. UNCITED) still counts as failed, once per ID.</summary>
    public VerdictCounts Counts()
    {
        var outside = Unjudged.GroupBy(f => f.Failure.InvariantId).ToList();
        int outsideKnown = outside.Count(g => g.All(f => f.Known != null));
        return new(Invariants.Count(i => i.Verdict == Verdict.Pass), Invariants.Count(i => i.Verdict == Verdict.Fail) + outside.Count - outsideKnown,
            Invariants.Count(i => i.Verdict == Verdict.Known) + outsideKnown, Invariants.Count(i => i.Verdict == Verdict.Skip), Invariants.Count(i => i.Verdict == Verdict.NotExercised));
    }
}

/// <summary>Invariants per verdict for one unit or a whole run.</summary>
public readonly record struct VerdictCounts(int Passed, int Failed, int Known, int Skipped, int NotExercised)
{
    public static VerdictCounts operator +(VerdictCounts a, VerdictCounts b) =>
        new(a.Passed + b.Passed, a.Failed + b.Failed, a.Known + b.Known, a.Skipped + b.Skipped, a.NotExercised + b.NotExercised);
}

/// <summary>
/// Runs the properties against one target with FsCheck: FsCheck draws sequences (from a seed that is
/// always reported) and shrinks a failing one through the shrinker the generators define. Runs in
/// batches so a time budget can end a run between batches; each batch has its own seed, which is
/// what a replay command names.
/// </summary>
public static class Engine
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL | 1;

    /// <summary>
    /// Runs every selected property on the target. <paramref name="classify"/> (kernel targets) tells which failures
    /// match a known kernel issue; such a failure is still a failure, reported as KNOWN.
    /// </summary>
    public static SuiteResult Run(string targetName, IBufferTarget target, RunOptions opt, Catalog catalog, Action<string>? progress = null,
        Func<Failure, KnownIssue?>? classify = null)
    {
        var sw = Stopwatch.StartNew();
        var exercise = new Exercise();
        // waiting out vgem's 10 s fence timeout is free on the model; on a kernel only when asked for
        var gen = new SequenceGenerator(target.Profile, AreasFor(opt, catalog)) { SlowOps = opt.SlowOps ?? target is Conformance.Adapters.Model.ReferenceModel };
        var results = new List<PropertyResult>();
        var props = Properties.All.Where(p => opt.Property == null ? p.RunsByDefault : p.Name == opt.Property)
            .Where(p => Wanted(p, opt, catalog)).ToList();
        DateTime? deadline = opt.Budget is { } b ? opt.Deadline ?? DateTime.UtcNow + b : null;
        // a rule whose behaviour arrived in a later kernel (minKernel: a change the documentation allows, never a bug fix,
        // which is a known issue) is not judged on an older one: a divergence on it is not a failure there
        var older = NotYetApplicable(catalog, target.Profile).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        AllocTraces.Snapshot? memory = opt.Memory?.Before;
        for (int pi = 0; pi < props.Count; pi++)
        {
            var p = props[pi];
            if (exercise.StoppedBecause != null) break;
            // every property starts from an idle device: the release and aliasing properties judge no ownership, and on a
            // driver whose release keeps the queue owned (a bug lockstep reports) the next property's first sequence would
            // inherit their last one's queue and fail for it (the lab met DQBUF's EBUSY there, which no fresh run repeats)
            bool reloaded = false;
            if (results.Count > 0 && target.Profile.Name.StartsWith("kernel:", StringComparison.Ordinal) && !StartsIdle(target, out reloaded))
            {
                exercise.StoppedBecause = $"the run on this device stopped before the {p.Name} property: the properties before it left a video queue busy (not idle to a new file handle) and the device cannot be reloaded";
                progress?.Invoke($"# {exercise.StoppedBecause}");
                break;
            }
            // (a driver reloaded to get there moved the kernel's state on from the last snapshot)
            if (reloaded) memory = null;
            progress?.Invoke($"# property {p.Name}: {p.Description}");
            // the parallel property runs lockstep's judgement on sequences that end in a block: a rule lockstep found broken
            // is that bug again there, not a race
            var settled = p.Name == "parallel" ? older.Union(results.Where(r => r.Property.Name == "lockstep").SelectMany(r => r.Findings).Select(f => f.Failure.InvariantId)) : older;
            // the snapshot after the last property is this one's before (reading every cache takes a second under TCG)
            // (once a sequence that leaks on its own has been found, DMABUF-LIFE-4 is settled like any rule with a counterexample)
            bool leakFound = results.Any(r => r.Findings.Any(f => f.Failure.InvariantId == Inv.LifeFreed));
            long memoryFrom = Stopwatch.GetTimestamp();
            var memoryBefore = p is KernelMemoryProperty || leakFound ? null : memory ?? opt.Memory?.Take(null);
            var memoryTime = Stopwatch.GetElapsedTime(memoryFrom);
            int bufsBefore = target.LiveDmaBufs();
            var result = RunProperty(p, gen, target, opt, catalog, exercise, deadline, props.Count - pi, progress, classify, settled);
            // sequences run with no check around them move the state on from the last snapshot
            if (memoryBefore == null && result.Sequences > 0) memory = null;
            // dma-bufs that outlived the property's sequences (bufinfo): DMABUF-LIFE-3 over the whole run, which the release
            // property's own per-sequence count misses where an earlier property's leaks have used up the memory it allocates
            if (bufsBefore >= 0 && result.Sequences > 0 && target.LiveDmaBufs() is var bufsAfter && bufsAfter > bufsBefore)
            {
                result = result with { DmaBufsLeft = bufsAfter - bufsBefore };
                progress?.Invoke($"# after the {p.Name} property's sequences {bufsAfter - bufsBefore} dma-buf(s) they made are still alive (bufinfo)" +
                    (memoryBefore != null ? "; kernel memory not judged over them: a live buffer holds what was allocated for it (DMABUF-LIFE-3's leak, not DMABUF-LIFE-4's)" : ""));
                memoryBefore = null;
                memory = null;
            }
            memoryFrom = Stopwatch.GetTimestamp();
            if (memoryBefore != null && result.Sequences > 0)
            {
                (var check, memory) = CheckMemory(p.Name, result.Sequences, memoryBefore, opt.Memory!);
                result = result with { Memory = check };
                exercise.Hit(Inv.LifeFreed, result.Sequences);
                if (check.Grown.Count > 0)
                {
                    memory = null;   // the search below runs sequences of its own
                    progress?.Invoke($"# kernel memory: {result.Memory}");
                    // a leak no known issue explains gets a counterexample where one sequence repeats it on its own
                    if (result.Memory.Known == null && HuntLeak(p, result, gen, target, opt, progress, classify) is { } leak)
                        result = result with { Findings = [.. result.Findings, leak] };
                }
            }
            memoryTime += Stopwatch.GetElapsedTime(memoryFrom);
            if (result.Split is { } rs) result = result with { Split = rs with { KernelMemory = memoryTime.TotalSeconds } };
            results.Add(result);
        }
        var verdicts = Judge(catalog, target.Profile, opt, results, exercise);
        return new SuiteResult(targetName, target.Profile, opt, results, verdicts, exercise, sw.Elapsed) { Domains = gen.Tally, MemoryAfter = memory };
    }

    /// <summary>The chains that grew over a property's sequences, late frees given their time, and the known issue that
    /// explains them.</summary>
    private static (MemoryCheck Check, AllocTraces.Snapshot After) CheckMemory(string property, int sequences, AllocTraces.Snapshot before, MemoryWatch watch)
    {
        var (after, grown, waited) = AllocTraces.Settle(before, watch.MaxWait, () => watch.Take(null));
        grown = [.. grown.Where(g => AllocTraces.ForDmaBuf(g.Frames))];   // a queue's own memory is not a dma-buf's
        return (new MemoryCheck(property, sequences, grown, waited, before.Live.Count) { Known = grown.Count > 0 ? watch.Classify?.Invoke(grown) : null }, after);
    }

    /// <summary>
    /// The search for one sequence that leaves kernel memory behind on its own, after a property's run grew some chains: the
    /// property's batches again (same seeds, so the same sequences), each sequence run on its own by the kernel-memory
    /// property watching only those chains; the first that grows one is shrunk and re-run from a fresh state like any
    /// counterexample. Null when none does (a race: the verdict keeps the chains as its evidence).
    /// </summary>
    private static Finding? HuntLeak(IConformanceProperty p, PropertyResult run, SequenceGenerator gen, IBufferTarget target, RunOptions opt,
        Action<string>? progress, Func<Failure, KnownIssue?>? classify)
    {
        var watch = opt.Memory!;
        var hunt = new KernelMemoryProperty(p, run.Memory!.Grown.Select(g => g.Chain).ToHashSet(StringComparer.Ordinal), watch.Take,
            watch.MaxWait < TimeSpan.FromSeconds(3) ? watch.MaxWait : TimeSpan.FromSeconds(3));
        var arb = hunt.Drawing(opt.MaxLength).Arbitrary(gen);
        progress?.Invoke($"# kernel memory: looking for one of the {p.Name} property's {run.Sequences} sequences that leaves it behind on its own");
        int done = 0;
        foreach (var (batch, size) in Batches(opt, Lane(p, opt)))
        {
            if (done >= run.Sequences) break;
            int n = Math.Min(size, run.Sequences - done);
            ulong seed = BatchSeed(opt.Seed, batch);
            opt.OnBatch?.Invoke(hunt.Name, seed, n);
            var r = RunBatch(hunt, arb, target, seed, n, null, opt.OnSequence, null);
            done += Math.Max(1, r.Ran);
            if (r.Shrunk is not { } f) continue;
            int again = Reproduce(hunt, f, target, opt.ReproRuns, opt.OnSequence, null);
            progress?.Invoke($"# found: {Inv.LifeFreed} by {hunt.Name} in the {p.Name} property's sequences ({f.Steps.Count} steps)");
            return new Finding(hunt, f, r.Original, r.ShrinkSteps, seed, n, done)
            {
                Reproduced = again, ReproRuns = opt.ReproRuns, Known = classify?.Invoke(f),
                DriverReloaded = target.Profile.Name.StartsWith("kernel:", StringComparison.Ordinal) && target.Refresh(),
            };
        }
        progress?.Invoke($"# kernel memory: none of the {p.Name} property's sequences left it behind on its own (a race?): the chains are the evidence");
        return null;
    }

    private static IReadOnlyList<string> AreasFor(RunOptions opt, Catalog catalog)
    {
        if (opt.Ids.Count == 0) return opt.Areas;
        var areas = opt.Ids.Select(id => catalog[id].Area).Distinct().ToList();
        // a dma-buf rule is judged on the dma-bufs the target's exporters make: their areas' ops are needed to make them
        return areas.Contains("dmabuf") ? areas.Union(opt.Areas).ToList() : areas;
    }

    private static bool Wanted(IConformanceProperty p, RunOptions opt, Catalog catalog) =>
        p.Checks.Any(id => catalog.Contains(id) && InScope(catalog[id], opt));

    public static bool InScope(Invariant inv, RunOptions opt) =>
        opt.Ids.Count > 0 ? opt.Ids.Contains(inv.Id) : opt.Areas.Contains(inv.Area);

    public static ulong BatchSeed(ulong seed, int batch) => seed + (ulong)batch * BatchStride;

    private const ulong BatchStride = 0xD1B54A32D192ED03UL;

    /// <summary>The batch index whose seed is <paramref name="batchSeed"/> in a run of master seed <paramref name="seed"/> (the
    /// inverse of <see cref="BatchSeed"/>: the stride is odd, so it has an inverse modulo 2^64); what orders two shards'
    /// findings as the unsharded run would have met them.</summary>
    public static ulong BatchIndex(ulong seed, ulong batchSeed)
    {
        ulong inverse = BatchStride;   // Newton's iteration: each step doubles the correct low bits (3, 6, 12, 24, 48, 96)
        for (int i = 0; i < 5; i++) inverse *= 2 - BatchStride * inverse;
        return (batchSeed - seed) * inverse;
    }

    /// <summary>
    /// The batches of a property this run runs, in order: each one's index (its seed is <see cref="BatchSeed"/>) and how many
    /// sequences it has. Batch b holds the run's sequences 50b to 50b+49 (<see cref="RunOptions.BatchSize"/>), the last one
    /// fewer; under a time budget the batches do not end. Under --shard only the shard's own (<see cref="Shard.Takes"/>).
    /// A batch runs whole: after a failure it goes on from the sequence after the failing one (RunProperty), so every shard
    /// and the unsharded run run each batch's sequences, the same ones.
    /// </summary>
    public static IEnumerable<(int Batch, int Size)> Batches(RunOptions opt, int lane)
    {
        for (int b = 0; opt.Budget != null || (long)b * opt.BatchSize < opt.Sequences; b++)
            if (opt.Shard is not { } shard || shard.Takes(b, lane))
                yield return (b, opt.Budget != null ? opt.BatchSize : (int)Math.Min(opt.BatchSize, opt.Sequences - (long)b * opt.BatchSize));
    }

    /// <summary>A property's lane for <see cref="Shard.Takes"/>: its place among the properties, after the unit's.</summary>
    private static int Lane(IConformanceProperty p, RunOptions opt) =>
        opt.ShardLane + Math.Max(0, Properties.All.ToList().FindIndex(x => x.Name == p.Name));

    /// <summary>
    /// Runs one property's batches until its budget is spent. A failure is shrunk, re-run from a fresh state and
    /// recorded; its invariant is then settled for this property, so later sequences judge everything else and a
    /// second bug gets a counterexample of its own. (Each property keeps its own: the model-free aliasing property
    /// stays independent evidence for what lockstep also found.)
    /// </summary>
    private static PropertyResult RunProperty(IConformanceProperty p, SequenceGenerator gen, IBufferTarget target, RunOptions opt, Catalog catalog,
        Exercise exercise, DateTime? deadline, int propertiesLeft, Action<string>? progress, Func<Failure, KnownIssue?>? classify, IEnumerable<string> notJudged)
    {
        var settled = new HashSet<string>(notJudged, StringComparer.Ordinal);
        var sw = Stopwatch.StartNew();
        int done = 0;
        var findings = new List<Finding>();
        var lastProgress = DateTime.UtcNow;
        // DMABUF-LIFE-4 is judged around the property's sequences (Memory), never settled by one of them
        var judges = p.Checks.Where(id => id != Inv.LifeFreed && catalog.Contains(id) && InScope(catalog[id], opt)).ToList();
        // with a time budget every property gets an equal share of what is left (this one and those after it)
        // (none left when the properties before overran: the property still runs its first sequence)
        TimeSpan? share = deadline is { } d ? TimeSpan.FromTicks(Math.Max(0, (d - DateTime.UtcNow).Ticks / Math.Max(1, propertiesLeft))) : null;
        DateTime? myDeadline = share is { } sh ? DateTime.UtcNow + sh : null;
        bool outOfTime = false;
        int lane = Lane(p, opt);
        int planned = myDeadline == null ? Batches(opt, lane).Sum(b => b.Size) : 0;
        var split = new TimeSplit(0, 0, 0, 0, 0);
        // the batches' sequences are made on another thread while the target runs the ones before them
        using var ahead = new Prefetch(p.Drawing(opt.MaxLength), gen, Batches(opt, lane).Select(b => (BatchSeed(opt.Seed, b.Batch), b.Size)));
        int ordinal = -1;
        foreach (var (batch, n) in Batches(opt, lane))
        {
            ordinal++;
            if (myDeadline is { } md && DateTime.UtcNow >= md && done > 0) { outOfTime = true; break; }
            if (judges.Count > 0 && judges.All(settled.Contains)) break;   // everything it judges has a counterexample already
            ulong seed = BatchSeed(opt.Seed, batch);
            opt.OnBatch?.Invoke(p.Name, seed, n);
            // a batch runs all its sequences: after a failure (shrunk, re-run, settled) it goes on from the sequence after
            // the one that failed, so every shard and the unsharded run run the same sequences whatever they find
            for (int next = 0; next < n;)
            {
                var r = RunBatch(p, ahead.Arbitrary(ordinal, next), target, seed, n, exercise, opt.OnSequence, settled, myDeadline, next);
                split = split.Add(r);
                long rerunsFrom = Stopwatch.GetTimestamp();
                next = r.Next;
                outOfTime |= r.OutOfTime;
                if (progress != null && DateTime.UtcNow - lastProgress > TimeSpan.FromSeconds(10))
                {
                    lastProgress = DateTime.UtcNow;
                    progress($"# progress: property {p.Name}, {done} sequences, batch seed {seed}");
                }
                done += r.Ran;
                opt.OnProgress?.Invoke(p.Name, done, planned, exercise.Ops, sw.Elapsed);
                if (r.Stuck) exercise.StoppedBecause ??= $"the run on this device stopped after {p.Name} sequence {done}: a sequence left a video queue busy (not idle to a new file handle) and the device cannot be reloaded";
                if (r.Shrunk is { } f)
                {
                    int again = Reproduce(p, f, target, opt.ReproRuns, opt.OnSequence, settled);
                    int joined = 0;
                    // (a race, a counterexample with a parallel block on a concurrent target, shows by the device's timing, not
                    // by what earlier sequences left: joining the history would shrink hundreds of steps, each candidate run up
                    // to RaceRetries times, which took 8 to 10 minutes under TCG for DMABUF-PAR-1 on vivid's video4 (failed
                    // again 9 of 10) and on visl (0 of 10); its reproduction count is reported as it is)
                    bool timingOnly = Racy(new OpSequence(0, f.Steps.Select(s => s.Op).ToImmutableArray()), target);
                    if (again < opt.ReproRuns && !timingOnly && r.History.Count > 0 && r.Original is { } orig)
                    {
                        // it does not reproduce on its own from a fresh device: it leans on state earlier sequences left
                        // (pages recycled, a queue kept). Join the batch's history to it and shrink that, from fresh each time
                        var whole = OpSequence.Join([.. r.History, new OpSequence(seed, orig.Steps.Select(s => s.Op).ToImmutableArray())]);
                        progress?.Invoke($"# {f.InvariantId} failed again in only {again} of {opt.ReproRuns} re-runs from a fresh state: shrinking it with the {r.History.Count} sequences before it");
                        if (ShrinkFresh(p, whole, f.InvariantId, target, settled) is { } g && Reproduce(p, g, target, opt.ReproRuns, opt.OnSequence, settled) is var again2 && again2 > again)
                            (f, again, joined) = (g, again2, r.History.Count);
                    }
                    findings.Add(new Finding(p, f, r.Original, r.ShrinkSteps, seed, n, done)
                    {
                        JoinedHistory = joined,
                        Reproduced = again, ReproRuns = opt.ReproRuns, Known = classify?.Invoke(f), AlreadyFailing = settled.Order(StringComparer.Ordinal).ToList(),
                        DriverReloaded = target.Profile.Name.StartsWith("kernel:", StringComparison.Ordinal) && target.Refresh(),
                    });
                    settled.Add(f.InvariantId);
                    progress?.Invoke($"# found: {f.InvariantId} by {p.Name} after {done} sequences ({f.Steps.Count} steps); judging the rest goes on");
                }
                split = split with { ReRuns = split.ReRuns + Stopwatch.GetElapsedTime(rerunsFrom).TotalSeconds };
                if (r.Shrunk == null || r.Stuck || r.OutOfTime || exercise.StoppedBecause != null || judges.Count > 0 && judges.All(settled.Contains)) break;
            }
            if (exercise.StoppedBecause != null) { progress?.Invoke($"# {exercise.StoppedBecause}"); break; }
            if (outOfTime) break;
        }
        return new PropertyResult(p, done, findings, sw.Elapsed) { TimeShare = share, OutOfTime = outOfTime, Split = split };
    }

    /// <summary>Runs a counterexample's steps again, runs times, each on a fresh target state (the property's Check resets
    /// before and after, and the device is refreshed first where the target can reload its driver); counts the runs that
    /// fail the same invariant at the same step.</summary>
    public static int Reproduce(IConformanceProperty p, Failure f, IBufferTarget target, int runs, Action<Func<string>>? onSequence = null,
        IReadOnlySet<string>? settled = null)
    {
        var seq = new OpSequence(0, f.Steps.Select(s => s.Op).ToImmutableArray());
        int again = 0;
        for (int k = 0; k < runs; k++)
        {
            onSequence?.Invoke(() => $"property {p.Name}, re-run {k + 1} of {runs} of the counterexample:\n{seq}");
            target.Refresh();
            var g = p.Check(seq, target, null, settled);
            if (g != null && g.InvariantId == f.InvariantId && g.StepIndex == f.StepIndex) again++;
        }
        target.Refresh();   // what the last run left behind is not the next sequence's start
        return again;
    }

    /// <summary>Stuck: a sequence left the device busy and it could not be brought back (no reload): nothing more can be judged on it.</summary>
    public sealed record BatchResult(int Ran, Failure? Original, Failure? Shrunk, int ShrinkSteps)
    {
        public bool Stuck { get; init; }
        /// <summary>The batch stopped at its deadline with sequences not run.</summary>
        public bool OutOfTime { get; init; }
        /// <summary>The index in the batch of the first sequence this run of it did not consume: where its rest begins (after
        /// a failure, the sequence after the failing one).</summary>
        public int Next { get; init; }
        /// <summary>The sequences the batch ran, in order, before the one that failed.</summary>
        public IReadOnlyList<OpSequence> History { get; init; } = [];
        /// <summary>The time the property's Check took on the batch's sequences, on its shrink candidates, and the whole batch
        /// (the rest is FsCheck drawing the sequences: the generator, and its shrinker's candidates).</summary>
        public TimeSpan Checking { get; init; }
        public TimeSpan Shrinking { get; init; }
        public TimeSpan Whole { get; init; }
    }

    /// <summary>
    /// Shrinks a sequence that fails invariant <paramref name="invariant"/>, every candidate run from a fresh device
    /// (the target refreshed before and after): greedy over <see cref="Shrink.Candidates"/>, at most budget candidates.
    /// Null when the sequence itself does not fail that way.
    /// </summary>
    public static Failure? ShrinkFresh(IConformanceProperty p, OpSequence seq, string invariant, IBufferTarget target, IReadOnlySet<string>? settled, int budget = 500)
    {
        Failure? Try(OpSequence s)
        {
            for (int k = 0; k < (Racy(s, target) ? RaceRetries : 1); k++)
            {
                target.Refresh();
                var g = p.Check(s, target, null, settled);
                target.Refresh();
                if (g?.InvariantId == invariant) return g;
            }
            return null;
        }
        var best = Try(seq);
        if (best == null) return null;
        var current = seq;
        for (bool progress = true; progress && budget > 0;)
        {
            progress = false;
            foreach (var c in Shrink.Candidates(current))
            {
                if (--budget < 0) break;
                if (Try(c) is not { } g) continue;
                (current, best, progress) = (c, g, true);
                break;
            }
        }
        return best;
    }

    /// <summary>One FsCheck run of n sequences from a seed; on failure FsCheck shrinks and the last failing candidate is the counterexample.</summary>
    /// <remarks>Shrinking keeps the invariant: a candidate counts as failing only when it breaks the same invariant as the
    /// first failure, so one bug does not shrink into another's counterexample.</remarks>
    public static BatchResult RunBatch(IConformanceProperty p, Arbitrary<OpSequence> arb, IBufferTarget target, ulong seed, int n, Exercise? exercise,
        Action<Func<string>>? onSequence = null, IReadOnlySet<string>? settled = null, DateTime? stopAt = null, int skip = 0)
    {
        Failure? original = null, last = null;
        int ran = 0, shrinkSteps = 0, seen = 0;
        long checkTicks = 0, shrinkTicks = 0, began = Stopwatch.GetTimestamp();
        bool shrinking = false, stuck = false, outOfTime = false;
        var scratch = new Exercise();
        var history = new List<OpSequence>();
        var prop = Prop.ForAll(arb, (OpSequence seq) =>
        {
            if (stuck || outOfTime) return true;   // the device cannot be judged any more, or the time is up: the rest of the batch is not run
            if (!shrinking && seen++ < skip) return true;   // run before, up to a failure: the batch goes on after it
            if (ReferenceEquals(seq, Prefetch.Skipped)) throw new InvalidOperationException($"batch seed {seed}: FsCheck asked for its draws in an order the engine does not know");
            // the deadline ends a batch between sequences (after its first), never a shrink (a failure found gets its counterexample)
            if (!shrinking && ran > 0 && stopAt is { } t && DateTime.UtcNow >= t) { outOfTime = true; return true; }
            if (!shrinking) ran++;
            onSequence?.Invoke(() => $"property {p.Name}, batch seed {seed}, {(shrinking ? "shrink candidate" : $"sequence {ran} of {n}")}:\n{seq}");
            var counts = shrinking || exercise == null ? scratch : exercise;   // shrink candidates count nowhere
            long masked = counts.Masked;
            long t0 = Stopwatch.GetTimestamp();
            var f = p.Check(seq, target, counts, settled);
            // a race fails in some runs only: a shrink candidate with a parallel block that passed is run again before it is
            // taken for one without the race
            for (int k = 1; f == null && shrinking && Racy(seq, target) && k < RaceRetries; k++) f = p.Check(seq, target, counts, settled);
            if (shrinking) shrinkTicks += Stopwatch.GetTimestamp() - t0; else checkTicks += Stopwatch.GetTimestamp() - t0;
            if (exercise != null && !shrinking) exercise.Sequences++;
            // a sequence that failed, or stopped at a known failure, may have left the device in a state the next one must
            // not inherit: reload it where the target can, and stop when it stays busy
            if ((f != null || counts.Masked != masked) && !Fresh(target)) { stuck = true; if (f == null) return true; }
            if (f == null && !shrinking) history.Add(seq);
            if (f == null || original != null && f.InvariantId != original.InvariantId) return true;
            if (shrinking) shrinkSteps++;
            original ??= f;
            last = f;
            shrinking = true;
            return false;
        });
        Check.One(BatchConfig(seed, n), prop);
        return new BatchResult(ran, original, last, shrinkSteps)
        {
            Stuck = stuck, History = history, OutOfTime = outOfTime, Next = skip + ran,
            Checking = Stopwatch.GetElapsedTime(0, checkTicks), Shrinking = Stopwatch.GetElapsedTime(0, shrinkTicks),
            Whole = Stopwatch.GetElapsedTime(began),
        };
    }

    /// <summary>The FsCheck configuration of a batch of n sequences from a seed: what decides which sequences it draws.</summary>
    public static Config BatchConfig(ulong seed, int n) => Config.Quick
        .WithMaxTest(n)
        .WithEndSize(100)
        .WithQuietOnSuccess(true)
        .WithRunner(new SilentRunner())
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed, Gamma), FSharpOption<int>.None)));

    /// <summary>How many times a shrink candidate whose race may not have shown is run before it counts as passing.</summary>
    public const int RaceRetries = 10;

    /// <summary>A sequence whose outcome may differ from run to run by timing alone: a parallel block on a target whose
    /// branches really overlap.</summary>
    private static bool Racy(OpSequence seq, IBufferTarget target) => target.Concurrent && seq.Ops.Any(o => o.Branch != 0);

    /// <summary>Whether the target's video queues are idle to a new file handle (the idle probe), after a refresh (a driver
    /// reload where the target can) if they were not; true without video queues.</summary>
    private static bool StartsIdle(IBufferTarget target, out bool refreshed)
    {
        refreshed = false;
        var probe = LockstepProperty.IdleProbe(target.Profile);
        if (probe.Length == 0) return true;
        target.Reset();
        if (new LockstepProperty().Check(probe, target, null) == null) return true;
        refreshed = true;
        return Fresh(target);
    }

    /// <summary>Refreshes the target and checks with the idle probe that its video queues are idle again.</summary>
    public static bool Fresh(IBufferTarget target)
    {
        target.Refresh();
        var probe = LockstepProperty.IdleProbe(target.Profile);
        return probe.Length == 0 || new LockstepProperty().Check(probe, target, null) == null;
    }

    private static List<InvariantResult> Judge(Catalog catalog, TargetProfile profile, RunOptions opt, List<PropertyResult> results, Exercise exercise)
    {
        var byInvariant = results.SelectMany(r => r.Findings).ToLookup(f => f.Failure.InvariantId);
        var checkedBy = results.SelectMany(r => r.Property.Checks).ToHashSet();
        var list = new List<InvariantResult>();
        foreach (var inv in catalog.All.Where(i => InScope(i, opt)))
        {
            string? reason = null;
            foreach (var pre in inv.Preconditions)
                if (!profile.Satisfies(pre, out var why)) { reason = why; break; }
            if (inv.MinKernel != null && KernelVersion.Compare(profile.Kernel, inv.MinKernel) < 0)
                reason ??= $"applies from Linux {inv.MinKernel}; this kernel ({profile.Kernel}) behaves otherwise, which the documentation allows (see its note)";
            long n = exercise[inv.Id];
            var found = byInvariant[inv.Id].ToList();
            if (inv.Id == Inv.LifeRelease && reason == null && found.Count == 0
                && results.Where(r => r.DmaBufsLeft > 0).Select(r => $"after the {r.Property.Name} property's {r.Sequences} sequences, {r.DmaBufsLeft} dma-buf(s) they made are still alive (bufinfo), every fd and mapping closed").ToList() is { Count: > 0 } left)
            {
                // no single sequence showed it (the release property's did not), so no counterexample: the counts are the evidence
                list.Add(new(inv, Verdict.Fail, n, string.Join(" | ", left)));
                continue;
            }
            if (inv.Id == Inv.LifeFreed && reason == null
                && results.Select(r => r.Memory).Where(m => m is { Grown.Count: > 0 }).Select(m => m!).ToList() is { Count: > 0 } grew)
            {
                // growth seen over a property's sequences: no single sequence carries it, so no counterexample; the chains are the evidence
                var why = string.Join(" | ", grew);
                // a growth the hunt found a counterexample for is that counterexample's (and its classification's)
                var fromIssues = grew.Where(m => !found.Any(f => f.Property is KernelMemoryProperty)).Select(m => m.Known).ToList();
                if (fromIssues.All(k => k != null) && found.All(f => f.Known != null))
                    list.Add(new(inv, Verdict.Known, n, why) { Known = fromIssues.Concat(found.Select(f => f.Known)).Select(k => k!).Distinct().ToList() });
                else list.Add(new(inv, Verdict.Fail, n, why));
                continue;
            }
            if (found.Count > 0 && found.All(f => f.Known != null))
                list.Add(new(inv, Verdict.Known, n, $"known kernel issue {string.Join(", ", found.Select(f => f.Known!.Id).Distinct())}") { Known = found.Select(f => f.Known!).Distinct().ToList() });
            else if (found.Count > 0) list.Add(new(inv, Verdict.Fail, n, null));
            else if (reason != null) list.Add(new(inv, Verdict.Skip, n, reason));
            else if (n == 0 && exercise.StoppedBecause != null) list.Add(new(inv, Verdict.NotExercised, 0, exercise.StoppedBecause));
            else if (!checkedBy.Contains(inv.Id)) list.Add(new(inv, Verdict.NotExercised, 0, "no property selected for this run checks it"));
            else if (n == 0)
            {
                // only the sequences of properties that judge this invariant could have reached it
                var judging = results.Where(r => r.Property.Checks.Contains(inv.Id)).ToList();
                long masked = judging.Select(r => r.Property.Name).Distinct().Sum(exercise.MaskedIn);
                var cut = judging.Where(r => r.OutOfTime).ToList();
                list.Add(new(inv, Verdict.NotExercised, 0, masked > 0
                    ? $"no generated sequence reached it ({masked} sequences of the properties that judge it stopped early at an invariant already failing)"
                    : cut.Count > 0
                    ? $"{OutOfTimeReason} ({string.Join(", ", cut.Select(r => $"{r.Property.Name}: {r.Sequences} sequences in its {r.TimeShare!.Value.TotalSeconds:0} s share"))}): a longer --time may"
                    : "no generated sequence reached it"));
            }
            else list.Add(new(inv, Verdict.Pass, n, null));
        }
        return list;
    }

    /// <summary>How the reason of an invariant NOT EXERCISED because its properties' time shares ran out begins.</summary>
    public const string OutOfTimeReason = "no generated sequence reached it in the time budget";

    /// <summary>Invariants whose minKernel is above the target's kernel.</summary>
    public static IEnumerable<Invariant> NotYetApplicable(Catalog catalog, TargetProfile profile) =>
        catalog.All.Where(i => i.MinKernel != null && KernelVersion.Compare(profile.Kernel, i.MinKernel) < 0);

    private sealed class SilentRunner : IRunner
    {
        public void OnStartFixture(Type t) { }
        public void OnArguments(int ntest, Microsoft.FSharp.Collections.FSharpList<object> args, FSharpFunc<int, FSharpFunc<Microsoft.FSharp.Collections.FSharpList<object>, string>> every) { }
        public void OnShrink(Microsoft.FSharp.Collections.FSharpList<object> args, FSharpFunc<Microsoft.FSharp.Collections.FSharpList<object>, string> everyShrink) { }
        public void OnFinished(string name, TestResult result) { }
    }
}
