using System.Collections.Immutable;
using System.Reflection;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using static Conformance.Adapters.Uapi;

namespace Conformance.Generators;

/// <summary>A symbolic handle: the resource created by the op with this Id. Never a raw fd.</summary>
public readonly record struct Var(int Id)
{
    public static readonly Var None = new(0);
    /// <summary>An fd number that is never open (-1).</summary>
    public static readonly Var BadFd = new(-1);
    public override string ToString() => Id == -1 ? "-1" : Id == 0 ? "-" : $"v{Id}";
}

/// <summary>What an op's success creates: an fd (closed with close), a mapping (munmap), a GEM handle or a vgem fence id
/// (both belong to their DRM file and go with it).</summary>
public enum Resource { None, Fd, Mapping, GemHandle, FenceId }

/// <summary>
/// Per-target binding of symbolic handles to that target's fds / mapping ids, one table per process: a handle made in (or
/// sent to) one process names nothing in another, and after a fork the child's copy of a handle is bound under the same
/// symbolic name in the child (<see cref="Fork"/>). Lookups are made in <see cref="Current"/>, the process of the op running.
/// </summary>
public sealed class Env
{
    /// <summary>One process's bindings, indexed by symbolic id (an op's id: small and dense): its handle, and whether the id is
    /// bound (<see cref="Fd"/>: an fd, GEM handle or fence id; <see cref="Mapping"/>: a mapping). Every op looks its handles up
    /// here, on the generator's side, the target's and the oracle's: an array read, where a hashed table cost more than the
    /// kernel's own work for a cheap call under the lab's TCG.</summary>
    private sealed class Table
    {
        public const byte Unbound = 0, Fd = 1, Mapping = 2;
        /// <summary>Ids from here up (a hand-edited replay file may carry any id up to int.MaxValue) are bound in
        /// <see cref="Far"/>, so that one large id costs an entry, not an array as long as it.</summary>
        public const int FarId = 1 << 16;
        public int[] Handle = new int[64];
        public byte[] State = new byte[64];
        /// <summary>One past the highest id below <see cref="FarId"/> bound since the last clear: the slots past it are all unbound.</summary>
        public int Top;
        public Dictionary<int, (int Handle, byte State)>? Far;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public bool TryGet(int id, out int handle)
        {
            if ((uint)id < (uint)State.Length && State[id] != Unbound) { handle = Handle[id]; return true; }
            return TryGetFar(id, out handle);
        }

        /// <summary><see cref="TryGet"/> past the array: an id bound in <see cref="Far"/>, or none.</summary>
        private bool TryGetFar(int id, out int handle)
        {
            if (id >= FarId && Far != null && Far.TryGetValue(id, out var far)) { handle = far.Handle; return true; }
            handle = 0;
            return false;
        }

        public void Set(int id, int handle, bool mapping)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            byte state = mapping ? Mapping : Fd;
            if (id >= FarId) { (Far ??= new())[id] = (handle, state); return; }
            if (id >= State.Length)
            {
                int n = Math.Min(FarId, Math.Max(id + 1, State.Length * 2));
                Array.Resize(ref Handle, n);
                Array.Resize(ref State, n);
            }
            Handle[id] = handle;
            State[id] = state;
            if (id >= Top) Top = id + 1;
        }

        public void Remove(int id)
        {
            if ((uint)id < (uint)State.Length) State[id] = Unbound;
            else if (id >= FarId) Far?.Remove(id);
        }

        public void Clear() { Array.Clear(State, 0, Top); Top = 0; Far?.Clear(); }

        /// <summary>Every bound id, in order, with its handle and state.</summary>
        public IEnumerable<(int Id, int Handle, byte State)> Bound()
        {
            for (int id = 0; id < Top; id++) if (State[id] != Unbound) yield return (id, Handle[id], State[id]);
            if (Far != null) foreach (var (id, e) in Far.OrderBy(kv => kv.Key).ToList()) yield return (id, e.Handle, e.State);
        }

        public void CopyFrom(Table other)
        {
            Clear();
            if (other.State.Length > State.Length) { Handle = new int[other.State.Length]; State = new byte[other.State.Length]; }
            Array.Copy(other.Handle, Handle, other.Top);
            Array.Copy(other.State, State, other.Top);
            Top = other.Top;
            if (other.Far is { Count: > 0 }) Far = new(other.Far);
        }
    }

    /// <summary>The tables of processes 0 (the suite's own) and up, made as a process first binds.</summary>
    private Table?[] _tables = [new Table()];

    /// <summary>The table of <see cref="Current"/> (null while that process has bound nothing): every op looks its handles up
    /// there, so it is kept rather than found by process at each lookup.</summary>
    private Table? _current;

    private Table? TableOf(int process) => (uint)process < (uint)_tables.Length ? _tables[process] : null;

    private Table MakeTable(int process)
    {
        if (process == _currentProcess && _current != null) return _current;
        ArgumentOutOfRangeException.ThrowIfNegative(process);
        if (process >= _tables.Length) Array.Resize(ref _tables, process + 1);
        var t = _tables[process] ??= new Table();
        if (process == _currentProcess) _current = t;
        return t;
    }

    private int _currentProcess;

    /// <summary>The process whose table lookups use: the running op's (<see cref="Op.Process"/>); 0, the suite's own.</summary>
    public int Current
    {
        get => _currentProcess;
        set
        {
            _currentProcess = value;
            _current = TableOf(value);
        }
    }

    /// <summary>The handle <paramref name="v"/> names in the current process (-1 for <see cref="Var.BadFd"/>); false if it names
    /// none there.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool Resolve(Var v, out int handle)
    {
        if (v.Id == -1) { handle = -1; return true; }
        if (_current is { } t) return t.TryGet(v.Id, out handle);
        handle = 0;
        return false;
    }

    /// <summary>Binds a handle of the current process.</summary>
    public void Bind(int opId, int handle) => Bind(opId, handle, Current, mapping: false);

    /// <summary>Binds a handle that belongs to process <paramref name="process"/> (0: the suite's own) to the symbolic id
    /// <paramref name="opId"/> (the op that made it: not negative).</summary>
    public void Bind(int opId, int handle, int process, bool mapping) => MakeTable(process).Set(opId, handle, mapping);

    /// <summary>A process exited: every handle it held is gone.</summary>
    public void KillProcess(int process) => TableOf(process)?.Clear();

    /// <summary>Process <paramref name="from"/> forked <paramref name="to"/>: the child holds a copy of each of its handles, bound
    /// under the same name; <paramref name="copy"/> gives the child's own handle for a parent's (handle, is a mapping).</summary>
    public void Fork(int from, int to, Func<int, bool, int> copy)
    {
        KillProcess(to);
        if (TableOf(from) is not { } parent) return;
        var child = MakeTable(to);
        foreach (var (id, handle, state) in parent.Bound().ToList())
        {
            bool mapping = state == Table.Mapping;
            child.Set(id, copy(handle, mapping), mapping);
        }
    }

    private readonly Dictionary<int, int> _requestHeld = new();
    /// <summary>How many buffers QBUF has put into this request since it was allocated or re-initialized, on this target.</summary>
    public int RequestHeld(Var request) => _requestHeld.GetValueOrDefault(request.Id);
    /// <summary>A QBUF put a buffer into the request (<paramref name="count"/> 1), or a REINIT emptied it (0).</summary>
    public void SetRequestHeld(Var request, int count) => _requestHeld[request.Id] = count;
    /// <summary>The handle <paramref name="v"/> named in the current process is gone (closed, unmapped).</summary>
    public void Kill(Var v) => _current?.Remove(v.Id);

    /// <summary>Forgets every binding (of every process) and goes back to process 0, keeping the tables' room: a new sequence's
    /// env, as a new <see cref="Env"/> would be, without growing its tables again (the generator makes one per sequence).</summary>
    public void Clear()
    {
        foreach (var t in _tables) t?.Clear();
        _requestHeld.Clear();
        Current = 0;
    }

    public bool IsLive(Var v) => v.Id == -1 || _current is { } t && t.TryGet(v.Id, out _);

    /// <summary>A copy: a branch of a parallel block binds what it creates in a copy of its own, so no two threads share one
    /// (and a handle the other branch closes still names its number here, as the kernel's fd would).</summary>
    public Env Clone()
    {
        var e = new Env();
        e._tables = new Table?[_tables.Length];
        for (int p = 0; p < _tables.Length; p++)
            if (_tables[p] is { } t) (e._tables[p] = new Table()).CopyFrom(t);
        e.Current = Current;
        foreach (var kv in _requestHeld) e._requestHeld[kv.Key] = kv.Value;
        return e;
    }

    /// <summary>After a parallel block: every handle a branch created is bound here, every handle one released is gone.</summary>
    public void Merge(Env before, Env branch)
    {
        for (int p = 0; p < branch._tables.Length; p++)
        {
            if (branch._tables[p] is not { } b) continue;
            var was = before.TableOf(p);
            foreach (var (id, handle, state) in b.Bound())
                if (was == null || !was.TryGet(id, out _)) MakeTable(p).Set(id, handle, state == Table.Mapping);
        }
        for (int p = 0; p < before._tables.Length; p++)
        {
            if (before._tables[p] is not { } w) continue;
            var now = branch.TableOf(p);
            foreach (var (id, _, _) in w.Bound())
                if (now == null || !now.TryGet(id, out _)) TableOf(p)?.Remove(id);
        }
        foreach (var kv in branch._requestHeld) _requestHeld[kv.Key] = kv.Value;
    }
}

/// <summary>
/// One operation: an immutable record with symbolic handles, printable as the call it makes and
/// replayable on any <see cref="IBufferTarget"/>. Adding an op = one record here + one generator rule.
/// </summary>
public abstract record Op
{
    /// <summary>The op's number in its sequence, from 1: the handle it creates is <c>new Var(Id)</c>.</summary>
    public int Id { get => _id; init => _id = value; }
    private int _id;

    protected Op() { }

    /// <summary>A copy (<c>with</c>): every field of the op's value, but not <see cref="ShapeOf"/>'s kept answer (a copy may
    /// name other handles, and finds its own).</summary>
    protected Op(Op original)
    {
        _id = original._id;
        Branch = original.Branch;
        Process = original.Process;
        ReadOnlyArg = original.ReadOnlyArg;
        FdTableFull = original.FdTableFull;
    }

    /// <summary>The op's value, as a record's: its type and fields (<see cref="ShapeOf"/>'s kept answer is not part of it).</summary>
    public virtual bool Equals(Op? other) => ReferenceEquals(this, other) || other is not null && EqualityContract == other.EqualityContract
        && _id == other._id && Branch == other.Branch && Process == other.Process && ReadOnlyArg == other.ReadOnlyArg && FdTableFull == other.FdTableFull;

    public override int GetHashCode() => HashCode.Combine(EqualityContract, _id, Branch, Process, ReadOnlyArg, FdTableFull);

    /// <summary>What <see cref="Run"/> and <see cref="OpSequence.Closing"/> ask of an op at every run (<see cref="Creates"/>,
    /// <see cref="Makes"/>, whether <see cref="Consumes"/> names a handle, whether it forks or ends a process).</summary>
    [Flags]
    internal enum Shape : byte { Known = 1, Creates = 2, MakesFd = 4, MakesMapping = 8, ConsumesSome = 16, Forks = 32, Exits = 64 }

    /// <summary><see cref="Shape"/>, found from the op's virtual members at the first ask and kept: each was a virtual call at
    /// every run, on the calling thread, the oracle's and the generator's, and in the calling thread's pass over a sequence
    /// before it is judged. (An op never changes; two threads that find it at once find the same.)</summary>
    internal Shape ShapeOf => _shape != 0 ? _shape : LearnShape();
    private Shape _shape;

