using System.Text;
using Conformance.Adapters;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Spec;

namespace Conformance.Reports;

/// <summary>The human-readable report: one line per invariant, a totals line, and the minimal counterexample.</summary>
public static class TextReport
{
    public static string Header(SuiteResult r) =>
        $"# target {r.Target} (profile {r.Profile.Name}, kernel {r.Profile.Kernel}; " +
        string.Join(", ", r.Profile.Video.Select(v => $"{v.Device}: {v.Driver} {v.Card}").Concat(r.Profile.Heaps.Select(h => $"{h.Device}")).Concat(r.Profile.UdmabufDevice is { } u ? [u] : [])) + ")";

    public static string Invariants(SuiteResult r)
    {
        var sb = new StringBuilder();
        var withCounterexample = r.Findings.Select(f => f.Failure.InvariantId).ToHashSet(StringComparer.Ordinal);
        foreach (var i in r.Invariants)
        {
            var tag = Tag(i.Verdict);
            // a verdict without a counterexample (kernel memory left over a property's sequences, DMABUF-LIFE-4) says what was seen
            var evidence = withCounterexample.Contains(i.Invariant.Id) ? "see counterexample below" : i.Reason ?? "no counterexample recorded";
            var detail = i.Verdict switch
            {
                Verdict.Pass => $"checked {i.Exercised} {(i.Exercised == 1 ? "time" : "times")}",
                Verdict.Fail => evidence,
                Verdict.Known => $"{string.Join("; ", i.Known.Select(k => k.Summary))}; {evidence}",
                _ => i.Reason,
            };
            if (i.Invariant.Deviation is { } dev) detail += $"; DEVIATES: follows the kernel's code, the documentation is out of date ({dev})";
            sb.AppendLine($"{tag,-13} {i.Invariant.Id,-20} {detail}");
        }
        return sb.ToString();
    }

    /// <summary>The report's word for a verdict (KTAP, JSON and JUnit carry the same).</summary>
    public static string Tag(Verdict v) => v switch
    {
        Verdict.Pass => "PASS", Verdict.Fail => "FAIL", Verdict.Known => "KNOWN", Verdict.Skip => "SKIP", _ => "NOT EXERCISED",
    };

    /// <summary>"seed 1, 3000 sequences per property" (or "time budget 600 s"), with ", shard 1/4" under --shard: what the
    /// certificate and KTAP say a run was given.</summary>
    public static string Budget(RunOptions o) =>
        $"{Seed(o)}, " + (o.Budget is { } b ? $"time budget {b.TotalSeconds:F0} s" : $"{o.Sequences} sequences per property");

    /// <summary>"seed 1", or "seed 1, shard 1/4" under --shard.</summary>
    private static string Seed(RunOptions o) => $"seed {o.Seed}{(o.Shard is { } shard ? $", shard {shard}" : "")}";

    public static string Totals(SuiteResult r)
    {
        var c = r.Counts();
        long seqs = r.Properties.Sum(p => p.Sequences);
        return $"totals: {c.Passed} passed, {c.Failed} failed, {c.Known} known, {c.Skipped} skipped, {c.NotExercised} not exercised; {seqs} sequences, {r.Exercise.Ops} ops in {r.Elapsed.TotalSeconds:F1} s ({Seed(r.Options)})";
    }

    /// <summary>
    /// The argument domains the run drew from (a domain no generated op needed is left out: its ops were not in the run's
    /// areas or profile) and the declared values of theirs it never drew; per value counts are in the JSON report.
    /// </summary>
    public static string DomainCoverage(SuiteResult r)
    {
        var used = r.Domains.Report().Where(d => d.Values.Any(v => v.Count > 0)).ToList();
        var values = used.SelectMany(d => d.Values).ToList();
        var never = used.SelectMany(d => d.Values.Where(v => v.Count == 0).Select(v => $"{d.Domain.Name} = {v.Label}")).ToList();
        return $"domains: {used.Count} argument domains drawn from, {values.Count(v => v.Count > 0)} of their {values.Count} declared values generated " +
            $"({values.Count(v => v.Count > 0 && !v.Valid)} of {values.Count(v => !v.Valid)} invalid ones)" +
            (never.Count == 0 ? "" : $"; never: {string.Join("; ", never.Take(6))}{(never.Count > 6 ? $"; and {never.Count - 6} more (results.json)" : "")}");
    }

