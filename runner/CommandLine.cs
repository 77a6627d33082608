using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Spec;

namespace Conformance.Runner;

/// <summary>
/// The command line of run-suite.sh and the runner, one parser for both (System.CommandLine): typed options with
/// their ranges, <c>--opt=value</c>, an error for an option given twice or two options that contradict each other, the
/// lab VM's options (only with <c>--target vm</c>), and generated help that lists every option and exit status. Every
/// error becomes one <see cref="Program.UsageException"/> line (exit 2).
/// </summary>
public static class SuiteCommandLine
{
    /// <summary>Exit statuses, as --help prints them and the README lists them.</summary>
    public static readonly IReadOnlyList<(int Code, string Meaning)> ExitCodes =
    [
        (0, "every applicable invariant held (known kernel issues alone included, unless --strict); --replay: the failure did not reproduce"),
        (1, "an invariant failed outside the known kernel issues, or resources leaked, or nothing was judged (every selected invariant skipped or not exercised; --strict: also a known issue or an invariant not exercised; --baseline: also anything regressed against it); --replay: the failure reproduced"),
        (2, "usage or environment error: a bad option, a missing or wrong device, an unwritable path, a corrupt replay file"),
        (3, "a hung driver (an op did not return within --op-timeout), or in the lab VM a kernel WARNING, BUG, Oops or panic"),
        (4, "the lab VM hung or ran out of --vm-timeout"),
        (5, "lab set-up error: QEMU or the kernel could not be fetched or booted, a module would not load"),
    ];

