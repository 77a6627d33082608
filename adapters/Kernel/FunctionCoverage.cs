using System.Diagnostics;
using System.Text;
using Conformance.Adapters.Interop;

namespace Conformance.Adapters.Kernel;

/// <summary>
/// One group of the kernel's buffer-sharing code that <c>--kernel-coverage</c> traces: every traceable function of the named
/// modules (the <c>[module]</c> tag of <c>available_filter_functions</c>), and every function whose name matches one of the
/// globs, built in or in a module. A function belongs to the first group that claims it.
/// </summary>
/// <param name="Name">The group's name in the table and the JSON ("vb2", "dma-buf core", ...).</param>
/// <param name="Modules">Module names, as the kernel spells them (underscores).</param>
/// <param name="Globs">Name globs with <c>*</c> (any run of characters), as <c>set_ftrace_filter</c> takes them.</param>
public sealed record CoverageGroup(string Name, IReadOnlyList<string> Modules, IReadOnlyList<string> Globs)
{
    /// <summary>Whether the function (its name, and its module or null when built in) is this group's.</summary>
    public bool Claims(string function, string? module)
    {
        if (module != null && Modules.Contains(module)) return true;
        foreach (var g in Globs) if (GlobMatch(g, function)) return true;
        return false;
    }

    /// <summary>The group's lines for set_ftrace_filter: "*:mod:M" for each module, each glob as it is (ftrace.rst: one scan
    /// of the kernel's function records per line, which under TCG is about a quarter of a second).</summary>
    public IEnumerable<string> FilterLines => Modules.Select(m => $"*:mod:{m}").Concat(Globs);

    /// <summary>A glob with '*' (any run of characters) matched against the whole name, as ftrace matches it.</summary>
    public static bool GlobMatch(string glob, string name)
    {
        var parts = glob.Split('*');
        if (parts.Length == 1) return name == glob;
        if (!name.StartsWith(parts[0], StringComparison.Ordinal) || !name.EndsWith(parts[^1], StringComparison.Ordinal)
            || name.Length < parts[0].Length + parts[^1].Length) return false;
        int at = parts[0].Length, end = name.Length - parts[^1].Length;
        for (int i = 1; i < parts.Length - 1; i++)
        {
            int k = name.IndexOf(parts[i], at, end - at, StringComparison.Ordinal);
            if (k < 0) return false;
            at = k + parts[i].Length;
        }
        return true;
    }
}

/// <summary>What one group's functions did during a traced run.</summary>
/// <param name="Name">The group (<see cref="CoverageGroup.Name"/>).</param>
/// <param name="Traceable">Distinct function names of the group the function tracer can trace on this kernel.</param>
/// <param name="Reached">The names among them that were entered at least once while tracing, sorted.</param>
public sealed record GroupCoverage(string Name, IReadOnlyList<string> Traceable, IReadOnlyList<string> Reached)
{
    /// <summary>When each reached function was first seen, in seconds since the collector started (just before it sets the
    /// tracer up; within a fraction of a second of the function's first entry); null where not known (a coverage file written
    /// before they were kept).</summary>
    public IReadOnlyDictionary<string, double>? ReachedAt { get; init; }

    /// <summary>The traceable names never entered, sorted.</summary>
    public IReadOnlyList<string> Never => Traceable.Except(Reached, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
}

/// <summary>One device's turn in a traced run: from and to, in seconds since the collector started.</summary>
public sealed record CoverageTurn(string Device, double From, double To);

/// <summary>
/// The kernel functions of the buffer-sharing code a run reached (<see cref="FunctionCoverage"/>): per group, what could be
/// traced and what was entered.
/// </summary>
/// <param name="Kernel">The kernel's release (uname -r).</param>
/// <param name="Seconds">How long tracing ran, in seconds.</param>
/// <param name="LostEvents">Trace events the ring buffer overran or dropped (per_cpu/cpu*/stats): 0 means no entry was
/// missed; more means a function entered only in a lost event may be counted as never reached (the figures are then a
/// lower bound).</param>
/// <param name="Groups">Each group, in <see cref="FunctionCoverage.Groups"/> order.</param>
public sealed record CoverageReport(string Kernel, double Seconds, long LostEvents, IReadOnlyList<GroupCoverage> Groups)
{
    /// <summary>Traceable functions over the groups.</summary>
    public int Traceable => Groups.Sum(g => g.Traceable.Count);
    /// <summary>Of <see cref="Traceable"/>, those reached.</summary>
    public int Reached => Groups.Sum(g => g.Reached.Count);

