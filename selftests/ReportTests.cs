using System.Text.Json;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Conformance.Spec;
using Xunit;
using Xunit.Abstractions;

namespace Conformance.SelfTests;

public class ReportTests(ITestOutputHelper output)
{
    private static readonly Catalog Cat = Catalog.Load();
    private const string Variant = "llseek-seek-cur";

    // one model run of each kind is shared by the tests: the runs dominate their cost
    private static readonly Lazy<(Program.Cli Cli, SuiteResult Result)> Passing = new(() => Run("model", 100));
    private static readonly Lazy<(Program.Cli Cli, SuiteResult Result)> Broken = new(() => Run($"broken:{Variant}", 200));
    // a single property leaves the invariants only other properties check not exercised
    private static readonly Lazy<(Program.Cli Cli, SuiteResult Result)> ReleaseOnly = new(() => Run("model", 50, "--property", "release"));

    private static (Program.Cli, SuiteResult) Run(string target, int sequences, params string[] more)
    {
        var cli = Program.Parse(["--target", target, "--sequences", sequences.ToString(), .. more]);
        using var t = Program.MakeTarget(cli.Target, cli.ProfileName);
        return (cli, Engine.Run(cli.Target, t, cli.Options, Cat));
    }

    private static UnitResult Unit((Program.Cli Cli, SuiteResult Result) run, string name = "model") =>
        new(name, null, run.Result, null,
            p => new CounterexampleFiles($"out/{p.Property.Name}.replay", $"out/{p.Property.Name}.c"),
            p => Program.ReplayCommand(run.Cli, p));

    /// <summary>A result line as parsed back out of a report: its nesting depth, outcome, description and directive.</summary>
    private sealed record Line(int Depth, bool Ok, int Number, string Description, string? Directive);

    private static readonly Regex ResultLine = new(@"^(?<ind> *)(?<res>ok|not ok) (?<n>\d+) (?<desc>[^#]*?)(?: # (?<dir>.*))?$");

    private static List<Line> Results(string ktap) =>
        ktap.Split('\n').Select(l => ResultLine.Match(l)).Where(m => m.Success)
            .Select(m => new Line(m.Groups["ind"].Length / 2, m.Groups["res"].Value == "ok", int.Parse(m.Groups["n"].Value),
                m.Groups["desc"].Value, m.Groups["dir"].Success ? m.Groups["dir"].Value : null))
            .ToList();

