using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Conformance.Adapters;
using Conformance.Adapters.Kernel;
using Conformance.Generators;
using Conformance.Properties;

namespace Conformance.Runner;

/// <summary>
/// <c>--bench --instructions</c>: the user-mode instructions an op costs, counted by valgrind (cachegrind without its cache
/// simulation) on this machine's kernel, with memfd calls that need no device, four ways: runner/bench/memfd-loop.c, the
/// kernel adapter called directly, op records run on it (<see cref="Op.Run"/> and the resets between sequences: what the
/// calling thread does when lockstep judges behind the calls, less the hand-over to the oracle's thread), and lockstep judged
/// in step (op records and the oracle on one thread). Then the lab benchmark's two mixes (<see cref="KernelBench"/>: the
/// heap's, the video node's) on the reference model as the target, which needs no device either: op records alone, and
/// lockstep in step; the difference is what the oracle costs a step of the mixes the lab times. Last, generation alone on
/// the model's profile, as <c>--bench</c> times it (its goal, 3 M ops/s, is a rate; the count tells a change to its path
/// from the drift a timed rate has on a shared machine).
/// </summary>
/// <remarks>Under the lab's TCG what the suite spends beside the kernel's own work is its user-mode instructions, and a
/// count is exact where a time measured under TCG varies by a third from one round to the next: the count tells a change to
/// the per-op path from noise, on any machine. Each figure is the difference between a run of <see cref="Short"/> and one of
/// <see cref="Long"/> sequences, so start-up (the runtime's, the JIT's) drops out; generation's is counted in a window of
/// one run, after a warm-up (<see cref="WindowPerOp"/>). The C# runs have the runtime's tiered
/// compilation off, so every method runs fully optimized from its first call and the count does not depend on when the
/// runtime got round to optimizing it (under valgrind that needs the JIT's optional 32-bit relocations off as well: see
/// <see cref="PerOp"/>); the lab's runs also have profile-guided code, so the count is a fixed measure of the path, not the
/// lab's exact figure.</remarks>
public static class InstructionBench
{
    /// <summary>Set by the parent in the environment of a counted run of its own binary: "MODE:SEQUENCES".</summary>
    public const string ChildVariable = "CONFORMANCE_INSTRUCTIONS_RUN";
    /// <summary>Set by the parent for a run counted in a window (<see cref="WindowPerOp"/>): the path of the library built
    /// from runner/bench/count-window.c.</summary>
    public const string WindowVariable = "CONFORMANCE_COUNT_WINDOW";
    private const int Short = 500, Long = 1500, RoundsASequence = 50, OpsARound = 4;

