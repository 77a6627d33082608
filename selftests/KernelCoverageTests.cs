using Conformance.Adapters.Kernel;
using Conformance.Reports;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// --kernel-coverage off the kernel: how available_filter_functions is read into groups, how a trace_pipe line is read, and
/// the report's table, JSON (read back as a baseline) and difference. The collector itself runs in the lab VM (.ci/run,
/// step vm-certify, checked by vm-coverage).
/// </summary>
public class KernelCoverageTests
{
    [Fact]
    public void A_line_of_available_filter_functions_gives_the_name_and_the_module()
    {
        Assert.Equal(("dma_buf_ioctl", (string?)null), FunctionCoverage.ParseAvailable("dma_buf_ioctl"));
        Assert.Equal(("vb2_core_qbuf", "videobuf2_common"), FunctionCoverage.ParseAvailable("vb2_core_qbuf [videobuf2_common]"));
        Assert.Equal(("udmabuf_create.isra.0", "udmabuf"), FunctionCoverage.ParseAvailable("udmabuf_create.isra.0 [udmabuf]"));
    }

    [Fact]
    public void A_trace_pipe_line_names_the_function_entered()
    {
        Assert.Equal("dma_buf_ioctl", FunctionCoverage.ParseEvent("      conformance-1234    [001] ..... 1234.567890: dma_buf_ioctl <-__x64_sys_ioctl"));
        // a task name with spaces and colons does not confuse it
        Assert.Equal("vb2_ioctl_qbuf", FunctionCoverage.ParseEvent(" kworker/0:1 x: y-77 [000] d..1.   12.000001: vb2_ioctl_qbuf <-__video_do_ioctl"));
        Assert.Null(FunctionCoverage.ParseEvent("# tracer: function"));
    }

    [Fact]
    public void Each_function_belongs_to_the_first_group_that_claims_it_and_a_name_listed_twice_counts_once()
    {
        var root = Directory.CreateTempSubdirectory("coverage").FullName;
        File.WriteAllLines(Path.Combine(root, "available_filter_functions"),
        [
            "dma_buf_ioctl", "dma_buf_mmap_internal", "dma_fence_signal", "sync_file_create", "dma_heap_ioctl", "system_heap_allocate",
            "vb2_core_qbuf [videobuf2_common]", "vb2_vmalloc_alloc [videobuf2_vmalloc]", "udmabuf_create [udmabuf]",
            "drm_gem_prime_import [drm]", "vgem_fence_attach_ioctl [vgem]", "vivid_thread_vid_cap [vivid]", "vimc_debayer_process_rgb_frame [vimc]",
            "dma_buf_fd", "dma_buf_fd", "schedule", "vb2_core_qbuf [other_module]",
        ]);
        var t = FunctionCoverage.Traceable(root, FunctionCoverage.Groups).ToDictionary(x => x.Group.Name, x => x.Functions);
        Assert.Equal(["vb2_core_qbuf", "vb2_vmalloc_alloc"], t["vb2"]);
        Assert.Equal(["dma_buf_fd", "dma_buf_ioctl", "dma_buf_mmap_internal"], t["dma-buf core"]);
        Assert.Equal(["dma_fence_signal", "sync_file_create"], t["fences and sync_file"]);
        Assert.Equal(["dma_heap_ioctl", "system_heap_allocate"], t["heaps"]);
        Assert.Equal(["udmabuf_create"], t["udmabuf"]);
        Assert.Equal(["drm_gem_prime_import", "vgem_fence_attach_ioctl"], t["vgem/DRM"]);
        // the drivers' own functions are not traced (see FunctionCoverage.Start), nor anything outside the groups
        Assert.DoesNotContain(t.Values, fs => fs.Contains("schedule") || fs.Contains("vivid_thread_vid_cap") || fs.Contains("vimc_debayer_process_rgb_frame"));
    }

    private static CoverageReport Sample(string kernel, params string[] reachedVb2) => new(kernel, 812.4, 0,
    [
        new GroupCoverage("vb2", ["vb2_core_dqbuf", "vb2_core_qbuf", "vb2_core_reqbufs"], reachedVb2),
        new GroupCoverage("dma-buf core", ["dma_buf_fd", "dma_buf_ioctl"], ["dma_buf_ioctl"]),
    ]);

    [Fact]
    public void The_JSON_reads_back_as_a_baseline_and_the_difference_names_what_moved()
    {
        var now = Sample("6.12.118", "vb2_core_qbuf", "vb2_core_reqbufs");
        var path = Path.Combine(Directory.CreateTempSubdirectory("coverage").FullName, "kernel-coverage.json");
        File.WriteAllText(path, KernelCoverageReport.Json(now).ToJsonString());
        var back = KernelCoverageReport.Load(path);
        Assert.Equal(now.Traceable, back.Traceable);
        Assert.Equal(now.Reached, back.Reached);
        Assert.Equal(["vb2_core_dqbuf"], back.Groups[0].Never);
        // a results.json carrying it as kernel_coverage reads the same
        File.WriteAllText(path, $"{{\"schema\": \"x\", \"kernel_coverage\": {KernelCoverageReport.Json(now).ToJsonString()}}}");
        Assert.Equal(3, KernelCoverageReport.Load(path).Reached);

        var before = Sample("6.12.117", "vb2_core_dqbuf", "vb2_core_qbuf");
        var diff = KernelCoverageReport.Diff(before, now);
        var vb2 = Assert.Single(diff);
        Assert.Equal("vb2", vb2.Group);
        Assert.Equal(["vb2_core_reqbufs"], vb2.Gained);
        Assert.Equal(["vb2_core_dqbuf"], vb2.Lost);
        Assert.Contains("1 newly reached, 1 no longer reached", KernelCoverageReport.DiffText(before, now, "base.json"));
        Assert.Contains("the same functions reached", KernelCoverageReport.DiffText(now, now, "base.json"));
    }

