using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Conformance.Properties;
using Conformance.Spec;

namespace Conformance.Reports;

/// <summary>What a merged run (--merge) joined: N of --shard I/N, the shard numbers merged and those missing.</summary>
public sealed record MergedShards(int Count, IReadOnlyList<int> Present, IReadOnlyList<int> Missing);

/// <summary>
/// Machine-readable results (schema reports/results.schema.json, embedded as <see cref="Schema"/>): run
/// options, and per unit its totals, properties with their counterexamples, and every invariant with its
/// status. Keys are written in a fixed order and only durations vary between runs of the same seed.
/// </summary>
public static class JsonReport
{
    public const string SchemaVersion = "conformance-results/4";

    /// <summary>The JSON Schema (draft 2020-12) the output follows.</summary>
    public static string Schema { get; } = LoadSchema();

    private static string LoadSchema()
    {
        using var s = typeof(JsonReport).Assembly.GetManifestResourceStream("results.schema.json")
            ?? throw new InvalidOperationException("results.schema.json is not embedded in Conformance.Reports");
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }

    /// <param name="merged">For results joined by --merge: the shards they came from (run.merged); null otherwise.</param>
    public static string Build(IReadOnlyList<UnitResult> units, Catalog catalog, string? kernel = null, string? suiteVersion = null, MergedShards? merged = null)
    {
        using var ms = new MemoryStream();
        // relaxed escaping keeps "kernel>=6.2" and quotes in rules readable; the output is a file, never HTML
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            var ran = units.Where(u => u.Result != null).Select(u => u.Result!).ToList();
            var totals = units.Select(Totals).Aggregate(default(VerdictCounts), (a, b) => a + b);
            w.WriteStartObject();
            w.WriteString("schema", SchemaVersion);
            w.WriteString("suite_version", suiteVersion);
            w.WriteString("kernel", kernel);
            var results = units.Select(Result).ToList();
            w.WriteString("result", results.Contains("fail") ? "fail" : results.Contains("known") ? "known" : results.All(x => x == "skip") ? "skip" : "pass");
            w.WriteStartObject("run");
            w.WriteStartArray("targets");
            foreach (var t in ran.Select(r => r.Target).Distinct()) w.WriteStringValue(t);
            w.WriteEndArray();
            // every unit of one run shares the options' seed, sequence count and length; null when they differ or nothing ran
            WriteShared(w, "seed", ran.Select(r => (ulong?)r.Options.Seed));
            WriteShared(w, "sequences", ran.Select(r => r.Options.Budget == null ? (ulong?)(ulong)r.Options.Sequences : null));
            var budget = ran.Select(r => r.Options.Budget?.TotalSeconds).Distinct().ToList();
            if (budget.Count == 1 && budget[0] is { } b) w.WriteNumber("time_budget_seconds", b); else w.WriteNull("time_budget_seconds");
            WriteShared(w, "max_length", ran.Select(r => (ulong?)(ulong)r.Options.MaxLength));
            var shards = ran.Select(r => r.Options.Shard).Distinct().ToList();
            w.WriteString("shard", shards.Count == 1 && shards[0] is { } shard ? shard.ToString() : null);
            if (merged is { } m)
            {
                w.WriteStartObject("merged");
                w.WriteNumber("shards", m.Count);
                foreach (var (name, numbers) in new[] { ("merged", m.Present), ("missing", m.Missing) })
                {
                    w.WriteStartArray(name);
                    foreach (var i in numbers) w.WriteNumberValue(i);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            else w.WriteNull("merged");
            w.WriteEndObject();
            WriteTally(w, totals);
            w.WriteStartArray("units");
            foreach (var u in units) WriteUnit(w, u, catalog);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    /// <summary>Invariant counts; a failure citing no invariant of the unit counts as failed, as in the text report.</summary>
    private static VerdictCounts Totals(UnitResult u) => u.Result?.Counts() ?? default;

    /// <summary>As in the KTAP report: a leak or any failure outside the known issues fails the unit; known failures alone make it
    /// known; a unit none of whose invariants was checked is skipped.</summary>
    public static string Result(UnitResult u) =>
        u.Leak != null || u.Result is { } r && (r.Failed || r.Invariants.Any(i => i.Verdict == Verdict.Fail)) ? "fail"
        : u.Result is { } k && k.HasKnown ? "known"
        : u.Result == null || u.Result.Invariants.All(i => i.Verdict is Verdict.Skip or Verdict.NotExercised) ? "skip"
        : "pass";

    private static void WriteShared(Utf8JsonWriter w, string name, IEnumerable<ulong?> values)
    {
        var distinct = values.Distinct().ToList();
        if (distinct.Count == 1 && distinct[0] is { } v) w.WriteNumber(name, v); else w.WriteNull(name);
    }

    private static void WriteTally(Utf8JsonWriter w, VerdictCounts t)
    {
        w.WriteStartObject("totals");
        w.WriteNumber("passed", t.Passed);
        w.WriteNumber("failed", t.Failed);
        w.WriteNumber("known", t.Known);
        w.WriteNumber("skipped", t.Skipped);
        w.WriteNumber("not_exercised", t.NotExercised);
        w.WriteEndObject();
    }

    private static void WriteUnit(Utf8JsonWriter w, UnitResult u, Catalog catalog)
    {
        var r = u.Result;
        w.WriteStartObject();
        w.WriteString("name", u.Name);
        w.WriteString("device", u.Device);
        w.WriteString("target", r?.Target);
        w.WriteString("profile", r?.Profile.Name);
        w.WriteString("result", Result(u));
        w.WriteString("skip_reason", r == null ? u.SkipReason ?? "not run" : null);
        w.WriteString("leak", u.Leak);
        w.WriteStartArray("notes");
        foreach (var n in u.Notes) w.WriteStringValue(n);
        w.WriteEndArray();
        WriteTally(w, Totals(u));
        w.WriteNumber("sequences", r?.Properties.Sum(p => (long)p.Sequences) ?? 0);
        w.WriteNumber("ops", r?.Exercise.Ops ?? 0);
        if (r != null) w.WriteNumber("elapsed_seconds", Seconds(r.Elapsed)); else w.WriteNull("elapsed_seconds");
        // a kernel run times the target's system calls (SyscallClock): their count and summed time
        if (r?.Syscalls is { } sc) { w.WriteNumber("system_calls", sc.Calls); w.WriteNumber("system_call_seconds", Math.Round(sc.Seconds, 3)); }
        else { w.WriteNull("system_calls"); w.WriteNull("system_call_seconds"); }
        w.WriteStartArray("properties");
        if (r != null) foreach (var p in r.Properties) WriteProperty(w, p, u, r, catalog);
        w.WriteEndArray();
        w.WriteStartArray("invariants");
        if (r != null) foreach (var i in r.Invariants) WriteInvariant(w, i);
        w.WriteEndArray();
        w.WriteStartArray("domains");
        if (r != null) foreach (var (d, values) in r.Domains.Report()) WriteDomain(w, d, values);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteDomain(Utf8JsonWriter w, Generators.Domain d, IReadOnlyList<(string Label, bool Valid, long Count)> values)
    {
        w.WriteStartObject();
        w.WriteString("name", d.Name);
        w.WriteString("source", d.Source);
        w.WriteStartArray("fields");
        foreach (var f in d.Fields) w.WriteStringValue(f);
        w.WriteEndArray();
        w.WriteStartArray("values");
        foreach (var (label, valid, count) in values)
        {
            w.WriteStartObject();
            w.WriteString("value", label);
            w.WriteBoolean("valid", valid);
            w.WriteNumber("generated", count);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteProperty(Utf8JsonWriter w, PropertyResult p, UnitResult u, SuiteResult r, Catalog catalog)
    {
        w.WriteStartObject();
        w.WriteString("name", p.Property.Name);
        w.WriteString("description", p.Property.Description);
        w.WriteNumber("sequences", p.Sequences);
        w.WriteNumber("elapsed_seconds", Seconds(p.Elapsed));
        w.WriteStartArray("failures");
        foreach (var f in p.Findings) WriteFinding(w, f, u, r, catalog);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteFinding(Utf8JsonWriter w, Finding p, UnitResult u, SuiteResult r, Catalog catalog)
    {
        var f = p.Failure;
        w.WriteStartObject();
        w.WriteString("invariant", f.InvariantId);
        w.WriteBoolean("in_scope", r.Invariants.Any(i => i.Invariant.Id == f.InvariantId));
        w.WriteString("rule", catalog.Contains(f.InvariantId) ? catalog[f.InvariantId].Rule : null);
        if (p.Known is { } k) WriteKnown(w, "known", k); else w.WriteNull("known");
        w.WriteNumber("found_after", p.FoundAfter);
        if (f.StepIndex >= 0) w.WriteNumber("step", f.StepIndex + 1); else w.WriteNull("step");
        w.WriteString("expected", f.Expected);
        w.WriteString("actual", f.Actual);
        w.WriteString("detail", f.Detail);
        w.WriteNumber("seed", r.Options.Seed);
        w.WriteNumber("replay_seed", p.ReplaySeed);
        w.WriteNumber("replay_sequences", p.ReplaySequences);
        w.WriteNumber("reproduced", p.Reproduced);
        w.WriteNumber("repro_runs", p.ReproRuns);
        if (p.ReproRuns > 0) w.WriteBoolean("flaky", p.Reproduced < p.ReproRuns); else w.WriteNull("flaky");
        w.WriteBoolean("driver_reloaded", p.DriverReloaded);
        w.WriteNumber("joined_history", p.JoinedHistory);
        var files = u.FilesFor(p);
        w.WriteString("replay_file", files?.ReplayPath);
        w.WriteString("reproducer", files?.ReproducerPath);
        w.WriteString("replay_command", u.ReplayCommand(p));
        w.WriteNumber("shrunk_steps", f.Steps.Count);
        w.WriteNumber("original_steps", p.OriginalLength);
        w.WriteNumber("shrinks", p.ShrinkSteps);
        w.WriteString("allowed", f.StepIndex >= 0 && f.StepIndex < f.Steps.Count ? f.Steps[f.StepIndex].Allowed : null);
        w.WriteStartArray("counterexample");
        foreach (var line in TextReport.Steps(f).TrimEnd().Replace("\r", "").Split('\n')) w.WriteStringValue(line);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteKnown(Utf8JsonWriter w, string name, KnownIssue k)
    {
        w.WriteStartObject(name);
        w.WriteString("id", k.Id);
        w.WriteString("origin", k.Origin);
        w.WriteString("title", k.Title);
        w.WriteStartArray("kernels");
        foreach (var range in k.Kernels)
        {
            w.WriteStartObject();
            w.WriteString("from", range.From);
            w.WriteString("fixed", range.Fixed);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("drivers");
        foreach (var d in k.Drivers) w.WriteStringValue(d);
        w.WriteEndArray();
        w.WriteStartArray("exporters");
        foreach (var e in k.Exporters) w.WriteStringValue(e);
        w.WriteEndArray();
        w.WriteStartArray("evidence");
        foreach (var e in k.Evidence.Source) w.WriteStringValue($"source: {e}");
        foreach (var e in k.Evidence.Lab) w.WriteStringValue($"lab: {e}");
        w.WriteEndArray();
        w.WriteString("fix", k.Fix is { } fix ? $"{fix.Commit} \"{fix.Subject}\"{(fix.Mainline != null ? $" (mainline {fix.Mainline})" : "")}" : null);
        w.WriteString("see", k.See);
        w.WriteEndObject();
    }

    private static void WriteInvariant(Utf8JsonWriter w, InvariantResult i)
    {
        w.WriteStartObject();
        w.WriteString("id", i.Invariant.Id);
        w.WriteString("area", i.Invariant.Area);
        w.WriteString("status", Status(i.Verdict));
        w.WriteNumber("checked", i.Exercised);
        w.WriteString("reason", i.Reason);
        w.WriteStartArray("known");
        foreach (var k in i.Known) w.WriteStringValue(k.Id);
        w.WriteEndArray();
        w.WriteString("deviates", i.Invariant.Deviation?.ToString());
        w.WriteString("rule", i.Invariant.Rule);
        w.WriteString("source", i.Invariant.Source.ToString());
        w.WriteEndObject();
    }

    public static string Status(Verdict v) => v switch
    {
        Verdict.Pass => "pass",
        Verdict.Fail => "fail",
        Verdict.Skip => "skip",
        Verdict.Known => "known",
        _ => "not_exercised",
    };

    private static double Seconds(TimeSpan t) => Math.Round(t.TotalSeconds, 3);
}