    /// <summary>The ops the run made while the tracer ran (the devices' ops, every property's); null where not known.</summary>
    public long? Ops { get; init; }

    /// <summary>Each device's turn in the run, in order (the devices are certified one after another); null where not known.</summary>
    public IReadOnlyList<CoverageTurn>? Turns { get; init; }

    /// <summary>Per turn: the functions first reached in it, and how many seconds into the turn 90% of them had been reached
    /// (null when it reached none). Empty where the turns or the times are not known.</summary>
    public IReadOnlyList<(CoverageTurn Turn, int FirstReached, double? NinetyPercentBy)> ByTurn()
    {
        if (Turns == null || ReachedTimes() is not { } times) return [];
        return [.. Turns.Select(t =>
        {
            var mine = times.Where(s => s >= t.From && s < t.To).Select(s => s - t.From).ToList();   // (still in order)
            return (t, mine.Count, By(mine, 0.9) is { } s ? Math.Round(s, 1) : (double?)null);
        })];
    }

    /// <summary>The seconds (since the collector started) by which the given fraction (0 to 1) of the functions reached had
    /// been reached: coverage over time, what a shorter run would have reached. Null where the times are not known.</summary>
    public double? SecondsTo(double fraction) => Reached > 0 && ReachedTimes() is { } times ? By(times, fraction) : null;

    /// <summary>When every reached function was first seen, in order; null where some group's times are not known.</summary>
    private List<double>? ReachedTimes() => Groups.Any(g => g.ReachedAt == null) ? null : [.. Groups.SelectMany(g => g.ReachedAt!.Values).Order()];

    /// <summary>The time in <paramref name="sorted"/> by which the given fraction of its entries had come (the first time at
    /// or past it); null for none (a file whose times were left out).</summary>
    private static double? By(List<double> sorted, double fraction) =>
        sorted.Count == 0 ? null : sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Count) - 1, 0, sorted.Count - 1)];
}

/// <summary>
/// Kernel function coverage by the ftrace function tracer, where the kernel has no KCOV (Debian's does not): the functions
/// of <see cref="Groups"/> are put in <c>set_ftrace_filter</c>, the function tracer is started, and a collector thread
/// streams <c>trace_pipe</c>; each function it has seen is dropped from the filter (<c>!name</c>, the busiest first, a few
/// at a time), so a hot function stops producing events soon after its first and the ring buffer (enlarged to 16 MB per
/// CPU while tracing) does not overrun. The overrun and dropped counts are read back and reported (<see cref="CoverageReport.LostEvents"/>).
/// Needs root and tracefs (<c>/sys/kernel/tracing</c>, or <c>tracing</c> under debugfs); the tracer's state (current tracer,
/// filter, buffer size, tracing_on) is put back when the collector is disposed.
/// Source: Documentation/trace/ftrace.rst (set_ftrace_filter, "!" to remove, available_filter_functions, trace_pipe,
/// per_cpu/cpuN/stats), kernel/trace/ftrace.c (a filter change takes effect when the file is closed).
/// </summary>
public sealed unsafe class FunctionCoverage : IDisposable
{
    /// <summary>The groups traced, in the order a function is given to the first that claims it.</summary>
    public static IReadOnlyList<CoverageGroup> Groups { get; } =
    [
        new("vb2", ["videobuf2_common", "videobuf2_v4l2", "videobuf2_memops", "videobuf2_vmalloc", "videobuf2_dma_contig", "videobuf2_dma_sg"], []),
        new("dma-buf core", [], ["dma_buf_*"]),
        new("fences and sync_file", [], ["dma_fence_*", "dma_resv_*", "sync_file_*"]),
        new("heaps", [], ["dma_heap_*", "system_heap_*", "cma_heap_*"]),
        new("udmabuf", ["udmabuf"], ["*udmabuf*"]),
        new("vgem/DRM", ["vgem", "drm_shmem_helper"], ["drm_prime_*", "drm_gem_*"]),
    ];

    private const int BufferKb = 16384;

    private readonly string _root;
    private readonly List<CoverageGroup> _groups;
    private readonly Dictionary<string, int> _groupOf = new(StringComparer.Ordinal);   // function name -> index in _groups
    private readonly HashSet<string> _reached = new(StringComparer.Ordinal);
    /// <summary>When the collector first saw each reached function (<see cref="_clock"/>'s seconds).</summary>
    private readonly Dictionary<string, double> _reachedAt = new(StringComparer.Ordinal);
    private readonly Thread _thread;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _savedTracer, _savedBufferKb, _savedTracingOn;
    private volatile bool _stop;
    private Exception? _error;
    private double _seconds = -1;

