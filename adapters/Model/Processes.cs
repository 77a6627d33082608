namespace Conformance.Adapters.Model;

/// <summary>
/// The sequence's helper processes in the model (<see cref="IBufferTarget.Process"/>): every fd and mapping belongs to one
/// process, the suite's own (0) unless it was made by a call in a helper or sent there. The model's handles are unique
/// across processes, so the calls themselves are the model's ordinary ones, made with the process set; what is per process
/// is what an exit releases (DMABUF-PROC-2) and what an fd sent to another process is (DMABUF-PROC-1).
/// </summary>
public sealed partial class ReferenceModel
{
    /// <summary>The process the call being made runs in (0: the suite's own).</summary>
    private int _process;
    /// <summary>The helper process each fd or mapping made there belongs to; absent: the suite's own.</summary>
    private readonly Dictionary<int, int> _fdProcess = new(), _mapProcess = new();
    /// <summary>fds that arrived from another process (<see cref="SendFd"/>): their FD_CLOEXEC is the receiver's choice.</summary>
    private readonly HashSet<int> _sent = new();
    private readonly Dictionary<int, ProcessCalls> _processes = new();

    /// <summary>Records that a new fd or mapping belongs to the process the call runs in.</summary>
    private void Owned(Dictionary<int, int> table, int handle)
    {
        if (_process != 0) table[handle] = _process; else if (table.Count > 0) table.Remove(handle);
    }

    public IProcessCalls Process(int process) =>
        _processes.TryGetValue(process, out var p) ? p : _processes[process] = new ProcessCalls(this, process);

    /// <summary>The calls of one helper process: the model's own, made with that process set.</summary>
    private sealed class ProcessCalls(ReferenceModel m, int process) : IProcessCalls
    {
        private Outcome In(Func<ReferenceModel, Outcome> call)
        {
            m._process = process;
            try { return call(m); }
            finally { m._process = 0; }
        }
        public Outcome Close(int fd) => In(x => x.Close(fd));
        public Outcome FcntlGetFd(int fd) => In(x => x.FcntlGetFd(fd));
        public Outcome Mmap(int fd, long pgoff, long length, int prot, int flags) => In(x => x.Mmap(fd, pgoff, length, prot, flags));
        public Outcome MmapVideo(int fd, uint type, uint index, uint plane, long length, int prot, int flags) => In(x => x.MmapVideo(fd, type, index, plane, length, prot, flags));
        public Outcome Munmap(int map) => In(x => x.Munmap(map));
        public Outcome WriteStamp(int map, long offset, ulong value) => In(x => x.WriteStamp(map, offset, value));
        public Outcome ReadStamp(int map, long offset) => In(x => x.ReadStamp(map, offset));
        public Outcome DmaBufSync(int fd, ulong flags) => In(x => x.DmaBufSync(fd, flags));
    }

    /// <summary>
    /// An fd sent from one process to another with SCM_RIGHTS: a new fd in the receiver for the same file, FD_CLOEXEC as the
    /// receiver asked, R0 = 1 (DMABUF-PROC-1). EBADF for an fd the sender does not hold.
    /// </summary>
    public Outcome SendFd(int from, int fd, int to, bool cloexec)
    {
        // between the suite's process and another (the adapters send no fd from one helper to the other)
        if (from == to || from != 0 && to != 0) return Outcome.NotRun;
        if (!TryFile(fd, out var f) || _fdProcess.GetValueOrDefault(fd) != from) return Cite(Inv.ProcShared, Errno.EBADF);
        _process = to;
        try { return Receive(f, cloexec, _sent, Inv.ProcShared, copies: Broken(ModelBug.SendFdCopies)); }
        finally { _process = 0; }
    }

    /// <summary>
    /// A helper process exits: its mappings go, then its fds (kernel/exit.c do_exit: exit_mm, then exit_files), through the
    /// ordinary release paths. R0 = how many dma-bufs that released (DMABUF-PROC-2); where the target could not count (its
    /// R0 is -1) the count is not judged.
    /// </summary>
    public Outcome ExitProcess(int process)
    {
        if (process == 0) return Outcome.NotRun;
        int before = _liveDmaBufs;
        Exited(process, keepDmaBufs: !_hasActual && Broken(ModelBug.ExitKeepsFiles));
        if (_hasActual && _actual is { Ok: true, R0: -1 }) return Outcome.Success(-1);
        return Cite(Inv.ProcExit, Outcome.Success(before - _liveDmaBufs));
    }