    public static readonly Option<string> Target = new("--target") { HelpName = "T", Description = "model (default) | broken:NAME (a deliberately broken model, see --list-variants) | kernel (this machine's devices) | vm (Debian's kernel under QEMU: vivid, vgem, udmabuf, the system heap; on 6.12 also vkms, vim2m, vicodec, vimc, visl)" };
    public static readonly Option<string[]> Device = new("--device", "-d") { HelpName = "PATH", Description = "certify only this device (repeatable; implies --target kernel unless --target vm): a V4L2 node, a dma-heap or any char device speaking the dma-heap ABI, /dev/udmabuf, a DRM node", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
    public static readonly Option<int> OpTimeout = Ranged("--op-timeout", "S", "on a kernel target, an op taking longer is a hung driver (default 20)", 1, 3600);
    public static readonly Option<string> Profile = new("--profile") { HelpName = "P", Description = "device profile for the model target: vivid-like (default) | legacy-vb2 | vivid-mplane (a three-plane VIDEO_CAPTURE_MPLANE queue) | vim2m-like (a mem2mem node) | vivid-output (a VIDEO_OUTPUT node with write() I/O) | vicodec-encoder-like (a stateful encoder: its drain) | vicodec-decoder-like (a stateful decoder: its source change and its drain)" };
    public static readonly Option<string> Seed = new("--seed") { HelpName = "N|nightly", Description = "master seed (default 1); every failure prints the seed that replays it. nightly: the UTC date as YYYYMMDD (20261204), so each night runs new sequences and any night's run is replayed with its date" };
    public static readonly Option<string> ShardOption = new("--shard") { HelpName = "I/N", Description = "run shard I of N of the run (I from 1): the same seed and options on N boards or LAVA jobs split each device's and property's batches of sequences among them without overlap; --merge joins their results folders into the run's" };
    public static readonly Option<string[]> MergeOption = new("--merge") { HelpName = "DIR", Description = "join the results folders of a sharded run's shards (each written with --shard I/N, the same seed and options) into one run's results in --out: KTAP, JSON, JUnit, the certificate and the counterexamples; a shard missing makes the run incomplete (exit 1)", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
    public static readonly Option<int> Sequences = Ranged("--sequences", "N", "sequences per property (default 3000 on the model, 500 on a kernel target, 20 in the kernel benchmark's default run)", 1, 10_000_000);
    public static readonly Option<int> Time = Ranged("--time", "SECONDS", "the whole run's time budget instead of a sequence count: each device in turn gets what is left over the devices left, and each of its properties likewise; the run ends saying what it could not reach (devices, invariants)", 1, 7 * 86400);
    public static readonly Option<int> MaxLength = Ranged("--max-length", "N", "longest generated sequence (default 60 ops)", 1, 10_000);
    public static readonly Option<string> Area = new("--area") { HelpName = "A[,A]", Description = $"only these areas: {string.Join(", ", SequenceGenerator.AllAreas)}" };
    public static readonly Option<string> Id = new("--id") { HelpName = "ID[,ID]", Description = "only these invariants (e.g. DMABUF-LLSEEK-3; see --list-invariants)" };
    public static readonly Option<string> Property = new("--property") { HelpName = "NAME", Description = "only this property: lockstep | release | aliasing | parallel | kernel-memory (a kernel booted with slub_debug=U: DMABUF-LIFE-4 per sequence, about 2 s each under TCG)" };
    public static readonly Option<bool> JudgeInStep = new("--judge-in-step") { Description = "on a kernel, judge each outcome before the next call (by default the lockstep oracle judges on a thread of its own, up to 8 ops behind the calls: the same verdicts, but a few calls run past a divergence, where this option stops first)" };
    public static readonly Option<bool> SlowOps = new("--slow-ops") { Description = "on a kernel too, generate ops that wait in real time (vgem fence expiry: 10 s each; always on for the model)" };
    public static readonly Option<string> Out = new("--out") { HelpName = "DIR", Description = "where results go (default out/): results.ktap, results.json, junit.xml, report.html (the HTML certificate), result.txt (per invariant for a LAVA test definition), and counterexamples/UNIT/*.replay.json and *.c; checked before the run, replaced as a whole when it ends" };
    public static readonly Option<int> ReproRuns = Ranged("--repro-runs", "N", "re-run each final counterexample N times from a fresh state (default 10)", 0, 10_000);
    public static readonly Option<string> Replay = new("--replay") { HelpName = "FILE", Description = "run a replay file (written beside every failure) again; its target, device, steps and profile come from the file" };
    public static readonly Option<string> EmitC = new("--emit-c") { HelpName = "FILE", Description = "with --replay: write that counterexample's standalone C reproducer and exit" };
    public static readonly Option<int> Sample = Ranged("--sample", "N", "with --target kernel: also write N passing sequences per device with their C programs to OUT/samples/ (the C round trip)", 1, 100_000);
    public static readonly Option<string> CheckKtap = new("--check-ktap") { HelpName = "FILE", Description = "validate a KTAP file against Documentation/dev-tools/ktap.rst and exit" };
    public static readonly Option<string> Expectations = new("--expectations") { HelpName = "FILE", Description = "with a kernel target: a lab's own known kernel issues (the format of spec/known-issues.json), added to the suite's list; a failure they describe is KNOWN (KTAP XFAIL), never a pass" };
    public static readonly Option<string> Baseline = new("--baseline") { HelpName = "FILE", Description = "compare with an earlier run's results.json (last night's, a release's): per device and invariant, new failures, newly known issues, fixed, still failing (the same counterexample or another), newly and no longer exercised, and both sides' kernel and suite versions; printed, and written to OUT/regressions.json; exit 1 when anything regressed (a new failure, a newly known issue, a device missing)" };
    public static readonly Option<bool> KernelCoverage = new("--kernel-coverage") { Description = "with --target vm, or --target kernel as root: trace which functions of the kernel's buffer-sharing code the run enters (the ftrace function tracer: vb2, the dma-buf core, fences and sync_file, heaps, udmabuf, vgem and DRM PRIME; not the drivers' own functions): per group, functions reached of those traceable, printed, in results.json (kernel_coverage) and in OUT/kernel-coverage.json with the list never reached" };
    public static readonly Option<string> CoverageBaseline = new("--coverage-baseline") { HelpName = "FILE", Description = "with --kernel-coverage: an earlier run's kernel-coverage.json: the functions this run reached that it did not, and those it reached that this run did not, per group" };
    public static readonly Option<bool> Strict = new("--strict") { Description = "exit 1 also when an invariant failed only as a known kernel issue, or an applicable invariant was not exercised (for labs and CI)" };
    public static readonly Option<bool> ListVariants = new("--list-variants") { Description = "list the broken model variants and exit" };
    public static readonly Option<bool> ListInvariants = new("--list-invariants") { Description = "list the catalog (or, with --area/--id, those invariants) and exit" };
    public static readonly Option<bool> ListDomains = new("--list-domains") { Description = "list the argument domains the generator draws from (each field's valid and invalid values, weights, source) and exit" };
    public static readonly Option<string> RenderSpec = new("--render-spec") { HelpName = "FILE", Description = "write the catalog as Markdown to FILE and exit" };
    public static readonly Option<bool> Bench = new("--bench") { Description = "run the benchmark (the model; with --target vm the kernel against a raw C loop, then the default run on every device with its system calls timed) and exit" };
    public static readonly Option<bool> Instructions = new("--instructions") { Description = "with --bench: count the user-mode instructions an op costs under valgrind on this machine's kernel (memfd calls, no device): a raw C loop's, the kernel adapter's, op records' and lockstep's; then the lab's heap and video mixes on the model (op records and lockstep: the oracle's part), and generation alone; exact where a time under the lab's TCG is not (needs valgrind and cc)" };
    public static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "print failures and totals only (no per-invariant lines, no progress)" };
    public static readonly Option<bool> Trace = new("--trace", "-T") { Description = "print every op and its outcome as it runs (as v4l2-compliance -T does)" };
    public static readonly Option<bool> Version = new("--version") { Description = "print the suite's version and commit, and exit" };
    public static readonly Option<string> EmitHeaders = new("--emit-headers") { HelpName = "DIR", Description = "write the lab kernel's uapi headers the C reproducers build with (gcc -I DIR; fetched once with the lab kernel, about 220 MB) and exit" };
    // LAVA jobs
    public static readonly Option<string> EmitLavaJob = new("--emit-lava-job") { HelpName = "DIR", Description = "write a LAVA job per shard (DIR/shard-I/job.yaml) that runs this run's devices, seed, budget and selection with the suite's test definition (lava/conformance.yaml), and exit: with --target vm for the lab's machine (device type qemu, with its device dictionary for lava-run), with --target kernel for a lab's board (--lava-device-type, --lava-actions)" };
    public static readonly Option<int> Shards = Ranged("--shards", "N", "with --emit-lava-job: N jobs, shard 1 to N of the run (default 1); --merge joins their results folders", 1, 1024);
    public static readonly Option<string> LavaDeviceType = new("--lava-device-type") { HelpName = "NAME", Description = "with --emit-lava-job: the LAVA device type of the lab's board (qemu for the lab's own machine)" };
    public static readonly Option<string> LavaActions = new("--lava-actions") { HelpName = "FILE", Description = "with --emit-lava-job and a board: the lab's deploy and boot actions for it, a YAML list as under a job's actions: (the suite adds the test action)" };
    public static readonly Option<string> LavaSuite = new("--lava-suite") { HelpName = "PATH", Description = "with --emit-lava-job: where the suite's tree is on the device under test (default /opt/conformance on a board; this tree for the lab's machine, which sees the host's files)" };
    public static readonly Option<string> LavaRepository = new("--lava-repository") { HelpName = "URL", Description = "with --emit-lava-job: the git repository LAVA fetches lava/conformance.yaml from (default this tree, at its commit)" };
    // the lab VM (--target vm)
    public static readonly Option<string> Kernel = new("--kernel") { HelpName = "6.12|6.1", Description = "with --target vm: the lab kernel series, Debian's newest 6.12 (default) or 6.1 LTS" };
    public static readonly Option<string[]> Module = new("--module") { HelpName = "PATH.ko", Description = "with --target vm: insmod this module after vivid and vgem (repeatable); without --device, certify every char device it creates", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
    public static readonly Option<string[]> ModuleArgs = new("--module-args") { HelpName = "ARGS", Description = "with --target vm: parameters for the --module before it, e.g. \"bug=keepowner\"", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
    public static readonly Option<int> VmTimeout = Ranged("--vm-timeout", "S", "with --target vm: stop the guest after this long (default 900)", 10, 86_400);
    public static readonly Option<int> VmMem = Ranged("--vm-mem", "MB", "with --target vm: guest memory (default 4096)", 512, 65_536);

    private static Option<int> Ranged(string name, string helpName, string description, int min, int max)
    {
        var o = new Option<int>(name) { HelpName = helpName, Description = description };
        o.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && int.TryParse(r.Tokens[^1].Value, out var v) && (v < min || v > max))
                r.AddError($"{name} takes a whole number from {min} to {max}, not '{r.Tokens[^1].Value}'");
        });
        return o;
    }

