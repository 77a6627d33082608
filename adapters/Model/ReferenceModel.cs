using System.Runtime.CompilerServices;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>
/// The reference model: pure, deterministic C# of the documented semantics (6.12 where the docs
/// leave a choice), parameterised by a <see cref="TargetProfile"/>. As an oracle it is told the
/// target's outcome first (<see cref="BeginStep"/>) and, where the docs allow several outcomes,
/// takes the branch the target took; as a target it picks a branch from its own seeded generator.
/// Every decision cites the catalog ID it follows (<see cref="Cited"/>).
/// </summary>
public sealed partial class ReferenceModel : IBufferTarget
{
    public TargetProfile Profile { get; }
    public ModelBug Bug { get; }
    /// <summary>This model has the deliberate defect (a broken variant may combine several).</summary>
    private bool Broken(ModelBug b) => (Bug & b) != 0;
    /// <summary>More deliberate defects (<see cref="ModelBug2"/>).</summary>
    public ModelBug2 Bug2 { get; init; }
    private bool Broken(ModelBug2 b) => (Bug2 & b) != 0;

    private readonly FdSlots _fds = new();
    /// <summary>fds received through SCM_RIGHTS (<see cref="PassFd"/>): their FD_CLOEXEC is the receiver's choice.</summary>
    private readonly HashSet<int> _received = new();
    private readonly Dictionary<int, Mapping> _maps = new();
    /// <summary>The queues of the nodes that are not mem2mem (<see cref="NodeQueue"/>), the first <see cref="_queueCount"/>, in
    /// the order they were made: found by node, and walked over all of them (a dictionary's enumerator at every op the
    /// generator asks, <see cref="AnyQueueStreaming"/>, was most of the question).</summary>
    private VideoQueue[] _queueList = [];
    private int _queueCount;
    /// <summary>The last mem2mem context opened (only the broken variant m2m-shared-context hands it to the next open).</summary>
    private (VideoQueue Cap, VideoQueue Out)? _sharedContext;
    /// <summary>Mem2mem file handles (contexts) open now.</summary>
    private readonly List<VideoFile> _contexts = new();
    private int _openContexts => _contexts.Count;
    private int _nextFd = 3, _nextMap = 1, _liveDmaBufs;
    private const ulong InitialClock = 0x9E3779B97F4A7C15;
    /// <summary>The device's clock as a target (which of several documented outcomes it shows): it starts again with every
    /// sequence (<see cref="Reset"/>), so a sequence meets the same clock whether it runs after others or alone from a fresh
    /// device, and a counterexample shrinks without the sequences before it.</summary>
    private ulong _rng = InitialClock, _rngAtLoad = InitialClock;
    /// <summary>The op whose clock <see cref="_rng"/> is to start from, and whether it does already: an op's clock is drawn at
    /// its first choice (<see cref="NextRandom"/>), not at every op (most make none).</summary>
    private int _rngOp;
    private bool _rngDrawn = true;
    /// <summary>The contents the device writes (a value the documentation leaves open), drawn apart from the clock, so that a
    /// read added or removed (as shrinking does) leaves the clock's later choices as they were.</summary>
    private ulong _contents = ContentsSeed(InitialClock);
    /// <summary>The contents stream's start for a clock seed: apart from the clock's own.</summary>
    private static ulong ContentsSeed(ulong clock) => (clock ^ 0xD1B54A32D192ED03) | 1;

    // oracle protocol
    private Outcome _actual;
    private bool _hasActual;
    /// <summary>The IDs the current op has cited so far (<see cref="Cite(string)"/>): a node of the tree all models share.</summary>
    private CitedIds _cited = CitedIds.None;
    /// <summary>Whether the model follows what it cites: from <see cref="BeginStep"/> (an oracle's step, or a caller that reads
    /// <see cref="Cited"/>), and in a new model, until an op begins without one (<see cref="BeginOp"/>: the model as a target).</summary>
    private bool _citing = true;
    /// <summary><see cref="BeginStep"/> was called, and the op it began has not begun yet (<see cref="BeginOp"/>).</summary>
    private bool _inStep;