    private Shape LearnShape()
    {
        var s = Shape.Known;
        if (Creates)
        {
            s |= Shape.Creates;
            var makes = Makes;
            if (makes == Resource.Fd) s |= Shape.MakesFd;
            else if (makes == Resource.Mapping) s |= Shape.MakesMapping;
        }
        if (Consumes.Id > 0) s |= Shape.ConsumesSome;
        if (this is Fork) s |= Shape.Forks;
        if (this is ExitProcess) s |= Shape.Exits;
        _shape = s;
        return s;
    }

    /// <summary>This op, numbered <paramref name="id"/> in place: only for a record just made that nothing else holds yet
    /// (the generator's own, before it joins the sequence), where a copy (<c>op with { Id = id }</c>) is a second record
    /// of every op generated.</summary>
    internal Op Numbered(int id)
    {
        _id = id;
        return this;
    }

    /// <summary>
    /// 0 for an op the sequence runs in order. 1, 2 or 3: the op belongs to that branch of a parallel block, a maximal run of
    /// consecutive ops with a non-zero branch; each branch runs its ops in order on a thread of its own while the other
    /// branches run theirs, and the outcomes must be those of some interleaving of them (DMABUF-PAR-1).
    /// </summary>
    public int Branch { get; init; }

    /// <summary>The most branches a parallel block has.</summary>
    public const int MaxBranches = 3;

    /// <summary>
    /// The process the op runs in: 0, the suite's own; 1, the sequence's helper process (<see cref="IBufferTarget.Process"/>),
    /// which holds only what was sent to it (<see cref="SendFd"/>) or made there, until it exits (<see cref="ExitProcess"/>);
    /// 2, the child P1 forks (<see cref="Fork"/>), which starts with a copy of everything P1 holds.
    /// Only ops that can run anywhere (<see cref="RunsInAnyProcess"/>) take a non-zero process.
    /// </summary>
    public int Process { get; init; }

    /// <summary>The most helper processes a sequence has: P1, and P2 that P1 forks.</summary>
    public const int MaxProcess = 2;

    /// <summary>Whether the op may run in a helper process (<see cref="Process"/> non-zero).</summary>
    public virtual bool RunsInAnyProcess => false;

    /// <summary>
    /// True: the ioctl's argument lies in a page the process may read but not write, so the kernel reads it and its copy of
    /// the result back faults (EFAULT). Only ops whose result is an fd written into the argument take it
    /// (<see cref="CopiesOutFd"/>); the failed call must leave no new fd and no new dma-buf behind (DMABUF-FAIL-1), which
    /// the target reports in R0 (the dma-buf and sync_file fds the process gained).
    /// </summary>
    [DrawnFrom(nameof(Domains.ArgPage))]
    public bool ReadOnlyArg { get; init; }

    /// <summary>
    /// True: the call runs with the process's fd table full up to its RLIMIT_NOFILE, so the kernel cannot reserve the fd it
    /// would create (EMFILE). Only ops whose success is a new dma-buf or sync_file fd take it (<see cref="InstallsFd"/>), and
    /// not with <see cref="ReadOnlyArg"/>; the failed call must leave no fd and no dma-buf behind (DMABUF-FAIL-2), which the
    /// target reports in R0 (the change in the system's count of live dma-bufs across the call; -1 where it cannot be read).
    /// </summary>
    [DrawnFrom(nameof(Domains.FdTable))]
    public bool FdTableFull { get; init; }

    /// <summary>Whether the op's success is a new dma-buf or sync_file fd the kernel reserves with get_unused_fd_flags: the ops
    /// that may take <see cref="FdTableFull"/> (those that write it into their argument, and the udmabuf creates, which
    /// return it).</summary>
    public virtual bool InstallsFd => CopiesOutFd;

    /// <summary>Whether the op is made to fail on purpose (<see cref="ReadOnlyArg"/> or <see cref="FdTableFull"/>).</summary>
    public bool ForcedFailure => ReadOnlyArg || FdTableFull;

    /// <summary>The op's call made by the target with the fd table full (<see cref="IBufferTarget.WithFdTableFull"/>): what the
    /// op observes. Apart from <see cref="Run"/> so that only this path makes the closure.</summary>
    private Outcome CallWithFdTableFull(IBufferTarget t, Env env) => t.WithFdTableFull(() => Call(t, env));

    /// <summary>Whether the op's ioctl writes the fd it creates into its argument (an _IOWR request whose copy-out comes after
    /// the fd exists in the kernel): the ops that may take <see cref="ReadOnlyArg"/>.</summary>
    public virtual bool CopiesOutFd => false;

    /// <summary>Whether the core that carries the op's ioctl copies the argument back even when the call failed (drm_ioctl
    /// does; video_usercopy, dma_heap_ioctl and the dma-buf core do only after a success): with <see cref="ReadOnlyArg"/>,
    /// such a call fails with EFAULT whatever its own error.</summary>
    public virtual bool CopiedBackOnFailure => false;

    /// <summary>The process whose handle the op's success creates: its own, unless the op says otherwise (a sent fd).</summary>
    public virtual int CreatesIn => Process;

    /// <summary>The op as a counterexample lists it: <see cref="Text"/>, after "[A] ", "[B] " or "[C] " for a parallel block's
    /// branch, and "[P1] " or "[P2] " for an op a helper process runs.</summary>
    public string Listed => (Branch == 0 ? "" : $"[{(char)('A' + Branch - 1)}] ") + (Process == 0 ? "" : $"[P{Process}] ") + Text
        + (ReadOnlyArg ? "   /* the argument in a read-only page */" : "") + (FdTableFull ? "   /* the fd table full (RLIMIT_NOFILE) */" : "");

    /// <summary>Catalog area the op belongs to (for --area filtering).</summary>
    public abstract string Area { get; }
    /// <summary>True when success creates a resource bound to this op's Id.</summary>
    public virtual bool Creates => false;
    /// <summary>What kind of resource success creates: an fd unless the op says otherwise.</summary>
    public virtual Resource Makes => Creates ? Resource.Fd : Resource.None;
    /// <summary>The handle this op releases on success (close, munmap).</summary>
    public virtual Var Consumes => Var.None;
    /// <summary>For ops whose result is another name for an input (dup): the input.</summary>
    public virtual Var AliasOf => Var.None;

    /// <summary>Calls the target with resolved handles; NotRun if a handle is not live.</summary>
    protected abstract Outcome Call(IBufferTarget t, Env env);

    /// <summary>True when the call, on a target, may sleep until the device acts (a blocking DQBUF): the harness issues it only
    /// where <see cref="Returns"/> says it comes back, and properties that run without the model's oracle never issue it.</summary>
    public virtual bool MaySleep => false;

    /// <summary>True when the harness itself reads or writes a mapping's memory (a load or store through the pointer, not a system
    /// call): a driver that wrongly granted the mapping can make it fault, and a fault ends the process, not the call. So where
    /// the oracle judges behind the calls (<c>LockstepProperty.JudgeBehind</c>) such an op waits, as a call that may sleep
    /// does, until every op before it is judged: it never runs past a divergence.</summary>
    public virtual bool TouchesMapping => false;

    /// <summary>Whether the call returns on a target whose history the oracle has followed so far (lockstep; the oracle has
    /// seen every earlier outcome): false where it could sleep for ever, and the step is then NOT RUN on both sides. Only
    /// ops that <see cref="MaySleep"/> ask; the rest always return.</summary>
    public virtual bool Returns(ReferenceModel oracle, Env oracleEnv) => true;

    /// <summary>The call as a C-like line, with symbolic handles.</summary>
    public abstract string Text { get; }

    /// <summary>What the outcome's R0..R2 mean for this op, for counterexamples.</summary>
    public virtual string Observed(in Outcome o) => o.Errno == Errno.OK ? "0"
        : ReadOnlyArg ? $"-1 {o.Errno}, {o.R0} new fd(s) left open"
        : FdTableFull ? (o.R0 < 0 ? $"-1 {o.Errno} (live dma-bufs not counted: bufinfo unreadable)" : $"-1 {o.Errno}, {o.R0} dma-buf(s) left without an fd")
        : $"-1 {o.Errno}";

    /// <summary>Simpler variants of this op, for shrinking (same Id, smaller or more canonical arguments).</summary>
    public virtual IEnumerable<Op> Simplify() => [];

    /// <summary>Double dispatch for what is written per op outside this file (the C reproducer): adding an op makes the compiler name each visitor.</summary>
    public abstract T Accept<T>(IOpVisitor<T> v);

    public Outcome Run(IBufferTarget t, Env env)
    {
        // (the model is the one target that does something here: asked by type, a compare, rather than by an interface call,
        // whose call site, serving the kernel on one thread and the model on the oracle's, went through the runtime's slowest
        // stub on both)
        if (t is Conformance.Adapters.Model.ReferenceModel model) model.BeginOp(Id);
        else t.BeginOp(Id);
        // handles are looked up in the op's own process: one of another process names nothing here (its number may name
        // another file of this one), so an op given one is not run
        int was = env.Current;
        if (Process != was) env.Current = Process;
        try
        {
            Outcome o;
            if (ReadOnlyArg)
            {
                t.BeginReadOnlyArg(CopiedBackOnFailure);
                Outcome call;
                // the target's set-up is undone whatever the call does (the read-only flag): the harness itself makes calls after it
                try { call = Call(t, env); }
                catch { t.EndReadOnlyArg(Outcome.NotRun); throw; }
                o = t.EndReadOnlyArg(call);
            }
            else if (FdTableFull) o = CallWithFdTableFull(t, env);
            else o = Process == 0 || this is not ProcessOp p ? Call(t, env) : p.CallIn(t.Process(Process), env);
            if (o.Errno == Errno.OK)
            {
                var shape = ShapeOf;
                if ((shape & Shape.Creates) != 0) env.Bind(Id, o.Handle, CreatesIn, (shape & Shape.MakesMapping) != 0);
                if ((shape & Shape.ConsumesSome) != 0) env.Kill(Consumes);
                Succeeded(env, t);
            }
            return o;
        }
        finally { if (env.Current != was) env.Current = was; }
    }

    /// <summary>What a success changes in the harness's own bookkeeping of this target (beyond the handle it creates or consumes).</summary>
    protected virtual void Succeeded(Env env) { }
    /// <summary>As <see cref="Succeeded(Env)"/>, for an op whose bookkeeping asks the target (a fork: the child's handles).</summary>
    protected virtual void Succeeded(Env env, IBufferTarget t) => Succeeded(env);

    /// <summary>All symbolic handles this op reads.</summary>
    public IEnumerable<Var> Uses
    {
        get
        {
            // compiled getters, not reflection: generation and shrinking ask this of most ops they make
            foreach (var get in VarGetters(GetType())) { var v = get(this); if (v.Id > 0) yield return v; }
            foreach (var v in ExtraUses) if (v.Id > 0) yield return v;
        }
    }
    protected virtual IEnumerable<Var> ExtraUses => [];

    /// <summary>A copy with every handle passed through f (used when shrinking inlines a dup).</summary>
    public virtual Op MapVars(Func<Var, Var> f)
    {
        var copy = (Op)MemberwiseClone();
        copy._shape = 0;   // (its handles may be others: it finds its own)
        foreach (var p in VarProps(GetType())) p.SetValue(copy, f((Var)p.GetValue(this)!));
        return copy;
    }

