using System.Text.Json;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Conformance.Spec;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>--baseline: a run compared with an earlier run's results.json, per unit and invariant.</summary>
public class RegressionDiffTests
{
    private static readonly Catalog Cat = Catalog.Load();

    /// <summary>A small run's results.json, as the runner writes it: the model, or a broken variant of it.</summary>
    private static JsonDocument Results(string target)
    {
        var v = target.StartsWith("broken:", StringComparison.Ordinal) ? BrokenVariant.Find(target[7..]) : null;
        IBufferTarget t = v != null ? v.Model(TargetProfile.VividLike) : new ReferenceModel(TargetProfile.VividLike);
        var r = Engine.Run(target, t, new RunOptions { Sequences = 200, Areas = ["dmabuf"], ReproRuns = 1 }, Cat);
        var unit = new UnitResult($"{target} (vivid-like)", null, r, null, _ => null, _ => "cmd");
        return JsonDocument.Parse(JsonReport.Build([unit], Cat, null, "test"));
    }

    [Fact]
    public void A_planted_regression_is_a_new_failure_and_its_removal_a_fix()
    {
        var model = Results("model");
        var broken = Results("broken:llseek-seek-cur");
        var worse = RegressionDiff.Compare("base.json", model, broken);
        Assert.True(worse.Regressed);
        var c = Assert.Single(worse.Changes, x => x.Change == Change.NewFailure);
        Assert.Equal(("model profile vivid-like", "DMABUF-LLSEEK-3", "pass", "fail"), (c.Unit, c.Invariant, c.Before, c.After));
        Assert.Contains("REGRESSED", worse.Text());
        Assert.Contains("\"change\": \"new_failure\"", worse.Json());

        var better = RegressionDiff.Compare("base.json", broken, model);
        Assert.False(better.Regressed);
        Assert.Contains(better.Changes, x => x.Change == Change.Fixed && x.Invariant == "DMABUF-LLSEEK-3");

        // the same bug found the same way on both sides is still failing, not new
        var again = RegressionDiff.Compare("base.json", broken, Results("broken:llseek-seek-cur"));
        Assert.False(again.Regressed);
        Assert.Contains(again.Changes, x => x.Change == Change.StillFailing && x.Invariant == "DMABUF-LLSEEK-3");
        Assert.False(RegressionDiff.Compare("base.json", model, Results("model")).Regressed);
    }

    [Fact]
    public void A_device_missing_from_the_run_is_a_regression_and_a_new_one_is_listed()
    {
        static JsonDocument Doc(params string[] devices) => JsonDocument.Parse(
            "{\"schema\":\"conformance-results/3\",\"kernel\":\"6.12.118\",\"units\":[" + string.Join(",", devices.Select(d =>
                $"{{\"name\":\"{d.TrimStart('~')}\",\"device\":\"{d.TrimStart('~')}\",\"result\":\"{(d[0] == '~' ? "skip" : "pass")}\",\"invariants\":[{{\"id\":\"X-1\",\"status\":\"pass\"}}],\"properties\":[]}}")) + "]}");
        var d = RegressionDiff.Compare("b", Doc("/dev/video0", "/dev/udmabuf"), Doc("/dev/video0", "/dev/video1"));
        Assert.True(d.Regressed);
        Assert.Equal(["/dev/udmabuf"], d.UnitsMissing);
        Assert.Equal(["/dev/video1"], d.UnitsAdded);
        Assert.Empty(d.Changes);   // a new unit's passes are not listed one by one
        Assert.Contains("unit missing now (in the baseline): /dev/udmabuf", d.Text());
        // a device the baseline skipped as a whole (~) was not certified then: its absence is no regression
        Assert.False(RegressionDiff.Compare("b", Doc("/dev/video0", "~/dev/media0"), Doc("/dev/video0")).Regressed);
        // a run limited to some devices (--device) misses none of the others
        Assert.False(RegressionDiff.Compare("b", Doc("/dev/video0", "/dev/udmabuf"), Doc("/dev/video0"), ["/dev/video0"]).Regressed);
        Assert.True(RegressionDiff.Compare("b", Doc("/dev/video0", "/dev/udmabuf"), Doc("/dev/video0"), ["/dev/video0", "/dev/udmabuf"]).Regressed);
    }

    [Fact]
    public void The_runner_exits_1_on_a_regression_and_writes_the_diff_beside_the_results()
    {
        var root = Directory.CreateTempSubdirectory("conformance-baseline").FullName;
        string Out(string n) => Path.Combine(root, n);
        Assert.Equal(0, Program.Run(["--sequences", "100", "--area", "dmabuf", "--out", Out("base")], TextWriter.Null));
        var sw = new StringWriter();
        Assert.Equal(0, Program.Run(["--sequences", "100", "--area", "dmabuf", "--out", Out("same"), "--baseline", Out("base/results.json")], sw));
        Assert.Contains("no regression", sw.ToString());
        sw = new StringWriter();
        Assert.Equal(1, Program.Run(["--target", "broken:llseek-seek-cur", "--sequences", "100", "--area", "dmabuf", "--repro-runs", "1", "--out", Out("worse"), "--baseline", Out("base/results.json")], sw));
        Assert.Contains("#     model profile vivid-like  DMABUF-LLSEEK-3  pass -> fail", sw.ToString());
        Assert.True(JsonDocument.Parse(File.ReadAllText(Out("worse/regressions.json"))).RootElement.GetProperty("regressed").GetBoolean());
    }
}