    /// <summary>Tracefs' directory, or null where it cannot be found.</summary>
    public static string? Root() =>
        new[] { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" }.FirstOrDefault(d => File.Exists(Path.Combine(d, "available_filter_functions")));

    /// <summary>Why coverage cannot be collected here, or null when it can.</summary>
    public static string? WhyUnavailable()
    {
        if (!OperatingSystem.IsLinux()) return "kernel coverage needs Linux";
        if (Root() is not { } root) return "tracefs is not mounted (/sys/kernel/tracing or /sys/kernel/debug/tracing; mount -t tracefs nodev /sys/kernel/tracing as root) or the kernel has no function tracer";
        if (!File.ReadAllText(Path.Combine(root, "available_tracers")).Split(' ', '\n').Contains("function"))
            return "the kernel has no function tracer (CONFIG_FUNCTION_TRACER)";
        try { using var _ = File.OpenWrite(Path.Combine(root, "set_ftrace_filter")); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException) { return $"{root}/set_ftrace_filter is not writable (needs root): {e.Message}"; }
        return null;
    }

    /// <summary>The traceable functions of each group on this kernel: <c>available_filter_functions</c> read, each
    /// function (name, module) given to the first group that claims it. A name the file lists twice (static functions of
    /// two files) counts once.</summary>
    public static IReadOnlyList<(CoverageGroup Group, IReadOnlyList<string> Functions)> Traceable(string root, IReadOnlyList<CoverageGroup> groups)
    {
        var byGroup = groups.Select(_ => new SortedSet<string>(StringComparer.Ordinal)).ToArray();
        foreach (var line in File.ReadLines(Path.Combine(root, "available_filter_functions")))
        {
            var (name, module) = ParseAvailable(line);
            if (name.Length == 0) continue;
            for (int i = 0; i < groups.Count; i++)
                if (groups[i].Claims(name, module)) { byGroup[i].Add(name); break; }
        }
        return groups.Select((g, i) => (g, (IReadOnlyList<string>)byGroup[i].ToList())).ToList();
    }

    /// <summary>A line of available_filter_functions: "name" or "name [module]".</summary>
    public static (string Name, string? Module) ParseAvailable(string line)
    {
        line = line.Trim();
        int sp = line.IndexOf(' ');
        if (sp < 0) return (line, null);
        var rest = line[(sp + 1)..].Trim();
        return (line[..sp], rest.StartsWith('[') && rest.EndsWith(']') ? rest[1..^1] : null);
    }

    /// <summary>The function a trace_pipe line of the function tracer names ("comm-pid [cpu] flags ts: name &lt;-caller"), or null.</summary>
    public static string? ParseEvent(string line)
    {
        // the name sits between the timestamp's ": " and " <-" (the caller, printed by default); without a caller, to the end
        int arrow = line.IndexOf(" <-", StringComparison.Ordinal);
        int stop = arrow >= 0 ? arrow : line.Length;
        int colon = line.LastIndexOf(": ", stop - 1 < 0 ? 0 : stop - 1, StringComparison.Ordinal);
        if (colon < 1 || !char.IsDigit(line[colon - 1])) return null;
        var name = line[(colon + 2)..stop].Trim();
        return name.Length == 0 || name.Contains(' ') ? null : name;
    }

    /// <summary>
    /// Starts tracing the groups' functions. The drivers under test are not traced: in the lab (QEMU's TCG, two vCPUs) dropping
    /// a function that another vCPU runs hundreds of thousands of times a second from the filter oopsed the guest ("Oops:
    /// int3" in vimc_debayer_process_rgb_frame, which vimc's streamer thread runs per pixel): the call site had been patched
    /// back and the stale breakpoint was still hit. The buffer-sharing code's functions run per call, not per pixel.
    /// </summary>
    /// <exception cref="InvalidOperationException">Tracing cannot start (<see cref="WhyUnavailable"/>, or a write to tracefs
    /// failed): the message says which file and why.</exception>
    public static FunctionCoverage Start()
    {
        if (WhyUnavailable() is { } why) throw new InvalidOperationException(why);
        return new FunctionCoverage(Root()!, Groups.ToList());
    }

    private FunctionCoverage(string root, List<CoverageGroup> groups)
    {
        _root = root;
        _groups = groups;
        var traceable = Traceable(root, groups);
        for (int i = 0; i < traceable.Count; i++)
            foreach (var f in traceable[i].Functions) _groupOf[f] = i;
        _savedTracer = ReadSetting("current_tracer");
        _savedBufferKb = ReadSetting("buffer_size_kb");
        _savedTracingOn = ReadSetting("tracing_on");
        if (_groupOf.Count == 0) throw new InvalidOperationException("none of the traced groups has a traceable function on this kernel");
        Write("tracing_on", "0");
        Write("current_tracer", "nop");
        Write("buffer_size_kb", BufferKb.ToString());
        // the groups' patterns, a scan of the kernel's function records each, not each function's name (a scan each too)
        SetFilter(groups.SelectMany(g => g.FilterLines), truncate: true);
        Write("trace", "");   // empties the ring buffer
        Write("current_tracer", "function");
        Write("tracing_on", "1");
        _thread = new Thread(Collect) { IsBackground = true, Name = "conformance-coverage" };
        _thread.Start();
    }

    /// <summary>Seconds since the collector started (the clock <see cref="GroupCoverage.ReachedAt"/> is read on).</summary>
    public double Seconds => _clock.Elapsed.TotalSeconds;

    /// <summary>How many distinct functions are traced, over how many groups.</summary>
    public (int Functions, int Groups) Traced => (_groupOf.Count, _groups.Count);

    /// <summary>Stops tracing, puts the tracer's state back, and says what was reached.</summary>
    /// <param name="kernel">The kernel's release, for the report.</param>
    public CoverageReport Stop(string kernel)
    {
        Halt();
        long lost = LostEvents();
        Restore();
        if (_error != null) throw new InvalidOperationException($"reading {_root}/trace_pipe failed: {_error.Message}", _error);
        var groups = _groups.Select((g, i) => new GroupCoverage(g.Name,
            _groupOf.Where(kv => kv.Value == i).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList(),
            _reached.Where(f => _groupOf[f] == i).Order(StringComparer.Ordinal).ToList())
        {
            ReachedAt = _reachedAt.Where(kv => _groupOf[kv.Key] == i).ToDictionary(StringComparer.Ordinal),
        }).ToList();
        return new CoverageReport(kernel, Math.Round(_seconds, 1), lost, groups);
    }

    public void Dispose()
    {
        Halt();
        Restore();
    }

    /// <summary>Once: stops tracing, notes how long it ran, and waits for the collector to drain trace_pipe.</summary>
    private void Halt()
    {
        if (_seconds >= 0) return;
        _seconds = _clock.Elapsed.TotalSeconds;
        Write("tracing_on", "0");
        _stop = true;
        _thread.Join();
    }

    private bool _restored;
    private void Restore()
    {
        if (_restored) return;
        _restored = true;
        // best effort: a tracer left running would slow every later test of the machine
        foreach (var (file, value) in new[] { ("current_tracer", "nop"), ("set_ftrace_filter", ""), ("buffer_size_kb", _savedBufferKb), ("current_tracer", _savedTracer), ("tracing_on", _savedTracingOn) })
            try { Write(file, value); } catch (InvalidOperationException) { }
    }

    /// <summary>The collector: reads trace_pipe as events come, and drops each new function from the filter (in batches of
    /// what one read brought) so it is not traced again. When every traced function has been seen the tracer is stopped
    /// instead: an empty filter would trace every function of the kernel.</summary>
    private void Collect()
    {
        // (its polls and reads are the suite's, not the target's: a run's # throughput: lines count the target's calls only)
        SyscallClock.ExcludeThisThread();
        try
        {
            long fd = Sys.Open(Path.Combine(_root, "trace_pipe"), 0 /* O_RDONLY */ | 0x800 /* O_NONBLOCK */ | 0x80000 /* O_CLOEXEC */);
            if (fd < 0) throw new IOException($"open: errno {-fd}");
            var buf = new byte[1 << 16];
            var pending = new StringBuilder();
            try
            {
                while (true)
                {
                    var pfd = new pollfd { fd = (int)fd, events = 1 /* POLLIN */ };
                    Sys.Poll(&pfd, 1, 50);
                    long n;
                    fixed (byte* p = buf) n = Sys.Read((int)fd, p, buf.Length);
                    if (n > 0)
                    {
                        pending.Append(Encoding.UTF8.GetString(buf, 0, (int)n));
                        Take(pending);
                        continue;
                    }
                    // nothing (EAGAIN): once stopping, the buffer is drained
                    if (_stop) break;
                }
            }
            finally { Sys.Close((int)fd); }
        }
        catch (Exception e) { _error = e; }
    }

    // functions seen and still in the filter, with the events seen of each since; and how many have been dropped from it
    private readonly Dictionary<string, long> _inFilter = new(StringComparer.Ordinal);
    /// <summary>How many functions one filter write drops at most: each "!name" is a scan of the kernel's function records
    /// (a quarter of a second under TCG), and trace_pipe is not read meanwhile.</summary>
    private const int DropBatch = 16;

    private void Take(StringBuilder pending)
    {
        var text = pending.ToString();
        int end = text.LastIndexOf('\n');
        if (end < 0) return;
        pending.Remove(0, end + 1);
        foreach (var line in text[..end].Split('\n'))
            if (ParseEvent(line) is { } f && _groupOf.ContainsKey(f))
            {
                bool first = _reached.Add(f);
                if (first) _reachedAt[f] = Math.Round(_clock.Elapsed.TotalSeconds, 1);
                if (first || _inFilter.ContainsKey(f)) _inFilter[f] = _inFilter.GetValueOrDefault(f) + 1;
            }
        if (_inFilter.Count == 0 || _stop) return;
        // every traced function seen: stop the tracer (dropping the last would leave an empty filter, which traces everything)
        if (_reached.Count == _groupOf.Count) { Write("current_tracer", "nop"); _inFilter.Clear(); return; }
        // the busiest first: they fill the ring buffer
        var drop = _inFilter.OrderByDescending(kv => kv.Value).Take(DropBatch).Select(kv => kv.Key).ToList();
        SetFilter(drop.Select(f => "!" + f), truncate: false);
        foreach (var f in drop) _inFilter.Remove(f);
    }

    /// <summary>Writes filter lines to set_ftrace_filter (emptied first when truncate), in writes that end at a line's end,
    /// outside any window in which an op has the fd table full (<see cref="KernelTarget.WithFdRoom"/>); the kernel applies them
    /// when the file is closed. A write the kernel refuses (a name it no longer knows) is retried
    /// line by line, and a line it refuses alone is skipped.</summary>
    private void SetFilter(IEnumerable<string> lines, bool truncate) => KernelTarget.WithFdRoom(() => WriteFilter(lines, truncate));

    private void WriteFilter(IEnumerable<string> lines, bool truncate)
    {
        var path = Path.Combine(_root, "set_ftrace_filter");
        using var f = new FileStream(path, truncate ? FileMode.Truncate : FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1);
        var chunk = new StringBuilder();
        void Flush()
        {
            if (chunk.Length == 0) return;
            var bytes = Encoding.ASCII.GetBytes(chunk.ToString());
            try { f.Write(bytes); f.Flush(); }
            catch (IOException)
            {
                foreach (var one in chunk.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    try { f.Write(Encoding.ASCII.GetBytes(one + "\n")); f.Flush(); } catch (IOException) { }
            }
            chunk.Clear();
        }
        foreach (var l in lines)
        {
            if (chunk.Length + l.Length + 1 > 3500) Flush();
            chunk.Append(l).Append('\n');
        }
        Flush();
    }

    /// <summary>Events the ring buffer lost while tracing: the sum of "overrun" and "dropped events" over the CPUs.</summary>
    private long LostEvents()
    {
        long lost = 0;
        var perCpu = Path.Combine(_root, "per_cpu");
        if (!Directory.Exists(perCpu)) return 0;
        foreach (var cpu in Directory.GetDirectories(perCpu, "cpu*"))
            foreach (var line in File.ReadLines(Path.Combine(cpu, "stats")))
                if ((line.StartsWith("overrun:", StringComparison.Ordinal) || line.StartsWith("dropped events:", StringComparison.Ordinal))
                    && long.TryParse(line[(line.IndexOf(':') + 1)..].Trim(), out var n)) lost += n;
        return lost;
    }

    private string ReadSetting(string file)
    {
        var text = File.ReadAllText(Path.Combine(_root, file)).Trim();
        // buffer_size_kb reads "1408 (expanded: 1408)" before the buffer is first used
        return file == "buffer_size_kb" && text.IndexOf(' ') is var sp and > 0 ? text[..sp] : text;
    }

    /// <summary>Writes one setting (the collector's thread too, while ops run: through <see cref="KernelTarget.WithFdRoom"/>).</summary>
    private void Write(string file, string value)
    {
        var path = Path.Combine(_root, file);
        try
        {
            KernelTarget.WithFdRoom(() =>
            {
                using var f = new FileStream(path, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite, 1);
                if (value.Length > 0) f.Write(Encoding.ASCII.GetBytes(value + "\n"));
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot write '{value}' to {path}: {e.Message}", e);
        }
    }
}