    /// <summary>The child's handle for each parent's one, per fork: (child process, parent's handle, is a mapping).</summary>
    private readonly Dictionary<(int To, int Handle, bool Mapping), int> _forked = new();
    /// <summary>fds that a fork copied, in the parent and in the child: what a close does to them is DMABUF-PROC-3's.</summary>
    private readonly HashSet<int> _forkFds = new();

    /// <summary>
    /// Process <paramref name="from"/> forks <paramref name="to"/>: a copy of each of its fds (the same file, FD_CLOEXEC kept)
    /// and of each of its mappings (a reference to the file, and to the video buffer as vb2_common_vm_open takes one), bound
    /// to new handles of the child (DMABUF-PROC-3).
    /// </summary>
    public Outcome Fork(int from, int to)
    {
        if (from == 0 || to <= from) return Outcome.NotRun;
        // a child still running from an earlier fork is ended first, as the adapters end it (its exit releases what it holds)
        Exited(to);
        foreach (var k in _forked.Keys.Where(k => k.To == to).ToList()) _forked.Remove(k);
        _process = to;
        try
        {
            foreach (var (fd, p) in _fdProcess.ToList())
            {
                if (p != from) continue;
                var (file, cloexec) = _fds[fd];
                int n = Install(file, cloexec);
                _forked[(to, fd, false)] = n;
                if (_sent.Contains(fd)) _sent.Add(n);
                _forkFds.Add(fd);
                _forkFds.Add(n);
            }
            foreach (var (map, p) in _mapProcess.ToList())
            {
                if (p != from) continue;
                var m = _maps[map];
                var copy = new Mapping(_nextMap++, m.Kind, m.Segs, m.Base, m.Length, m.Prot, m.File) { VBuf = m.VBuf, Pfnmap = m.Pfnmap };
                if (copy.File != null) Get(copy.File);
                if (copy.VBuf is { Freed: false } vb) vb.MapUsers++;
                _forked[(to, map, true)] = AddMap(copy);
            }
        }
        finally { _process = 0; }
        return Cite(Inv.ProcFork, Outcome.Success());
    }

    public int ForkedHandle(int to, int handle, bool mapping) => _forked.TryGetValue((to, handle, mapping), out var h) ? h : handle;

    /// <summary>Parent fds whose child's copy was closed, where the child shares its parent's fd table (the bug
    /// <see cref="ModelBug2.ForkSharesFdTable"/>, as a target): the parent finds them closed (EBADF), though the reference they
    /// held is dropped only when the parent closes them or exits, so no file goes earlier than it would.</summary>
    private readonly HashSet<int> _closedByChild = new();

    /// <summary>The bug's side of a close of <paramref name="fd"/>: a child's close closes its parent's copy too.</summary>
    private void ChildClosed(int fd)
    {
        if (_hasActual || !Broken(ModelBug2.ForkSharesFdTable)) return;
        foreach (var (k, copy) in _forked)
            if (!k.Mapping && copy == fd && _fdProcess.GetValueOrDefault(fd) == k.To) _closedByChild.Add(k.Handle);
    }

    /// <summary>Whether the bug has closed this parent's fd under it (it then answers EBADF).</summary>
    private bool ClosedByChild(int fd) => _closedByChild.Contains(fd);

    /// <summary>Process <paramref name="process"/> is gone: its mappings, then its fds, through the ordinary release paths. With
    /// <paramref name="keepDmaBufs"/> (the bug <see cref="ModelBug.ExitKeepsFiles"/>) its dma-buf fds and mappings stay.</summary>
    private void Exited(int process, bool keepDmaBufs = false)
    {
        foreach (var (map, p) in _mapProcess.ToList())
            if (p == process && !(keepDmaBufs && _maps[map].File is DmaBuf)) Munmap(map);
        foreach (var (fd, p) in _fdProcess.ToList())
            if (p == process && !(keepDmaBufs && _fds[fd].File is DmaBuf)) Close(fd);
    }

    /// <summary>Forgets which process each handle belonged to (every fd and mapping is gone).</summary>
    private void ResetProcesses()
    {
        _fdProcess.Clear();
        _mapProcess.Clear();
        _sent.Clear();
        _forked.Clear();
        _forkFds.Clear();
        _closedByChild.Clear();
        _process = 0;
    }
}