    public static string Counterexample(SuiteResult r, Finding p, Catalog catalog, string replayCommand, CounterexampleFiles? files = null)
    {
        var f = p.Failure;
        var sb = new StringBuilder();
        var inv = catalog.Contains(f.InvariantId) ? catalog[f.InvariantId] : null;
        sb.AppendLine($"{(p.Known != null ? "KNOWN" : "FAIL")} {f.InvariantId}: {inv?.Rule ?? "(no invariant cited: the model has no rule for this outcome)"}");
        if (inv != null)
        {
            sb.AppendLine($"  expected: {inv.Expected}");
            sb.AppendLine($"  source:   {inv.Source}");
            if (inv.Implementation != null) sb.AppendLine($"  implemented in: {inv.Implementation}");
        }
        if (p.Known is { } k)
        {
            sb.AppendLine($"  known kernel issue {k.Id} ({k.Origin}): {k.Title}");
            sb.AppendLine($"    kernels: {string.Join("; ", k.Kernels)}; drivers/exporters: {string.Join(", ", k.Drivers.Concat(k.Exporters))}");
            foreach (var e in k.Evidence.Source) sb.AppendLine($"    source: {e}");
            foreach (var e in k.Evidence.Lab) sb.AppendLine($"    lab:    {e}");
            sb.AppendLine(k.Fix is { } fix ? $"    fix:    {fix.Commit} \"{fix.Subject}\"{(fix.Mainline != null ? $" (mainline {fix.Mainline})" : "")}" : "    fix:    none upstream yet");
            if (k.See != null) sb.AppendLine($"    see:    spec/ambiguities.md {k.See}");
        }
        sb.AppendLine($"  property: {p.Property.Name} ({p.Property.Description}); found after {p.FoundAfter} sequences, shrunk from {p.OriginalLength} to {f.Steps.Count} steps in {p.ShrinkSteps} shrink steps");
        if (p.JoinedHistory > 0)
            sb.AppendLine($"  history: the failing sequence did not fail again on its own from a fresh device; this counterexample is shrunk from it joined to the {p.JoinedHistory} sequence(s) run before it (the device kept state across closes)");
        sb.AppendLine();
        sb.Append(Steps(f));
        sb.AppendLine();
        if (p.ReproRuns > 0)
            sb.AppendLine((p.Deterministic ? $"  reproduced: failed again in {p.Reproduced} of {p.ReproRuns} re-runs, each from a fresh state"
                : $"  FLAKY: failed again in only {p.Reproduced} of {p.ReproRuns} re-runs, each from a fresh state") + (p.DriverReloaded ? " (driver reloaded)" : ""));
        if (files != null)
        {
            sb.AppendLine($"  replay file:  {files.ReplayPath}   ({ReplayFileCommand(files.ReplayPath, r.Target)})");
            sb.AppendLine($"  C reproducer: {files.ReproducerPath}   (gcc -Wall -o repro {Shell.Quote(files.ReproducerPath)} && ./repro)");
        }
        sb.AppendLine($"  replay: {replayCommand}");
        return sb.ToString();
    }

    /// <summary>The command that runs a replay file again: in the lab VM it boots the same lab (modules included).</summary>
    public static string ReplayFileCommand(string path, string target) =>
        target.StartsWith("kernel", StringComparison.Ordinal) && Environment.GetEnvironmentVariable("CONFORMANCE_REPLAY_PREFIX") is { Length: > 0 } prefix
            ? $"{prefix} --replay {Shell.Quote(path)}" : $"./run-suite.sh --replay {Shell.Quote(path)}";

    /// <summary>Each step's call with handles renumbered v1, v2, ... in the order they were created, so a shrunk sequence reads cleanly.</summary>
    public static IReadOnlyList<string> StepTexts(IReadOnlyList<(Op Op, Outcome Actual)> steps)
    {
        var names = new Dictionary<int, int>();
        foreach (var (op, actual) in steps) if (op.Creates && actual.Ok) names[op.Id] = names.Count + 1;
        Var Rename(Var v) => names.TryGetValue(v.Id, out var k) ? new Var(k) : v;
        return steps.Select(s => (s.Op.MapVars(Rename) with { Id = names.GetValueOrDefault(s.Op.Id, 0) }).Listed).ToList();
    }

    /// <summary>Numbered steps, model and target side by side; the divergent step is marked.</summary>
    public static string Steps(Failure f)
    {
        var sb = new StringBuilder();
        var texts = StepTexts(f.Steps.Select(s => (s.Op, s.Actual)).ToList());
        for (int i = 0; i < f.Steps.Count; i++)
        {
            var s = f.Steps[i];
            bool bad = i == f.StepIndex;
            sb.AppendLine($"  {(bad ? ">" : " ")}{i + 1,3}. {texts[i]}");
            var actual = s.Actual.Errno == Errno.NotRun ? "not run (a handle it names does not exist)" : s.Op.Observed(s.Actual);
            if (bad)
            {
                sb.AppendLine($"         expected: {f.Expected}{(s.Allowed != null ? $"   (allowed: {s.Allowed})" : "")}");
                sb.AppendLine($"         actual:   {f.Actual}");
                if (f.Detail != null && s.Op.Branch != 0) sb.AppendLine($"         why:      {f.Detail}");
            }
            else sb.AppendLine($"         = {actual}");
        }
        if (f.StepIndex < 0)
        {
            sb.AppendLine($"  > end: {f.Detail}");
            sb.AppendLine($"         expected: {f.Expected}");
            sb.AppendLine($"         actual:   {f.Actual}");
        }
        return sb.ToString();
    }
}
