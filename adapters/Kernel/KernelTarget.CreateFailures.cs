using Conformance.Adapters.Interop;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Kernel;

/// <summary>
/// Create ioctls made to fail on purpose. Those whose argument lies in a read-only page (<see cref="Op"/>'s ReadOnlyArg, DMABUF-FAIL-1): the argument is
/// copied into a fresh anonymous page that is then made read-only, so the kernel's copy_from_user succeeds and its copy of
/// the new fd back faults; the dma-buf and sync_file fds the failed call left in this process (read from /proc/self/fd) are
/// counted and closed. A dma-buf left without an fd shows in the sequence's end-of-sequence bufinfo check. Those made with
/// the fd table full (<see cref="Op"/>'s FdTableFull, DMABUF-FAIL-2): the soft RLIMIT_NOFILE is lowered to one past the
/// highest open fd and every free number below it is filled with a duplicate of /dev/null, so the kernel's
/// get_unused_fd_flags finds none (EMFILE); bufinfo's count of live dma-bufs before and after the call says what it left.
/// Another thread of this process that opened a file in that window would get EMFILE too: the suite's own threads that open
/// files while ops run (the kernel-coverage collector, <see cref="FunctionCoverage"/>) do it through <see cref="WithFdRoom"/>,
/// which waits the window out. (A lab run with --kernel-coverage lost its coverage so: the collector's open of
/// set_ftrace_filter met a full table.)
/// </summary>
public sealed unsafe partial class KernelTarget
{
    /// <summary>Set on the calling thread by <see cref="BeginReadOnlyArg"/>: the next ioctl made through <see cref="ArgIoctl"/>
    /// (one only) passes its argument in a read-only page.</summary>
    [ThreadStatic] private static bool t_readOnlyArg;
    private HashSet<int> _sharedFdsBefore = [];

    public void BeginReadOnlyArg(bool copiedBackOnFailure)
    {
        _sharedFdsBefore = SharedFds();
        t_readOnlyArg = true;
    }

    public Outcome EndReadOnlyArg(in Outcome call)
    {
        t_readOnlyArg = false;
        if (call.Ok) return call;
        var left = SharedFds();
        left.ExceptWith(_sharedFdsBefore);
        // the caller never learned these numbers: close them, so the sequence's hygiene check and the next steps start clean
        foreach (int fd in left) Sys.Close(fd);
        return call with { R0 = left.Count };
    }

    /// <summary>This process's fds that name a dma-buf ("/dmabuf:NAME", or "anon_inode:dmabuf" on kernels that name it so) or a
    /// sync_file ("anon_inode:sync_file"): the files a create ioctl of the buffer-sharing code makes.</summary>
    private static HashSet<int> SharedFds() =>
        Discovery.FdLinks().Where(l => l.Target.StartsWith("/dmabuf:", StringComparison.Ordinal) || l.Target is "anon_inode:dmabuf" or "anon_inode:sync_file")
            .Select(l => l.Fd).ToHashSet();

    /// <summary>
    /// ioctl(2) as <see cref="Sys.Ioctl"/> makes it, or, for the first one after <see cref="BeginReadOnlyArg"/> on this
    /// thread, with the argument's bytes (the request code's size field) copied into a fresh page made read-only first.
    /// The result, or -errno.
    /// </summary>
    private static long ArgIoctl(int fd, nuint request, void* arg)
    {
        if (!t_readOnlyArg) return Sys.Ioctl(fd, request, arg);
        t_readOnlyArg = false;   // the op's one create ioctl: what follows a success (a FILE_INFO query) is as usual
        int size = Ioc.Size(request);
        long page = Sys.Mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page < 0) return page;
        try
        {
            new ReadOnlySpan<byte>(arg, size).CopyTo(new Span<byte>((void*)page, size));
            long r = Sys.Mprotect(page, PAGE_SIZE, PROT_READ);
            return r < 0 ? r : Sys.Ioctl(fd, request, (void*)page);
        }
        finally { Sys.Munmap(page, PAGE_SIZE); }
    }

    /// <summary>Held by the thread that fills the fd table, from <see cref="BeginFdTableFull"/> to <see cref="EndFdTableFull"/>
    /// (a process has one fd table, so one gate for every target).</summary>
    private static readonly object FdTableGate = new();

    /// <summary>
    /// Runs <paramref name="open"/>, a short piece of work of another thread of the suite's that opens files while ops run,
    /// when no op has the fd table full: it waits for such a window (one create ioctl) to close. Throws what
    /// <paramref name="open"/> throws.
    /// </summary>
    public static void WithFdRoom(Action open)
    {
        lock (FdTableGate) open();
    }

    /// <summary>The duplicates filling the fd table between <see cref="BeginFdTableFull"/> and <see cref="EndFdTableFull"/>.</summary>
    private readonly List<int> _fillers = [];
    private Libc.rlimit _nofile;
    private bool _limitLowered;
    private int _bufsBeforeFull;

    public void BeginFdTableFull()
    {
        Monitor.Enter(FdTableGate);
        try { Fill(); }
        catch { EndFill(); throw; }
    }

    private void Fill()
    {
        _bufsBeforeFull = BufInfo.LiveCount();
        if (Sys.GetRlimit(Libc.RLIMIT_NOFILE, out _nofile) < 0) throw new InvalidOperationException("getrlimit(RLIMIT_NOFILE) failed: the fd table cannot be filled");
        long nul = Sys.Open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (nul < 0) throw new InvalidOperationException($"open(/dev/null) failed ({Sys.ErrnoOf(nul)}): the fd table cannot be filled");
        _fillers.Add((int)nul);
        ulong top = (ulong)Discovery.FdLinks().Max(l => l.Fd);
        long r = Sys.SetRlimit(Libc.RLIMIT_NOFILE, new Libc.rlimit { rlim_cur = Math.Min(top + 1, _nofile.rlim_max), rlim_max = _nofile.rlim_max });
        if (r < 0) throw new InvalidOperationException($"setrlimit(RLIMIT_NOFILE) failed ({Sys.ErrnoOf(r)}): the fd table cannot be filled");
        _limitLowered = true;
        while (true)
        {
            long d = Sys.Fcntl((int)nul, Libc.F_DUPFD_CLOEXEC, 0);
            if (d >= 0) { _fillers.Add((int)d); continue; }
            if (Sys.ErrnoOf(d) == Errno.EMFILE) return;
            throw new InvalidOperationException($"filling the fd table stopped with {Sys.ErrnoOf(d)}, not EMFILE");
        }
    }

    public Outcome EndFdTableFull(in Outcome call)
    {
        EndFill();
        int after = BufInfo.LiveCount();
        if (call.Ok) return call;   // the table had room after all (another thread closed an fd in the window): the model says so
        return call with { R0 = _bufsBeforeFull < 0 || after < 0 ? -1 : after - _bufsBeforeFull };
    }

    /// <summary>The fd table's room given back: the duplicates closed, the soft limit restored, and the gate opened.</summary>
    private void EndFill()
    {
        foreach (int fd in _fillers) Sys.Close(fd);
        _fillers.Clear();
        if (_limitLowered) Sys.SetRlimit(Libc.RLIMIT_NOFILE, _nofile);
        _limitLowered = false;
        if (Monitor.IsEntered(FdTableGate)) Monitor.Exit(FdTableGate);
    }
}
