using System.Runtime.InteropServices;
using Conformance.Adapters.Interop;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Kernel;

/// <summary>
/// The sequence's helper process on a real kernel: conformance-helper (Kernel/helper/conformance-helper.c, built beside the
/// assemblies), started with posix_spawn on the first call made in it, holding none of the suite's fds, and driven over a
/// SOCK_SEQPACKET socketpair one request at a time. Its fds and mapping ids are its own numbers; the adapter keeps what it
/// knows of each (the kind of file, a mapping's length and protection) so that it refuses what it refuses in its own process.
/// </summary>
public sealed unsafe partial class KernelTarget
{
    /// <summary>The helper processes, P1 and P2 (index 1 and 2).</summary>
    private readonly Helper?[] _helpers = new Helper?[3];

    /// <summary>Where the helper program is: beside the assemblies (the build puts it there).</summary>
    public static string HelperPath => Path.Combine(AppContext.BaseDirectory, "conformance-helper");

    /// <summary>Why the helper program cannot run here (it was not built), or null.</summary>
    private static string? HelperMissing => File.Exists(HelperPath) ? null : $"{HelperPath} is missing (it is built with the machine's C compiler by dotnet build)";

    public IProcessCalls Process(int process) => process is 1 or 2 ? _helpers[process] ??= new Helper(this)
        : throw new ArgumentOutOfRangeException(nameof(process), process, "the kernel adapter's helper processes are 1 and 2");

    /// <summary>Ends every helper process (a child P2 first, then its parent P1): their exits release what they hold.</summary>
    private void EndHelpers()
    {
        for (int p = 2; p >= 1; p--) _helpers[p]?.Exit();
    }

    /// <summary>
    /// A helper process spawned ahead, between sequences, once a sequence has used one (<see cref="_helpersUsed"/>): the next
    /// helper a sequence starts takes it (<see cref="Helper.Start"/>), so the program's start (exec, 15 to 60 ms a helper under
    /// the lab's TCG, a third of a generated sequence's time on the kernel) runs on another processor while the sequence's
    /// first calls are made. It holds none of the suite's fds (the spawn closes them) and nothing else until it is taken;
    /// the suite's end of its socket has close-on-exec.
    /// </summary>
    private (int Pid, int Sock)? _spare;
    private bool _helpersUsed;

    /// <summary>Spawns the spare helper where a sequence has used one and there is none; a spawn that fails leaves none (the
    /// next start says why).</summary>
    private void SpareHelper()
    {
        if (_helpersUsed && _spare == null && Helper.Spawn(out var started) == null) _spare = started;
    }

    /// <summary>Ends the spare helper: its socket closed, it exits (at its first message or its first read) and is waited for.</summary>
    private void EndSpare()
    {
        if (_spare is not { } s) return;
        _spare = null;
        Sys.Close(s.Sock);
        int status;
        using (_watchdog.Op("wait for the spare helper process", s.Pid))
            Sys.Waitpid(s.Pid, &status);
    }

    public Outcome SendFd(int from, int fd, int to, bool cloexec)
    {
        if (from == to || from is < 0 or > 2 || to is < 0 or > 2 || from != 0 && to != 0) return Outcome.NotRun;
        var h = (Helper)Process(from == 0 ? to : from);
        return from == 0 ? h.Receive(fd, cloexec) : h.SendBack(fd, cloexec);
    }

    public Outcome ExitProcess(int process)
    {
        if (process is not (1 or 2)) return Outcome.NotRun;
        var h = (Helper)Process(process);
        // a process that is not running holds nothing: its exit releases nothing (none is started to end it)
        if (!h.Running) { h.Exit(); return Outcome.Success(LiveDmaBufs() < 0 ? -1 : 0); }
        int before = LiveDmaBufs();
        h.Exit();
        int after = LiveDmaBufs();
        return Outcome.Success(before < 0 || after < 0 ? -1 : before - after);
    }

    public Outcome Fork(int from, int to)
    {
        if (from != 1 || to != 2) return Outcome.NotRun;
        var parent = (Helper)Process(from);
        var child = (Helper)Process(to);
        child.Exit();
        return parent.Fork(child);
    }