    private void AssertValid(string ktap)
    {
        var errors = KtapChecker.Check(ktap);
        if (errors.Count > 0) output.WriteLine(ktap);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    // ---- KTAP of real runs ----

    [Fact]
    public void Ktap_of_a_passing_run_is_valid_and_has_one_line_per_in_scope_invariant()
    {
        var r = Passing.Value.Result;
        Assert.False(r.Failed);
        var ktap = KtapReport.Build([Unit(Passing.Value)], Cat);
        AssertValid(ktap);
        Assert.StartsWith("KTAP version 1\n1..1\n", ktap);
        var lines = Results(ktap);
        Assert.DoesNotContain(lines, l => !l.Ok);
        var leaves = lines.Where(l => l.Depth == 2).ToList();
        Assert.Equal(r.Invariants.Select(i => i.Invariant.Id).Order(), leaves.Select(l => l.Description).Order());
        foreach (var i in r.Invariants)
        {
            var l = leaves.Single(x => x.Description == i.Invariant.Id);
            Assert.Equal(i.Verdict switch
            {
                Verdict.Pass => null,
                Verdict.Skip => $"SKIP {i.Reason}",
                _ => $"SKIP not exercised: {i.Reason}",
            }, l.Directive);
        }
        // areas in the order the unit's invariants name them, one subtest each
        Assert.Equal(r.Invariants.Select(i => i.Invariant.Area).Distinct(), lines.Where(l => l.Depth == 1).Select(l => l.Description));
        Assert.Contains(r.Invariants, i => i.Verdict == Verdict.Skip);
        var unit = lines.Single(l => l.Depth == 0);
        Assert.Equal(new Line(0, true, 1, "model", null), unit);
    }

    [Fact]
    public void Not_exercised_is_a_skip_with_its_reason_never_a_pass()
    {
        var r = ReleaseOnly.Value.Result;
        var nx = r.Invariants.Where(i => i.Verdict == Verdict.NotExercised).ToList();
        Assert.NotEmpty(nx);
        var ktap = KtapReport.Build([Unit(ReleaseOnly.Value)], Cat);
        AssertValid(ktap);
        var leaves = Results(ktap).Where(l => l.Depth == 2).ToDictionary(l => l.Description);
        foreach (var i in nx)
        {
            Assert.True(leaves[i.Invariant.Id].Ok);
            Assert.Equal($"SKIP not exercised: {i.Reason}", leaves[i.Invariant.Id].Directive);
        }
        // an area none of whose invariants was checked is skipped as a whole, not passed
        foreach (var area in Results(ktap).Where(l => l.Depth == 1))
        {
            bool allSkipped = r.Invariants.Where(i => i.Invariant.Area == area.Description).All(i => i.Verdict is Verdict.Skip or Verdict.NotExercised);
            Assert.Equal(allSkipped ? "SKIP every invariant skipped" : null, area.Directive);
        }
    }

    [Fact]
    public void Ktap_of_a_broken_variant_fails_exactly_its_invariant_and_carries_the_counterexample()
    {
        var (cli, r) = Broken.Value;
        var v = BrokenVariant.Find(Variant)!;
        Assert.True(r.Failed);
        var ktap = KtapReport.Build([Unit(Broken.Value)], Cat);
        output.WriteLine(string.Join("\n", ktap.Split('\n').Take(60)));
        AssertValid(ktap);
        var lines = Results(ktap);
        var broken = v.Breaks.Single().Invariant;
        Assert.Equal([broken], lines.Where(l => l.Depth == 2 && !l.Ok).Select(l => l.Description));
        Assert.Equal([Cat[broken].Area], lines.Where(l => l.Depth == 1 && !l.Ok).Select(l => l.Description));
        Assert.False(lines.Single(l => l.Depth == 0).Ok);

        var failing = r.Findings.First(p => p.Failure.InvariantId == broken);
        var text = ktap.Split('\n');
        int at = Array.FindIndex(text, l => l.StartsWith($"    not ok ") && l.EndsWith($" {broken}"));
        // the diagnostics sit right before the failing line, at its indentation
        var diags = text[..at].Reverse().TakeWhile(l => l.StartsWith("    # ")).Select(l => l[6..]).ToList();
        Assert.Contains($"seed {cli.Options.Seed}; replay seed {failing.ReplaySeed} ({failing.ReplaySequences} sequences)", diags);
        Assert.Contains($"replay: {Program.ReplayCommand(cli, failing)}", diags);
        Assert.Contains($"failing step {failing.Failure.StepIndex + 1} of {failing.Failure.Steps.Count}", diags);
        Assert.Contains($"expected: {failing.Failure.Expected}", diags);
        Assert.Contains($"actual: {failing.Failure.Actual}", diags);
        Assert.Contains($"replay file: out/{failing.Property.Name}.replay", diags);
        Assert.Contains($"C reproducer: out/{failing.Property.Name}.c", diags);
        Assert.Contains(failing.ReproRuns == 0 ? "reproduced: not measured"
            : $"reproduced {failing.Reproduced}/{failing.ReproRuns}{(failing.Deterministic ? "" : " FLAKY")}", diags);
        Assert.Contains(diags, d => d.StartsWith($"{broken}: "));
    }

    [Fact]
    public void A_flaky_reproduction_is_labelled_and_a_failure_outside_the_invariants_still_fails_the_unit()
    {
        var (cli, r) = Passing.Value;
        var prop = r.Properties[0];
        var f = new Failure(prop.Property.Name, "UNCITED", -1, [], "no fds open", "fd 7 still open", "end of sequence");
        var uncited = prop with { Findings = [new Finding(prop.Property, f, f, 0, 1, 50, 1) { Reproduced = 2, ReproRuns = 5 }] };
        var res = r with { Properties = [.. r.Properties, uncited] };
        var ktap = KtapReport.Build([Unit((cli, res))], Cat);
        AssertValid(ktap);
        Assert.Contains("    # reproduced 2/5 FLAKY\n", ktap);
        Assert.Contains("    # failing check: end of sequence (0 steps): end of sequence\n", ktap);
        var lines = Results(ktap);
        Assert.Equal(new Line(2, false, 1, "UNCITED", null), lines.Single(l => !l.Ok && l.Depth == 2));
        Assert.Equal(KtapReport.UncitedArea, lines.Single(l => !l.Ok && l.Depth == 1).Description);
        Assert.False(lines.Single(l => l.Depth == 0).Ok);
        Assert.Equal(r.Invariants.Count + 1, lines.Count(l => l.Depth == 2));

        // a catalog invariant outside the run's scope goes to its own area, not to "uncited"
        var scoped = r with { Invariants = [.. r.Invariants.Where(i => i.Invariant.Id != "DMABUF-LLSEEK-3")] };
        var outside = prop with { Findings = [new Finding(prop.Property, f with { InvariantId = "DMABUF-LLSEEK-3" }, null, 0, 1, 50, 1)] };
        var ktap2 = KtapReport.Build([Unit((cli, scoped with { Properties = [outside] }))], Cat);
        AssertValid(ktap2);
        var l2 = Results(ktap2);
        Assert.Equal(["DMABUF-LLSEEK-3", "dmabuf", "model"], l2.Where(l => !l.Ok).Select(l => l.Description));

        var json = JsonDocument.Parse(JsonReport.Build([Unit((cli, res))], Cat)).RootElement;
        AssertMatchesSchema(json);
        var unit = json.GetProperty("units")[0];
        Assert.Equal("fail", unit.GetProperty("result").GetString());
        Assert.Equal(1, unit.GetProperty("totals").GetProperty("failed").GetInt32());
        var jf = unit.GetProperty("properties")[r.Properties.Count].GetProperty("failures")[0];
        Assert.False(jf.GetProperty("in_scope").GetBoolean());
        Assert.True(jf.GetProperty("flaky").GetBoolean());
        Assert.Equal(JsonValueKind.Null, jf.GetProperty("step").ValueKind);
        Assert.Equal(JsonValueKind.Null, jf.GetProperty("rule").ValueKind);
    }

    [Fact]
    public void A_leak_fails_a_passing_unit_and_a_skipped_unit_is_a_skip_with_its_reason()
    {
        var leaked = Unit(Passing.Value, "kernel /dev/video0") with { Leak = "2 dma-bufs still live", Notes = ["driver vivid", "helper heap:system"] };
        var skipped = new UnitResult("kernel /dev/video1", "/dev/video1", null, "none of the selected areas apply",
            _ => null, _ => "") { Notes = ["driver uvcvideo"] };
        var ktap = KtapReport.Build([leaked, skipped], Cat);
        AssertValid(ktap);
        var top = Results(ktap).Where(l => l.Depth == 0).ToList();
        Assert.Equal([new Line(0, false, 1, "kernel /dev/video0", null), new Line(0, true, 2, "kernel /dev/video1", "SKIP none of the selected areas apply")], top);
        Assert.Contains("\n  # LEAK: 2 dma-bufs still live\nnot ok 1 kernel /dev/video0\n", ktap);
        Assert.Contains("\n  # driver vivid\n", ktap);
        Assert.Contains("\n# driver uvcvideo\nok 2 ", ktap);

        var json = JsonDocument.Parse(JsonReport.Build([leaked, skipped], Cat, "6.12.117", "test")).RootElement;
        AssertMatchesSchema(json);
        Assert.Equal("fail", json.GetProperty("result").GetString());
        Assert.Equal(["fail", "skip"], json.GetProperty("units").EnumerateArray().Select(u => u.GetProperty("result").GetString()));
        var s = json.GetProperty("units")[1];
        Assert.Equal("none of the selected areas apply", s.GetProperty("skip_reason").GetString());
        Assert.Equal(JsonValueKind.Null, s.GetProperty("elapsed_seconds").ValueKind);
        Assert.Equal(0, s.GetProperty("invariants").GetArrayLength());
        // a model unit timed no system call, a skipped one ran none
        Assert.All(json.GetProperty("units").EnumerateArray(), u =>
            Assert.Equal((JsonValueKind.Null, JsonValueKind.Null), (u.GetProperty("system_calls").ValueKind, u.GetProperty("system_call_seconds").ValueKind)));
    }

    /// <summary>A kernel unit's timed system calls (SyscallClock): their count and their time less the clock's own cost, as the
    /// schema describes them.</summary>
    [Fact]
    public void A_unit_s_timed_system_calls_are_in_the_json_less_the_clock_s_cost()
    {
        var unit = Unit((Passing.Value.Cli, Passing.Value.Result with { Syscalls = new Conformance.Adapters.Interop.SyscallTime(12_345, 2.5, 1e-5) }), "kernel /dev/video0");
        var json = JsonDocument.Parse(JsonReport.Build([unit], Cat, "6.12.117", "test")).RootElement;
        AssertMatchesSchema(json);
        var u = json.GetProperty("units")[0];
        Assert.Equal(12_345, u.GetProperty("system_calls").GetInt64());
        Assert.Equal(2.377, u.GetProperty("system_call_seconds").GetDouble(), 3);   // 2.5 s less 12,345 x 10 us
    }

    [Fact]
    public void Names_and_notes_are_sanitized_to_single_lines_without_hash_in_descriptions()
    {
        var u = Unit(Passing.Value, "dev #1\nsecond") with { Notes = ["two\nlines", "with # inside"] };
        var ktap = KtapReport.Build([u], Cat);
        AssertValid(ktap);
        Assert.Equal("dev _1 second", Results(ktap).Single(l => l.Depth == 0).Description);
        Assert.Contains("\n  # two\n  # lines\n  # with # inside\n", ktap);
    }

    [Fact]
    public void Any_mix_of_verdicts_leaks_skips_and_uncited_failures_gives_valid_ktap_and_json_that_agree()
    {
        var (cli, r) = Passing.Value;
        var prop = r.Properties[0];
        PropertyResult Failing(string id) => prop with { Findings = [new Finding(prop.Property, new Failure(prop.Property.Name, id, -1, [], "nothing", "something"), null, 0, 1, 50, 1)] };
        Verdict[] verdicts = [Verdict.Pass, Verdict.Fail, Verdict.Skip, Verdict.NotExercised];
        PropertyCheck.Holds(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var rnd = new Random(seed);
            var units = Enumerable.Range(0, rnd.Next(1, 4)).Select(n =>
            {
                // a random subset of the catalog, each invariant with a random verdict (a failing one usually with its counterexample)
                var invs = r.Invariants.Where(_ => rnd.Next(4) == 0).Select(i => i with { Verdict = verdicts[rnd.Next(verdicts.Length)], Reason = "why" }).ToList();
                var props = invs.Where(i => i.Verdict == Verdict.Fail && rnd.Next(3) > 0).Select(i => Failing(i.Invariant.Id)).ToList();
                if (rnd.Next(4) == 0) props.Add(Failing("UNCITED"));
                var res = rnd.Next(6) == 0 ? null : r with { Invariants = invs, Properties = props };
                return Unit((cli, res!), $"unit {n}") with { Result = res, SkipReason = res == null ? "no device" : null, Leak = rnd.Next(5) == 0 ? "1 fd" : null };
            }).ToList();
            var ktap = KtapReport.Build(units, Cat);
            var json = JsonDocument.Parse(JsonReport.Build(units, Cat)).RootElement;
            if (KtapChecker.Check(ktap).Count > 0 || MiniJsonSchema.Validate(JsonDocument.Parse(JsonReport.Schema).RootElement, json).Count > 0) return false;
            var top = Results(ktap).Where(l => l.Depth == 0).ToList();
            for (int n = 0; n < units.Count; n++)
            {
                var u = units[n];
                bool failed = u.Leak != null || u.Result is { } x && (x.Properties.Count > 0 || x.Invariants.Any(i => i.Verdict == Verdict.Fail));
                bool skipped = !failed && (u.Result == null || u.Result.Invariants.All(i => i.Verdict is Verdict.Skip or Verdict.NotExercised));
                var status = json.GetProperty("units")[n].GetProperty("result").GetString();
                if (top[n].Ok == failed || (top[n].Directive?.StartsWith("SKIP ") ?? false) != skipped
                    || status != (failed ? "fail" : skipped ? "skip" : "pass")) return false;
            }
            return true;
        }, output, 200);
    }

