using System.Collections.Immutable;
using System.Diagnostics;
using Conformance.Adapters;
using Conformance.Adapters.Interop;
using Conformance.Adapters.Kernel;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Spec;
using static Conformance.Adapters.Uapi;

namespace Conformance.Runner;

/// <summary>
/// --target kernel --bench (run by ./run-suite.sh --target vm --bench): the kernel target's throughput
/// against runner/bench/raw-loop.c issuing the same syscalls in the same VM, as ratios. Two C# paths
/// are timed: the adapter called directly (the interop overhead), and op records run through the
/// lockstep property with the reference model as oracle (everything the suite does per op).
/// </summary>
public static class KernelBench
{
    private const int Rounds = 20000;
    internal const int MixesPerSequence = 50;
    /// <summary>The ops of one round of each mix (<see cref="HeapSequence"/>, <see cref="VideoSequence"/>).</summary>
    internal const int HeapMixOps = 6, VideoMixOps = 4;
    /// <summary>The rounds in which the raw loop cut into sequences and lockstep's two passes run side by side, each a third
    /// of <see cref="Rounds"/>: nine short rounds rather than three long ones, so that the median ratio stands on more pairs
    /// (a round's ratio moved between 1.2x and 4.3x in one run as this host's speed drifted) for the same time.</summary>
    private const int PairedRounds = 9;
    private const int RoundMixes = Rounds / 3 / MixesPerSequence * MixesPerSequence;
    /// <summary>The turns of a round (<see cref="Lockstep"/>): in each, the raw sequences, lockstep's pass and in step's, a few
    /// milliseconds each (8 sequences of 300 ops on the heap mix), so the host's drift between them is small.</summary>
    private const int Turns = 16;

    public static int Run(Program.Cli cli, TextWriter output)
    {
        var found = Discovery.Discover(cli.Devices);
        var heap = found.Units.FirstOrDefault(u => u.Profile.Heaps.Count > 0 && u.Profile.Video.Count == 0);
        var video = found.Units.FirstOrDefault(u => u.Profile.Video.Count > 0 && u.Profile.Video[0].Has(V4L2_BUF_CAP_SUPPORTS_MMAP));
        if (heap == null && video == null) throw new Program.UsageException("the benchmark needs a dma-heap or a V4L2 node with MMAP (use ./run-suite.sh --target vm --bench)");
        var raw = Environment.GetEnvironmentVariable("CONFORMANCE_RAW_LOOP");
        if (string.IsNullOrEmpty(raw) || !File.Exists(raw)) throw new Program.UsageException("CONFORMANCE_RAW_LOOP does not name the built raw C loop (./run-suite.sh --target vm --bench builds it)");
        // the program, best of 3: the loop on one file set up once, and cut into sequences (which lockstep's rounds run by turns
        // with its passes, the program serving them: Lockstep)
        var rawRates = RawLoop(raw, heap?.Path ?? "-", video?.Path ?? "-");
        for (int i = 0; i < 2; i++)
            foreach (var (k, v) in RawLoop(raw, heap?.Path ?? "-", video?.Path ?? "-")) rawRates[k] = Math.Max(rawRates[k], v);
        output.WriteLine($"# kernel benchmark on {found.Kernel}: {Rounds} rounds of each op mix; best of 3 runs each; ratio = raw C ops/s / C# ops/s (goal <= 1.3); lockstep against the raw loop cut into sequences in {PairedRounds} rounds, each of {Turns} turns of the raw sequences (the program serving them), lockstep's and in step's passes, the ratio the median round's");
        // (the lab's guest raises glibc's rep stosb threshold: under TCG that instruction runs a byte at a time, and the runtime
        // zeroes what it allocates with memset; BENCHMARKS.md, "a second vCPU")
        output.WriteLine($"# GLIBC_TUNABLES: {Environment.GetEnvironmentVariable("GLIBC_TUNABLES") switch { null => "not set", "" => "set, empty", var t => t }}");
        double overhead = SyscallClock.Calibrate();
        output.WriteLine($"# system calls timed as made (SyscallClock): the clock adds {overhead * 1e6:F2} us to each, subtracted from the timed calls' figures below");
        if (heap != null)
        {
            using var t = new KernelTarget(heap.Profile, heap.Paths);
            using var served = new RawServer(raw, heap.Path, "-");
            string dev = heap.Profile.Heaps[0].Device;
            var (adapter, adapterWarmUp) = Time(HeapMixOps, n => HeapMix(t, dev, n));
            var (lockstep, inStep, split, calls, fresh, rounds, waited, warmUp) = Lockstep(t, HeapSequence(dev), HeapMixOps, n => served.Seconds("heap", n));
            Report(output, "heap mix  (DMA_HEAP_IOCTL_ALLOC, SYNC start, SYNC end, lseek, F_GETFD, close)", rawRates["heap"], fresh, rawRates["heap-seq"], adapter, lockstep, inStep, split, calls, rounds, waited, adapterWarmUp, warmUp);
            SecondProcess(output, t, dev);
            Generated(output, t, "heap");
        }
        if (video != null)
        {
            using var t = new KernelTarget(video.Profile, video.Paths);
            using var served = new RawServer(raw, "-", video.Path);
            var node = video.Profile.Video[0];
            var (adapter, adapterWarmUp) = Time(VideoMixOps, n => VideoMix(t, node, n));
            var (lockstep, inStep, split, calls, fresh, rounds, waited, warmUp) = Lockstep(t, VideoSequence(node), VideoMixOps, n => served.Seconds("video", n));
            Report(output, "video mix (QUERYBUF, EXPBUF, F_GETFD, close)", rawRates["video"], fresh, rawRates["video-seq"], adapter, lockstep, inStep, split, calls, rounds, waited, adapterWarmUp, warmUp);
            Generated(output, t, "video");
        }
        DefaultRun(cli, output);
        return 0;
    }