    /// <summary>The lab's options: refused without --target vm, removed from what runs inside the guest.</summary>
    public static readonly IReadOnlyList<Option> LabOptions = [Kernel, Module, ModuleArgs, VmTimeout, VmMem];

    /// <summary>Options that pick a mode: at most one per command line.</summary>
    private static readonly IReadOnlyList<Option> Modes = [CheckKtap, ListVariants, ListInvariants, ListDomains, RenderSpec, Bench, Replay, Version, EmitHeaders, MergeOption, EmitLavaJob];

    /// <summary>The options of --emit-lava-job alone.</summary>
    private static readonly IReadOnlyList<Option> LavaOptions = [Shards, LavaDeviceType, LavaActions, LavaSuite, LavaRepository];

    /// <summary>What a LAVA job's run on the device does not take from the emitting command line: each would be silently
    /// lost, so it is refused beside --emit-lava-job (the reason follows each).</summary>
    private static readonly IReadOnlyList<(Option Option, string Why)> NotInLavaJob =
    [
        (ShardOption, "--shards N writes a job for each shard"),
        (Out, "the jobs go to --emit-lava-job's DIR and each run's results to the test definition's OUT"),
        (Sample, "samples are for the C round trip on this machine"),
        (Baseline, "compare the merged results: ./run-suite.sh --merge DIRS... --baseline FILE"),
        (Expectations, "the run on the device knows the suite's own list; give a lab's own to --merge, which decides KNOWN again"),
        (Trace, "a job's log holds the cases, counterexamples and C reproducers"),
        (Quiet, "the run on the device is quiet already"),
        (Strict, "a job reports each case; the exit status is not a case"),
        (CoverageBaseline, "compare a job's OUT/kernel-coverage.json on this machine: --kernel-coverage goes into the job"),
    ];