    /// <summary>A copy with its id and every handle it names moved by <paramref name="by"/> (Var.None and the bad fds, which
    /// are not positive, stay): how sequences run one after another are numbered apart (<see cref="OpSequence.Join"/>).</summary>
    public Op Renumbered(int by) => MapVars(v => v.Id > 0 ? new Var(v.Id + by) : v) with { Id = Id + by };

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, PropertyInfo[]> _varProps = new();
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, Func<Op, Var>[]> _varGetters = new();
    /// <summary>An op type's handle properties (its own settable <see cref="Var"/> properties), in declaration order.</summary>
    private static PropertyInfo[] VarProps(Type t) => _varProps.GetOrAdd(t, static t =>
        t.GetProperties().Where(p => p.PropertyType == typeof(Var) && p.CanWrite && p.DeclaringType != typeof(Op)).ToArray());
    /// <summary><see cref="VarProps"/>' getters, compiled once per op type.</summary>
    private static Func<Op, Var>[] VarGetters(Type t) => _varGetters.GetOrAdd(t, static t => VarProps(t).Select(p =>
    {
        var op = System.Linq.Expressions.Expression.Parameter(typeof(Op));
        return System.Linq.Expressions.Expression.Lambda<Func<Op, Var>>(
            System.Linq.Expressions.Expression.Property(System.Linq.Expressions.Expression.Convert(op, t), p), op).Compile();
    }).ToArray());

    protected static Outcome NotRun => Outcome.NotRun;
    public override string ToString() => Text;
}

/// <summary>One input of a described ioctl: a number (with its C spelling), a handle, or a string.</summary>
public readonly record struct IoctlArg(ulong Value = 0, Var Handle = default, string? Text = null, string? C = null)
{
    public static IoctlArg Number(ulong value, string? c = null) => new(value, C: c);
    public static IoctlArg Fd(Var handle) => new(Handle: handle);
    public static IoctlArg String(string text) => new(Text: text);
}

/// <summary>
/// An op that is one described ioctl (<see cref="IoctlSpec"/>) on one fd: the kernel adapter issues it and the C
/// reproducer prints it from the description alone, and the model answers with its [ModelOf] method, so a new op of
/// this kind is its record, its model semantics and its generator rule. Only results that create nothing.
/// </summary>
public abstract record IoctlOp : Op
{
    /// <summary>The fd the ioctl is issued on.</summary>
    public abstract Var On { get; }
    public abstract IoctlSpec Spec { get; }
    /// <summary>The inputs, in <see cref="IoctlSpec.In"/> order.</summary>
    public abstract IReadOnlyList<IoctlArg> Inputs { get; }

    public sealed override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);

    protected override Outcome Call(IBufferTarget t, Env env)
    {
        if (!env.Resolve(On, out var fd)) return NotRun;
        var inputs = Inputs;
        var values = new ulong[Spec.Arg == typeof(string) ? 0 : inputs.Count];
        for (int i = 0; i < values.Length; i++)
        {
            if (inputs[i].Handle.Id == 0) { values[i] = inputs[i].Value; continue; }
            if (!env.Resolve(inputs[i].Handle, out var h)) return NotRun;
            values[i] = (ulong)h;
        }
        return t.Ioctl(fd, new IoctlCall(Spec, values, inputs.Count > 0 ? inputs[0].Text : null));
    }

    /// <summary>R0..R2 named by the fields the description reads them from.</summary>
    public override string Observed(in Outcome o)
    {
        if (!o.Ok || Spec.Out.Count == 0) return base.Observed(o);
        var r = new[] { o.R0, o.R1, o.R2 };
        return string.Join(", ", Spec.Out.Select((x, k) => $"{x.Path} {r[k]}"));
    }
}

/// <summary>One method per op: whatever renders ops outside this file implements it, so a new op cannot be forgotten.
/// Ops that are a described ioctl (<see cref="IoctlOp"/>) share one method: they are rendered from their description.</summary>
public interface IOpVisitor<out T>
{
    T Visit(IoctlOp op);
    T Visit(Open op);
    T Visit(Close op);
    T Visit(Dup op);
    T Visit(FcntlGetFd op);
    T Visit(FcntlGetFl op);
    T Visit(Exec op);
    T Visit(PassFd op);
    T Visit(SendFd op);
    T Visit(ExitProcess op);
    T Visit(Fork op);
    T Visit(Llseek op);
    T Visit(UnknownIoctl op);
    T Visit(Mmap op);
    T Visit(MmapVideo op);
    T Visit(MmapAnon op);
    T Visit(Munmap op);
    T Visit(MremapGrow op);
    T Visit(WriteStamp op);
    T Visit(WriteFrame op);
    T Visit(ReadStamp op);
    T Visit(TransferStamp op);
    T Visit(DmaBufSync op);
    T Visit(DmaHeapAlloc op);
    T Visit(DrmDumbExport op);
    T Visit(MemfdCreate op);
    T Visit(HugetlbPool op);
    T Visit(UdmabufCreate op);
    T Visit(UdmabufCreateList op);
    T Visit(ReqBufs op);
    T Visit(CreateBufs op);
    T Visit(QueryBuf op);
    T Visit(ExpBuf op);
    T Visit(QBuf op);
    T Visit(DQBuf op);
    T Visit(DQBufBlocking op);
    T Visit(VideoRead op);
    T Visit(VideoWrite op);
    T Visit(StreamOn op);
    T Visit(StreamOff op);
    T Visit(EncoderCmd op);
    T Visit(DecoderCmd op);
    T Visit(EventWait op);
    T Visit(SubscribeEvent op);
    T Visit(DQEvent op);
    T Visit(RemoveBufs op);
    T Visit(RequestAlloc op);
    T Visit(RequestPoll op);
    T Visit(VideoPoll op);
    T Visit(SetFmt op);
    T Visit(DrmCreateDumb op);
    T Visit(PrimeHandleToFd op);
    T Visit(PrimeFdToHandle op);
    T Visit(GemClose op);
    T Visit(DrmMapDumb op);
    T Visit(SameInode op);
    T Visit(VgemFenceAttach op);
    T Visit(VgemFenceSignal op);
    T Visit(VgemFenceExpire op);
    T Visit(ExportSyncFile op);
    T Visit(ImportSyncFile op);
    T Visit(SyncMerge op);
    T Visit(SyncFileInfo op);
    T Visit(Poll op);
}

/// <summary>
/// An op that can run in any process of the sequence (<see cref="Op.Process"/>): its call is one of <see cref="IProcessCalls"/>,
/// made on the suite's own process or on a helper's, with handles of that process.
/// </summary>
public abstract record ProcessOp : Op
{
    public sealed override bool RunsInAnyProcess => true;
    /// <summary>The call, on the calls of the process the op runs in.</summary>
    protected internal abstract Outcome CallIn(IProcessCalls t, Env env);
    protected sealed override Outcome Call(IBufferTarget t, Env env) => CallIn(t, env);
}

// ------------------------------------------------------------------ fd table

public sealed record Open(
    [Derived("a device of the profile")] string Device,
    [Derived("fixed per device kind (video O_RDWR|O_NONBLOCK, DRM and udmabuf O_RDWR|O_CLOEXEC, heap O_RDONLY|O_CLOEXEC)")] int Flags) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => Class switch { DeviceClass.Video => "vb2", DeviceClass.Heap => "heap", DeviceClass.Drm => "dmabuf", _ => "udmabuf" };

    /// <summary>What kind of device <see cref="Device"/> names, by the prefix a profile names its devices with ("video",
    /// "heap:", "drm:"; any other is the udmabuf device), tested ordinally.</summary>
    public DeviceClass Class => Device.StartsWith("video", StringComparison.Ordinal) ? DeviceClass.Video
        : Device.StartsWith("heap", StringComparison.Ordinal) ? DeviceClass.Heap
        : Device.StartsWith("drm", StringComparison.Ordinal) ? DeviceClass.Drm : DeviceClass.Udmabuf;

    /// <summary>The kinds of device an <see cref="Open"/> names (<see cref="Class"/>).</summary>
    public enum DeviceClass { Video, Heap, Drm, Udmabuf }
    public override bool Creates => true;
    protected override Outcome Call(IBufferTarget t, Env env) => t.Open(Device, Flags);
    public override string Text => $"v{Id} = open(\"{Device}\", {OpenFlagNames(Flags)})";
}

public sealed record Close(Var Fd) : ProcessOp
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    public override Var Consumes => Fd;
    protected internal override Outcome CallIn(IProcessCalls t, Env env) => env.Resolve(Fd, out var fd) ? t.Close(fd) : NotRun;
    public override string Text => $"close({Fd})";
}

public sealed record Dup(Var Fd) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    public override bool Creates => true;
    public override Var AliasOf => Fd;
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.Dup(fd) : NotRun;
    public override string Text => $"v{Id} = dup({Fd})";
}

public sealed record FcntlGetFd(Var Fd) : ProcessOp
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    protected internal override Outcome CallIn(IProcessCalls t, Env env) => env.Resolve(Fd, out var fd) ? t.FcntlGetFd(fd) : NotRun;
    public override string Text => $"fcntl({Fd}, F_GETFD)";
    public override string Observed(in Outcome o) => o.Ok ? (o.R0 == FD_CLOEXEC ? "FD_CLOEXEC" : "0") : base.Observed(o);
}

/// <summary>
/// The fd sent over a UNIX socketpair with SCM_RIGHTS and received back (with MSG_CMSG_CLOEXEC when <see cref="Cloexec"/>):
/// a new fd for the same open file, observed as R0 = 1 when fstat finds the same device and inode (DMABUF-SCM-1).
/// </summary>
public sealed record PassFd(Var Fd, [DrawnFrom(nameof(Domains.RecvCloexec))] bool Cloexec) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    public override bool Creates => true;
    public override Var AliasOf => Fd;
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.PassFd(fd, Cloexec) : NotRun;
    public override string Text => $"v{Id} = recvmsg(SCM_RIGHTS{(Cloexec ? ", MSG_CMSG_CLOEXEC" : "")}) of sendmsg(SCM_RIGHTS, {Fd})";
    public override string Observed(in Outcome o) => o.Ok ? (o.R0 == 1 ? "the same file" : "another file") : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Cloexec) yield return this with { Cloexec = false }; }
}

/// <summary>
/// The fd sent by the op's process (<see cref="Op.Process"/>) to process <see cref="To"/> over the socket between them
/// (sendmsg, SCM_RIGHTS) and received there (recvmsg, with MSG_CMSG_CLOEXEC when <see cref="Cloexec"/>): a new fd in
/// <see cref="To"/> for the same file, observed as R0 = 1 when fstat finds the same device and inode (DMABUF-PROC-1).
/// </summary>
public sealed record SendFd(Var Fd, [Derived("the other process: 1 from the suite's own, 0 from the helper")] int To,
    [DrawnFrom(nameof(Domains.RecvCloexec))] bool Cloexec) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    public override bool Creates => true;
    public override bool RunsInAnyProcess => true;
    public override int CreatesIn => To;
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.SendFd(Process, fd, To, Cloexec) : NotRun;
    public override string Text => $"v{Id} = {Fd} sent to P{To} (sendmsg SCM_RIGHTS; recvmsg{(Cloexec ? " MSG_CMSG_CLOEXEC" : "")} there)";
    public override string Observed(in Outcome o) => o.Ok ? (o.R0 == 1 ? "the same file" : "another file") : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Cloexec) yield return this with { Cloexec = false }; }
}