    /// <summary>Sequences a property in the benchmark's default run on every device (<see cref="DefaultRun"/>), unless
    /// --sequences says otherwise.</summary>
    public const int DefaultRunSequences = 20;

    /// <summary>
    /// The default kernel run on every device the lab has (every property, shrinking: the run <c>--target vm</c> makes, with
    /// <see cref="DefaultRunSequences"/> sequences a property; the benchmark's VM boots without slub_debug, so without the
    /// kernel-memory check), its system calls timed as made (<see cref="SyscallClock"/>, as in every kernel run): each
    /// device's ops per second, and its time against its calls' (a raw C program making the same calls would take the
    /// calls' time). The run's own output goes to bench-default-run.log in the output folder; its results to the folder as a
    /// run's would.
    /// </summary>
    private static void DefaultRun(Program.Cli cli, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"# the default run on every device ({cli.Options.Sequences} sequences a property; this VM tracks no kernel allocations, so no kernel-memory check), " +
            "its system calls timed as made: the run's time against its calls', which stand in for a C program's making the same calls (a lower bound: see the timed calls' lines above)");
        // (written as it goes: a run the watchdog ends for a hung driver leaves its log up to the hang)
        var path = Path.Combine(cli.OutDir, "bench-default-run.log");
        int rc;
        using (var log = new StreamWriter(path) { AutoFlush = true }) rc = KernelRun.Run(cli, Catalog.Load(), log);
        string device = "";
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("# device ", StringComparison.Ordinal)) device = line["# device ".Length..];
            else if (line.StartsWith("# throughput: ", StringComparison.Ordinal)) output.WriteLine($"  {device}: {line["# throughput: ".Length..]}");
            else if (line.StartsWith("# throughput, all devices: ", StringComparison.Ordinal)) output.WriteLine($"  all devices: {line["# throughput, all devices: ".Length..]}");
        }
        output.WriteLine($"  (the run's exit code {rc}; its output: {path})");
    }

    /// <summary>The mix's figures. raw: the raw loop's rounds on one file set up once; fresh: the raw loop's rounds cut into
    /// the harness's sequences, each with the syscalls the harness issues around its ops so that it starts from a fresh device
    /// state (the same syscalls as the lockstep harness, so the ratio to it is what the suite spends outside the kernel), the
    /// best of the <see cref="PairedRounds"/> rounds it ran in by turns with lockstep's passes (<see cref="RawServer"/>); program:
    /// the same program's own run of them (best of 3); rounds: each round's (raw sequences, lockstep, in step) ops/s;
    /// waited: how the two threads of lockstep's passes waited for each other (<see cref="Waits"/>); the adapter's and lockstep's
    /// warm-ups (<see cref="Settle"/>).</summary>
    private static void Report(TextWriter o, string what, double raw, double fresh, double program, double adapter, double lockstep, double inStep, string split, double calls,
        IReadOnlyList<(double Raw, double Behind, double InStep)> rounds, Waits waited, WarmUp adapterWarmUp, WarmUp warmUp)
    {
        string Each(Func<(double Raw, double Behind, double InStep), double> ratio) => string.Join(", ", rounds.Select(r => $"{ratio(r):F2}x"));
        o.WriteLine($"{what}:");
        o.WriteLine($"  raw C loop        {raw,12:N0} ops/s   (the mix's rounds on one file, set up once)");
        o.WriteLine($"  raw C, sequences  {fresh,12:N0} ops/s   ({MixesPerSequence} rounds a sequence, each with the syscalls the harness makes for a fresh device state: {raw / fresh:F2}x the time; " +
            $"run by turns with lockstep's passes in the rounds below, the best round's; in one go {program:N0} ops/s, best of 3)");
        o.WriteLine($"  kernel adapter    {adapter,12:N0} ops/s   ratio {raw / adapter:F2}x (to the raw loop; after a warm-up of {adapterWarmUp})");
        // the ratios are the median round's: each round's raw figure and lockstep's were measured side by side, where the best
        // of each may come from different rounds (this host's speed moves within a run too)
        o.WriteLine($"  lockstep harness  {lockstep,12:N0} ops/s   ratio {Median(rounds.Select(r => r.Raw / r.Behind)):F2}x to the raw sequences, the same syscalls (goal <= 1.5; the median round's; round by round: {Each(r => r.Raw / r.Behind)}); {raw / lockstep:F2}x to the raw loop; the calls waited for the oracle's judgement {100 * waited.Calls:F1}% of the time ({100 * waited.CallsAtEnds:F1}% at sequences' ends), the oracle for the calls' outcomes {100 * waited.Oracle:F1}%; each slept on its event {waited.CallsSlept:F1} and {waited.OracleSlept:F1} times a sequence; the calling thread judged {100 * waited.JudgedByCalls:F1}% of the ops itself, where it would have waited");
        o.WriteLine($"  judged in step    {inStep,12:N0} ops/s   ratio {Median(rounds.Select(r => r.Raw / r.InStep)):F2}x to the raw sequences (round by round: {Each(r => r.Raw / r.InStep)}; each outcome judged before the next call, in the same rounds: judging behind the calls takes {Median(rounds.Select(r => r.InStep / r.Behind)):F2}x its time)");
        o.WriteLine($"    in step, its time: {split}");
        o.WriteLine($"    warm-up before the rounds (both ways of judging, by turns): {warmUp}");
        o.WriteLine($"  its system calls  {calls,12:N0} ops/s   (lockstep's calls alone, each timed as made, best of 3: {fresh / calls:F2}x the raw sequences' time; the per-device figures below stand on such timing)");
    }

    /// <summary>How the two threads of the passes judged behind the calls waited for each other: the shares of the passes' time
    /// (0 to 1) the calls waited for the judgement (the oracle thread's MayRun and EndTarget), the part of it at sequences'
    /// ends, and the oracle's thread waited for the calls' next outcome; and the times a sequence each went to sleep on its
    /// event once its spin ran out; and the share of the ops (0 to 1) the calling thread judged itself where it would have
    /// waited for the oracle's thread.</summary>
    private readonly record struct Waits(double Calls, double CallsAtEnds, double Oracle, double CallsSlept, double OracleSlept, double JudgedByCalls);

    /// <summary>Runs runner/bench/raw-loop.c on the heap and video paths ("-": not that one), <see cref="Rounds"/> rounds: ops/s
    /// by workload, "heap" and "video" the loop on one file set up once, "heap-seq" and "video-seq" the loop cut into the
    /// harness's sequences.</summary>
    private static Dictionary<string, double> RawLoop(string exe, string heap, string video)
    {
        var (rc, output, err) = Exec(exe, [heap, video, $"{Rounds}", $"{MixesPerSequence}"]);
        if (rc != 0) throw new Program.UsageException($"raw-loop failed ({rc}): {err}");
        var rates = new Dictionary<string, double> { ["heap"] = 0, ["video"] = 0, ["heap-seq"] = 0, ["video-seq"] = 0 };
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = line.Split(' ');
            rates[p[0]] = double.Parse(p[1]) / double.Parse(p[2]);
        }
        return rates;
    }

    /// <summary>
    /// The raw C loop serving sequences on request (runner/bench/raw-loop.c's <c>--serve</c>): a single-threaded process of its
    /// own, as in its other runs, that the benchmark asks for a few sequences at a time, by turns with lockstep's passes,
    /// milliseconds apart. Ends when disposed (its input closed).
    /// </summary>
    private sealed class RawServer : IDisposable
    {
        private readonly Process _p;

        /// <summary>Starts <paramref name="exe"/> serving the heap at <paramref name="heap"/> and the node at
        /// <paramref name="video"/> ("-": not that one).</summary>
        public RawServer(string exe, string heap, string video)
        {
            var psi = new ProcessStartInfo(exe) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "--serve", heap, video, $"{MixesPerSequence}" }) psi.ArgumentList.Add(a);
            _p = Process.Start(psi) ?? throw new Program.UsageException($"could not start {exe}");
        }

        /// <summary>Seconds for <paramref name="sequences"/> sequences of <see cref="MixesPerSequence"/> rounds of the heap mix
        /// (<paramref name="what"/> "heap", 6 ops a round) or the video mix ("video", 4 ops a round), each with the calls the
        /// harness makes for a fresh device state; throws where the loop failed (it said why on stderr, and ended).</summary>
        public double Seconds(string what, int sequences)
        {
            _p.StandardInput.WriteLine($"{what} {sequences}");
            _p.StandardInput.Flush();
            var line = _p.StandardOutput.ReadLine();
            return line != null ? double.Parse(line, System.Globalization.CultureInfo.InvariantCulture)
                : throw new InvalidOperationException($"the raw C loop ended serving {what} sequences (exit {(_p.WaitForExit(5000) ? _p.ExitCode : -1)}; its stderr above)");
        }

        public void Dispose()
        {
            _p.StandardInput.Close();
            if (!_p.WaitForExit(10_000)) _p.Kill();
            _p.Dispose();
        }
    }

    /// <summary>The middle value (the mean of the two middle ones for an even count).</summary>
    private static double Median(IEnumerable<double> values)
    {
        var a = values.Order().ToArray();
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }

    /// <summary>Runs a program to its end (the benchmarks' C loops, the compiler, valgrind): its exit status and what it wrote
    /// on each stream; <paramref name="env"/> is added to this process's environment.</summary>
    internal static (int Exit, string Stdout, string Stderr) Exec(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new Program.UsageException($"could not start {file}");
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o.Result, e);
    }

    /// <summary>Best-of-3 ops/s of a mix of opsPerRound ops, after a warm-up until the runtime's compiler is done with its code
    /// (<see cref="Settle"/>), and that warm-up.</summary>
    private static (double OpsPerSecond, WarmUp WarmUp) Time(int opsPerRound, Action<int> mix)
    {
        var warmUp = Settle(() => mix(Rounds / 3));
        double best = 0;
        for (int i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            mix(Rounds);
            best = Math.Max(best, (double)Rounds * opsPerRound / sw.Elapsed.TotalSeconds);
        }
        return (best, warmUp);
    }

    /// <summary>The longest a warm-up runs (<see cref="Settle"/>), in seconds: past it the rounds start with the compiler still
    /// at work, and the warm-up's line says so.</summary>
    private const double MaxWarmUpSeconds = 90;

    /// <summary>
    /// Runs <paramref name="pass"/> until the runtime's compiler has been quiet for two passes in a row (it compiled, on all
    /// threads, for under 1% of each pass's time: <see cref="System.Runtime.JitInfo"/>), or for <see cref="MaxWarmUpSeconds"/>.
    /// Under TCG the tiered compiler's background thread takes seconds to replace the first tier's code, and while it runs
    /// it takes a vCPU from the two threads that judge behind the calls: in the lab VM (6.12.118, heap mix, 2026-12-06) the
    /// first 4 s after a fixed warm-up of 60,000 ops compiled 288 methods in 1.8 s and the calls waited for the oracle 23%
    /// of the time, then 2-5% for the next 56 s, at 1.5x the rate. So each figure is a steady state's, the raw C loop's
    /// being one from its first op, and the warm-up's own length is reported beside it.
    /// </summary>
    private static WarmUp Settle(Action pass)
    {
        var whole = Stopwatch.StartNew();
        long methods0 = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jit0 = System.Runtime.JitInfo.GetCompilationTime();
        int passes = 0, quiet = 0;
        while (quiet < 2 && whole.Elapsed.TotalSeconds < MaxWarmUpSeconds)
        {
            var jit = System.Runtime.JitInfo.GetCompilationTime();
            var sw = Stopwatch.StartNew();
            pass();
            passes++;
            quiet = (System.Runtime.JitInfo.GetCompilationTime() - jit).TotalSeconds < 0.01 * sw.Elapsed.TotalSeconds ? quiet + 1 : 0;
        }
        return new WarmUp(whole.Elapsed.TotalSeconds, passes, System.Runtime.JitInfo.GetCompiledMethodCount() - methods0,
            (System.Runtime.JitInfo.GetCompilationTime() - jit0).TotalSeconds, quiet >= 2);
    }

    /// <summary>How a warm-up (<see cref="Settle"/>) went: its seconds and passes, the methods the runtime compiled meanwhile
    /// and the seconds it spent compiling them (on all threads), and whether it ended with the compiler quiet (false: at
    /// <see cref="MaxWarmUpSeconds"/>).</summary>
    private readonly record struct WarmUp(double Seconds, int Passes, long Methods, double JitSeconds, bool Quiet)
    {
        public override string ToString() =>
            $"{Seconds:F1} s ({Passes} passes; the runtime compiled {Methods} methods in {JitSeconds:F1} s meanwhile)" +
            (Quiet ? ", until its compiler was quiet for two passes" : $", cut off at {MaxWarmUpSeconds:F0} s with the compiler still at work");
    }

    private static void Check(in Outcome o, string what)
    {
        if (!o.Ok) throw new InvalidOperationException($"benchmark op {what} failed: {o.Errno}");
    }

    private static void HeapMix(KernelTarget t, string dev, int rounds)
    {
        var h = t.Open(dev, O_RDONLY | O_CLOEXEC); Check(h, "open");
        for (int i = 0; i < rounds; i++)
        {
            var b = t.DmaHeapAlloc(h.Handle, PAGE_SIZE, (uint)(O_RDWR | O_CLOEXEC), 0, 0, HeapAbi.Current); Check(b, "alloc");
            Check(t.DmaBufSync(b.Handle, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), "sync");
            Check(t.DmaBufSync(b.Handle, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), "sync");
            Check(t.Llseek(b.Handle, 0, SEEK_END), "lseek");
            Check(t.FcntlGetFd(b.Handle), "fcntl");
            Check(t.Close(b.Handle), "close");
        }
        t.Reset();
    }

    private static void VideoMix(KernelTarget t, VideoNodeProfile node, int rounds)
    {
        var v = t.Open(node.Device, O_RDWR | O_NONBLOCK); Check(v, "open");
        Check(t.ReqBufs(v.Handle, node.BufType, V4L2_MEMORY_MMAP, 2), "reqbufs");
        for (int i = 0; i < rounds; i++)
        {
            Check(t.QueryBuf(v.Handle, node.BufType, 0), "querybuf");
            var e = t.ExpBuf(v.Handle, node.BufType, 0, 0, (uint)(O_RDWR | O_CLOEXEC)); Check(e, "expbuf");
            Check(t.FcntlGetFd(e.Handle), "fcntl");
            Check(t.Close(e.Handle), "close");
        }
        t.Reset();
    }

    /// <summary>The heap mix as op records: the heap opened, then <see cref="MixesPerSequence"/> rounds of
    /// DMA_HEAP_IOCTL_ALLOC of a page, SYNC start, SYNC end, lseek to the end, F_GETFD and close of the buffer.</summary>
    internal static OpSequence HeapSequence(string dev)
    {
        var ops = ImmutableArray.CreateBuilder<Op>();
        int id = 1;
        ops.Add(new Open(dev, O_RDONLY | O_CLOEXEC) { Id = id++ });
        var heap = new Var(1);
        for (int i = 0; i < MixesPerSequence; i++)
        {
            var b = new Var(id);
            ops.Add(new DmaHeapAlloc(heap, PAGE_SIZE, (uint)(O_RDWR | O_CLOEXEC), 0, 0, HeapAbi.Current) { Id = id++ });
            ops.Add(new DmaBufSync(b, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) { Id = id++ });
            ops.Add(new DmaBufSync(b, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW) { Id = id++ });
            ops.Add(new Llseek(b, 0, SEEK_END) { Id = id++ });
            ops.Add(new FcntlGetFd(b) { Id = id++ });
            ops.Add(new Close(b) { Id = id++ });
        }
        return new OpSequence(0, ops.ToImmutable());
    }

    /// <summary>The video mix as op records: the node opened and two MMAP buffers allocated, then
    /// <see cref="MixesPerSequence"/> rounds of QUERYBUF, EXPBUF, F_GETFD and close of buffer 0's dma-buf.</summary>
    internal static OpSequence VideoSequence(VideoNodeProfile node)
    {
        var ops = ImmutableArray.CreateBuilder<Op>();
        int id = 1;
        ops.Add(new Open(node.Device, O_RDWR | O_NONBLOCK) { Id = id++ });
        var v = new Var(1);
        ops.Add(new ReqBufs(v, node.BufType, V4L2_MEMORY_MMAP, 2) { Id = id++ });
        for (int i = 0; i < MixesPerSequence; i++)
        {
            ops.Add(new QueryBuf(v, node.BufType, 0) { Id = id++ });
            var e = new Var(id);
            ops.Add(new ExpBuf(v, node.BufType, 0, 0, (uint)(O_RDWR | O_CLOEXEC)) { Id = id++ });
            ops.Add(new FcntlGetFd(e) { Id = id++ });
            ops.Add(new Close(e) { Id = id++ });
        }
        return new OpSequence(0, ops.ToImmutable());
    }

    /// <summary>Generated sequences per property, each property's own draws on the same device in the same run.</summary>
    private const int GeneratedSequences = 300;

    /// <summary>
    /// The same device through generated sequences: the parallel property (sequences ending in two or three branches on
    /// threads, judged against every interleaving) against lockstep (one thread), each on <see cref="GeneratedSequences"/>
    /// sequences of its own generator (seeds 1 to 300, at most 60 ops), best of 2 runs: sequences/s, ops/s (the sequences'
    /// steps over the time), and the ratio parallel / lockstep. Then generation alone (the same 300 lockstep sequences drawn
    /// again, in this VM), and one more lockstep pass with an <see cref="OpClock"/>: where its time goes, per kind of call,
    /// on the target's side and the oracle's.
    /// </summary>
    private static void Generated(TextWriter o, KernelTarget t, string what)
    {
        var gen = new SequenceGenerator(t.Profile) { SlowOps = false };
        List<OpSequence> Draw(bool parallel) => Enumerable.Range(1, GeneratedSequences)
            .Select(i => parallel ? gen.GenerateParallel((ulong)i, 60) : gen.Generate((ulong)i, 60)).ToList();
        (double Seqs, double Ops) Rate(LockstepProperty p, bool parallel)
        {
            var seqs = Draw(parallel);
            long ops = seqs.Sum(q => (long)q.Ops.Length);
            double best = double.MaxValue;
            for (int r = 0; r < 2; r++)
            {
                var sw = Stopwatch.StartNew();
                foreach (var q in seqs) p.Check(q, t, null);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            return (seqs.Count / best, ops / best);
        }
        var serial = Rate(new LockstepProperty(), false);
        var par = Rate(new LockstepProperty(parallel: true), true);
        o.WriteLine($"  generated, {what}: lockstep {serial.Seqs,8:N1} seq/s {serial.Ops,9:N0} ops/s; parallel {par.Seqs,8:N1} seq/s {par.Ops,9:N0} ops/s; " +
            $"parallel/lockstep {par.Ops / serial.Ops:F2}x ops/s ({GeneratedSequences} sequences each, best of 2)");
        var drawn = Stopwatch.StartNew();
        var again = Draw(false);
        double genSeconds = drawn.Elapsed.TotalSeconds;
        long genOps = again.Sum(q => (long)q.Ops.Length);
        o.WriteLine($"  generation alone, {what}: {genOps / genSeconds,9:N0} ops/s, {1000 * genSeconds / again.Count:F2} ms a sequence " +
            $"({100 * (genSeconds / again.Count) * serial.Seqs:F0}% of a lockstep sequence's time on the kernel)");
        var clock = new OpClock();
        var timed = new LockstepProperty { Clock = clock };
        var whole = Stopwatch.StartNew();
        foreach (var q in again) timed.Check(q, t, null);
        double total = whole.Elapsed.TotalSeconds;
        var kinds = clock.Kinds.ToList();
        double oracle = kinds.Sum(k => k.Oracle);
        o.WriteLine($"  where lockstep's time goes, {what} ({total:F1} s for {again.Count} sequences; the oracle {100 * oracle / total:F0}% of it, " +
            $"the rest outside the clock {100 * (total - kinds.Sum(k => k.Target + k.Oracle)) / total:F0}%):");
        foreach (var k in kinds.Take(8))
            o.WriteLine($"    {k.Kind,-20} {100 * (k.Target + k.Oracle) / total,5:F1}%  {k.Calls,6} calls  target {1e6 * k.Target / Math.Max(1, k.Calls),9:N0} us each  oracle {1e6 * k.Oracle / Math.Max(1, k.Calls),7:N0} us each");
    }

    /// <summary>How many helper processes are started and ended for the start-and-exit figure (each costs a process start).</summary>
    private const int HelperLifetimes = 50;

    /// <summary>
    /// The second process's cost on one dma-buf: SYNC start, SYNC end and F_GETFD made by the suite's own process, against the
    /// same three made by the helper (P1, one request and reply each over its socket), best of 3 each; and a helper's whole
    /// life (started, sent the fd, exited and waited for) per second.
    /// </summary>
    private static void SecondProcess(TextWriter o, KernelTarget t, string dev)
    {
        var h = t.Open(dev, O_RDONLY | O_CLOEXEC); Check(h, "open");
        var b = t.DmaHeapAlloc(h.Handle, PAGE_SIZE, (uint)(O_RDWR | O_CLOEXEC), 0, 0, HeapAbi.Current); Check(b, "alloc");
        void Mix(IProcessCalls p, int fd, int rounds)
        {
            for (int i = 0; i < rounds; i++)
            {
                Check(p.DmaBufSync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), "sync");
                Check(p.DmaBufSync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), "sync");
                Check(p.FcntlGetFd(fd), "fcntl");
            }
        }
        double here = Time(3, n => Mix(t, b.Handle, n)).OpsPerSecond;
        var sent = t.SendFd(0, b.Handle, 1, true); Check(sent, "send to P1");
        double there = Time(3, n => Mix(t.Process(1), sent.Handle, n)).OpsPerSecond;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < HelperLifetimes; i++)
        {
            Check(t.SendFd(0, b.Handle, 1, true), "send to P1");
            Check(t.ExitProcess(1), "exit");
        }
        double lives = HelperLifetimes / sw.Elapsed.TotalSeconds;
        t.Reset();
        o.WriteLine($"  second process (SYNC start, SYNC end, F_GETFD on one dma-buf): here {here,10:N0} ops/s; in P1 {there,10:N0} ops/s; " +
            $"P1/here {there / here:F2}x; a helper started, sent the fd, exited and waited for: {lives:N1}/s ({HelperLifetimes} of them)");
    }

    /// <summary>The mix's ops per second through the lockstep property (setup ops excluded from the count), as kernel runs judge
    /// (behind the calls: <see cref="LockstepProperty.JudgeBehind"/>) and each outcome before the next call, best of
    /// <see cref="PairedRounds"/> rounds of about <see cref="RoundMixes"/> mixes, each of <see cref="Turns"/> turns of three: <paramref name="rawSeconds"/> (the
    /// raw C loop cut into as many of the same sequences, <see cref="RawServer"/>: its seconds), lockstep's pass and in step's, in an
    /// order that rotates, so that every ratio is of figures measured milliseconds apart (RawSequences, the best round's;
    /// Rounds, each round's three figures); after a warm-up (<see cref="Settle"/>); where one more
    /// pass, judged in step, spends its time (an <see cref="OpClock"/>): the mix's calls on the target, the sequence's other calls (its setup,
    /// closing and the idle probe), the resets, the oracle, and the rest (op records, the verdict's bookkeeping). The clocked
    /// pass is slower than the timed ones (two clock reads a call): its microseconds an op are its own. Waited: the share of
    /// the passes judged behind the calls that the calls spent waiting for the oracle's judgement (0 to 1;
    /// <see cref="LockstepProperty.JudgedBehind"/>).</summary>
    private static (double OpsPerSecond, double InStepOpsPerSecond, string Split, double CallsOpsPerSecond, double RawSequences,
        List<(double Raw, double Behind, double InStep)> Rounds, Waits Waited, WarmUp WarmUp) Lockstep(KernelTarget t, OpSequence seq, int opsPerMix, Func<int, double> rawSeconds)
    {
        // as every kernel run judges (the oracle on a thread of its own, behind the calls), and, in the same rounds, each
        // outcome judged before the next call: the two alternate, so both meet the same state of the machine
        // (behind the calls whatever the waits: a kernel run would judge in step after a sequence that mostly waited,
        // LockstepProperty.InStepAboveWaitedShare, but this pass measures judging behind)
        var p = new LockstepProperty { JudgeBehind = true };
        var inStep = new LockstepProperty { JudgeBehind = false };
        int sequences = Rounds / MixesPerSequence;
        if (p.Check(seq, t, null) is { } f) throw new InvalidOperationException($"the benchmark sequence diverged at step {f.StepIndex + 1}: {f.Actual}");
        int roundSequences = RoundMixes / MixesPerSequence;
        // both ways of judging, until the runtime's compiler is done with their code: the rounds compare steady states
        var warmUp = Settle(() => { for (int i = 0; i < roundSequences; i++) { p.Check(seq, t, null); inStep.Check(seq, t, null); } });
        // (and, judged behind, how long the calls waited for the oracle's judgement)
        double behindSeconds = 0;
        var behindBefore = LockstepProperty.JudgedBehind;
        int turnSequences = Math.Max(1, roundSequences / Turns);
        double Pass(LockstepProperty prop)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < turnSequences; i++) prop.Check(seq, t, null);
            if (prop == p) behindSeconds += sw.Elapsed.TotalSeconds;
            return sw.Elapsed.TotalSeconds;
        }
        // the C loop cut into the same sequences, lockstep's pass and in step's by turns, a few milliseconds each, so each ratio
        // is of times measured side by side, in the same state of the machine (this host's speed moved by 1.7x between rounds
        // of a third of a second, the raw loop's as much as the harness's)
        double best = 0, bestInStep = 0, bestRaw = 0;
        var rounds = new List<(double Raw, double Behind, double InStep)>();
        double roundOps = (double)Turns * turnSequences * MixesPerSequence * opsPerMix;
        for (int r = 0; r < PairedRounds; r++)
        {
            double rawTime = 0, behindTime = 0, inStepTime = 0;
            for (int turn = 0; turn < Turns; turn++)
                for (int k = 0; k < 3; k++)
                    switch ((turn + k) % 3)
                    {
                        case 0: rawTime += rawSeconds(turnSequences); break;
                        case 1: behindTime += Pass(p); break;
                        default: inStepTime += Pass(inStep); break;
                    }
            double rawRate = roundOps / rawTime, behindRate = roundOps / behindTime, inStepRate = roundOps / inStepTime;
            rounds.Add((rawRate, behindRate, inStepRate));
            (bestRaw, best, bestInStep) = (Math.Max(bestRaw, rawRate), Math.Max(best, behindRate), Math.Max(bestInStep, inStepRate));
        }
        var behindAfter = LockstepProperty.JudgedBehind;
        double passSequences = Math.Max(1, behindAfter.Sequences - behindBefore.Sequences);
        var waited = new Waits((behindAfter.TargetWaitSeconds - behindBefore.TargetWaitSeconds) / behindSeconds,
            (behindAfter.TargetEndWaitSeconds - behindBefore.TargetEndWaitSeconds) / behindSeconds,
            (behindAfter.OracleWaitSeconds - behindBefore.OracleWaitSeconds) / behindSeconds,
            (behindAfter.TargetSlept - behindBefore.TargetSlept) / passSequences, (behindAfter.OracleSlept - behindBefore.OracleSlept) / passSequences,
            (behindAfter.JudgedByCalls - behindBefore.JudgedByCalls) / (double)Math.Max(1, behindAfter.Judged - behindBefore.Judged));
        // the mix's calls by their place: after the sequence's setup, up to its last op (its closing ops and the idle probe,
        // joined after it, are the sequence's other calls, with the setup)
        int firstMix = seq.Ops[seq.Ops.Length - MixesPerSequence * opsPerMix].Id, lastMix = seq.Ops[^1].Id;
        var clock = new OpClock { KindOf = op => op.Id >= firstMix && op.Id <= lastMix ? "mix" : "other" };
        var timed = new LockstepProperty { Clock = clock };
        var whole = Stopwatch.StartNew();
        for (int i = 0; i < sequences; i++) timed.Check(seq, t, null);
        double total = whole.Elapsed.TotalSeconds;
        var kinds = clock.Kinds.ToList();
        double mix = kinds.Where(k => k.Kind == "mix").Sum(k => k.Target);
        double other = kinds.Where(k => k.Kind == "other").Sum(k => k.Target);
        double reset = kinds.Where(k => k.Kind == OpClock.Reset).Sum(k => k.Target), oracle = kinds.Sum(k => k.Oracle);
        double perOp = 1e6 / ((double)sequences * MixesPerSequence * opsPerMix);
        string Part(string what, double s) => $"{what} {100 * s / total:F0}% ({s * perOp:F1} us an op)";
        // and three more with the system calls timed as made: what the same calls alone take (the best of 3, as the raw C
        // figures are), against the raw C sequences; judged as kernel runs judge (behind the calls), so that the calls meet
        // what they meet in a run (the oracle's thread on the other vCPU), which is what the per-device figures stand on
        double calls = 0;
        for (int r = 0; r < 3; r++)
        {
            SyscallClock.Reset();
            SyscallClock.On = true;
            try { for (int i = 0; i < sequences; i++) p.Check(seq, t, null); }
            finally { SyscallClock.On = false; }
            calls = Math.Max(calls, (double)sequences * MixesPerSequence * opsPerMix / SyscallClock.Read().Seconds);
        }
        return (best, bestInStep, $"{Part("the mix's calls", mix)}, {Part("the sequence's other calls", other)}, {Part("resets", reset)}, " +
            $"{Part("the oracle", oracle)}, {Part("the rest", total - mix - other - reset - oracle)}", calls, bestRaw, rounds, waited, warmUp);
    }
}
