using System.Text.Json;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Conformance.Spec;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// Known kernel issues: the list's format and its checks, which failures an entry matches (invariant, kernel range,
/// driver or exporter), and how a KNOWN verdict reaches every report without ever counting as a pass.
/// </summary>
public class KnownIssueTests
{
    private static readonly Catalog Cat = Catalog.Load();

    private static string Entry(string id = "test-issue", string invariant = "DMABUF-MMAP-5", string kernels = """[{ "from": "6.12", "fixed": "6.12.200" }]""",
        string drivers = """["system"]""", string exporters = "[]") => $$"""
        { "format": "conformance-known-issues/1", "issues": [ {
            "id": "{{id}}", "invariant": "{{invariant}}", "title": "t", "kernels": {{kernels}}, "drivers": {{drivers}}, "exporters": {{exporters}},
            "evidence": { "source": ["file.c:function: the line"], "lab": [] }, "fix": null, "see": null } ] }
        """;

    private static KnownIssueList Load(string json)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "known.json");
        File.WriteAllText(path, json);
        return KnownIssueList.Load(path, Cat);
    }

    [Fact]
    public void The_built_in_list_loads_and_every_entry_names_a_catalog_invariant_a_range_and_evidence()
    {
        var list = KnownIssueList.BuiltIn(Cat);
        Assert.NotEmpty(list.Issues);
        foreach (var i in list.Issues)
        {
            Assert.True(Cat.Contains(i.Invariant), i.Id);
            Assert.NotEmpty(i.Kernels);
            Assert.NotEmpty(i.Evidence.Source);
            Assert.Equal("built-in", i.Origin);
        }
        // the offset bug of the lab's two non-heap exporters is recorded, unfixed
        Assert.Contains(list.Issues, i => i.Invariant == "DMABUF-MMAP-5" && i.Exporters.Contains("videobuf2_vmalloc") && i.Kernels.Any(k => k.Fixed == null));
        Assert.Contains(list.Issues, i => i.Invariant == "DMABUF-MMAP-5" && i.Drivers.Contains("vgem"));
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("""{ "format": "other/1", "issues": [] }""", "format is 'other/1'")]
    [InlineData("""{ "format": "conformance-known-issues/1" }""", "no \"issues\" list")]
    public void A_malformed_list_is_refused_with_the_reason(string json, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => Load(json));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("NOPE-1", """[{ "from": "6.12", "fixed": null }]""", """["x"]""", "not in the catalog")]
    [InlineData("DMABUF-MMAP-5", "[]", """["x"]""", "names no kernel range")]
    [InlineData("DMABUF-MMAP-5", """[{ "from": "6.12.7", "fixed": "6.12.7" }]""", """["x"]""", "not before its fix")]
    [InlineData("DMABUF-MMAP-5", """[{ "from": "latest", "fixed": null }]""", """["x"]""", "not of the form")]
    [InlineData("DMABUF-MMAP-5", """[{ "from": "6.12", "fixed": null }]""", "[]", "names no driver and no exporter")]
    public void An_entry_that_could_excuse_more_than_it_says_is_refused(string invariant, string kernels, string drivers, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => Load(Entry(invariant: invariant, kernels: kernels, drivers: drivers)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_lab_file_adds_to_the_built_in_list_but_cannot_redefine_an_entry()
    {
        var lab = Load(Entry());
        var both = KnownIssueList.BuiltIn(Cat).With(lab);
        Assert.Equal(KnownIssueList.BuiltIn(Cat).Issues.Count + 1, both.Issues.Count);
        Assert.EndsWith("known.json", both.Issues[^1].Origin);
        var clash = Load(Entry(id: KnownIssueList.BuiltIn(Cat).Issues[0].Id));
        Assert.Contains("already defined", Assert.Throws<InvalidDataException>(() => KnownIssueList.BuiltIn(Cat).With(clash)).Message);
    }

    [Theory]
    [InlineData("6.12.117", "system", true)]
    [InlineData("6.12.0", "system", true)]
    [InlineData("6.12.200", "system", false)]   // at the fix: a regression, a plain failure
    [InlineData("6.13.1", "system", false)]
    [InlineData("6.11.9", "system", false)]
    [InlineData("6.12.117", "other-heap", false)]
    public void An_entry_matches_only_its_invariant_kernels_and_drivers(string kernel, string driver, bool matches)
    {
        var list = Load(Entry());
        var dev = new DeviceIdentity("heap", driver, driver);
        Assert.Equal(matches, list.Match("DMABUF-MMAP-5", kernel, [dev]) != null);
        Assert.Null(list.Match("DMABUF-MMAP-4", kernel, [dev]));
    }

    [Fact]
    public void Video_star_names_every_V4L2_driver_and_nothing_else()
    {
        var list = Load(Entry(drivers: """["video:*"]"""));
        Assert.NotNull(list.Match("DMABUF-MMAP-5", "6.12.5", [new DeviceIdentity("video", "anydriver", null)]));
        Assert.Null(list.Match("DMABUF-MMAP-5", "6.12.5", [new DeviceIdentity("heap", "system", "system")]));
    }

    [Theory]
    [InlineData("6.12.117+deb12-amd64", "6.12.117", 0)]
    [InlineData("6.1.0-41-amd64", "6.1.0", 0)]
    [InlineData("6.1.158", "6.1.122", 1)]
    [InlineData("6.10", "6.9.12", 1)]
    public void Kernel_versions_compare_by_their_leading_numbers(string a, string b, int sign) =>
        Assert.Equal(sign, Math.Sign(KernelVersion.Compare(a, b)));

    /// <summary>A broken model whose one bug a test list calls known: the failure is KNOWN everywhere, never a pass.</summary>
    private static (Program.Cli Cli, SuiteResult Result) KnownRun(string kernel)
    {
        var list = Load(Entry(drivers: """["*"]""", kernels: """[{ "from": "6.12", "fixed": "6.13" }]"""));
        var profile = TargetProfile.VividLike with { Kernel = kernel };
        var cli = Program.Parse(["--target", "broken:mmap-ignores-offset"]);
        var r = Engine.Run("broken:mmap-ignores-offset", new ReferenceModel(profile, ModelBug.MmapIgnoresOffset),
            new RunOptions { Sequences = 600 }, Cat, null, KnownIssues.Classifier(profile, list));
        return (cli, r);
    }

    [Fact]
    public void A_failure_that_matches_an_entry_is_KNOWN_in_text_ktap_json_and_junit_and_fails_only_under_strict()
    {
        var (cli, r) = KnownRun("6.12.117");
        var inv = r.Invariants.Single(i => i.Invariant.Id == "DMABUF-MMAP-5");
        Assert.Equal(Verdict.Known, inv.Verdict);
        Assert.Equal("test-issue", Assert.Single(inv.Known).Id);
        Assert.False(r.Failed);
        Assert.True(r.HasKnown);
        Assert.Equal(1, r.Counts().Known);
        Assert.Equal(0, r.Counts().Failed);
        Assert.Equal(0, cli.ExitStatus([r], leaked: false));
        Assert.Equal(1, (cli with { Strict = true }).ExitStatus([r], leaked: false));

        Assert.Contains("KNOWN         DMABUF-MMAP-5        test-issue: t (kernels 6.12 to before 6.13", TextReport.Invariants(r));
        var unit = new UnitResult("model", null, r, null, _ => null, _ => "replay");
        var finding = r.Findings.First(f => f.Failure.InvariantId == "DMABUF-MMAP-5");
        Assert.StartsWith("KNOWN DMABUF-MMAP-5:", TextReport.Counterexample(r, finding, Cat, "cmd"));
        Assert.Contains("known kernel issue test-issue", TextReport.Counterexample(r, finding, Cat, "cmd"));

        var ktap = KtapReport.Build([unit], Cat);
        Assert.Empty(KtapChecker.Check(ktap));
        Assert.Contains("not ok", ktap.Split('\n').Single(l => l.TrimStart().EndsWith("DMABUF-MMAP-5 # XFAIL known kernel issue test-issue")));
        Assert.StartsWith("not ok 1 model # XFAIL", ktap.Split('\n').Single(l => l.StartsWith("not ok 1 model") || l.StartsWith("ok 1 model")));

        var json = JsonDocument.Parse(JsonReport.Build([unit], Cat)).RootElement;
        Assert.Equal("known", json.GetProperty("result").GetString());
        var ji = json.GetProperty("units")[0].GetProperty("invariants").EnumerateArray().Single(i => i.GetProperty("id").GetString() == "DMABUF-MMAP-5");
        Assert.Equal("known", ji.GetProperty("status").GetString());
        Assert.Equal("test-issue", ji.GetProperty("known")[0].GetString());
        var jf = json.GetProperty("units")[0].GetProperty("properties").EnumerateArray().SelectMany(p => p.GetProperty("failures").EnumerateArray())
            .First(f => f.GetProperty("invariant").GetString() == "DMABUF-MMAP-5");
        Assert.Equal("test-issue", jf.GetProperty("known").GetProperty("id").GetString());

        var junit = JUnitReport.Build(r, f => "cx");
        var tc = junit.Descendants("testcase").Single(t => t.Attribute("name")!.Value == "DMABUF-MMAP-5");
        Assert.Equal("known-issue", tc.Element("failure")!.Attribute("type")!.Value);
    }

    [Fact]
    public void The_same_failure_on_a_kernel_at_or_past_the_fix_is_a_plain_failure()
    {
        var (cli, r) = KnownRun("6.13.0");
        Assert.Equal(Verdict.Fail, r.Invariants.Single(i => i.Invariant.Id == "DMABUF-MMAP-5").Verdict);
        Assert.True(r.Failed);
        Assert.Equal(1, cli.ExitStatus([r], leaked: false));
    }

    [Fact]
    public void The_expectations_option_loads_a_lab_file_and_refuses_a_bad_one_with_exit_2()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var good = Path.Combine(dir, "lab.json");
        File.WriteAllText(good, Entry(id: "lab-only"));
        Assert.Contains(Program.Parse(["--target", "kernel", "--expectations", good]).Known.Issues, i => i.Id == "lab-only");
        var bad = Path.Combine(dir, "bad.json");
        File.WriteAllText(bad, "{ nope");
        Assert.Contains("--expectations", Assert.Throws<Program.UsageException>(() => Program.Parse(["--target", "kernel", "--expectations", bad])).Message);
        Assert.Equal(2, MainRunner.Run("--target", "kernel", "--expectations", Path.Combine(dir, "missing.json")).Code);
        Assert.Contains("needs --target kernel", Assert.Throws<Program.UsageException>(() => Program.Parse(["--expectations", good])).Message);
    }

    [Fact]
    public void Strict_fails_a_run_with_an_invariant_not_exercised()
    {
        var cli = Program.Parse(["--strict"]);
        var r = Engine.Run("model", new ReferenceModel(TargetProfile.VividLike), new RunOptions { Sequences = 2 }, Cat);
        Assert.Contains(r.Invariants, i => i.Verdict == Verdict.NotExercised);
        Assert.Equal(1, cli.ExitStatus([r], leaked: false));
        Assert.Equal(0, (cli with { Strict = false }).ExitStatus([r], leaked: false));
    }

    [Fact]
    public void Every_deviation_names_an_ambiguity_entry_that_exists()
    {
        var amb = File.ReadAllText(Path.Combine(Repo.Root, "spec", "ambiguities.md"));
        var devs = Cat.All.Where(i => i.Deviation != null).ToList();
        Assert.NotEmpty(devs);
        foreach (var i in devs) Assert.Contains($"## {i.Deviation!.Amb}:", amb);
        foreach (var k in KnownIssueList.BuiltIn(Cat).Issues.Where(k => k.See != null)) Assert.Contains($"## {k.See}:", amb);
    }
}