/// <summary>
/// The op's process (a helper, <see cref="Op.Process"/> 1) calls _exit(0) holding what it holds, and the suite waits for it:
/// R0 = how many dma-bufs the exit released, by bufinfo's count (DMABUF-PROC-2); -1 where the target cannot count.
/// Afterwards none of its handles is live; a later op in that process runs in a new one.
/// </summary>
public sealed record ExitProcess : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    public override bool RunsInAnyProcess => true;
    protected override Outcome Call(IBufferTarget t, Env env) => Process == 0 ? NotRun : t.ExitProcess(Process);
    protected override void Succeeded(Env env) => env.KillProcess(Process);
    public override string Text => Process == 1 ? "_exit(0); the suite's waitpid returns" : "_exit(0); its pidfd polls readable (it is P1's child)";
    public override string Observed(in Outcome o) => o.Ok ? (o.R0 < 0 ? "exited (released dma-bufs not counted)" : $"exited; {o.R0} dma-buf(s) released") : base.Observed(o);
}

/// <summary>
/// The op's process (P1) calls fork(2): the child, process <see cref="To"/> (P2), holds a copy of each of P1's fds (the same
/// open files, FD_CLOEXEC kept) and of each of its mappings (MAP_SHARED: the same pages), each bound under the same symbolic
/// name in P2 (DMABUF-PROC-3). Nothing is observed of the call itself; what the copies do afterwards is.
/// </summary>
public sealed record Fork([Derived("the next process: 2")] int To) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    public override bool RunsInAnyProcess => true;
    protected override Outcome Call(IBufferTarget t, Env env) => Process == 0 || To <= Process ? NotRun : t.Fork(Process, To);
    protected override void Succeeded(Env env, IBufferTarget t) => env.Fork(Process, To, (h, mapping) => t.ForkedHandle(To, h, mapping));
    public override string Text => $"fork(): P{To}, a copy of P{Process}'s fds and mappings";
    public override string Observed(in Outcome o) => o.Ok ? "forked" : base.Observed(o);
}

/// <summary>
/// exec of a new program (posix_spawn; on a kernel the helper's exec-probe), asked from inside which of <see cref="Fds"/> it
/// holds and whether each is the same file (DMABUF-CLOEXEC-3: the fds with close-on-exec are gone, the rest are there). The generator hands it every
/// fd the sequence holds, at most 62; shrinking drops them one at a time down to the one that matters.
/// </summary>
public sealed record Exec([Derived("every fd the sequence holds, in the order they were made")] ImmutableArray<Var> Fds) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    protected override IEnumerable<Var> ExtraUses => Fds;
    protected override Outcome Call(IBufferTarget t, Env env)
    {
        var fds = new List<int>(Fds.Length);
        foreach (var v in Fds)
        {
            if (!env.Resolve(v, out var fd)) return NotRun;
            fds.Add(fd);
        }
        return t.Exec(fds);
    }
    public override Op MapVars(Func<Var, Var> f) => this with { Fds = [.. Fds.Select(f)] };
    public override string Text => $"exec() of a new program, asked which of {{{string.Join(", ", Fds)}}} it holds";
    public override string Observed(in Outcome o)
    {
        if (!o.Ok) return base.Observed(o);
        // per fd in the order asked (the text names them; an observation outlives the renumbering of handles)
        long open = o.R0, same = o.R1;
        string Each(long m) => string.Join(", ", Fds.Select((_, i) => (m >> i & 1) != 0 ? "yes" : "no"));
        return $"holds: {Each(open)}" + (same == open ? "" : $"; the same file: {Each(same)}");
    }
    public override IEnumerable<Op> Simplify()
    {
        for (int i = 0; i < Fds.Length && Fds.Length > 1; i++) yield return this with { Fds = Fds.RemoveAt(i) };
    }
}

public sealed record FcntlGetFl(Var Fd) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.FcntlGetFl(fd) : NotRun;
    public override string Text => $"fcntl({Fd}, F_GETFL) & O_ACCMODE";
    public override string Observed(in Outcome o) => o.Ok ? OpenFlagNames((int)o.R0) : base.Observed(o);
}

public sealed record Llseek(Var Fd, [DrawnFrom(nameof(Domains.LlseekOffset))] long Offset, [DrawnFrom(nameof(Domains.LlseekWhence))] int Whence) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.Llseek(fd, Offset, Whence) : NotRun;
    public override string Text => $"lseek({Fd}, {Offset}, {WhenceName(Whence)})";
    public override string Observed(in Outcome o) => o.Ok ? o.R0.ToString() : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Offset != 0) yield return this with { Offset = 0 }; }
}

public sealed record UnknownIoctl(Var Fd) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.UnknownIoctl(fd) : NotRun;
    public override string Text => $"ioctl({Fd}, _IO('b', 0x7f))";
}

// ------------------------------------------------------------------ mappings

public sealed record Mmap(
    Var Fd,
    [DrawnFrom(nameof(Domains.MmapPage))] long PgOff,
    [DrawnFrom(nameof(Domains.MmapLength))] long Length,
    [Derived("from the access mode of the fd mapped (sometimes the other)")] int Prot,
    [Derived("MAP_SHARED; a udmabuf sometimes MAP_PRIVATE")] int Flags) : ProcessOp
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    public override bool Creates => true;
    public override Resource Makes => Resource.Mapping;
    protected internal override Outcome CallIn(IProcessCalls t, Env env) => env.Resolve(Fd, out var fd) ? t.Mmap(fd, PgOff, Length, Prot, Flags) : NotRun;
    public override string Text => $"v{Id} = mmap(NULL, {Length}, {ProtNames(Prot)}, {(Flags == MAP_SHARED ? "MAP_SHARED" : "MAP_PRIVATE")}, {Fd}, {PgOff}*PAGE_SIZE)";
    public override string Observed(in Outcome o) => o.Ok ? "mapped" : $"MAP_FAILED {o.Errno}";
    public static string ProtNames(int p) => p switch { PROT_READ => "PROT_READ", PROT_WRITE => "PROT_WRITE", PROT_READ | PROT_WRITE => "PROT_READ|PROT_WRITE", _ => "PROT_NONE" };
}

public sealed record MmapVideo(
    Var Fd,
    [Derived("the queue's own type (on a mem2mem node, the type of either queue, drawn from M2mBufType)")] uint Type,
    [DrawnFrom(nameof(Domains.BufIndex))] uint Index,
    [DrawnFrom(nameof(Domains.MmapVideoPlane)), DrawnFrom(nameof(Domains.MmapVideoMplanePlane))] uint Plane,
    [DrawnFrom(nameof(Domains.MmapVideoLength))] long Length,
    [DrawnFrom(nameof(Domains.MmapVideoProt))] int Prot,
    [DrawnFrom(nameof(Domains.MmapVideoFlags))] int Flags) : ProcessOp
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    public override bool Creates => true;
    public override Resource Makes => Resource.Mapping;
    protected internal override Outcome CallIn(IProcessCalls t, Env env) => env.Resolve(Fd, out var fd) ? t.MmapVideo(fd, Type, Index, Plane, Length, Prot, Flags) : NotRun;
    public override string Text => $"v{Id} = mmap(NULL, {Length}, {Mmap.ProtNames(Prot)}, {(Flags == MAP_SHARED ? "MAP_SHARED" : "MAP_PRIVATE")}, {Fd}, mem_offset(index {Index}, plane {Plane}))";
    public override string Observed(in Outcome o) => o.Ok ? "mapped" : $"MAP_FAILED {o.Errno}";
}

public sealed record MmapAnon([Derived("a frame plus a page, rounded up (covers CREATE_BUFS' largest size delta)")] long Length) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    public override bool Creates => true;
    public override Resource Makes => Resource.Mapping;
    protected override Outcome Call(IBufferTarget t, Env env) => t.MmapAnon(Length);
    public override string Text => $"v{Id} = mmap(NULL, {Length}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)";
}

public sealed record Munmap(Var Map) : ProcessOp
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    public override Var Consumes => Map;
    protected internal override Outcome CallIn(IProcessCalls t, Env env) => env.Resolve(Map, out var m) ? t.Munmap(m) : NotRun;
    public override string Text => $"munmap({Map})";
}

/// <summary>
/// mremap(2) of a dma-buf mapping to <see cref="NewLength"/> bytes, <see cref="PagesPastEnd"/> pages past the end of its
/// buffer, which lies <see cref="End"/> bytes into the mapping (DMABUF-MMAP-6): refused with EFAULT, or grown with nothing
/// readable past the end (R0 = 0); the mapping is shrunk back after a growth, so it is unchanged for the steps after it.
/// Only in the suite's own process.
/// </summary>
public sealed record MremapGrow(
    Var Map,
    [DrawnFrom(nameof(Domains.MremapPastEnd))] long PagesPastEnd,
    [Derived("the buffer's size (the mapping is of the buffer from its start)")] long End) : Op
{
    /// <summary>The length the mapping is grown to, in bytes.</summary>
    public long NewLength => End + PagesPastEnd * PAGE_SIZE;
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Map, out var m) ? t.MremapGrow(m, NewLength, End) : NotRun;
    public override string Text => $"p = mremap({Map}, len, {NewLength}, MREMAP_MAYMOVE); write(pipe, p + {End}, 8); mremap(p, {NewLength}, len, 0)";
    public override string Observed(in Outcome o) => o.Ok ? (o.R0 != 0 ? "grown; the 8 bytes past the buffer's end read" : "grown; the bytes past the buffer's end unreadable (EFAULT)") : $"-1 {o.Errno}";
    public override IEnumerable<Op> Simplify() { if (PagesPastEnd > 1) yield return this with { PagesPastEnd = 1 }; }
}

public sealed record WriteStamp(
    Var Map,
    [Derived("a word within the mapping (the harness's own access, not a uapi argument)")] long Offset,
    [Derived("a random odd word")] ulong Value) : ProcessOp
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override bool TouchesMapping => true;
    public override string Area => "dmabuf";
    protected internal override Outcome CallIn(IProcessCalls t, Env env) => env.Resolve(Map, out var m) ? t.WriteStamp(m, Offset, Value) : NotRun;
    public override string Text => $"*(u64 *)({Map} + {Offset}) = 0x{Value:x}";
    public override IEnumerable<Op> Simplify() { if (Offset != 0) yield return this with { Offset = 0 }; }
}

/// <summary>
/// Writes one coded frame of the stream resolution <see cref="Res"/> (an index into <see cref="Bitstream.Resolutions"/>) at the
/// start of a mapping, as an application fills a stateful decoder's OUTPUT buffer (dev-decoder.rst, Decoding: "The content of
/// the source OUTPUT buffers depends on the active coded pixel format"): the bytes <see cref="Bitstream.WriteFrame"/> gives.
/// R0 = the frame's length in bytes, which the QBUF that queues it passes as bytesused. Not run where the mapping is not
/// writable or too short.
/// </summary>
public sealed record WriteFrame(Var Map, [DrawnFrom(nameof(Domains.StreamResolution))] int Res) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override bool TouchesMapping => true;
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Map, out var m) ? t.WriteFrame(m, Res) : NotRun;
    public override string Text => $"write_fwht_frame({Map}, {Bitstream.Resolutions[Res].Width}, {Bitstream.Resolutions[Res].Height})";
    public override string Observed(in Outcome o) => o.Ok ? $"{o.R0} bytes" : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Res != 0) yield return this with { Res = 0 }; }
}

public sealed record ReadStamp(Var Map, [Derived("a word within the mapping")] long Offset) : ProcessOp
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override bool TouchesMapping => true;
    public override string Area => "dmabuf";
    protected internal override Outcome CallIn(IProcessCalls t, Env env) => env.Resolve(Map, out var m) ? t.ReadStamp(m, Offset) : NotRun;
    public override string Text => $"*(u64 *)({Map} + {Offset})";
    public override string Observed(in Outcome o) => o.Ok ? $"0x{(ulong)o.R0:x}" : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Offset != 0) yield return this with { Offset = 0 }; }
}

