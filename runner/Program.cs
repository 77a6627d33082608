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
    public const string Usage = """
        usage: ./run-suite.sh [options]
          --target T         model (default) | broken:NAME (a deliberately broken model, see --list-variants)
                             | kernel (this machine's devices) | vm (Debian 6.12 under QEMU: vivid, vgem, udmabuf, system heap)
          --device PATH      with --target kernel: certify only this device (repeatable): a V4L2 node,
                             a dma-heap or any char device speaking the dma-heap ABI, /dev/udmabuf
          --op-timeout S     with --target kernel: an op taking longer is a hung driver (default 20)
          --profile P        device profile for the model target: vivid-like (default) | legacy-vb2
          --seed N           master seed (default 1); every failure prints the seed that replays it
          --sequences N      sequences per property (default 3000 on the model, 500 on a kernel target)
          --time SECONDS     time budget instead of a sequence count (split evenly over the properties)
          --max-length N     longest generated sequence (default 60 ops)
          --area A[,A]       only these areas: dmabuf, vb2, heap, udmabuf, fence, prime
          --slow-ops         on a kernel too, generate ops that wait in real time (vgem fence expiry:
                             10 s each; always on for the model), so FENCE-VGEM-6 is exercised
          --id ID[,ID]       only these invariants (e.g. DMABUF-LLSEEK-3)
          --property NAME    only this property: lockstep | release | aliasing
          --out DIR          where results go (default out/): results.ktap, results.json, junit.xml, and
                             counterexamples/UNIT/*.replay.json and *.c for every failure
          --repro-runs N     re-run each final counterexample N times from a fresh state (default 10)
          --expectations F   with a kernel target: known kernel issues of this lab (the format of
                             spec/known-issues.json), added to the suite's own list; a failure they
                             describe is reported KNOWN (KTAP XFAIL), never as a pass
          --strict           exit 1 also when an invariant failed only as a known kernel issue, or an
                             applicable invariant was not exercised (for labs and CI)
          --replay FILE      run a replay file (written beside every failure) again; its target, device
                             and profile come from the file (a kernel file needs the same driver)
          --emit-c FILE      with --replay: write that counterexample's standalone C reproducer and exit
          --sample N         with --target kernel: also write N passing sequences per device with their
                             C programs to OUT/samples/ (the C-vs-adapter round trip)
          --check-ktap FILE  validate a KTAP file against Documentation/dev-tools/ktap.rst and exit
          --list-variants    list the broken model variants and exit
          --list-invariants  list the catalog and exit
          --render-spec F    write the catalog as Markdown to F and exit
          --bench            run the benchmark (model throughput, default run wall time) and exit
          -h, --help         this text
        exit status: 0 all pass (known kernel issues alone included, unless --strict), 1 an invariant failed
                     outside the known issues (with --replay: the counterexample reproduced),
                     2 usage or environment error (also a corrupt or mismatched replay file), 3 a hung driver
        """;

    public static int Main(string[] args)
    {
        try { return Run(args, Console.Out); }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine("run ./run-suite.sh --help for usage");
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
        /// <summary>Known kernel issues: the suite's own list plus the --expectations file.</summary>
        public KnownIssueList Known { get; init; } = KnownIssueList.Empty;
        /// <summary>--strict: known issues and invariants not exercised fail the run too.</summary>
        public bool Strict { get; init; }

        /// <summary>The exit status of a run with these results: 1 when a unit failed or leaked, or under --strict had a
        /// known issue or an applicable invariant not exercised; 0 otherwise.</summary>
        public int ExitStatus(IEnumerable<SuiteResult> results, bool leaked) =>
            leaked || results.Any(r => r.Failed)
            || Strict && results.Any(r => r.HasKnown || r.Invariants.Any(i => i.Verdict == Verdict.NotExercised)) ? 1 : 0;
    }

    public static Cli Parse(string[] args)
    {
        string target = "model", profile = "vivid-like", outDir = "out";
        string? mode = null, modeArg = null, replay = null, emitC = null;
        int sample = 0;
        bool targetGiven = false, strict = false;
        string? expectations = null;
        var devices = new List<string>();
        int opTimeout = 20;
        var o = new RunOptions();
        var catalog = Catalog.Load();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Val() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{a} needs a value");
            long Num(long min, long max)
            {
                var v = Val();
                if (!long.TryParse(v, out var n) || n < min || n > max) throw new UsageException($"{a} takes a whole number from {min} to {max}, not '{v}'");
                return n;
            }
            switch (a)
            {
                case "--target": target = Val(); targetGiven = true; break;
                case "--replay": replay = Val(); break;
                case "--emit-c": emitC = Val(); break;
                case "--sample": sample = (int)Num(1, 100_000); break;
                case "--repro-runs": o = o with { ReproRuns = (int)Num(0, 10_000) }; break;
                case "--check-ktap": mode = a; modeArg = Val(); break;
                case "--profile": profile = Val(); break;
                case "--seed":
                    {
                        var v = Val();
                        if (!ulong.TryParse(v, out var s)) throw new UsageException($"--seed takes an unsigned 64-bit number, not '{v}'");
                        o = o with { Seed = s };
                        break;
                    }
                case "--sequences": o = o with { Sequences = (int)Num(1, 10_000_000) }; break;
                case "--slow-ops": o = o with { SlowOps = true }; break;
                case "--time": o = o with { Budget = TimeSpan.FromSeconds(Num(1, 7 * 86400)) }; break;
                case "--max-length": o = o with { MaxLength = (int)Num(1, 10_000) }; break;
                case "--area":
                    {
                        var areas = Val().Split(',', StringSplitOptions.RemoveEmptyEntries);
                        foreach (var ar in areas)
                            if (!SequenceGenerator.AllAreas.Contains(ar)) throw new UsageException($"unknown area '{ar}' (areas: {string.Join(", ", SequenceGenerator.AllAreas)})");
                        o = o with { Areas = areas };
                        break;
                    }
                case "--id":
                    {
                        var ids = Val().Split(',', StringSplitOptions.RemoveEmptyEntries);
                        foreach (var id in ids) if (!catalog.Contains(id)) throw new UsageException($"unknown invariant ID '{id}' (see --list-invariants)");
                        o = o with { Ids = ids };
                        break;
                    }
                case "--property":
                    {
                        var p = Val();
                        if (Properties.Properties.All.All(x => x.Name != p)) throw new UsageException($"unknown property '{p}' (properties: {string.Join(", ", Properties.Properties.All.Select(x => x.Name))})");
                        o = o with { Property = p };
                        break;
                    }
                case "--out": outDir = Val(); break;
                case "--expectations": expectations = Val(); break;
                case "--strict": strict = true; break;
                case "--device": devices.Add(Val()); break;
                case "--op-timeout": opTimeout = (int)Num(1, 3600); break;
                case "--list-variants": case "--list-invariants": case "--bench": mode = a; break;
                case "--render-spec": mode = a; modeArg = Val(); break;
                case "-h": case "--help": mode = "--help"; break;
                default: throw new UsageException($"unknown option '{a}'");
            }
        }
        // a real kernel runs ~50x slower than the model: keep the default run to about a minute per lab boot
        if (target == "kernel" && !args.Contains("--sequences") && !args.Contains("--time")) o = o with { Sequences = 500 };
        if (devices.Count > 0 && target != "kernel" && replay == null) throw new UsageException("--device needs --target kernel (or ./run-suite.sh --target vm)");
        if (emitC != null && replay == null) throw new UsageException("--emit-c needs --replay FILE (the counterexample to write as C)");
        if (sample > 0 && target != "kernel") throw new UsageException("--sample needs --target kernel (it records what the real devices did)");
        var known = KnownIssueList.BuiltIn(catalog);
        if (expectations != null)
        {
            try { known = known.With(KnownIssueList.Load(expectations, catalog)); }
            catch (InvalidDataException e) { throw new UsageException($"--expectations: {e.Message}"); }
        }
        return new Cli(target, profile, o, outDir, mode, modeArg)
        {
            Devices = devices, OpTimeout = opTimeout, Replay = replay, EmitC = emitC, Sample = sample, TargetGiven = targetGiven, Known = known, Strict = strict,
        };
    }

    public static IBufferTarget MakeTarget(string target, string profileName)
    {
        var profile = TargetProfile.BuiltIn.FirstOrDefault(p => p.Name == profileName)
            ?? throw new UsageException($"unknown profile '{profileName}' (profiles: {string.Join(", ", TargetProfile.BuiltIn.Select(p => p.Name))})");
        if (target == "model") return new ReferenceModel(profile);
        if (target.StartsWith("broken:"))
        {
            var v = BrokenVariant.Find(target["broken:".Length..])
                ?? throw new UsageException($"unknown broken variant '{target["broken:".Length..]}' (see --list-variants)");
            return new ReferenceModel(profile, v.Bug);
        }
        if (target == "vm")
            throw new UsageException("--target vm is run by ./run-suite.sh, which boots the lab VM and runs --target kernel inside it");
        throw new UsageException($"unknown target '{target}' (targets: model, broken:NAME, kernel, vm)");
    }

    public static string ReplayCommand(Cli cli, Finding p, string? device = null)
    {
        // inside the lab VM: the command that boots the same lab again
        var parts = Environment.GetEnvironmentVariable("CONFORMANCE_REPLAY_PREFIX") is { Length: > 0 } prefix && cli.Target == "kernel"
            ? new List<string> { prefix } : new List<string> { "./run-suite.sh", "--target", cli.Target };
        parts.AddRange(device != null ? ["--device", device] : ["--profile", cli.ProfileName]);
        parts.AddRange([
            "--seed", p.ReplaySeed.ToString(), "--sequences", p.ReplaySequences.ToString(), "--property", p.Property.Name,
            "--max-length", cli.Options.MaxLength.ToString()]);
        if (cli.Options.Ids.Count > 0) parts.AddRange(["--id", string.Join(",", cli.Options.Ids)]);
        else if (cli.Options.Areas.Count != SequenceGenerator.AllAreas.Length) parts.AddRange(["--area", string.Join(",", cli.Options.Areas)]);
        if (cli.Options.SlowOps == true) parts.Add("--slow-ops");   // the generator draws differently with them
        return string.Join(" ", parts);
    }

    public static int Run(string[] args, TextWriter output)
    {
        var cli = Parse(args);
        var catalog = Catalog.Load();
        switch (cli.Mode)
        {
            case "--help": output.WriteLine(Usage); return 0;
            case "--list-variants":
                foreach (var v in BrokenVariant.All) output.WriteLine($"broken:{v.Name,-28} breaks {v.Invariants,-18} {v.Description}");
                return 0;
            case "--list-invariants":
                foreach (var i in catalog.All) output.WriteLine($"{i.Id,-20} {i.Rule}");
                return 0;
            case "--render-spec":
                File.WriteAllText(cli.ModeArg!, CatalogMarkdown.Render(catalog));
                output.WriteLine($"wrote {cli.ModeArg}");
                return 0;
            case "--check-ktap":
                {
                    string text;
                    try { text = File.ReadAllText(cli.ModeArg!); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"cannot read '{cli.ModeArg}': {e.Message}"); }
                    var errors = KtapChecker.Check(text);
                    foreach (var e in errors) output.WriteLine($"{cli.ModeArg}:{e}");
                    output.WriteLine(errors.Count == 0 ? $"{cli.ModeArg}: valid KTAP" : $"{cli.ModeArg}: {errors.Count} KTAP error(s)");
                    return errors.Count == 0 ? 0 : 1;
                }
            case "--bench":
                return cli.Target == "kernel" ? KernelBench.Run(cli, output) : Bench.Run(cli, output);
        }
        if (cli.Replay != null) return Replay.Run(cli, catalog, output);
        if (cli.Target == "kernel") return KernelRun.Run(cli, catalog, output);
        using var target = MakeTarget(cli.Target, cli.ProfileName);
        var result = Engine.Run(cli.Target, target, cli.Options, catalog, output.WriteLine);
        var site = new RunSite(cli.Target, cli.ProfileName, target.Profile, null, null, RunSite.DefaultPaths(target.Profile));
        var unit = Results.Unit($"{cli.Target} ({cli.ProfileName})", null, site, result, cli, catalog, Path.Combine(cli.OutDir, "counterexamples", Results.Slug(cli.Target)),
            p => ReplayCommand(cli, p));
        Results.Print(unit, catalog, output);
        Results.WriteJUnit(unit, catalog, cli.OutDir, output);
        Results.WriteRun([unit], catalog, cli.OutDir, output);
        return cli.ExitStatus([result], leaked: false);
    }
}

