using System.Text;
using Conformance.Properties;
using Conformance.Spec;

namespace Conformance.Reports;

/// <summary>
/// KTAP (Documentation/dev-tools/ktap.rst) for kselftest-style CI: one top-level test per unit, one
/// subtest per area inside it, one result line per invariant inside that. A passing invariant is a plain
/// <c>ok</c> (its check count is in the JSON report); a skipped or not-exercised one is <c>ok # SKIP</c>
/// with the reason; a failing one is <c>not ok</c> after diagnostic lines that carry its counterexample, and one that
/// fails only as a known kernel issue describes is <c>not ok # XFAIL</c> (expected to fail, never a pass).
/// Failures bubble up: an area or unit with a failing child, or a unit that leaked, is <c>not ok</c>; one whose only
/// failures are known issues is <c>not ok # XFAIL</c>.
/// </summary>
public static class KtapReport
{
    public const string VersionLine = "KTAP version 1";
    /// <summary>The subtest holding failures whose invariant is not in the catalog (the model cited no rule).</summary>
    public const string UncitedArea = "uncited";

    /// <summary>The run's KTAP; its first diagnostic names the suite's version and commit.</summary>
    public static string Build(IReadOnlyList<UnitResult> units, Catalog catalog, string? suiteVersion = null)
    {
        var sb = new StringBuilder();
        WriteLevel(sb, 0, units.Select(u => UnitTest(u, catalog)).ToList(), [$"buffer-sharing conformance suite {suiteVersion ?? SuiteVersion.Text}"], []);
        return sb.ToString();
    }

    /// <summary>One KTAP test: diagnostics before its subtests (or result line), subtests, diagnostics after them.</summary>
    private sealed class KtapTest(string name)
    {
        public string Name { get; } = name;
        public List<string> Head { get; } = [];
        public List<string> Tail { get; } = [];
        public List<KtapTest> Subtests { get; } = [];
        /// <summary>Failed on its own account (a failing invariant, a leak), whatever its subtests did.</summary>
        public bool FailedItself { get; set; }
        /// <summary>SKIP reason for a leaf; a parent derives its own from its subtests.</summary>
        public string? SkipReason { get; set; }

        /// <summary>XFAIL reason for a leaf that failed only as known kernel issues describe.</summary>
        public string? KnownReason { get; set; }

        public bool Failed => FailedItself || Subtests.Any(s => s.Failed);

        /// <summary>Not a failure of its own, but a known issue in it or below: <c>not ok # XFAIL</c>.</summary>
        public string? Xfail => Failed ? null
            : Subtests.Count == 0 ? KnownReason
            : Subtests.Count(s => s.Xfail != null) is var k and > 0 ? $"{k} with known kernel issues" : null;

        public string? Skip => Failed || Xfail != null ? null
            : Subtests.Count == 0 ? SkipReason
            : Subtests.All(s => s.Skip != null) ? "every invariant skipped" : null;
    }

    private static KtapTest UnitTest(UnitResult u, Catalog catalog)
    {
        var t = new KtapTest(u.Name);
        if (u.Device != null) t.Head.Add($"device {u.Device}");
        var r = u.Result;
        if (r == null)
        {
            t.Head.AddRange(u.Notes);
            t.SkipReason = u.SkipReason ?? "not run";
            AddLeak(t, u);
            return t;
        }
        t.Head.Add($"target {r.Target}, profile {r.Profile.Name}, kernel {r.Profile.Kernel}");
        t.Head.Add($"{TextReport.Budget(r.Options)}, max length {r.Options.MaxLength}");
        t.Head.AddRange(u.Notes);

        var failures = r.Findings.ToList();
        var areas = new List<KtapTest>();
        KtapTest Area(string name)
        {
            var a = areas.FirstOrDefault(x => x.Name == name);
            if (a == null) areas.Add(a = new KtapTest(name));
            return a;
        }
        foreach (var i in r.Invariants)
            Area(i.Invariant.Area).Subtests.Add(InvariantTest(i, failures.Where(p => p.Failure.InvariantId == i.Invariant.Id).ToList(), u, r, catalog));

        // a failure citing an invariant outside this unit's list must still fail the unit: never drop it
        var judged = r.Invariants.Select(i => i.Invariant.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var g in failures.Where(p => !judged.Contains(p.Failure.InvariantId)).GroupBy(p => p.Failure.InvariantId))
        {
            var inCatalog = catalog.Contains(g.Key);
            bool known = g.All(p => p.Known != null);
            var leaf = new KtapTest(g.Key) { FailedItself = !known, KnownReason = known ? $"known kernel issue {string.Join(", ", g.Select(p => p.Known!.Id).Distinct())}" : null };
            leaf.Head.Add(inCatalog ? $"{g.Key} is outside the selected areas or IDs, but a property failed on it"
                                    : $"{g.Key}: the model cites no catalog invariant for this outcome");
            foreach (var p in g) leaf.Head.AddRange(FailureLines(p, u, r, catalog));
            Area(inCatalog ? catalog[g.Key].Area : UncitedArea).Subtests.Add(leaf);
        }
        t.Subtests.AddRange(areas);
        if (areas.Count == 0) t.SkipReason = "no invariant in scope";
        t.Tail.Add(TextReport.Totals(r));
        AddLeak(t, u);
        return t;
    }

    private static void AddLeak(KtapTest t, UnitResult u)
    {
        if (u.Leak == null) return;
        t.Tail.Add($"LEAK: {u.Leak}");
        t.FailedItself = true;
    }

