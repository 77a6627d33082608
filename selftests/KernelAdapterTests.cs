using Conformance.Adapters.Kernel;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>Parts of the kernel adapter that can be checked off the kernel; the adapter itself runs in the lab VM (.ci/run).</summary>
public class KernelAdapterTests
{
    /// <summary>A device the user names that cannot be certified ends the run (exit 2); the same device found by the lab
    /// beside a module's other nodes is a SKIP with the reason, and the run goes on.</summary>
    [Fact]
    public void A_device_found_beside_others_that_cannot_be_certified_is_a_skip_with_its_reason_not_an_error()
    {
        var e = Assert.Throws<DeviceException>(() => Discovery.Discover(["/dev/null"]));
        Assert.Contains("/dev/null: not a V4L2, dma-heap, udmabuf or DRM device", e.Message);
        var found = Discovery.Discover(["/dev/null"], found: true);
        Assert.Empty(found.Units);
        var skip = Assert.Single(found.Skipped);
        Assert.Equal("/dev/null", skip.Path);
        Assert.Contains("VIDIOC_SUBDEV_QUERYCAP, MEDIA_IOC_DEVICE_INFO", skip.Reason);
    }

    [Fact]
    public void Bufinfo_count_is_the_summary_line_not_a_per_buffer_attachment_total()
    {
        // the shape of 6.12's dma_buf_debug_show, from the lab VM with one leaked buffer
        string[] bufinfo =
        [
            "", "Dma-buf Objects:", "size    \tflags   \tmode    \tcount   \texp_name\tino     \tname",
            "00004096\t00000002\t00080005\t00000001\tconformance_heap\t00000004\t<none>",
            "\tAttached Devices:", "Total 0 devices attached", "", "", "Total 1 objects, 4096 bytes",
        ];
        Assert.Equal(1, BufInfo.Parse(bufinfo));
        Assert.Equal(-1, BufInfo.Parse(["", "Dma-buf Objects:"]));
    }

    [Fact]
    public void The_watchdog_names_an_op_that_does_not_return_and_the_sequence_running()
    {
        string? report = null;
        using var fired = new ManualResetEventSlim();
        using var w = new Watchdog(TimeSpan.FromSeconds(0.5), r => { report = r; fired.Set(); }) { Context = () => "property lockstep, sequence 3 of 50" };
        using (w.Op("VIDIOC_DQBUF", 7)) Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), "the watchdog never fired");
        Assert.Contains("HANG: VIDIOC_DQBUF on handle 7", report);
        Assert.Contains("property lockstep, sequence 3 of 50", report);
    }

    /// <summary>The exec check runs for real on any machine: a memfd made without MFD_CLOEXEC reaches the new program as the
    /// same file; a file .NET opened (with O_CLOEXEC) does not; an fd the process does not hold is EBADF.</summary>
    [Fact]
    public void An_exec_d_program_holds_the_fds_without_close_on_exec_and_no_others()
    {
        var t = new KernelTarget(Conformance.Adapters.TargetProfile.VividLike with { Video = [] }, new Dictionary<string, string>());
        var memfd = t.MemfdCreate(4096, allowSealing: false, seals: 0);
        Assert.True(memfd.Ok);
        using var net = File.OpenHandle(typeof(KernelAdapterTests).Assembly.Location);
        int cloexec = (int)net.DangerousGetHandle();
        var o = t.Exec([(int)memfd.R0, cloexec]);
        Assert.True(o.Ok, $"exec gave {o.Errno}");
        Assert.Equal(0b01, o.R0);
        Assert.Equal(0b01, o.R1);
        Assert.Equal(Conformance.Adapters.Errno.EBADF, t.Exec([999]).Errno);
        t.Close((int)memfd.R0);
    }

    [Fact]
    public void The_watchdog_stays_quiet_while_ops_keep_returning()
    {
        bool fired = false;
        using var w = new Watchdog(TimeSpan.FromSeconds(0.5), _ => fired = true);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(1.5);
        while (DateTime.UtcNow < until)
            using (w.Op("VIDIOC_QUERYBUF", 3)) Thread.Sleep(50);
        Thread.Sleep(300);
        Assert.False(fired);
    }
}