/// <summary>Writes a word through one mapping and reads the same buffer byte through another. R0 = read value, R1 = written value.</summary>
/// <remarks>The aliasing property's op: model-free, the target's own write is the expectation.</remarks>
public sealed record TransferStamp(
    Var From,
    [Derived("the aliasing property's scenario")] long FromOffset,
    Var To,
    [Derived("the aliasing property's scenario")] long ToOffset,
    [Derived("the aliasing property's scenario")] ulong Value,
    [Derived("the aliasing property's scenario")] string Invariant) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override bool TouchesMapping => true;
    public override string Area => "dmabuf";
    protected override Outcome Call(IBufferTarget t, Env env)
    {
        if (!env.Resolve(From, out var a) || !env.Resolve(To, out var b)) return NotRun;
        var w = t.WriteStamp(a, FromOffset, Value);
        if (!w.Ok) return w;
        var r = t.ReadStamp(b, ToOffset);
        return r.Ok ? Outcome.Success(r.R0, (long)Value) : r;
    }
    public override string Text => $"*(u64 *)({From} + {FromOffset}) = 0x{Value:x}; read *(u64 *)({To} + {ToOffset})";
    public override string Observed(in Outcome o) => o.Ok ? $"0x{(ulong)o.R0:x}" : base.Observed(o);
}

// ------------------------------------------------------------------ dma-buf ioctls

public sealed record DmaBufSync(Var Fd, [DrawnFrom(nameof(Domains.SyncFlags))] ulong Flags) : ProcessOp
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    protected internal override Outcome CallIn(IProcessCalls t, Env env) => env.Resolve(Fd, out var fd) ? t.DmaBufSync(fd, Flags) : NotRun;
    public override string Text => $"ioctl({Fd}, DMA_BUF_IOCTL_SYNC, {{.flags = {SyncFlagNames(Flags)}}})";
}

/// <summary>DMA_BUF_SET_NAME under one of its request numbers: the argument is the name itself, a NUL-terminated string of
/// <see cref="Length"/> bytes before the NUL (include/uapi/linux/dma-buf.h, DMA_BUF_NAME_LEN).</summary>
public abstract record DmaBufNameOp(Var Fd, int Length) : IoctlOp
{
    public override Var On => Fd;
    public override IReadOnlyList<IoctlArg> Inputs => [IoctlArg.String(new string('n', Length))];
    public override string Area => "dmabuf";
    public override string Text => $"ioctl({Fd}, {Spec.Request}, \"<{Length} bytes>\")";
}

/// <summary>DMA_BUF_SET_NAME = _IOW('b', 1, const char *): names the dma-buf.</summary>
public sealed record DmaBufSetName(Var Fd, [DrawnFrom(nameof(Domains.NameLength))] int Length) : DmaBufNameOp(Fd, Length)
{
    public static readonly IoctlSpec Request = new("DMA_BUF_SET_NAME", typeof(string), "name", IoctlResult.Status, [""], header: "linux/dma-buf.h");
    public override IoctlSpec Spec => Request;
}

/// <summary>
/// DMA_BUF_SET_NAME under its other request number, DMA_BUF_SET_NAME_A = _IOW('b', 1, __u32). The uapi header keeps
/// three numbers for the one request ("32/64bitness of this uapi was botched in android ... they're just different
/// numbers", include/uapi/linux/dma-buf.h) and dma_buf_ioctl takes _A and _B alike. On a 64-bit kernel DMA_BUF_SET_NAME
/// is _B, so _A, the number 32-bit callers send, is the one that needs its own op: every DMABUF-NAME rule holds for it.
/// </summary>
public sealed record DmaBufSetNameA(Var Fd, [DrawnFrom(nameof(Domains.NameLength))] int Length) : DmaBufNameOp(Fd, Length)
{
    public static readonly IoctlSpec Request = new("DMA_BUF_SET_NAME_A", typeof(string), "name", IoctlResult.Status, [""],
        code: Conformance.Adapters.Interop.Ioc.IOW<uint>('b', 1), header: "linux/dma-buf.h");
    public override IoctlSpec Spec => Request;
}

// ------------------------------------------------------------------ dma-heap

public sealed record DmaHeapAlloc(
    Var Heap,
    [DrawnFrom(nameof(Domains.HeapLen))] ulong Len,
    [DrawnFrom(nameof(Domains.HeapFdFlags))] uint FdFlags,
    [DrawnFrom(nameof(Domains.HeapFlags))] ulong HeapFlags,
    [DrawnFrom(nameof(Domains.HeapFdIn))] uint FdIn,
    [DrawnFrom(nameof(Domains.HeapAbiForm))] HeapAbi Abi) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "heap";
    public override bool Creates => true;
    public override bool CopiesOutFd => true;
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Heap, out var h) ? t.DmaHeapAlloc(h, Len, FdFlags, HeapFlags, FdIn, Abi) : NotRun;
    public override string Text => $"v{Id} = ioctl({Heap}, DMA_HEAP_IOCTL_ALLOC{(Abi == HeapAbi.Current ? "" : Abi == HeapAbi.Short ? " (16-byte struct)" : " (32-byte struct)")}, {{.len = {Len}, .fd = {FdIn}, .fd_flags = {OpenFlagNames((int)FdFlags)}, .heap_flags = {HeapFlags}}})";
    public override IEnumerable<Op> Simplify()
    {
        if (Abi != HeapAbi.Current) yield return this with { Abi = HeapAbi.Current };
        if (Len > PAGE_SIZE) yield return this with { Len = PAGE_SIZE };
    }
}

// ------------------------------------------------------------------ memfd / udmabuf

public sealed record DrmDumbExport(
    Var Drm,
    [DrawnFrom(nameof(Domains.DumbWidth))] uint Width,
    [DrawnFrom(nameof(Domains.DumbHeight)), DrawnFrom(nameof(Domains.DumbFrameHeight))] uint Height,
    [DrawnFrom(nameof(Domains.DumbBpp))] uint Bpp,
    [DrawnFrom(nameof(Domains.DumbExportFlags))] uint Flags) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "dmabuf";
    public override bool Creates => true;
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Drm, out var fd) ? t.DrmDumbExport(fd, Width, Height, Bpp, Flags) : NotRun;
    public override string Text => $"v{Id} = ioctl({Drm}, DRM_IOCTL_PRIME_HANDLE_TO_FD, {{.handle = DRM_IOCTL_MODE_CREATE_DUMB({Width}x{Height}, bpp {Bpp}), .flags = {PrimeFlagNames(Flags)}}}).fd; DRM_IOCTL_GEM_CLOSE(handle)";
    public override string Observed(in Outcome o) => o.Ok ? $"0, size = {o.R0}" : base.Observed(o);
    public override IEnumerable<Op> Simplify()
    {
        if (Flags != (DRM_CLOEXEC | DRM_RDWR)) yield return this with { Flags = DRM_CLOEXEC | DRM_RDWR };
        if (Width != 64 || Height != 64 || Bpp != 32) yield return this with { Width = 64, Height = 64, Bpp = 32 };
    }
}

/// <summary>A memfd of Size bytes with Seals added: shmem, or with Hugetlb a hugetlbfs file of the default huge page size
/// (MFD_HUGETLB; Size then whole huge pages, drawn apart from the rest: <see cref="Domains.MemfdHugetlb"/>).</summary>
public sealed record MemfdCreate(
    [DrawnFrom(nameof(Domains.MemfdSize)), DrawnFrom(nameof(Domains.MemfdHugeSize))] long Size,
    [DrawnFrom(nameof(Domains.MemfdAllowSealing))] bool AllowSealing,
    [DrawnFrom(nameof(Domains.MemfdSeals))] int Seals,
    [DrawnFrom(nameof(Domains.MemfdHugetlb))] bool Hugetlb = false) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "udmabuf";
    public override bool Creates => true;
    protected override Outcome Call(IBufferTarget t, Env env) => t.MemfdCreate(Size, AllowSealing, Seals, Hugetlb);
    public override string Text => $"v{Id} = memfd_create(\"t\", {FlagNames(AllowSealing, Hugetlb)}); ftruncate(v{Id}, {Size}); fcntl(v{Id}, F_ADD_SEALS, {SealNames(Seals)})";
    /// <summary>memfd_create's flags as C.</summary>
    public static string FlagNames(bool allowSealing, bool hugetlb) =>
        (allowSealing, hugetlb) switch { (true, true) => "MFD_ALLOW_SEALING|MFD_HUGETLB", (true, false) => "MFD_ALLOW_SEALING", (false, true) => "MFD_HUGETLB", _ => "0" };
    public override IEnumerable<Op> Simplify()
    {
        if (Hugetlb) yield return this with { Hugetlb = false };
    }
}

/// <summary>
/// Reads the hugetlb pool's counters (/proc/meminfo): R0 = huge pages taken from the pool since the sequence began
/// (HugePages_Free then, less now), R1 = reservations made since (HugePages_Rsvd now, less then; a counter that wrapped
/// past 0 reads as a negative number). UDMABUF-HUGE-2; Documentation/admin-guide/mm/hugetlbpage.rst.
/// </summary>
public sealed record HugetlbPool : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "udmabuf";
    protected override Outcome Call(IBufferTarget t, Env env) => t.HugetlbPool();
    public override string Text => "read /proc/meminfo: HugePages_Free, HugePages_Rsvd";
    public override string Observed(in Outcome o) => o.Ok ? $"{o.R0} huge page(s) taken from the pool, {(o.R1 >= 0 ? "+" : "")}{o.R1} reserved since the start" : base.Observed(o);
}

public sealed record UdmabufCreate(
    Var Dev,
    Var Memfd,
    [DrawnFrom(nameof(Domains.UdmabufRange)), DrawnFrom(nameof(Domains.UdmabufLimits))] long Offset,
    [DrawnFrom(nameof(Domains.UdmabufRange)), DrawnFrom(nameof(Domains.UdmabufLimits))] long Size,
    [DrawnFrom(nameof(Domains.UdmabufFlags))] uint Flags) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "udmabuf";
    public override bool Creates => true;
    public override bool InstallsFd => true;
    protected override Outcome Call(IBufferTarget t, Env env) =>
        env.Resolve(Dev, out var d) && env.Resolve(Memfd, out var m) ? t.UdmabufCreate(d, m, Offset, Size, Flags) : NotRun;
    public override string Text => $"v{Id} = ioctl({Dev}, UDMABUF_CREATE, {{.memfd = {Memfd}, .flags = {(Flags == UDMABUF_FLAGS_CLOEXEC ? "UDMABUF_FLAGS_CLOEXEC" : $"0x{Flags:x}")}, .offset = {U64(Offset)}, .size = {U64(Size)}}})";
    /// <summary>A __u64 field as the kernel reads it (a negative long is a value near 2^64).</summary>
    internal static string U64(long v) => v >= 0 ? $"{v}" : $"0x{(ulong)v:x}";
    /// <summary>An undefined flag bit (ignored, UDMABUF-FLAGS-1) is left out of a counterexample where it plays no part.</summary>
    public override IEnumerable<Op> Simplify()
    {
        if (Flags != UDMABUF_FLAGS_CLOEXEC) yield return this with { Flags = UDMABUF_FLAGS_CLOEXEC };
    }
}

public readonly record struct ListItem(Var Memfd, long Offset, long Size);