    /// <summary>The options a LAVA job passes on to the run on the device (its OPTIONS parameter).</summary>
    private static readonly IReadOnlyList<Option> PassedToLava = [Area, Id, Property, MaxLength, SlowOps, ReproRuns, OpTimeout, KernelCoverage, JudgeInStep];

    /// <summary>What decides the sequences a run generates: a merge takes them from its shards' results, so naming one beside --merge is refused.</summary>
    private static readonly IReadOnlyList<Option> DecidedByShards = [Target, Device, Profile, Seed, Sequences, Time, MaxLength, Area, Id, Property, SlowOps, ShardOption, Sample, ReproRuns, Trace];

    /// <summary>What the recorded replay file decides: naming it beside --replay would be silently ignored, so it is refused.</summary>
    private static readonly IReadOnlyList<Option> DecidedByReplay = [Seed, Sequences, Time, Area, Id, Property, Profile, MaxLength, SlowOps, Sample, ShardOption];

    public static RootCommand Root { get; } = Build();

    private static RootCommand Build()
    {
        var root = new RootCommand("Certifies Linux drivers that share buffers (V4L2 videobuf2, the dma-buf core, dma-heaps, udmabuf, DRM PRIME, " +
            "sync_file and fences) against the documented semantics: random op sequences checked in lockstep with a reference model, " +
            "each failure shrunk to a minimal counterexample with a replay file and a standalone C reproducer.");
        // --version is the suite's own (version and commit); the generated one would print the assembly's alone
        foreach (var v in root.Options.OfType<VersionOption>().ToList()) root.Options.Remove(v);
        // only the POSIX spellings: an option the parser takes is one --help and the README show
        foreach (var h in root.Options.OfType<HelpOption>())
            foreach (var alias in h.Aliases.Where(a => a.StartsWith('/')).ToList()) h.Aliases.Remove(alias);
        foreach (var o in new Option[] { Target, Device, Profile, Seed, Sequences, Time, MaxLength, Area, Id, Property, SlowOps, OpTimeout, JudgeInStep, Out, ReproRuns,
                     ShardOption, MergeOption, Replay, EmitC, Sample, Expectations, Baseline, KernelCoverage, CoverageBaseline, Strict, Quiet, Trace, CheckKtap, ListVariants, ListInvariants, ListDomains, RenderSpec, Bench, Instructions, EmitHeaders, Version,
                     EmitLavaJob, Shards, LavaDeviceType, LavaActions, LavaSuite, LavaRepository,
                     Kernel, Module, ModuleArgs, VmTimeout, VmMem })
            root.Options.Add(o);
        return root;
    }