/// <summary>The documented benchmark: model throughput and the default run's wall time, measured in one run.</summary>
public static class Bench
{
    public static int Run(Program.Cli cli, TextWriter output)
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
        double Measure(Action<OpSequence> runOne)
        {
            foreach (var s in seqs.Take(30)) runOne(s);   // warm-up (JIT)
            var sw = Stopwatch.StartNew();
            long ops = 0;
            int rounds = 0;
            while (sw.Elapsed < TimeSpan.FromSeconds(2) || rounds == 0)
            {
                foreach (var s in seqs) runOne(s);
                ops += opCount; rounds++;
            }
            return ops / sw.Elapsed.TotalSeconds;
        }
        double modelOps = Measure(s =>
        {
            var env = new Env();
            model.Reset();
            foreach (var op in s.Ops) { model.BeginStep(null); op.Run(model, env); }
        });
        var lockstep = new LockstepProperty();
        var sut = new ReferenceModel(profile);
        double lockOps = Measure(s => lockstep.Check(s, sut, null));
        double genRate = 0;
        {
            var sw = Stopwatch.StartNew();
            long ops = 0;
            for (ulong i = 0; sw.Elapsed < TimeSpan.FromSeconds(1); i++) ops += gen.Generate(i + 99, 60).Ops.Length;
            genRate = ops / sw.Elapsed.TotalSeconds;
        }
        var wall = Stopwatch.StartNew();
        var result = Engine.Run("model", new ReferenceModel(profile), new RunOptions(), Catalog.Load());
        wall.Stop();
        output.WriteLine($"model throughput:       {modelOps,12:N0} ops/s (one core; goal >= 1,000,000: ratio {modelOps / 1_000_000:F2}x)");
        output.WriteLine($"  ({opCount} ops in {seqs.Count} sequences of up to 60; {100.0 * notRun / opCount:F1}% not run because a handle was gone)");
        output.WriteLine($"lockstep throughput:    {lockOps,12:N0} ops/s (model target + model oracle)");
        output.WriteLine($"generation throughput:  {genRate,12:N0} ops/s");
        output.WriteLine($"default run wall time:  {wall.Elapsed.TotalSeconds,12:F2} s (in process, build excluded; goal <= 15 s: ratio {wall.Elapsed.TotalSeconds / 15:F2}x), {result.Exercise.Sequences} sequences, {result.Exercise.Ops} ops, failed: {result.Failed}");
        return 0;
    }
}