    [Fact]
    public void A_file_that_is_not_a_coverage_file_is_refused_with_its_reason()
    {
        var dir = Directory.CreateTempSubdirectory("coverage").FullName;
        File.WriteAllText(Path.Combine(dir, "a.json"), "{ \"schema\": \"conformance-results/1\" }");
        File.WriteAllText(Path.Combine(dir, "b.json"), "{ not json");
        File.WriteAllText(Path.Combine(dir, "c.json"), $"{{ \"schema\": \"{KernelCoverageReport.Schema}\", \"groups\": 5 }}");
        Assert.Contains("is not a kernel coverage file", Assert.Throws<InvalidDataException>(() => KernelCoverageReport.Load(Path.Combine(dir, "a.json"))).Message);
        Assert.Contains("is not JSON", Assert.Throws<InvalidDataException>(() => KernelCoverageReport.Load(Path.Combine(dir, "b.json"))).Message);
        Assert.Contains("damaged", Assert.Throws<InvalidDataException>(() => KernelCoverageReport.Load(Path.Combine(dir, "c.json"))).Message);
    }

    [Fact]
    public void The_table_gives_each_group_reached_of_traceable_and_says_whether_events_were_lost()
    {
        var table = KernelCoverageReport.Table(Sample("6.12.118", "vb2_core_qbuf"));
        Assert.StartsWith("kernel coverage: 2 of 5 traceable functions of the buffer-sharing code reached (40%), 812 s traced on 6.12.118, no trace event lost", table);
        Assert.Matches(@"\n  vb2 +1 / 3 +33%\n", table);
        Assert.Matches(@"\n  dma-buf core +1 / 2 +50%$", table);
        Assert.Contains("LOST", KernelCoverageReport.Table(Sample("6.12.118") with { LostEvents = 7 }));
    }

    [Fact]
    public void Coverage_over_time_says_when_half_90_percent_and_all_of_it_was_reached_and_reads_back()
    {
        var timed = new CoverageReport("6.12.118", 600, 0,
        [
            new GroupCoverage("vb2", ["vb2_core_dqbuf", "vb2_core_qbuf", "vb2_core_reqbufs"], ["vb2_core_qbuf", "vb2_core_reqbufs"])
                { ReachedAt = new Dictionary<string, double> { ["vb2_core_reqbufs"] = 1.5, ["vb2_core_qbuf"] = 40 } },
            new GroupCoverage("dma-buf core", ["dma_buf_fd", "dma_buf_ioctl"], ["dma_buf_fd", "dma_buf_ioctl"])
                { ReachedAt = new Dictionary<string, double> { ["dma_buf_fd"] = 2, ["dma_buf_ioctl"] = 412.3 } },
        ]) { Ops = 1_200_000, Turns = [new CoverageTurn("/dev/dma_heap/system", 0, 30), new CoverageTurn("/dev/video0", 30, 500), new CoverageTurn("/dev/udmabuf", 500, 600)] };
        // (90% of four is the fourth: by the time three are reached only 75% are)
        Assert.Equal((1.5, 2, 40, 412.3, 412.3), (timed.SecondsTo(0.25), timed.SecondsTo(0.5), timed.SecondsTo(0.75), timed.SecondsTo(0.9), timed.SecondsTo(1)));
        var table = KernelCoverageReport.Table(timed);
        Assert.Contains("\n  over time: half of it reached by 2 s, 90% by 412.3 s, all by 412.3 s of 600 s; 1,200,000 ops, 2,000 a second\n", table);
        // each device's turn: the functions first reached in it, and how far into the turn 90% of them were
        Assert.EndsWith("\n    /dev/dma_heap/system     2 in     30 s, 90% by 2 s\n    /dev/video0              2 in    470 s, 90% by 382.3 s\n    /dev/udmabuf             0 in    100 s", table);

        var path = Path.Combine(Directory.CreateTempSubdirectory("coverage").FullName, "kernel-coverage.json");
        File.WriteAllText(path, KernelCoverageReport.Json(timed).ToJsonString());
        var back = KernelCoverageReport.Load(path);
        Assert.Equal(table, KernelCoverageReport.Table(back));
        Assert.Equal(40, back.Groups[0].ReachedAt!["vb2_core_qbuf"]);
        Assert.Contains("\"reached_by_seconds\":{\"50%\":2,\"90%\":412.3,\"100%\":412.3}", KernelCoverageReport.Json(timed).ToJsonString());

        // a report without times (a file from before they were kept, or one whose times were left out) has no such line
        Assert.Null(Sample("6.12.118", "vb2_core_qbuf").SecondsTo(0.5));
        var emptied = timed with { Groups = [.. timed.Groups.Select(g => g with { ReachedAt = new Dictionary<string, double>() })] };
        Assert.Null(emptied.SecondsTo(0.5));
        Assert.DoesNotContain("over time", KernelCoverageReport.Table(emptied));
        Assert.DoesNotContain("over time", KernelCoverageReport.Table(Sample("6.12.118", "vb2_core_qbuf")));
    }
}
