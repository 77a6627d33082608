using System.Text.Json;
using System.Text.Json.Serialization;

namespace Conformance.Spec;

/// <summary>A half-open range of kernel releases, [From, Fixed): the first release with the bug and the first without it (null: not fixed).</summary>
public sealed record KernelRange(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("fixed")] string? Fixed)
{
    public bool Contains(string kernel) =>
        KernelVersion.Compare(kernel, From) >= 0 && (Fixed == null || KernelVersion.Compare(kernel, Fixed) < 0);

    /// <summary>"6.12 and later" or "5.1 to before 6.1.122" (the end is where the issue stops: its fix, or the next series).</summary>
    public override string ToString() => Fixed == null ? $"{From} and later" : $"{From} to before {Fixed}";
}

/// <summary>What shows the issue: lines of the kernel source (file:function and the code) and what the lab saw.</summary>
public sealed record KnownIssueEvidence(
    [property: JsonPropertyName("source")] IReadOnlyList<string> Source,
    [property: JsonPropertyName("lab")] IReadOnlyList<string> Lab);

/// <summary>The upstream change that fixes a known issue.</summary>
public sealed record KnownIssueFix(
    [property: JsonPropertyName("commit")] string Commit,
    [property: JsonPropertyName("subject")] string Subject,
    [property: JsonPropertyName("mainline")] string? Mainline);

/// <summary>
/// For an issue of a rule that many different bugs can break (DMABUF-PAR-1: calls made at once; DMABUF-FAIL-1: several create
/// ioctls): the call that fails, as the op record names it (e.g. "MmapVideo", "ExpBuf"), and the calls that must race it in
/// the other branches of its parallel block (none for a call that fails on its own).
/// </summary>
public sealed record KnownIssueCalls(
    [property: JsonPropertyName("failing")] string Failing,
    [property: JsonPropertyName("racing")] IReadOnlyList<string> Racing);

/// <summary>
/// A kernel bug the suite reports as KNOWN rather than as a plain failure: the invariant it breaks, the kernel
/// releases that have it, and which drivers (QUERYCAP driver, DRM driver, heap name, "udmabuf"; "video:*" for every V4L2
/// driver, "*" for every device) or dma-buf exporters (fdinfo exp_name, e.g. "videobuf2_vmalloc") it affects. A failure outside these
/// ranges or drivers is a plain FAIL, so a regression after the fix is never excused. KNOWN is never a pass.
/// </summary>
public sealed record KnownIssue(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("invariant")] string Invariant,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("kernels")] IReadOnlyList<KernelRange> Kernels,
    [property: JsonPropertyName("drivers")] IReadOnlyList<string> Drivers,
    [property: JsonPropertyName("exporters")] IReadOnlyList<string> Exporters,
    [property: JsonPropertyName("evidence")] KnownIssueEvidence Evidence,
    [property: JsonPropertyName("fix")] KnownIssueFix? Fix,
    [property: JsonPropertyName("see")] string? See,
    [property: JsonPropertyName("calls")] KnownIssueCalls? Calls = null,
    [property: JsonPropertyName("leaks")] string? Leaks = null)
{
    /// <summary>Where the entry comes from: "built-in" (spec/known-issues.json) or the --expectations file's path.</summary>
    [JsonIgnore] public string Origin { get; internal set; } = "built-in";

    /// <summary>Whether a failure of <paramref name="invariant"/> on <paramref name="kernel"/>, in a counterexample that
    /// used devices with these identities, is this issue.</summary>
    /// <param name="failing">The op the failing step makes (its record's name), where the entry names <see cref="Calls"/>.</param>
    /// <param name="racing">The ops of the other branches of that step's parallel block.</param>
    /// <param name="leaked">For kernel memory left allocated (DMABUF-LIFE-4): each allocating call chain that grew, its
    /// functions innermost first; an entry that names <see cref="Leaks"/> matches only when every chain passes through it.</param>
    public bool Matches(string invariant, string kernel, IEnumerable<DeviceIdentity> devices, string? failing = null, IReadOnlyCollection<string>? racing = null,
        IReadOnlyList<IReadOnlyList<string>>? leaked = null) =>
        invariant == Invariant && Kernels.Any(r => r.Contains(kernel))
        && devices.Any(d => Drivers.Contains("*") || Drivers.Contains(d.Kind + ":*") || Drivers.Contains(d.Driver)
            || d.Exporter != null && Exporters.Contains(d.Exporter))
        && (Calls == null || failing == Calls.Failing && racing != null && Calls.Racing.All(racing.Contains))
        && (Leaks == null || leaked is { Count: > 0 } && leaked.All(chain => chain.Contains(Leaks)));

    /// <summary>One line for reports: the title, the versions and the fix.</summary>
    public string Summary =>
        $"{Id}: {Title} (kernels {string.Join("; ", Kernels)}{(Fix != null ? $"; fix {Fix.Commit[..Math.Min(12, Fix.Commit.Length)]} \"{Fix.Subject}\"" : "; no upstream fix")})";
}