/// <summary>UDMABUF_CREATE_LIST of Items; with Count (not 0) the header's count is Count, and the list in memory is the items
/// repeated to Count where that is at most <see cref="Materialized"/>, the items alone past it (UDMABUF-LIST-4).</summary>
public sealed record UdmabufCreateList(
    Var Dev,
    [DrawnFrom(nameof(Domains.UdmabufListFlags))] uint Flags,
    [DrawnFrom(nameof(Domains.UdmabufRange))] [DrawnFrom(nameof(Domains.UdmabufListCount))] ImmutableArray<ListItem> Items,
    [DrawnFrom(nameof(Domains.UdmabufListLimits))] uint Count = 0) : Op
{
    /// <summary>The most items a list holds in memory (a count past it is sent with the drawn items alone).</summary>
    public const uint Materialized = 1 << 16;

    /// <summary>The items in memory: Items, or Items repeated to Count where Count is at most <see cref="Materialized"/>.</summary>
    public IEnumerable<ListItem> Sent => SentCount == Items.Length ? Items : Enumerable.Range(0, SentCount).Select(SentAt);
    /// <summary>The sizes of the items <see cref="Sent"/> holds, summed, in bytes: the dma-buf's size where the call succeeds
    /// (by index, in a loop: the generator asks at each list it makes, whose items it repeats up to the count).</summary>
    public long SentSize
    {
        get
        {
            long sum = 0;
            for (int i = 0, n = SentCount; i < n; i++) sum = checked(sum + SentAt(i).Size);
            return sum;
        }
    }
    /// <summary>How many items <see cref="Sent"/> holds (the i-th is <see cref="SentAt"/>).</summary>
    private int SentCount => Count == 0 || Count > Materialized || Items.Length == 0 ? Items.Length : (int)Count;
    /// <summary>Item <paramref name="i"/> of <see cref="Sent"/> (below <see cref="SentCount"/>): the drawn items repeated.</summary>
    private ListItem SentAt(int i) => Items[i % Items.Length];
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "udmabuf";
    public override bool Creates => true;
    public override bool InstallsFd => true;
    protected override IEnumerable<Var> ExtraUses => Items.Select(i => i.Memfd);
    protected override Outcome Call(IBufferTarget t, Env env)
    {
        // a count of its own needs items to repeat (the harness never sends a count past the items it holds but far past
        // the limit, where the list must not be read)
        if (!env.Resolve(Dev, out var d) || Count != 0 && Items.Length == 0) return NotRun;
        // (Sent by index, without a list of them first)
        int n = SentCount;
        var items = new UdmabufItem[n];
        for (int i = 0; i < n; i++)
        {
            var item = SentAt(i);
            if (!env.Resolve(item.Memfd, out var m)) return NotRun;
            items[i] = new UdmabufItem(m, item.Offset, item.Size);
        }
        return t.UdmabufCreateList(d, Flags, items, Count != 0 && Count != items.Length ? Count : 0);
    }
    public override Op MapVars(Func<Var, Var> f) =>
        this with { Dev = f(Dev), Items = Items.Select(i => i with { Memfd = f(i.Memfd) }).ToImmutableArray() };
    public override string Text => $"v{Id} = ioctl({Dev}, UDMABUF_CREATE_LIST, {{.flags = 0x{Flags:x}, .count = {(Count != 0 ? Count : Items.Length)}, .list = {{{string.Join(", ", Items.Select(i => $"{{{i.Memfd}, {UdmabufCreate.U64(i.Offset)}, {UdmabufCreate.U64(i.Size)}}}"))}}}{ListTail}}})";
    /// <summary>What follows the drawn items in the list, where Count is not their number.</summary>
    private string ListTail => Count == 0 || Count == Items.Length ? "" : Count <= Materialized ? " repeated" : " only";
    public override IEnumerable<Op> Simplify()
    {
        if (Count != 0) yield return this with { Count = 0 };
        for (int i = 0; i < Items.Length && Items.Length > 1; i++) yield return this with { Items = Items.RemoveAt(i) };
    }
}

// ------------------------------------------------------------------ V4L2

public sealed record ReqBufs(
    Var Fd,
    [DrawnFrom(nameof(Domains.BufType)), DrawnFrom(nameof(Domains.M2mBufType))] uint Type,
    [DrawnFrom(nameof(Domains.Memory))] uint Memory,
    [DrawnFrom(nameof(Domains.ReqBufsCount))] uint Count) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.ReqBufs(fd, Type, Memory, Count) : NotRun;
    public override string Text => $"ioctl({Fd}, VIDIOC_REQBUFS, {{.count = {Count}, .type = {BufTypeName(Type)}, .memory = {MemoryName(Memory)}}})";
    public override string Observed(in Outcome o) => o.Ok ? $"0, count = {o.R0}, capabilities = {CapNames((uint)o.R1)}" : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Count > 1) yield return this with { Count = 1 }; }
}

public sealed record CreateBufs(
    Var Fd,
    [DrawnFrom(nameof(Domains.BufType)), DrawnFrom(nameof(Domains.M2mBufType))] uint Type,
    [DrawnFrom(nameof(Domains.Memory))] uint Memory,
    [DrawnFrom(nameof(Domains.CreateBufsCount))] uint Count,
    [DrawnFrom(nameof(Domains.CreateBufsSizeDelta))] long SizeDelta,
    [DrawnFrom(nameof(Domains.CreateBufsLayout))] PlaneLayout Layout = PlaneLayout.Format) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.CreateBufs(fd, Type, Memory, Count, SizeDelta, Layout) : NotRun;
    public override string Text => $"ioctl({Fd}, VIDIOC_CREATE_BUFS, {{.count = {Count}, .memory = {MemoryName(Memory)}, .format = G_FMT({BufTypeName(Type)}) with " +
        $"{(IsMultiPlanar(Type) ? "each plane's " : "")}sizeimage{(SizeDelta >= 0 ? "+" : "")}{SizeDelta}{LayoutText(Layout)}}})";
    public override string Observed(in Outcome o) => o.Ok ? $"0, index = {o.R0}, count = {o.R1}, capabilities = {CapNames((uint)o.R2)}" : base.Observed(o);
    public override IEnumerable<Op> Simplify()
    {
        if (Count > 1) yield return this with { Count = 1 };
        if (SizeDelta > 0) yield return this with { SizeDelta = 0 };
    }
    internal static string LayoutText(PlaneLayout l) => l switch
    {
        PlaneLayout.FewerPlanes => ", num_planes - 1",
        PlaneLayout.MorePlanes => ", num_planes + 1",
        PlaneLayout.LastPlaneZero => ", the last plane's sizeimage 0",
        _ => "",
    };
}

/// <summary>VIDIOC_QUERYBUF of one buffer; on a multi-planar queue <see cref="Plane"/> says whose m.planes[].length to report.</summary>
public sealed record QueryBuf(
    Var Fd,
    [DrawnFrom(nameof(Domains.BufType)), DrawnFrom(nameof(Domains.M2mBufType))] uint Type,
    [DrawnFrom(nameof(Domains.BufIndex))] uint Index,
    [DrawnFrom(nameof(Domains.QueryBufPlane))] uint Plane = 0) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.QueryBuf(fd, Type, Index, Plane) : NotRun;
    public override string Text => $"ioctl({Fd}, VIDIOC_QUERYBUF, {{.index = {Index}, .type = {BufTypeName(Type)}{(IsMultiPlanar(Type) ? ", .m.planes = planes[VIDEO_MAX_PLANES], .length = VIDEO_MAX_PLANES" : "")}}})";
    public override string Observed(in Outcome o) => !o.Ok ? base.Observed(o)
        : $"0, {(IsMultiPlanar(Type) ? o.R0 < 0 ? $"length (planes) <= {Plane}" : $"m.planes[{Plane}].length = {o.R0}" : $"length = {o.R0}")}, flags = {BufFlags((uint)o.R1)}, memory = {MemoryName((uint)o.R2)}";
    public override IEnumerable<Op> Simplify() { if (Plane > 0) yield return this with { Plane = 0 }; }
    internal static string BufFlags(uint f)
    {
        var n = new List<string>();
        if ((f & V4L2_BUF_FLAG_MAPPED) != 0) n.Add("MAPPED");
        if ((f & V4L2_BUF_FLAG_QUEUED) != 0) n.Add("QUEUED");
        if ((f & V4L2_BUF_FLAG_DONE) != 0) n.Add("DONE");
        if ((f & V4L2_BUF_FLAG_PREPARED) != 0) n.Add("PREPARED");
        if ((f & V4L2_BUF_FLAG_IN_REQUEST) != 0) n.Add("IN_REQUEST");
        return n.Count == 0 ? "0" : string.Join("|", n);
    }
}

public sealed record ExpBuf(
    Var Fd,
    [DrawnFrom(nameof(Domains.BufType)), DrawnFrom(nameof(Domains.M2mBufType))] uint Type,
    [DrawnFrom(nameof(Domains.BufIndex))] uint Index,
    [DrawnFrom(nameof(Domains.ExpBufPlane)), DrawnFrom(nameof(Domains.ExpBufMplanePlane))] uint Plane,
    [DrawnFrom(nameof(Domains.ExpBufFlags))] uint Flags) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    public override bool Creates => true;
    public override bool CopiesOutFd => true;
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.ExpBuf(fd, Type, Index, Plane, Flags) : NotRun;
    public override string Text => $"v{Id} = ioctl({Fd}, VIDIOC_EXPBUF, {{.type = {BufTypeName(Type)}, .index = {Index}, .plane = {Plane}, .flags = {OpenFlagNames((int)Flags)}}}).fd";
}

