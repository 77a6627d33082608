using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Conformance.Reports;

/// <summary>How one invariant of one unit moved between a baseline run and this one.</summary>
public enum Change
{
    /// <summary>FAIL now; before it passed, was skipped or not exercised, was KNOWN, or the unit was not in the baseline.</summary>
    NewFailure,
    /// <summary>KNOWN now where it passed (a known kernel issue that the baseline's kernel or driver did not show).</summary>
    NewlyKnown,
    /// <summary>FAIL on both sides, with the same counterexample steps.</summary>
    StillFailing,
    /// <summary>FAIL on both sides, with a counterexample of other steps (another bug, or the same one found another way).</summary>
    FailingDifferently,
    /// <summary>KNOWN on both sides.</summary>
    StillKnown,
    /// <summary>PASS now where it failed (FAIL or KNOWN) before.</summary>
    Fixed,
    /// <summary>PASS now where it was skipped or not exercised before.</summary>
    NewlyExercised,
    /// <summary>Skipped or not exercised now where it passed before: coverage the baseline had and this run lacks.</summary>
    NoLongerExercised,
}

/// <summary>One invariant's move: the unit (its device path, or its name for the model), the invariant, both statuses
/// (results.json's: pass, fail, known, skip, not_exercised; "absent" where a side lacks it).</summary>
public sealed record InvariantChange(string Unit, string Invariant, string Before, string After, Change Change);