    public ReferenceModel(TargetProfile profile, ModelBug bug = ModelBug.None)
    {
        Profile = profile;
        Bug = bug;
        Reset();
    }

    /// <summary>IDs the last op's decision followed, the deciding one last (<see cref="CitedArray"/>).</summary>
    public IReadOnlyList<string> Cited => CitedArray();

    /// <summary>The IDs the last op's decision followed, the deciding one last, as an array a step can keep (never written after
    /// it is made; shared by every step and model that cites the same IDs: <see cref="CitedIds"/>).</summary>
    public string[] CitedArray() => CitedCombination.Ids;

    /// <summary>The IDs the last op's decision followed, the deciding one last, with the number that names them
    /// (<see cref="CitedIds.Key"/>).</summary>
    /// <remarks>Found as the op cites, one ID at a time, in a tree all models share (<see cref="CitedIds"/>). Each step's array
    /// was found before by hashing the IDs' identities into a table, and counted by the array's identity in a dictionary: with
    /// the list the IDs were gathered in, a seventh of what the oracle spent on a step of the video mix.</remarks>
    public CitedIds CitedCombination
    {
        get
        {
            var node = _cited;
            if (_decidedBy is { } d && (node.Ids.Length == 0 || node.Ids[^1] != d)) node = node.Then(d);
            return node;
        }
    }

    /// <summary>A rule that decides the whole op whatever else it cites (a queue's state that rests on the owner's close
    /// having released it): cited last.</summary>
    private string? _decidedBy;
    /// <summary>When the last op allowed several outcomes: a description of the set; otherwise null.</summary>
    public string? AllowedSet { get; private set; }
    /// <summary>When the last op allowed several outcomes: each of them (a reproducer accepts any); otherwise null.</summary>
    public Outcome[]? AllowedOutcomes { get; private set; }
    /// <summary>The last op's R0 is a value the documentation leaves open (contents a device wrote): any is allowed.</summary>
    public bool AnyValue { get; private set; }
    /// <summary>
    /// Set when the sequence has gone where the model cannot follow the target (why, in a sentence): from then on the
    /// target's outcomes cannot be judged, and an oracle's caller stops comparing there (the sequence counts as masked).
    /// Only hand-made sequences get there; the generator steers around each case. Cleared by <see cref="Reset"/> and
    /// <see cref="Discard"/>.
    /// </summary>
    public string? Unfollowed { get; private set; }

    /// <summary>
    /// Invariants the run has already reported failing on this target. As an oracle the model then follows the target where
    /// the rule would have decided (a count, a word read through an offset mapping), so a sequence goes on being judged on
    /// everything else instead of ending at the known divergence. Empty as a target.
    /// </summary>
    public IReadOnlySet<string> Relaxed { get; set; } = EmptySet;
    private static readonly IReadOnlySet<string> EmptySet = new HashSet<string>();

    /// <summary>The device's clock for op <paramref name="opId"/>: drawn from the sequence's seed and the op's id alone, so an
    /// op meets the same timing whichever other ops run before it.</summary>
    public void BeginOp(int opId)
    {
        // an op begun without BeginStep is the model's as a target, whose citations nobody reads: it cites nothing (following
        // the tree at every citation cost the model as a target 7% more instructions an op on the lab's mixes)
        if (_inStep) _inStep = false;
        else { NoneCited(); _citing = false; }
        (_rngOp, _rngDrawn) = (opId, false);
    }

    /// <summary>The clock <see cref="BeginOp"/> starts an op's choices from: a hash of the sequence's seed and the op's id.</summary>
    private static ulong OpClock(ulong atLoad, int opId)
    {
        ulong z = atLoad + (ulong)(uint)opId * 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return (z ^ (z >> 31)) | 1;
    }

    /// <summary>No ID cited yet this op (written only where one was: a reference written costs the collector's barrier, and
    /// most ops of the model as a target, which cites nothing, find it so).</summary>
    private void NoneCited()
    {
        if (!ReferenceEquals(_cited, CitedIds.None)) _cited = CitedIds.None;
    }