    /// <summary>A forked child has its parent's very fd numbers and mapping ids (the helper's table is copied with it).</summary>
    public int ForkedHandle(int to, int handle, bool mapping) => handle;

    private static bool _unavailableSaid;
    /// <summary>The helper cannot run here (no helper program, a spawn that failed): every call in it is NOT RUN, said once.</summary>
    private static Outcome Unavailable(string why)
    {
        if (!_unavailableSaid) { _unavailableSaid = true; Console.Error.WriteLine($"warning: no helper process: {why}; ops in a second process are NOT RUN"); }
        return Outcome.NotRun;
    }

    /// <summary>The request and reply of conformance-helper.c (struct h_req, struct h_rep).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct HReq { public int Cmd, Fd; public long A0, A1, A2, A3, A4, A5; }
    [StructLayout(LayoutKind.Sequential)]
    private struct HRep { public int Err, Fd; public long R0, R1, R2; }

    private enum HCmd { Recv = 1, Send = 2, Close = 3, GetFd = 4, Mmap = 5, MmapVideo = 6, Munmap = 7, Read = 8, Write = 9, Sync = 10, Exit = 11, Fork = 12 }

    /// <summary>One helper process and the adapter's books of what it holds.</summary>
    private sealed class Helper(KernelTarget k) : IProcessCalls
    {
        private int _pid = -1, _sock = -1;
        /// <summary>Forked by another helper: not the suite's child, so its exit is waited for through a pidfd, not waitpid.</summary>
        private bool _forked;
        /// <summary>For a forked one: a pidfd opened while it waits on its socket (so no reused pid can be met later).</summary>
        private int _pidfd = -1;
        /// <summary>It died under a call: every later call is NOT RUN (its handles name nothing) until it is ended.</summary>
        private bool _lost;
        private readonly Dictionary<int, FdInfo> _fds = new();
        private readonly Dictionary<int, (long Length, int Prot)> _maps = new();

        public bool Running => _sock >= 0;

        /// <summary>Starts the program (if it is not running): the spare one the adapter started ahead where there is one, else a
        /// new one; null when it runs, else why it cannot.</summary>
        public string? Start()
        {
            if (Running) return null;
            k._helpersUsed = true;
            if (k._spare is { } spare)
            {
                k._spare = null;
                (_pid, _sock, _forked) = (spare.Pid, spare.Sock, false);
                if (Ready() == null) return null;   // (a spare that did not answer is ended there, and a new one started)
            }
            if (Spawn(out var started) is { } why) return why;
            (_pid, _sock, _forked) = (started.Pid, started.Sock, false);
            return Ready();
        }

        /// <summary>posix_spawn of the program with one end of a new socketpair as its fd 3 and no other fd of the suite's: its
        /// pid and the suite's end of the socket; null when it was spawned (its first message not read yet), else why not.</summary>
        public static string? Spawn(out (int Pid, int Sock) started)
        {
            started = (-1, -1);
            if (HelperMissing is { } missing) return missing;
            int* sv = stackalloc int[2];
            if (Sys.Socketpair(Libc.SOCK_SEQPACKET, sv) is var made and < 0) return $"socketpair: {Sys.ErrnoOf(made)}";
            byte* actions = stackalloc byte[Libc.SpawnFileActionsBytes];
            int rc = Libc.posix_spawn_file_actions_init(actions);
            if (rc == 0) rc = Libc.posix_spawn_file_actions_adddup2(actions, sv[1], 3);     // the copy at 3 has no close-on-exec
            if (rc == 0) rc = Libc.posix_spawn_file_actions_addclosefrom_np(actions, 4);   // and nothing else of the suite's goes with it
            var path = Marshal.StringToCoTaskMemUTF8(HelperPath);
            byte** argv = stackalloc byte*[2];
            argv[0] = (byte*)path; argv[1] = null;
            byte** envp = stackalloc byte*[1];
            envp[0] = null;
            int pid = 0;
            if (rc == 0)
            {
                // (posix_spawn reports an error number, not -1 and errno: timed as one call here)
                long t0 = SyscallClock.Start();
                rc = Libc.posix_spawn(&pid, HelperPath, actions, null, argv, envp);
                SyscallClock.Stop(t0);
            }
            Libc.posix_spawn_file_actions_destroy(actions);
            Marshal.FreeCoTaskMem((nint)path);
            Sys.Close(sv[1]);
            if (rc != 0) { Sys.Close(sv[0]); return $"posix_spawn of {HelperPath}: {(Errno)rc}"; }
            started = (pid, sv[0]);
            return null;
        }