/// <summary>
/// VIDIOC_QBUF of one buffer. <see cref="Mem"/> is plane 0's memory (the dma-buf fd for DMABUF, the mapping for USERPTR,
/// nothing for MMAP) and <see cref="MorePlanes"/> the memory of planes 1 and up on a multi-planar queue (empty otherwise).
/// </summary>
public sealed record QBuf(
    Var Fd,
    [DrawnFrom(nameof(Domains.BufType)), DrawnFrom(nameof(Domains.M2mBufType))] uint Type,
    [DrawnFrom(nameof(Domains.BufIndex))] uint Index,
    [DrawnFrom(nameof(Domains.Memory))] uint Memory,
    Var Mem,
    [Derived("one handle per further plane of a multi-planar queue, each picked like Mem for its plane's size")] ImmutableArray<Var> MorePlanes = default,
    [DrawnFrom(nameof(Domains.QBufRequest))] bool Prepare = false,
    [DrawnFrom(nameof(Domains.QBufInRequest))] Var Req = default,
    [Derived("on a decoder's OUTPUT queue, the length of the frame WriteFrame put in the buffer (its R0); for a USERPTR mapping shorter than a frame on an output queue, the mapping's length (so the length check is what refuses it); 0 elsewhere: the format's sizeimage")] long BytesUsed = 0,
    [DrawnFrom(nameof(Domains.QBufPlaneFields))] PlaneFields Fields = PlaneFields.Format) : Op
{
    /// <summary>The payload fields the call passes: <see cref="Fields"/> where they apply (a DMABUF buffer of an output queue,
    /// not into a request, with no frame length of its own; the offsets and the payload past the plane on a multi-planar
    /// queue only), <see cref="PlaneFields.Format"/> elsewhere.</summary>
    public PlaneFields EffectiveFields =>
        Fields == PlaneFields.Format || Memory != V4L2_MEMORY_DMABUF || !IsOutputType(Type) || InRequest || BytesUsed > 0 ? PlaneFields.Format
        : Fields == PlaneFields.PayloadLength || IsMultiPlanar(Type) ? Fields : PlaneFields.Format;
    /// <summary>The buffer goes into a request (V4L2_BUF_FLAG_REQUEST_FD with <see cref="Req"/> as request_fd) instead of the queue.
    /// Its DMABUF fds or USERPTR addresses are stored, not taken: vb2 takes them when the request is queued (VB2-REQ-9).</summary>
    public bool InRequest => Req.Id != 0;
    /// <summary>The request: VIDIOC_PREPARE_BUF when <see cref="Prepare"/> (the same argument; the buffer is made ready, not queued).</summary>
    public string Request => Prepare ? "VIDIOC_PREPARE_BUF" : "VIDIOC_QBUF";
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    /// <summary>Each plane's memory in plane order (one entry on a single-planar queue).</summary>
    public IEnumerable<Var> PlaneMem => MorePlanes.IsDefaultOrEmpty ? [Mem] : MorePlanes.Prepend(Mem);
    protected override IEnumerable<Var> ExtraUses => MorePlanes.IsDefaultOrEmpty ? [] : MorePlanes;
    protected override Outcome Call(IBufferTarget t, Env env)
    {
        if (!env.Resolve(Fd, out var fd)) return NotRun;
        int? request = null;
        if (InRequest)
        {
            // one buffer per request: a request holding two of vivid's capture buffers makes 6.12 WARN when it completes
            // (spec/notes/vivid-request-two-buffers.md), which would end a lab run
            if (Prepare || !env.Resolve(Req, out var rq) || env.RequestHeld(Req) > 0) return NotRun;
            request = rq;
        }
        // (an array of the planes' count: a list and PlaneMem's enumeration were three allocations at every QBUF)
        var more = MorePlanes.IsDefaultOrEmpty ? [] : MorePlanes.AsSpan();
        var planes = new int[1 + more.Length];
        for (int i = 0; i < planes.Length; i++)
        {
            int h = -1;
            if (Memory is V4L2_MEMORY_DMABUF or V4L2_MEMORY_USERPTR && !env.Resolve(i == 0 ? Mem : more[i - 1], out h)) return NotRun;
            planes[i] = h;
        }
        return t.QBuf(fd, Type, Index, Memory, planes, Prepare, request, BytesUsed, EffectiveFields);
    }
    public override Op MapVars(Func<Var, Var> f) =>
        this with { Fd = f(Fd), Mem = f(Mem), Req = Req.Id > 0 ? f(Req) : Req, MorePlanes = MorePlanes.IsDefaultOrEmpty ? MorePlanes : MorePlanes.Select(f).ToImmutableArray() };
    public override string Text => $"ioctl({Fd}, {Request}, {{.index = {Index}, .type = {BufTypeName(Type)}, .memory = {MemoryName(Memory)}" + MemText +
        (InRequest ? $", .flags = V4L2_BUF_FLAG_REQUEST_FD, .request_fd = {Req}" : "") + (BytesUsed > 0 ? $", .bytesused = {BytesUsed}" : "") + FieldsText + "})"
        + (EffectiveFields != PlaneFields.Format ? $"; ioctl({Fd}, VIDIOC_QUERYBUF, {{.index = {Index}}})" : "");
    /// <summary>The payload fields other than one frame, as the op's text says them (L the dma-buf's size, S the sizeimage).</summary>
    private string FieldsText => EffectiveFields switch
    {
        PlaneFields.PayloadLength => ", .bytesused = the dma-buf's size" + EachPlane,
        PlaneFields.OffsetTail => ", .bytesused = the dma-buf's size, .data_offset = that - sizeimage" + EachPlane,
        PlaneFields.PayloadPastLength => ", .bytesused = the dma-buf's size + 1" + EachPlane,
        PlaneFields.OffsetAtPayload => ", .bytesused = sizeimage, .data_offset = sizeimage" + EachPlane,
        _ => "",
    };
    private string EachPlane => IsMultiPlanar(Type) ? " (each plane)" : "";
    public override string Observed(in Outcome o) => !o.Ok || EffectiveFields == PlaneFields.Format ? base.Observed(o)
        : IsMultiPlanar(Type) ? $"0, then QUERYBUF: plane 0 bytesused = {o.R0}, data_offset = {o.R1}" : $"0, then QUERYBUF: bytesused = {o.R0}";
    public override IEnumerable<Op> Simplify()
    {
        if (Fields != PlaneFields.Format) yield return this with { Fields = PlaneFields.Format };
        if (Prepare) yield return this with { Prepare = false };
        // queued directly: the request (and the steps that made it) can go next
        if (InRequest) yield return this with { Req = default };
        // a lower index: the buffers allocated after the first ones it needs can go next
        if (Index > 0 && Index < VideoNodeProfile.VideoMaxFrame) yield return this with { Index = Index - 1 };
        // MMAP memory names no other handle, so the steps that made this one's memory can go next
        if (Memory != V4L2_MEMORY_MMAP) yield return this with { Memory = V4L2_MEMORY_MMAP, Mem = Var.None, MorePlanes = default };
    }
    protected override void Succeeded(Env env) { if (InRequest && Req.Id > 0) env.SetRequestHeld(Req, 1); }
    private string MemText
    {
        get
        {
            string member = Memory == V4L2_MEMORY_DMABUF ? "fd" : Memory == V4L2_MEMORY_USERPTR ? "userptr" : "";
            if (!IsMultiPlanar(Type)) return member == "" ? "" : $", .m.{member} = {Mem}";
            return member == "" ? "" : $", .m.planes = {{{string.Join(", ", PlaneMem.Select(m => $"{{.m.{member} = {m}}}"))}}}";
        }
    }
}

public sealed record DQBuf(Var Fd, [Derived("the queue's own type (on a mem2mem node, the type of either queue, drawn from M2mBufType)")] uint Type) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.DQBuf(fd, Type, blocking: false) : NotRun;
    public override string Text => $"ioctl({Fd}, VIDIOC_DQBUF, {{.type = {BufTypeName(Type)}}}) /* O_NONBLOCK */";
    public override string Observed(in Outcome o) => o.Ok ? Dequeued(o) : base.Observed(o);
    /// <summary>A dequeued buffer as DQBUF (blocking or not) shows it: its index and flags.</summary>
    internal static string Dequeued(in Outcome o) => $"0, index = {o.R0}, flags & MAPPED = {QueryBuf.BufFlags((uint)o.R1 & ~V4L2_BUF_FLAG_LAST)}"
        + ((o.R1 & V4L2_BUF_FLAG_LAST) != 0 ? ", V4L2_BUF_FLAG_LAST (the drain's last buffer)" : "");
}

/// <summary>
/// VIDIOC_DQBUF on a file without O_NONBLOCK (vidioc-qbuf.rst: "By default VIDIOC_DQBUF blocks when no buffer is in the
/// outgoing queue"): the harness's files are O_NONBLOCK, so the call clears the flag for itself and sets it back. It waits in
/// vb2 (__vb2_wait_for_done_vb: wait_prepare, sleep on done_wq, wait_finish) until a buffer is done, so it is issued only
/// where the oracle knows one will be (<see cref="ReferenceModel.DQBufReturns"/>), and a driver that never completes it is a
/// hung op (--op-timeout). Observes what <see cref="DQBuf"/> does: R0 = index, R1 = the state flags.
/// </summary>
public sealed record DQBufBlocking(Var Fd, [Derived("the queue's own type")] uint Type) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    public override bool MaySleep => true;
    public override bool Returns(ReferenceModel oracle, Env oracleEnv) => oracleEnv.Resolve(Fd, out var fd) && oracle.DQBufReturns(fd, Type);
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.DQBuf(fd, Type, blocking: true) : NotRun;
    public override string Text => $"ioctl({Fd}, VIDIOC_DQBUF, {{.type = {BufTypeName(Type)}}}) /* blocking: O_NONBLOCK cleared */";
    public override string Observed(in Outcome o) => o.Ok ? DQBuf.Dequeued(o) : base.Observed(o);
    /// <summary>The non-blocking DQBUF is simpler: it never sleeps, so a counterexample that does not need the wait loses it.</summary>
    public override IEnumerable<Op> Simplify() { yield return new DQBuf(Fd, Type); }
}

/// <summary>read(fd, buf, Count) on a capture node that offers read() I/O (V4L2_CAP_READWRITE): the fd is O_NONBLOCK, so it
/// returns EAGAIN while no frame is ready; R0 is the byte count. The bytes are not compared (the device wrote them).</summary>
public sealed record VideoRead(Var Fd, [DrawnFrom(nameof(Domains.ReadCount))] long Count) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.Read(fd, Count) : NotRun;
    public override string Text => $"read({Fd}, buf, {Count}) /* O_NONBLOCK */";
    public override string Observed(in Outcome o) => o.Ok ? $"{o.R0} bytes" : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Count > 1) yield return this with { Count = 1 }; }
}

/// <summary>write(fd, buf, Count) on an output node that offers write() I/O (V4L2_CAP_READWRITE): the fd is O_NONBLOCK, so it
/// returns EAGAIN while no buffer space is free; R0 is the byte count. The bytes are zeros (the device outputs them; nothing
/// compares them).</summary>
public sealed record VideoWrite(Var Fd, [DrawnFrom(nameof(Domains.WriteCount))] long Count) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.Write(fd, Count) : NotRun;
    public override string Text => $"write({Fd}, buf, {Count}) /* O_NONBLOCK */";
    public override string Observed(in Outcome o) => o.Ok ? $"{o.R0} bytes" : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Count > 1) yield return this with { Count = 1 }; }
}

public sealed record StreamOn(Var Fd, [DrawnFrom(nameof(Domains.BufType)), DrawnFrom(nameof(Domains.M2mBufType))] uint Type) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.StreamOn(fd, Type) : NotRun;
    public override string Text => $"ioctl({Fd}, VIDIOC_STREAMON, {BufTypeName(Type)})";
}

public sealed record StreamOff(Var Fd, [DrawnFrom(nameof(Domains.BufType)), DrawnFrom(nameof(Domains.M2mBufType))] uint Type) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.StreamOff(fd, Type) : NotRun;
    public override string Text => $"ioctl({Fd}, VIDIOC_STREAMOFF, {BufTypeName(Type)})";
}

/// <summary>
/// VIDIOC_ENCODER_CMD, or VIDIOC_TRY_ENCODER_CMD with <see cref="Try"/>, on a stateful encoder (dev-encoder.rst): STOP begins the
/// drain (the last CAPTURE buffer comes back with V4L2_BUF_FLAG_LAST, then DQBUF of CAPTURE fails with EPIPE), START resumes
/// after it. Flags and data 0, as the drain sequence requires.
/// </summary>
public sealed record EncoderCmd(Var Fd, [DrawnFrom(nameof(Domains.EncoderCommand))] uint Cmd, [DrawnFrom(nameof(Domains.EncoderCmdIoctl))] bool Try) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.EncoderCmd(fd, Cmd, Try) : NotRun;
    public override string Text => $"ioctl({Fd}, {(Try ? "VIDIOC_TRY_ENCODER_CMD" : "VIDIOC_ENCODER_CMD")}, {{.cmd = {EncCmdName(Cmd)}}})";
    /// <summary>The V4L2_ENC_CMD_* name of a command, or its number.</summary>
    public static string EncCmdName(uint cmd) => cmd switch
    {
        V4L2_ENC_CMD_START => "V4L2_ENC_CMD_START", V4L2_ENC_CMD_STOP => "V4L2_ENC_CMD_STOP",
        V4L2_ENC_CMD_PAUSE => "V4L2_ENC_CMD_PAUSE", V4L2_ENC_CMD_RESUME => "V4L2_ENC_CMD_RESUME", _ => cmd.ToString(),
    };
}

