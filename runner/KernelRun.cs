using Conformance.Adapters.Interop;
using Conformance.Adapters.Kernel;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Spec;

namespace Conformance.Runner;

/// <summary>
/// --target kernel: finds the devices (or takes the ones named), then certifies each on its own with
/// the same properties as the model, the model as oracle, and a leak check around every unit.
/// </summary>
public static class KernelRun
{
    public static int Run(Program.Cli cli, Catalog catalog, TextWriter output)
    {
        if (!OperatingSystem.IsLinux()) throw new Program.UsageException("--target kernel needs Linux");
        // the results folder is checked before the first sequence; inside the lab VM the host swaps the shared folder in
        OutputFolder? folder = OutputFolder.InsideLab(cli.OutDir) ? null : OutputFolder.Begin(cli.OutDir);
        var final = cli;
        if (folder != null) cli = cli with { OutDir = folder.Staging };
        try { return Certify(cli, final, catalog, output); }
        finally { folder?.Finish(); }
    }

    private static int Certify(Program.Cli cli, Program.Cli final, Catalog catalog, TextWriter output)
    {
        Discovered found;
        // in the lab after --module without --device, the devices the module created: what cannot be certified is a SKIP
        try { found = Discovery.Discover(cli.Devices, found: Environment.GetEnvironmentVariable("CONFORMANCE_CERTIFY_NEW") == "1"); }
        catch (DeviceException e) { throw new Program.UsageException(e.Message); }
        output.WriteLine($"# kernel {found.Kernel}: {found.Units.Count} device(s) to certify, {found.Skipped.Count} found but not certifiable");
        foreach (var s in found.Skipped) output.WriteLine($"SKIP          {s.Path} ({s.Driver}): {s.Reason}");
        if (found.Units.Count == 0)
            throw new Program.UsageException(cli.Devices.Count > 0 ? "none of the named devices can be certified"
                : "this machine has no device the suite can certify (no /dev/video* with streaming, /dev/dma_heap/*, /dev/udmabuf or /dev/dri/card*); name one with --device, or use --target vm");

        string leakCheck = BufInfo.LiveCount() >= 0 ? $"dma-buf leak check: {BufInfo.Path}" : $"dma-buf leak check NOT available: {BufInfo.WhyUnreadable()}";
        output.WriteLine($"# {leakCheck}");
        var tracked = AllocTraces.Take();
        // DMABUF-LIFE-4 is judged where the kernel tracks its allocations, and a SKIP with this reason elsewhere
        string? untracked = tracked == null ? $"the kernel's allocations are not tracked: {AllocTraces.WhyUnavailable()}" : null;
        output.WriteLine(tracked != null
            ? $"# kernel memory check (DMABUF-LIFE-4): live objects of {tracked.Caches} tracked kmalloc caches by allocating call chain ({AllocTraces.Root}/kmalloc-*/alloc_traces), on the dma-buf paths, before and after each property's sequences"
            : $"# kernel memory check NOT available (DMABUF-LIFE-4 skipped): {AllocTraces.WhyUnavailable()}");
        // --kernel-coverage: the function tracer follows the buffer-sharing code from the first device's first sequence to the
        // last's end
        FunctionCoverage? coverage = null;
        if (cli.KernelCoverage)
        {
            try { coverage = FunctionCoverage.Start(); }   // (says why it cannot: tracefs missing, not root, ...)
            catch (InvalidOperationException e) { throw new Program.UsageException($"--kernel-coverage: {e.Message}"); }
            output.WriteLine($"# kernel coverage: the function tracer follows {coverage.Traced.Functions} functions in {coverage.Traced.Groups} groups; each is dropped from the filter once entered, the busiest first");
        }
        // every system call the adapter makes is timed as made (a tenth of a microsecond each under TCG): each device's run
        // against a raw C program making the same calls (the # throughput: lines)
        double clockCost = SyscallClock.Calibrate();
        output.WriteLine($"# system calls: the target's, each timed as made, the clock's own {clockCost * 1e6:F2} us a call subtracted (a device's # throughput: line sets its run's time against its calls', which stand in for a C program's making the same calls)");
        bool clocked = SyscallClock.On;
        SyscallClock.On = true;
        try { return CertifyUnits(cli, final, catalog, output, found, untracked, tracked, coverage); }
        finally { coverage?.Dispose(); SyscallClock.On = clocked; }
    }

