namespace Conformance.Adapters.Kernel;

/// <summary>
/// Kernel memory still allocated on the dma-buf paths, read from SLUB's own allocation tracking: with the kernel booted
/// with <c>slub_debug=U</c> (the lab passes <c>slub_debug=U,kmalloc-*</c>), debugfs <c>slab/CACHE/alloc_traces</c> lists
/// each cache's live objects grouped by the call chain that allocated them (mm/slub.c slab_debugfs_show: a line
/// "COUNT FUNCTION+OFF/SIZE age=... pid=...", the stack one frame per indented line, then a blank line). A snapshot keeps
/// the chains with a frame in the subsystems the suite drives (<see cref="OnPath"/>): a race that leaks an sg table or a
/// mapping shows there, where bufinfo (which counts dma-bufs, not what their exporters allocated) cannot see it.
/// </summary>
public static class AllocTraces
{
    public const string Root = "/sys/kernel/debug/slab";

    /// <summary>Live objects per allocating chain: key "CACHE: f1 &lt;- f2 &lt;- ..." (frames without offsets, innermost first,
    /// up to the system call entry), value the object count.</summary>
    public sealed record Snapshot(IReadOnlyDictionary<string, long> Live, int Caches);

    /// <summary>One chain that holds more objects than before.</summary>
    public sealed record Growth(string Chain, long Before, long After)
    {
        public long Delta => After - Before;
        /// <summary>The kmalloc cache the chain's objects are in ("kmalloc-16").</summary>
        public string Cache => Chain[..Math.Max(0, Chain.IndexOf(':'))];
        /// <summary>The call chain alone, innermost first ("get_sg_table &lt;- begin_cpu_udmabuf &lt;- ...").</summary>
        public IReadOnlyList<string> Frames => Chain[(Chain.IndexOf(':') + 1)..].Split(" <- ", StringSplitOptions.TrimEntries);
        /// <summary>"+2 kmalloc-16: get_sg_table &lt;- ... (0 live before)".</summary>
        public override string ToString() => $"+{Delta} {Chain} ({Before} live before)";
    }