/// <summary>
/// VIDIOC_DECODER_CMD, or VIDIOC_TRY_DECODER_CMD with <see cref="Try"/>, on a stateful decoder (dev-decoder.rst, Drain): STOP
/// begins the drain (the last CAPTURE buffer comes back with V4L2_BUF_FLAG_LAST, then DQBUF of CAPTURE fails with EPIPE), START
/// resumes after it or after a resolution change's LAST buffer. Flags and data 0, as the drain sequence requires.
/// </summary>
public sealed record DecoderCmd(Var Fd, [DrawnFrom(nameof(Domains.DecoderCommand))] uint Cmd, [DrawnFrom(nameof(Domains.DecoderCmdIoctl))] bool Try) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.DecoderCmd(fd, Cmd, Try) : NotRun;
    public override string Text => $"ioctl({Fd}, {(Try ? "VIDIOC_TRY_DECODER_CMD" : "VIDIOC_DECODER_CMD")}, {{.cmd = {DecCmdName(Cmd)}}})";
    /// <summary>The V4L2_DEC_CMD_* name of a command, or its number.</summary>
    public static string DecCmdName(uint cmd) => cmd switch
    {
        V4L2_DEC_CMD_START => "V4L2_DEC_CMD_START", V4L2_DEC_CMD_STOP => "V4L2_DEC_CMD_STOP", V4L2_DEC_CMD_PAUSE => "V4L2_DEC_CMD_PAUSE",
        V4L2_DEC_CMD_RESUME => "V4L2_DEC_CMD_RESUME", V4L2_DEC_CMD_FLUSH => "V4L2_DEC_CMD_FLUSH", _ => cmd.ToString(),
    };
}

/// <summary>
/// VIDIOC_SUBSCRIBE_EVENT, or VIDIOC_UNSUBSCRIBE_EVENT with <see cref="Unsubscribe"/>, of one event type on a video node's file
/// (vidioc-subscribe-event.rst), id and flags 0: a stateful codec's EOS (dev-encoder.rst and dev-decoder.rst, Drain) and a
/// decoder's SOURCE_CHANGE; V4L2_EVENT_ALL unsubscribes every one.
/// </summary>
public sealed record SubscribeEvent(Var Fd, [DrawnFrom(nameof(Domains.EventType))] uint Type, [DrawnFrom(nameof(Domains.EventIoctl))] bool Unsubscribe) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.SubscribeEvent(fd, Type, Unsubscribe) : NotRun;
    public override string Text => $"ioctl({Fd}, {(Unsubscribe ? "VIDIOC_UNSUBSCRIBE_EVENT" : "VIDIOC_SUBSCRIBE_EVENT")}, {{.type = {EventName(Type)}}})";
    /// <summary>The V4L2_EVENT_* name of an event type, or its number.</summary>
    public static string EventName(uint type) => type switch
    {
        V4L2_EVENT_ALL => "V4L2_EVENT_ALL", V4L2_EVENT_EOS => "V4L2_EVENT_EOS", V4L2_EVENT_SOURCE_CHANGE => "V4L2_EVENT_SOURCE_CHANGE",
        _ => type.ToString(),
    };
}

/// <summary>
/// VIDIOC_DQEVENT on a video node's file (O_NONBLOCK, as every file the harness opens there): the oldest pending event, or
/// ENOENT when none is (vidioc-dqevent.rst; __v4l2_event_dequeue in v4l2-event.c). Observes R0 = the event's type and R1 =
/// the number still pending after it.
/// </summary>
public sealed record DQEvent(Var Fd) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.DQEvent(fd) : NotRun;
    public override string Text => $"ioctl({Fd}, VIDIOC_DQEVENT, &ev) /* O_NONBLOCK */";
    public override string Observed(in Outcome o) => o.Ok ? $"0, type = {SubscribeEvent.EventName((uint)o.R0)}, pending = {o.R1}" : base.Observed(o);
}

/// <summary>
/// poll() of a stateful codec's file for POLLPRI alone, waiting up to <see cref="TimeoutMs"/> (func-poll.rst): R0 = revents &amp;
/// POLLPRI. Issued only where the oracle says an event is certain to come (<see cref="Returns"/>): one is pending, or a
/// decoder owes the event of its stream's first resolution (dev-decoder.rst, Initialization, step 4). A driver that lets the
/// wait run out is a failure of the rule that owed the event, with a counterexample, not a hang.
/// </summary>
public sealed record EventWait(Var Fd) : Op
{
    /// <summary>How long the wait may take, in milliseconds: the suite's bound for a decoder to parse one whole frame it holds
    /// (discovery waits as long).</summary>
    public const int TimeoutMs = 2000;
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    public override bool MaySleep => true;
    public override bool Returns(ReferenceModel oracle, Env oracleEnv) => oracleEnv.Resolve(Fd, out var fd) && oracle.EventComes(fd);
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.EventWait(fd, TimeoutMs) : NotRun;
    public override string Text => $"poll({{.fd = {Fd}, .events = POLLPRI}}, 1, {TimeoutMs})";
    public override string Observed(in Outcome o) => o.Ok ? $"revents {VideoPoll.Names((short)o.R0)}" : base.Observed(o);
}

public sealed record RemoveBufs(
    Var Fd,
    [DrawnFrom(nameof(Domains.BufType)), DrawnFrom(nameof(Domains.M2mBufType))] uint Type,
    [DrawnFrom(nameof(Domains.BufIndex))] uint Index,
    [DrawnFrom(nameof(Domains.RemoveBufsCount))] uint Count) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.RemoveBufs(fd, Type, Index, Count) : NotRun;
    public override string Text => $"ioctl({Fd}, VIDIOC_REMOVE_BUFS, {{.index = {Index}, .count = {Count}, .type = {BufTypeName(Type)}}})";
}

/// <summary>
/// VIDIOC_S_FMT or VIDIOC_TRY_FMT (vidioc-g-fmt.rst) of the queue's current format with its frame size changed as
/// <see cref="Size"/> says: R0..R2 = sizeimage of planes 0..2 of the format the driver returned.
/// </summary>
public sealed record SetFmt(
    Var Fd,
    [DrawnFrom(nameof(Domains.BufType)), DrawnFrom(nameof(Domains.M2mBufType))] uint Type,
    [DrawnFrom(nameof(Domains.FormatFrameSize))] FrameSize Size,
    [DrawnFrom(nameof(Domains.FmtIoctl))] bool Try) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.SetFmt(fd, Type, Size, Try) : NotRun;
    public override string Text => $"ioctl({Fd}, {(Try ? "VIDIOC_TRY_FMT" : "VIDIOC_S_FMT")}, G_FMT({BufTypeName(Type)}) with {SizeText(Size)})";
    public override string Observed(in Outcome o) => !o.Ok ? base.Observed(o)
        : $"0, sizeimage = {string.Join(" + ", new[] { o.R0, o.R1, o.R2 }.Where((x, i) => i == 0 || x != 0))}";
    public override IEnumerable<Op> Simplify() { if (Size != FrameSize.Half) yield return this with { Size = FrameSize.Half }; }
    /// <summary>The frame size change in words ("width/2, height/2").</summary>
    public static string SizeText(FrameSize s) => s switch
    {
        FrameSize.Half => "width/2, height/2",
        FrameSize.Double => "width*2, height*2",
        FrameSize.Minimum => "width = height = 1",
        FrameSize.Maximum => "width = height = 65535",
        _ => "the same frame size",
    };
}

/// <summary>poll() of a video node with a zero timeout (func-poll.rst): R0 = revents &amp; (POLLIN|POLLOUT|POLLPRI|POLLERR).
/// POLLIN when a capture buffer can be dequeued, POLLERR when there is nothing to wait for; on a mem2mem node POLLOUT and
/// POLLIN for each queue's done buffers (v4l2_m2m_poll).</summary>
public sealed record VideoPoll(Var Fd, [DrawnFrom(nameof(Domains.VideoPollEvents))] short Events) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.Poll(fd, Events) : NotRun;
    public override string Text => $"poll({{.fd = {Fd}, .events = {Names(Events)}}}, 1, 0)";
    public override string Observed(in Outcome o) => o.Ok ? $"revents {Names((short)o.R0)}" : base.Observed(o);
    /// <summary>Poll event bits by name, "|"-joined ("0" for none).</summary>
    public static string Names(short e)
    {
        var n = new List<string>();
        if ((e & POLLIN) != 0) n.Add("POLLIN");
        if ((e & POLLPRI) != 0) n.Add("POLLPRI");
        if ((e & POLLOUT) != 0) n.Add("POLLOUT");
        if ((e & POLLERR) != 0) n.Add("POLLERR");
        return n.Count == 0 ? "0" : string.Join("|", n);
    }
}

// ------------------------------------------------------------------ media requests

/// <summary>
/// MEDIA_IOC_REQUEST_ALLOC on the media device of the profile's video node (<see cref="VideoNodeProfile.RequestMedia"/>),
/// opened O_RDWR for the call and closed after it: success creates a request fd (media-ioc-request-alloc.rst). A request
/// holds buffers queued with V4L2_BUF_FLAG_REQUEST_FD until MEDIA_REQUEST_IOC_QUEUE (request-api.rst).
/// </summary>
public sealed record RequestAlloc([Derived("the media device of the profile's video node (VideoNodeProfile.RequestMedia)")] string Media) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    public override bool Creates => true;
    protected override Outcome Call(IBufferTarget t, Env env) => t.RequestAlloc(Media);
    public override string Text => $"v{Id} = ioctl(m = open(\"{Media}\", O_RDWR), MEDIA_IOC_REQUEST_ALLOC, &fd) fd; close(m)";
}

/// <summary>A request ioctl without an argument (_IO('|', nr) on a request fd, media.h): its description is all it is.</summary>
public abstract record RequestIoctl(Var Req) : IoctlOp
{
    public override Var On => Req;
    public override IReadOnlyList<IoctlArg> Inputs => [];
    public override string Area => "vb2";
    public override string Text => $"ioctl({Req}, {Spec.Request})";
}

/// <summary>MEDIA_REQUEST_IOC_QUEUE = _IO('|', 0x80) on a request fd: queues the request and the buffers in it
/// (media-request-ioc-queue.rst).</summary>
public sealed record RequestQueue(Var Req) : RequestIoctl(Req)
{
    public static readonly IoctlSpec Request = new("MEDIA_REQUEST_IOC_QUEUE", typeof(void), "req", IoctlResult.Status, [], header: "linux/media.h");
    public override IoctlSpec Spec => Request;
}

/// <summary>MEDIA_REQUEST_IOC_REINIT = _IO('|', 0x81) on a request fd: empties a request that is not queued or has completed
/// (media-request-ioc-reinit.rst).</summary>
public sealed record RequestReinit(Var Req) : RequestIoctl(Req)
{
    public static readonly IoctlSpec Request = new("MEDIA_REQUEST_IOC_REINIT", typeof(void), "req", IoctlResult.Status, [], header: "linux/media.h");
    public override IoctlSpec Spec => Request;
    protected override void Succeeded(Env env) => env.SetRequestHeld(Req, 0);
}

/// <summary>poll() of a request fd for POLLPRI with a zero timeout (request-func-poll.rst): R0 = revents &amp; (POLLPRI|POLLERR),
/// POLLPRI once the request completed, POLLERR while it is not queued.</summary>
public sealed record RequestPoll(Var Req) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "vb2";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Req, out var fd) ? t.Poll(fd, POLLPRI) : NotRun;
    public override string Text => $"poll({{.fd = {Req}, .events = POLLPRI}}, 1, 0)";
    public override string Observed(in Outcome o) => o.Ok ? $"revents {Names((short)o.R0)}" : base.Observed(o);
    /// <summary>The revents a request poll can show, by name.</summary>
    public static string Names(short e) => e switch { 0 => "0", POLLPRI => "POLLPRI", POLLERR => "POLLERR", _ => $"0x{e:x}" };
}