    /// <summary>
    /// Where the run's system calls were timed (<see cref="SuiteResult.Syscalls"/>: every kernel run), the runs' throughput
    /// against its calls' own, which stand in for what a C program making the same calls would take (a little more: the
    /// benchmark's mixes measure how much, so the ratio is a lower bound):
    /// "# throughput: 2,000 ops judged in 20.0 s, 100 ops/s; its 5,000 system calls took 2.0 s of it (10%): the run took 10.0x
    /// its calls' time". The run's time is all of it (drawing, judging, shrinking, the kernel-memory check); the calls' time
    /// is every call's, shrinking's and re-runs' included, less the clock's own cost of each. Null where the calls were not
    /// timed.
    /// </summary>
    public static string? Throughput(IEnumerable<SuiteResult> results, string? what = null)
    {
        var timed = results.Where(r => r.Syscalls != null).ToList();
        if (timed.Count == 0) return null;
        long ops = timed.Sum(r => r.Exercise.Ops), calls = timed.Sum(r => r.Syscalls!.Value.Calls);
        double run = timed.Sum(r => r.Elapsed.TotalSeconds), inCalls = timed.Sum(r => r.Syscalls!.Value.Seconds);
        return $"# throughput{(what != null ? $", {what}" : "")}: {ops:N0} ops judged in {run:0.0} s, {(run > 0 ? ops / run : 0):N0} ops/s; " +
            $"its {calls:N0} system calls took {inCalls:0.0} s of it ({(run > 0 ? 100 * inCalls / run : 0):0}%): " +
            (inCalls > 0 ? $"the run took {run / inCalls:0.0}x its calls' time" : "no time in system calls");
    }

    /// <summary><see cref="Throughput(IEnumerable{SuiteResult}, string?)"/> of one device's run.</summary>
    public static string? Throughput(SuiteResult result) => Throughput([result]);

    /// <summary>The run's `# time:` lines summed over its devices and properties, each part with its share of the whole:
    /// "# time, all devices: 298.5 s: sequences 169.7 s (57%), the kernel-memory check 85.5 s (29%), ..."; null without any.</summary>
    public static string? TimeTotals(IEnumerable<SuiteResult> results)
    {
        var splits = results.SelectMany(r => r.Properties).Select(p => p.Split).OfType<TimeSplit>().ToList();
        if (splits.Count == 0) return null;
        (string Name, double Seconds)[] parts =
        [
            ("sequences", splits.Sum(s => s.Sequences)), ("the kernel-memory check", splits.Sum(s => s.KernelMemory)),
            ("shrinking", splits.Sum(s => s.Shrinking)), ("drawing", splits.Sum(s => s.Drawing)), ("re-runs", splits.Sum(s => s.ReRuns)),
        ];
        double all = parts.Sum(p => p.Seconds);
        return $"# time, all devices: {all:0.0} s: " + string.Join(", ", parts.Select(p => $"{p.Name} {p.Seconds:0.0} s ({(all > 0 ? 100 * p.Seconds / all : 0):0}%)"));
    }

