using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Conformance.Adapters.Interop;

/// <summary>
/// libc entry points the kernel adapter calls, declared verbatim (Tmds.LibC is not obtainable).
/// Variadic C functions (ioctl, fcntl, open) are declared with the one argument the suite passes;
/// on x86-64 and arm64 Linux that call is ABI-identical to the variadic one.
/// None is declared SetLastError: <see cref="Sys.Checked{T}"/> reads errno itself, and only where the call returned -1. The
/// stub SetLastError generates reads errno at the same point (after the call has returned to managed code), and beside
/// it zeroes errno before the call and saves it in a thread-local after: three calls out of managed code more per system
/// call, which under the lab's TCG cost as much as a fifth of a cheap call's time beside the kernel's.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    [LibraryImport(Lib, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string pathname, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "close")]
    internal static partial int close(int fd);

    [LibraryImport(Lib, EntryPoint = "dup")]
    internal static partial int dup(int oldfd);

    [LibraryImport(Lib, EntryPoint = "fcntl")]
    internal static partial int fcntl(int fd, int cmd, long arg);

    [LibraryImport(Lib, EntryPoint = "getrlimit")]
    internal static partial int getrlimit(int resource, rlimit* rlim);

    [LibraryImport(Lib, EntryPoint = "setrlimit")]
    internal static partial int setrlimit(int resource, rlimit* rlim);

    /// <summary>unshare(2): with <see cref="CLONE_FILES"/>, the calling thread gets a private copy of the process's fd table
    /// (the same files at the same numbers; what it opens or closes after that the other threads never see).</summary>
    [LibraryImport(Lib, EntryPoint = "unshare")]
    internal static partial int unshare(int flags);

    internal const int CLONE_FILES = 0x400;

    /// <summary>struct rlimit (sys/resource.h): the soft and hard limits, rlim_t each.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct rlimit { public ulong rlim_cur, rlim_max; }

    internal const int RLIMIT_NOFILE = 7;
    internal const int F_DUPFD_CLOEXEC = 1030;

    [LibraryImport(Lib, EntryPoint = "ioctl")]
    internal static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport(Lib, EntryPoint = "read")]
    internal static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport(Lib, EntryPoint = "write")]
    internal static partial nint write(int fd, void* buf, nuint count);

    [LibraryImport(Lib, EntryPoint = "lseek")]
    internal static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Lib, EntryPoint = "mmap")]
    internal static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, EntryPoint = "munmap")]
    internal static partial int munmap(void* addr, nuint length);

    /// <summary>mremap(2) without a new address (the call is variadic only for MREMAP_FIXED).</summary>
    [LibraryImport(Lib, EntryPoint = "mremap")]
    internal static partial void* mremap(void* oldAddress, nuint oldSize, nuint newSize, int flags);

    internal const int MREMAP_MAYMOVE = 1;

    [LibraryImport(Lib, EntryPoint = "mprotect")]
    internal static partial int mprotect(void* addr, nuint length, int prot);

    [LibraryImport(Lib, EntryPoint = "memfd_create", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int memfd_create(string name, uint flags);

    [LibraryImport(Lib, EntryPoint = "ftruncate")]
    internal static partial int ftruncate(int fd, long length);

    [LibraryImport(Lib, EntryPoint = "poll")]
    internal static partial int poll(pollfd* fds, nuint nfds, int timeout);

    [LibraryImport(Lib, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int statx(int dirfd, string pathname, int flags, uint mask, statx* statxbuf);

    [LibraryImport(Lib, EntryPoint = "_exit")]
    internal static partial void _exit(int status);

    [LibraryImport(Lib, EntryPoint = "getpid")]
    internal static partial int getpid();

    [LibraryImport(Lib, EntryPoint = "socketpair")]
    internal static partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport(Lib, EntryPoint = "sendmsg")]
    internal static partial nint sendmsg(int fd, msghdr* msg, int flags);

    [LibraryImport(Lib, EntryPoint = "recvmsg")]
    internal static partial nint recvmsg(int fd, msghdr* msg, int flags);

    internal const int AF_UNIX = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0x80000, SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_CTRUNC = 8, MSG_CMSG_CLOEXEC = 0x40000000;
    /// <summary>CMSG_LEN(sizeof(int)) and CMSG_SPACE(sizeof(int)) on LP64 (a 16-byte cmsghdr, 8-byte alignment).</summary>
    internal const int CmsgLenInt = 20, CmsgSpaceInt = 24;

    [LibraryImport(Lib, EntryPoint = "pipe2")]
    internal static partial int pipe2(int* pipefd, int flags);

    /// <summary>posix_spawn(3): glibc's runs the child with CLONE_VM|CLONE_VFORK, safe in a multi-threaded process. Returns an
    /// error number (not -1 and errno).</summary>
    [LibraryImport(Lib, EntryPoint = "posix_spawn", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int posix_spawn(int* pid, string path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_init")]
    internal static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_adddup2")]
    internal static partial int posix_spawn_file_actions_adddup2(void* fileActions, int fd, int newfd);

    /// <summary>posix_spawn_file_actions_addclosefrom_np(3) (glibc 2.34): the child closes every fd from <paramref name="from"/> up.</summary>
    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_addclosefrom_np")]
    internal static partial int posix_spawn_file_actions_addclosefrom_np(void* fileActions, int from);

    /// <summary>pidfd_open(2) (glibc 2.36): an fd that polls readable once the process has exited.</summary>
    [LibraryImport(Lib, EntryPoint = "pidfd_open")]
    internal static partial int pidfd_open(int pid, uint flags);

    /// <summary>pidfd_send_signal(2) (glibc 2.36): a signal to the process the pidfd names, never to one that reused its pid.</summary>
    [LibraryImport(Lib, EntryPoint = "pidfd_send_signal")]
    internal static partial int pidfd_send_signal(int pidfd, int sig, void* info, uint flags);

    [LibraryImport(Lib, EntryPoint = "kill")]
    internal static partial int kill(int pid, int sig);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_destroy")]
    internal static partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport(Lib, EntryPoint = "waitpid")]
    internal static partial int waitpid(int pid, int* status, int options);

    /// <summary>Bytes reserved for an opaque posix_spawn_file_actions_t (80 on glibc x86-64 and arm64).</summary>
    internal const int SpawnFileActionsBytes = 256;
    internal const int O_CLOEXEC_PIPE = 0x80000;
    internal const int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000;
    internal const uint STATX_TYPE = 1, STATX_MODE = 2, STATX_INO = 0x100;
    internal const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4;
    internal const int F_ADD_SEALS = 1024 + 9, F_GET_SEALS = 1024 + 10;
    internal const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_HUGETLB = 4;
    internal static readonly void* MAP_FAILED = (void*)-1;
}

/// <summary>struct iovec (LP64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct iovec
{
    public void* iov_base;
    public nuint iov_len;
}

/// <summary>struct msghdr (LP64: 56 bytes); the control buffer holds one cmsghdr (16 bytes) and its data.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct msghdr
{
    public void* msg_name;
    public uint msg_namelen;
    public iovec* msg_iov;
    public nuint msg_iovlen;
    public void* msg_control;
    public nuint msg_controllen;
    public int msg_flags;
}

/// <summary>struct cmsghdr (LP64: 16 bytes, then the data).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct cmsghdr
{
    public nuint cmsg_len;
    public int cmsg_level;
    public int cmsg_type;
}

[StructLayout(LayoutKind.Sequential)]
internal struct pollfd
{
    public int fd;
    public short events;
    public short revents;
}

/// <summary>
/// The one place system calls are checked: a result of -1 becomes -errno, and EINTR is retried here
/// and nowhere else. Each call is a small struct so the retry loop is specialised per call with no
/// allocation (the harness's overhead over a raw C loop is a measured goal).
/// </summary>
internal static unsafe class Sys
{
    internal interface ICall { long Invoke(); }

    /// <summary>The call, retried on EINTR: its result, or -errno. Timed where the clock is on (<see cref="SyscallClock"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Retry<T>(T call) where T : struct, ICall =>
        SyscallClock.Timing ? SyscallClock.Timed(call, retry: true) : Checked(call, retry: true);

    /// <summary>The call made once, never retried (close, whose fd Linux has released by the time it reports EINTR, and the
    /// calls the adapter has always made once): its result, or -errno. Timed like <see cref="Retry"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Once<T>(T call) where T : struct, ICall =>
        SyscallClock.Timing ? SyscallClock.Timed(call, retry: false) : Checked(call, retry: false);

    /// <summary>The call's result, -1 turned into -errno; with <paramref name="retry"/>, made again while it fails with EINTR.
    /// The call and its success are inlined into the caller (a loop would keep the runtime from inlining it); a failure goes
    /// on in <see cref="Failed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long Checked<T>(T call, bool retry) where T : struct, ICall
    {
        long r = call.Invoke();
        return r != -1 ? r : Failed(call, retry);
    }

    /// <summary>The call returned -1: -errno, or with <paramref name="retry"/> and EINTR the call made again until it does
    /// not fail with EINTR.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Failed<T>(T call, bool retry) where T : struct, ICall
    {
        while (true)
        {
            // errno as the call left it: nothing between the call's return and here makes a call that sets it (this is
            // where the stub of a SetLastError import reads it too)
            int e = Marshal.GetLastSystemError();
            if (!retry || e != (int)Errno.EINTR) return -e;
            long r = call.Invoke();
            if (r != -1) return r;
        }
    }

    public static Errno ErrnoOf(long r) => r < 0 ? (Errno)(int)-r : Errno.OK;

    private readonly struct IoctlCall(int fd, nuint req, void* arg) : ICall { public long Invoke() => Libc.ioctl(fd, req, arg); }
    private readonly struct OpenCall(string path, int flags) : ICall { public long Invoke() => Libc.open(path, flags, 0); }
    private readonly struct DupCall(int fd) : ICall { public long Invoke() => Libc.dup(fd); }
    private readonly struct FcntlCall(int fd, int cmd, long arg) : ICall { public long Invoke() => Libc.fcntl(fd, cmd, arg); }
    private readonly struct ReadCall(int fd, void* buf, nuint count) : ICall { public long Invoke() => Libc.read(fd, buf, count); }
    private readonly struct WriteCall(int fd, void* buf, nuint count) : ICall { public long Invoke() => Libc.write(fd, buf, count); }
    private readonly struct LseekCall(int fd, long off, int whence) : ICall { public long Invoke() => Libc.lseek(fd, off, whence); }
    private readonly struct MmapCall(nuint len, int prot, int flags, int fd, long off) : ICall
    {
        public long Invoke() { var p = Libc.mmap(null, len, prot, flags, fd, off); return p == Libc.MAP_FAILED ? -1 : (long)p; }
    }
    private readonly struct MunmapCall(void* addr, nuint len) : ICall { public long Invoke() => Libc.munmap(addr, len); }
    private readonly struct MemfdCall(string name, uint flags) : ICall { public long Invoke() => Libc.memfd_create(name, flags); }
    private readonly struct FtruncateCall(int fd, long len) : ICall { public long Invoke() => Libc.ftruncate(fd, len); }
    private readonly struct StatxCall(string path, statx* buf) : ICall { public long Invoke() => Libc.statx(Libc.AT_FDCWD, path, 0, Libc.STATX_TYPE, buf); }
    private readonly struct FStatxCall(int fd, statx* buf) : ICall { public long Invoke() => Libc.statx(fd, "", Libc.AT_EMPTY_PATH, Libc.STATX_INO, buf); }
    private readonly struct PollCall(pollfd* fds, nuint n, int timeout) : ICall { public long Invoke() => Libc.poll(fds, n, timeout); }
    private readonly struct CloseCall(int fd) : ICall { public long Invoke() => Libc.close(fd); }
    private readonly struct GetRlimitCall(int resource, Libc.rlimit* limit) : ICall { public long Invoke() => Libc.getrlimit(resource, limit); }
    private readonly struct SetRlimitCall(int resource, Libc.rlimit* limit) : ICall { public long Invoke() => Libc.setrlimit(resource, limit); }
    private readonly struct UnshareCall(int flags) : ICall { public long Invoke() => Libc.unshare(flags); }
    private readonly struct MremapCall(void* addr, nuint oldLength, nuint newLength, int flags) : ICall
    {
        public long Invoke() { var p = Libc.mremap(addr, oldLength, newLength, flags); return p == Libc.MAP_FAILED ? -1 : (long)p; }
    }
    private readonly struct MprotectCall(void* addr, nuint length, int prot) : ICall { public long Invoke() => Libc.mprotect(addr, length, prot); }
    private readonly struct Pipe2Call(int* fds) : ICall { public long Invoke() => Libc.pipe2(fds, Libc.O_CLOEXEC_PIPE); }
    private readonly struct SocketpairCall(int type, int* sv) : ICall { public long Invoke() => Libc.socketpair(Libc.AF_UNIX, type | Libc.SOCK_CLOEXEC, 0, sv); }
    private readonly struct PidfdOpenCall(int pid) : ICall { public long Invoke() => Libc.pidfd_open(pid, 0); }
    private readonly struct WaitpidCall(int pid, int* status) : ICall { public long Invoke() => Libc.waitpid(pid, status, 0); }

    public static long Ioctl(int fd, nuint request, void* arg) => Retry(new IoctlCall(fd, request, arg));
    public static long Open(string path, int flags) => Retry(new OpenCall(path, flags));
    /// <summary>close is never retried on EINTR: Linux has released the fd by then.</summary>
    public static long Close(int fd) => Once(new CloseCall(fd));
    public static long Dup(int fd) => Retry(new DupCall(fd));
    public static long Fcntl(int fd, int cmd, long arg = 0) => Retry(new FcntlCall(fd, cmd, arg));
    public static long Lseek(int fd, long offset, int whence) => Retry(new LseekCall(fd, offset, whence));
    /// <summary>read(2) into buf: the byte count, or -errno.</summary>
    public static long Read(int fd, void* buf, long count) => Retry(new ReadCall(fd, buf, (nuint)count));
    /// <summary>write(2) from buf: the byte count, or -errno.</summary>
    public static long Write(int fd, void* buf, long count) => Retry(new WriteCall(fd, buf, (nuint)count));
    /// <summary>Address on success (user addresses are below 2^47), or -errno.</summary>
    public static long Mmap(long length, int prot, int flags, int fd, long offset) => Retry(new MmapCall((nuint)length, prot, flags, fd, offset));
    public static long Munmap(long addr, long length) => Retry(new MunmapCall((void*)addr, (nuint)length));
    /// <summary>getrlimit(2) of <paramref name="resource"/>: 0, or -errno.</summary>
    public static long GetRlimit(int resource, out Libc.rlimit limit)
    {
        Libc.rlimit l;
        long r = Once(new GetRlimitCall(resource, &l));
        limit = l;
        return r;
    }
    /// <summary>setrlimit(2) of <paramref name="resource"/>: 0, or -errno.</summary>
    public static long SetRlimit(int resource, Libc.rlimit limit) => Once(new SetRlimitCall(resource, &limit));
    /// <summary>unshare(2) of <paramref name="flags"/> (CLONE_*) for the calling thread: 0, or -errno.</summary>
    public static long Unshare(int flags) => Once(new UnshareCall(flags));
    /// <summary>mremap(2) of the mapping at <paramref name="addr"/>: the (possibly new) address, or -errno.</summary>
    public static long Mremap(long addr, long oldLength, long newLength, int flags) =>
        Once(new MremapCall((void*)addr, (nuint)oldLength, (nuint)newLength, flags));
    /// <summary>Whether the kernel can copy <paramref name="length"/> bytes from user address <paramref name="addr"/>: a write(2)
    /// of them to a fresh pipe, where a page that cannot be faulted in fails the copy with EFAULT instead of raising a signal.
    /// 1 copied, 0 EFAULT; -errno when the pipe cannot be made or the write fails otherwise.</summary>
    public static long CanCopyFrom(long addr, int length)
    {
        int* fds = stackalloc int[2];
        if (Pipe2(fds) is var made and < 0) return made;
        long r = Write(fds[1], (void*)addr, length);
        Close(fds[0]);
        Close(fds[1]);
        return r == length ? 1 : r == -(long)Errno.EFAULT ? 0 : r < 0 ? r : -(long)Errno.EIO;
    }
    /// <summary>mprotect(2): 0, or -errno.</summary>
    public static long Mprotect(long addr, long length, int prot) => Once(new MprotectCall((void*)addr, (nuint)length, prot));
    /// <summary>pipe2(2) with O_CLOEXEC into fds[0..1]: 0, or -errno.</summary>
    public static long Pipe2(int* fds) => Once(new Pipe2Call(fds));
    /// <summary>socketpair(2) of AF_UNIX sockets of <paramref name="type"/> with SOCK_CLOEXEC into sv[0..1]: 0, or -errno.</summary>
    public static long Socketpair(int type, int* sv) => Once(new SocketpairCall(type, sv));
    /// <summary>pidfd_open(2) of <paramref name="pid"/>: the pidfd, or -errno.</summary>
    public static long PidfdOpen(int pid) => Once(new PidfdOpenCall(pid));
    /// <summary>waitpid(2) of <paramref name="pid"/>, retried on EINTR: the pid, or -errno.</summary>
    public static long Waitpid(int pid, int* status) => Retry(new WaitpidCall(pid, status));
    public static long MemfdCreate(string name, uint flags) => Retry(new MemfdCall(name, flags));
    public static long Ftruncate(int fd, long length) => Retry(new FtruncateCall(fd, length));
    /// <summary>statx(2): its struct is the same on every architecture, unlike struct stat.</summary>
    public static long Statx(string path, statx* buf) => Retry(new StatxCall(path, buf));
    /// <summary>statx(2) of an open fd (AT_EMPTY_PATH): its inode number and device.</summary>
    public static long FStatx(int fd, statx* buf) => Retry(new FStatxCall(fd, buf));
    public static long Poll(pollfd* fds, int n, int timeoutMs) => Retry(new PollCall(fds, (nuint)n, timeoutMs));

    /// <summary>
    /// Sends fd over a fresh AF_UNIX socketpair with SCM_RIGHTS and receives it (with MSG_CMSG_CLOEXEC when
    /// <paramref name="cloexec"/>): the new fd, or -errno (EBADF for an fd this process does not hold).
    /// </summary>
    public static long PassFd(int fd, bool cloexec)
    {
        int* sv = stackalloc int[2];
        if (Socketpair(Libc.SOCK_DGRAM, sv) is var made and < 0) return made;
        try
        {
            byte data = 0;
            var iov = new iovec { iov_base = &data, iov_len = 1 };
            byte* control = stackalloc byte[Libc.CmsgSpaceInt];
            new Span<byte>(control, Libc.CmsgSpaceInt).Clear();
            var c = (cmsghdr*)control;
            c->cmsg_len = Libc.CmsgLenInt;
            c->cmsg_level = Libc.SOL_SOCKET;
            c->cmsg_type = Libc.SCM_RIGHTS;
            *(int*)(control + sizeof(cmsghdr)) = fd;
            var m = new msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = Libc.CmsgSpaceInt };
            long r = Retry(new SendmsgCall(sv[0], &m));
            if (r < 0) return r;
            new Span<byte>(control, Libc.CmsgSpaceInt).Clear();
            m = new msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = Libc.CmsgSpaceInt };
            r = Retry(new RecvmsgCall(sv[1], &m, cloexec ? Libc.MSG_CMSG_CLOEXEC : 0));
            if (r < 0) return r;
            // no room for the fd (the receiver's fd table is full): the kernel installs none and sets MSG_CTRUNC
            if ((m.msg_flags & Libc.MSG_CTRUNC) != 0) return -(long)Errno.EMFILE;
            if (m.msg_controllen < Libc.CmsgLenInt || c->cmsg_level != Libc.SOL_SOCKET || c->cmsg_type != Libc.SCM_RIGHTS) return -(long)Errno.EIO;
            return *(int*)(control + sizeof(cmsghdr));
        }
        finally
        {
            Close(sv[0]);
            Close(sv[1]);
        }
    }

    private readonly struct SendmsgCall(int fd, msghdr* m) : ICall { public long Invoke() => Libc.sendmsg(fd, m, 0); }
    private readonly struct RecvmsgCall(int fd, msghdr* m, int flags) : ICall { public long Invoke() => Libc.recvmsg(fd, m, flags); }

    /// <summary>
    /// Runs the program at <paramref name="path"/> with arguments <paramref name="args"/> (argv, the program's name first) as a
    /// new program (posix_spawn, so it inherits every fd without FD_CLOEXEC and none with it) with an empty environment and its
    /// stdout on a pipe; returns what it printed (at most 4 KiB) and waits for it to exit. Null with <paramref name="error"/> =
    /// -errno when it cannot be started or read, or -EIO when it exits with a status other than 0.
    /// </summary>
    public static string? Run(string path, IReadOnlyList<string> args, out long error)
    {
        error = 0;
        int* pipe = stackalloc int[2];
        if (Pipe2(pipe) is var made and < 0) { error = made; return null; }
        byte* actions = stackalloc byte[Libc.SpawnFileActionsBytes];
        int arc = Libc.posix_spawn_file_actions_init(actions);
        if (arc == 0 && (arc = Libc.posix_spawn_file_actions_adddup2(actions, pipe[1], 1)) != 0)   // dup2 clears FD_CLOEXEC on the copy
            Libc.posix_spawn_file_actions_destroy(actions);
        if (arc != 0) { Close(pipe[0]); Close(pipe[1]); error = -arc; return null; }
        var handles = args.Select(a => Marshal.StringToCoTaskMemUTF8(a)).ToArray();
        byte** argv = stackalloc byte*[args.Count + 1];
        for (int i = 0; i < args.Count; i++) argv[i] = (byte*)handles[i];
        argv[args.Count] = null;
        byte** envp = stackalloc byte*[1];
        envp[0] = null;
        int pid;
        long t0 = SyscallClock.Start();
        int rc = Libc.posix_spawn(&pid, path, actions, null, argv, envp);
        SyscallClock.Stop(t0);
        Libc.posix_spawn_file_actions_destroy(actions);
        foreach (var h in handles) Marshal.FreeCoTaskMem(h);
        Close(pipe[1]);
        if (rc != 0) { Close(pipe[0]); error = -rc; return null; }
        var text = new System.Text.StringBuilder();
        byte* buf = stackalloc byte[4096];
        long n;
        while ((n = Read(pipe[0], buf, 4096)) > 0 && text.Length < 4096) text.Append(System.Text.Encoding.ASCII.GetString(buf, (int)n));
        Close(pipe[0]);
        int status = 0;
        Waitpid(pid, &status);
        if (n < 0) { error = n; return null; }
        // the program must have run to its end (exit status 0): anything else is no answer
        if (status != 0) { error = -(long)Errno.EIO; return null; }
        return text.ToString();
    }
}

/// <summary>
/// The kernel adapter's system calls timed as they are made (a kernel run's <c># throughput:</c> lines, and the benchmark):
/// when <see cref="On"/>, each call the adapter makes for the target (every one through <see cref="Sys"/>: ioctl, open,
/// close, dup, fcntl, lseek, read, write, mmap, munmap, mremap, mprotect, poll, memfd_create, ftruncate, statx, rlimits,
/// the pipe and socketpair some observations and SCM_RIGHTS use, sendmsg and recvmsg to a helper process; the helper's
/// spawn, fork and exit; every EINTR retry inside its call) adds its wall time. Reads of debugfs and /proc the suite makes
/// to judge (bufinfo, alloc_traces, meminfo) are not the target's calls and are not timed, nor is any call on a thread that
/// <see cref="ExcludeThisThread"/> (the kernel-coverage collector). The sum stands in for what a C program making the same
/// calls would spend in them: the benchmark measures how close (a call timed here also pays the way in and out of managed
/// code, which C does not). Calls on several threads at once (a parallel block's branches) each add their whole time, so the
/// sum can pass the wall time there. Off, a call pays one static read.
/// </summary>
public static class SyscallClock
{
    /// <summary>Whether calls are timed (set by a kernel run around its devices' runs, and by the benchmark around what it
    /// measures; one at a time).</summary>
    public static volatile bool On;

    [ThreadStatic] private static bool t_excluded;

    /// <summary>This thread's calls are never timed: a thread of the suite's own that is not the target's work (the kernel-
    /// coverage collector, whose polls would otherwise count as the run's calls).</summary>
    public static void ExcludeThisThread() => t_excluded = true;

    /// <summary>Whether a call made now on this thread is timed.</summary>
    internal static bool Timing => On && !t_excluded;
    private static long _calls, _ticks;

    /// <summary>The calls timed since the last <see cref="Reset"/>, their summed wall time, and the clock's own cost a call.</summary>
    public static SyscallTime Read() =>
        new(Interlocked.Read(ref _calls), Interlocked.Read(ref _ticks) / (double)System.Diagnostics.Stopwatch.Frequency, Overhead);

    /// <summary>Zeroes the count and the time.</summary>
    public static void Reset() { Interlocked.Exchange(ref _calls, 0); Interlocked.Exchange(ref _ticks, 0); }

    /// <summary>What timing one call adds to its own time, in seconds: the stretch between two clock reads back to back (0.11
    /// to 0.12 us in the lab VM under TCG, about 20 ns natively). Set by <see cref="Calibrate"/>, 0 before.</summary>
    public static double Overhead { get; private set; }

    /// <summary>Measures <see cref="Overhead"/>: the least of five rounds' mean of 20,000 pairs of clock reads back to back,
    /// which is what a timed call's interval holds beside the call (the sums fall outside it). Touches neither the count nor
    /// the time.</summary>
    public static double Calibrate()
    {
        long best = long.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            long sum = 0;
            for (int i = 0; i < 20_000; i++)
            {
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                sum += System.Diagnostics.Stopwatch.GetTimestamp() - t0;
            }
            best = Math.Min(best, sum);
        }
        return Overhead = best / 20_000.0 / System.Diagnostics.Stopwatch.Frequency;
    }

    /// <summary>The start of a stretch of calls made outside <see cref="Sys"/> (a helper process spawned or waited for), to
    /// pass to <see cref="Stop"/>; 0 when off.</summary>
    public static long Start() => Timing ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;

    /// <summary>Adds the stretch since <paramref name="t0"/> (<see cref="Start"/>) as one call; nothing for 0.</summary>
    public static void Stop(long t0)
    {
        if (t0 == 0) return;
        Interlocked.Add(ref _ticks, System.Diagnostics.Stopwatch.GetTimestamp() - t0);
        Interlocked.Increment(ref _calls);
    }

    internal static long Timed<T>(T call, bool retry) where T : struct, Sys.ICall
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        long r = Sys.Checked(call, retry);
        Interlocked.Add(ref _ticks, System.Diagnostics.Stopwatch.GetTimestamp() - t0);
        Interlocked.Increment(ref _calls);
        return r;
    }
}

/// <summary>What <see cref="SyscallClock"/> timed: <paramref name="Calls"/> system calls (or stretches of them), their summed
/// wall time in seconds as timed (<paramref name="Timed"/>), and what timing one added to it (<paramref name="Overhead"/>,
/// seconds; 0 uncalibrated).</summary>
public readonly record struct SyscallTime(long Calls, double Timed, double Overhead)
{
    /// <summary>The calls' own time in seconds: as timed, less the clock's cost of each (never below 0).</summary>
    public double Seconds => Math.Max(0, Timed - Calls * Overhead);
}
