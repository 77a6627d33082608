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
    /// same file; a file .NET opened (with O_CLOEXEC) does not; an fd number the process does not hold is EBADF.</summary>
    [Fact]
    public void An_exec_d_program_holds_the_fds_without_close_on_exec_and_no_others()
    {
        var t = new KernelTarget(Conformance.Adapters.TargetProfile.VividLike with { Video = [] }, new Dictionary<string, string>());
        var memfd = t.MemfdCreate(4096, allowSealing: false, seals: 0);
        Assert.True(memfd.Ok);
        using var net = File.OpenHandle(typeof(KernelAdapterTests).Assembly.Location);
        int cloexec = (int)net.DangerousGetHandle();
        var o = t.Exec([memfd.Handle, cloexec]);
        Assert.True(o.Ok, $"exec gave {o.Errno}");
        Assert.Equal(0b01, o.R0);
        Assert.Equal(0b01, o.R1);
        Assert.Equal(Conformance.Adapters.Errno.EBADF, t.Exec([1 << 30]).Errno);
        t.Close(memfd.Handle);
    }

    /// <summary>SCM_RIGHTS for real: the fd comes back as the same file, FD_CLOEXEC as recvmsg asked; an fd number the process does not hold is EBADF.</summary>
    [Fact]
    public void An_fd_passed_with_SCM_RIGHTS_comes_back_as_the_same_file_with_the_receiver_s_close_on_exec()
    {
        var t = new KernelTarget(Conformance.Adapters.TargetProfile.VividLike with { Video = [] }, new Dictionary<string, string>());
        var memfd = t.MemfdCreate(4096, allowSealing: false, seals: 0);
        foreach (bool cloexec in new[] { false, true })
        {
            var got = t.PassFd(memfd.Handle, cloexec);
            Assert.True(got.Ok, $"PassFd gave {got.Errno}");
            Assert.Equal(1, got.R0);
            Assert.NotEqual(memfd.Handle, got.Handle);
            Assert.Equal(cloexec ? Conformance.Adapters.Uapi.FD_CLOEXEC : 0, t.FcntlGetFd(got.Handle).R0);
            t.Close(got.Handle);
        }
        t.Close(memfd.Handle);
        // (a number no process holds: a closed one may be reused at once by another test of this run)
        Assert.Equal(Conformance.Adapters.Errno.EBADF, t.PassFd(1 << 30, false).Errno);
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