    private static int CertifyUnits(Program.Cli cli, Program.Cli final, Catalog catalog, TextWriter output, Discovered found, string? untracked,
        AllocTraces.Snapshot? tracked, FunctionCoverage? coverage)
    {
        var units = new List<UnitResult>();
        UnitResult Skipped(string name, string path, string reason) => new(name, path, null, reason, _ => null, _ => "");
        foreach (var s in found.Skipped) units.Add(Skipped($"{s.Path} ({s.Driver})", s.Path, s.Reason));
        bool leaked = false;
        var results = new List<SuiteResult>();
        // each device's turn on the tracer's clock: what it newly reached, and how soon (coverage per second, per device)
        var turns = new List<CoverageTurn>();
        // inside the lab VM: where the host looks for what was running when the kernel complained
        var labOut = Environment.GetEnvironmentVariable("LAB_OUT") is { Length: > 0 } lo && Directory.Exists(lo) ? lo : null;
        int unitNo = 0;
        // --time is the whole run's: each device's turn gets what is left divided by the devices left (one that finishes
        // early leaves its time to the rest); a device whose turn comes after the budget is spent is not reached
        var budget = new TimeBudget(cli.Options.Budget, DateTime.UtcNow);
        // the kernel-memory snapshot that still stands for the kernel's state: the one taken before the first device, then the
        // one the device before ended its last check with; each device's first property starts from it instead of a new one (a
        // second saved a device under TCG). Between the two only clean-up and set-up run: the device before's target disposed
        // (its files were closed by its last reset; formats and media links restored, the spare helper ended, which holds
        // nothing) and this device's formats set and queues probed for idleness (V4L2 format and count-0 buffer calls), none
        // of which allocates on the dma-buf paths
        var memoryNow = tracked;
        foreach (var unit in found.Units)
        {
            unitNo++;
            output.WriteLine();
            output.WriteLine($"# device {unitNo}/{found.Units.Count}: {unit.Name}");
            foreach (var n in unit.Notes) output.WriteLine($"#   {n}");
            DateTime? deadline = null;
            if (cli.Options.Budget != null)
            {
                if (budget.Share(found.Units.Count - unitNo + 1, DateTime.UtcNow) is not { } share)
                {
                    var why = $"not reached: the --time budget of {cli.Options.Budget.Value.TotalSeconds:0} s was spent by the devices before it";
                    output.WriteLine($"SKIP          {unit.Path}: {why}");
                    units.Add(Skipped(unit.Name, unit.Path, why));
                    budget.NotReached.Add(unit.Path);
                    continue;
                }
                output.WriteLine($"#   time: {share.TotalSeconds:0} s of the {cli.Options.Budget.Value.TotalSeconds:0} s budget (what is left, over the {found.Units.Count - unitNo + 1} device(s) left), shared by its properties");
                deadline = DateTime.UtcNow + share;
            }
            var areas = cli.Options.Areas.Intersect(unit.Areas).ToList();
            if (areas.Count == 0 && cli.Options.Ids.Count == 0)
            {
                var why = $"none of the selected areas apply (it covers {string.Join(", ", unit.Areas)})";
                output.WriteLine($"SKIP          {unit.Path}: {why}");
                units.Add(Skipped(unit.Name, unit.Path, why));
                continue;
            }
            var heldBefore = HeldFds();
            int fdsBefore = heldBefore?.Count ?? -1, bufsBefore = BufInfo.LiveCount();
            var profile = unit.Profile with { MemoryUntracked = untracked };
            var target = new KernelTarget(profile, unit.Paths, TimeSpan.FromSeconds(cli.OpTimeout)) { ReloadCommand = ReloadFor(unit.Path), OverlapsOracle = !cli.JudgeInStep };
            // a queue that is already owned, allocated or streaming before the first sequence cannot be judged from a fresh state
            target.Context = () => $"idle check of {unit.Path} before the first sequence";
            if (new LockstepProperty().Check(new OpSequence(0, []), target, null) is { } busy)
            {
                var why = $"not idle before the suite started (another process holds it?): {busy.Steps[busy.StepIndex].Op.Text} gave {busy.Actual}, expected {busy.Expected}";
                output.WriteLine($"SKIP          {unit.Path}: {why}");
                units.Add(Skipped(unit.Name, unit.Path, why));
                target.Dispose();
                memoryNow = null;   // another process is at work on it: the kernel's state is not the snapshot's
                continue;
            }
            if (target.ReloadCommand != null) output.WriteLine($"#   fresh state: the lab reloads the driver under test ({target.ReloadCommand}) before each re-run of a counterexample and after each failure");
            var opt = cli.Options with
            {
                Deadline = deadline,
                Areas = areas,
                Ids = cli.Options.Ids.Where(id => unit.Areas.Contains(catalog[id].Area)).ToList(),
                OnSequence = d => target.Context = d,
                ShardLane = unitNo - 1,   // under --shard, devices with one batch per property are spread over the shards
                // vgem's unsignalled fences are freed only when they expire, 10 s after their attach: 15 s covers them
                Memory = tracked == null ? null : new MemoryWatch(only => AllocTraces.Take(only), TimeSpan.FromSeconds(15), KnownIssues.LeakClassifier(profile, cli.Known)) { Before = memoryNow },
                OnBatch = labOut == null ? null : (prop, seed, n) => File.WriteAllText(Path.Combine(labOut, "current-sequence"),
                    $"device {unit.Path}, property {prop}, batch seed {seed}: replay with {LabPrefix} --device {unit.Path} --seed {seed} --sequences {n} --property {prop} --max-length {cli.Options.MaxLength}\n"),
            };
            if (cli.Options.Ids.Count > 0 && opt.Ids.Count == 0)
            {
                output.WriteLine($"SKIP          {unit.Path}: none of the selected invariants apply");
                units.Add(Skipped(unit.Name, unit.Path, "none of the selected invariants apply"));
                target.Dispose();
                continue;
            }
            var site = new RunSite("kernel", unit.Profile.Name, unit.Profile, unit.Path, unit.Driver, unit.Paths);
            if (cli.Sample > 0)
            {
                Samples(cli, catalog, site, target, opt, Path.Combine(cli.OutDir, "samples", Results.Slug(unit.Path)), output);
                target.Dispose();
                memoryNow = null;
                continue;
            }
            var noGcBefore = NoGc.Stats;
            var behindBefore = LockstepProperty.JudgedBehind;
            long inStepForWaitsBefore = LockstepProperty.JudgedInStepForWaits;
            var live = new LiveProgress(output, !cli.Quiet && LiveProgress.IsTerminal(output));
            double turnFrom = coverage?.Seconds ?? 0;
            SyscallClock.Reset();
            var result = Engine.Run($"kernel {unit.Path}", cli.Trace ? TracingTarget.Wrap(target, live.Line) : target, opt with { OnProgress = live.Report },
                catalog, cli.Quiet ? null : live.Line, KnownIssues.Classifier(profile, cli.Known));
            result = result with { Syscalls = SyscallClock.Read() };
            live.Clear();
            if (coverage != null) turns.Add(new CoverageTurn(unit.Path, Math.Round(turnFrom, 1), Math.Round(coverage.Seconds, 1)));
            target.Dispose();
            var heldAfter = HeldFds();
            int fdsAfter = heldAfter?.Count ?? -1, bufsAfter = BufInfo.LiveCount();

            var report = Results.Unit(unit.Name, unit.Path, site, result, cli, catalog, Path.Combine(cli.OutDir, "counterexamples", Results.Slug(unit.Path)),
                p => Program.ReplayCommand(final, p, unit.Path));
            Results.Print(report, catalog, output, final);
            // the suite's own hygiene: every fd and dma-buf the unit made is gone
            var hygiene = $"hygiene: {fdsBefore} device/dma-buf/memfd fds open before, {fdsAfter} after; " +
                (bufsBefore >= 0 ? $"{bufsBefore} live dma-bufs before, {bufsAfter} after" : "live dma-bufs not countable");
            // which fds the unit left, by name, so a leak says where to look
            if (fdsAfter > fdsBefore) hygiene += $" (left open: {string.Join(", ", heldAfter!.Except(heldBefore!))})";
            bool unitLeaked = fdsAfter != fdsBefore || (bufsBefore >= 0 && bufsAfter != bufsBefore);
            // (a device that left fds or dma-bufs behind, whose run ended on growth or a hunt, or that stopped early with a queue
            // left busy, which its disposal then releases, leaves no current snapshot)
            memoryNow = unitLeaked || result.Exercise.StoppedBecause != null ? null : result.MemoryAfter;
            output.WriteLine((unitLeaked ? "LEAK: " : "# ") + hygiene);
            // where the unit's time went, per property (the harness's own cost against the kernel's: issue 17)
            foreach (var pr in result.Properties.Where(pr => pr.Split != null))
                output.WriteLine($"# time: {pr.Property.Name} {pr.Elapsed.TotalSeconds:0.0} s ({pr.Split}); the kernel-memory check around it {pr.Split!.KernelMemory:0.0} s more");
            if (Throughput(result) is { } throughput) output.WriteLine(throughput);
            leaked |= unitLeaked;
            // what the parallel blocks' no-GC regions cost (the harness's own time, not the kernel's)
            var noGc = NoGc.Stats;
            if (noGc.Started + noGc.Refused > noGcBefore.Started + noGcBefore.Refused)
                output.WriteLine($"# harness: {noGc.Started - noGcBefore.Started} parallel block(s) ran without garbage collection, {noGc.Refused - noGcBefore.Refused} with it (no-GC region refused); {noGc.Seconds - noGcBefore.Seconds:0.0} s spent starting the regions");
            // and how the oracle judged: behind the calls on a thread of its own, or (--judge-in-step) each outcome before the next call
            var behind = LockstepProperty.JudgedBehind;
            if (behind.Sequences > behindBefore.Sequences)
                output.WriteLine($"# harness: {behind.Sequences - behindBefore.Sequences} sequence(s) judged behind the calls (the oracle on a thread of its own, up to " +
                    $"{LockstepProperty.Lag} ops behind); {behind.PastDivergence - behindBefore.PastDivergence} op(s) ran past a divergence before the calls stopped; " +
                    $"the calls waited {behind.TargetWaitSeconds - behindBefore.TargetWaitSeconds:0.0} s for its judgement, and judged {behind.JudgedByCalls - behindBefore.JudgedByCalls} of the " +
                    $"{behind.Judged - behindBefore.Judged} ops themselves where they would have waited (--judge-in-step judges each outcome before the next call)");
            else if (cli.JudgeInStep) output.WriteLine("# harness: every outcome judged before the next call (--judge-in-step)");
            if (LockstepProperty.JudgedInStepForWaits - inStepForWaitsBefore is > 0 and var fellBack)
                output.WriteLine($"# harness: {fellBack} sequence(s) judged in step instead, each outcome before the next call, after a sequence whose calls waited for the " +
                    $"judgement more than half its time ({LockstepProperty.InStepAfterWaits} sequences each time; the verdicts are the same either way)");
            var notes = unit.Notes.Append(hygiene).ToList();
            if (KernelMemory(result) is { } memory)
            {
                output.WriteLine("# " + memory);
                notes.Add(memory);
            }
            results.Add(result);
            units.Add(report with { Notes = notes, Leak = unitLeaked ? hygiene : null });
            Results.WriteJUnit(report, catalog, cli.OutDir, output);
        }
        if (cli.Sample > 0) return 0;
        if (budget.Summary(results, DateTime.UtcNow) is { } spent) output.WriteLine(spent);
        if (TimeTotals(results) is { } totals) output.WriteLine(totals);
        if (Throughput(results, "all devices") is { } throughputs) output.WriteLine(throughputs);
        System.Text.Json.Nodes.JsonObject? coverageJson = null;
        // a collector that failed costs the coverage, not the run's verdicts: they are written, then the run exits 2
        string? coverageLost = null;
        CoverageReport? reached = null;
        if (coverage != null)
        {
            // (with the ops every device's run made while the tracer ran: coverage per second beside ops per second)
            try { reached = coverage.Stop(found.Kernel) with { Ops = results.Sum(r => r.Exercise.Ops), Turns = turns }; }
            catch (InvalidOperationException e) { coverageLost = $"--kernel-coverage: {e.Message}"; }
        }
        if (reached != null)
        {
            output.WriteLine();
            output.WriteLine(KernelCoverageReport.Table(reached));
            if (cli.CoverageBaseline != null) output.WriteLine(KernelCoverageReport.DiffText(KernelCoverageReport.Load(cli.CoverageBaseline), reached, cli.CoverageBaseline));
            coverageJson = KernelCoverageReport.Json(reached);
            Results.SaveText(cli.OutDir, "kernel-coverage.json", coverageJson.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), output, "kernel coverage");
        }
        bool regressed = Results.WriteRun(units, catalog, cli.OutDir, output, found.Kernel, cli.Baseline, cli.Devices, kernelCoverage: coverageJson);
        output.WriteLine();
        bool failed = results.Any(r => r.Failed), known = results.Any(r => r.HasKnown);
        output.WriteLine($"# kernel run: {found.Units.Count} device(s), {(failed ? "FAILED" : known ? "no failure outside the known kernel issues" : "all certified invariants pass")}" +
            $"{(known ? $", {results.Sum(r => r.Counts().Known)} invariant(s) KNOWN" : "")}{(leaked ? ", LEAKED resources" : "")}");
        if (Program.Cli.NothingJudged(results) is { } nothing) output.WriteLine(nothing);
        if (coverageLost != null)
        {
            Console.Error.WriteLine($"error: {coverageLost} (the verdicts above are written; the run's kernel coverage is not)");
            return 2;
        }
        return regressed ? 1 : cli.ExitStatus(results, leaked);
    }

    /// <summary>
    /// --time over a kernel run's devices: each device's share is what is left of the budget over the devices left; a
    /// device whose turn comes when less than a second is left is not reached. Null budget: no shares.
    /// </summary>
    public sealed class TimeBudget(TimeSpan? budget, DateTime start)
    {
        /// <summary>The devices whose turn came after the budget was spent.</summary>
        public List<string> NotReached { get; } = [];

        /// <summary>The share of the next device, <paramref name="devicesLeft"/> counting it; null when the budget is spent.</summary>
        public TimeSpan? Share(int devicesLeft, DateTime now)
        {
            if (budget is not { } b) return null;
            var left = start + b - now;
            return left < TimeSpan.FromSeconds(1) ? null : left / Math.Max(1, devicesLeft);
        }

        /// <summary>The run's last word on its budget: what it spent, and what it could not reach (devices whose turn came
        /// after it was spent, and invariants no sequence reached within their properties' shares); null without --time.</summary>
        public string? Summary(IReadOnlyList<SuiteResult> results, DateTime now)
        {
            if (budget is not { } b) return null;
            var unreached = results.SelectMany(r => r.Invariants.Where(i => i.Verdict == Verdict.NotExercised && (i.Reason ?? "").StartsWith(Engine.OutOfTimeReason, StringComparison.Ordinal))
                .Select(i => i.Invariant.Id)).Distinct().Order(StringComparer.Ordinal).ToList();
            var words = new List<string>();
            if (NotReached.Count > 0) words.Add($"devices not reached: {string.Join(", ", NotReached)}");
            if (unreached.Count > 0) words.Add($"{unreached.Count} invariant(s) no sequence reached in their properties' shares: {string.Join(", ", unreached)}");
            return $"# time budget: {(now - start).TotalSeconds:0} s of {b.TotalSeconds:0} s spent on {results.Count} device(s), each property running to the end of its share; " +
                (words.Count > 0 ? "not reached: " + string.Join("; ", words) : "nothing it could not reach");
        }
    }

    /// <summary>
    /// One line on what the kernel memory check (DMABUF-LIFE-4) saw over the unit's properties: nothing left behind, or each
    /// property's chains that grew (the verdict's reason carries the same). Null where allocations were not followed.
    /// </summary>
    private static string? KernelMemory(SuiteResult result)
    {
        var checks = result.Properties.Select(p => p.Memory).Where(m => m != null).Select(m => m!).ToList();
        if (checks.Count == 0) return null;
        var grew = checks.Where(m => m.Grown.Count > 0).ToList();
        if (grew.Count == 0)
            return $"kernel memory: after each of the {checks.Count} properties' sequences, no allocating chain on the dma-buf paths holds more live objects than before them ({checks[0].ChainsBefore} chains live before the first)";
        return "kernel memory GREW: " + string.Join(" | ", grew.Select(m => m + (m.Known != null ? $" (known issue {m.Known.Id})" : "")));
    }

    /// <summary>The lab's command that reloads the modules it loaded (CONFORMANCE_RELOAD), for a device one of them created
    /// (CONFORMANCE_MODULE_DEVICES); null otherwise: a built-in driver or vivid cannot be brought back fresh.</summary>
    private static string? ReloadFor(string path) =>
        Environment.GetEnvironmentVariable("CONFORMANCE_RELOAD") is { Length: > 0 } cmd
        && (Environment.GetEnvironmentVariable("CONFORMANCE_MODULE_DEVICES") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(path)
            ? cmd : null;

    /// <summary>The command that boots the same lab again (modules, module arguments, kernel), as run-suite.sh passes it in.</summary>
    private static string LabPrefix =>
        Environment.GetEnvironmentVariable("CONFORMANCE_REPLAY_PREFIX") is { Length: > 0 } p ? p : "./run-suite.sh --target vm";

    /// <summary>The process's open fds of the kinds the suite creates, each as "fd -> what it names": a device (not /dev/null or
    /// a terminal), a dma-buf or a memfd; the runtime's own come and go. The terminals are the runtime's: the first child process
    /// .NET starts (a driver reload) makes it open the controlling terminal, /dev/console in the lab VM, and keep it for the
    /// process's life. Null where /proc/self/fd cannot be read.</summary>
    private static List<string>? HeldFds() => !Directory.Exists("/proc/self/fd") ? null :
        Discovery.FdLinks().Where(l => l.Target is var t && (t.StartsWith("/dev/", StringComparison.Ordinal) && t is not ("/dev/null" or "/dev/console" or "/dev/tty")
                && !t.StartsWith("/dev/pts", StringComparison.Ordinal) && !t.StartsWith("/dev/ttyS", StringComparison.Ordinal)
            || t.StartsWith("anon_inode:dmabuf", StringComparison.Ordinal) || t.StartsWith("/dmabuf", StringComparison.Ordinal) || t.StartsWith("/memfd:", StringComparison.Ordinal)))
            .Select(l => $"{l.Fd} -> {l.Target}").ToList();

    /// <summary>--sample: generated sequences run in lockstep on the device (one in four ending in a parallel block) and written,
    /// passing or not, with their C programs.</summary>
    private static void Samples(Program.Cli cli, Catalog catalog, RunSite site, KernelTarget target, RunOptions opt, string dir, TextWriter output)
    {
        var gen = new SequenceGenerator(target.Profile, opt.Areas) { SlowOps = false };
        LockstepProperty lockstep = new(), parallel = new(parallel: true);
        var rng = new Rng(cli.Options.Seed);
        int failed = 0;
        for (int i = 1; i <= cli.Sample; i++)
        {
            ulong seed = rng.Next();
            // one in four ends in a parallel block: its C program runs the branches on threads, as the adapter does
            bool par = i % 4 == 0;
            // and one in four is of the family with other processes (seeds 5 mod 8): its C program starts P1 (and P1's fork,
            // P2) as the adapter starts its helper
            if (i % 4 == 2) seed = seed / 8 * 8 + 5;
            var seq = par ? gen.GenerateParallel(seed, Math.Min(cli.Options.MaxLength, 40)) : gen.Generate(seed, Math.Min(cli.Options.MaxLength, 40));
            target.Context = () => $"sample {i} (seed {seed}):\n{seq}";
            var f = (par ? parallel : lockstep).Trace(seq, target, null, out var steps);
            if (f != null) failed++;
            var cmd = $"./run-suite.sh --target kernel --device {site.Device} --sample {cli.Sample} --seed {cli.Options.Seed}";
            var rf = Counterexamples.Sample(site, cli, (par ? parallel : lockstep).Name, seed, 1, steps, cmd);
            Counterexamples.Write(dir, $"sample-{i:D3}", f == null ? rf : Counterexamples.WithFailure(rf, f, catalog));
        }
        output.WriteLine($"# samples: {cli.Sample} sequences written to {Counterexamples.Display(dir)} ({failed} diverged from the model)");
    }
}