        /// <summary>Waits for the program's first message, its pid: null when it came, else why not (and the program is ended).</summary>
        private string? Ready()
        {
            int pid = _pid;
            HRep ready = default;
            var iov = new iovec { iov_base = &ready, iov_len = (nuint)sizeof(HRep) };
            var m = new msghdr { msg_iov = &iov, msg_iovlen = 1 };
            long r;
            using (k._watchdog.Op("start the helper process", pid))
                r = Sys.Retry(new RecvCall(_sock, &m, 0));
            if (r != sizeof(HRep) || ready.Fd != pid) { Exit(); return "the helper process did not start"; }
            return null;
        }

        /// <summary>One request and its reply; an fd rides along with either (SCM_RIGHTS). Null when the helper is gone.</summary>
        private HRep? Call(HCmd cmd, int fd, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0,
            int passFd = -1, int recvFlags = 0, int* gotFd = null)
        {
            if (_lost) return null;
            if (Start() is { } why) { Unavailable(why); return null; }
            var q = new HReq { Cmd = (int)cmd, Fd = fd, A0 = a0, A1 = a1, A2 = a2, A3 = a3, A4 = a4, A5 = a5 };
            byte* control = stackalloc byte[Libc.CmsgSpaceInt];
            new Span<byte>(control, Libc.CmsgSpaceInt).Clear();
            var iov = new iovec { iov_base = &q, iov_len = (nuint)sizeof(HReq) };
            var m = new msghdr { msg_iov = &iov, msg_iovlen = 1 };
            if (passFd >= 0)
            {
                var c = (cmsghdr*)control;
                c->cmsg_len = Libc.CmsgLenInt;
                c->cmsg_level = Libc.SOL_SOCKET;
                c->cmsg_type = Libc.SCM_RIGHTS;
                *(int*)(control + sizeof(cmsghdr)) = passFd;
                m.msg_control = control;
                m.msg_controllen = Libc.CmsgSpaceInt;
            }
            HRep p = default;
            using (k._watchdog.Op($"helper process: {cmd}", fd))
            {
                long r = Sys.Retry(new SendCall(_sock, &m));
                if (r != sizeof(HReq)) { Lost($"send: {(r < 0 ? Sys.ErrnoOf(r).ToString() : r.ToString())}"); return null; }
                if (cmd == HCmd.Exit) return default;
                new Span<byte>(control, Libc.CmsgSpaceInt).Clear();
                var riov = new iovec { iov_base = &p, iov_len = (nuint)sizeof(HRep) };
                var rm = new msghdr { msg_iov = &riov, msg_iovlen = 1, msg_control = control, msg_controllen = Libc.CmsgSpaceInt };
                r = Sys.Retry(new RecvCall(_sock, &rm, recvFlags));
                if (r != sizeof(HRep)) { Lost(r == 0 ? "it ended" : $"recv: {(r < 0 ? Sys.ErrnoOf(r).ToString() : r.ToString())}"); return null; }
                if (gotFd != null)
                {
                    var c = (cmsghdr*)control;
                    *gotFd = (rm.msg_flags & Libc.MSG_CTRUNC) != 0 ? -(int)Errno.EMFILE
                        : rm.msg_controllen >= Libc.CmsgLenInt && c->cmsg_level == Libc.SOL_SOCKET && c->cmsg_type == Libc.SCM_RIGHTS ? *(int*)(control + sizeof(cmsghdr)) : -1;
                }
            }
            return p;
        }

        private readonly struct SendCall(int fd, msghdr* m) : Sys.ICall { public long Invoke() => Libc.sendmsg(fd, m, 0); }
        private readonly struct RecvCall(int fd, msghdr* m, int flags) : Sys.ICall { public long Invoke() => Libc.recvmsg(fd, m, flags); }