    // ---- the checker against the KTAP spec's examples and against broken inputs ----

    private const string NestedExample = """
        KTAP version 1
        1..1
          KTAP version 1
          1..2
          ok 1 test_1
          not ok 2 test_2
        # example failed
        not ok 1 example
        """;

    private const string DeeplyNestedExample = """
        KTAP version 1
        1..2
          KTAP version 1
          1..2
            KTAP version 1
            1..2
            ok 1 test_1
            not ok 2 test_2
          not ok 1 test_3
          ok 2 test_4 # SKIP
        not ok 1 example_test_1
        ok 2 example_test_2
        """;

    private const string ExampleOutput = """
        KTAP version 1
        1..1
          KTAP version 1
          1..3
            KTAP version 1
            1..1
            # test_1: initializing test_1
            ok 1 test_1
          ok 1 example_test_1
            KTAP version 1
            1..2
            ok 1 test_1 # SKIP test_1 skipped
            ok 2 test_2
          ok 2 example_test_2
            KTAP version 1
            1..3
            ok 1 test_1
            # test_2: FAIL
            not ok 2 test_2
            ok 3 test_3 # SKIP test_3 skipped
          not ok 3 example_test_3
        not ok 1 main_test
        """;

    [Theory]
    [InlineData(NestedExample)]
    [InlineData(DeeplyNestedExample)]
    [InlineData(ExampleOutput)]
    [InlineData("KTAP version 1\n1..2\nok 1 x # rcode=0\nnot ok 2 y # TIMEOUT 30 s\n")]
    [InlineData("TAP version 14\n1..0 # SKIP nothing to run\n")]
    [InlineData("KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  not ok 1 a # SKIP no device\nok 1 parent\n")]
    [InlineData("KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  not ok 1 a\nok 1 parent # SKIP parent skipped\n")]
    [InlineData("KTAP version 1\n1..1\n[   12.345] a kernel message\nok 1 x\n")]
    public void The_checker_accepts_the_spec_examples_and_valid_variations(string ktap)
    {
        var d = KtapChecker.Diagnose(ktap);
        Assert.True(d.Valid, string.Join("\n", d.Errors));
        Assert.Equal(ktap.Contains("kernel message") ? 1 : 0, d.UnknownLines);
    }