    private static KtapTest InvariantTest(InvariantResult i, List<Finding> failures, UnitResult u, SuiteResult r, Catalog catalog)
    {
        var t = new KtapTest(i.Invariant.Id);
        if (i.Invariant.Deviation is { } dev) t.Head.Add($"DEVIATES: {dev}");
        switch (i.Verdict)
        {
            case Verdict.Known:
                t.KnownReason = $"known kernel issue {string.Join(", ", i.Known.Select(k => k.Id))}";
                if (failures.Count == 0) t.Head.Add($"{i.Invariant.Id}: {i.Invariant.Rule} ({i.Reason ?? "no counterexample recorded"})");
                foreach (var p in failures) t.Head.AddRange(FailureLines(p, u, r, catalog));
                break;
            case Verdict.Fail:
                t.FailedItself = true;
                if (failures.Count == 0) t.Head.Add($"{i.Invariant.Id}: {i.Invariant.Rule} ({i.Reason ?? "no counterexample recorded"})");
                foreach (var p in failures) t.Head.AddRange(FailureLines(p, u, r, catalog));
                break;
            case Verdict.Skip:
                t.SkipReason = i.Reason ?? "precondition not met";
                break;
            case Verdict.NotExercised:
                t.SkipReason = $"not exercised: {i.Reason ?? "no sequence reached it"}";
                break;
        }
        return t;
    }

    /// <summary>Everything needed to understand and re-run a counterexample, as diagnostic lines.</summary>
    private static IEnumerable<string> FailureLines(Finding p, UnitResult u, SuiteResult r, Catalog catalog)
    {
        var f = p.Failure;
        if (catalog.Contains(f.InvariantId))
        {
            var inv = catalog[f.InvariantId];
            yield return $"{f.InvariantId}: {inv.Rule}";
            yield return $"source: {inv.Source}";
        }
        if (p.Known is { } k)
        {
            yield return $"known kernel issue {k.Summary}";
            foreach (var e in k.Evidence.Source) yield return $"evidence (source): {e}";
            foreach (var e in k.Evidence.Lab) yield return $"evidence (lab): {e}";
        }
        yield return $"property {p.Property.Name}: failed after {p.FoundAfter} sequences";
        yield return $"seed {r.Options.Seed}; replay seed {p.ReplaySeed} ({p.ReplaySequences} sequences)";
        yield return f.StepIndex >= 0 ? $"failing step {f.StepIndex + 1} of {f.Steps.Count}" : $"failing check: end of sequence ({f.Steps.Count} steps){(f.Detail != null ? $": {f.Detail}" : "")}";
        yield return $"expected: {f.Expected}";
        yield return $"actual: {f.Actual}";
        yield return p.ReproRuns == 0 ? "reproduced: not measured"
            : $"reproduced {p.Reproduced}/{p.ReproRuns}{(p.Reproduced < p.ReproRuns ? " FLAKY" : "")}";
        var files = u.FilesFor(p);
        yield return files == null ? "replay file: not written" : $"replay file: {files.ReplayPath}";
        yield return files == null ? "C reproducer: not written" : $"C reproducer: {files.ReproducerPath}";
        yield return $"replay: {u.ReplayCommand(p)}";
        yield return $"counterexample, shrunk from {p.OriginalLength} to {f.Steps.Count} steps:";
        yield return TextReport.Steps(f).TrimEnd();
    }

    /// <summary>Writes a version line, plan and the tests of one level; a test with subtests recurses one level deeper first.</summary>
    private static void WriteLevel(StringBuilder sb, int depth, IReadOnlyList<KtapTest> tests, IEnumerable<string> head, IEnumerable<string> tail)
    {
        var indent = new string(' ', 2 * depth);
        sb.Append(indent).Append(VersionLine).Append('\n');
        sb.Append(indent).Append("1..").Append(tests.Count).Append('\n');
        foreach (var d in head) Diagnostic(sb, indent, d);
        for (int n = 0; n < tests.Count; n++)
        {
            var t = tests[n];
            if (t.Subtests.Count > 0) WriteLevel(sb, depth + 1, t.Subtests, t.Head, t.Tail);
            else foreach (var d in t.Head.Concat(t.Tail)) Diagnostic(sb, indent, d);
            sb.Append(indent).Append(t.Failed || t.Xfail != null ? "not ok " : "ok ").Append(n + 1).Append(' ').Append(Description(t.Name));
            if (t.Xfail is { } xfail) sb.Append(" # XFAIL ").Append(OneLine(xfail));
            else if (t.Skip is { } skip) sb.Append(" # SKIP ").Append(OneLine(skip));
            sb.Append('\n');
        }
        foreach (var d in tail) Diagnostic(sb, indent, d);
    }

    /// <summary>A diagnostic line per line of text: KTAP lines cannot carry a newline.</summary>
    private static void Diagnostic(StringBuilder sb, string indent, string text)
    {
        foreach (var line in text.Replace("\r\n", "\n").Split('\n', '\r'))
            sb.Append(indent).Append("# ").Append(OneLine(line).TrimEnd()).Append('\n');
    }

    /// <summary>A test description: one line, no '#' (it would start a directive).</summary>
    public static string Description(string name)
    {
        var s = OneLine(name.Replace('#', '_')).Trim();
        return s.Length == 0 ? "unnamed" : s;
    }

    private static string OneLine(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s) sb.Append(char.IsControl(c) ? ' ' : c);
        return sb.ToString();
    }
}