        /// <summary>The helper died under a call (a kernel that killed it, an oops): said, and the next call starts another.</summary>
        private void Lost(string how)
        {
            Console.Error.WriteLine($"warning: the helper process (pid {_pid}) was lost ({how}); its calls are NOT RUN until the sequence ends");
            Exit();
            _lost = true;
        }

        private static Outcome Result(HRep? rep, Func<HRep, Outcome> ok) =>
            rep is not { } p ? Outcome.NotRun : p.Err != 0 ? Outcome.Fail((Errno)p.Err) : ok(p);

        /// <summary>
        /// This helper forks <paramref name="child"/>: a new socketpair's end goes with the request (H_FORK), the child takes it as
        /// its socket and answers on it with its pid; the child's books are a copy of this one's (the same fd numbers and mapping
        /// ids). No values.
        /// </summary>
        public Outcome Fork(Helper child)
        {
            int* sv = stackalloc int[2];
            if (Sys.Socketpair(Libc.SOCK_SEQPACKET, sv) is var made and < 0) return Outcome.Fail(Sys.ErrnoOf(made));
            var rep = Call(HCmd.Fork, -1, passFd: sv[1]);
            Sys.Close(sv[1]);
            if (rep is not { } p || p.Err != 0)
            {
                Sys.Close(sv[0]);
                return rep is { } failed ? Outcome.Fail((Errno)failed.Err) : Outcome.NotRun;
            }
            child._pid = (int)p.R0;
            child._sock = sv[0];
            child._forked = true;
            child._lost = false;
            if (child.Ready() is { } why) { Console.Error.WriteLine($"warning: the forked helper process: {why}"); return Outcome.NotRun; }
            // while it waits on its socket it cannot have exited: its pid is its own now
            child._pidfd = (int)Sys.PidfdOpen(child._pid);
            foreach (var (fd, f) in _fds) child._fds[fd] = f;
            foreach (var (id, m) in _maps) child._maps[id] = m;
            return Outcome.Success();
        }

        /// <summary>Ends the helper (H_EXIT, or SIGKILL if it does not go) and waits for it; its books are emptied.</summary>
        public void Exit()
        {
            if (_sock >= 0)
            {
                var q = new HReq { Cmd = (int)HCmd.Exit };
                var iov = new iovec { iov_base = &q, iov_len = (nuint)sizeof(HReq) };
                var m = new msghdr { msg_iov = &iov, msg_iovlen = 1 };
                // one that does not take the request is killed: the suite's own child by pid, a forked one through its pidfd
                long t0 = SyscallClock.Start();
                if (Libc.sendmsg(_sock, &m, 0) != sizeof(HReq) && _pid > 0)
                    if (!_forked) Libc.kill(_pid, 9); else if (_pidfd >= 0) Libc.pidfd_send_signal(_pidfd, 9, null, 0);
                SyscallClock.Stop(t0);
                Sys.Close(_sock);
                _sock = -1;
            }
            if (_pid > 0)
            {
                int status;
                using (k._watchdog.Op("wait for the helper process", _pid))
                    if (!_forked)
                        Sys.Waitpid(_pid, &status);
                    else
                    {
                        // another helper's child: its pidfd is readable once it has exited, its files and mappings released
                        // (pidfd_open(2))
                        if (_pidfd >= 0)
                        {
                            var pfd = new pollfd { fd = _pidfd, events = POLLIN };
                            Sys.Poll(&pfd, 1, -1);
                            Sys.Close(_pidfd);
                            _pidfd = -1;
                        }
                    }
                _pid = -1;
                _forked = false;
            }
            _lost = false;
            _fds.Clear();
            _maps.Clear();
        }


        /// <summary>The suite's fd, sent here (H_RECV).</summary>
        public Outcome Receive(int fd, bool cloexec)
        {
            if (FileId(fd) is not { } st) return Outcome.Fail(Errno.EBADF);
            var rep = Call(HCmd.Recv, -1, cloexec ? 1 : 0, st.Major, st.Minor, (long)st.Ino, passFd: fd);
            return Result(rep, p =>
            {
                _fds[p.Fd] = k._fds.TryGetValue(fd, out var f) ? f : new FdInfo(Kind.Memfd, O_RDWR);
                return Outcome.Created(p.Fd, p.R0);
            });
        }