    /// <summary>The tracked kmalloc caches' chains on the dma-buf paths, or null when no cache is tracked (not booted with
    /// slub_debug=U, no debugfs, not root): <see cref="WhyUnavailable"/> says which.</summary>
    /// <param name="only">Read only these caches ("kmalloc-16"): a second instead of a tenth under TCG when a few are enough.</param>
    public static Snapshot? Take(IReadOnlyCollection<string>? only = null)
    {
        if (!Directory.Exists(Root)) return null;
        var live = new Dictionary<string, long>(StringComparer.Ordinal);
        int caches = 0;
        try
        {
            var dirs = Directory.EnumerateDirectories(Root, "kmalloc-*").Where(d => only == null || only.Contains(System.IO.Path.GetFileName(d))).ToList();
            // the files are read on every processor at once: the kernel walks each cache's objects inside the read, which is
            // most of a snapshot's time (about a second a snapshot under TCG, four or more of them a property); parsed in order
            var text = new string[]?[dirs.Count];
            Parallel.For(0, dirs.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                try { text[i] = File.ReadAllLines(System.IO.Path.Combine(dirs[i], "alloc_traces")); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            });
            for (int i = 0; i < dirs.Count; i++)
            {
                if (text[i] is not { } lines) continue;
                caches++;
                foreach (var (chain, n) in Parse(System.IO.Path.GetFileName(dirs[i]), lines))
                    live[chain] = live.GetValueOrDefault(chain) + n;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        return caches == 0 ? null : new Snapshot(live, caches);
    }

    /// <summary>Null when the kernel tracks its kmalloc allocations here (some cache's alloc_traces can be opened), else
    /// why not (<see cref="WhyUnavailable"/>): cheaper than a <see cref="Take"/>.</summary>
    public static string? WhyUntracked()
    {
        try
        {
            if (Directory.Exists(Root))
                foreach (var dir in Directory.EnumerateDirectories(Root, "kmalloc-*"))
                {
                    try { using var f = File.OpenRead(System.IO.Path.Combine(dir, "alloc_traces")); return null; }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
                }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return WhyUnavailable();
    }

    /// <summary>Why <see cref="Take"/> is null, for the report.</summary>
    public static string WhyUnavailable() =>
        !Directory.Exists(Root) ? $"{Root} does not exist (mount debugfs at /sys/kernel/debug as root)"
            : $"no kmalloc cache has allocation tracking (boot the kernel with slub_debug=U,kmalloc-*; {Root}/kmalloc-*/alloc_traces is missing or unreadable)";

    /// <summary>The chains of one cache's alloc_traces that pass through <see cref="OnPath"/>, with their object counts.</summary>
    public static IEnumerable<(string Chain, long Count)> Parse(string cache, IEnumerable<string> lines)
    {
        long count = -1;
        var frames = new List<string>();
        foreach (var raw in lines.Append(""))
        {
            var line = raw.TrimEnd();
            if (line.Length == 0)
            {
                if (count > 0 && frames.Any(OnPath)) yield return ($"{cache}: {string.Join(" <- ", Outer(frames))}", count);
                count = -1; frames.Clear();
                continue;
            }
            var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            if (count < 0 && parts.Length >= 2 && long.TryParse(parts[0], out var n))
            {
                count = n;
                frames.Add(Function(parts[1]));   // the allocating site; the stack below repeats it when tracked
            }
            else if (count >= 0 && parts.Length >= 1)
            {
                var f = Function(parts[0]);
                // the header's site repeated (6.12), or the allocator's own frames (6.1 records from inside kmalloc)
                if (frames.Count == 1 && frames[0] == f || Allocator(f)) continue;
                frames.Add(f);
            }
        }
    }

    private static bool Allocator(string f) =>
        f.StartsWith("__kmalloc", StringComparison.Ordinal) || f.StartsWith("kmalloc_", StringComparison.Ordinal)
        || f.StartsWith("kmem_cache_alloc", StringComparison.Ordinal) || f.StartsWith("__kmem_cache_alloc", StringComparison.Ordinal)
        || f.StartsWith("slab_alloc", StringComparison.Ordinal) || f.StartsWith("__slab_alloc", StringComparison.Ordinal);

    /// <summary>Frames up to the system call's entry: what comes after is the same for every call.</summary>
    private static IEnumerable<string> Outer(List<string> frames) =>
        frames.TakeWhile(f => !f.StartsWith("__x64_sys_", StringComparison.Ordinal) && !f.StartsWith("__do_sys_", StringComparison.Ordinal)
            && f != "do_syscall_64" && f != "entry_SYSCALL_64_after_hwframe");

    /// <summary>"get_sg_table.isra.0+0x2e/0x120 [udmabuf]" → "get_sg_table".</summary>
    public static string Function(string frame)
    {
        var f = frame;
        int plus = f.IndexOf('+');
        if (plus > 0) f = f[..plus];
        int dot = f.IndexOf('.');
        if (dot > 0) f = f[..dot];   // .isra.0, .constprop.0, .part.0, .cold: compiler clones of one function
        return f;
    }

    /// <summary>A frame of the code the suite drives: the dma-buf core, dma-heaps, udmabuf, videobuf2, DRM GEM and PRIME,
    /// vgem, sync_file and fences.</summary>
    public static bool OnPath(string function) =>
        function.Contains("udmabuf", StringComparison.Ordinal) || function.Contains("dma_buf", StringComparison.Ordinal)
        || function.StartsWith("dma_heap", StringComparison.Ordinal) || function.StartsWith("system_heap", StringComparison.Ordinal)
        || function.StartsWith("vb2_", StringComparison.Ordinal) || function.StartsWith("__vb2_", StringComparison.Ordinal)
        || function.StartsWith("drm_gem_", StringComparison.Ordinal) || function.StartsWith("drm_prime_", StringComparison.Ordinal)
        || function.StartsWith("vgem_", StringComparison.Ordinal) || function.StartsWith("sync_file", StringComparison.Ordinal)
        || function.StartsWith("dma_fence", StringComparison.Ordinal) || function.StartsWith("dma_resv", StringComparison.Ordinal);

    /// <summary>
    /// A chain allocated for a dma-buf (DMABUF-LIFE-4 judges only these): one of its frames is the dma-buf core's, a dma-buf
    /// exporter's or importer's dma-buf code ("dma_buf", "dmabuf", udmabuf, dma-heaps, PRIME) or fences and reservations.
    /// A video queue's own buffer memory (vb2_vmalloc_alloc, vb2_core_allocated_buffers_storage) is on the paths the
    /// suite watches but is the queue's, not a dma-buf's: a driver that keeps its queue is VB2-OWN-9's bug.
    /// </summary>
    public static bool ForDmaBuf(IEnumerable<string> frames) => frames.Any(f =>
        f.Contains("dma_buf", StringComparison.Ordinal) || f.Contains("dmabuf", StringComparison.Ordinal) || f.Contains("udmabuf", StringComparison.Ordinal)
        || f.StartsWith("dma_heap", StringComparison.Ordinal) || f.StartsWith("system_heap", StringComparison.Ordinal)
        || f.StartsWith("drm_prime", StringComparison.Ordinal) || f.StartsWith("drm_gem_prime", StringComparison.Ordinal)
        || f.StartsWith("sync_file", StringComparison.Ordinal) || f.StartsWith("dma_fence", StringComparison.Ordinal) || f.StartsWith("dma_resv", StringComparison.Ordinal));

    /// <summary>Chains holding more objects in <paramref name="after"/> than in <paramref name="before"/>, largest growth first.</summary>
    public static IReadOnlyList<Growth> Grown(Snapshot before, Snapshot after) =>
        [.. after.Live.Where(kv => kv.Value > before.Live.GetValueOrDefault(kv.Key))
            .Select(kv => new Growth(kv.Key, before.Live.GetValueOrDefault(kv.Key), kv.Value))
            .OrderByDescending(g => g.Delta).ThenBy(g => g.Chain, StringComparer.Ordinal)];

    /// <summary>
    /// A snapshot after the run that gives late frees their time: taken again once a second while some chain has grown
    /// and the growth is still shrinking, for at most <paramref name="maxWait"/> (vgem's unsignalled fences are freed only
    /// when they expire, 10 s after their attach; RCU frees a fence a grace period after its last put).
    /// </summary>
    /// <param name="take">How a snapshot is taken (<see cref="Take"/> on the machine; a test gives its own).</param>
    /// <param name="patience">How long growth must last before a second without change ends the wait (default 11 s: a vgem
    /// fence attached at the end expires 10 s later). The memory property, watching chains known to outlive 15 s, gives 1 s.</param>
    public static (Snapshot After, IReadOnlyList<Growth> Grown, TimeSpan Waited) Settle(Snapshot before, TimeSpan maxWait, Func<Snapshot?>? take = null,
        TimeSpan? patience = null)
    {
        take ??= () => Take();
        var patient = patience ?? TimeSpan.FromSeconds(11);
        var start = DateTime.UtcNow;
        var after = take() ?? before;
        var grown = Grown(before, after);
        long last = grown.Sum(g => g.Delta);
        while (grown.Count > 0 && DateTime.UtcNow - start < maxWait)
        {
            Thread.Sleep(1000);
            after = take() ?? after;
            grown = Grown(before, after);
            long now = grown.Sum(g => g.Delta);
            // stable for a second: nothing more is on its way (unless a 10 s fence expiry is still pending: keep going)
            if (now == last && DateTime.UtcNow - start > patient) break;
            last = now;
        }
        return (after, grown, DateTime.UtcNow - start);
    }
}