    /// <summary>Starts one op. With the target's outcome given, the model acts as an oracle and follows it where allowed.</summary>
    public void BeginStep(in Outcome? actual)
    {
        BeginStep();
        _hasActual = actual.HasValue;
        _actual = actual.GetValueOrDefault();
    }

    /// <summary>Starts one op as the oracle of the target's outcome <paramref name="actual"/>: <see cref="BeginStep(in Outcome?)"/>
    /// with one given, without a nullable copy of the outcome made at every step.</summary>
    public void BeginStep(in Outcome actual)
    {
        BeginStep();
        _hasActual = true;
        _actual = actual;
    }

    private void BeginStep()
    {
        NoneCited();
        _citing = true;
        _inStep = true;
        _decidedBy = null;
        AllowedSet = null;
        AllowedOutcomes = null;
        AnyValue = false;
    }

    /// <summary>Seeds the choices the model makes when it is itself the target.</summary>
    public void Seed(ulong seed) { _rngAtLoad = seed | 1; RestartStreams(); }

    private static readonly Dictionary<string, Func<ReferenceModel, int, IoctlCall, Outcome>> _described =
        typeof(ReferenceModel).GetMethods(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
            .Where(m => m.GetCustomAttributes(typeof(ModelOfAttribute), false).Length > 0)
            .ToDictionary(m => ((ModelOfAttribute)m.GetCustomAttributes(typeof(ModelOfAttribute), false)[0]).Request,
                m => m.CreateDelegate<Func<ReferenceModel, int, IoctlCall, Outcome>>());

    /// <summary>The requests the model has semantics for through <see cref="Ioctl"/> (its [ModelOf] methods).</summary>
    public static IReadOnlyCollection<string> DescribedRequests => _described.Keys;

    public Outcome Ioctl(int fd, IoctlCall call) => _described.TryGetValue(call.Spec.Request, out var answer) ? answer(this, fd, call)
        : throw new InvalidOperationException($"the reference model has no semantics for {call.Spec.Request}: mark its method [ModelOf(\"{call.Spec.Request}\")]");

    private Outcome Cite(string id, in Outcome o) { Cite(id); return o; }
    private Outcome Cite(string id, Errno e) { Cite(id); return new Outcome(e); }
    private void Cite(string id) { if (_citing) _cited = _cited.Then(id); }

    /// <summary>The clock and the device's contents back at the sequence's start: the clock at the load's seed, drawn (a
    /// choice before any op is begun uses it), the contents' stream at the seed made from it.</summary>
    private void RestartStreams() => (_rng, _rngDrawn, _contents) = (_rngAtLoad, true, ContentsSeed(_rngAtLoad));

    private ulong NextRandom()
    {
        if (!_rngDrawn) (_rng, _rngDrawn) = (OpClock(_rngAtLoad, _rngOp), true);
        return XorShift(ref _rng);
    }

    /// <summary>One xorshift64 step of a stream (the clock's or the contents').</summary>
    private static ulong XorShift(ref ulong x)
    {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        return x;
    }

    /// <summary>Several outcomes are documented: follow the target's if it is one of them, else pick one.</summary>
    private int Choose(string description, params Outcome[] allowed)
    {
        AllowedSet = description;
        AllowedOutcomes = allowed;
        if (_hasActual)
        {
            for (int i = 0; i < allowed.Length; i++)
                if (allowed[i].SameObservation(_actual)) return i;
            return 0;
        }
        // a single allowed outcome takes no draw: a step with no choice leaves the clock's later ones as they were
        return allowed.Length == 1 ? 0 : (int)(NextRandom() % (ulong)allowed.Length);
    }

    /// <summary>A value the documentation leaves unspecified (e.g. contents a device wrote): learn the target's.</summary>
    private ulong ChooseValue(string description)
    {
        AllowedSet = description;
        AnyValue = true;
        if (_hasActual) return (ulong)_actual.R0;
        return XorShift(ref _contents) % 1000;
    }

    /// <summary>Unmaps every mapping and closes every fd through the ordinary release paths (so a leak
    /// stays visible in <see cref="LiveDmaBufs"/>), then starts from fresh device state.</summary>
    public void Reset()
    {
        CloseAll();
        ResetProcesses();
        Fresh();
    }

    /// <summary>
    /// A new model's state, without the release paths: every fd, mapping and helper process is dropped where
    /// <see cref="Reset"/> closes each through them. Unlike <see cref="Refresh"/>, it also forgets what the release paths
    /// would have left: a dma-buf a broken variant leaked (the live count starts again at 0), a release the harness deferred
    /// (<see cref="DeferRelease"/>, <see cref="Deferred"/>), a parallel block's closes. For the model as a generator's target,
    /// whose state at a sequence's end nothing reads (what a release path would show, a leak, is the oracle's to judge on its
    /// own model, which is reset): a sequence's closes were some 150 of the 3,300 instructions a generated op cost. A table
    /// that <see cref="Close"/> or <see cref="Munmap"/> cleans an entry of, fd by fd, is cleared here whole. A test
    /// (<c>ModelDiscardTests</c>) runs sequences after a discard and on a new model alike and compares every outcome.
    /// </summary>
    public void Discard()
    {
        _fds.Clear();
        _received.Clear();
        _maps.Clear();
        _liveDmaBufs = 0;
        _closedInBlock = null;
        _deferRelease = false;
        Deferred = null;
        ResetProcesses();
        Fresh();
        _recycled.Clear();
    }

    /// <summary>What <see cref="Reset"/> and <see cref="Discard"/> do once the files and processes are gone: the device's
    /// queues made new, its counters and tables at their start.</summary>
    private void Fresh()
    {
        _cited = CitedIds.None;
        Unfollowed = null;
        _sharedContext = null;
        _contexts.Clear();
        // (each node's queue made at the node's first open: NodeQueue)
        if (_queueList.Length != Profile.Video.Count) _queueList = new VideoQueue[Profile.Video.Count];
        else Array.Clear(_queueList);
        _queueCount = 0;
        _nextFd = 3; _nextMap = 1;
        _nextCtx = 1;
        _vgemFences.Clear();
        _huge.Clear();
        _requestVerdicts.Clear();
        RestartStreams();
    }

    /// <summary>The queue of a node that is not mem2mem (every open of the node shares it), made at the node's first open since
    /// the device's state was fresh (<see cref="Fresh"/>): a queue no one opened is as it was made, and a sequence that opens
    /// no video node (one that keeps to dma-heaps, udmabuf or DRM) makes none.</summary>
    private VideoQueue NodeQueue(VideoNodeProfile node)
    {
        foreach (var q in _queueList.AsSpan(0, _queueCount)) if (ReferenceEquals(q.P, node)) return q;
        return _queueList[_queueCount++] = new VideoQueue(node);
    }

    /// <summary>
    /// Unmaps every mapping and closes every fd through the ordinary release paths, and nothing more: the device keeps
    /// whatever state its release paths left, as a kernel's does when a process closes its files.
    /// </summary>
    public void CloseAll()
    {
        foreach (var m in _maps.Keys.ToArray()) Munmap(m);
        foreach (var fd in _fds.Keys) Close(fd);
    }

    public void Dispose() => Reset();

    /// <summary>The model's Reset already starts from fresh device state, but for the pages a broken heap recycles,
    /// which only a reload (Refresh) forgets, as freed pages outlive the files that used them.</summary>
    public bool Refresh() { Reset(); _recycled.Clear(); return true; }

    /// <summary>Freed heap memory, contents and all, that <see cref="ModelBug.HeapRecyclesDirty"/> hands out again.</summary>
    private readonly List<Mem> _recycled = new();

    public int LiveDmaBufs() => _liveDmaBufs;

    /// <summary>While a parallel block runs on the model as a target: the fds closed in it (<see cref="ModelBug.CloseRaces"/>).</summary>
    private HashSet<int>? _closedInBlock;

    public void Parallel(bool inBlock) => _closedInBlock = inBlock ? new HashSet<int>() : null;

    // ---------------------------------------------------------------- fd table

    private int Install(OFile f, bool cloexec)
    {
        int fd = _nextFd++;
        _fds[fd] = (f, cloexec);
        Owned(_fdProcess, fd);
        f.Refs++; f.Fds++;
        return fd;
    }

    /// <summary>The fd number given back and the file's fd count dropped (the reference it held is the caller's to put): what
    /// a create the kernel undoes leaves, as put_unused_fd does for a reserved number.</summary>
    private OFile? Uninstall(int fd)
    {
        if (!_fds.Remove(fd, out var e)) return null;
        _fdProcess.Remove(fd);
        e.File.Fds--;
        return e.File;
    }

    private void Get(OFile f) => f.Refs++;

    private void Put(OFile f)
    {
        if (--f.Refs > 0) return;
        switch (f)
        {
            case DmaBuf d:
                d.Released = true;
                if (Broken(ModelBug.HeapRecyclesDirty) && d.Exporter == Exporter.Heap) _recycled.Add(d.Segs[0].Mem);
                if (!Broken(ModelBug.CloseLeaksDmaBuf)) _liveDmaBufs--;
                if (d.From is { Freed: false } vb) vb.MapUsers--;
                break;
            case VideoFile v:
                if (v.Out != null) _contexts.Remove(v);
                foreach (var q in v.Queues)
                {
                    if ((q.Owner == v || q.Owner == null) && !(Broken(ModelBug.CloseKeepsQueue) && q.Owner == v)) QueueRelease(q);
                    else if (q.ReadRefusedOwner != null && q.ReadRefusedOwner == q.Owner) q.OwnerAtStake = true;   // see VideoQueue.OwnerAtStake
                    // vb2 released the emulator the zero-count write() started with its owner's close; where the model's queue is
                    // idle now too, the two agree again (another handle's close, or a queue the model has given to another
                    // handle since, leaves what follows resting on VB2-WRITE-4)
                    if (q.ZeroWriter == v && q.Owner == null && !q.FileIo && q.NumBufs == 0 && !q.Streaming) q.ZeroWriter = null;
                }
                break;
            case MemfdFile m:
                m.Mem.Orphaned = true;
                // the last reference to a hugetlb memfd's inode: its reservations go, and its pages go back to the pool but for
                // those a udmabuf still pins (fs/hugetlbfs/inode.c hugetlbfs_evict_inode, remove_inode_hugepages)
                if (m.Mem.Huge is { } h) { h.Evicted = true; h.Debt = 0; h.Reserved.Clear(); h.Unregioned.Clear(); }
                break;
            case DevFile { Kind: DevKind.Drm } drm:
                ReleaseDrmFile(drm);
                break;
        }
    }

    private bool TryFile(int fd, out OFile f)
    {
        if (_fds.TryGetValue(fd, out var e)) { f = e.File; return true; }
        f = null!;
        return false;
    }

    public Outcome Open(string device, int oflags)
    {
        OFile f;
        var node = Profile.VideoNode(device);
        if (node is { IsMem2Mem: true } m2m)
        {
            // every open of a mem2mem node is a context of its own, with its own CAPTURE and OUTPUT queues (dev-mem2mem.rst)
            var (cap, outq) = Broken(ModelBug.M2mSharedContext) && _sharedContext is { } one ? one   // the bug: one context for every open
                : (new VideoQueue(m2m), new VideoQueue(m2m.OutputQueue!));
            cap.Peer = outq; outq.Peer = cap;
            _sharedContext = (cap, outq);
            f = new VideoFile(cap, outq);
            cap.Context = (VideoFile)f;
            _contexts.Add((VideoFile)f);
        }
        else if (node != null) f = new VideoFile(NodeQueue(node));
        else if (Profile.Heap(device) is { } h) f = new DevFile(DevKind.Heap, h);
        else if (device == Profile.UdmabufDevice) f = new DevFile(DevKind.Udmabuf, null);
        else if (Profile.DrmDevice(device) is { } drm) f = new DevFile(DevKind.Drm, null, drm);
        else return Outcome.Fail(Errno.ENOENT);
        f.AccMode = oflags & O_ACCMODE;
        return Outcome.Created(Install(f, (oflags & O_CLOEXEC) != 0));
    }

    /// <inheritdoc/>
    /// <remarks>(A table this cleans the fd's entry of is cleared whole by <see cref="Discard"/> as well.)</remarks>
    public Outcome Close(int fd)
    {
        // the bug: two threads' close() of one fd in a parallel block both find it (the second one's lookup raced the first)
        if (!_hasActual && Broken(ModelBug.CloseRaces) && _closedInBlock?.Contains(fd) == true) return Outcome.Success();
        // a copy a fork made (or the fd it was made from): that the other process's stays open is DMABUF-PROC-3's
        // (each set asked only where it holds something: most sequences never fork, send or receive, and a removal from an
        // emptied set still hashes and probes)
        if (_forkFds.Count > 0 && _forkFds.Remove(fd)) { _decidedBy = Inv.ProcFork; ChildClosed(fd); }
        bool closedByChild = _closedByChild.Count > 0 && _closedByChild.Remove(fd);
        if (!_fds.Remove(fd, out var e)) return Outcome.Fail(Errno.EBADF);
        _closedInBlock?.Add(fd);
        if (_received.Count > 0) _received.Remove(fd);
        if (_sent.Count > 0) _sent.Remove(fd);
        if (_fdProcess.Count > 0) _fdProcess.Remove(fd);
        e.File.Fds--;
        if (DeferRelease) { DeferRelease = false; Deferred = e.File; return Outcome.Success(); }
        Put(e.File);
        return closedByChild ? Outcome.Fail(Errno.EBADF) : Outcome.Success();
    }

    /// <summary>
    /// Set by the harness for the next close(2) only: the fd goes at once, but the file's last reference waits for
    /// <see cref="ReleaseDeferred"/>. Another thread's call on the same file holds a reference from its lookup (fdget) to its
    /// return, so a close made meanwhile drops the fd and the release comes when that call ends (close(2), NOTES: "the
    /// blocking I/O system call holds a reference to the underlying open file description"; fs/file.c:close_fd, fput).
    /// </summary>
    public bool DeferRelease { get => _deferRelease; set { _deferRelease = value; if (value) Deferred = null; } }
    private bool _deferRelease;

    /// <summary>The file the last deferred close kept (<see cref="DeferRelease"/>), until <see cref="ReleaseDeferred"/>.</summary>
    public object? Deferred { get; private set; }

    /// <summary>Drops the reference a deferred close kept: the file is released now if that was its last.</summary>
    public void ReleaseDeferred(object file) => Put((OFile)file);

    public Outcome Dup(int fd)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        int n = Install(f, false);
        if (f is DmaBuf) Cite(Inv.DupNoCloexec);
        return Outcome.Created(n);
    }