/// <summary>
/// The regression diff of a run against a baseline results.json (last night's, a release's): per unit, matched by device
/// path (a model run by its profile), and per invariant, what changed; the kernels and suite versions of both sides; units
/// one side lacks. <see cref="Regressed"/>: a new failure, a newly known issue, or a unit of the baseline missing now.
/// Both sides are the suite's JSON (reports/results.schema.json, any conformance-results/ version that has units).
/// </summary>
public sealed record RegressionDiff(
    string BaselinePath, string? KernelBefore, string? KernelAfter, string? SuiteBefore, string? SuiteAfter,
    IReadOnlyList<InvariantChange> Changes, IReadOnlyList<string> UnitsAdded, IReadOnlyList<string> UnitsMissing)
{
    public bool Regressed => UnitsMissing.Count > 0 || Changes.Any(c => c.Change is Change.NewFailure or Change.NewlyKnown);

    /// <summary>Reads a baseline file: its JSON must be the suite's results. Throws <see cref="InvalidDataException"/> with the
    /// reason in one line when it is not.</summary>
    public static JsonDocument Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new InvalidDataException($"cannot read {path}: {e.Message}"); }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not JSON ({e.Message})"); }
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("schema", out var s) || s.ValueKind != JsonValueKind.String
            || !s.GetString()!.StartsWith("conformance-results/", StringComparison.Ordinal) || !doc.RootElement.TryGetProperty("units", out var u) || u.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path} is not a results.json of this suite (no \"schema\": \"conformance-results/N\" with \"units\")");
        return doc;
    }

    /// <param name="scope">The devices the run was limited to (--device), or null: a baseline's device outside them is not
    /// missing, only not asked for.</param>
    public static RegressionDiff Compare(string baselinePath, JsonDocument baseline, JsonDocument current, IReadOnlyCollection<string>? scope = null)
    {
        var before = Units(baseline.RootElement);
        // a device the baseline did not certify (skipped as a whole), or one this run was not asked for, cannot go missing
        var asked = scope is { Count: > 0 } ? scope.ToHashSet(StringComparer.Ordinal) : null;
        var after = Units(current.RootElement);
        var changes = new List<InvariantChange>();
        foreach (var (key, now) in after)
        {
            before.TryGetValue(key, out var then);
            foreach (var (id, inv) in now.Invariants)
            {
                // a unit new to the run is listed as new; of its invariants only the failures count
                if (then == null && inv.Status != "fail") continue;
                var old = then?.Invariants.GetValueOrDefault(id);
                var c = Classify(old?.Status ?? "absent", inv.Status, old?.Counterexample, inv.Counterexample);
                if (c is { } change) changes.Add(new(key, id, old?.Status ?? "absent", inv.Status, change));
            }
        }
        return new(baselinePath, Str(baseline.RootElement, "kernel"), Str(current.RootElement, "kernel"),
            Str(baseline.RootElement, "suite_version"), Str(current.RootElement, "suite_version"), changes,
            [.. after.Keys.Where(k => !before.ContainsKey(k))],
            [.. before.Where(b => !after.ContainsKey(b.Key) && !b.Value.Skipped && (asked == null || asked.Contains(b.Key))).Select(b => b.Key)]);
    }

    private static Change? Classify(string before, string after, string? cxBefore, string? cxAfter) => (before, after) switch
    {
        ("fail", "fail") => cxBefore == cxAfter ? Change.StillFailing : Change.FailingDifferently,
        (_, "fail") => Change.NewFailure,
        ("known", "known") => Change.StillKnown,
        ("pass", "known") => Change.NewlyKnown,
        // a rule not judged before (or a unit new to the run) that now shows a known issue: known, not a regression of this run
        (_, "known") => Change.StillKnown,
        ("fail" or "known", "pass") => Change.Fixed,
        ("skip" or "not_exercised" or "absent", "pass") => Change.NewlyExercised,
        ("pass", "skip" or "not_exercised") => Change.NoLongerExercised,
        _ => null,
    };

    private sealed record Inv(string Status, string? Counterexample);
    private sealed record Unit(Dictionary<string, Inv> Invariants, bool Skipped);

    private static Dictionary<string, Unit> Units(JsonElement root)
    {
        var units = new Dictionary<string, Unit>(StringComparer.Ordinal);
        foreach (var u in root.GetProperty("units").EnumerateArray())
        {
            // a kernel unit by its device path; a model run by its profile (so a broken variant compares with the model)
            string key = Str(u, "device") ?? (Str(u, "profile") is { } profile ? $"model profile {profile}" : null) ?? Str(u, "name") ?? "?";
            // the counterexample of each failing invariant, its steps as the text report prints them (no file paths)
            var cx = new Dictionary<string, string>(StringComparer.Ordinal);
            if (u.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Array)
                foreach (var p in props.EnumerateArray())
                    if (p.TryGetProperty("failures", out var fs) && fs.ValueKind == JsonValueKind.Array)
                        foreach (var f in fs.EnumerateArray())
                            if (Str(f, "invariant") is { } id && !cx.ContainsKey(id) && f.TryGetProperty("counterexample", out var lines) && lines.ValueKind == JsonValueKind.Array)
                                cx[id] = string.Join("\n", lines.EnumerateArray().Select(l => l.GetString()));
            var invs = new Dictionary<string, Inv>(StringComparer.Ordinal);
            if (u.TryGetProperty("invariants", out var list) && list.ValueKind == JsonValueKind.Array)
                foreach (var i in list.EnumerateArray())
                    if (Str(i, "id") is { } id && Str(i, "status") is { } status)
                        invs[id] = new(status, cx.GetValueOrDefault(id));
            units[key] = new(invs, Str(u, "result") == "skip");
        }
        return units;
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static readonly (Change Change, string Title)[] Order =
    [
        (Change.NewFailure, "new failures"), (Change.NewlyKnown, "newly known kernel issues"), (Change.FailingDifferently, "still failing, another counterexample"),
        (Change.StillFailing, "still failing, the same counterexample"), (Change.StillKnown, "known kernel issues, as before or judged for the first time"), (Change.Fixed, "fixed"),
        (Change.NewlyExercised, "newly exercised"), (Change.NoLongerExercised, "no longer exercised"),
    ];

    /// <summary>The diff as the run prints it: a verdict line, the versions, then each kind of change with its invariants.</summary>
    public string Text()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# regression diff against {BaselinePath}: {(Regressed ? "REGRESSED" : "no regression")}");
        sb.AppendLine($"#   kernel {KernelBefore ?? "none (the model)"} -> {KernelAfter ?? "none (the model)"}; suite {SuiteBefore ?? "?"} -> {SuiteAfter ?? "?"}");
        foreach (var u in UnitsMissing) sb.AppendLine($"#   unit missing now (in the baseline): {u}");
        foreach (var u in UnitsAdded) sb.AppendLine($"#   unit new in this run: {u}");
        foreach (var (change, title) in Order)
        {
            var list = Changes.Where(c => c.Change == change).ToList();
            if (list.Count == 0) continue;
            // what stayed as it was is counted here and listed in regressions.json
            if (change is Change.StillKnown or Change.StillFailing && list.Count > 3) { sb.AppendLine($"#   {title}: {list.Count} (listed in regressions.json)"); continue; }
            sb.AppendLine($"#   {title} ({list.Count}):");
            foreach (var c in list) sb.AppendLine($"#     {c.Unit}  {c.Invariant}  {c.Before} -> {c.After}");
        }
        return sb.ToString();
    }

    /// <summary>The diff as regressions.json: the same facts, for a lab's dashboards.</summary>
    public string Json()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("schema", "conformance-regressions/1");
            w.WriteString("baseline", BaselinePath);
            w.WriteBoolean("regressed", Regressed);
            w.WriteStartObject("kernel"); w.WriteString("before", KernelBefore); w.WriteString("after", KernelAfter); w.WriteEndObject();
            w.WriteStartObject("suite_version"); w.WriteString("before", SuiteBefore); w.WriteString("after", SuiteAfter); w.WriteEndObject();
            w.WriteStartArray("units_missing"); foreach (var u in UnitsMissing) w.WriteStringValue(u); w.WriteEndArray();
            w.WriteStartArray("units_added"); foreach (var u in UnitsAdded) w.WriteStringValue(u); w.WriteEndArray();
            w.WriteStartArray("changes");
            foreach (var c in Changes)
            {
                w.WriteStartObject();
                w.WriteString("unit", c.Unit);
                w.WriteString("invariant", c.Invariant);
                w.WriteString("before", c.Before);
                w.WriteString("after", c.After);
                w.WriteString("change", JsonNamingPolicy.SnakeCaseLower.ConvertName(c.Change.ToString()));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }
}
