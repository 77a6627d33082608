using System.Runtime.ExceptionServices;
using Conformance.Adapters.Interop;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Kernel;

/// <summary>
/// Create ioctls made to fail on purpose. Those whose argument lies in a read-only page (<see cref="Op"/>'s ReadOnlyArg, DMABUF-FAIL-1): the argument is
/// copied into a fresh anonymous page that is then made read-only, so the kernel's copy_from_user succeeds and its copy of
/// the new fd back faults; the dma-buf and sync_file fds the failed call left in this process (read from /proc/self/fd) are
/// counted and closed. A dma-buf left without an fd shows in the sequence's end-of-sequence bufinfo check. Those made with
/// the fd table full (<see cref="Op"/>'s FdTableFull, DMABUF-FAIL-2): the call runs on a thread of its own whose fd table
/// is a private copy of the process's (unshare(CLONE_FILES)); there the soft RLIMIT_NOFILE is lowered to one past the
/// highest open fd and every free number below it is filled with a duplicate of /dev/null, so the kernel's
/// get_unused_fd_flags finds none (EMFILE); bufinfo's count of live dma-bufs before and after the call says what it left.
/// The copy is what makes the table stay full: in the process's own table any other thread may close a file in the window
/// (the runtime's garbage collector opens and closes /proc/meminfo on whichever thread collects), and the number it frees is
/// where the kernel installs the new fd. (A lab round trip met it: a heap ALLOC "succeeded" with the table full, and its
/// C reproducer, one thread, never did.) The limit is the process's, though: another thread of this process that opens a
/// file while it is lowered may get EMFILE; the suite's own threads that open files while ops run (the kernel-coverage
/// collector, <see cref="FunctionCoverage"/>) do it through <see cref="WithFdRoom"/>, which waits the window out. (A lab run
/// with --kernel-coverage lost its coverage so: the collector's open of set_ftrace_filter met a full table.)
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
    private static HashSet<int> SharedFds() => Discovery.FdLinks().Where(l => SharedFile(l.Target)).Select(l => l.Fd).ToHashSet();

    /// <summary>Whether an fd's link names a dma-buf or a sync_file (<see cref="SharedFds"/>).</summary>
    private static bool SharedFile(string target) =>
        target.StartsWith("/dmabuf:", StringComparison.Ordinal) || target is "anon_inode:dmabuf" or "anon_inode:sync_file";

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

    /// <summary>Held by the thread whose op has the fd table full, for the whole of <see cref="WithFdTableFull"/> (the limit is
    /// the process's, so one gate for every target).</summary>
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

    public Outcome WithFdTableFull(Func<Outcome> call)
    {
        lock (FdTableGate)
        {
            int before = BufInfo.LiveCount();
            Outcome made = default;
            ExceptionDispatchInfo? thrown = null;
            var worker = new Thread(() =>
            {
                try { made = InFullPrivateTable(call); }
                catch (Exception e) { thrown = ExceptionDispatchInfo.Capture(e); }
            }) { IsBackground = true, Name = "conformance-fd-table-full" };
            worker.Start();
            worker.Join();
            thrown?.Throw();
            int after = BufInfo.LiveCount();
            // a success with the table full names no file of this process: the copy it was made in is closed (fs/file.c
            // alloc_fd gives no number at or past the limit, so the kernel wrote one it never installed); the model judges it
            // (where unshare was refused, the call's fd, if any, is one of the process's own, which the op's books hold)
            if (made.Ok) return made;
            return made with { R0 = before < 0 || after < 0 ? -1 : after - before };
        }
    }

    /// <summary>
    /// On the calling thread, which must be one of its own: its fd table unshared (a private copy), filled, <paramref
    /// name="call"/> made, then the soft limit restored and closed in the copy: every fd the copy did not start with (the
    /// duplicates, anything the call made) and the copies of the suite's own files (<see cref="SuiteFile"/>), so that no
    /// later step meets one of them still referenced from this thread's table while the thread exits. None of the suite's
    /// files is released by it: the process's table holds them all. The runtime's own fds stay in the copy until the thread
    /// ends: the runtime uses some of them on any thread (a small program that closes its whole table on one thread and then
    /// has a method compiled there aborts without a word, W^X on or off), and closing the whole copy made a lab run abort so.
    /// Where unshare is refused (a container's seccomp profile refuses it without CAP_SYS_ADMIN), the process's own table is
    /// filled instead and only the duplicates are closed; a note on stderr says so once. Throws InvalidOperationException
    /// where the table cannot be filled, and what <paramref name="call"/> throws.
    /// </summary>
    private static Outcome InFullPrivateTable(Func<Outcome> call)
    {
        if (Sys.GetRlimit(Libc.RLIMIT_NOFILE, out var nofile) < 0) throw new InvalidOperationException("getrlimit(RLIMIT_NOFILE) failed: the fd table cannot be filled");
        long r = Sys.Unshare(Libc.CLONE_FILES);
        bool own = r >= 0;
        PrivateFdTables = own;
        if (!own && !_sharedTableNoted)
        {
            _sharedTableNoted = true;
            Console.Error.WriteLine($"# harness: unshare(CLONE_FILES) refused ({Sys.ErrnoOf(r)}): the calls made with the fd table full (DMABUF-FAIL-2) fill the process's own table, where a file another thread of the runtime closes in the window lets the call through (a FAIL whose re-runs say FLAKY)");
        }
        // in the process's own table, the numbers this thread fills, to be closed after (never the whole table); in a copy,
        // the fds the copy started with (what it gains is closed after, and of what it started with the suite's own files)
        var fillers = own ? null : new List<int>();
        HashSet<int>? started = null;
        bool lowered = false;
        try
        {
            long nul = Sys.Open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (nul < 0) throw new InvalidOperationException($"open(/dev/null) failed ({Sys.ErrnoOf(nul)}): the fd table cannot be filled");
            fillers?.Add((int)nul);
            var links = Discovery.FdLinks(thisThread: true).Select(l => l.Fd).ToList();
            if (own) started = links.Where(fd => fd != nul).ToHashSet();
            ulong top = (ulong)links.Max();
            r = Sys.SetRlimit(Libc.RLIMIT_NOFILE, new Libc.rlimit { rlim_cur = Math.Min(top + 1, nofile.rlim_max), rlim_max = nofile.rlim_max });
            if (r < 0) throw new InvalidOperationException($"setrlimit(RLIMIT_NOFILE) failed ({Sys.ErrnoOf(r)}): the fd table cannot be filled");
            lowered = true;
            while (true)
            {
                long d = Sys.Fcntl((int)nul, Libc.F_DUPFD_CLOEXEC, 0);
                if (d >= 0) { fillers?.Add((int)d); continue; }
                if (Sys.ErrnoOf(d) == Errno.EMFILE) break;
                throw new InvalidOperationException($"filling the fd table stopped with {Sys.ErrnoOf(d)}, not EMFILE");
            }
            return call();
        }
        finally
        {
            if (lowered) Sys.SetRlimit(Libc.RLIMIT_NOFILE, nofile);
            if (fillers != null) foreach (int fd in fillers) Sys.Close(fd);
            else
                foreach (var (fd, target) in Discovery.FdLinks(thisThread: true).ToList())
                    if (started != null && !started.Contains(fd) || fd > 2 && SuiteFile(target)) Sys.Close(fd);
        }
    }

    /// <summary>Whether an fd's link (readlink of /proc/thread-self/fd/N) names a file of the kinds the suite opens and whose
    /// release its rules watch: a V4L2, media, DRM, dma-heap, udmabuf or test-module device node, a dma-buf, a sync_file, a
    /// media request, or one of the suite's memfds (named "conformance").</summary>
    private static bool SuiteFile(string target) =>
        target.StartsWith("/dev/video", StringComparison.Ordinal) || target.StartsWith("/dev/media", StringComparison.Ordinal)
        || target.StartsWith("/dev/v4l-subdev", StringComparison.Ordinal) || target.StartsWith("/dev/dri/", StringComparison.Ordinal)
        || target.StartsWith("/dev/dma_heap/", StringComparison.Ordinal) || target == "/dev/udmabuf"
        || target.StartsWith("/dev/conformance", StringComparison.Ordinal) || SharedFile(target) || target == "anon_inode:request"
        || target.StartsWith("/memfd:conformance", StringComparison.Ordinal);

    /// <summary>Whether the last call made with the fd table full (<see cref="WithFdTableFull"/>) had a private copy of the
    /// table (unshare(CLONE_FILES) permitted); null before the first.</summary>
    public static bool? PrivateFdTables { get; private set; }

    /// <summary>Whether the note that unshare was refused has been printed (once a process).</summary>
    private static bool _sharedTableNoted;
}