    [Theory]
    [InlineData("", "line 1: no KTAP output")]
    [InlineData("1..1\nok 1 a\n", "line 1: KTAP output must start with a version line")]
    [InlineData("junk\nKTAP version 1\n1..1\nok 1 a\n", "line 1: KTAP output must start with a version line")]
    [InlineData("KTAP version 2\n1..0\n", "line 1: unsupported version line")]
    [InlineData("KTAP version 1\nok 1 a\n", "line 2: result line before the plan line")]
    [InlineData("KTAP version 1\nok 1 a\n1..1\n", "line 3: plan line after results")]
    [InlineData("KTAP version 1\n1..1\n1..1\nok 1 a\n", "line 3: second plan line")]
    [InlineData("KTAP version 1\n1..x\n", "line 2: malformed plan line")]
    [InlineData("KTAP version 1\n1..2\nok 1 a\nok 3 b\n", "line 4: test number 3 out of order: expected 2")]
    [InlineData("KTAP version 1\n1..2\nok 0 a\nok 1 b\n", "line 3: test number 0 out of order: expected 1")]
    [InlineData("KTAP version 1\n1..3\nok 1 a\nok 2 b\n", "line 2: plan 1..3 announces 3 test(s) but 2 ran")]
    [InlineData("KTAP version 1\n1..1\nok 1 a\nok 2 b\n", "line 2: plan 1..1 announces 1 test(s) but 2 ran")]
    [InlineData("KTAP version 1\n1..1\nok a\n", "line 3: malformed result line")]
    [InlineData("KTAP version 1\n1..1\nok 1a b\n", "line 3: test number '1a' is not a decimal number")]
    [InlineData("KTAP version 1\n1..1\nok 1 a#b\n", "line 3: '#' inside the description")]
    [InlineData("KTAP version 1\n1..1\nok 1 a # TIMEOUT 30 s\n", "line 3: TIMEOUT is for tests that did not complete")]
    [InlineData("KTAP version 1\n1..1\nok 1 a # ERROR setup failed\n", "line 3: ERROR is for tests that did not complete")]
    [InlineData("KTAP version 1\n1..1\nok 1 a # SKIPPED\n", "line 3: unknown directive 'SKIPPED'")]
    [InlineData("KTAP version 1\n1..1\nok 1 a # skip no device\n", "line 3: directive 'skip' must be written SKIP")]
    [InlineData("KTAP version 1\n1..1\n   KTAP version 1\n   1..1\n   ok 1 a\nok 1 p\n", "line 3: indentation of 3 spaces is not a whole number of levels")]
    [InlineData("KTAP version 1\n1..1\n\tok 1 a\n", "line 3: indentation must be spaces, not tabs")]
    [InlineData("KTAP version 1\n1..1\n    KTAP version 1\n    1..1\n    ok 1 a\nok 1 p\n", "line 3: subtest version line indented 2 levels deeper")]
    [InlineData("KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n    ok 1 a\nok 1 p\n", "line 5: indented 1 level(s) deeper than the current test")]
    [InlineData("KTAP version 1\n1..1\n  ok 1 a\n", "line 3: indented 1 level(s) deeper than the current test")]
    [InlineData("KTAP version 1\n1..1\nKTAP version 1\nok 1 a\n", "line 3: version line inside a running test")]
    [InlineData("KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  ok 1 a\n", "line 3: subtest has no result line at its parent's indentation")]
    [InlineData("KTAP version 1\n1..2\n  KTAP version 1\n  1..1\n  ok 1 a\n  KTAP version 1\n  1..1\n  ok 1 b\nok 1 p\n", "line 6: version line inside a running test")]
    [InlineData("KTAP version 1\n  KTAP version 1\n  1..1\n  ok 1 a\nok 1 p\n", "line 2: subtest starts before its parent's plan line")]
    [InlineData("KTAP version 1\n1..1\n  KTAP version 1\n  ok 1 a\nok 1 p\n", "line 4: result line before the plan line")]
    [InlineData("KTAP version 1\n1..1\n  KTAP version 1\n  1..2\n  ok 1 a\n  not ok 2 b\nok 1 parent\n", "line 7: 'ok' parent over a failing subtest (subtest at line 3")]
    [InlineData("KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n    KTAP version 1\n    1..1\n    not ok 1 a\n  ok 1 b\nnot ok 1 c\n", "line 8: 'ok' parent over a failing subtest (subtest at line 5")]
    public void The_checker_rejects_broken_ktap_with_the_line_at_fault(string ktap, string error)
    {
        var errors = KtapChecker.Check(ktap);
        Assert.True(errors.Any(e => e.StartsWith(error, StringComparison.Ordinal)), $"expected '{error}', got:\n{string.Join("\n", errors)}");
    }