    /// <summary>The four figures, printed with their ratios to the C loop's. Exit 0; a missing valgrind or C compiler, or a
    /// counted run that fails, is an environment error (<see cref="Program.UsageException"/>, exit 2).</summary>
    public static int Run(TextWriter output)
    {
        string valgrind = OnPath("valgrind") ?? throw new Program.UsageException("--bench --instructions counts under valgrind, which is not on PATH (Debian: apt-get install valgrind)");
        string cc = OnPath("cc") ?? OnPath("gcc") ?? throw new Program.UsageException("--bench --instructions builds runner/bench/memfd-loop.c: no C compiler (cc) on PATH");
        string root = Environment.GetEnvironmentVariable("CONFORMANCE_ROOT") is { Length: > 0 } r ? r
            : throw new Program.UsageException("--bench --instructions is run through ./run-suite.sh (CONFORMANCE_ROOT names the suite's tree)");
        var dir = Directory.CreateTempSubdirectory("conformance-instructions-");
        try
        {
            string loop = Path.Combine(dir.FullName, "memfd-loop");
            var (rc, err) = Exec(cc, ["-O2", "-Wall", "-o", loop, Path.Combine(root, "runner", "bench", "memfd-loop.c")], null);
            if (rc != 0) throw new Program.UsageException($"cc could not build runner/bench/memfd-loop.c: {LastLine(err)}");
            output.WriteLine($"# user-mode instructions an op, counted by valgrind's cachegrind on this machine's kernel ({KernelRelease()}): " +
                $"the memfd mix (dup, F_GETFD, F_GETFL, close of a memfd's dup; {RoundsASequence} rounds a sequence), each figure the difference " +
                $"between {Short:N0} and {Long:N0} sequences; tiered compilation off in the C# runs (each method fully optimized from its first call)");
            double raw = PerOp(valgrind, dir.FullName, "raw", [loop], null);
            output.WriteLine($"  raw C loop               {raw,8:N0} instructions an op   (runner/bench/memfd-loop.c)");
            var self = SelfCommand();
            foreach (var (mode, label, what) in new[]
            {
                ("adapter", "kernel adapter", "called directly"),
                ("records", "op records", "op.Run on the kernel target, and its resets: the calling thread's part when lockstep judges behind the calls, less the hand-over"),
                ("lockstep", "lockstep, in step", "op records and the oracle on one thread"),
            })
            {
                double n = PerOp(valgrind, dir.FullName, mode, self, mode, Short, Long, RoundsASequence * OpsARound);
                output.WriteLine($"  {label,-24} {n,8:N0} instructions an op   {n / raw,5:F1}x the raw loop's ({what})");
            }
            output.WriteLine($"# the lab benchmark's mixes on the reference model as the target ({ModelProfile.Name} profile; no device): op records " +
                $"alone, and lockstep in step, whose difference is the oracle's part; each figure the difference between {ModelShort:N0} and {ModelLong:N0} sequences");
            foreach (var mix in new[] { "heap", "video" })
            {
                int ops = MixOps(mix);
                double records = PerOp(valgrind, dir.FullName, $"{mix}-records", self, $"{mix}-records", ModelShort, ModelLong, ops);
                double lockstep = PerOp(valgrind, dir.FullName, $"{mix}-lockstep", self, $"{mix}-lockstep", ModelShort, ModelLong, ops);
                output.WriteLine($"  {mix + " mix, op records",-24} {records,8:N0} instructions an op   (op.Run on the model, and its resets)");
                output.WriteLine($"  {mix + " mix, lockstep",-24} {lockstep,8:N0} instructions an op   (the oracle's part: {lockstep - records:N0})");
            }
            string marks = Path.Combine(dir.FullName, "libcount-window.so");
            (rc, err) = Exec(cc, ["-O2", "-Wall", "-shared", "-fPIC", "-o", marks, Path.Combine(root, "runner", "bench", "count-window.c")], null);
            if (rc != 0) throw new Program.UsageException($"cc could not build runner/bench/count-window.c (valgrind's header valgrind/callgrind.h?): {LastLine(err)}");
            long genOps = GeneratedOps(GenerationCounted);
            double gen = WindowPerOp(valgrind, dir.FullName, "generation", self, marks, GenerationCounted, genOps);
            output.WriteLine($"# generation alone ({ModelProfile.Name} profile, sequences of {GenerationLength} ops as --bench draws them): " +
                $"{GenerationCounted:N0} sequences ({genOps:N0} ops) counted by callgrind, after {GenerationWarm:N0} uncounted that warm the generator as --bench does");
            output.WriteLine($"  {"generation",-24} {gen,8:N0} instructions an op");
            return 0;
        }
        finally { dir.Delete(recursive: true); }
    }

    /// <summary>The model's mixes are counted over fewer sequences (each has 200–300 ops, and the model's steps cost more).</summary>
    private const int ModelShort = 100, ModelLong = 300;
    /// <summary>The profile the model's mixes run on: one with a heap and a single-planar capture node.</summary>
    private static readonly TargetProfile ModelProfile = TargetProfile.VividLike;

