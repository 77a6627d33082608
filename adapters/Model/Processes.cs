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
        if (_process != 0) table[handle] = _process; else table.Remove(handle);
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
        if (!TryFile(fd, out var f) || _fdProcess.GetValueOrDefault(fd) != from) return Cite(Inv.ProcShared, Errno.EBADF);
        _process = to;
        try
        {
            // the bug (as a target): the receiver gets a new buffer of the same size, not the sender's file
            if (!_hasActual && Broken(ModelBug.SendFdCopies) && f is DmaBuf d0)
            {
                var copy = NewDmaBuf(d0.Exporter, [.. d0.Segs.Select(s => s with { Mem = new Mem(s.Mem.Size, 0) })], d0.Size, d0.AccMode);
                int c = Install(copy, cloexec);
                _sent.Add(c);
                return Outcome.Created(c, 0);
            }
            int n = Install(f, cloexec);
            _sent.Add(n);
            return Cite(Inv.ProcShared, Outcome.Created(n, 1));
        }
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
        // the bug (as a target): an exiting process's dma-buf fds and mappings stay referenced until the suite resets
        bool keeps = !_hasActual && Broken(ModelBug.ExitKeepsFiles);
        foreach (var (map, p) in _mapProcess.ToList())
            if (p == process && !(keeps && _maps[map].File is DmaBuf)) Munmap(map);
        foreach (var (fd, p) in _fdProcess.ToList())
            if (p == process && !(keeps && _fds[fd].File is DmaBuf)) Close(fd);
        if (_hasActual && _actual is { Ok: true, R0: -1 }) return Outcome.Success(-1);
        return Cite(Inv.ProcExit, Outcome.Success(before - _liveDmaBufs));
    }

    /// <summary>Forgets which process each handle belonged to (every fd and mapping is gone).</summary>
    private void ResetProcesses()
    {
        _fdProcess.Clear();
        _mapProcess.Clear();
        _sent.Clear();
        _process = 0;
    }
}