    /// <summary>
    /// SCM_RIGHTS within the process: a new fd for the same open file, FD_CLOEXEC as the receiver asked (DMABUF-SCM-1). R0 = 1
    /// (the same file).
    /// </summary>
    public Outcome PassFd(int fd, bool cloexec)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        return Receive(f, cloexec, _received, Inv.ScmRights, copies: Broken(ModelBug.PassFdCopies));
    }

    /// <summary>
    /// The receiving end of SCM_RIGHTS, in the process the call runs in: a new fd for file f with FD_CLOEXEC as the receiver
    /// asked, marked in <paramref name="received"/> (whose FD_CLOEXEC then cites <paramref name="rule"/>), R0 = 1 (the same
    /// file). With <paramref name="copies"/> (a broken variant, as a target) the receiver gets a new buffer of the same size
    /// instead, R0 = 0.
    /// </summary>
    private Outcome Receive(OFile f, bool cloexec, HashSet<int> received, string rule, bool copies)
    {
        if (!_hasActual && copies && f is DmaBuf d0)
        {
            var copy = NewDmaBuf(d0.Exporter, [.. d0.Segs.Select(s => s with { Mem = new Mem(s.Mem.Size, 0) })], d0.Size, d0.AccMode);
            int c = Install(copy, cloexec);
            received.Add(c);
            return Outcome.Created(c, 0);
        }
        int n = Install(f, cloexec);
        received.Add(n);
        return Cite(rule, Outcome.Created(n, 1));
    }

    public Outcome FcntlGetFd(int fd)
    {
        if (!_fds.TryGetValue(fd, out var e)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (_forkFds.Contains(fd)) _decidedBy = Inv.ProcFork;   // a fork's copy keeps the flag; the other's close leaves it open
        if (ClosedByChild(fd)) return Outcome.Fail(Errno.EBADF);
        if (_received.Contains(fd)) Cite(Inv.ScmRights);   // its flag is the receiver's MSG_CMSG_CLOEXEC
        else if (_sent.Contains(fd)) Cite(Inv.ProcShared);
        else if (e.File is DmaBuf d)
        {
            Cite(Inv.Cloexec);
            if (d.Exporter == Exporter.Heap) Cite(Inv.HeapModes);
            if (d.Exporter == Exporter.Udmabuf) Cite(Inv.UdmaFlags);
        }
        return Outcome.Success(e.Cloexec ? FD_CLOEXEC : 0);
    }

    /// <summary>
    /// A program the process execs holds every fd without FD_CLOEXEC, each the same open file, and none with it
    /// (DMABUF-CLOEXEC-3): R0 = R1 = the mask of fds without close-on-exec, in the order given.
    /// </summary>
    public Outcome Exec(IReadOnlyList<int> fds)
    {
        if (fds.Count > 62) return Outcome.NotRun;   // the answer is a 62-bit mask
        long open = 0;
        for (int i = 0; i < fds.Count; i++)
        {
            if (!_fds.TryGetValue(fds[i], out var e)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
            // the bug (as a target): the new program is handed every fd, close-on-exec or not
            if (!e.Cloexec || !_hasActual && Broken(ModelBug.ExecKeepsCloexec)) open |= 1L << i;
            if (e.File is DmaBuf) Cite(Inv.Cloexec);
        }
        return Cite(Inv.ExecCloses, Outcome.Success(open, open));
    }

    public Outcome FcntlGetFl(int fd)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is DmaBuf d)
        {
            Cite(Inv.AccMode);
            if (d.Exporter == Exporter.Udmabuf) Cite(Inv.UdmaRdwr);
            if (d.Exporter == Exporter.Heap) Cite(Inv.HeapModes);
        }
        return Outcome.Success(f.AccMode);
    }

    private Outcome LlseekCore(int fd, long offset, int whence)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not DmaBuf d)
            return f is MemfdFile ? Outcome.Fail(Errno.NotRun) : Outcome.Fail(Errno.ESPIPE);
        if (offset == 0 && whence == SEEK_END)
        {
            if (d.FromPlane) _decidedBy = Inv.MplaneExpBuf;   // the size is the one EXPBUF gave a plane's dma-buf
            Cite(Inv.LlseekNoPos);
            return Cite(Inv.LlseekEnd, Outcome.Success(d.Size));
        }
        if (offset == 0 && whence == SEEK_SET) { Cite(Inv.LlseekNoPos); return Cite(Inv.LlseekSet, Outcome.Success(0)); }
        if (Broken(ModelBug.LlseekAcceptsSeekCur) && offset == 0 && whence == SEEK_CUR) return Outcome.Success(0);
        return Cite(Inv.LlseekOther, Errno.EINVAL);
    }

    public Outcome UnknownIoctl(int fd)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        return f switch
        {
            DmaBuf => Cite(Inv.DmaBufUnknownIoctl, Errno.ENOTTY),
            DevFile { Kind: DevKind.Heap } => Cite(Inv.HeapIoctl, Errno.EINVAL),
            DevFile { Kind: DevKind.Drm } => Outcome.Fail(Errno.EINVAL),   // drm_ioctl: a driver-range nr the driver lacks
            _ => Outcome.Fail(Errno.ENOTTY),
        };
    }
}
