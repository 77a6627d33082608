using System.Text.RegularExpressions;
using Conformance.Adapters;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Conformance.Spec;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>OUT/result.txt: one LAVA test case per unit and invariant, for lava/conformance.yaml.</summary>
public class LavaReportTests
{
    private static readonly Catalog Cat = Catalog.Load();

    [Fact]
    public void Every_invariant_is_a_case_and_a_failure_is_a_fail()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            Assert.Equal(1, Program.Run(["--target", "broken:llseek-seek-cur", "--sequences", "100", "--area", "dmabuf", "--repro-runs", "1", "-q", "--out", dir], TextWriter.Null));
            var lines = File.ReadAllLines(Path.Combine(dir, "result.txt"));
            // LAVA's test case names: letters, digits, '-', '_', '.'; results pass, fail or skip
            Assert.All(lines, l => Assert.Matches(new Regex("^[A-Za-z0-9._-]+ (pass|fail|skip)$"), l));
            Assert.Contains("broken.llseek-seek-cur.vivid-like_DMABUF-LLSEEK-3 fail", lines);
            Assert.Contains("broken.llseek-seek-cur.vivid-like_DMABUF-LLSEEK-1 pass", lines);
            Assert.Contains("broken.llseek-seek-cur.vivid-like_hygiene pass", lines);
            Assert.Equal(Cat.All.Count(i => i.Area == "dmabuf") + 1, lines.Length);
            Assert.Equal(lines.Length, lines.Distinct().Count());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Known_is_a_fail_not_exercised_a_skip_and_a_device_is_named_by_its_path()
    {
        var known = KnownIssueList.BuiltIn(Cat).Issues.Single(k => k.Id == "vb2-vmalloc-mmap-pgoff");
        InvariantResult[] invariants =
        [
            new(Cat["DMABUF-MMAP-5"], Verdict.Known, 3, null) { Known = [known] },
            new(Cat["DMABUF-MMAP-1"], Verdict.NotExercised, 0, "no generated sequence reached it"),
            new(Cat["DMABUF-MMAP-2"], Verdict.Skip, 0, "why"),
        ];
        var r = new SuiteResult("kernel /dev/video0", TargetProfile.VividLike, new RunOptions(), [], invariants, new Exercise(), TimeSpan.Zero);
        var units = new[]
        {
            new UnitResult("/dev/video0 (vivid)", "/dev/video0", r, null, _ => null, _ => "") { Leak = "1 fd left" },
            new UnitResult("/dev/dma_heap/system", "/dev/dma_heap/system", null, "not idle", _ => null, _ => ""),
        };
        Assert.Equal("video0_DMABUF-MMAP-5 fail\nvideo0_DMABUF-MMAP-1 skip\nvideo0_DMABUF-MMAP-2 skip\nvideo0_hygiene fail\ndma_heap.system_run skip\n",
            LavaReport.Build(units));
    }
}