    /// <summary>Generation is counted over <see cref="GenerationCounted"/> sequences of <see cref="GenerationLength"/> ops
    /// (some 89,000 ops), from the seeds <see cref="GenerationSeed"/> gives, as <c>--bench</c> times it: after
    /// <see cref="GenerationWarm"/> sequences of other seeds, uncounted, warm the generator (<c>--bench</c> times it after a
    /// second or more, some 30,000 sequences here; in 20,000 the V4L2 queue's rules meet some 2,700 state classes, whose
    /// tables a fresh generator makes as it goes).</summary>
    private const int GenerationCounted = 1500, GenerationWarm = 20_000, GenerationLength = 60;
    private static ulong GenerationSeed(int i) => (ulong)i * 7919 + 1;

    /// <summary>The ops in the first <paramref name="sequences"/> sequences the generation way generates (the same generator,
    /// the same seeds: generation is deterministic).</summary>
    private static long GeneratedOps(int sequences)
    {
        var gen = new SequenceGenerator(ModelProfile);
        long ops = 0;
        for (int i = 0; i < sequences; i++) ops += gen.Generate(GenerationSeed(i), GenerationLength).Ops.Length;
        return ops;
    }

    /// <summary>A model mix's sequence (<see cref="KernelBench.HeapSequence"/>, <see cref="KernelBench.VideoSequence"/>).</summary>
    private static OpSequence MixSequence(string mix) =>
        mix == "heap" ? KernelBench.HeapSequence(ModelProfile.Heaps[0].Device) : KernelBench.VideoSequence(ModelProfile.Video[0]);

    /// <summary>The ops of a mix's sequence that a figure is an op of: its rounds (not its set-up, closing ops or probe).</summary>
    private static int MixOps(string mix) => KernelBench.MixesPerSequence * (mix == "heap" ? KernelBench.HeapMixOps : KernelBench.VideoMixOps);

    /// <summary>One way's instructions an op: counted runs of <paramref name="shortRun"/> and <paramref name="longRun"/>
    /// sequences of <paramref name="opsASequence"/> ops each (or, where their ops vary, <paramref name="opsBetween"/> ops
    /// between the two runs), their difference over the ops between them.</summary>
    private static double PerOp(string valgrind, string dir, string name, string[] command, string? mode, int shortRun = Short, int longRun = Long,
        int opsASequence = RoundsASequence * OpsARound, long opsBetween = 0)
    {
        long Count(int sequences)
        {
            string file = Path.Combine(dir, $"{name}-{sequences}.out");
            var args = new List<string> { "--tool=cachegrind", "--cache-sim=no", "-q", $"--cachegrind-out-file={file}" };
            args.AddRange(command);
            if (mode == null) args.Add(sequences.ToString(CultureInfo.InvariantCulture));
            var env = mode == null ? null : ChildEnvironment($"{mode}:{sequences}");
            var (rc, err) = Exec(valgrind, args, env);
            if (rc != 0) throw new Program.UsageException($"valgrind's count of the {name} run failed (exit {rc}): {LastLine(err)}");
            return Summary(file) ?? throw new Program.UsageException($"valgrind's count of the {name} run has no summary line ({file})");
        }
        long a = Count(shortRun), b = Count(longRun);
        return (double)(b - a) / (opsBetween > 0 ? opsBetween : (long)(longRun - shortRun) * opsASequence);
    }