    /// <summary>The generated help, the exit statuses and where the rest is documented.</summary>
    public static string Help()
    {
        var sw = new StringWriter();
        Root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = sw });
        // the root command is named after the entry assembly (conformance, or testhost under dotnet test): users run the script
        var text = System.Text.RegularExpressions.Regex.Replace(sw.ToString(), @"(?m)^  \S+ \[options\]$", "  ./run-suite.sh [options]");
        var sb = new System.Text.StringBuilder(text.TrimEnd()).AppendLine().AppendLine().AppendLine("Exit status:");
        foreach (var (code, meaning) in ExitCodes) sb.AppendLine($"  {code}  {meaning}");
        sb.AppendLine().AppendLine("README.md explains the verdicts (PASS, FAIL, KNOWN, SKIP, NOT EXERCISED, DEVIATES) and the files a run writes.");
        return sb.ToString();
    }

    /// <summary>Every option name the parser accepts (aliases included), for the test that compares help and README with it.</summary>
    public static IEnumerable<string> OptionNames => Root.Options.SelectMany(o => o.Aliases.Prepend(o.Name)).Distinct();

    /// <summary>
    /// Shell completion (System.CommandLine's [suggest] directive, which dotnet-suggest calls): a command line that starts
    /// with a directive prints the completions and is not run. Null when there is none.
    /// </summary>
    public static int? Directive(string[] args, TextWriter output)
    {
        if (args.Length == 0 || !args[0].StartsWith('[')) return null;
        var r = Root.Parse(args);
        if (r.Action is null || r.Action is HelpAction) return null;
        return r.Invoke(new InvocationConfiguration { Output = output });
    }

    /// <summary>Parses a command line into a <see cref="Program.Cli"/>; one <see cref="Program.UsageException"/> for the first problem.</summary>
    public static Program.Cli Parse(string[] args)
    {
        try { return ParseChecked(args); }
        catch (InvalidOperationException e) { throw new Program.UsageException(Clean(e.Message)); }   // a value System.CommandLine could not give
    }

    private static Program.Cli ParseChecked(string[] args)
    {
        var r = Root.Parse(args);
        if (r.Errors.Count > 0) throw new Program.UsageException(Clean(r.Errors[0].Message));
        bool Has(Option o) => r.GetResult(o) is { Implicit: false };
        if (Has(Root.Options.OfType<HelpOption>().First())) return Empty("--help");

        var modes = Modes.Where(Has).ToList();
        if (modes.Count > 1) throw new Program.UsageException($"{modes[0].Name} and {modes[1].Name} cannot be combined: each is a whole run of its own");
        if (Has(Replay) && DecidedByReplay.FirstOrDefault(Has) is { } decided)
            throw new Program.UsageException($"--replay runs exactly the recorded steps, so {decided.Name} does not apply (the file records it)");
        if (Has(Sequences) && Has(Time)) throw new Program.UsageException("--sequences and --time both set the budget: give one");
        if (Has(Instructions) && !Has(Bench)) throw new Program.UsageException("--instructions is an option of --bench (./run-suite.sh --bench --instructions)");
        if (Has(EmitC) && !Has(Replay)) throw new Program.UsageException("--emit-c needs --replay FILE (the counterexample to write as C)");
        if (Has(MergeOption) && DecidedByShards.FirstOrDefault(Has) is { } fromShards)
            throw new Program.UsageException($"--merge joins the shards' results as they ran, so {fromShards.Name} does not apply (their results.json records it)");

        if (!Has(EmitLavaJob) && LavaOptions.FirstOrDefault(Has) is { } lavaOnly)
            throw new Program.UsageException($"{lavaOnly.Name} is an option of --emit-lava-job DIR");
        if (Has(EmitLavaJob) && NotInLavaJob.FirstOrDefault(x => Has(x.Option)) is { Option: not null } notInJob)
            throw new Program.UsageException($"{notInJob.Option.Name} does not go into a LAVA job: {notInJob.Why}");

        var catalog = Catalog.Load();
        string target = r.GetValue(Target) ?? "model";
        bool targetGiven = Has(Target);
        var devices = r.GetValue(Device) ?? [];
        if (devices.Any(d => d.Trim().Length == 0)) throw new Program.UsageException("--device needs a path, e.g. /dev/video0");
        if (!targetGiven && devices.Length > 0 && !Has(Replay)) target = "kernel";   // --device implies a kernel target
        if (targetGiven && !(target is "model" or "kernel" or "vm" || target.StartsWith("broken:", StringComparison.Ordinal)))
            throw new Program.UsageException($"unknown target '{target}' (targets: model, broken:NAME, kernel, vm)");
        if (target.StartsWith("broken:", StringComparison.Ordinal) && BrokenVariant.Find(target["broken:".Length..]) == null)
            throw new Program.UsageException($"unknown broken variant '{target["broken:".Length..]}' (see --list-variants)");
        if (devices.Length > 0 && target is not ("kernel" or "vm") && !Has(Replay))
            throw new Program.UsageException($"--device names a device of this machine: it needs --target kernel or --target vm, not --target {target}");
        if (Has(Instructions) && (targetGiven || devices.Length > 0))
            throw new Program.UsageException("--bench --instructions counts on this machine's kernel with memfd calls and on the model, no device: it takes no --target or --device (the lab's timed figures: --target vm --bench)");
        if (target != "vm" && LabOptions.FirstOrDefault(Has) is { } lab)
            throw new Program.UsageException($"{lab.Name} is an option of the lab VM: it needs --target vm");
        if (Has(Sample) && target is not ("kernel" or "vm")) throw new Program.UsageException("--sample needs --target kernel (it records what the real devices did)");
        if (Has(JudgeInStep) && target is not ("kernel" or "vm"))
            throw new Program.UsageException("--judge-in-step applies to a kernel target (--target kernel or vm): the model as a target is always judged in step");
        if (Has(Expectations) && !Has(MergeOption) && (target is "model" || target.StartsWith("broken:", StringComparison.Ordinal)))
            throw new Program.UsageException("--expectations lists known kernel issues: it needs --target kernel or --target vm (the model has none)");

        // a broken variant of multi-planar rules is played on the multi-planar profile unless --profile says otherwise
        string profile = r.GetValue(Profile)
            ?? (target.StartsWith("broken:", StringComparison.Ordinal) ? BrokenVariant.Find(target["broken:".Length..])?.Profile : null) ?? "vivid-like";
        if (Has(Profile) && TargetProfile.BuiltIn.All(p => p.Name != profile))
            throw new Program.UsageException($"unknown profile '{profile}' (profiles: {string.Join(", ", TargetProfile.BuiltIn.Select(p => p.Name))})");
        if (Has(Profile) && target is "kernel" or "vm") throw new Program.UsageException("--profile chooses the model's device profile; a kernel target reads its devices' own");

        var o = new RunOptions();
        if (Has(Seed)) o = o with { Seed = SeedFrom(r.GetValue(Seed)!, DateTime.UtcNow) };
        if (Has(ShardOption))
            o = o with { Shard = Shard.Parse(r.GetValue(ShardOption)!, out var shardError) ?? throw new Program.UsageException(shardError!) };
        if (Has(Sequences)) o = o with { Sequences = r.GetValue(Sequences) };
        // a real kernel runs ~50x slower: about a minute per lab boot (the benchmark's default run on every device: a few seconds each)
        else if (target is "kernel" or "vm") o = o with { Sequences = Has(Bench) ? KernelBench.DefaultRunSequences : 500 };
        if (Has(Time)) o = o with { Budget = TimeSpan.FromSeconds(r.GetValue(Time)) };
        if (Has(MaxLength)) o = o with { MaxLength = r.GetValue(MaxLength) };
        if (Has(ReproRuns)) o = o with { ReproRuns = r.GetValue(ReproRuns) };
        if (Has(SlowOps)) o = o with { SlowOps = true };
        if (Has(Area))
        {
            var areas = (r.GetValue(Area) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (areas.Length == 0) throw new Program.UsageException($"--area names no area: a run that selects nothing judges nothing (areas: {string.Join(", ", SequenceGenerator.AllAreas)})");
            foreach (var a in areas)
                if (!SequenceGenerator.AllAreas.Contains(a)) throw new Program.UsageException($"unknown area '{a}' (areas: {string.Join(", ", SequenceGenerator.AllAreas)})");
            o = o with { Areas = areas.Distinct().ToArray() };
        }
        if (Has(Id))
        {
            var ids = (r.GetValue(Id) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (ids.Length == 0) throw new Program.UsageException("--id names no invariant: a run that selects nothing judges nothing (see --list-invariants)");
            foreach (var id in ids) if (!catalog.Contains(id)) throw new Program.UsageException($"unknown invariant ID '{id}' (see --list-invariants)");
            o = o with { Ids = ids.Distinct().ToArray() };
        }
        if (Has(Property))
        {
            var p = r.GetValue(Property)!;
            if (Properties.Properties.All.All(x => x.Name != p)) throw new Program.UsageException($"unknown property '{p}' (properties: {string.Join(", ", Properties.Properties.All.Select(x => x.Name))})");
            o = o with { Property = p };
        }

        var known = KnownIssueList.BuiltIn(catalog);
        if (Has(Expectations))
        {
            try { known = known.With(KnownIssueList.Load(r.GetValue(Expectations)!, catalog)); }
            catch (InvalidDataException e) { throw new Program.UsageException($"--expectations: {e.Message}"); }
        }

        string? baseline = r.GetValue(Baseline);
        if (baseline != null)
        {
            if (Has(Replay)) throw new Program.UsageException("--baseline compares a run's results: it does not go with --replay");
            try { RegressionDiff.Load(baseline).Dispose(); }
            catch (InvalidDataException e) { throw new Program.UsageException($"--baseline: {e.Message}"); }
            baseline = Path.GetFullPath(baseline);
        }

        string? coverageBaseline = r.GetValue(CoverageBaseline);
        if (Has(KernelCoverage) && (target is not ("kernel" or "vm") || Has(Replay) || Has(Sample) || modes.Count > 0 && !Has(EmitLavaJob)))
            throw new Program.UsageException("--kernel-coverage traces the kernel under a run of the suite: it needs --target kernel (as root) or --target vm, and a run (not --replay, --sample or another mode)");
        if (coverageBaseline != null)
        {
            if (!Has(KernelCoverage)) throw new Program.UsageException("--coverage-baseline compares kernel coverage: it needs --kernel-coverage");
            try { KernelCoverageReport.Load(coverageBaseline); }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { throw new Program.UsageException($"--coverage-baseline: {e.Message}"); }
            coverageBaseline = Path.GetFullPath(coverageBaseline);
        }

        var merge = r.GetValue(MergeOption) ?? [];
        if (merge.Any(d => d.Trim().Length == 0)) throw new Program.UsageException("--merge needs the shards' results folders, e.g. --merge out/shard1 out/shard2");
        string? mode = modes.FirstOrDefault() is { } m && m != Replay ? m.Name : null;
        string? modeArg = mode switch { "--check-ktap" => r.GetValue(CheckKtap), "--render-spec" => r.GetValue(RenderSpec), "--emit-headers" => r.GetValue(EmitHeaders), "--emit-lava-job" => r.GetValue(EmitLavaJob), _ => null };
        if (mode is "--check-ktap" or "--render-spec" or "--emit-headers" or "--emit-lava-job" && string.IsNullOrEmpty(modeArg)) throw new Program.UsageException($"{mode} needs a {(mode == "--emit-lava-job" ? "folder" : "file")} name");
        var lava = mode == "--emit-lava-job" ? LavaFrom(r, target, modeArg!, Has) : null;

        return new Program.Cli(target, profile, o, r.GetValue(Out) ?? "out", mode, modeArg)
        {
            Devices = devices, OpTimeout = Has(OpTimeout) ? r.GetValue(OpTimeout) : 20, Replay = r.GetValue(Replay), EmitC = r.GetValue(EmitC),
            Sample = Has(Sample) ? r.GetValue(Sample) : 0, TargetGiven = targetGiven, Known = known, Strict = Has(Strict), Baseline = baseline,
            OutGiven = Has(Out), Quiet = Has(Quiet), Trace = Has(Trace), Merge = merge, SeedNightly = Has(Seed) && r.GetValue(Seed) == "nightly",
            Lab = target == "vm" ? LabFrom(args, r) : null, Lava = lava, KernelCoverage = Has(KernelCoverage), CoverageBaseline = coverageBaseline,
            JudgeInStep = Has(JudgeInStep), Instructions = Has(Instructions),
        };
    }

    /// <summary>--emit-lava-job's settings: the lab's machine (--target vm, device type qemu) or a board (--target kernel,
    /// its device type and deploy/boot actions named), and the selection options passed on to the run on the device.</summary>
    private static LavaJob.Settings LavaFrom(ParseResult r, string target, string dir, Func<Option, bool> has)
    {
        string? deviceType = r.GetValue(LavaDeviceType), actions = r.GetValue(LavaActions);
        if (target == "vm")
        {
            if (actions != null) throw new Program.UsageException("--lava-actions gives a board's deploy and boot; the lab's machine (--target vm) has its own");
            if (deviceType != null && deviceType != "qemu") throw new Program.UsageException($"the lab's machine (--target vm) is LAVA device type qemu, not '{deviceType}'");
            deviceType = "qemu";
        }
        else if (target == "kernel")
        {
            if (deviceType == null || actions == null)
                throw new Program.UsageException($"with --target kernel{(has(Target) ? "" : " (which --device implies)")} the jobs are for a lab's board: give its device type and the lab's deploy and boot actions for it (--lava-device-type NAME --lava-actions FILE), or --target vm for the lab's own QEMU machine");
            if (!System.Text.RegularExpressions.Regex.IsMatch(deviceType, "^[A-Za-z0-9][A-Za-z0-9_.-]*$"))
                throw new Program.UsageException($"--lava-device-type: '{deviceType}' is not a LAVA device type name (letters, digits, '-', '_', '.')");
        }
        else throw new Program.UsageException("--emit-lava-job writes jobs for a device under test: --target vm (the lab's machine) or --target kernel with --lava-device-type and --lava-actions (a board)");
        var passed = new List<string>();
        foreach (var o in PassedToLava.Where(has))
        {
            if (o is Option<bool>) { passed.Add(o.Name); continue; }
            var value = r.GetResult(o)!.Tokens[^1].Value;
            if (value.Any(char.IsWhiteSpace)) throw new Program.UsageException($"{o.Name} '{value}': a LAVA job passes options as words, so a value cannot hold a space");
            passed.AddRange([o.Name, value]);
        }
        return new LavaJob.Settings(dir, has(Shards) ? r.GetValue(Shards) : 1, deviceType!, actions, r.GetValue(LavaSuite), r.GetValue(LavaRepository), passed);
    }

    /// <summary>
    /// --seed's value: a number (decimal, up to 2^64-1), or "nightly": the UTC date as the number YYYYMMDD, so that each
    /// night's run draws new sequences, every shard of one night draws from the same seed (a shard picks batches, not seeds),
    /// and the date alone replays a night.
    /// </summary>
    public static ulong SeedFrom(string value, DateTime utcNow)
    {
        if (value == "nightly") return (ulong)(utcNow.Year * 10000 + utcNow.Month * 100 + utcNow.Day);
        if (ulong.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seed)) return seed;
        throw new Program.UsageException($"--seed takes an unsigned 64-bit number or 'nightly', not '{value}'");
    }

    private static Program.Cli Empty(string mode) => new("model", "vivid-like", new RunOptions(), "out", mode, null);

    /// <summary>The lab's options in order: each --module-args belongs to the --module before it.</summary>
    private static LabOptions LabFrom(string[] args, ParseResult r)
    {
        var modules = new List<(string Path, string? Args)>();
        foreach (var (name, value) in Occurrences(args, Module, ModuleArgs))
        {
            if (name == Module.Name) { modules.Add((value, null)); continue; }
            if (modules.Count == 0) throw new Program.UsageException("--module-args gives the parameters of the --module before it, and there is none");
            if (modules[^1].Args != null) throw new Program.UsageException($"--module {modules[^1].Path} has two --module-args: give its parameters in one (\"a=1 b=2\")");
            modules[^1] = (modules[^1].Path, value);
        }
        foreach (var (path, _) in modules)
        {
            if (!path.EndsWith(".ko", StringComparison.Ordinal)) throw new Program.UsageException($"--module {path}: not a kernel module (a .ko file)");
            if (!File.Exists(path)) throw new Program.UsageException($"--module {path}: no such file (build it against the lab headers: lab/vm.sh headers DIR)");
        }
        string kernel = r.GetValue(Kernel) ?? "6.12";
        if (kernel is not ("6.12" or "6.1")) throw new Program.UsageException($"--kernel must be 6.12 or 6.1 (the lab's kernel series), not '{kernel}'");
        return new LabOptions(kernel, modules, r.GetResult(VmTimeout) is { Implicit: false } ? r.GetValue(VmTimeout) : null,
            r.GetResult(VmMem) is { Implicit: false } ? r.GetValue(VmMem) : null, r.GetResult(Kernel) is { Implicit: false });
    }

    /// <summary>The values of the named options in command-line order (--name VALUE or --name=VALUE).</summary>
    private static IEnumerable<(string Name, string Value)> Occurrences(string[] args, params Option[] options)
    {
        for (int i = 0; i < args.Length; i++)
        {
            var hit = Match(args, i);
            if (hit is not { } h) continue;
            yield return (h.Name, h.Value);
            if (h.TookNext) i++;
        }

        (string Name, string Value, bool TookNext)? Match(string[] a, int i)
        {
            foreach (var o in options)
                foreach (var alias in o.Aliases.Prepend(o.Name))
                {
                    if (a[i] == alias && i + 1 < a.Length) return (o.Name, a[i + 1], true);
                    if (a[i].StartsWith(alias + "=", StringComparison.Ordinal)) return (o.Name, a[i][(alias.Length + 1)..], false);
                }
            return null;
        }
    }

    /// <summary>The arguments without the given options (and their values): what runs inside the lab VM.</summary>
    public static List<string> Without(string[] args, IEnumerable<Option> drop)
    {
        var names = drop.SelectMany(o => o.Aliases.Prepend(o.Name)).ToHashSet(StringComparer.Ordinal);
        var kept = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (names.Contains(a)) { i++; continue; }
            if (a.Contains('=') && names.Contains(a[..a.IndexOf('=')])) continue;
            kept.Add(a);
        }
        return kept;
    }

    /// <summary>System.CommandLine's messages, as one line in the suite's words.</summary>
    private static string Clean(string message)
    {
        message = message.Replace("\n", " ").Trim();
        var m = System.Text.RegularExpressions.Regex.Match(message, @"^Unrecognized command or argument '(.*)'\.?$");
        if (m.Success) return $"unknown option '{m.Groups[1].Value}' (./run-suite.sh --help lists the options)";
        m = System.Text.RegularExpressions.Regex.Match(message, @"^Option '(.*)' expects a single argument but \d+ were provided\.?$");
        if (m.Success) return $"{m.Groups[1].Value} is given more than once: give it once";
        m = System.Text.RegularExpressions.Regex.Match(message, @"^Cannot parse argument '(.*)' for option '(.*)' as expected type '(.*)'\.?$");
        if (m.Success) return $"{m.Groups[2].Value} takes {TypeWords(m.Groups[3].Value)}, not '{m.Groups[1].Value}'";
        m = System.Text.RegularExpressions.Regex.Match(message, @"^Required argument missing for option: '(.*)'\.?$");
        if (m.Success) return $"{m.Groups[1].Value} needs a value";
        return message;

        static string TypeWords(string type) => type switch
        {
            "System.UInt64" => "an unsigned 64-bit number", "System.Int32" => "a whole number", _ => $"a value of type {type}",
        };
    }
}

/// <summary>The lab VM's options (--target vm): the kernel series, modules in load order with their parameters, limits.</summary>
public sealed record LabOptions(string Kernel, IReadOnlyList<(string Path, string? Args)> Modules, int? VmTimeout, int? VmMem, bool KernelGiven)
{
    /// <summary>The options as run-suite.sh takes them, shell-quoted: what boots the same lab again (for printed replay commands).</summary>
    public string Spelled()
    {
        var parts = new List<string>();
        parts.AddRange(["--kernel", Kernel]);   // always: the default series may change, a replay must not
        foreach (var (path, args) in Modules)
        {
            parts.AddRange(["--module", path]);
            if (args != null) parts.AddRange(["--module-args", args]);
        }
        if (VmMem is { } mem) parts.AddRange(["--vm-mem", mem.ToString()]);
        if (VmTimeout is { } t) parts.AddRange(["--vm-timeout", t.ToString()]);
        return string.Join(" ", parts.Select(Shell.Quote));
    }
}
