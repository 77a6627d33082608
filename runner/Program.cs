using System.Diagnostics;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Spec;

namespace Conformance.Runner;

public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            // a run of this runner that --bench --instructions counts under valgrind
            if (Environment.GetEnvironmentVariable(InstructionBench.ChildVariable) is { Length: > 0 } counted) return InstructionBench.Child(counted, Console.Out);
            return Run(args, Console.Out);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    public sealed class UsageException(string m) : Exception(m);

    public sealed record Cli(string Target, string ProfileName, RunOptions Options, string OutDir, string? Mode, string? ModeArg)
    {
        /// <summary>--replay FILE: run exactly this counterexample again.</summary>
        public string? Replay { get; init; }
        /// <summary>--emit-c FILE (with --replay): write the file's C reproducer and exit.</summary>
        public string? EmitC { get; init; }
        /// <summary>--sample N (kernel): N generated sequences per device written with their C programs, for the round trip.</summary>
        public int Sample { get; init; }
        public bool TargetGiven { get; init; }
        public IReadOnlyList<string> Devices { get; init; } = [];
        public int OpTimeout { get; init; } = 20;
        /// <summary>--judge-in-step: a kernel target's outcomes are each judged before the next call
        /// (<see cref="KernelTarget.OverlapsOracle"/> false), not on the oracle's own thread behind the calls.</summary>
        public bool JudgeInStep { get; init; }
        /// <summary>--out was given (a printed replay command then names its own folder rather than the run's).</summary>
        public bool OutGiven { get; init; }
        /// <summary>--kernel-coverage: the kernel functions of the buffer-sharing code the run entered (FunctionCoverage).</summary>
        public bool KernelCoverage { get; init; }
        /// <summary>--coverage-baseline FILE (full path): an earlier run's kernel-coverage.json to compare with.</summary>
        public string? CoverageBaseline { get; init; }
        /// <summary>--quiet: failures and totals only.</summary>
        public bool Quiet { get; init; }
        /// <summary>--trace: every op and its outcome as it runs.</summary>
        public bool Trace { get; init; }
        /// <summary>--target vm: the lab's options.</summary>
        public LabOptions? Lab { get; init; }
        /// <summary>Known kernel issues: the suite's own list plus the --expectations file.</summary>
        public KnownIssueList Known { get; init; } = KnownIssueList.Empty;
        /// <summary>--strict: known issues and invariants not exercised fail the run too.</summary>
        public bool Strict { get; init; }
        /// <summary>--baseline: the earlier results.json the run is compared with (a full path, checked at parse time).</summary>
        public string? Baseline { get; init; }
        /// <summary>--merge DIR...: the shards' results folders to join (empty: not a merge).</summary>
        public IReadOnlyList<string> Merge { get; init; } = [];
        /// <summary>--emit-lava-job DIR: the jobs' settings (null: not that mode).</summary>
        public LavaJob.Settings? Lava { get; init; }
        /// <summary>--bench --instructions: user-mode instructions an op, counted under valgrind (<see cref="InstructionBench"/>).</summary>
        public bool Instructions { get; init; }
        /// <summary>--seed nightly: the seed is the date (<see cref="SuiteCommandLine.SeedFrom"/>); the run says so.</summary>
        public bool SeedNightly { get; init; }

        /// <summary>The exit status of a run with these results: 1 when a unit failed or leaked, or under --strict had a
        /// known issue or an applicable invariant not exercised; 0 otherwise.</summary>
        public int ExitStatus(IEnumerable<SuiteResult> results, bool leaked) =>
            leaked || results.Any(r => r.Failed) || results.All(r => r.JudgedNothing)
            || Strict && results.Any(r => r.HasKnown || r.Invariants.Any(i => i.Verdict == Verdict.NotExercised)) ? 1 : 0;

        /// <summary>The line a run that judged nothing ends with (its exit status is 1), or null.</summary>
        public static string? NothingJudged(IReadOnlyCollection<SuiteResult> results) => results.All(r => r.JudgedNothing)
            ? "# nothing was judged: every selected invariant was skipped or not exercised (see the reasons above), so this run certifies nothing: exit 1"
            : null;
    }

    /// <summary>Parses the command line (see <see cref="SuiteCommandLine"/>); a <see cref="UsageException"/> for any problem.</summary>
    public static Cli Parse(string[] args) => SuiteCommandLine.Parse(args);

    public static IBufferTarget MakeTarget(string target, string profileName)
    {
        var profile = TargetProfile.BuiltIn.FirstOrDefault(p => p.Name == profileName)
            ?? throw new UsageException($"unknown profile '{profileName}' (profiles: {string.Join(", ", TargetProfile.BuiltIn.Select(p => p.Name))})");
        if (target == "model") return new ReferenceModel(profile);
        if (target.StartsWith("broken:"))
        {
            var v = BrokenVariant.Find(target["broken:".Length..])
                ?? throw new UsageException($"unknown broken variant '{target["broken:".Length..]}' (see --list-variants)");
            return v.Model(profile);
        }
        if (target == "vm")
            throw new UsageException("--target vm is run by ./run-suite.sh, which boots the lab VM and runs --target kernel inside it");
        throw new UsageException($"unknown target '{target}' (targets: model, broken:NAME, kernel, vm)");
    }

    /// <summary>
    /// The command that re-runs the batch a finding came from and shrinks to the same counterexample, shell-quoted, with
    /// its own --out (under the run's replays/) so it never replaces the run's own results.
    /// </summary>
    public static string ReplayCommand(Cli cli, Finding p, string? device = null)
    {
        // inside the lab VM: the command that boots the same lab again (already quoted by LabRun)
        var prefix = Environment.GetEnvironmentVariable("CONFORMANCE_REPLAY_PREFIX") is { Length: > 0 } pre && cli.Target == "kernel" ? pre : null;
        var parts = prefix != null ? new List<string>() : new List<string> { "./run-suite.sh", "--target", cli.Target };
        parts.AddRange(device != null ? ["--device", device] : ["--profile", cli.ProfileName]);
        parts.AddRange([
            "--seed", p.ReplaySeed.ToString(), "--sequences", p.ReplaySequences.ToString(), "--property", p.Property.Name,
            "--max-length", cli.Options.MaxLength.ToString()]);
        if (cli.Options.Ids.Count > 0) parts.AddRange(["--id", string.Join(",", cli.Options.Ids)]);
        else if (cli.Options.Areas.Count != SequenceGenerator.AllAreas.Length) parts.AddRange(["--area", string.Join(",", cli.Options.Areas)]);
        if (cli.Options.SlowOps == true) parts.Add("--slow-ops");   // the generator draws differently with them
        parts.AddRange(["--out", Counterexamples.Display(Path.Combine(cli.OutDir, "replays", $"{p.Property.Name}-{p.Failure.InvariantId}"))]);
        return (prefix != null ? prefix + " " : "") + Shell.Join(parts);
    }

    public static int Run(string[] args, TextWriter output)
    {
        if (SuiteCommandLine.Directive(args, output) is { } completed) return completed;
        var cli = Parse(args);
        var catalog = Catalog.Load();
        switch (cli.Mode)
        {
            case "--help": output.Write(SuiteCommandLine.Help()); return 0;
            case "--version": output.WriteLine(SuiteVersion.Text); return 0;
            case "--emit-headers": return LabRun.EmitHeaders(cli.ModeArg!, output);
            case "--merge": return Merge.Run(cli, catalog, output);
            case "--emit-lava-job": return LavaJob.Emit(cli, cli.Lava!, output);
            case "--list-variants":
                foreach (var v in BrokenVariant.All) output.WriteLine($"broken:{v.Name,-28} breaks {v.Invariants,-18} {v.Description} (profile {v.Profile})");
                return 0;
            case "--list-invariants":
                foreach (var i in catalog.All.Where(i => Engine.InScope(i, cli.Options))) output.WriteLine($"{i.Id,-20} {i.Rule}");
                return 0;
            case "--list-domains":
                foreach (var d in Domains.All)
                {
                    output.WriteLine($"{d.Name}  ({string.Join(", ", d.Fields)}; {d.Source})");
                    int total = d.Entries.Sum(e => e.Weight);
                    foreach (var e in d.Entries) output.WriteLine($"  {(e.Valid ? "valid  " : "invalid")} {100.0 * e.Weight / total,5:F1}%  {e.Label}");
                }
                return 0;
            case "--render-spec":
                Results.WriteFile(cli.ModeArg!, CatalogMarkdown.Render(catalog), "--render-spec");
                output.WriteLine($"wrote {cli.ModeArg}");
                return 0;
            case "--check-ktap":
                {
                    var text = Results.ReadFile(cli.ModeArg!, "--check-ktap");
                    var errors = KtapChecker.Check(text);
                    foreach (var e in errors) output.WriteLine($"{cli.ModeArg}:{e}");
                    output.WriteLine(errors.Count == 0 ? $"{cli.ModeArg}: valid KTAP" : $"{cli.ModeArg}: {errors.Count} KTAP error(s)");
                    return errors.Count == 0 ? 0 : 1;
                }
            case "--bench":
                // --target vm: the lab boots and runs --target kernel --bench inside the guest (LabRun builds the raw C loop)
                return cli.Target switch { "vm" => LabRun.Run(cli, args, output), "kernel" => KernelBench.Run(cli, output), _ => cli.Instructions ? InstructionBench.Run(output) : Bench.Run(cli, output) };
        }
        if (cli.SeedNightly) output.WriteLine($"# --seed nightly: seed {cli.Options.Seed} (the UTC date); --seed {cli.Options.Seed} runs this night's sequences again");
        if (cli.Target == "vm") return LabRun.Run(cli, args, output);
        if (cli.Replay != null) return Replay.Run(cli, catalog, output);
        if (cli.Target == "kernel") return KernelRun.Run(cli, catalog, output);
        using var model = MakeTarget(cli.Target, cli.ProfileName);
        var folder = OutputFolder.Begin(cli.OutDir);   // before any work: an unwritable --out is found now, not after the run
        var staged = cli with { OutDir = folder.Staging };
        var live = new LiveProgress(output, !cli.Quiet && LiveProgress.IsTerminal(output));
        var target = cli.Trace ? TracingTarget.Wrap(model, live.Line) : model;
        var opt = cli.Options with { SlowOps = cli.Options.SlowOps ?? true, OnProgress = live.Report };   // waiting is free on the model
        var budget = new KernelRun.TimeBudget(opt.Budget, DateTime.UtcNow);
        var result = Engine.Run(cli.Target, target, opt, catalog, cli.Quiet ? null : live.Line);
        live.Clear();
        var site = new RunSite(cli.Target, cli.ProfileName, target.Profile, null, null, RunSite.DefaultPaths(target.Profile));
        bool regressed = false;
        try
        {
            var unit = Results.Unit($"{cli.Target} ({cli.ProfileName})", null, site, result, staged, catalog, Path.Combine(staged.OutDir, "counterexamples", Results.Slug(cli.Target)),
                p => ReplayCommand(cli, p));
            Results.Print(unit, catalog, output, cli);
            if (budget.Summary([result], DateTime.UtcNow) is { } spent) output.WriteLine(spent);
            Results.WriteJUnit(unit, catalog, staged.OutDir, output);
            regressed = Results.WriteRun([unit], catalog, staged.OutDir, output, baseline: cli.Baseline);
        }
        finally { folder.Finish(); }   // what was written, counterexamples first, is kept even when a later file failed
        if (Cli.NothingJudged([result]) is { } nothing) output.WriteLine(nothing);
        return regressed ? 1 : cli.ExitStatus([result], leaked: false);
    }
}

