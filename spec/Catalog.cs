using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Conformance.Spec;

/// <summary>Where the kernel states a rule: its documentation, a uapi header, or only its code.</summary>
public sealed record Source(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("section")] string Section,
    [property: JsonPropertyName("quote")] string? Quote)
{
    public override string ToString() =>
        Kind == "impl" ? $"{File}:{Section} (implementation only)" : $"{File}, {Section}";
}

/// <summary>
/// Where the suite follows the kernel's code against its documentation because the documentation is what is out of
/// date (every kernel behaves the same way): the spec/ambiguities.md entry and why. Reports print it as DEVIATES.
/// </summary>
public sealed record Deviation(
    [property: JsonPropertyName("amb")] string Amb,
    [property: JsonPropertyName("summary")] string Summary)
{
    public override string ToString() => $"{Summary} ({Amb})";
}

/// <summary>One documented rule, with a stable ID, an exact expected outcome and where it comes from.</summary>
public sealed record Invariant(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("rule")] string Rule,
    [property: JsonPropertyName("expected")] string Expected,
    [property: JsonPropertyName("preconditions")] IReadOnlyList<string> Preconditions,
    [property: JsonPropertyName("minKernel")] string? MinKernel,
    [property: JsonPropertyName("source")] Source Source,
    [property: JsonPropertyName("implementation")] string? Implementation,
    [property: JsonPropertyName("note")] string? Note,
    [property: JsonPropertyName("deviation")] Deviation? Deviation = null)
{
    [JsonIgnore] public string Area { get; internal set; } = "";
}

public sealed record AreaCatalog(
    [property: JsonPropertyName("area")] string Area,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("invariants")] IReadOnlyList<Invariant> Invariants);

/// <summary>The whole invariant catalog: one JSON file per area under spec/catalog, embedded at build time.</summary>
public sealed class Catalog
{
    public IReadOnlyList<AreaCatalog> Areas { get; }
    public IReadOnlyList<Invariant> All { get; }
    private readonly Dictionary<string, Invariant> _byId;

    private Catalog(IReadOnlyList<AreaCatalog> areas)
    {
        Areas = areas;
        foreach (var a in areas)
            foreach (var i in a.Invariants) i.Area = a.Area;
        All = areas.SelectMany(a => a.Invariants).ToList();
        _byId = new Dictionary<string, Invariant>(StringComparer.Ordinal);
        foreach (var i in All)
            if (!_byId.TryAdd(i.Id, i))
                throw new InvalidDataException($"duplicate invariant ID {i.Id}");
    }

    public Invariant this[string id] => _byId.TryGetValue(id, out var i) ? i
        : throw new KeyNotFoundException($"unknown invariant ID {id}");

    public bool Contains(string id) => _byId.ContainsKey(id);

    private static Catalog? _embedded;

    /// <summary>The catalog compiled into this assembly.</summary>
    public static Catalog Load()
    {
        if (_embedded != null) return _embedded;
        var asm = typeof(Catalog).Assembly;
        var areas = new List<AreaCatalog>();
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith("catalog/")).Order())
        {
            using var s = asm.GetManifestResourceStream(name)!;
            areas.Add(Parse(s, name));
        }
        return _embedded = new Catalog(areas);
    }

    /// <summary>Reads catalog files from a folder (used to check the files in the tree).</summary>
    public static Catalog LoadFrom(string dir) =>
        new(Directory.GetFiles(dir, "*.json").Order().Select(f => { using var s = File.OpenRead(f); return Parse(s, f); }).ToList());

    private static AreaCatalog Parse(Stream s, string name)
    {
        var cat = JsonSerializer.Deserialize<AreaCatalog>(s, new JsonSerializerOptions { ReadCommentHandling = JsonCommentHandling.Skip })
                  ?? throw new InvalidDataException($"{name}: empty catalog");
        foreach (var i in cat.Invariants)
        {
            if (string.IsNullOrWhiteSpace(i.Name) || !char.IsAsciiLetterUpper(i.Name[0]) || !i.Name.All(char.IsAsciiLetterOrDigit))
                throw new InvalidDataException($"{name}: invariant {i.Id} needs a \"name\", the PascalCase C# constant the model cites it by (Inv.{i.Name})");
            if (string.IsNullOrWhiteSpace(i.Rule) || string.IsNullOrWhiteSpace(i.Expected) || i.Source is null
                || string.IsNullOrWhiteSpace(i.Source.File))
                throw new InvalidDataException($"{name}: invariant {i.Id} lacks a rule, an expected outcome or a source");
            if (i.Deviation is { } d && (!d.Amb.StartsWith("AMB-", StringComparison.Ordinal) || string.IsNullOrWhiteSpace(d.Summary)))
                throw new InvalidDataException($"{name}: invariant {i.Id} has a deviation without an AMB entry or a summary");
            foreach (var p in i.Preconditions)
                if (!Precondition.IsWellFormed(p))
                    throw new InvalidDataException($"{name}: invariant {i.Id} has malformed precondition '{p}'");
        }
        return cat;
    }
}

/// <summary>Precondition tokens used in the catalog; a target that lacks one skips the invariant with the reason.</summary>
public static class Precondition
{
    // no kernel-version token: a behaviour that changed because a bug was fixed is a known issue
    // (spec/known-issues.json), so an older kernel is reported as having the bug, never as exempt
    private static readonly string[] Prefixes = ["cap:", "nocap:", "memory:", "ioctl:", "noioctl:", "device:", "queue:", "io:", "kernel:", "calls:"];
    public static bool IsWellFormed(string token) => Prefixes.Any(p => token.StartsWith(p, StringComparison.Ordinal) && token.Length > p.Length);
}