    /// <summary>
    /// A way's instructions an op counted in a window of one run (<see cref="WindowVariable"/>): the run, under callgrind with
    /// its instrumentation off, warms what it must and counts only <paramref name="sequences"/> sequences, whose
    /// <paramref name="ops"/> ops the figure is of. For generation, whose generator keeps rule tables by state class: the
    /// difference of two runs from a fresh generator counted the first tables made, and a warm-up counted whole in both
    /// runs moved the difference by a hundred instructions an op from one count to the next.
    /// </summary>
    private static double WindowPerOp(string valgrind, string dir, string name, string[] command, string marks, int sequences, long ops)
    {
        double Count(int run)
        {
            string file = Path.Combine(dir, $"{name}-window-{run}.out");
            var args = new List<string> { "--tool=callgrind", "-q", "--instr-atstart=no", $"--callgrind-out-file={file}" };
            args.AddRange(command);
            var env = ChildEnvironment($"{name}:{sequences}");
            env[WindowVariable] = marks;
            var (rc, err) = Exec(valgrind, args, env);
            if (rc != 0) throw new Program.UsageException($"valgrind's count of the {name} run failed (exit {rc}): {LastLine(err)}");
            // (the window's counters: the dump its end asked for, the file's part 1)
            string window = file + ".1";
            return (File.Exists(window) ? Summary(window) : null) / (double)ops
                ?? throw new Program.UsageException($"valgrind's count of the {name} run has no window ({window}: no summary line)");
        }
        // (the median of WindowRuns: now and then a window holds a collection more or fewer than the others, 20 to 70
        // instructions an op; the rest agree within a few)
        var counts = Enumerable.Range(0, WindowRuns).Select(Count).Order().ToArray();
        return counts[WindowRuns / 2];
    }

    /// <summary>How many times a window is counted (<see cref="WindowPerOp"/>): its figure is their median.</summary>
    private const int WindowRuns = 3;

    /// <summary>The instructions a cachegrind or callgrind file counts (its <c>summary:</c> line), or null where it has none.</summary>
    private static long? Summary(string file)
    {
        foreach (var line in File.ReadLines(file))
            if (line.StartsWith("summary:", StringComparison.Ordinal)) return long.Parse(line["summary:".Length..].Trim(), CultureInfo.InvariantCulture);
        return null;
    }

    /// <summary>The environment of a counted run of this runner: the way and sequences (<paramref name="spec"/>, as
    /// <see cref="Child"/> reads it), and the runtime set as the counts have it (see <see cref="PerOp"/>).</summary>
    private static Dictionary<string, string> ChildEnvironment(string spec) => new()
    {
        [ChildVariable] = spec,
        ["DOTNET_TieredCompilation"] = "0",
        // the runtime's double mapping of JIT code (W^X) is what valgrind cannot follow
        ["DOTNET_EnableWriteXorExecute"] = "0",
        // under valgrind a method compiled with calls in it was rejected and compiled again with minimal optimization
        // (MinOpts: most of the path; apparently valgrind places the code heap beyond a 32-bit call's reach of what
        // the code calls). Without the optional 32-bit relocations every method is compiled fully optimized once
        ["DOTNET_JitEnableOptionalRelocs"] = "0",
        // and the suite's own code compiled by the JIT, as the counts have always been, where run-suite.sh published it
        // compiled ahead of time: with tiered compilation off, that code would be run as it is (generation 5,935
        // instructions an op against 3,900), and the counts would measure the publishing, not the path
        ["DOTNET_ReadyToRunExcludeList"] = AppAssemblies,
        // and glibc's memset on its vector path: from 2 KB up it takes `rep stosb` (ERMS), which valgrind counts a byte at a
        // time, and the runtime clears what it hands out for allocation with memset, some 8 KB at a call. Generation's count
        // held some 210 such "instructions" an op, for work a processor does at tens of bytes a cycle; on the vector path the
        // same clearing counts one instruction for every 32 bytes or so (BENCHMARKS.md, "a second vCPU")
        ["GLIBC_TUNABLES"] = "glibc.cpu.x86_rep_stosb_threshold=0x10000000",
    };