/// <summary>The documented benchmark (README, Benchmark), measured in one run: the model's throughput, lockstep's (model target and
/// oracle), generation's (ops/s and bytes allocated an op, on one thread) and the default run's wall time, each against its goal.</summary>
public static class Bench
{
    public static int Run(Program.Cli cli, TextWriter output)
    {
        // (the folder checked before the measuring, as a run's is: its figures are saved there as well as printed)
        Results.CheckWritable(cli.OutDir);
        var figures = new StringWriter();
        int rc = Measure(new TeeWriter(output, figures));
        Results.SaveText(cli.OutDir, "bench.log", figures.ToString(), output, "benchmark");
        return rc;
    }

    /// <summary>A writer that writes to two (the console and the figures saved to --out).</summary>
    private sealed class TeeWriter(TextWriter a, TextWriter b) : TextWriter
    {
        public override System.Text.Encoding Encoding => a.Encoding;
        public override void Write(char value) { a.Write(value); b.Write(value); }
        public override void Write(string? value) { a.Write(value); b.Write(value); }
        public override void WriteLine(string? value) { a.WriteLine(value); b.WriteLine(value); }
        public override void Flush() { a.Flush(); b.Flush(); }
    }

    private static int Measure(TextWriter output)
    {
        var profile = TargetProfile.VividLike;
        var gen = new SequenceGenerator(profile);
        var seqs = Enumerable.Range(0, 300).Select(i => gen.Generate((ulong)i * 7919 + 1, 60)).ToList();
        long opCount = seqs.Sum(s => s.Ops.Length);

        var model = new ReferenceModel(profile);
        long notRun = 0;
        foreach (var s in seqs)
        {
            var env = new Env();
            model.Reset();
            foreach (var op in s.Ops) { model.BeginStep(null); if (op.Run(model, env).Errno == Errno.NotRun) notRun++; }
        }
        (double Rate, double Warm) Measure(Action<OpSequence> runOne) => Steady(() => { foreach (var s in seqs) runOne(s); return opCount; });
        var (modelOps, modelWarm) = Measure(s =>
        {
            var env = new Env();
            model.Reset();
            foreach (var op in s.Ops) { model.BeginStep(null); op.Run(model, env); }
        });
        var lockstep = new LockstepProperty();
        var sut = new ReferenceModel(profile);
        var (lockOps, lockWarm) = Measure(s => lockstep.Check(s, sut, null));
        // generation alone, on this thread: ops/s, and the bytes it allocated an op while timed
        // (and the collections of the first generation while timed, and the time they paused it: a collection costs about the
        // same whatever survives it, so their number, which the first generation's budget sets, is what allocation costs here)
        ulong seed = 99;
        long bytes = 0;
        int collections = 0;
        var paused = TimeSpan.Zero;
        var (genRate, genWarm) = Steady(() => gen.Generate(seed++, 60).Ops.Length,
            () => (bytes, collections, paused) = (GC.GetAllocatedBytesForCurrentThread(), GC.CollectionCount(0), GC.GetTotalPauseDuration()),
            ops => (GC.GetAllocatedBytesForCurrentThread() - bytes) / (double)ops, out double genBytes);
        (collections, paused) = (GC.CollectionCount(0) - collections, GC.GetTotalPauseDuration() - paused);
        var wall = Stopwatch.StartNew();
        var result = Engine.Run("model", new ReferenceModel(profile), new RunOptions(), Catalog.Load());
        wall.Stop();
        output.WriteLine($"model throughput:       {modelOps,12:N0} ops/s (one core; goal >= 1,000,000: ratio {modelOps / 1_000_000:F2}x)");
        output.WriteLine($"  ({opCount} ops in {seqs.Count} sequences of up to 60, the {profile.Name} profile; {100.0 * notRun / opCount:F1}% not run because a handle was gone)");
        output.WriteLine($"lockstep throughput:    {lockOps,12:N0} ops/s (model target + model oracle)");
        output.WriteLine($"generation throughput:  {genRate,12:N0} ops/s (one core; goal >= 3,000,000: ratio {genRate / 3_000_000:F2}x), {genBytes:N0} bytes allocated an op");
        output.WriteLine($"  (collections: {collections / TimedSeconds:F0} a second, {100 * paused.TotalSeconds / TimedSeconds:F1}% of the time paused; the first generation's largest " +
            $"budget {Gen0Budget() / 1048576.0:F0} MB{(Environment.GetEnvironmentVariable("DOTNET_GCgen0size") is { Length: > 0 } g ? $", DOTNET_GCgen0size={g}" : ", the runtime's own")})");
        output.WriteLine($"warm-up:                model {modelWarm:F1} s, lockstep {lockWarm:F1} s, generation {genWarm:F1} s before each rate above was timed " +
            $"over {TimedSeconds:F0} s (the runtime compiles hot code again, optimized: each ran until no quarter second in a whole second " +
            $"was {100 * (WarmRise - 1):F0}% faster than the fastest before it, the last within {100 * (WarmDip - 1):F0}% of it)");
        output.WriteLine($"default run wall time:  {wall.Elapsed.TotalSeconds,12:F2} s (in process, build excluded; goal <= 15 s: ratio {wall.Elapsed.TotalSeconds / 15:F2}x), {result.Exercise.Sequences} sequences, {result.Exercise.Ops} ops, {(result.Failed ? "FAILED (the reference model must pass its own run)" : "every invariant held")}");
        return 0;
    }

    /// <summary>The collector's largest budget for its first generation, in bytes (GCGen0MaxBudget, as the runtime reports its
    /// configuration; at least what DOTNET_GCgen0size asks), or 0 where it does not say.</summary>
    private static long Gen0Budget() =>
        GC.GetConfigurationVariables().TryGetValue("GCGen0MaxBudget", out var b) ? Convert.ToInt64(b) : 0;

    /// <summary>How long each of the benchmark's rates is timed once warm, in seconds.</summary>
    private const double TimedSeconds = 2;
    /// <summary>A quarter second's rate counts as a rise where it is at least this factor of the fastest quarter before it.</summary>
    private const double WarmRise = 1.01;
    /// <summary>The warm-up goes on while the last quarter second's rate is below the fastest by more than this factor.</summary>
    private const double WarmDip = 1.03;

    /// <summary>
    /// The steady rate of <paramref name="round"/> (which returns the ops it ran) in ops/s, timed over <see cref="TimedSeconds"/>
    /// once warm, and the seconds of warm-up before it. The runtime compiles a method at a first tier, then, once it has been
    /// called often, again with full optimization, on a thread of its own and after a pause in new compilations: a generator's
    /// rate rises about threefold over its first two seconds here (0.7 → 1.9 M ops/s), so a rate timed from a cold start
    /// measures the tiers as much as the code. Warm means: rounds in quarter seconds until a whole second has passed without a
    /// rise (<see cref="WarmRise"/>) and the last is near the fastest (<see cref="WarmDip"/>), after one second at least and ten
    /// at most.
    /// </summary>
    private static (double Rate, double WarmSeconds) Steady(Func<long> round) => Steady(round, null, null, out _);

    /// <summary><see cref="Steady(Func{long})"/>, with <paramref name="begin"/> called as the timing starts and
    /// <paramref name="end"/> given the ops timed as it ends (its result: <paramref name="measured"/>).</summary>
    private static (double Rate, double WarmSeconds) Steady(Func<long> round, Action? begin, Func<long, double>? end, out double measured)
    {
        var warm = Stopwatch.StartNew();
        double fastest = 0, risen = 0;
        while (warm.Elapsed.TotalSeconds < 10)
        {
            var quarter = Stopwatch.StartNew();
            long done = 0;
            while (quarter.Elapsed.TotalSeconds < 0.25) done += round();
            double rate = done / quarter.Elapsed.TotalSeconds, now = warm.Elapsed.TotalSeconds;
            if (rate >= WarmRise * fastest) risen = now;
            fastest = Math.Max(fastest, rate);
            // (and the last quarter near the fastest: code compiled ahead of time, as a published build's, is first compiled again
            // with counters in it where the runtime's dynamic PGO is on, a dip of a second or more before the fastest code)
            if (now >= 1 && now - risen >= 1 && rate * WarmDip >= fastest) break;
        }
        double warmSeconds = warm.Elapsed.TotalSeconds;
        begin?.Invoke();
        var sw = Stopwatch.StartNew();
        long ops = 0;
        while (sw.Elapsed.TotalSeconds < TimedSeconds) ops += round();
        double seconds = sw.Elapsed.TotalSeconds;
        measured = end?.Invoke(ops) ?? 0;
        return (ops / seconds, warmSeconds);
    }
}