    // ---- JSON ----

    [Fact]
    public void Json_of_both_runs_matches_the_schema_and_lists_every_invariant_with_its_status()
    {
        foreach (var run in new[] { Passing.Value, Broken.Value })
        {
            var text = JsonReport.Build([Unit(run)], Cat, null, "selftest");
            var json = JsonDocument.Parse(text).RootElement;
            AssertMatchesSchema(json);
            Assert.Equal(JsonReport.SchemaVersion, json.GetProperty("schema").GetString());
            Assert.Equal(run.Result.Options.Seed, json.GetProperty("run").GetProperty("seed").GetUInt64());
            var unit = json.GetProperty("units")[0];
            var statuses = unit.GetProperty("invariants").EnumerateArray().ToDictionary(i => i.GetProperty("id").GetString()!, i => i.GetProperty("status").GetString());
            Assert.Equal(run.Result.Invariants.Count, statuses.Count);
            foreach (var i in run.Result.Invariants) Assert.Equal(JsonReport.Status(i.Verdict), statuses[i.Invariant.Id]);
            Assert.Equal(run.Result.Failed ? "fail" : "pass", unit.GetProperty("result").GetString());
            Assert.Equal(run.Result.Invariants.Count(i => i.Verdict == Verdict.Pass), unit.GetProperty("totals").GetProperty("passed").GetInt32());
            // only durations may differ between two reports of the same results
            string Stable(string s) => Regex.Replace(s, @"""elapsed_seconds"": [0-9.eE+-]+", "");
            Assert.Equal(Stable(text), Stable(JsonReport.Build([Unit(run)], Cat, null, "selftest")));
        }
        var (cli, r) = Broken.Value;
        var failing = r.Findings.First(p => p.Failure.InvariantId == BrokenVariant.Find(Variant)!.Breaks[0].Invariant);
        var jf = JsonDocument.Parse(JsonReport.Build([Unit(Broken.Value)], Cat)).RootElement.GetProperty("units")[0].GetProperty("properties")
            .EnumerateArray().Single(p => p.GetProperty("name").GetString() == failing.Property.Name).GetProperty("failures")
            .EnumerateArray().Single(j => j.GetProperty("invariant").GetString() == failing.Failure.InvariantId);
        Assert.Equal(failing.Failure.InvariantId, jf.GetProperty("invariant").GetString());
        Assert.Equal(failing.Failure.StepIndex + 1, jf.GetProperty("step").GetInt32());
        Assert.Equal(failing.Failure.Steps.Count, jf.GetProperty("shrunk_steps").GetInt32());
        Assert.Equal(Program.ReplayCommand(cli, failing), jf.GetProperty("replay_command").GetString());
        Assert.Equal($"out/{failing.Property.Name}.c", jf.GetProperty("reproducer").GetString());
        Assert.True(jf.GetProperty("in_scope").GetBoolean());
        Assert.Equal(failing.ReproRuns, jf.GetProperty("repro_runs").GetInt32());
        Assert.Equal(failing.ReproRuns == 0 ? JsonValueKind.Null : failing.Deterministic ? JsonValueKind.False : JsonValueKind.True, jf.GetProperty("flaky").ValueKind);
    }

    [Fact]
    public void The_schema_describes_every_field_is_strict_and_lists_the_catalog_areas()
    {
        var schema = JsonDocument.Parse(JsonReport.Schema).RootElement;
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", schema.GetProperty("$schema").GetString());
        var problems = new List<string>();
        void Walk(JsonElement s, string path)
        {
            if (s.TryGetProperty("type", out var t) && (t.ValueKind == JsonValueKind.String ? t.GetString() == "object" : t.EnumerateArray().Any(x => x.GetString() == "object"))
                && !(s.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind == JsonValueKind.False))
                problems.Add($"{path}: object without additionalProperties: false");
            if (s.TryGetProperty("properties", out var props))
                foreach (var p in props.EnumerateObject())
                {
                    if (!p.Value.TryGetProperty("description", out _)) problems.Add($"{path}.{p.Name}: no description");
                    Walk(p.Value, $"{path}.{p.Name}");
                }
            if (s.TryGetProperty("$defs", out var defs))
                foreach (var d in defs.EnumerateObject()) Walk(d.Value, $"#/$defs/{d.Name}");
        }
        Walk(schema, "#");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var areas = schema.GetProperty("$defs").GetProperty("invariant").GetProperty("properties").GetProperty("area").GetProperty("enum");
        Assert.Equal(Cat.Areas.Select(a => a.Area).Order(), areas.EnumerateArray().Select(a => a.GetString()).Order());
    }

    [Fact]
    public void The_schema_validator_rejects_what_the_schema_forbids()
    {
        var schema = JsonDocument.Parse(JsonReport.Schema).RootElement;
        var good = JsonReport.Build([Unit(Passing.Value)], Cat);
        Assert.Empty(MiniJsonSchema.Validate(schema, JsonDocument.Parse(good).RootElement));
        string[] bad =
        [
            good.Replace("\"schema\": \"conformance-results/4\"", "\"schema\": \"conformance-results/2\""),
            good.Replace("\"suite_version\": null", "\"suite_version\": null, \"extra\": 1"),
            good.Replace("\"kernel\": null,", ""),
            good.Replace("\"status\": \"pass\"", "\"status\": \"passed\""),
            good.Replace("\"ops\": ", "\"ops\": -"),
            good.Replace("\"sequences\": 100,", "\"sequences\": 1.5,"),
            good.Replace("\"notes\": []", "\"notes\": [1]"),
        ];
        foreach (var b in bad)
        {
            Assert.NotEqual(good, b);
            Assert.NotEmpty(MiniJsonSchema.Validate(schema, JsonDocument.Parse(b).RootElement));
        }
    }

    private static void AssertMatchesSchema(JsonElement json)
    {
        var errors = MiniJsonSchema.Validate(JsonDocument.Parse(JsonReport.Schema).RootElement, json);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(20)));
    }
}

/// <summary>
/// The JSON Schema subset results.schema.json uses: type (names or arrays of them, null included),
/// properties, required, additionalProperties false, items, enum, minimum, $ref into #/$defs. Any other
/// keyword throws, so the schema cannot lean on a rule this validator would silently ignore.
/// </summary>
internal static class MiniJsonSchema
{
    public static List<string> Validate(JsonElement schema, JsonElement instance)
    {
        var errors = new List<string>();
        Check(schema, schema, instance, "$", errors);
        return errors;
    }

    private static void Check(JsonElement root, JsonElement s, JsonElement x, string path, List<string> errors)
    {
        foreach (var kw in s.EnumerateObject())
        {
            var v = kw.Value;
            switch (kw.Name)
            {
                case "$schema": case "$id": case "title": case "description": case "$defs":
                    break;
                case "$ref":
                    Check(root, Resolve(root, v.GetString()!), x, path, errors);
                    break;
                case "type":
                    var types = v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(t => t.GetString()!).ToList() : [v.GetString()!];
                    if (!types.Any(t => IsType(t, x))) errors.Add($"{path}: {Kind(x)} is not {string.Join(" or ", types)}");
                    break;
                case "enum":
                    if (!v.EnumerateArray().Any(e => JsonElement.DeepEquals(e, x))) errors.Add($"{path}: {x.GetRawText()} is not one of {v.GetRawText()}");
                    break;
                case "minimum":
                    if (x.ValueKind == JsonValueKind.Number && x.GetDecimal() < v.GetDecimal()) errors.Add($"{path}: {x.GetRawText()} is below {v.GetRawText()}");
                    break;
                case "properties":
                    if (x.ValueKind == JsonValueKind.Object)
                        foreach (var p in v.EnumerateObject())
                            if (x.TryGetProperty(p.Name, out var child)) Check(root, p.Value, child, $"{path}.{p.Name}", errors);
                    break;
                case "required":
                    if (x.ValueKind == JsonValueKind.Object)
                        foreach (var name in v.EnumerateArray().Select(n => n.GetString()!))
                            if (!x.TryGetProperty(name, out _)) errors.Add($"{path}: required property '{name}' is missing");
                    break;
                case "additionalProperties":
                    if (v.ValueKind != JsonValueKind.False) throw new NotSupportedException($"additionalProperties other than false at {path}");
                    if (x.ValueKind == JsonValueKind.Object)
                    {
                        var known = s.TryGetProperty("properties", out var ps) ? ps.EnumerateObject().Select(p => p.Name).ToHashSet() : [];
                        foreach (var p in x.EnumerateObject())
                            if (!known.Contains(p.Name)) errors.Add($"{path}: property '{p.Name}' is not allowed");
                    }
                    break;
                case "pattern":
                    if (x.ValueKind == JsonValueKind.String && !System.Text.RegularExpressions.Regex.IsMatch(x.GetString()!, v.GetString()!))
                        errors.Add($"{path}: '{x.GetString()}' does not match {v.GetString()}");
                    break;
                case "items":
                    if (x.ValueKind == JsonValueKind.Array)
                    {
                        int i = 0;
                        foreach (var e in x.EnumerateArray()) Check(root, v, e, $"{path}[{i++}]", errors);
                    }
                    break;
                default:
                    throw new NotSupportedException($"schema keyword '{kw.Name}' is not supported by this validator");
            }
        }
    }

    private static JsonElement Resolve(JsonElement root, string reference)
    {
        const string prefix = "#/$defs/";
        if (!reference.StartsWith(prefix, StringComparison.Ordinal)) throw new NotSupportedException($"$ref '{reference}' (only {prefix}NAME)");
        return root.GetProperty("$defs").GetProperty(reference[prefix.Length..]);
    }

    private static bool IsType(string type, JsonElement x) => type switch
    {
        "null" => x.ValueKind == JsonValueKind.Null,
        "boolean" => x.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "string" => x.ValueKind == JsonValueKind.String,
        "number" => x.ValueKind == JsonValueKind.Number,
        "integer" => x.ValueKind == JsonValueKind.Number && x.TryGetDecimal(out var d) && d == decimal.Truncate(d),
        "array" => x.ValueKind == JsonValueKind.Array,
        "object" => x.ValueKind == JsonValueKind.Object,
        _ => throw new NotSupportedException($"type '{type}'"),
    };

    private static string Kind(JsonElement x) => x.ValueKind switch
    {
        JsonValueKind.Number => $"number {x.GetRawText()}",
        _ => x.ValueKind.ToString().ToLowerInvariant(),
    };
}