        /// <summary>The helper's fd, sent to the suite (H_SEND), received with MSG_CMSG_CLOEXEC when asked.</summary>
        public Outcome SendBack(int fd, bool cloexec)
        {
            int received = -1;
            var rep = Call(HCmd.Send, fd, recvFlags: cloexec ? Libc.MSG_CMSG_CLOEXEC : 0, gotFd: &received);
            int got = received;
            return Result(rep, p =>
            {
                if (got < 0) return Outcome.Fail(got == -(int)Errno.EMFILE ? Errno.EMFILE : Errno.EIO);
                k._fds[got] = _fds.TryGetValue(fd, out var f) ? f : new FdInfo(Kind.Memfd, O_RDWR);
                bool same = FileId(got) is { } st && st.Major == p.R0 && st.Minor == p.R1 && (long)st.Ino == p.R2;
                return Outcome.Created(got, same ? 1 : 0);
            });
        }

        public Outcome Close(int fd) => Result(Call(HCmd.Close, fd), _ => { _fds.Remove(fd); return Outcome.Success(); });

        public Outcome FcntlGetFd(int fd) => Result(Call(HCmd.GetFd, fd), p => Outcome.Success(p.R0 & FD_CLOEXEC));

        public Outcome Mmap(int fd, long pgoff, long length, int prot, int flags)
        {
            bool shared = (flags & MAP_SHARED) != 0;
            // what the adapter refuses in its own process it refuses here, before the call (KernelTarget.Mmap): only dma-bufs and
            // memfds are mapped, a dma-buf privately only when udmabuf exports it, a memfd shared and within its size
            if (!_fds.TryGetValue(fd, out var f) || f.Kind is not (Kind.DmaBuf or Kind.Memfd) || MapRefused(f, pgoff, length, shared))
                return Outcome.NotRun;
            return Result(Call(HCmd.Mmap, fd, pgoff * PAGE_SIZE, length, prot, flags), p => { _maps[p.Fd] = (length, prot); return Outcome.Created(p.Fd); });
        }

        public Outcome MmapVideo(int fd, uint type, uint index, uint plane, long length, int prot, int flags) =>
            Result(Call(HCmd.MmapVideo, fd, type, index | (long)plane << 32, length, prot, flags, k.VideoLayout(type, index, plane)),
                p => { _maps[p.Fd] = (length, prot); return Outcome.Created(p.Fd); });

        public Outcome Munmap(int map) =>
            !_maps.ContainsKey(map) ? Outcome.NotRun : Result(Call(HCmd.Munmap, -1, map), _ => { _maps.Remove(map); return Outcome.Success(); });

        public Outcome WriteStamp(int map, long offset, ulong value) =>
            !_maps.TryGetValue(map, out var m) || (m.Prot & PROT_WRITE) == 0 || offset < 0 || offset + 8 > m.Length ? Outcome.NotRun
                : Result(Call(HCmd.Write, -1, map, offset, (long)value), _ => Outcome.Success());

        public Outcome ReadStamp(int map, long offset) =>
            !_maps.TryGetValue(map, out var m) || (m.Prot & PROT_READ) == 0 || offset < 0 || offset + 8 > m.Length ? Outcome.NotRun
                : Result(Call(HCmd.Read, -1, map, offset), p => Outcome.Success(p.R0));

        public Outcome DmaBufSync(int fd, ulong flags)
        {
            // as in the suite's own process: a well-formed START that would sleep on a fence is not made (KernelTarget.DmaBufSync)
            long events = SyncStart(flags) && k._fencesUsed && _fds.TryGetValue(fd, out var f) && f.Kind == Kind.DmaBuf ? (flags & DMA_BUF_SYNC_WRITE) != 0 ? POLLOUT : POLLIN : 0;
            // the helper answers r[0] = 1 where its poll said the START would sleep and it made no call: the harness's WouldBlock,
            // as in the suite's own process (a reply flag, not an errno: EWOULDBLOCK is EAGAIN, which the ioctl itself could return)
            return Result(Call(HCmd.Sync, fd, (long)flags, events), p => p.R0 == 1 ? Outcome.Fail(Errno.WouldBlock) : Outcome.Success());
        }
    }
}