    /// <summary>A counted run of this runner (<see cref="ChildVariable"/> set): the way named, for the sequences given. Exit 0;
    /// 1 if lockstep finds a divergence (the host's kernel and the model disagree on a memfd call: no figure then).</summary>
    public static int Child(string spec, TextWriter output)
    {
        var parts = spec.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out int sequences) || sequences < 1)
            throw new Program.UsageException($"{ChildVariable} must be MODE:SEQUENCES, not '{spec}'");
        if (parts[0].Split('-') is [("heap" or "video") and var mix, ("records" or "lockstep") and var way])
            return ModelChild(mix, way, sequences, output);
        if (parts[0] == "generation")
        {
            // one generator, warmed as --bench warms it before it times (its rule tables made for the states a long run
            // meets, every method it takes compiled), then the counted window
            // (without the window's library the run marks nothing, and the parent, which reads the window's dump, finds none)
            using var window = Environment.GetEnvironmentVariable(WindowVariable) is { Length: > 0 } marks ? CountWindow.Open(marks) : null;
            var gen = new SequenceGenerator(ModelProfile);
            for (int i = 0; i < GenerationWarm; i++) gen.Generate(GenerationSeed(GenerationCounted + i), GenerationLength);
            window?.Start();
            for (int i = 0; i < sequences; i++) gen.Generate(GenerationSeed(i), GenerationLength);
            window?.Stop();
            return 0;
        }
        var profile = TargetProfile.VividLike with { Name = "host-memfd", Video = [], Heaps = [], UdmabufDevice = null, Drm = [], Hugetlb = null };
        using var t = new KernelTarget(profile, new Dictionary<string, string>());
        var seq = MemfdSequence();
        switch (parts[0])
        {
            case "adapter":
                for (int s = 0; s < sequences; s++)
                {
                    int m = Made(t.MemfdCreate(4096, allowSealing: false, seals: 0));
                    for (int i = 0; i < RoundsASequence; i++)
                    {
                        int d = Made(t.Dup(m));
                        t.FcntlGetFd(d);
                        t.FcntlGetFl(d);
                        t.Close(d);
                    }
                    t.Close(m);
                }
                return 0;
            case "records": RunRecords(t, seq, sequences); return 0;
            case "lockstep": return RunLockstep(t, seq, sequences, null, output);
            case "behind": return RunLockstep(t, seq, sequences, null, output, behind: true);
            default: throw new Program.UsageException($"{ChildVariable}: unknown way '{parts[0]}' (adapter, records, lockstep, behind, heap-records, heap-lockstep, video-records, video-lockstep, generation)");
        }

        static int Made(Outcome o) => o.Ok ? o.Handle : throw new InvalidOperationException($"a memfd call failed: {o.Errno}");
    }

    /// <summary>A counted run of a lab mix on the reference model as the target: op records alone (with the resets between
    /// sequences), or lockstep in step. Exit 0; 1 if lockstep finds a divergence (the model disagrees with itself: no figure).</summary>
    private static int ModelChild(string mix, string way, int sequences, TextWriter output)
    {
        var model = new Conformance.Adapters.Model.ReferenceModel(ModelProfile);
        var seq = MixSequence(mix);
        if (way == "records") { RunRecords(model, seq, sequences); return 0; }
        return RunLockstep(model, seq, sequences, new Exercise(), output);
    }

    /// <summary>Op records alone: the sequence with its closing ops and idle probe run on <paramref name="t"/>, with the
    /// resets around each run, <paramref name="sequences"/> times.</summary>
    private static void RunRecords(IBufferTarget t, OpSequence seq, int sequences)
    {
        var ops = LockstepProperty.WithIdleProbe(seq, t.Profile).Ops;
        var env = new Env();
        for (int s = 0; s < sequences; s++)
        {
            t.Reset();
            env.Clear();
            foreach (var op in ops) op.Run(t, env);
            t.Reset();
        }
    }

    /// <summary>Lockstep judged in step (behind the calls, on a thread of its own, where <paramref name="behind"/>), <paramref name="sequences"/> times (counting what it checked where
    /// <paramref name="exercise"/> is given). Exit 0; 1, with the divergence printed, where lockstep finds one (no figure then).</summary>
    private static int RunLockstep(IBufferTarget t, OpSequence seq, int sequences, Exercise? exercise, TextWriter output, bool behind = false)
    {
        var p = new LockstepProperty { JudgeBehind = behind };
        for (int s = 0; s < sequences; s++)
            if (p.Check(seq, t, exercise) is { } f)
            {
                output.WriteLine($"lockstep diverged at step {f.StepIndex + 1}: {f.Actual} (expected {f.Expected})");
                return 1;
            }
        return 0;
    }

    /// <summary>The mix as op records: a memfd, <see cref="RoundsASequence"/> rounds of dup, F_GETFD, F_GETFL and close of
    /// the dup, and the memfd's close.</summary>
    private static OpSequence MemfdSequence()
    {
        var ops = ImmutableArray.CreateBuilder<Op>();
        int id = 1;
        ops.Add(new MemfdCreate(4096, false, 0) { Id = id++ });
        var m = new Var(1);
        for (int i = 0; i < RoundsASequence; i++)
        {
            var d = new Var(id);
            ops.Add(new Dup(m) { Id = id++ });
            ops.Add(new FcntlGetFd(d) { Id = id++ });
            ops.Add(new FcntlGetFl(d) { Id = id++ });
            ops.Add(new Close(d) { Id = id++ });
        }
        ops.Add(new Close(m) { Id = id++ });
        return new OpSequence(0, ops.ToImmutable());
    }

    /// <summary>The assemblies beside the runner's (the suite's and its packages'; the framework's are elsewhere), by name, for
    /// the runtime's list of assemblies whose ahead-of-time code it must not use.</summary>
    private static string AppAssemblies => string.Join(";", Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll")
        .Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal));

    /// <summary>This runner as a command: the dotnet host and the runner's assembly, or the runner's own executable.</summary>
    private static string[] SelfCommand()
    {
        string host = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, typeof(InstructionBench).Assembly.Location] : [host];
    }

    /// <summary>A program run to its end (<see cref="KernelBench.Exec"/>): its exit status, and what it said on stderr (or, where
    /// that is empty, on stdout) for the one line a failure prints.</summary>
    private static (int Exit, string Said) Exec(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env)
    {
        var (rc, stdout, stderr) = KernelBench.Exec(file, args, env);
        return (rc, stderr.Length > 0 ? stderr : stdout);
    }

    /// <summary>The running kernel's release, as uname -r prints it.</summary>
    private static string KernelRelease()
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { return Environment.OSVersion.Version.ToString(); }
        catch (UnauthorizedAccessException) { return Environment.OSVersion.Version.ToString(); }
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } lines ? lines[^1] : "(no output)";

    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>The counted window's two calls (runner/bench/count-window.c), loaded from the library the parent built: under
    /// callgrind, started with its instrumentation off, <see cref="Start"/> counts from zero and <see cref="Stop"/> dumps the
    /// counts; anywhere else they do nothing.</summary>
    private sealed unsafe class CountWindow : IDisposable
    {
        private readonly nint _lib;
        private readonly delegate* unmanaged<void> _start, _stop;

        private CountWindow(nint lib, nint start, nint stop)
        {
            _lib = lib;
            _start = (delegate* unmanaged<void>)start;
            _stop = (delegate* unmanaged<void>)stop;
        }

        /// <summary>The library at <paramref name="path"/>; a usage error where it cannot be loaded or lacks the two calls
        /// (the library freed again).</summary>
        public static CountWindow Open(string path)
        {
            nint lib = 0;
            try
            {
                lib = NativeLibrary.Load(path);
                return new CountWindow(lib, NativeLibrary.GetExport(lib, "count_window_start"), NativeLibrary.GetExport(lib, "count_window_stop"));
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException)
            {
                if (lib != 0) NativeLibrary.Free(lib);
                throw new Program.UsageException($"{WindowVariable}: cannot load the counted window's library {path}: {e.Message}");
            }
        }

        public void Start() => _start();
        public void Stop() => _stop();
        public void Dispose() => NativeLibrary.Free(_lib);
    }
}