/// <summary>Who a device is, as known-issue entries name it: its kind (video, heap, udmabuf, drm), its driver and, where it
/// exports dma-bufs, the exporter's name (fdinfo exp_name).</summary>
public readonly record struct DeviceIdentity(string Kind, string Driver, string? Exporter);

/// <summary>
/// The known kernel issues: the suite's own list (spec/known-issues.json, embedded) and a lab's own file of the same
/// format (--expectations FILE), the way IGT's CI keeps per-platform expected failures.
/// </summary>
public sealed class KnownIssueList
{
    public const string Format = "conformance-known-issues/1";

    public IReadOnlyList<KnownIssue> Issues { get; }

    private KnownIssueList(IReadOnlyList<KnownIssue> issues) => Issues = issues;

    public static KnownIssueList Empty { get; } = new([]);

    private static KnownIssueList? _builtIn;

    /// <summary>The list compiled into this assembly (spec/known-issues.json), checked against the catalog.</summary>
    public static KnownIssueList BuiltIn(Catalog catalog)
    {
        if (_builtIn != null) return _builtIn;
        using var s = typeof(KnownIssueList).Assembly.GetManifestResourceStream("known-issues.json")
            ?? throw new InvalidOperationException("known-issues.json is not embedded in Conformance.Spec");
        return _builtIn = Parse(s, "spec/known-issues.json", catalog, "built-in");
    }

