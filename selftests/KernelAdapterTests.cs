using Conformance.Adapters.Interop;
using Conformance.Adapters.Kernel;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>Parts of the kernel adapter that can be checked off the kernel; the adapter itself runs in the lab VM (.ci/run).</summary>
[Collection(KernelAdapterTests.Helpers)]
public class KernelAdapterTests
{
    /// <summary>The test classes that start helper processes run one at a time: a test here counts this process's children.</summary>
    public const string Helpers = "helper processes";

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

    /// <summary>SLUB's alloc_traces as 6.12 prints it (mm/slub.c slab_debugfs_show; the udmabuf entry is the lab's, from the
    /// two-thread SYNC START race): chains through the dma-buf paths are kept, innermost frame first, cut at the system call
    /// entry, compiler-clone suffixes and offsets dropped; a chain of other code is not; growth is what got bigger.</summary>
    [Fact]
    public void Alloc_traces_keep_the_chains_on_the_dma_buf_paths_and_growth_is_what_got_bigger()
    {
        string[] traces =
        [
            "      8 get_sg_table.isra.0+0x2e/0x120 age=1559/2018/3231 pid=241-2444 cpus=0-1",
            "        get_sg_table.isra.0+0x2e/0x120",
            "        begin_cpu_udmabuf+0x59/0x80",
            "        dma_buf_ioctl+0x1c6/0x2a0",
            "        __x64_sys_ioctl+0x94/0xd0",
            "        do_syscall_64+0x82/0x190",
            "        entry_SYSCALL_64_after_hwframe+0x76/0x7e",
            "",
            "     12 init_msg_buckets+0x27/0x40 age=4294 pid=1 cpus=0",
            "        init_msg_buckets+0x27/0x40",
            "        msg_init+0x15/0x40",
            "",
            "      2 vgem_fence_attach_ioctl+0x5a/0x1f0 [vgem] age=10/20/30 pid=300 cpus=1",
            "        __kmalloc_cache_noprof+0x10/0x200",
            "        vgem_fence_attach_ioctl+0x5a/0x1f0 [vgem]",
        ];
        var chains = AllocTraces.Parse("kmalloc-16", traces).ToList();
        Assert.Equal([("kmalloc-16: get_sg_table <- begin_cpu_udmabuf <- dma_buf_ioctl", 8L), ("kmalloc-16: vgem_fence_attach_ioctl", 2L)], chains);
        var before = new AllocTraces.Snapshot(new Dictionary<string, long> { ["a"] = 3, ["b"] = 5 }, 1);
        var after = new AllocTraces.Snapshot(new Dictionary<string, long> { ["a"] = 3, ["b"] = 4, ["c"] = 2 }, 1);
        var grown = Assert.Single(AllocTraces.Grown(before, after));
        Assert.Equal(("c", 0L, 2L), (grown.Chain, grown.Before, grown.After));
        Assert.Empty(AllocTraces.Grown(after, after));
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

    /// <summary>The benchmark's clock of the adapter's system calls, for real on a memfd: on, each call adds its time (other
    /// tests' calls at the same moment may add theirs: only a lower bound is certain); off, none is counted; its calibration
    /// measures a positive cost a call and leaves the clock as it was.</summary>
    [Fact]
    public void The_system_call_clock_times_each_call_while_on_and_none_while_off()
    {
        var t = new KernelTarget(Conformance.Adapters.TargetProfile.VividLike with { Video = [] }, new Dictionary<string, string>());
        Assert.False(SyscallClock.On);
        double overhead = SyscallClock.Calibrate();
        Assert.InRange(overhead, 1e-10, 1e-3);
        Assert.False(SyscallClock.On);
        SyscallClock.Reset();
        var memfd = t.MemfdCreate(4096, allowSealing: false, seals: 0);
        Assert.Equal(0, SyscallClock.Read().Calls);
        SyscallClock.On = true;
        SyscallTime timed;
        try
        {
            for (int i = 0; i < 10; i++) Assert.True(t.FcntlGetFd(memfd.Handle).Ok);
            t.Close(memfd.Handle);
            timed = SyscallClock.Read();
        }
        finally { SyscallClock.On = false; }
        Assert.True(timed.Calls >= 11, $"{timed.Calls} calls timed");
        // each call's clock cost is taken off its time
        Assert.True(timed.Timed > 0 && timed.Overhead == overhead && timed.Seconds < timed.Timed, timed.ToString());

        // a thread that excludes itself (the coverage collector) is never timed: 10,000 calls there add nothing (other tests'
        // calls at the same moment may add a few)
        var other = t.MemfdCreate(4096, allowSealing: false, seals: 0);
        long before = -1, after = -1;
        var excluded = new Thread(() =>
        {
            SyscallClock.ExcludeThisThread();
            before = SyscallClock.Read().Calls;
            for (int i = 0; i < 10_000; i++) t.FcntlGetFd(other.Handle);
            after = SyscallClock.Read().Calls;
        });
        SyscallClock.On = true;
        try { excluded.Start(); excluded.Join(); }
        finally { SyscallClock.On = false; }
        Assert.InRange(after - before, 0, 9_999);
        t.Close(other.Handle);
    }

    /// <summary>DMABUF-FAIL-2's precondition holds whatever the process's other threads do: a call made with the fd table full
    /// meets EMFILE while another thread opens and closes files as fast as it can (as the runtime's garbage collector opens
    /// /proc/meminfo on whichever thread collects: in the process's own table a number it frees in the window is where the
    /// kernel installs the fd, and the call succeeds). Afterwards the limit is what it was and the table has room again.</summary>
    [Fact]
    public void A_call_made_with_the_fd_table_full_meets_EMFILE_while_another_thread_opens_and_closes_files()
    {
        var t = new KernelTarget(Conformance.Adapters.TargetProfile.VividLike with { Video = [] }, new Dictionary<string, string>());
        string limit = OpenFilesLimit();
        bool stop = false;
        long opened = 0;
        var churn = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                Microsoft.Win32.SafeHandles.SafeFileHandle f;
                try { f = File.OpenHandle("/proc/meminfo"); }
                catch (IOException) { continue; }   // EMFILE while the limit is lowered, where this table has no free number below it
                opened++;
                Thread.SpinWait(50);
                f.Dispose();
            }
        }) { IsBackground = true };
        churn.Start();
        try
        {
            // where unshare(CLONE_FILES) is refused (a container's seccomp profile) the adapter fills the shared table, which
            // this test shows to be unsafe under other threads: nothing to check here then
            var first = t.WithFdTableFull(() => t.MemfdCreate(4096, allowSealing: false, seals: 0));
            if (KernelTarget.PrivateFdTables == false) { if (first.Ok) t.Close(first.Handle); return; }
            Assert.Equal(Conformance.Adapters.Errno.EMFILE, first.Errno);
            for (int i = 0; i < 300; i++)
            {
                var o = t.WithFdTableFull(() => t.MemfdCreate(4096, allowSealing: false, seals: 0));
                Assert.True(o.Errno == Conformance.Adapters.Errno.EMFILE, $"call {i} with the table full gave {o.Errno} (fd {o.Handle})");
                Assert.InRange(o.R0, -1, 0);   // no dma-buf left (-1: bufinfo unreadable here)
            }
        }
        finally { Volatile.Write(ref stop, true); churn.Join(); }
        Assert.True(opened > 0, "the other thread never opened a file");
        Assert.Equal(limit, OpenFilesLimit());
        var room = t.MemfdCreate(4096, allowSealing: false, seals: 0);
        Assert.True(room.Ok, $"after the window: {room.Errno}");
        t.Close(room.Handle);

        // the soft and hard RLIMIT_NOFILE, as /proc/self/limits gives them
        static string OpenFilesLimit() => File.ReadLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
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
    public void A_second_process_receives_the_same_file_shares_its_pages_and_sends_it_back()
    {
        Assert.True(File.Exists(KernelTarget.HelperPath), $"{KernelTarget.HelperPath}: dotnet build builds it with the machine's C compiler");
        var t = new KernelTarget(Conformance.Adapters.TargetProfile.VividLike with { Video = [] }, new Dictionary<string, string>());
        var memfd = t.MemfdCreate(4096, allowSealing: false, seals: 0);
        var p1 = t.Process(1);
        foreach (bool cloexec in new[] { false, true })
        {
            var got = t.SendFd(0, memfd.Handle, 1, cloexec);
            Assert.True(got.Ok, $"SendFd gave {got.Errno}");
            Assert.Equal(1, got.R0);
            Assert.Equal(cloexec ? Conformance.Adapters.Uapi.FD_CLOEXEC : 0, p1.FcntlGetFd(got.Handle).R0);
            // its pages are this process's: a word written there is read here, and the other way round
            var there = p1.Mmap(got.Handle, 0, 4096, Conformance.Adapters.Uapi.PROT_READ | Conformance.Adapters.Uapi.PROT_WRITE, Conformance.Adapters.Uapi.MAP_SHARED);
            var here = t.Mmap(memfd.Handle, 0, 4096, Conformance.Adapters.Uapi.PROT_READ | Conformance.Adapters.Uapi.PROT_WRITE, Conformance.Adapters.Uapi.MAP_SHARED);
            Assert.True(there.Ok && here.Ok, $"mmap gave {there.Errno} there, {here.Errno} here");
            Assert.True(p1.WriteStamp(there.Handle, 8, 0x1234_5679UL).Ok);
            Assert.Equal(0x1234_5679L, t.ReadStamp(here.Handle, 8).R0);
            Assert.True(t.WriteStamp(here.Handle, 16, 0xABCDEFUL).Ok);
            Assert.Equal(0xABCDEFL, p1.ReadStamp(there.Handle, 16).R0);
            // sent back, it is the same file again, with this process's choice of close-on-exec
            var back = t.SendFd(1, got.Handle, 0, !cloexec);
            Assert.True(back.Ok, $"SendFd back gave {back.Errno}");
            Assert.Equal(1, back.R0);
            Assert.Equal(!cloexec ? Conformance.Adapters.Uapi.FD_CLOEXEC : 0, t.FcntlGetFd(back.Handle).R0);
            Assert.True(p1.Munmap(there.Handle).Ok);
            Assert.True(p1.Close(got.Handle).Ok);
            Assert.Equal(Conformance.Adapters.Errno.EBADF, p1.Close(got.Handle).Errno);
            t.Munmap(here.Handle);
            t.Close(back.Handle);
        }
        // a number the sender does not hold
        Assert.Equal(Conformance.Adapters.Errno.EBADF, t.SendFd(0, 1 << 30, 1, false).Errno);
        // the exit ends it (how many dma-bufs it released is -1 where bufinfo cannot be read); the next call starts another
        var kept = t.SendFd(0, memfd.Handle, 1, false);
        Assert.True(kept.Ok);
        var exit = t.ExitProcess(1);
        Assert.True(exit.Ok, $"ExitProcess gave {exit.Errno}");
        Assert.Equal(Conformance.Adapters.Errno.EBADF, p1.FcntlGetFd(kept.Handle).Errno);
        t.Close(memfd.Handle);
        t.Dispose();
    }

    /// <summary>The helper started ahead: once a sequence has used a second process, each reset spawns the next one, which the
    /// next sequence's first call there takes (a working process, holding only what it is sent); none is left after Dispose.</summary>
    [Fact]
    public void A_helper_spawned_ahead_at_a_reset_serves_the_next_sequence_and_none_outlives_the_target()
    {
        int before = Children().Count;
        var t = new KernelTarget(Conformance.Adapters.TargetProfile.VividLike with { Video = [] }, new Dictionary<string, string>());
        t.Reset();
        Assert.Equal(before, Children().Count);   // no sequence has used a helper yet: none is spawned ahead
        var pids = new HashSet<int>();
        for (int sequence = 0; sequence < 3; sequence++)
        {
            var memfd = t.MemfdCreate(4096, allowSealing: false, seals: 0);
            var got = t.SendFd(0, memfd.Handle, 1, false);
            Assert.True(got.Ok, $"sequence {sequence + 1}: SendFd gave {got.Errno}");
            Assert.Equal(1, got.R0);
            Assert.Equal(0, t.Process(1).FcntlGetFd(got.Handle).R0);
            var mine = Children();
            pids.UnionWith(mine);
            t.Reset();   // ends P1 and spawns the next one ahead
            Assert.Equal(before + 1, Children().Count);
            Assert.DoesNotContain(Children(), mine.Contains);
        }
        Assert.True(pids.Count >= 3, "each sequence's P1 is a process of its own");
        t.Dispose();
        Assert.Equal(before, Children().Count);

        // this process's children running the helper program, over all its threads (/proc/PID/task/TID/children; other test
        // classes start other programs meanwhile)
        static List<int> Children() => Directory.GetDirectories($"/proc/{Environment.ProcessId}/task")
            .SelectMany(d => File.Exists(Path.Combine(d, "children")) ? File.ReadAllText(Path.Combine(d, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries) : [])
            .Select(int.Parse).Where(IsHelper).ToList();
        static bool IsHelper(int pid)
        {
            try { return new FileInfo($"/proc/{pid}/exe").LinkTarget is { } exe && Path.GetFullPath(exe) == Path.GetFullPath(KernelTarget.HelperPath); }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        }
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