    /// <summary>Reads a known-issues file. Throws <see cref="InvalidDataException"/> with one line naming the file, entry and fault.</summary>
    public static KnownIssueList Load(string path, Catalog catalog)
    {
        try
        {
            using var s = File.OpenRead(path);
            return Parse(s, path, catalog, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot be read: {e.Message}");
        }
    }

    /// <summary>This list followed by another's entries (a lab's file adds to the built-in list; IDs must stay unique).</summary>
    public KnownIssueList With(KnownIssueList other)
    {
        var dup = Issues.Select(i => i.Id).Intersect(other.Issues.Select(i => i.Id)).FirstOrDefault();
        if (dup != null) throw new InvalidDataException($"{other.Issues.First(i => i.Id == dup).Origin}: known issue '{dup}' is already defined ({Issues.First(i => i.Id == dup).Origin})");
        return new([.. Issues, .. other.Issues]);
    }

    /// <summary>The first entry the failure matches, or null.</summary>
    public KnownIssue? Match(string invariant, string kernel, IEnumerable<DeviceIdentity> devices, string? failing = null, IReadOnlyCollection<string>? racing = null,
        IReadOnlyList<IReadOnlyList<string>>? leaked = null)
    {
        var ds = devices.ToList();
        return Issues.FirstOrDefault(i => i.Matches(invariant, kernel, ds, failing, racing, leaked));
    }

    private static KnownIssueList Parse(Stream s, string name, Catalog catalog, string origin)
    {
        ListFile? file;
        try { file = JsonSerializer.Deserialize<ListFile>(s, new JsonSerializerOptions { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InvalidDataException($"{name}: not valid JSON: {e.Message}"); }
        if (file == null) throw new InvalidDataException($"{name}: empty");
        if (file.Format != Format) throw new InvalidDataException($"{name}: format is '{file.Format}', expected '{Format}'");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in file.Issues ?? throw new InvalidDataException($"{name}: no \"issues\" list"))
        {
            string where = $"{name}: known issue '{i.Id}'";
            if (string.IsNullOrWhiteSpace(i.Id)) throw new InvalidDataException($"{name}: a known issue has no id");
            if (!seen.Add(i.Id)) throw new InvalidDataException($"{where} is defined twice");
            if (string.IsNullOrWhiteSpace(i.Title)) throw new InvalidDataException($"{where} has no title");
            if (!catalog.Contains(i.Invariant ?? "")) throw new InvalidDataException($"{where} names invariant '{i.Invariant}', which is not in the catalog");
            if (i.Kernels is not { Count: > 0 }) throw new InvalidDataException($"{where} names no kernel range");
            foreach (var r in i.Kernels)
            {
                if (!KernelVersion.IsValid(r.From) || r.Fixed != null && !KernelVersion.IsValid(r.Fixed))
                    throw new InvalidDataException($"{where}: kernel range '{r.From}'..'{r.Fixed}' is not of the form 6.12.7");
                if (r.Fixed != null && KernelVersion.Compare(r.From, r.Fixed) >= 0)
                    throw new InvalidDataException($"{where}: kernel range starts at {r.From}, not before its fix {r.Fixed}");
            }
            if ((i.Drivers?.Count ?? 0) + (i.Exporters?.Count ?? 0) == 0)
                throw new InvalidDataException($"{where} names no driver and no exporter (use \"*\" for every one)");
            if (i.Calls is { } calls && (string.IsNullOrWhiteSpace(calls.Failing) || calls.Racing is null))
                throw new InvalidDataException($"{where}: \"calls\" needs the failing call and the racing calls (none, [], for a call that fails alone)");
            if (i.Leaks is { } leaks && (string.IsNullOrWhiteSpace(leaks) || leaks.Any(char.IsWhiteSpace)))
                throw new InvalidDataException($"{where}: \"leaks\" names one kernel function on the leaking allocation's call chain (e.g. begin_cpu_udmabuf)");
            if (i.Evidence is not { Source.Count: > 0 })
                throw new InvalidDataException($"{where} gives no evidence from the source");
        }
        var list = file.Issues.Select(i => i with { Drivers = i.Drivers ?? [], Exporters = i.Exporters ?? [], Evidence = i.Evidence with { Lab = i.Evidence.Lab ?? [] } }).ToList();
        foreach (var i in list) i.Origin = origin;
        return new(list);
    }

    private sealed record ListFile(
        [property: JsonPropertyName("format")] string? Format,
        [property: JsonPropertyName("issues")] List<KnownIssue>? Issues);
}

/// <summary>Kernel release strings ("6.12.117+deb12-amd64", "6.1.0-41-amd64") compared by their leading numbers.</summary>
public static class KernelVersion
{
    public static bool IsValid(string v) => v.Length > 0 && char.IsDigit(v[0]) && Parse(v).Length >= 2;

    public static int Compare(string a, string b)
    {
        int[] pa = Parse(a), pb = Parse(b);
        for (int i = 0; i < Math.Max(pa.Length, pb.Length); i++)
        {
            int x = i < pa.Length ? pa[i] : 0, y = i < pb.Length ? pb[i] : 0;
            if (x != y) return x.CompareTo(y);
        }
        return 0;
    }

    /// <summary>The dotted numbers before the first suffix: "6.12.117+deb12-amd64" is 6.12.117; "6.1.0-41-amd64" is 6.1.0.</summary>
    private static int[] Parse(string v)
    {
        var head = new string(v.TakeWhile(c => char.IsDigit(c) || c == '.').ToArray());
        return head.Split('.', StringSplitOptions.RemoveEmptyEntries).Select(p => int.TryParse(p, out var n) ? n : 0).ToArray();
    }
}
