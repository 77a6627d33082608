using System.Collections.Immutable;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using static Conformance.Adapters.Uapi;

namespace Conformance.Generators;

/// <summary>A generated op sequence and the seed that produced it.</summary>
public sealed record OpSequence(ulong Seed, ImmutableArray<Op> Ops)
{
    public int Length => Ops.Length;

    /// <summary>
    /// The ops that end this sequence the way the adapters' reset does, as ops a counterexample can show: munmap every
    /// mapping, then close every fd it created, newest first, then end the other processes it ran (<see cref="ExitProcess"/>).
    /// GEM handles and vgem fence ids go with their DRM file. A handle a later op of the sequence releases in the process that
    /// holds it (its close or munmap, <see cref="Op.Consumes"/>, or that process's exit) gets none: it is gone by then, and
    /// the op would not run (one gone otherwise, a create that failed, is simply not run).
    /// </summary>
    public List<Op> Closing()
    {
        var ops = Ops;
        int next = 1;
        foreach (var o in ops) next = Math.Max(next, o.Id + 1);
        // one pass over the ops (the harness asks this of every sequence it judges), newest first: what each op makes and in
        // which process, which helper processes ran an op, were given a handle or were forked, and which handles a later op
        // released (by id, one bit a process; past ids the array cannot hold, none is taken as released)
        Span<bool> ran = stackalloc bool[Op.MaxProcess + 1];
        Span<bool> exited = stackalloc bool[Op.MaxProcess + 1];
        var makes = ops.Length <= 1024 ? stackalloc Resource[ops.Length] : new Resource[ops.Length];
        var holder = ops.Length <= 1024 ? stackalloc int[ops.Length] : new int[ops.Length];
        var released = next <= 1024 ? stackalloc byte[next] : next <= MaxReleasedIds ? new byte[next] : [];
        released.Clear();
        for (int i = ops.Length - 1; i >= 0; i--)
        {
            var o = ops[i];
            Mark(ran, o.Process);
            makes[i] = Resource.None;
            // (what an op makes, in which process, and what it releases are kept by the op (Op.ShapeOf), and asked of it
            // through its virtual members only where it makes or releases something)
            var shape = o.ShapeOf;
            if ((shape & Op.Shape.Creates) != 0)
            {
                int p = o.CreatesIn;
                Mark(ran, p);
                bool gone = (uint)p < (uint)exited.Length && exited[p]
                    || (uint)o.Id < (uint)released.Length && (uint)p < 8 && (released[o.Id] & (1 << p)) != 0;
                if (!gone) (makes[i], holder[i]) = ((shape & Op.Shape.MakesFd) != 0 ? Resource.Fd : (shape & Op.Shape.MakesMapping) != 0 ? Resource.Mapping : Resource.None, p);
            }
            if ((shape & Op.Shape.Forks) != 0) Mark(ran, ((Fork)o).To);
            if ((shape & Op.Shape.Exits) != 0 && (uint)o.Process < (uint)exited.Length) exited[o.Process] = true;
            if ((shape & Op.Shape.ConsumesSome) != 0 && o.Consumes is var c && (uint)c.Id < (uint)released.Length && (uint)o.Process < 8)
                released[c.Id] |= (byte)(1 << o.Process);
        }
        var closing = new List<Op>();
        // each in the process that holds it (an fd sent to another process is closed there), newest first
        for (int i = ops.Length - 1; i >= 0; i--)
            if (makes[i] == Resource.Mapping) closing.Add(new Munmap(new Var(ops[i].Id)) { Id = next++, Process = holder[i] });
        for (int i = ops.Length - 1; i >= 0; i--)
            if (makes[i] == Resource.Fd) closing.Add(new Close(new Var(ops[i].Id)) { Id = next++, Process = holder[i] });
        // and the other processes end, a fork's child first: what they still hold (a child's copies, which no op above names
        // in it) goes with them, as it would at the adapters' reset, so what follows (the idle probe) sees it released
        for (int p = Op.MaxProcess; p >= 1; p--)
            if (ran[p]) closing.Add(new ExitProcess { Id = next++, Process = p });
        return closing;

        static void Mark(Span<bool> ran, int process) { if ((uint)process < (uint)ran.Length) ran[process] = true; }
    }

    /// <summary><see cref="Closing"/>'s bound on the handle ids it notes as released (a generated sequence's stay in the
    /// hundreds; a hand-edited replay may carry any): past it a handle gets its closing op whether or not it is gone.</summary>
    private const int MaxReleasedIds = 1 << 16;

    /// <summary>
    /// Several sequences run one after another on the same device, as one sequence: each is followed by its closing ops
    /// and its handles are renumbered after the previous ones, so the whole can be shrunk and replayed as a unit.
    /// </summary>
    public static OpSequence Join(IReadOnlyList<OpSequence> parts, bool closeLast = false)
    {
        var ops = ImmutableArray.CreateBuilder<Op>();
        int offset = 0;
        for (int k = 0; k < parts.Count; k++)
        {
            var part = parts[k];
            var body = k < parts.Count - 1 || closeLast ? part.Ops.Concat(part.Closing()) : part.Ops;
            int top = 0, off = offset;
            foreach (var op in body)
            {
                // the first part keeps its numbering: its ops are taken as they are (a copy of each cost a third of the
                // lockstep harness's time, which joins the idle probe to every sequence)
                ops.Add(off == 0 ? op : op.Renumbered(off));
                top = Math.Max(top, op.Id);
            }
            offset += top;
        }
        return new OpSequence(parts.Count > 0 ? parts[^1].Seed : 0, ops.ToImmutable());
    }
    public override string ToString() => $"seed {Seed}, {Length} ops:\n" + string.Join("\n", Ops.Select((o, i) => $"  {i + 1,3}. {o.Listed}"));
}

/// <summary>Small deterministic PRNG (xorshift64*): the same seed always expands to the same sequence.</summary>
public struct Rng(ulong seed)
{
    private ulong _s = seed == 0 ? 0x9E3779B97F4A7C15 : seed;
    // (inlined: the generator draws a few times an op, and in its longest methods the compiler's budget left these calls;
    // the state read once and written once: drawn through a reference, each of the three steps on the field was a load and
    // a store, each load waiting for the store before it)
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public ulong Next()
    {
        ulong s = _s;
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        _s = s;
        return s * 0x2545F4914F6CDD1D;
    }
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public int Below(int n) => (int)(Next() % (ulong)n);
    public bool Chance(int percent) => Below(100) < percent;
    public T Pick<T>(IReadOnlyList<T> xs) => xs[Below(xs.Count)];
    /// <summary><see cref="Pick{T}(IReadOnlyList{T})"/> of a list, without the interface's dispatch (the same draw).</summary>
    public T Pick<T>(List<T> xs) => xs[Below(xs.Count)];
    /// <summary>One of <paramref name="xs"/>' values, drawn by weight (<see cref="WeightedIndex"/>).</summary>
    public T Weighted<T>(params ReadOnlySpan<(int W, T V)> xs)
    {
        Span<int> weights = stackalloc int[xs.Length];
        for (int i = 0; i < xs.Length; i++) weights[i] = xs[i].W;
        return xs[WeightedIndex(weights)].V;
    }

    /// <summary>The index of one of <paramref name="weights"/>, drawn by weight: exactly one <see cref="Below"/> over their
    /// total, walking them in order (an entry of weight 0 is never drawn). The weights must hold some.</summary>
    public int WeightedIndex(ReadOnlySpan<int> weights)
    {
        int total = 0; foreach (int w in weights) total += w;
        return WeightedIndex(weights, total);
    }

    /// <summary><see cref="WeightedIndex(ReadOnlySpan{int})"/> where the weights' <paramref name="total"/> is known (a
    /// domain's, summed once).</summary>
    public int WeightedIndex(ReadOnlySpan<int> weights, int total)
    {
        int r = Below(total);
        for (int i = 0; i < weights.Length; i++) { if (r < weights[i]) return i; r -= weights[i]; }
        return weights.Length - 1;
    }

    /// <summary>The largest total weight <see cref="Stops"/> makes a table for: 4 kB at most a table.</summary>
    public const int MaxStops = 4096;

    /// <summary>
    /// For weights whose running sums are <paramref name="ends"/> (<c>ends[i]</c>: the sum of weights 0..i), the index the
    /// weighted walk (<see cref="WeightedIndex(ReadOnlySpan{int}, int)"/>) stops at for each value <c>Below(ends[^1])</c> can
    /// return, one byte each: the same draw read in one step, where the walk's compares go one way or the other as the random
    /// value falls (and the processor guesses about half of them wrong). Null, and the caller walks, where there are no
    /// entries or more than a byte numbers (256), a weight is negative, or the total is 0 or above <see cref="MaxStops"/>.
    /// </summary>
    public static byte[]? Stops(ReadOnlySpan<int> ends)
    {
        if (ends.Length is 0 or > 256 || ends[^1] is <= 0 or > MaxStops || ends[0] < 0) return null;
        for (int j = 1; j < ends.Length; j++) if (ends[j] < ends[j - 1]) return null;
        var stops = new byte[ends[^1]];
        for (int j = 0, at = 0; j < ends.Length; at = ends[j], j++) stops.AsSpan(at, ends[j] - at).Fill((byte)j);
        return stops;
    }
}

/// <summary>
/// Expands a seed into an op sequence. It runs the reference model alongside, so it knows which
/// handles are live fds, dma-bufs or mappings and which buffer indices exist, and weights the next op
/// toward reachable, interesting states. Argument values come from the declarations in <see cref="Domains"/>
/// (mostly valid, sometimes off by one, out of range or invalid); only which handle an op names, and values
/// tied to the state, are chosen here.
/// </summary>
public sealed class SequenceGenerator
{
    public TargetProfile Profile { get; }
    public IReadOnlySet<string> Areas { get; }
    public static readonly string[] AllAreas = ["dmabuf", "vb2", "heap", "udmabuf", "fence", "prime"];
    /// <summary>Whether ops that wait in real time (vgem's 10 s fence expiry) may be generated: free on the model, slow on a kernel.</summary>
    public bool SlowOps { get; init; }
    /// <summary>Counts every value drawn from <see cref="Domains"/> by the sequences this generator made (the run's domain coverage).</summary>
    public DomainTally Tally { get; }

    /// <summary>One value of a declared domain, counted in <see cref="Tally"/>; a reweight changes one value's weight for this draw.</summary>
    private T Draw<T>(Domain<T> d, ref Rng r, string? reweightLabel = null, int reweight = 0) => d.Draw(ref r, _untallied ? null : Tally, reweightLabel, reweight);
    private bool _untallied;   // drawing a parallel block's candidates (see GenerateParallel)

    public SequenceGenerator(TargetProfile profile, IEnumerable<string>? areas = null) : this(profile, areas, new DomainTally()) { }

    private SequenceGenerator(TargetProfile profile, IEnumerable<string>? areas, DomainTally tally)
    {
        Tally = tally;
        Profile = profile;
        Areas = (areas ?? AllAreas).ToHashSet();
        _model = new ReferenceModel(profile);
        _vgemFences = profile.Drm.Any(d => d.VgemFences);
        (_hasVideo, _hasHeaps, _hasUdmabuf, _hasDrm) = (profile.Video.Count > 0, profile.Heaps.Count > 0, profile.UdmabufDevice != null, profile.Drm.Count > 0);
        _hasDecoderStream = profile.Video.Any(v => v.Codec == CodecKind.Decoder && v.Stream != null);
        _hasRequestQueue = profile.Video.Any(v => v.RequestMedia != null && (v.OutputQueue ?? v).Has(V4L2_BUF_CAP_SUPPORTS_REQUESTS));
        _node = _hasVideo ? profile.Video[0] : null;
        _frame = _node?.SizeImage ?? long.MaxValue;
        _certifiesVb2 = Areas.Contains("vb2");
        _allAreas = Focus.Of(Areas);
        _areaFocus = Areas.Order().Select(a => Focus.Of(new HashSet<string> { a })).ToList();
    }

    /// <summary>
    /// A generator that makes the same sequence of every seed as this one (same profile, areas and settings) and holds its
    /// domain draws back (<see cref="DomainTally.Held"/>): for one other thread, which expands sequences ahead of their use.
    /// </summary>
    public SequenceGenerator Twin() => new(Profile, Areas, DomainTally.Held()) { SlowOps = SlowOps };

    private readonly bool _vgemFences, _certifiesVb2;
    /// <summary>What the profile has, read once (each op asks, and a count through its lists' interface is a dispatch each time).</summary>
    private readonly bool _hasVideo, _hasHeaps, _hasUdmabuf, _hasDrm;
    /// <summary>A stateful decoder whose stream the suite writes (the decoder's drain family's), and a queue that takes requests
    /// (the request memory family's): read once, not at each sequence's start.</summary>
    private readonly bool _hasDecoderStream, _hasRequestQueue;
    /// <summary>The profile's first video node (<see cref="Node"/>), null where it has none.</summary>
    private readonly VideoNodeProfile? _node;
    /// <summary>Every area the generator covers, and each alone, in order: what a sequence focuses on (<see cref="_areasIn"/>).</summary>
    private readonly Focus _allAreas;
    private readonly List<Focus> _areaFocus;

    private enum K { Video, Heap, UdmaDev, DmaBuf, Memfd, Map, Drm, Gem, Sync, Fence, Request }

    /// <summary>A handle the sequence made, as the generator follows it (<see cref="TrackHandles"/>). Made by <see cref="Made"/>
    /// from the generator's pool: every handle of a sequence is dropped at the next's <see cref="Start"/>, so their objects are
    /// the next sequence's (they were some 35 of the 280 bytes a generated op allocated).</summary>
    private sealed class V
    {
        public Var Var;
        public K Kind;
        public bool Live;
        public string Device = null!;   // (every field is written by Init)
        public long Size;           // dma-buf / memfd size, mapping length
        public int AccMode;
        public int Prot;
        public bool Anon, Memfd;    // mapping kinds
        public bool Sealed;         // memfd acceptable to udmabuf
        public Var Owner;           // GEM handles and vgem fences: the DRM fd they belong to
        public Var Link;            // a GEM handle and the dma-buf it was imported from / exported to
        public bool Fenced;         // a fence was attached or imported on this buffer
        public bool Submitted;      // a request: queued with MEDIA_REQUEST_IOC_QUEUE
        public uint BufType, BufIndex;   // a video mapping: the buffer it maps (Owner: the file it was mapped through)
        public int Gen;                  // a mem2mem OUTPUT mapping: the context's OUTPUT allocation it maps (M2mContext.OutGen)
        public int Proc;                 // the process it belongs to (Op.Process): 0, the suite's own; 1, the helper
        public Var SentFrom;             // an fd another process sent: the sender's
        public long End;                 // a dma-buf mapping (Mmap) from the buffer's start: where its buffer ends in it; else -1

        /// <summary>Every field written, a new live handle's (a pooled object keeps nothing of the handle it was): a field
        /// added above is added here, and to <see cref="Made"/>'s arguments.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public V Init(Var var, K kind, string device, long size, int accMode, int prot, bool anon, bool memfd, bool @sealed,
            Var owner, Var link, bool fenced, uint bufType, uint bufIndex, int gen, int proc, Var sentFrom, long end)
        {
            (Var, Kind, Live, Device, Size, AccMode, Prot, Anon, Memfd, Sealed) = (var, kind, true, device, size, accMode, prot, anon, memfd, @sealed);
            (Owner, Link, Fenced, Submitted, BufType, BufIndex, Gen, Proc, SentFrom, End) = (owner, link, fenced, false, bufType, bufIndex, gen, proc, sentFrom, end);
            return this;
        }
    }

    /// <summary>Every handle object made so far: the first <see cref="_pooled"/> are the current sequence's (in
    /// <see cref="_vars"/>), the rest free for <see cref="Made"/>.</summary>
    private readonly List<V> _pool = new(64);
    private int _pooled;

    /// <summary>A live handle of the current sequence, each field as given (the rest as a new one's): a free object of the pool
    /// where there is one.</summary>
    private V Made(Var var, K kind, string device = "", long size = 0, int accMode = 0, int prot = 0, bool anon = false, bool memfd = false,
        bool @sealed = false, Var owner = default, Var link = default, bool fenced = false, uint bufType = 0, uint bufIndex = 0, int gen = 0,
        int proc = 0, Var sentFrom = default, long end = -1)
    {
        V v;
        if (_pooled < _pool.Count) v = _pool[_pooled];
        else _pool.Add(v = new V());
        _pooled++;
        return v.Init(var, kind, device, size, accMode, prot, anon, memfd, @sealed, owner, link, fenced, bufType, bufIndex, gen, proc, sentFrom, end);
    }

    /// <summary>Which areas a sequence focuses on (looked up once per generator, not once a step).</summary>
    private readonly record struct Focus(bool Vb2, bool Heap, bool Udmabuf, bool DmaBuf, bool Fence, bool Prime)
    {
        public static Focus Of(IReadOnlySet<string> areas) => new(areas.Contains("vb2"), areas.Contains("heap"), areas.Contains("udmabuf"),
            areas.Contains("dmabuf"), areas.Contains("fence"), areas.Contains("prime"));
    }
    private Focus _areasIn;
    private bool _mixVideo;   // fence/prime sequences that also drive the V4L2 queue (EXPBUF exporter, DMABUF importer)

    public OpSequence Generate(ulong seed, int length)
    {
        var (rng, vars, env) = Start(seed);
        // the argument-memory draws (Op.ReadOnlyArg) come from a stream of their own, so the main stream's draws, and with
        // them every sequence without such a step, are what they were before the domain existed
        var argRng = new Rng(seed ^ 0xC0FF_EE00_D15E_A5E5UL);
        // and the fd-table draws (Op.FdTableFull) from another, for the same reason
        var fdRng = new Rng(seed ^ 0x0F11_ED7A_B1E5_0E3FUL);
        // and the ranges at the size limit's boundaries (Domains.UdmabufLimits) from a third
        var limitRng = new Rng(seed ^ 0x5123_0000_FFFF_F000UL);
        // and the payload fields of an output queue's DMABUF QBUF (Domains.QBufPlaneFields) from a fourth
        var fieldsRng = new Rng(seed ^ 0xB17E_5D5E_D0FF_5E70UL);
        // and whether a memfd is a hugetlb one (Domains.MemfdHugetlb) from a fifth
        var hugeRng = new Rng(seed ^ 0x2000_0000_4B1D_F00DUL);
        int hugePages = 0;
        // and a list's header count at list_limit's boundaries (Domains.UdmabufListLimits) from a sixth
        var listRng = new Rng(seed ^ 0x0000_0400_0000_0401UL);
        var model = _model;
        // the ops made go into a span over an array kept for the next sequence, and the sequence's array is made once, at its
        // length (a builder's array store checked each op's type against the array's, some seventy instructions an op with its
        // call, and a sequence shorter than asked, an op skipped, was copied once more)
        if (_made.Length < length) _made = new Op[length];
        Span<Op> ops = _made;
        int count = 0;
        int nextId = 1;
        for (int i = 0; i < length; i++)
        {
            var op = Next(ref rng);
            // (is null, not == null: a record's == is its structural Equals, some thirty instructions an op)
            if (op is null || ClosesWhatARequestNames(op, env)) continue;
            // now and then a udmabuf's range lies at the boundaries of the size limit's arithmetic (UDMABUF-SIZE-2)
            if (op is UdmabufCreate uc && Draw(Domains.UdmabufLimits, ref limitRng)((uc.Offset, uc.Size)) is var (lo, ls) && (lo, ls) != (uc.Offset, uc.Size))
                op = uc with { Offset = lo, Size = ls };
            // now and then an output queue's DMABUF QBUF passes other payload fields than one frame (VB2-QBUF-4)
            // (on a single-planar queue only where the buffer's stored length holds the whole dma-buf: above it vb2 refuses
            // the payload, a known issue that would end the sequence before the payload is looked at)
            if (op is QBuf qb && RawOutput(qb) && Draw(Domains.QBufPlaneFields, ref fieldsRng) is var pf && pf != PlaneFields.Format
                && (IsMultiPlanar(qb.Type) || env.Resolve(qb.Fd, out var qfd) && env.Resolve(qb.Mem, out var qmem) && model.StoredLengthHolds(qfd, qb.Type, qb.Index, qmem)))
                op = qb with { Fields = pf };
            // now and then, in the hugetlb family, a memfd is a hugetlb one, of whole huge pages, while the sequence's hugetlb
            // memfds fit the pool the profile gives (UDMABUF-HUGE-1, -2)
            if (op is MemfdCreate mc && _hugeFamily && Profile.Hugetlb is { } hp && Draw(Domains.MemfdHugetlb, ref hugeRng)
                && Draw(Domains.MemfdHugeSize, ref hugeRng)(hp.PageSize) is var hs && hugePages + hs / hp.PageSize <= hp.Pages)
            {
                op = mc with { Hugetlb = true, Size = hs };
                hugePages += (int)(hs / hp.PageSize);
            }
            if (_hugeFamily) op = WholeHugeMap(op, vars);   // (only that family makes hugetlb memfds)
            // now and then a list's header count is list_limit, one past it, or far past it (UDMABUF-LIST-4)
            // (a list of items: an empty one has nothing to repeat, and its count is UDMABUF-LIST-2's)
            if (op is UdmabufCreateList { Items.Length: > 0 } ul && Draw(Domains.UdmabufListLimits, ref listRng)(Profile.UdmabufListLimit) is var lc and not 0)
                op = ul with { Count = lc };
            // now and then the argument of an ioctl that writes its new fd back lies in a read-only page (DMABUF-FAIL-1)
            if (op.CopiesOutFd && Draw(Domains.ArgPage, ref argRng)) op = op with { ReadOnlyArg = true };
            // and now and then a create ioctl runs with the fd table full (DMABUF-FAIL-2)
            else if (op.InstallsFd && op.Process == 0 && Draw(Domains.FdTable, ref fdRng)) op = op with { FdTableFull = true };
            // (numbered in place: every op here is a record Next or the lines above just made, which nothing else holds)
            op = op.Numbered(nextId++);
            // (the model as a target: no BeginStep, so it cites nothing; no one reads a generator's citations)
            var o = op.Run(model, env);
            Track(op, o, vars);
            ops[count++] = op;
        }
        // (the model is left as the sequence left it: the next Start discards it, and a reset here as well was a second one,
        // with its fresh queues, for every sequence)
        var made = ImmutableArray.Create<Op>(ops[..count]);
        ops[..count].Clear();   // (the array holds no op past its sequence)
        return new OpSequence(seed, made);
    }

    /// <summary>The array <see cref="Generate"/> makes a sequence's ops in, kept for the next (an <c>Op[]</c> exactly: a span over
    /// it stores an op without the array's type check).</summary>
    private Op[] _made = new Op[64];

    /// <summary>A mapping of a hugetlb memfd maps it whole: hugetlbfs maps from a huge page to a huge page (a shorter length is
    /// rounded up, and its munmap at the length asked fails), so the harness makes no other (the adapter refuses one).</summary>
    private static Op WholeHugeMap(Op op, List<V> vars) =>
        op is Mmap mp && Find(vars, mp.Fd, mp.Process) is { Kind: K.Memfd, Device: "hugetlb" } hm
            ? mp with { PgOff = 0, Length = hm.Size } : op;

    /// <summary>Whether a QBUF's payload fields are drawn (<see cref="QBuf.EffectiveFields"/>): a DMABUF buffer of an output
    /// queue that carries raw frames (not a decoder's coded ones), queued directly.</summary>
    private bool RawOutput(QBuf q) =>
        q.Memory == V4L2_MEMORY_DMABUF && IsOutputType(q.Type) && !q.InRequest && q.BytesUsed == 0
        && _hasVideo && Node.RawOutputQueue?.BufType == q.Type;

    /// <summary>The generator's state for a new sequence from <paramref name="seed"/>: its families, its model, no handles yet.</summary>
    private (Rng Rng, List<V> Vars, Env Env) Start(ulong seed)
    {
        _memory = 0;
        _contexts.Clear();
        // a quarter of the sequences, picked from the seed without a random draw (so the others are not reshuffled), are
        // steered to a blocking DQBUF that waits for a buffer: swarm testing's per-sequence feature switch
        _waitFamily = seed % 4 == 3;
        // another quarter, on a stateful encoder, is steered through its drain (STOP, the LAST buffer, EPIPE, START)
        _drainFamily = seed % 4 == 2;   // on a stateful decoder whose stream the suite writes: steered through its source change;
        // and there the wait family's quarter (no blocking DQBUF waits for a buffer on a mem2mem queue outside a drain) is steered
        // through the decoder's drain instead
        _decoderDrain = seed % 4 == 3 && _hasDecoderStream;
        _drainFamily |= _decoderDrain;
        // and on a mem2mem node a quarter more allocates USERPTR or DMABUF memory (alternately) rather than MMAP: a context's two
        // queues, the drain and the waits take most of a mem2mem run's steps, and imported memory would otherwise seldom be queued
        _memoryFamily = _hasVideo && Node.IsMem2Mem && seed % 4 == 0
            ? seed / 4 % 2 == 0 ? V4L2_MEMORY_USERPTR : V4L2_MEMORY_DMABUF : 0;
        // an eighth (on a mem2mem node, the USERPTR half of the memory family) takes the way to a USERPTR QBUF of memory vb2
        // must refuse: a dma-heap buffer's mapping (VM_PFNMAP, VB2-USERPTR-1) and a mapping shorter than the buffer
        // (VB2-USERPTR-3); each needs five steps in order that random draws seldom line up
        _pinPath = seed % 8 == 0;
        _pinQueued = 0;
        // and on a queue of raw output frames the drain's quarter (an encoder's: the wait family's, which has nothing to wait
        // for on a mem2mem queue outside a drain) queues a dma-buf larger than a frame, takes it back and queues it again
        // (VB2-QBUF-4's payload fields); a capture node or a decoder has no such queue and its sequences are unchanged
        _payloadFamily = _hasVideo && Node is { RawOutputQueue: not null } pn
            && (pn.Codec == CodecKind.None && seed % 4 == 2 || pn.Codec == CodecKind.Encoder && seed % 4 == 3);
        _payloadQueued = 0;
        // and one in eight more feeds requests imported memory: its request-bearing queue is allocated DMABUF (or, every other
        // time and where the queue takes it, USERPTR), which vb2 takes only when the request is queued (VB2-REQ-9)
        _requestMemory = seed % 8 == 4 && _hasRequestQueue
            ? seed / 8 % 2 == 0 ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_USERPTR : 0;
        _requestMemoryQueued = 0;
        _requestBound = null;
        _requestPoked = false;
        _requestMade = false;
        // and the quarter no family above uses execs a new program now and then, to ask it which fds it was handed
        _execFamily = seed % 4 == 1;
        // and half of that quarter has a second process: fds are sent to it, it maps, reads, writes, syncs and closes them,
        // sends them back, and exits holding what it holds, while this process goes on with the same buffers (DMABUF-PROC-1, -2)
        _procFamily = seed % 8 == 5;
        // and where the machine has a hugetlb pool, an eighth more (half the sequences of a device with no video node, as
        // udmabuf's own) makes hugetlb memfds and reads the pool (UDMABUF-HUGE-1, -2); the rest are as they were without one
        _hugeFamily = Profile.Hugetlb != null && (!_hasVideo ? seed % 2 == 0 : seed % 8 == 6);
        var rng = new Rng(seed);
        _mixVideo = rng.Chance(35);
        // half the sequences focus on one area, so deep states of each area are reached as often as mixed ones
        _areasIn = Areas.Count > 1 && rng.Chance(50) ? rng.Pick(_areaFocus) : _allAreas;
        // one model, env and handle list for every sequence, each put back as new (their tables keep their room instead of
        // growing again each sequence); the model's files dropped, not closed one by one (the generator reads none of what
        // their release paths would show)
        _model.Discard();
        _model.Seed(seed);
        _env.Clear();
        _areaBitsFor = uint.MaxValue;
        _vars.Clear();
        _pooled = 0;   // (the last sequence's handles are free again: every list that holds them is cleared here)
        _live.Clear();
        foreach (var l in _byKind) l.Clear();
        _drmFrames.Clear(); _frameBufs.Clear(); _writable.Clear(); _growable.Clear();
        // (the helper processes' lists are found again only in their family, so outside it they would keep the last such
        // sequence's handles, which the pool hands out again: cleared where a sequence filled them, and found again at the
        // first Next where they are read)
        if (_helperListsFilled)
        {
            foreach (var lists in (List<V>[][])[_theirs, _procFds, _theirBufs, _theirVideo, _theirMaps, _alsoTheirs, _theirWritable])
                foreach (var l in lists) l.Clear();
            _sendable.Clear();
            _helperListsFilled = false;
        }
        _kindsChanged = AllKinds;
        // (and no section is kept from the last sequence: its families, which some keys hold, are the new sequence's)
        _lastHeld = ulong.MaxValue;
        return (rng, _vars, _env);
    }

    private readonly Env _env = new();
    private readonly List<V> _vars = new(64);

    /// <summary>
    /// A sequence that ends in a parallel block (<see cref="Op.Branch"/>, DMABUF-PAR-1): <see cref="Generate"/>'s sequence of
    /// two thirds the length, then two branches (one in four: three) of one to three ops each, every branch drawn from the state
    /// the sequence left, so each of its ops is one the generator would make there. Branch ops are the calls whose overlap
    /// the kernel must serialize (<see cref="InBlock"/>), steered at one handle the branches share (a dma-buf, a video file, a
    /// GEM handle, a mapping): SYNC against SYNC, EXPBUF against REQBUFS(0), close against mmap. A block that releases a
    /// handle (close, GEM_CLOSE) creates no fd or handle, so no number a branch holds can be reused under it by another.
    /// </summary>
    public OpSequence GenerateParallel(ulong seed, int length)
    {
        var seq = Generate(seed, Math.Max(2, length * 2 / 3));
        var r = new Rng(seed ^ 0xA5A5_5A5A_C3C3_3C3CUL);   // the block's own draws: the steps before it are Generate's
        int branches = r.Chance(25) ? 3 : 2;
        int nextId = seq.Ops.Length == 0 ? 1 : seq.Ops.Max(o => o.Id) + 1;
        var block = new List<Op>();
        Var focus = Var.None;
        for (int b = 1; b <= branches; b++)
        {
            // the state the sequence left, rebuilt by running its steps again
            var (_, vars, env) = Start(seed);
            foreach (var op in seq.Ops) Track(op, op.Run(_model, env), vars);
            if (b == 1)
            {
                var shared = vars.Where(v => v.Live && v.Proc == 0 && v.Kind is K.DmaBuf or K.Video or K.Gem or K.Map or K.Sync).ToList();
                if (shared.Count > 0) focus = r.Pick(shared).Var;
            }
            var br = new Rng(r.Next());
            int count = 1 + br.Below(3);
            _untallied = true;   // of the many draws made here few become steps: the domain tally counts none of them
            try
            {
                for (int n = 0; n < count; n++)
                {
                    Op? onFocus = null, other = null;
                    for (int t = 0; t < 60 && onFocus == null; t++)
                    {
                        var op = Next(ref br);
                        if (op is not null) op = WholeHugeMap(op, vars);
                        if (op is null || !InBlock(op) || ClosesWhatARequestNames(op, env) || ReleasesRequestContext(op, vars)) continue;
                        if (op.Uses.Contains(focus)) onFocus = op; else other ??= op;
                    }
                    if ((onFocus ?? other) is not { } chosen) break;
                    chosen = chosen with { Id = nextId++, Branch = b };
                    Track(chosen, chosen.Run(_model, env), vars);
                    block.Add(chosen);
                }
            }
            finally { _untallied = false; _model.Discard(); }
        }
        return seq with { Ops = seq.Ops.AddRange(CloseEndsBranch(NoReuse(block).ToList())) };
    }

    /// <summary>
    /// A block's ops less, in a branch that closes an fd another branch names, the ops after that close: the other branch's
    /// call may have looked the fd up before the close (fdget) and act on the file after this branch's later calls, which
    /// no order of whole calls explains. The lab met it on vivid: [B] close(v2), close(v1) against [C] QUERYBUF(v2), which
    /// found v2 open and then the queue v1's close had released (EINVAL, not EBADF). The kernel is right (close(2), NOTES);
    /// a call is one step of the model, so the block leaves such a close last in its branch.
    /// </summary>
    public static IEnumerable<Op> CloseEndsBranch(List<Op> block)
    {
        var ended = new HashSet<int>();
        foreach (var o in block)
        {
            if (ended.Contains(o.Branch)) continue;
            yield return o;
            if (o is Close c && block.Any(x => x.Branch != o.Branch && x.Uses.Contains(c.Fd))) ended.Add(o.Branch);
        }
    }

    /// <summary>The calls a parallel block may hold: ones that return at once (no blocking DQBUF, no exec), on the kernel's
    /// locked paths that race in real programs. Not IMPORT_SYNC_FILE: a fence it adds while the other branch's SYNC START is
    /// inside the kernel makes that call sleep out vgem's 10 s timeout. Not munmap: the harness itself reads and writes
    /// through mappings, and one unmapped under it by another thread would fault the suite, not the kernel. Not the harness's
    /// own comparison of two fds (SameInode: the adapter's books, then two statx calls), which is no one call the kernel makes
    /// atomic: a close in another branch between them gave the lab a false alarm. Not a call whose argument lies in a read-only
    /// page (<see cref="Op.ReadOnlyArg"/>): what it left behind is counted from the process's fd table, which another branch's
    /// calls change meanwhile; nor one run with the fd table full (<see cref="Op.FdTableFull"/>), which every other branch's
    /// create would find full too.</summary>
    public static bool InBlock(Op op) => !op.MaySleep && op.Process == 0 && !op.ForcedFailure && op is DmaBufSync or Close or Dup or FcntlGetFd or FcntlGetFl or Llseek or Mmap or MmapVideo
        or ReadStamp or WriteStamp or ExpBuf or QueryBuf or ReqBufs or PrimeHandleToFd or PrimeFdToHandle or GemClose
        or ExportSyncFile or SyncFileInfo or Poll or VgemFenceSignal or DmaBufSetName or DmaBufSetNameA or DmaHeapAlloc or UdmabufCreate
        or DrmDumbExport;

    /// <summary>
    /// A close, in a block, of a video file or a request fd on a profile whose mem2mem node takes requests: each open of such a
    /// node has its own control handler, which the requests' control objects point at, and 6.12 oopsed once (list_del
    /// corruption in v4l2_ctrl_request_unbind, from a request's release on visl) in a run whose blocks closed them; until a
    /// reproducer isolates that race the blocks leave those closes out, so a lab run is not lost to it
    /// (spec/notes/visl-request-release-oops.md).
    /// </summary>
    private bool ReleasesRequestContext(Op op, List<V> vars) =>
        op is Close c && vars.FirstOrDefault(v => v.Var == c.Fd) is { Kind: K.Video or K.Request }
        && Profile.Video.Any(n => n.IsMem2Mem && n.RequestMedia != null);

    /// <summary>A block's ops less, where one of them releases an fd or a GEM handle, every op that creates one and every op that
    /// uses what those created: the kernel hands out the lowest free number, so a branch's fd or handle could otherwise be
    /// closed and given to another branch's new file while it still names the old one.</summary>
    /// <remarks>A DRM_IOCTL_MODE_CREATE_DUMB export (<see cref="DrmDumbExport"/>) holds a GEM handle from its create to the
    /// GEM_CLOSE inside the same step: a GEM handle another branch creates meanwhile gets the next number, which no order of
    /// whole steps gives (the lab saw PRIME_FD_TO_HANDLE return handle 2 beside one), so such a block keeps the export and
    /// drops the steps that create GEM handles, and what uses them.</remarks>
    private static IEnumerable<Op> NoReuse(List<Op> block)
    {
        if (block.Any(o => o is DrmDumbExport) && block.Any(o => o.Creates && o.Makes == Resource.GemHandle))
        {
            var handles = new HashSet<Var>();
            var rest = new List<Op>();
            foreach (var o in block)
                if (o.Uses.Any(handles.Contains) || o.Creates && o.Makes == Resource.GemHandle) { if (o.Creates) handles.Add(new Var(o.Id)); }
                else rest.Add(o);
            block = rest;
        }
        if (!block.Any(o => o is Close or GemClose)) return block;
        var gone = new HashSet<Var>();
        var kept = new List<Op>();
        foreach (var o in block)
        {
            if (o.Uses.Any(gone.Contains)) { if (o.Creates) gone.Add(new Var(o.Id)); continue; }
            if (o.Creates && o.Makes is Resource.Fd or Resource.GemHandle or Resource.FenceId) { gone.Add(new Var(o.Id)); continue; }
            kept.Add(o);
        }
        return kept;
    }

    /// <summary>Whether op closes an fd or unmaps a mapping that a buffer in a request not yet queued names as its memory: the
    /// kernel looks the number or address up only when the request is queued (VB2-REQ-9), and what it finds there after a
    /// close is beyond the model, so such a step is never generated.</summary>
    private bool ClosesWhatARequestNames(Op op, Env env) => _requestMade && op switch
    {
        Close c => env.Resolve(c.Fd, out var fd) && _model.NamedByRequest(fd, mapping: false),
        Munmap u => env.Resolve(u.Map, out var map) && _model.NamedByRequest(map, mapping: true),
        _ => false,
    };

    private void Track(Op op, Outcome o, List<V> vars)
    {
        if (!o.Ok) return;
        int before = vars.Count;
        var gone = TrackHandles(op, o, vars);
        // what the op made belongs to the process it was made in (a sent fd: the receiver)
        if (vars.Count > before && (op.ShapeOf & Op.Shape.Creates) != 0) vars[^1].Proc = op.CreatesIn;
        bool released = op is Close or Munmap or GemClose or ExitProcess;
        if (vars.Count == before && !released) return;
        // which kinds of this process's handles the op made or released, and whether a helper's: what ObserveHandles finds
        // again, and never none here (an exit, which names no handle, releases the helper's)
        uint changed = released ? gone is { } r ? KindBit(r) : HelperBit : 0;
        for (int i = before; i < vars.Count; i++) changed |= KindBit(vars[i]);
        _kindsChanged |= changed;
        // this process's live handles, kept as the handles change rather than found again from every handle ever made: the
        // ones no longer live dropped, the new ones (the newest made, so the lists stay in the order they were made) added
        // (only a close, a munmap or a GEM_CLOSE releases a handle of this process, and one: an exit releases the helper's, which
        // no list here holds)
        if (gone is { Proc: 0 })
        {
            Forget(_live, gone);
            Forget(_byKind[(int)gone.Kind], gone);
            if (gone.Kind == K.DmaBuf) { Forget(_drmFrames, gone); Forget(_frameBufs, gone); }
            else if (gone.Kind == K.Map) { Forget(_writable, gone); Forget(_growable, gone); }
        }
        for (int i = before; i < vars.Count; i++)
            if (vars[i] is { Live: true, Proc: 0 } v)
            {
                _live.Add(v);
                _byKind[(int)v.Kind].Add(v);
                if (v.Kind == K.DmaBuf)
                {
                    if (DrmFrame(v, _frame)) _drmFrames.Add(v);
                    if (FrameBuf(v, _frame)) _frameBufs.Add(v);
                }
                else if (v.Kind == K.Map)
                {
                    if (Writable(v, 0)) _writable.Add(v);
                    if (Growable(v, 0)) _growable.Add(v);
                }
            }
    }

    /// <summary>The kinds of this process's handles made or released since <see cref="ObserveHandles"/> last looked, a bit a
    /// kind (<see cref="K"/>), and <see cref="HelperBit"/> for a helper process's (all at a sequence's start, <see
    /// cref="Start"/>); <see cref="Next"/> finds again what the handles give where any is set (most ops leave them as they
    /// were).</summary>
    private uint _kindsChanged = AllKinds;
    private const uint HelperBit = 1u << 31, AllKinds = ~0u;
    private static uint Bit(K kind) => 1u << (int)kind;
    private static uint KindBit(V v) => v.Proc == 0 ? Bit(v.Kind) : HelperBit;

    /// <summary>Removes <paramref name="gone"/> from <paramref name="list"/> where it is there, keeping the order of the rest.</summary>
    private static void Forget(List<V> list, V gone)
    {
        for (int i = list.Count - 1; i >= 0; i--)
            if (ReferenceEquals(list[i], gone)) { list.RemoveAt(i); return; }
    }

    /// <summary>The first handle of the list named v in process proc (the op's own: after a fork, P1 and P2 hold one under the
    /// same name), or null.</summary>
    private static V? Find(List<V> vars, Var v, int proc)
    {
        foreach (var x in vars) if (x.Var == v && x.Proc == proc) return x;
        return null;
    }

    /// <summary>The handles the op made, added to <paramref name="vars"/>, and what it changed of those it names; the one
    /// handle it released, where it was a close, a munmap or a GEM_CLOSE (an exit releases a process's without naming one),
    /// else null.</summary>
    private V? TrackHandles(Op op, Outcome o, List<V> vars)
    {
        TrackContext(op);
        if (op is ReqBufs rb) _memory = rb.Count == 0 ? 0 : rb.Memory;
        if (op is CreateBufs cb && cb.Count > 0) _memory = cb.Memory;
        // (an op that makes, releases, forks or ends nothing, and is none of the few that change what a handle is, has no case
        // below: most ops, which the switch's thirty type tests had all been asked of)
        bool changesNone = (op.ShapeOf & (Op.Shape.Creates | Op.Shape.ConsumesSome | Op.Shape.Forks | Op.Shape.Exits)) == 0
            && op is not (WriteFrame or ImportSyncFile or RequestQueue or RequestReinit);
        if (!changesNone) return TrackCases(op, o, vars);
        if (CheckRuleTables) CheckChangesNone(op, o, vars);
        return null;
    }

    /// <summary>For <see cref="CheckRuleTables"/>: an op <see cref="TrackHandles"/> takes to change no handle, run through the
    /// cases anyway; one that made or released a handle there is a case its test misses (which would otherwise be skipped
    /// without a word). Throws then.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void CheckChangesNone(Op op, Outcome o, List<V> vars)
    {
        int before = vars.Count;
        if (TrackCases(op, o, vars) is not null || vars.Count != before)
            throw new InvalidOperationException($"{op.GetType().Name} made or released a handle in TrackCases, but TrackHandles takes it to change none: the early return misses a case");
    }

    /// <summary><see cref="TrackHandles"/>' cases, one an op type that makes, releases or changes a handle: the handles made
    /// added to <paramref name="vars"/>, what the op changed of those it names; the one handle released, or null.</summary>
    private V? TrackCases(Op op, Outcome o, List<V> vars)
    {
        // a handle as the op's own process holds it (after a fork, P1 and P2 hold one under the same name)
        switch (op)
        {
            case Open x:
                var kind = x.Class switch { Open.DeviceClass.Video => K.Video, Open.DeviceClass.Heap => K.Heap, Open.DeviceClass.Drm => K.Drm, _ => K.UdmaDev };
                vars.Add(Made(new Var(op.Id), kind, device: x.Device));
                break;
            case Dup x when Find(vars, x.Fd, op.Process) is { } src:
                vars.Add(Made(new Var(op.Id), src.Kind, device: src.Device, size: src.Size, accMode: src.AccMode, @sealed: src.Sealed));
                break;
            case SendFd x when Find(vars, x.Fd, op.Process) is { } sent:
                vars.Add(Made(new Var(op.Id), sent.Kind, device: sent.Device, size: sent.Size, accMode: sent.AccMode, @sealed: sent.Sealed, fenced: sent.Fenced,
                    sentFrom: x.Fd));
                break;
            case ExitProcess:
                foreach (var v in vars) if (v.Proc == op.Process) v.Live = false;
                break;
            case Fork f:
                // (the handles held before the fork: those added here are past n)
                for (int i = 0, n = vars.Count; i < n; i++)
                    if (vars[i] is { Live: true } v && v.Proc == f.Process)
                        vars.Add(Made(v.Var, v.Kind, device: v.Device, size: v.Size, accMode: v.AccMode, prot: v.Prot, @sealed: v.Sealed, fenced: v.Fenced,
                            sentFrom: v.SentFrom, owner: v.Owner, bufType: v.BufType, bufIndex: v.BufIndex, proc: f.To));
                break;
            case PassFd x when Find(vars, x.Fd, op.Process) is { } sent:
                vars.Add(Made(new Var(op.Id), sent.Kind, device: sent.Device, size: sent.Size, accMode: sent.AccMode, @sealed: sent.Sealed, fenced: sent.Fenced));
                break;
            case Close x when Find(vars, x.Fd, op.Process) is { } c: c.Live = false; return c;
            case Munmap x when Find(vars, x.Map, op.Process) is { } m: m.Live = false; return m;
            case DmaHeapAlloc x:
                vars.Add(Made(new Var(op.Id), K.DmaBuf, size: (long)PageAlign((long)x.Len), accMode: (int)(x.FdFlags & O_ACCMODE), device: "heap"));
                break;
            case ExpBuf x:
                vars.Add(Made(new Var(op.Id), K.DmaBuf, size: PageAlign(Node.QueueFor(x.Type).PlaneSize(x.Plane)), accMode: (int)(x.Flags & O_ACCMODE), device: "vb2", owner: x.Fd));
                break;
            case DrmDumbExport x:
                vars.Add(Made(new Var(op.Id), K.DmaBuf, size: o.R0, accMode: (x.Flags & DRM_RDWR) != 0 ? O_RDWR : O_RDONLY, device: "drm"));
                break;
            case UdmabufCreate x:
                vars.Add(Made(new Var(op.Id), K.DmaBuf, size: x.Size, accMode: O_RDWR, device: "udmabuf"));
                break;
            case UdmabufCreateList x:
                vars.Add(Made(new Var(op.Id), K.DmaBuf, size: x.SentSize, accMode: O_RDWR, device: "udmabuf"));
                break;
            case MemfdCreate x:
                vars.Add(Made(new Var(op.Id), K.Memfd, size: x.Size, accMode: O_RDWR, @sealed: (x.Seals & F_SEAL_WRITE) == 0, device: x.Hugetlb ? "hugetlb" : ""));
                break;
            case Mmap x when Find(vars, x.Fd, op.Process) is { } f:
                vars.Add(Made(new Var(op.Id), K.Map, size: x.Length, prot: x.Prot, memfd: f.Kind == K.Memfd, device: f.Device, owner: x.Fd,
                    // only a mapping from the buffer's start: where the end of one at a page offset lies is the offset rule's
                    // (DMABUF-MMAP-5), which some exporters break
                    end: f.Kind == K.DmaBuf && op.Process == 0 && x.PgOff == 0 ? f.Size : -1));
                break;
            case MmapVideo x:
                vars.Add(Made(new Var(op.Id), K.Map, size: x.Length, prot: x.Prot, device: "video", owner: x.Fd, bufType: x.Type, bufIndex: x.Index,
                    gen: _contexts.GetValueOrDefault(x.Fd.Id)?.OutGen ?? 0));
                break;
            case WriteFrame x when Find(vars, x.Map, op.Process) is { Device: "video" } m && _contexts.GetValueOrDefault(m.Owner.Id) is { } wc:
                wc.Written[m.BufIndex] = x.Res;
                break;
            case MmapAnon x:
                vars.Add(Made(new Var(op.Id), K.Map, size: x.Length, prot: PROT_READ | PROT_WRITE, anon: true));
                break;
            case DrmCreateDumb x:
                vars.Add(Made(new Var(op.Id), K.Gem, owner: x.Drm, size: o.R1, device: "drm"));
                break;
            case PrimeFdToHandle x when Find(vars, x.Fd, op.Process) is { } src:
                vars.Add(Made(new Var(op.Id), K.Gem, owner: x.Drm, size: src.Size, device: src.Device, link: src.Var, fenced: src.Fenced));
                break;
            case PrimeHandleToFd x when Find(vars, x.Handle, op.Process) is { } g:
                vars.Add(Made(new Var(op.Id), K.DmaBuf, size: g.Size, accMode: (x.Flags & DRM_RDWR) != 0 ? O_RDWR : O_RDONLY, device: g.Device, link: g.Var, fenced: g.Fenced));
                if (g.Link.Id == 0) g.Link = new Var(op.Id);
                break;
            case GemClose x when Find(vars, x.Handle, op.Process) is { } g: g.Live = false; return g;
            case DrmMapDumb x when Find(vars, x.Handle, op.Process) is { } g:
                vars.Add(Made(new Var(op.Id), K.Map, size: g.Size, prot: x.Prot, device: "drm"));
                break;
            case VgemFenceAttach x:
                vars.Add(Made(new Var(op.Id), K.Fence, owner: x.Drm));
                if (Find(vars, x.Handle, op.Process) is { } fg) { fg.Fenced = true; if (Find(vars, fg.Link, op.Process) is { } lb) lb.Fenced = true; }
                break;
            case ImportSyncFile x when Find(vars, x.Fd, op.Process) is { } ib: ib.Fenced = true; break;
            case RequestAlloc x:
                _requestMade = true;
                vars.Add(Made(new Var(op.Id), K.Request, device: x.Media));
                break;
            case RequestQueue x when Find(vars, x.Req, op.Process) is { } rq: rq.Submitted = true; break;
            case RequestReinit x when Find(vars, x.Req, op.Process) is { } rq: rq.Submitted = false; break;
            case ExportSyncFile or SyncMerge:
                vars.Add(Made(new Var(op.Id), K.Sync, accMode: O_RDONLY, size: o.R1, fenced: o.R0 == 0));   // Size: num_fences; Fenced: pending
                break;
        }
        return null;
    }

    private bool _waitFamily;   // this sequence is steered to a blocking DQBUF that waits (see Generate)
    private bool _drainFamily;  // this sequence is steered through an encoder's drain (see Generate)
    private bool _decoderDrain; // in the drain family on a stateful decoder: its drain rather than its source change
    private bool _pinPath;      // steered to USERPTR QBUFs of memory vb2 must refuse to pin (see Generate)
    private int _pinQueued;     // how many such QBUFs this sequence has sent
    private bool _payloadFamily;   // steered to queue a raw output buffer's dma-buf again (see Start)
    private bool _hugeFamily;      // makes hugetlb memfds and reads the hugetlb pool (see Start)
    private int _payloadQueued;    // how many such QBUFs this sequence has sent
    private bool _execFamily;   // asks an exec'd program which fds it holds (see Generate)
    private bool _procFamily;   // has a second process (see Generate)
    private uint? _requestBound;      // the buffer the request-memory way last put into a request
    private bool _requestPoked;       // and whether a refused QBUF without the request has been tried on it since
    private bool _requestMade;        // a request was allocated in this sequence (without one, no buffer is in a request)
    private int _requestMemoryQueued;   // QBUFs into requests the request-memory way has taken in this sequence
    private uint _requestMemory; // the memory this sequence's requests carry (see Generate); 0 = MMAP, as the queue was set up
    private uint _memoryFamily; // on a mem2mem node, the memory this sequence allocates most (see Generate); 0 = as drawn
    private readonly ReferenceModel _model;   // the model the sequence being generated runs on (its own device clock)
    private uint _memory;   // the video queue's memory type as last set by REQBUFS / CREATE_BUFS (0 = none)

    /// <summary>A mem2mem context as the generator has seen it set up: which of its queues have buffers and which stream.</summary>
    private sealed class M2mContext
    {
        public bool CapBufs, OutBufs, CapOn, OutOn;
        /// <summary>On a decoder: the OUTPUT buffers (by index) a frame was written into, and its resolution.</summary>
        public readonly Dictionary<uint, int> Written = new();
        /// <summary>How many times REQBUFS allocated or freed its OUTPUT buffers: a mapping made before maps buffers since gone.</summary>
        public int OutGen;
        /// <summary>On a decoder: the stream resolution its decoder had signalled when the generator last allocated CAPTURE.</summary>
        public int? CapAllocRes;
    }
    /// <summary>Each open (and dup) of a mem2mem node → its context.</summary>
    private readonly Dictionary<int, M2mContext> _contexts = new();

    private void TrackContext(Op op)
    {
        // (every case but a mem2mem open follows a context this sequence opened: with none, there is nothing to look up)
        if (_contexts.Count == 0 && op is not Open) return;
        M2mContext? Of(Var v) => _contexts.GetValueOrDefault(v.Id);
        switch (op)
        {
            case Open x when Profile.VideoNode(x.Device) is { IsMem2Mem: true }: _contexts[op.Id] = new M2mContext(); break;
            case Dup x when Of(x.Fd) is { } c: _contexts[op.Id] = c; break;
            case SendFd x when Of(x.Fd) is { } c: _contexts[op.Id] = c; break;
            case ReqBufs x when Of(x.Fd) is { } c:
                if (IsOutputType(x.Type)) c.OutBufs = x.Count > 0; else c.CapBufs = x.Count > 0;
                if (IsOutputType(x.Type)) { c.Written.Clear(); c.OutGen++; }   // new buffers: what was written stays with the old ones
                break;
            case CreateBufs x when x.Count > 0 && Of(x.Fd) is { } c:
                if (IsOutputType(x.Type)) c.OutBufs = true; else c.CapBufs = true;
                break;
            case StreamOn x when Of(x.Fd) is { } c:
                if (IsOutputType(x.Type)) c.OutOn = true; else c.CapOn = true;
                break;
            case StreamOff x when Of(x.Fd) is { } c:
                if (IsOutputType(x.Type)) c.OutOn = false; else c.CapOn = false;
                break;
        }
    }

    // Next's working lists (see there)
    private readonly List<V> _live = new();
    private readonly List<List<V>> _scratch = new();
    private int _scratchUsed;

    /// <summary>The handles of a (then b) that match, in order, in a list of Next's own (reused by its next call: a rule reads
    /// it before Next returns, and no op holds one).</summary>
    private List<V> Filter(List<V> a, Func<V, bool> match) => Filter(a, null, match);
    private List<V> Filter(List<V> a, List<V>? b, Func<V, bool> match)
    {
        var list = Scratch();
        foreach (var v in a) if (match(v)) list.Add(v);
        if (b != null) foreach (var v in b) if (match(v)) list.Add(v);
        return list;
    }

    /// <summary>Whether some handle of the list passes the test, given a value it reads (a static lambda: no closure).</summary>
    private static bool Exists<T>(List<V> list, T arg, Func<V, T, bool> test)
    {
        foreach (var v in list) if (test(v, arg)) return true;
        return false;
    }

    /// <summary><see cref="Filter(List{V}, Func{V, bool})"/> with a value the test reads (so the test can be a static lambda:
    /// one that captures a local is a new delegate at each call).</summary>
    private List<V> Filter<T>(List<V> a, T arg, Func<V, T, bool> match)
    {
        var list = Scratch();
        Refill(list, a, arg, match);
        return list;
    }

    /// <summary>Next's next pooled list, empty.</summary>
    private List<V> Scratch()
    {
        if (_scratchUsed == _scratch.Count) _scratch.Add(new List<V>());
        var list = _scratch[_scratchUsed++];
        list.Clear();
        return list;
    }
    private readonly List<V>[] _byKind = Enum.GetValues<K>().Select(_ => new List<V>()).ToArray();

    /// <summary>
    /// A rule <see cref="Next"/> may draw: its weight, and how it makes its op from a random stream of its own. Most are static
    /// lambdas (<paramref name="Make"/>) that read what Next found through the generator (<see cref="Video"/>, <see cref="Bufs"/>,
    /// the lists <see cref="ObserveHandles"/> and <see cref="Observe"/> fill): the compiler makes each once, so offering it
    /// allocates nothing, and a section of them can be kept from op to op. The others (<paramref name="Build"/>) capture the
    /// locals of the method that offers them and are a new delegate each time; they are a stateful decoder's rules, and a
    /// section that holds one is made again at every op.
    /// </summary>
    private readonly record struct Rule(int W, Func<SequenceGenerator, Rng, Op?>? Make, Func<Rng, Op?>? Build);
    /// <summary>The rules offered to the section being made (<see cref="Section"/>: the first <see cref="_ruleCount"/>, the
    /// section's own array), and the sum of their weights.</summary>
    private Rule[] _rules = new Rule[64];
    private int _ruleCount, _ruleWeight;

    /// <summary>Offers a static rule (<see cref="Rule"/>) with weight <paramref name="w"/>; one of weight 0 is not offered.</summary>
    private void Offer(int w, Func<SequenceGenerator, Rng, Op?> make) { if (w > 0) Offered(new Rule(w, make, null)); }

    private void Offered(in Rule rule)
    {
        if (_ruleCount == _rules.Length) Array.Resize(ref _rules, _ruleCount * 2);
        // most ops are offered the rules the op before was offered, in the same places: an entry that already holds this
        // rule's delegates is left as it is (writing a reference into the array costs a write barrier each time)
        if (rule.Build != null) _offeredBuilt = true;
        ref var slot = ref _rules[_ruleCount++];
        if (ReferenceEquals(slot.Make, rule.Make) && ReferenceEquals(slot.Build, rule.Build)) { if (slot.W != rule.W) slot = rule; }
        else slot = rule;
        _ruleWeight += rule.W;
    }

    // this process's live handles of each kind while Next runs (the rules read them before it returns)
    private List<V> Video => _byKind[(int)K.Video];
    private List<V> Heaps => _byKind[(int)K.Heap];
    private List<V> Udev => _byKind[(int)K.UdmaDev];
    private List<V> Drms => _byKind[(int)K.Drm];
    private List<V> Bufs => _byKind[(int)K.DmaBuf];
    private List<V> Memfds => _byKind[(int)K.Memfd];
    private List<V> Maps => _byKind[(int)K.Map];
    private List<V> Gems => _byKind[(int)K.Gem];
    private List<V> Syncs => _byKind[(int)K.Sync];
    private List<V> Fences => _byKind[(int)K.Fence];
    private List<V> Reqs => _byKind[(int)K.Request];
    /// <summary>The profile's first video node, the one the V4L2 rules drive.</summary>
    private VideoNodeProfile Node => _node!;
    // what Next and ObserveHandles found for the rules (the fence mix set at every op; whether a DRM export holding a frame
    // is there to import, where the handles change)
    private bool _fenceMix, _importFrames;
    // (the first four are kept as the handles change, in Track, with the live lists: each reads only what a handle is given
    // when it is made; the flags are found where the handles change, ObserveHandles; the rest at every op, Observe)
    private readonly List<V> _drmFrames = [], _frameBufs = [], _writable = [], _growable = [];
    /// <summary>A frame of the profile's first video node, in bytes (<see cref="VideoNodeProfile.SizeImage"/>); long.MaxValue
    /// where it has none.</summary>
    private readonly long _frame;
    /// <summary>A DRM export that holds a frame (the queue imports it: <see cref="_drmFrames"/>).</summary>
    private static bool DrmFrame(V b, long frame) => b.Device == "drm" && b.Size >= frame;
    /// <summary>A heap or udmabuf dma-buf, readable, that holds a frame (<see cref="_frameBufs"/>).</summary>
    private static bool FrameBuf(V b, long frame) => b.Size >= frame && b.Device is "heap" or "udmabuf" && b.AccMode != O_WRONLY;
    /// <summary>A writable mapping (<see cref="_writable"/>).</summary>
    private static bool Writable(V m, int _) => (m.Prot & PROT_WRITE) != 0;
    /// <summary>A dma-buf mapping from the buffer's start, in this process (<see cref="_growable"/>: one MremapGrow grows past
    /// its buffer).</summary>
    private static bool Growable(V m, int _) => m.End > 0 && m.Proc == 0;
    private List<V> _waits = NoHandles, _draining = NoHandles, _pending = NoHandles;
    /// <summary>An empty list of handles, which nothing adds to: <see cref="Observe"/>'s lists where it finds none.</summary>
    private static readonly List<V> NoHandles = [];

    /// <summary>The wait family's way to a blocking DQBUF that waits for a buffer, one step at a time on a handle: MMAP buffers,
    /// every one queued, streaming, then the wait (null where the drawn handle has no next step).</summary>
    private Op? WaitPath(Rng r)
    {
        List<V> video = Video;
        var env = _env;
        var node = Node;
        var v = r.Pick(video);
        if (!env.Resolve(v.Var, out var fd) || _model.ViewQueue(fd, node.BufType) is not { } q) return null;
        if (q.Allocated == 0) return new ReqBufs(v.Var, node.BufType, V4L2_MEMORY_MMAP, (uint)(1 + r.Below(3)));
        if (q.Memory != V4L2_MEMORY_MMAP) return null;
        // (an index the BufIndex domain declares: past 3, the random QBUF rule queues it, seldom)
        if (q.Idle is { } i) return i <= 3 ? new QBuf(v.Var, node.BufType, (uint)i, V4L2_MEMORY_MMAP, Var.None) : null;
        return q.Streaming ? new DQBufBlocking(v.Var, node.BufType) : new StreamOn(v.Var, node.BufType);
    }

    /// <summary>The pin path's way to a USERPTR QBUF of memory vb2 must refuse (a dma-heap buffer's mapping, VM_PFNMAP, or a
    /// mapping shorter than a frame), one step at a time (null where the drawn handle has no next step).</summary>
    private Op? PinPath(Rng r)
    {
        List<V> video = Video, heaps = Heaps, bufs = Bufs, maps = Maps;
        var env = _env;
        var node = Node;
        bool mp = node.MultiPlanar;
        int np = node.NumPlanes;
        // the node's queue (a mem2mem node's CAPTURE), with a dma-heap buffer's mapping or one shorter than a frame
        var v = r.Pick(video);
        long frame = node.SizeImage;
        if (heaps.Count == 0) return new Open(Profile.Heaps[0].Device, O_RDONLY | O_CLOEXEC);
        var big = Filter(bufs, frame, static (b, frame) => b.Device == "heap" && b.Size >= frame && b.AccMode == O_RDWR);
        if (big.Count == 0) return new DmaHeapAlloc(r.Pick(heaps).Var, (ulong)PageAlign(frame), O_RDWR | O_CLOEXEC, 0, 0, HeapAbi.Current);
        var pfn = Filter(maps, frame, static (m, frame) => !m.Anon && !m.Memfd && m.Device == "heap" && m.Size >= frame);
        if (pfn.Count == 0) { var b = r.Pick(big); return new Mmap(b.Var, 0, b.Size, PROT_READ | PROT_WRITE, MAP_SHARED); }
        var shortMaps = Filter(maps, frame, static (m, frame) => m.Anon && m.Size < frame);
        if (shortMaps.Count == 0) return new MmapAnon(PAGE_SIZE);
        if (!env.Resolve(v.Var, out var fd) || _model.ViewQueue(fd, node.BufType) is not { } q) return null;
        if (q.Allocated == 0) return new ReqBufs(v.Var, node.BufType, V4L2_MEMORY_USERPTR, 2);
        if (q.Memory != V4L2_MEMORY_USERPTR || q.Idle is not { } idle) return null;
        _pinQueued++;
        bool shortOne = !(node.IsOutput && mp) && r.Chance(50);
        var mem = shortOne ? r.Pick(shortMaps) : r.Pick(pfn);
        var more = ImmutableArray.CreateRange(Enumerable.Repeat(mem.Var, mp ? np - 1 : 0));
        // on an output queue the payload must fit the mapping, or the payload check refuses it first
        return new QBuf(v.Var, node.BufType, (uint)idle, V4L2_MEMORY_USERPTR, mem.Var)
            { MorePlanes = mp ? more : default, BytesUsed = node.IsOutput && shortOne ? mem.Size : 0 };
    }

    /// <summary>The payload family's way to a DMABUF buffer of a raw output queue queued with a dma-buf larger than a frame, taken
    /// back by STREAMOFF and queued again with the same dma-buf, one step at a time (null where there is none).</summary>
    private Op? PayloadPath(Rng r)
    {
        List<V> video = Video, heaps = Heaps, bufs = Bufs;
        var env = _env;
        var payNode = Node.RawOutputQueue!;
        var v = r.Pick(video);
        uint t = payNode.BufType;
        long size = PageAlign(payNode.SizeImage) + PAGE_SIZE;
        if (heaps.Count == 0) return new Open(Profile.Heaps[0].Device, O_RDONLY | O_CLOEXEC);
        if (bufs.FirstOrDefault(b => b.Device == "heap" && b.Size >= size && b.AccMode == O_RDWR) is not { } mem)
            return new DmaHeapAlloc(r.Pick(heaps).Var, (ulong)size, O_RDWR | O_CLOEXEC, 0, 0, HeapAbi.Current);
        if (!env.Resolve(v.Var, out var fd) || _model.ViewQueue(fd, t) is not { } q) return null;
        if (q.Allocated == 0) return new ReqBufs(v.Var, t, V4L2_MEMORY_DMABUF, 1);
        if (q.Memory != V4L2_MEMORY_DMABUF) return null;
        if (q.Idle is not { } idle) return new StreamOff(v.Var, t);
        _payloadQueued++;
        bool mpq = IsMultiPlanar(t);
        var more = mpq ? ImmutableArray.CreateRange(Enumerable.Repeat(mem.Var, payNode.NumPlanes - 1)) : default;
        var again = new QBuf(v.Var, t, (uint)idle, V4L2_MEMORY_DMABUF, mem.Var) { MorePlanes = more };
        // a buffer that already holds this dma-buf is queued with other payload fields than its last QBUF's (the
        // first QBUF passes one frame: a single-planar payload above the setup size meets the stored-length bound)
        if (!mpq && !(env.Resolve(mem.Var, out var mfd) && _model.StoredLengthHolds(fd, t, (uint)idle, mfd))) return again;
        PlaneFields[] others = mpq ? [PlaneFields.PayloadLength, PlaneFields.OffsetTail, PlaneFields.PayloadPastLength, PlaneFields.OffsetAtPayload] : [PlaneFields.PayloadLength];
        return r.Chance(75) ? again with { Fields = r.Pick(others) } : again;
    }

    /// <summary>The request-memory family's way to a request carrying imported memory, one step at a time (null where the
    /// drawn handle has no next step).</summary>
    private Op? RequestMemoryPath(Rng r)
    {
        List<V> video = Video, heaps = Heaps, bufs = Bufs, maps = Maps, reqs = Reqs, memfds = Memfds;
        var env = _env;
        var node = Node;
        var rqNode = node.IsMem2Mem ? node.OutputQueue! : node;
        uint rmem = RequestQueueMemory(rqNode);
        var rmedia = node.RequestMedia!;
        var v = r.Pick(video);
        long frame = rqNode.SizeImage;
        var pool = rmem == V4L2_MEMORY_DMABUF ? Filter(bufs, frame, static (b, frame) => b.Size >= frame && b.AccMode == O_RDWR)
            : Filter(maps, frame, static (m, frame) => m.Anon && m.Size >= frame);
        if (pool.Count == 0 && rmem == V4L2_MEMORY_USERPTR) return new MmapAnon(PageAlign(frame));
        if (pool.Count == 0 && heaps.Count == 0) return new Open(Profile.Heaps[0].Device, O_RDONLY | O_CLOEXEC);
        if (pool.Count == 0) return new DmaHeapAlloc(r.Pick(heaps).Var, (ulong)PageAlign(frame), O_RDWR | O_CLOEXEC, 0, 0, HeapAbi.Current);
        if (reqs.Count == 0) return new RequestAlloc(rmedia);
        if (reqs.FirstOrDefault(x => !x.Submitted && env.RequestHeld(x.Var) > 0) is { } full)
        {
            // now and then, first a QBUF of that buffer without the request, with other memory: vb2 refuses it
            // (the queue is fed through requests), and the request must still take what its own QBUF gave (VB2-REQ-10)
            if (_requestBound is { } bound && !_requestPoked && r.Chance(40))
            {
                _requestPoked = true;
                var other = r.Chance(50) || rmem != V4L2_MEMORY_DMABUF ? r.Pick(pool).Var : Among(ref r, (1, memfds), (1, video));
                return MorePlanes(ref r, new QBuf(v.Var, rqNode.BufType, bound, rmem, other), pool);
            }
            return new RequestQueue(full.Var);
        }
        if (!env.Resolve(v.Var, out var fd) || _model.ViewQueue(fd, rqNode.BufType) is not { } q) return null;
        if (q.Allocated == 0 && !q.Streaming) return new ReqBufs(v.Var, rqNode.BufType, rmem, 2);
        if (q.Memory != rmem || q.Idle is not { } idle || reqs.FirstOrDefault(x => !x.Submitted) is not { } empty) return null;
        _requestMemoryQueued++;
        _requestBound = (uint)idle;
        _requestPoked = false;
        // one in four names memory vb2 must refuse when the request is queued: a file that is not a dma-buf, or a
        // mapping shorter than a frame
        var mem = !r.Chance(25) ? r.Pick(pool).Var
            : rmem == V4L2_MEMORY_DMABUF ? Among(ref r, (1, memfds), (1, video)) : Among(ref r, (1, Filter(maps, frame, static (m, frame) => m.Anon && m.Size < frame)), (1, pool));
        // on a single-planar output queue a short mapping goes with a payload that fits it, or the QBUF's own length
        // check refuses it before the request can (as on the way to a direct USERPTR QBUF above)
        long shortPayload = rqNode.IsOutput && !rqNode.MultiPlanar && rmem == V4L2_MEMORY_USERPTR
            && maps.FirstOrDefault(m => m.Var == mem) is { Anon: true } sm && sm.Size < frame ? sm.Size : 0;
        return MorePlanes(ref r, new QBuf(v.Var, rqNode.BufType, (uint)idle, rmem, mem), pool) with { Req = empty.Var, BytesUsed = shortPayload };
    }

    /// <summary>The drain family's way through an encoder's drain, one step at a time on a context (null where the drawn handle
    /// has no next step).</summary>
    private Op? EncoderDrainPath(Rng r)
    {
        List<V> video = Video, draining = _draining;
        var env = _env;
        uint capT = Node.BufType, outT = Node.OutputQueue!.BufType;
        var v = r.Pick(video);
        if (!env.Resolve(v.Var, out var fd) || _model.ViewQueue(fd, capT) is not { } cq || _model.ViewQueue(fd, outT) is not { } oq) return null;
        if (oq.Allocated == 0) return new ReqBufs(v.Var, outT, V4L2_MEMORY_MMAP, 2);
        if (cq.Allocated == 0) return new ReqBufs(v.Var, capT, V4L2_MEMORY_MMAP, 2);
        if (oq.Memory != V4L2_MEMORY_MMAP || cq.Memory != V4L2_MEMORY_MMAP) return null;
        if (!oq.Streaming) return new StreamOn(v.Var, outT);
        if (!cq.Streaming) return new StreamOn(v.Var, capT);
        bool eos = (_model.SubscribedEvents(fd) & (1u << (int)V4L2_EVENT_EOS)) != 0;
        if (cq.LastDequeued)
            return r.Weighted((4, 0), (3, 1), (1, 2), (4, 3), (eos ? 3 : 0, 4), (4, 5)) switch
            {
                // an OUTPUT buffer queued now waits for START (VB2-DRAIN-5): queue one, or look for it
                5 => oq.Idle is { } li && li <= 3 && r.Chance(60) ? new QBuf(v.Var, outT, (uint)li, V4L2_MEMORY_MMAP, Var.None) : new DQBuf(v.Var, outT),
                0 => new DQBuf(v.Var, capT),
                1 => new EncoderCmd(v.Var, V4L2_ENC_CMD_START, false),
                2 => new StreamOff(v.Var, capT),
                3 => new DQEvent(v.Var),   // the drain's EOS, if the file subscribed before the STOP
                _ => (Op)new SubscribeEvent(v.Var, r.Chance(50) ? V4L2_EVENT_EOS : V4L2_EVENT_ALL, true),   // and its end
            };
        // draining: a blocking DQBUF where the drain must return a buffer, else queue every CAPTURE buffer
        // (the drain hands them all back; vb2 gives them to the driver once enough are queued)
        if (cq.Draining && oq.Idle is { } di && di <= 3 && r.Chance(25))
            return new QBuf(v.Var, outT, (uint)di, V4L2_MEMORY_MMAP, Var.None);   // queued after the STOP: held
        if (cq.Draining)
            return draining.Any(d => d.Var == v.Var) ? new DQBufBlocking(v.Var, capT)
                : cq.Idle is { } ci && ci <= 3 ? new QBuf(v.Var, capT, (uint)ci, V4L2_MEMORY_MMAP, Var.None) : new DQBuf(v.Var, capT);
        if (oq.Idle is { } oi && oi <= 3 && r.Chance(50)) return new QBuf(v.Var, outT, (uint)oi, V4L2_MEMORY_MMAP, Var.None);
        if (cq.Idle is { } i && i <= 3 && r.Chance(50)) return new QBuf(v.Var, capT, (uint)i, V4L2_MEMORY_MMAP, Var.None);
        if (!eos && r.Chance(50)) return new SubscribeEvent(v.Var, V4L2_EVENT_EOS, false);
        return r.Chance(70) ? new EncoderCmd(v.Var, V4L2_ENC_CMD_STOP, false) : new DQBuf(v.Var, r.Chance(50) ? capT : outT);
    }

    /// <summary>
    /// The next op of the sequence, drawn by weight from the rules the current state offers (null where it offers none, or
    /// the drawn rule makes nothing here). The rules come in sections (the V4L2 queue's, the DRM device's, PRIME's, the
    /// fences', the heap's, udmabuf's, the dma-buf core's, exec, the helper processes', bad fds, mappings), each kept while
    /// what its key holds is unchanged (<see cref="Sections"/>); the draw is one <see cref="Rng.Below"/> over their total
    /// weight, walking the rules in that order, as over one table, so a seed draws what it drew before sections existed.
    /// </summary>
    /// <summary><see cref="Next"/>'s areas for the current sequence and memory, one bit each: vb2 1, heap 2, udmabuf 4, the
    /// dma-buf core 8, DRM 0x10, fences 0x20, PRIME 0x40, the fence mix (fences with the V4L2 queue) 0x80.</summary>
    private uint AreaBits()
    {
        var areas = _areasIn;
        bool vb2 = areas.Vb2 && _hasVideo, heap = areas.Heap && _hasHeaps,
             udma = areas.Udmabuf && _hasUdmabuf, core = areas.DmaBuf, drm = false;
        // a DMABUF or USERPTR queue needs memory from another exporter to import
        if (vb2 && (_memory is V4L2_MEMORY_DMABUF or V4L2_MEMORY_USERPTR || _memoryFamily != 0) && _hasHeaps) heap = true;
        // dma-buf core ops need some exporter; with only "dmabuf" selected, use every exporter
        if (core && !vb2 && !heap && !udma)
        {
            vb2 = _hasVideo; heap = _hasHeaps; udma = _hasUdmabuf; drm = _hasDrm;
        }
        bool fence = areas.Fence && _vgemFences, prime = areas.Prime && _hasDrm;
        if (fence || prime)
        {
            // every exporter beside the DRM device, so buffers from each meet vgem's PRIME import and its fences
            drm = true; core = true;
            heap |= _hasHeaps; udma |= _hasUdmabuf; vb2 |= _mixVideo && _hasVideo;
        }
        bool fenceMix = fence && vb2;
        return (vb2 ? 1u : 0) | (heap ? 2u : 0) | (udma ? 4u : 0) | (core ? 8u : 0) | (drm ? 0x10u : 0) | (fence ? 0x20u : 0)
            | (prime ? 0x40u : 0) | (fenceMix ? 0x80u : 0);
    }
    /// <summary>The last <see cref="AreaBits"/>, and the memory it was worked out for (uint.MaxValue: none yet this sequence).</summary>
    private uint _areaBits, _areaBitsFor = uint.MaxValue;

    private Op? Next(ref Rng r)
    {
        // this process's live handles, and each kind's, in the order they were made, are kept by Track as handles come and go;
        // what ObserveHandles finds beside them is found again only after an op that made, closed or moved a handle (most
        // ops leave them as they were)
        _scratchUsed = 0;
        if (_kindsChanged != 0)
        {
            if (CheckRuleTables) CheckLiveLists();
            ObserveHandles();
            _held = Held();
        }
        else if (CheckRuleTables) CheckHandleLists();
        // the areas this op draws from: they follow only the sequence's focus, the profile and the queue's memory, so they are
        // worked out again only where the memory changed (or a sequence started)
        if (_areaBitsFor != _memory) (_areaBits, _areaBitsFor) = (AreaBits(), _memory);
        uint areaBits = _areaBits;
        bool vb2 = (areaBits & 1) != 0, heap = (areaBits & 2) != 0, udma = (areaBits & 4) != 0, core = (areaBits & 8) != 0,
            drm = (areaBits & 0x10) != 0, fence = (areaBits & 0x20) != 0, prime = (areaBits & 0x40) != 0, fenceMix = (areaBits & 0x80) != 0;
        _fenceMix = fenceMix;
        // the rules, section by section in the order they are drawn; a section's rules and their weights follow only what
        // its key holds, so it is made again only where one of those changed (most ops change none): rule weights kept per
        // state class, a class per section
        Observe(vb2, fence);
        _vb2 = vb2; _fence = fence; _prime = prime;
        // (where nothing a section reads changed since the last op, every section is as it was: what the keys read of the
        // handles (Held; a sequence's start counts as a change), the area flags, and what else an op changes that the
        // sections' keys hold: a value added to a key in Sections that an op can change without changing the handles goes
        // here too)
        ulong moved = areaBits | (_waits.Count > 0 ? 0x100UL : 0) | (_draining.Count > 0 ? 0x200UL : 0)
            | (_pending.Count > 1 ? 0x400UL : 0) | (_pinQueued < 2 ? 0x800UL : 0) | (_payloadQueued < 6 ? 0x1000UL : 0)
            | (_requestMemoryQueued < 2 ? 0x2000UL : 0) | (ulong)_memory << 16;
        int total = 0;
        bool asBefore = _allKeepable && moved == _lastMoved && _held == _lastHeld;
        if (asBefore && !CheckRuleTables) total = _lastTotal;
        else
        {
            // (the bits of Held that changed since the last op: a section whose key reads none of them is kept as it was;
            // where anything else a key reads moved, or a sequence started, every section is asked)
            ulong changed = moved != _lastMoved || _lastHeld == ulong.MaxValue ? ulong.MaxValue : _held ^ _lastHeld;
            total = Sections(vb2, heap, udma, core, drm, fence, prime, fenceMix, changed);
            if (asBefore && (_remade || total != _lastTotal))
                throw new InvalidOperationException("a section was made again where nothing Next compares with the last op's changed: the comparison misses something a section's key holds");
        }
        (_lastMoved, _lastHeld, _lastTotal) = (moved, _held, total);
        if (total == 0) return null;
        int pick = r.Below(total);
        foreach (var sec in _sections)
        {
            if (pick >= sec.Weight) { pick -= sec.Weight; continue; }
            // the first rule whose running sum passes the pick: the one the walk over their weights stops at (read from the
            // section's table of them where it has one)
            int lo = 0;
            if (sec.Stops is { } stops) lo = stops[pick];
            else
            {
                int[] ends = sec.Ends;
                int hi = sec.Count - 1;
                while (lo < hi)
                {
                    int mid = (lo + hi) >> 1;
                    if (pick < ends[mid]) hi = mid; else lo = mid + 1;
                }
            }
            ref readonly var rule = ref sec.Rules[lo];
            return rule.Make is { } make ? make(this, r.Fork()) : rule.Build!(r.Fork());
        }
        return null;
    }

    // what the last Next's sections were made for (see there); _lastHeld is no Held() at a sequence's start (see Start)
    private ulong _lastMoved, _lastHeld = ulong.MaxValue;
    private int _lastTotal;
    /// <summary>What the sections' keys read of the handles (<see cref="Held"/>) since they last changed.</summary>
    private ulong _held;

    /// <summary>
    /// Everything the sections' keys read of this process's and the helpers' handles, as the keys read it (a list's count to
    /// the bound a key counts it to, whether a list holds any, the flags <see cref="ObserveHandles"/> found), in one word: an
    /// op that made or released a handle and left this word as it was leaves every section's key as it was (most such ops
    /// do: a third buffer, a second mapping), and <see cref="Next"/> keeps the sections without making their keys again.
    /// A key that reads something of the handles this word does not hold is caught by <see cref="CheckRuleTables"/> (a kept
    /// section made again where nothing Next compares changed). 43 of the 64 bits.
    /// </summary>
    private ulong Held()
    {
        static ulong Upto(int count, int bound) => (uint)Math.Min(count, bound);
        static ulong Any(List<V> list, int bit) => list.Count > 0 ? 1UL << bit : 0;
        static ulong Flag(bool b, int bit) => b ? 1UL << bit : 0;
        var kinds = _byKind;
        ulong h = Upto(kinds[(int)K.Video].Count, 3) << HeldAt.Video | Upto(kinds[(int)K.Request].Count, 2) << HeldAt.Requests
            | Upto(kinds[(int)K.Drm].Count, 2) << HeldAt.Drms | Upto(kinds[(int)K.DmaBuf].Count, 2) << HeldAt.Bufs
            | Upto(kinds[(int)K.Memfd].Count, 3) << HeldAt.Memfds
            | Any(kinds[(int)K.Gem], HeldAt.Gems) | Any(kinds[(int)K.Fence], HeldAt.Fences) | Any(kinds[(int)K.Sync], HeldAt.Syncs)
            | Any(kinds[(int)K.Heap], HeldAt.Heaps) | Any(kinds[(int)K.UdmaDev], HeldAt.Udev) | Any(kinds[(int)K.Map], HeldAt.Maps)
            | Any(_writable, HeldAt.Writable) | Any(_growable, HeldAt.Growable) | Any(_frameBufs, HeldAt.FrameBufs)
            | Flag(_frameMapped, HeldAt.FrameMapped) | Flag(_fewAnon, HeldAt.FewAnon) | Flag(_importFrames, HeldAt.ImportFrames)
            | Flag(_hugetlbMade, HeldAt.Hugetlb);
        // (the helper processes' lists are found only in their family: elsewhere they stay as they were, and no key reads them)
        if (!_procFamily) return h;
        h |= Flag(_p2Lives, HeldAt.P2Lives) | Any(_sendable, HeldAt.Sendable);
        for (int p = 1, at = HeldAt.Helpers; p <= 2; p++, at += 9)
            h |= (Upto(_procFds[p].Count, 4) | Any(_theirs[p], 3) | Any(_alsoTheirs[p], 4) | Any(_theirBufs[p], 5) | Any(_theirVideo[p], 6)
                | Any(_theirMaps[p], 7) | Any(_theirWritable[p], 8)) << at;
        return h;
    }

    /// <summary>Where each value <see cref="Held"/> holds begins in its word: the counts two bits each (to 3 at most), the
    /// rest one bit, then nine bits for each helper process (its fds counted to 4, six lists holding any). <see
    /// cref="SectionReads"/> names its bits by these.</summary>
    private static class HeldAt
    {
        public const int Video = 0, Requests = 2, Drms = 4, Bufs = 6, Memfds = 8, Gems = 10, Fences = 11, Syncs = 12, Heaps = 13,
            Udev = 14, Maps = 15, Writable = 16, Growable = 17, FrameBufs = 18, FrameMapped = 19, FewAnon = 20, ImportFrames = 21,
            Hugetlb = 22, P2Lives = 23, Sendable = 24, Helpers = 25;
    }
    /// <summary>Every section may be kept after the last <see cref="Sections"/> (none holds rules that capture the state).</summary>
    private bool _allKeepable;
    /// <summary>The last <see cref="Sections"/> made some section again.</summary>
    private bool _remade;

    /// <summary>The sections of <see cref="Next"/>'s rules for the current state, in the order they are drawn, each kept or
    /// made again (<see cref="Section"/>); their total weight.</summary>
    private int Sections(bool vb2, bool heap, bool udma, bool core, bool drm, bool fence, bool prime, bool fenceMix, ulong changed)
    {
        List<V> heaps = Heaps, udev = Udev, drms = Drms, bufs = Bufs, maps = Maps;
        _allKeepable = true;
        _remade = false;
        // (each section's key is written by a method of its own: in one method this long the compiler kept the key's words in
        // memory, not in registers, and each bit written cost some twenty instructions; a section whose key reads none of
        // the changed bits of Held is kept without its key (Kept), and with the checks its key is made and must be the same)
        int total = Kept(0, changed, out int w) ? w : Section(0, Vb2Key(vb2), vb2 ? static g => g.Vb2Rules() : null, changed);
        total += Kept(1, changed, out w) ? w : Section(1, DrmKey(drm, fence || prime, vb2), drm ? static g => g.DrmRules() : null, changed);
        bool primeOn = (prime || fence) && drms.Count > 0;
        total += Kept(2, changed, out w) ? w : Section(2, PrimeKey(primeOn, fenceMix), primeOn ? static g => g.PrimeRules(g._fenceMix) : null, changed);
        total += Kept(3, changed, out w) ? w : Section(3, FenceKey(fence), fence ? static g => g.FenceRules() : null, changed);
        if (Kept(4, changed, out w)) total += w;
        else
        {
            var k = new ClassKey();
            k.Put(heap);
            if (heap) k.Put(heaps.Count > 0);
            total += Section(4, k, heap ? static g => g.HeapRules() : null, changed);
        }
        total += Kept(5, changed, out w) ? w : Section(5, UdmabufKey(udma), udma ? static g => g.UdmabufRules() : null, changed);
        if (Kept(6, changed, out w)) total += w;
        else
        {
            var k = new ClassKey();
            k.Put(bufs.Count > 0);
            total += Section(6, k, bufs.Count > 0 ? static g => g.DmaBufRules() : null, changed);
        }
        if (Kept(7, changed, out w)) total += w;
        else
        {
            bool exec = _execFamily && core && bufs.Count > 0;
            var k = new ClassKey();
            k.Put(exec);
            total += Section(7, k, exec ? static g => g.ExecRule() : null, changed);
        }
        bool procs = _procFamily && core;
        total += Kept(8, changed, out w) ? w : Section(8, ProcessKey(procs), procs ? static g => { g.ProcessRules<P1>(); g.ProcessRules<P2>(); } : null, changed);
        // (a call on a bad fd, where any other rule is offered: its key reads the sections' total so far, and is made always)
        {
            bool badFd = core && total > 0;
            var k = new ClassKey();
            k.Put(badFd);
            if (badFd) k.Put(heaps.Count > 0 || udev.Count > 0);
            total += Section(BadFdSection, k, badFd ? static g => g.BadHandleRules() : null, changed);
        }
        if (Kept(10, changed, out w)) total += w;
        else
        {
            var k = new ClassKey();
            k.Put(maps.Count > 0);
            if (maps.Count > 0) { k.Put(_writable.Count > 0); k.Put(_growable.Count > 0); }
            total += Section(10, k, maps.Count > 0 ? static g => g.MapRules() : null, changed);
        }
        return total;
    }

    /// <summary>
    /// The bits of <see cref="Held"/> each section's key reads (section 9's reads the total of those before it as well, and is
    /// never kept this way). Beside these a key reads only what <see cref="Next"/>'s other comparison holds (the area flags,
    /// the queue's memory, the families' progress) and the sequence's families, which a sequence's start changes: where any
    /// of that moved, every section is asked.
    /// </summary>
    private static readonly ulong[] SectionReads =
    [
        // 0 vb2
        0b11UL << HeldAt.Video | 0b11UL << HeldAt.Requests | 1UL << HeldAt.FrameBufs | 1UL << HeldAt.FrameMapped
            | 1UL << HeldAt.FewAnon | 1UL << HeldAt.ImportFrames,
        0b11UL << HeldAt.Drms,                                                                  // 1 drm
        0b11UL << HeldAt.Drms | 0b11UL << HeldAt.Bufs | 1UL << HeldAt.Gems,                     // 2 prime
        0b11UL << HeldAt.Drms | 0b11UL << HeldAt.Bufs | 1UL << HeldAt.Gems | 1UL << HeldAt.Fences
            | 1UL << HeldAt.Syncs,                                                              // 3 fence
        1UL << HeldAt.Heaps,                                                                    // 4 heap
        0b11UL << HeldAt.Memfds | 1UL << HeldAt.Udev | 1UL << HeldAt.Hugetlb,                   // 5 udmabuf
        0b11UL << HeldAt.Bufs,                                                                  // 6 dma-buf
        0b11UL << HeldAt.Bufs,                                                                  // 7 exec
        ~0UL << HeldAt.P2Lives,                                                                 // 8 helper processes
        ~0UL,                                                                                   // 9 bad fd (BadFdSection: made always)
        1UL << HeldAt.Maps | 1UL << HeldAt.Writable | 1UL << HeldAt.Growable,                   // 10 mappings
    ];

    /// <summary>The section of the calls on a bad fd, whose key reads the total weight of the sections before it: made always.</summary>
    private const int BadFdSection = 9;

    /// <summary>Section <paramref name="i"/> kept as it was, its weight in <paramref name="weight"/>: its key reads none of the
    /// <paramref name="changed"/> bits of <see cref="Held"/>, and it may be kept. Never with the checks, which make every key
    /// (and <see cref="Section"/> then throws where such a section's key changed).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private bool Kept(int i, ulong changed, out int weight)
    {
        var sec = _sections[i];
        weight = sec.Weight;
        return !CheckRuleTables && i != BadFdSection && (changed & SectionReads[i]) == 0 && sec.Keepable;
    }

    /// <summary>The V4L2 queue's section's key: its fds counted to 3, as its rules ask (none, fewer than 3, more than 1); the
    /// sequence's memory, its families and their progress; what the filters found.</summary>
    private ClassKey Vb2Key(bool vb2)
    {
        var k = new ClassKey();
        k.Put(vb2);
        if (!vb2) return k;
        int video = Video.Count;
        k.Put(Math.Min(video, 3), 2); k.Put(_importFrames);
        if (video > 0)
        {
            k.Put(_memory, 3); k.Put(_memoryFamily, 3); k.Put(_requestMemory, 3);
            k.Put(_waitFamily); k.Put(_drainFamily); k.Put(_pinPath); k.Put(_payloadFamily);
            k.Put(_pinQueued < 2); k.Put(_payloadQueued < 6); k.Put(_requestMemoryQueued < 2); k.Put(Math.Min(Reqs.Count, 2), 2);
            k.Put(_waits.Count > 0); k.Put(_frameBufs.Count > 0); k.Put(_frameMapped); k.Put(_fewAnon); k.Put(_draining.Count > 0);
        }
        return k;
    }

    /// <summary>The DRM device's section's key.</summary>
    private ClassKey DrmKey(bool drm, bool fenceOrPrime, bool vb2)
    {
        var k = new ClassKey();
        k.Put(drm);
        if (drm) { k.Put(Math.Min(Drms.Count, 2), 2); k.Put(fenceOrPrime); k.Put(vb2); }
        return k;
    }

    /// <summary>PRIME's section's key.</summary>
    private ClassKey PrimeKey(bool primeOn, bool fenceMix)
    {
        var k = new ClassKey();
        k.Put(primeOn);
        if (primeOn) { k.Put(fenceMix); k.Put(Gems.Count > 0); k.Put(Math.Min(Bufs.Count, 2), 2); }
        return k;
    }

    /// <summary>The fences' section's key.</summary>
    private ClassKey FenceKey(bool fence)
    {
        var k = new ClassKey();
        k.Put(fence);
        if (fence)
        {
            int syncs = Syncs.Count;
            k.Put(Gems.Count > 0); k.Put(Drms.Count > 0); k.Put(Fences.Count > 0); k.Put(Bufs.Count > 0); k.Put(syncs > 0); k.Put(syncs > 0 && _pending.Count > 1);
        }
        return k;
    }

    /// <summary>udmabuf's section's key.</summary>
    private ClassKey UdmabufKey(bool udma)
    {
        var k = new ClassKey();
        k.Put(udma);
        if (udma) { k.Put(Udev.Count > 0); k.Put(Math.Min(Memfds.Count, 3), 2); k.Put(_hugeFamily && _hugetlbMade); }
        return k;
    }

    /// <summary>The helper processes' section's key.</summary>
    private ClassKey ProcessKey(bool procs)
    {
        var k = new ClassKey();
        k.Put(procs);
        if (!procs) return k;
        k.Put(_p2Lives);
        for (int p = 1; p <= 2; p++)
        {
            k.Put(Math.Min(_procFds[p].Count, 4), 3); k.Put(_theirs[p].Count > 0); k.Put(_alsoTheirs[p].Count > 0); k.Put(_theirBufs[p].Count > 0);
            k.Put(_theirVideo[p].Count > 0 && _hasVideo); k.Put(_theirMaps[p].Count > 0); k.Put(_theirWritable[p].Count > 0); k.Put(_sendable.Count > 0);
        }
        return k;
    }

    /// <summary>
    /// One section of <see cref="Next"/>'s rules: the rules its maker offered (<see cref="Rules"/>, the first <see
    /// cref="Count"/>), their total weight, and the key they were made under (<see cref="ClassKey"/>); kept while the key
    /// stays the same, and kept by key (<see cref="Made"/>) for when the state comes back to it.
    /// </summary>
    private sealed class RuleSection
    {
        public Rule[] Rules = [];
        /// <summary>The running sums of the rules' weights: <c>Ends[i]</c> is the sum of rules 0..i (the draw's search).</summary>
        public int[] Ends = [];
        /// <summary>Where the section's table was kept by key (<see cref="RuleTable.Stops"/>): the rule each pick below its
        /// weight draws; else null, and the draw searches <see cref="Ends"/>.</summary>
        public byte[]? Stops;
        public int Count, Weight;
        public ulong Key;
        /// <summary>The rules may be offered again while the key stays the same (the key was whole, and no rule captures the
        /// state it was made in).</summary>
        public bool Keepable;
        /// <summary>The section's own arrays, which a table that is not kept by key (<see cref="Made"/>) is made into; the
        /// offers are made into <see cref="Own"/> whatever becomes of them.</summary>
        public Rule[] Own = new Rule[16];
        public int[] OwnEnds = new int[16];
        /// <summary>Every keepable table made so far, by key (at most <see cref="MaxKeys"/> keys): the rule weights of each state
        /// class, made once. A state whose key was seen before takes its table from here instead of making it again.</summary>
        public readonly TablesByKey Made = new();
        /// <summary>The distinct tables among <see cref="Made"/>, by their rules: states of different keys that are offered the
        /// same rules share one table (the V4L2 queue's first 512 keys held 179 distinct tables), so fewer of them stand in the
        /// processor's caches for the draws to miss. At most <see cref="MaxTables"/>.</summary>
        public readonly Dictionary<Rule[], RuleTable> Distinct = new(SameRules.Instance);
    }

    /// <summary>
    /// A section's tables by key (<see cref="RuleSection.Made"/>), in open addressing: each slot holds a key and its table side
    /// by side, so a lookup mostly reads one slot, where the runtime's dictionary read a bucket and then an entry elsewhere,
    /// and with some 2,700 keys both mostly missed the processor's caches. Linear probing from a multiplicative hash; at most
    /// three quarters full; a key is added once (where <see cref="Find"/> found none) and never removed.
    /// </summary>
    private sealed class TablesByKey
    {
        private struct Slot { public ulong Key; public RuleTable? Table; }
        private Slot[] _slots = new Slot[64];
        /// <summary>64 less log2 of the slots: the hash's top bits pick the first slot.</summary>
        private int _shift = 58;
        public int Count { get; private set; }

        /// <summary>The table kept under <paramref name="key"/>, or null.</summary>
        public RuleTable? Find(ulong key)
        {
            var slots = _slots;
            int mask = slots.Length - 1;
            for (int i = First(key, _shift); ; i = (i + 1) & mask)
            {
                ref var s = ref slots[i];
                if (s.Table == null) return null;
                if (s.Key == key) return s.Table;
            }
        }

        /// <summary>Keeps <paramref name="table"/> under <paramref name="key"/>, which holds none.</summary>
        public void Add(ulong key, RuleTable table)
        {
            if (4 * (Count + 1) > 3 * _slots.Length)
            {
                var old = _slots;
                _slots = new Slot[old.Length * 2];
                _shift--;
                foreach (var s in old) if (s.Table != null) Place(s.Key, s.Table);
            }
            Place(key, table);
            Count++;
        }

        private void Place(ulong key, RuleTable table)
        {
            int mask = _slots.Length - 1, i = First(key, _shift);
            while (_slots[i].Table != null) i = (i + 1) & mask;
            _slots[i] = new Slot { Key = key, Table = table };
        }

        private static int First(ulong key, int shift) => (int)((key * 0x9E3779B97F4A7C15UL) >> shift);
    }

    /// <summary>Rule arrays compared by their rules, in order (weight, maker, builder), for <see cref="RuleSection.Distinct"/>.</summary>
    private sealed class SameRules : IEqualityComparer<Rule[]>
    {
        public static readonly SameRules Instance = new();
        public bool Equals(Rule[]? a, Rule[]? b) => a.AsSpan().SequenceEqual(b);
        public int GetHashCode(Rule[] rules)
        {
            var h = new HashCode();
            foreach (var rule in rules) h.Add(rule);
            return h.ToHashCode();
        }
    }

    /// <summary>A section's rules as made under one key (<see cref="RuleSection.Made"/>): never written once made. Stops: for
    /// each pick below <paramref name="Weight"/>, the rule whose running sum (<paramref name="Ends"/>) first passes it, the
    /// rule the search stops at, read in one step (<see cref="Rng.Stops"/>; null where that makes none, and the draw
    /// searches).</summary>
    private sealed record RuleTable(Rule[] Rules, int[] Ends, int Weight, byte[]? Stops);

    /// <summary>The most distinct tables a section keeps (<see cref="RuleSection.Distinct"/>), and the most keys it keeps them
    /// by (<see cref="RuleSection.Made"/>): past either, a section is made again where its key changes to one it has no table
    /// for, as before there were any. Most sections meet some tens of state classes; in 20,000 sequences the V4L2 queue's
    /// meets some 2,700 keys, which share some 410 tables, and the helper processes' some 550. This bounds the memory of a
    /// section that meets more: some 5 kB a table (its rules, their running sums, its stops of at most 4 kB), 2.5 MB at
    /// most, and some 30 bytes a key, 250 kB at most.</summary>
    private const int MaxTables = 512, MaxKeys = 8192;

    private readonly RuleSection[] _sections = Enumerable.Range(0, 11).Select(_ => new RuleSection()).ToArray();
    private Rule[] _checked = new Rule[16];
    // the area flags of the current Next, for the section makers
    private bool _vb2, _fence, _prime;

    /// <summary>
    /// The total weight of section <paramref name="i"/>'s rules for the state whose key <paramref name="k"/> holds (passed by
    /// value, so the key's writes in <see cref="Sections"/> stay in registers; the caller clears it for the next section):
    /// the rules kept where the key is the one they were made under, else made again by
    /// <paramref name="offer"/> (none where null). Rules that capture Next's state (<see cref="Rule.Build"/>: a steered
    /// family's, a stateful decoder's) are made again at every op.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int Section(int i, ClassKey k, Action<SequenceGenerator>? offer, ulong changed)
    {
        // (the kept section, nine in ten of the calls, inlined into Sections; making one again is a call of its own)
        var sec = _sections[i];
        bool same = sec.Keepable && k.Whole && sec.Key == k.Low;
        if (same && !CheckRuleTables) return sec.Weight;
        if (CheckRuleTables && !same && sec.Keepable && i != BadFdSection && (changed & SectionReads[i]) == 0)
            throw new InvalidOperationException($"section {i}'s key changed where none of the bits of Held it reads (SectionReads) did: it reads more of the handles than they say");
        return Remake(sec, i, k, same, offer);
    }

    /// <summary><see cref="Section"/>'s section <paramref name="i"/> where its key changed: taken from the tables made by key
    /// (<see cref="RuleSection.Made"/>) where its key was met before, else made by <paramref name="offer"/>; or, where it is
    /// the <paramref name="same"/> and the rule tables are checked, made into another table and compared. With
    /// <see cref="CheckRuleTables"/>, a table taken by key is made again and compared too.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private int Remake(RuleSection sec, int i, ClassKey k, bool same, Action<SequenceGenerator>? offer)
    {
        if (same)
        {
            CheckTable(i, k, offer, sec.Rules, sec.Count, sec.Weight, "kept");
            return sec.Weight;
        }
        if (k.Whole && sec.Made.Find(k.Low) is { } made)
        {
            if (CheckRuleTables) CheckTable(i, k, offer, made.Rules, made.Rules.Length, made.Weight, "kept by key");
            (sec.Rules, sec.Ends, sec.Stops, sec.Count, sec.Weight, sec.Key, sec.Keepable) = (made.Rules, made.Ends, made.Stops, made.Rules.Length, made.Weight, k.Low, true);
            _remade = true;
            return sec.Weight;
        }
        // made: into the section's own array, then, where it may be kept, into a table of its key's
        sec.Own = MakeRules(sec.Own, offer);
        bool keepable = k.Whole && !_offeredBuilt;
        made = null;
        // (kept by key where the section's keys are not all taken, and its rules are a table it holds already or one there is
        // room for)
        if (keepable && sec.Made.Count < MaxKeys)
        {
            var rules = _rules.AsSpan(0, _ruleCount).ToArray();
            if (!sec.Distinct.TryGetValue(rules, out made) && sec.Distinct.Count < MaxTables)
            {
                var ends = RunningSums(rules, new int[rules.Length], rules.Length);
                made = new RuleTable(rules, ends, _ruleWeight, Rng.Stops(ends));
                sec.Distinct.Add(rules, made);
            }
            if (made != null) sec.Made.Add(k.Low, made);
        }
        if (made != null) (sec.Rules, sec.Ends, sec.Stops) = (made.Rules, made.Ends, made.Stops);
        else
        {
            if (sec.OwnEnds.Length < _ruleCount) sec.OwnEnds = new int[_rules.Length];
            (sec.Rules, sec.Ends, sec.Stops) = (sec.Own, RunningSums(sec.Own, sec.OwnEnds, _ruleCount), null);
        }
        (sec.Count, sec.Weight, sec.Key, sec.Keepable) = (_ruleCount, _ruleWeight, k.Low, keepable);
        _allKeepable &= keepable;
        _remade = true;
        return sec.Weight;
    }

    /// <summary>The rules <paramref name="offer"/> offers for the state, made into <paramref name="into"/> (the first
    /// <see cref="_ruleCount"/> of the array returned, which is <paramref name="into"/> unless it grew; their weights sum to
    /// <see cref="_ruleWeight"/>).</summary>
    private Rule[] MakeRules(Rule[] into, Action<SequenceGenerator>? offer)
    {
        _rules = into;
        _ruleCount = _ruleWeight = 0;
        _offeredBuilt = false;
        offer?.Invoke(this);
        return _rules;
    }

    /// <summary><paramref name="ends"/>' first <paramref name="count"/> entries, each the sum of the weights of
    /// <paramref name="rules"/> up to it.</summary>
    private static int[] RunningSums(Rule[] rules, int[] ends, int count)
    {
        for (int j = 0, sum = 0; j < count; j++) ends[j] = sum += rules[j].W;
        return ends;
    }

    /// <summary>For <see cref="CheckRuleTables"/>: section <paramref name="i"/> made again for the state, into a table of its
    /// own, and compared with the one <paramref name="how"/> (its rules, their count and total weight); throws where they
    /// differ: the key misses something the section's rules read.</summary>
    private void CheckTable(int i, ClassKey k, Action<SequenceGenerator>? offer, Rule[] rules, int count, int weight, string how)
    {
        var again = _checked = MakeRules(_checked, offer);
        SectionsChecked++;
        bool equal = _ruleCount == count && _ruleWeight == weight;
        for (int j = 0; equal && j < _ruleCount; j++)
            equal = again[j].W == rules[j].W && ReferenceEquals(again[j].Make, rules[j].Make) && ReferenceEquals(again[j].Build, rules[j].Build);
        if (!equal)
            throw new InvalidOperationException($"section {i}'s rules {how} for key {k.Low:x16} ({count} rules) are not the state's ({_ruleCount}): its key misses something its rules read");
    }

    /// <summary>
    /// What the sections read of the handles beyond their counts and the lists <see cref="Track"/> keeps (<see
    /// cref="_drmFrames"/>, <see cref="_frameBufs"/>, <see cref="_writable"/>, <see cref="_growable"/>), into their fields:
    /// the flags beside them, and the helper processes' lists. Each reads only what a handle is given when it is made and
    /// whether it lives, so they are found again only where the handles changed (<see cref="_kindsChanged"/>), for every
    /// section whether it is offered or not.
    /// </summary>
    private void ObserveHandles()
    {
        // (each found again only where the kinds of handle it reads were made or released since: Track says which)
        uint changed = _kindsChanged;
        _kindsChanged = 0;
        List<V> vars = _vars, video = Video, bufs = Bufs, maps = Maps;
        long frame = _frame;
        // a DRM export that holds a frame is imported by the queue (only sequences that made one draw differently)
        if ((changed & Bit(K.DmaBuf)) != 0) _importFrames = _drmFrames.Count > 0 && _hasVideo && Node.SupportsMemory(V4L2_MEMORY_DMABUF);
        if ((changed & Bit(K.Map)) != 0)
        {
            // USERPTR on a dma-buf mapping (VM_PFNMAP: EFAULT) needs a frame-sized heap or udmabuf mapping first (_frameBufs)
            _frameMapped = Exists(maps, frame, static (m, frame) => !m.Anon && m.Size >= frame);
            int anon = 0;
            foreach (var m in maps) if (m.Anon) anon++;
            _fewAnon = _hasVideo && anon < (Node.MultiPlanar ? Node.NumPlanes + 1 : 2);
        }
        // where a hugetlb memfd was made, the pool's counters are read now and then (UDMABUF-HUGE-2)
        // (only in the hugetlb family, which the sequence's start sets: the only one whose rules read it; a memfd of either
        // process counts)
        if ((changed & (Bit(K.Memfd) | HelperBit)) != 0)
            _hugetlbMade = _hugeFamily && Exists(vars, 0, static (v, _) => v.Kind == K.Memfd && v.Device == "hugetlb");
        // (a helper's lists read its handles, and this process's dma-bufs and video fds: those it may be sent)
        if (_procFamily && (changed & (Bit(K.DmaBuf) | Bit(K.Video) | HelperBit)) != 0)
        {
            // what this process may send either helper: its dma-bufs and video fds
            _sendable.Clear(); _sendable.AddRange(bufs); _sendable.AddRange(video); _helperListsFilled = true;
            ObserveProcess<P1>(vars, bufs, video, changed);
            ObserveProcess<P2>(vars, bufs, video, changed);
        }
    }

    /// <summary>This process's live handles (<see cref="_live"/>, each kind's in <see cref="_byKind"/>) found again from every
    /// handle made, and what <see cref="ObserveHandles"/> finds in them (for the checks: <see cref="Track"/> keeps the lists).</summary>
    private void FindHandles()
    {
        _live.Clear();
        foreach (var l in _byKind) l.Clear();
        foreach (var v in _vars)
            if (v.Live && v.Proc == 0) { _live.Add(v); _byKind[(int)v.Kind].Add(v); }
        Refill(_drmFrames, Bufs, _frame, DrmFrame);
        Refill(_frameBufs, Bufs, _frame, FrameBuf);
        Refill(_writable, Maps, 0, Writable);
        Refill(_growable, Maps, 0, Growable);
        _kindsChanged = AllKinds;
        ObserveHandles();
    }

    /// <summary>For <see cref="CheckRuleTables"/>, where the handles changed: finds this process's live handles again from every
    /// handle made and throws where they differ from the lists <see cref="Track"/> kept.</summary>
    private void CheckLiveLists()
    {
        var list = ListFoundAgainOtherwise([_live, .. _byKind, _drmFrames, _frameBufs, _writable, _growable]);
        if (list >= 0)
            throw new InvalidOperationException($"live handle list {list} kept as the handles changed is not what the handles give: Track misses a way a handle is made or released");
    }

    /// <summary>For the checks: finds the handle lists again (<see cref="FindHandles"/>) and gives the index in
    /// <paramref name="kept"/> of the first list that was not what it is now, -1 where none.</summary>
    private int ListFoundAgainOtherwise(List<V>[] kept)
    {
        var before = kept.Select(l => l.ToArray()).ToArray();
        FindHandles();
        for (int i = 0; i < kept.Length; i++)
            if (!kept[i].SequenceEqual(before[i])) return i;
        return -1;
    }

    /// <summary>
    /// For <see cref="CheckRuleTables"/>, at an op after one that changed no handle: finds the handle lists again and throws
    /// where they differ from the ones kept. What <see cref="ObserveHandles"/> reads of a handle must change only with the
    /// handles (a field an op sets on a live handle, such as <c>Fenced</c>, <c>Submitted</c> or <c>Link</c>, must not be
    /// read there: the lists would go stale, and the sections made from them with them).
    /// </summary>
    private void CheckHandleLists()
    {
        var flags = (_importFrames, _frameMapped, _fewAnon, _hugetlbMade, _p2Lives);
        int list = ListFoundAgainOtherwise([_live, .. _byKind, _drmFrames, _frameBufs, _writable, _growable, _sendable, .. _theirs, .. _procFds,
            .. _theirBufs, .. _theirVideo, .. _theirMaps, .. _alsoTheirs, .. _theirWritable]);
        if (list >= 0)
            throw new InvalidOperationException($"handle list {list} kept since the handles last changed is not what the handles give now: ObserveHandles reads something an op changes without changing the handles");
        if (flags != (_importFrames, _frameMapped, _fewAnon, _hugetlbMade, _p2Lives))
            throw new InvalidOperationException("a flag ObserveHandles found when the handles last changed is not what the handles give now: it reads something an op changes without changing the handles");
    }

    /// <summary>What the sections read that an op may change without changing the handles, into their fields: the queues
    /// this generator's own model (whose device clock is its own) expects a blocking DQBUF to wait on, the pending
    /// sync_files (each a list of Next's own, found where a section reads it, else empty).</summary>
    private void Observe(bool vb2, bool fence)
    {
        // (each set only where it changes: most ops find all three empty, as the op before did, and a reference written into
        // a field costs a write barrier)
        var none = NoHandles;
        if (!ReferenceEquals(_waits, none)) _waits = none;
        if (!ReferenceEquals(_draining, none)) _draining = none;
        if (!ReferenceEquals(_pending, none)) _pending = none;
        // (no queue streaming: no blocking DQBUF waits, and the model need not be asked fd by fd)
        if (vb2 && Video.Count > 0 && _certifiesVb2 && (!Node.IsMem2Mem || Node.Codec == CodecKind.Encoder) && _model.AnyQueueStreaming())
        {
            var node = Node;
            var wait = Filter(Video, this, static (v, g) => g._env.Resolve(v.Var, out var fd) && g._model.DQBufWait(fd, g.Node.BufType) == BlockingDQBuf.WaitsForBuffer);
            if (!node.IsMem2Mem) _waits = wait;
            else _draining = wait;   // (an encoder's)
        }
        // two pending sync_files merge into an array, which an import then unwraps
        if (fence && Syncs.Count > 0) _pending = Filter(Syncs, static x => x.Fenced);
    }

    /// <summary>Clears <paramref name="into"/> and adds the handles of <paramref name="a"/> that match, in order.</summary>
    private static void Refill<T>(List<V> into, List<V> a, T arg, Func<V, T, bool> match)
    {
        into.Clear();
        foreach (var v in a) if (match(v, arg)) into.Add(v);
    }

    /// <summary>The bits of a section's key (<see cref="Section"/>), written in order into 64 (the longest key, the V4L2
    /// queue's, takes 27); not whole where they overflow or a value does not fit its width (the section is then made again:
    /// never two states under one key). A value is written only where the section's rules read it, under conditions the bits
    /// before it decide, so two keys written alike mean the same state to the section.</summary>
    private struct ClassKey
    {
        public ulong Low;
        private int _used;
        private bool _over;
        public readonly bool Whole => !_over && _used <= 64;
        // (inlined: the sections put some sixty values at each op where something changed, and the calls were 6% of a generated
        // op's instructions, valgrind's count; a flag needs no width check, and a key past 64 bits is caught once, by Whole)
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Put(bool b)
        {
            if (b) Low |= 1UL << _used;
            _used++;
        }
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Put(int v, int bits) => Put((uint)v, bits);
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Put(uint v, int bits)
        {
            if (v >> bits != 0) _over = true;
            else Low |= (ulong)v << _used;
            _used += bits;
        }
    }

    /// <summary>A rule that captures Next's state (<see cref="Rule.Build"/>) was offered: the section is the state's own.</summary>
    private bool _offeredBuilt;
    // what Observe found beside its lists, for the sections
    private bool _frameMapped, _fewAnon, _hugetlbMade;

    /// <summary>
    /// Makes every kept section of rules again where it is used, and throws where the two differ (a rule's weight, its
    /// maker, their order): a test of the sections' keys, each of which must hold everything its rules read. For tests;
    /// slower than keeping none.
    /// </summary>
    public bool CheckRuleTables { get; init; }
    /// <summary>How many kept sections <see cref="CheckRuleTables"/> has made again and compared.</summary>
    public long SectionsChecked { get; private set; }

    /// <summary>The V4L2 queue's rules (the <c>vb2</c> section of <see cref="Next"/>; its key there says what they read).</summary>
    private void Vb2Rules()
    {
        var env = _env;
        List<V> video = Video, bufs = Bufs, maps = Maps, reqs = Reqs;
        void Add(int w, Func<Rng, Op?> f) { if (w > 0) Offered(new Rule(w, null, f)); }
        var node = Node;
        Offer(video.Count == 0 ? 40 : video.Count < 3 ? 3 : 0, static (g, _) => new Open(g.Node.Device, O_RDWR | O_NONBLOCK));
        bool importFrames = _importFrames;
        if (video.Count > 0)
        {
            Offer(12, static (g, r) => new ReqBufs(r.Pick(g.Video).Var, g.TypeArg(ref r, g.Node), (g._fenceMix || g._importFrames) && r.Chance(60) ? V4L2_MEMORY_DMABUF : g.MemoryArg(ref r),
                g.Draw(Domains.ReqBufsCount, ref r, "0 (frees the buffers)", g.Maps.Count > 0 ? 8 : 3)));
            // a multi-planar queue draws its planes (and CREATE_BUFS its plane layout) from the multi-planar domains; a
            // single-planar one draws exactly as it always has
            Offer(6, static (g, r) => new CreateBufs(r.Pick(g.Video).Var, g.TypeArg(ref r, g.Node), g.MemoryArg(ref r), g.Draw(Domains.CreateBufsCount, ref r), g.Draw(Domains.CreateBufsSizeDelta, ref r),
                g.Node.MultiPlanar ? g.Draw(Domains.CreateBufsLayout, ref r) : PlaneLayout.Format));
            Offer(10, static (g, r) => new QueryBuf(r.Pick(g.Video).Var, g.TypeArg(ref r, g.Node), g.IndexArg(ref r), g.Node.MultiPlanar ? g.Draw(Domains.QueryBufPlane, ref r)(g.Node.NumPlanes) : 0));
            Offer(10, static (g, r) => new ExpBuf(r.Pick(g.Video).Var, g.TypeArg(ref r, g.Node), g.IndexArg(ref r),
                g.Node.MultiPlanar ? g.Draw(Domains.ExpBufMplanePlane, ref r)(g.Node.NumPlanes) : g.Draw(Domains.ExpBufPlane, ref r), g.Draw(Domains.ExpBufFlags, ref r)));
            Offer(10, static (g, r) =>
            {
                var node = g.Node;
                var fd = r.Pick(g.Video).Var;
                uint index = g.IndexArg(ref r);
                uint p = node.MultiPlanar ? g.Draw(Domains.MmapVideoMplanePlane, ref r)(node.NumPlanes) : g.Draw(Domains.MmapVideoPlane, ref r);
                uint t = node.IsMem2Mem ? g.Draw(Domains.M2mBufType, ref r)(node) : node.BufType;
                return new MmapVideo(fd, t, index, p, g.Draw(Domains.MmapVideoLength, ref r)(node.QueueFor(t).PlaneSize(p)),
                    g.Draw(Domains.MmapVideoProt, ref r), g.Draw(Domains.MmapVideoFlags, ref r));
            });
            Offer(importFrames ? 20 : 8, static (g, r) =>
            {
                List<V> maps = g.Maps, bufs = g.Bufs, video = g.Video;
                var node = g.Node;
                var env = g._env;
                uint qmem = g._memory;
                uint m = qmem != 0 && r.Chance(90) ? qmem : g.MemoryArg(ref r);
                // USERPTR memory comes from a mapping: with none at hand, make the anonymous one first (the way there)
                if (m == V4L2_MEMORY_USERPTR && !maps.Any(x => x.Anon || x.Device is "heap" or "udmabuf") && r.Chance(80))
                    return new MmapAnon(PageAlign(node.SizeImage + PAGE_SIZE));
                var fencedFrames = g.Filter(bufs, node.SizeImage, static (b, frame) => b.Fenced && b.Size >= frame);
                var pool = g._fenceMix && fencedFrames.Count > 0 && r.Chance(70) ? fencedFrames : g._importFrames && r.Chance(70) ? g._drmFrames : bufs;
                var qv = r.Pick(video).Var;
                uint qt = g.TypeArg(ref r, node);
                // in a memory family on a mem2mem node, the queue of the context that holds that memory (either may)
                if (g._memoryFamily == m && node.IsMem2Mem && env.Resolve(qv, out var qfd) && r.Chance(80))
                    foreach (var t in (uint[])[node.BufType, node.OutputQueue!.BufType])
                        if (g._model.ViewQueue(qfd, t) is { } view && view.Memory == m) { qt = t; break; }
                var q = new QBuf(qv, qt, g.IndexArg(ref r), m, g.QBufMem(ref r, m, pool, g.Memfds, maps, video, node.SizeImage))
                    { Prepare = g.Draw(Domains.QBufRequest, ref r) };
                // with a request at hand, a QBUF may go into it (or name a file that is not a request); a request holds one
                // buffer: completing a request with two of vivid's capture buffers makes the kernel WARN
                // (spec/notes/vivid-request-two-buffers.md), which would end the lab run
                var open = g.Filter(g.Reqs, env, static (x, e) => e.RequestHeld(x.Var) == 0 || x.Submitted);
                if (open.Count > 0 && !q.Prepare)
                    q = g.Draw(Domains.QBufInRequest, ref r) switch
                    {
                        RequestArg.Request => q with { Req = r.Pick(open).Var },
                        RequestArg.NotARequest => q with { Req = q.Fd },
                        _ => q,
                    };
                return g.MorePlanes(ref r, q, pool);
            });
            bool certifiesVb2 = _certifiesVb2;
            Offer(6, static (g, r) => new DQBuf(r.Pick(g.Video).Var, g.Node.IsMem2Mem ? g.Draw(Domains.M2mBufType, ref r)(g.Node) : g.Node.BufType));
            // a blocking DQBUF (not on mem2mem nodes: a job needs both queues); the harness runs it only where a buffer will be
            // done, so it is drawn most once buffers are queued on a streaming queue
            if (!node.IsMem2Mem && certifiesVb2)
            {
                // drawn most where this generator's own model (whose device clock is its own) expects it to wait for a buffer
                var waits = _waits;
                Offer(waits.Count > 0 ? 12 : _waitFamily ? 1 : 0, static (g, r) => new DQBufBlocking(r.Pick(g._waits.Count > 0 ? g._waits : g.Video).Var, g.Node.BufType));
                // and, in the sequences of the wait family, the way there, one step at a time on a handle: MMAP buffers, every
                // one queued, streaming, then the wait (a random QBUF index seldom queues them all, and the wait needs as many
                // as the driver may need to start)
                if (_waitFamily && node.SupportsMemory(V4L2_MEMORY_MMAP))
                    Offer(waits.Count > 0 ? 0 : 20, static (g, r) => g.WaitPath(r));
            }
            if (node.ReadWrite && !node.IsOutput) Offer(3, static (g, r) => new VideoRead(r.Pick(g.Video).Var, g.Draw(Domains.ReadCount, ref r)(g.Node.SizeImage)));
            if (node.ReadWrite && node.IsOutput) Offer(3, static (g, r) => new VideoWrite(r.Pick(g.Video).Var, g.Draw(Domains.WriteCount, ref r)(g.Node.SizeImage)));
            // a multi-planar node that reports read()/write() with a format of more than one plane: vb2 refuses them there
            if (TargetProfile.PlanesRefuseFileIo(node))
                Offer(2, static (g, r) => g.Node.IsOutput ? new VideoWrite(r.Pick(g.Video).Var, g.Draw(Domains.WriteCount, ref r)(g.Node.SizeImage))
                    : new VideoRead(r.Pick(g.Video).Var, g.Draw(Domains.ReadCount, ref r)(g.Node.SizeImage)));
            // poll() of capture, mem2mem and single-planar output nodes (a multi-planar output node's poll may start write() I/O,
            // which is modelled on single-planar ones only)
            // (on a node with read() I/O and no buffers, a POLLIN poll starts the emulator, which then holds the queue: rarely)
            // (only where vb2 is certified: a node that only lends its buffers to another unit, its read() I/O certified on its
            // own unit, is not told apart from one without read(), and a POLLIN poll would start its read() emulator)
            if ((!node.IsOutput || node.IsMem2Mem || node.ReadWrite) && certifiesVb2)
                Offer(node.ReportsReadWrite && _memory == 0 ? 1 : 4, static (g, r) => new VideoPoll(r.Pick(g.Video).Var, g.Draw(Domains.VideoPollEvents, ref r)));
            // format changes between allocations (not on codecs or pipeline nodes: VideoNodeProfile.FormatsCertified); the
            // largest frame is only asked about (TRY_FMT): set, it would make every later buffer the driver's largest frame
            // (vivid: 4096x2160, 17 MB), too slow to allocate and fill under TCG
            if (node.FormatsCertified && certifiesVb2)
                Offer(3, static (g, r) =>
                {
                    var size = g.Draw(Domains.FormatFrameSize, ref r);
                    bool tryOnly = g.Draw(Domains.FmtIoctl, ref r) || size == FrameSize.Maximum;
                    return new SetFmt(r.Pick(g.Video).Var, g.TypeArg(ref r, g.Node), size, tryOnly);
                });
            Offer(4, static (g, r) => new StreamOn(r.Pick(g.Video).Var, g.TypeArg(ref r, g.Node)));
            Offer(3, static (g, r) => new StreamOff(r.Pick(g.Video).Var, g.TypeArg(ref r, g.Node)));
            Offer(4, static (g, r) => new RemoveBufs(r.Pick(g.Video).Var, g.TypeArg(ref r, g.Node), g.IndexArg(ref r), g.Draw(Domains.RemoveBufsCount, ref r)));
            // USERPTR on a dma-buf mapping (VM_PFNMAP: EFAULT) needs a frame-sized heap or udmabuf mapping first
            if (Wants(V4L2_MEMORY_USERPTR) && _frameBufs.Count > 0 && !_frameMapped)
                Offer(8, static (g, r) => { var b = r.Pick(g._frameBufs); return new Mmap(b.Var, 0, b.Size, b.AccMode == O_RDONLY ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED); });
            Offer(Wants(V4L2_MEMORY_USERPTR) && _fewAnon ? 6 : 1, static (g, r) => new MmapAnon(PageAlign(g.Node.SizeImage + PAGE_SIZE)));   // covers CREATE_BUFS' largest size delta
            if (_pinPath && _pinQueued < 2 && _hasHeaps && node.SupportsMemory(V4L2_MEMORY_USERPTR))
                Offer(60, static (g, r) => g.PinPath(r));
            // in the payload family, the way to a DMABUF buffer of a raw output queue queued with a dma-buf larger than a frame,
            // taken back by STREAMOFF and queued again with the same dma-buf: each QBUF's payload fields are drawn (Generate),
            // so the second may pass others than the first, which QUERYBUF must then show (VB2-QBUF-4)
            if (_payloadFamily && node.RawOutputQueue is { } payNode && _payloadQueued < 6 && _hasHeaps && payNode.SupportsMemory(V4L2_MEMORY_DMABUF))
                Offer(60, static (g, r) => g.PayloadPath(r));
            // in the request-memory family, the way to a request carrying imported memory, one step at a time: a request, the
            // request-bearing queue (a mem2mem node's OUTPUT) allocated with that memory, memory of a frame (a dma-heap
            // buffer, or an anonymous mapping), a QBUF of an idle buffer into the empty request (now and then with memory
            // vb2 must refuse), then MEDIA_REQUEST_IOC_QUEUE, which takes it (VB2-REQ-9)
            var rqNode = node.IsMem2Mem ? node.OutputQueue! : node;
            uint rmem = RequestQueueMemory(rqNode);
            if (node.RequestMedia is { } rmedia && rmem != V4L2_MEMORY_MMAP && _requestMemoryQueued < 2 && (rmem == V4L2_MEMORY_USERPTR || _hasHeaps))
                Offer(60, static (g, r) => g.RequestMemoryPath(r));
            Offer(2, static (g, r) => new Dup(r.Pick(g.Video).Var));
            Offer(video.Count > 1 ? 3 : 1, static (g, r) => new Close(r.Pick(g.Video).Var));
            if (node.RequestMedia is { } media)
            {
                // requests of the node's media device: buffers go into them through QBUF (above), then each is queued,
                // polled, re-initialized or closed (request-api.rst)
                Offer(reqs.Count == 0 ? 4 : reqs.Count < 2 ? 1 : 0, static (g, _) => new RequestAlloc(g.Node.RequestMedia!));
                if (reqs.Count > 0)
                {
                    Offer(5, static (g, r) => new RequestQueue(r.Pick(g.Reqs).Var));
                    Offer(3, static (g, r) => new RequestPoll(r.Pick(g.Reqs).Var));
                    Offer(2, static (g, r) => new RequestReinit(r.Pick(g.Reqs).Var));
                    Offer(1, static (g, r) => new Close(r.Pick(g.Reqs).Var));
                    // the next step of one request's life on a queue that is not mem2mem (those have theirs below): a buffer
                    // into it, then queue it, then watch it complete (poll, DQBUF) or empty it
                    if (!node.IsMem2Mem)
                        Offer(8, static (g, r) =>
                        {
                            var node = g.Node;
                            var rq = r.Pick(g.Reqs);
                            if (!rq.Submitted && g._env.RequestHeld(rq.Var) == 0)
                            {
                                var qv = r.Pick(g.Video).Var;
                                // the queue is set up first, with the memory this sequence's requests carry
                                if (g._requestMemory != 0 && g._env.Resolve(qv, out var qfd) && g._model.ViewQueue(qfd, node.BufType) is { Allocated: 0, Streaming: false })
                                    return new ReqBufs(qv, node.BufType, g.RequestQueueMemory(node), 2);
                                return g.WithMemory(ref r, new QBuf(qv, node.BufType, g.IndexArg(ref r), g.QueueMemory(qv, node.BufType), Var.None), g.Bufs) with { Req = rq.Var };
                            }
                            if (!rq.Submitted) return new RequestQueue(rq.Var);
                            return r.Weighted((3, 0), (3, 1), (2, 2)) switch
                            {
                                0 => new RequestPoll(rq.Var),
                                1 => new DQBuf(r.Pick(g.Video).Var, node.BufType),
                                _ => (Op)new RequestReinit(rq.Var),
                            };
                        });
                }
            }
            if (node.IsMem2Mem)
            {
                // a mem2mem device returns buffers only in jobs, which need both queues of one context set up: take the
                // next step of that setup on a context, then queue and dequeue on either queue (VB2-M2M-2, VB2-M2M-3)
                uint capT = node.BufType, outT = node.OutputQueue!.BufType;
                bool encoder = node.Codec == CodecKind.Encoder;
                Offer(10, static (g, r) =>
                {
                    var node = g.Node;
                    uint capT = node.BufType, outT = node.OutputQueue!.BufType;
                    var v = r.Pick(g.Video);
                    if (!g._contexts.TryGetValue(v.Var.Id, out var c)) return null;
                    if (!c.OutBufs) return new ReqBufs(v.Var, outT, g.RequestQueueMemory(node.OutputQueue!), 2);
                    if (!c.CapBufs) return new ReqBufs(v.Var, capT, V4L2_MEMORY_MMAP, 2);
                    if (!c.OutOn) return new StreamOn(v.Var, outT);
                    if (!c.CapOn) return new StreamOn(v.Var, capT);
                    // an OUTPUT queue that supports requests is fed through them too: the next step of a request's life
                    if (g.Reqs.Count > 0 && node.OutputQueue!.Has(V4L2_BUF_CAP_SUPPORTS_REQUESTS) && r.Chance(35))
                    {
                        var rq = r.Pick(g.Reqs);
                        if (!rq.Submitted && g._env.RequestHeld(rq.Var) == 0)
                            return g.WithMemory(ref r, new QBuf(v.Var, outT, (uint)r.Below(2), g.QueueMemory(v.Var, outT), Var.None), g.Bufs) with { Req = rq.Var };
                        if (!rq.Submitted) return new RequestQueue(rq.Var);
                        return r.Chance(50) ? new RequestPoll(rq.Var) : new RequestReinit(rq.Var);
                    }
                    uint t = r.Chance(50) ? outT : capT;
                    return r.Chance(60) ? g.WithMemory(ref r, new QBuf(v.Var, t, (uint)r.Below(2), g.QueueMemory(v.Var, t), Var.None), g.Bufs) : new DQBuf(v.Var, t);
                });
                // during an encoder's drain every queued CAPTURE buffer comes back, the last flagged LAST: a blocking DQBUF
                // of CAPTURE returns, drawn where this generator's own model knows the drain runs
                if (encoder && certifiesVb2)
                {
                    // a stateful encoder's drain: STOP (and START to resume) on a context whose queues stream, among the
                    // queueing and dequeueing that drive it (rarely on one that does not: AMB-37, not judged)
                    Offer(6, static (g, r) =>
                    {
                        var v = r.Pick(g.Video);
                        if (g._contexts.TryGetValue(v.Var.Id, out var c) && !(c.OutOn && c.CapOn) && !r.Chance(10)) return null;
                        return new EncoderCmd(v.Var, g.Draw(Domains.EncoderCommand, ref r), g.Draw(Domains.EncoderCmdIoctl, ref r));
                    });
                    // its events: EOS (the drain's end) subscribed, unsubscribed and dequeued on any context
                    Offer(3, static (g, r) => new SubscribeEvent(r.Pick(g.Video).Var, g.Draw(Domains.EventType, ref r), g.Draw(Domains.EventIoctl, ref r)));
                    Offer(3, static (g, r) => new DQEvent(r.Pick(g.Video).Var));
                    var draining = _draining;
                    Offer(draining.Count > 0 ? 8 : 0, static (g, r) => new DQBufBlocking(r.Pick(g._draining).Var, g.Node.BufType));
                    // in the drain family, the way through a drain one step at a time on a context: MMAP buffers on both
                    // queues, both streaming, a frame queued on each, STOP, every CAPTURE buffer back (the last flagged
                    // LAST), a DQBUF that finds EPIPE, then START or STREAMOFF to resume
                    if (_drainFamily && node.SupportsMemory(V4L2_MEMORY_MMAP) && node.OutputQueue!.SupportsMemory(V4L2_MEMORY_MMAP))
                        Offer(80, static (g, r) => g.EncoderDrainPath(r));
                }
                if (node.Codec == CodecKind.Decoder && node.Stream != null && certifiesVb2) DecoderRules(Add, node, video, maps, bufs, env);
            }
        }
    }

    /// <summary>The DRM device's own rules: a second file, dumb buffers exported (the <c>drm</c> section).</summary>
    private void DrmRules()
    {
        List<V> drms = Drms;
        bool vb2 = _vb2, fence = _fence, prime = _prime;
        // a second DRM file shows that handles and fence ids are per file
        Offer(drms.Count == 0 ? 25 : drms.Count == 1 && (fence || prime) ? 2 : 0, static (g, _) => new Open(g.Profile.Drm[0].Device, O_RDWR | O_CLOEXEC));
        if (drms.Count > 0)
        {
            // beside a video queue, some exports hold a whole frame, so the queue can import them (QBUF DMABUF attaches and
            // maps a DRM export: drm_gem_map_attach, drm_gem_map_dma_buf); the weight is split from the plain export's, so
            // every other draw of every seed is as before
            bool frames = vb2 && _hasVideo && Node.SupportsMemory(V4L2_MEMORY_DMABUF);
            Offer(frames ? 11 : 14, static (g, r) => new DrmDumbExport(r.Pick(g.Drms).Var, g.Draw(Domains.DumbWidth, ref r), g.Draw(Domains.DumbHeight, ref r), g.Draw(Domains.DumbBpp, ref r),
                g.Draw(Domains.DumbExportFlags, ref r)));
            Offer(frames ? 3 : 0, static (g, r) => new DrmDumbExport(r.Pick(g.Drms).Var, 640, g.Draw(Domains.DumbFrameHeight, ref r)(g._hasVideo ? g.Node.SizeImage : 0), 32, g.Draw(Domains.DumbExportFlags, ref r)));
        }
    }

    /// <summary>The dma-heap's rules (the <c>heap</c> section).</summary>
    private void HeapRules()
    {
        List<V> heaps = Heaps;
        Offer(heaps.Count == 0 ? 25 : 0, static (g, _) => new Open(g.Profile.Heaps[0].Device, O_RDONLY | O_CLOEXEC));
        if (heaps.Count > 0)
            Offer(14, static (g, r) => new DmaHeapAlloc(r.Pick(g.Heaps).Var,
                g.Draw(Domains.HeapLen, ref r, "a frame", g.Wants(V4L2_MEMORY_USERPTR) || g._memoryFamily == V4L2_MEMORY_DMABUF ? 12 : 1)(g._hasVideo ? g.Node.SizeImage : PAGE_SIZE),
                g.Draw(Domains.HeapFdFlags, ref r), g.Draw(Domains.HeapFlags, ref r), g.Draw(Domains.HeapFdIn, ref r), g.Draw(Domains.HeapAbiForm, ref r)));
    }

    /// <summary>udmabuf's rules and its memfds' (the <c>udmabuf</c> section).</summary>
    private void UdmabufRules()
    {
        List<V> udev = Udev, memfds = Memfds;
        Offer(udev.Count == 0 ? 20 : 0, static (g, _) => new Open(g.Profile.UdmabufDevice!, O_RDWR | O_CLOEXEC));
        Offer(memfds.Count < 3 ? 8 : 2, static (g, r) => new MemfdCreate(g.Draw(Domains.MemfdSize, ref r), g.Draw(Domains.MemfdAllowSealing, ref r), g.Draw(Domains.MemfdSeals, ref r)));
        if (udev.Count > 0 && memfds.Count > 0)
        {
            Offer(10, static (g, r) =>
            {
                var m = r.Pick(g.Memfds);
                var (off, size) = g.RangeArg(ref r, m.Size);
                var target = r.Chance(5) && g.Bufs.Count > 0 ? r.Pick(g.Bufs).Var : m.Var;
                return new UdmabufCreate(r.Pick(g.Udev).Var, target, off, size, g.Draw(Domains.UdmabufFlags, ref r));
            });
            Offer(4, static (g, r) =>
            {
                int n = g.Draw(Domains.UdmabufListCount, ref r);
                var items = ImmutableArray.CreateBuilder<ListItem>();
                for (int i = 0; i < n; i++) { var m = r.Pick(g.Memfds); var (off, size) = g.RangeArg(ref r, m.Size); items.Add(new ListItem(m.Var, off, size)); }
                return new UdmabufCreateList(r.Pick(g.Udev).Var, g.Draw(Domains.UdmabufListFlags, ref r), items.ToImmutable());
            });
        }
        if (memfds.Count > 0)
            Offer(4, static (g, r) =>
            {
                var m = r.Pick(g.Memfds);
                long pages = m.Size / PAGE_SIZE;
                long pg = r.Below((int)pages);
                return new Mmap(m.Var, pg, (pages - pg) * PAGE_SIZE, m.Sealed ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED);
            });
        Offer(memfds.Count > 0 ? 2 : 0, static (g, r) => new Close(r.Pick(g.Memfds).Var));
        // where a hugetlb memfd was made, the pool's counters are read now and then (UDMABUF-HUGE-2)
        Offer(_hugeFamily && _hugetlbMade ? 3 : 0, static (_, _) => new HugetlbPool());
    }

    /// <summary>The dma-buf core's rules on this process's dma-bufs (the <c>dma-buf</c> section).</summary>
    private void DmaBufRules()
    {
        Offer(10, static (g, r) =>
        {
            var b = r.Pick(g.Bufs);
            long pages = Math.Max(1, b.Size / PAGE_SIZE);
            long pg = g.Draw(Domains.MmapPage, ref r)(pages);
            long len = g.Draw(Domains.MmapLength, ref r)((pages, pg));
            int prot = r.Chance(80) ? (b.AccMode == O_RDONLY ? PROT_READ : PROT_READ | PROT_WRITE) : r.Pick(new[] { PROT_READ, PROT_READ | PROT_WRITE });
            int flags = b.Device == "udmabuf" && r.Chance(10) ? MAP_PRIVATE : MAP_SHARED;
            return new Mmap(b.Var, pg, len, prot, flags);
        });
        Offer(5, static (g, r) => new Llseek(r.Pick(g.Bufs).Var, g.Draw(Domains.LlseekOffset, ref r), g.Draw(Domains.LlseekWhence, ref r)));
        Offer(5, static (g, r) => new DmaBufSync(r.Pick(g.Bufs).Var, g.Draw(Domains.SyncFlags, ref r)));
        // SET_NAME and SET_NAME_A share the weight SET_NAME had alone, so every other draw of every seed is as before
        Offer(2, static (g, r) => new DmaBufSetName(r.Pick(g.Bufs).Var, g.Draw(Domains.NameLength, ref r)));
        Offer(1, static (g, r) => new DmaBufSetNameA(r.Pick(g.Bufs).Var, g.Draw(Domains.NameLength, ref r)));
        Offer(4, static (g, r) => new FcntlGetFd(r.Pick(g.Bufs).Var));
        Offer(3, static (g, r) => new FcntlGetFl(r.Pick(g.Bufs).Var));
        Offer(2, static (g, r) => new UnknownIoctl(r.Pick(g.Bufs).Var));
        // SCM_RIGHTS takes a third of the weight dup() had alone, so every other draw of every seed is as before
        Offer(2, static (g, r) => new Dup(r.Pick(g.Bufs).Var));
        Offer(1, static (g, r) => new PassFd(r.Pick(g.Bufs).Var, g.Draw(Domains.RecvCloexec, ref r)));
        Offer(5, static (g, r) => new Close(r.Pick(g.Bufs).Var));
    }

    /// <summary>The exec family's rule (the <c>exec</c> section): in the exec family, now and then a new program is asked which of the sequence's fds it holds (DMABUF-CLOEXEC-3); a process start is costly under TCG, so only a quarter of the sequences do it, about once each</summary>
    private void ExecRule()
    {
        Offer(2, static (g, _) => new Exec(g._live.Where(v => v.Kind is not (K.Map or K.Gem or K.Fence)).Select(v => v.Var).Take(62).ToImmutableArray()));
    }

    /// <summary>The calls on an fd that is no dma-buf (the <c>bad fd</c> section).</summary>
    private void BadHandleRules()
    {
        List<V> heaps = Heaps, udev = Udev;
        Offer(1, static (_, r) => r.Weighted<Op>((1, new Llseek(Var.BadFd, 0, SEEK_END)), (1, new DmaBufSync(Var.BadFd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW)), (1, new FcntlGetFd(Var.BadFd))));
        if (heaps.Count > 0 || udev.Count > 0) Offer(1, static (g, r) => new UnknownIoctl(r.Pick(g.Filter(g.Heaps, g.Udev, static _ => true)).Var));
    }

    /// <summary>The rules of this process's mappings (the <c>mappings</c> section).</summary>
    private void MapRules()
    {
        if (_writable.Count > 0) Offer(14, static (g, r) => { var m = r.Pick(g._writable); return new WriteStamp(m.Var, OffsetArg(ref r, m.Size), r.Next() | 1); });
        // growing a dma-buf mapping past its buffer takes one of the weight reads had alone, so every other draw of every
        // seed is as before
        var growable = _growable;
        Offer(growable.Count > 0 ? 13 : 14, static (g, r) => { var m = r.Pick(g.Maps); return new ReadStamp(m.Var, OffsetArg(ref r, m.Size)); });
        if (growable.Count > 0) Offer(1, static (g, r) => { var m = r.Pick(g._growable); return new MremapGrow(m.Var, g.Draw(Domains.MremapPastEnd, ref r), m.End); });
        Offer(4, static (g, r) => new Munmap(r.Pick(g.Maps).Var));
    }

    /// <summary>
    /// The second process (<see cref="Op.Process"/> 1): this process's dma-buf and video fds are sent to it (SCM_RIGHTS), and it
    /// maps them (a dma-buf whole, a video buffer as this process would), writes and reads the mappings, syncs and closes
    /// them, sends one back, and exits holding what it holds, while this process's own rules go on with the same buffers: the
    /// owner's REQBUFS(0) or close while the other process maps the queue's buffers, a close here while it holds the fd there
    /// (DMABUF-PROC-1, DMABUF-PROC-2).
    /// </summary>
    /// <summary>Which helper process <see cref="ProcessRules{P}"/> offers the calls of: a type, so that each process's rules are
    /// static lambdas of their own (cached once, no closure per call).</summary>
    private interface IHelperProcess { static abstract int N { get; } }
    private struct P1 : IHelperProcess { public static int N => 1; }
    private struct P2 : IHelperProcess { public static int N => 2; }

    // what ObserveProcess found for process 1 and 2 (index), for the rules ProcessRules offers (kept until the handles change)
    private readonly List<V>[] _theirs = [[], [], []], _procFds = [[], [], []], _theirBufs = [[], [], []], _theirVideo = [[], [], []], _theirMaps = [[], [], []],
        _alsoTheirs = [[], [], []], _theirWritable = [[], [], []];
    private readonly List<V> _sendable = [];
    /// <summary>A helper process's lists were filled since the last <see cref="Start"/> (which clears them then).</summary>
    private bool _helperListsFilled;
    private bool _p2Lives;   // process 2 holds a live handle

    /// <summary>What <see cref="ProcessRules{P}"/> reads of process P's handles and this process's, into its fields (the lists
    /// its rules pick from).</summary>
    private void ObserveProcess<P>(List<V> vars, List<V> bufs, List<V> video, uint changed) where P : struct, IHelperProcess
    {
        int proc = P.N;
        var theirs = _theirs[proc];
        var fds = _procFds[proc];
        // (the helper's own lists only where a helper's handle was made or released; what it was sent also where this
        // process's dma-bufs or video fds changed)
        if ((changed & HelperBit) != 0)
        {
            _helperListsFilled = true;
            Refill(theirs, vars, proc, static (v, p) => v.Live && v.Proc == p);
            Refill(fds, theirs, 0, static (v, _) => v.Kind is K.DmaBuf or K.Video);
            Refill(_theirBufs[proc], theirs, 0, static (v, _) => v.Kind == K.DmaBuf);
            Refill(_theirVideo[proc], theirs, 0, static (v, _) => v.Kind == K.Video);
            Refill(_theirMaps[proc], theirs, 0, static (v, _) => v.Kind == K.Map);
            if (proc == 1) _p2Lives = Exists(vars, 2, static (v, p) => v.Live && v.Proc == p);
            Refill(_theirWritable[proc], _theirMaps[proc], 0, static (m, _) => (m.Prot & PROT_WRITE) != 0);
        }
        var alsoTheirs = _alsoTheirs[proc];
        Refill(alsoTheirs, bufs, fds, static (b, theirFds) => Exists(theirFds, b.Var, static (f, v) => f.SentFrom == v));
        foreach (var v in video) if (Exists(fds, v.Var, static (f, x) => f.SentFrom == x)) alsoTheirs.Add(v);
    }

    private void ProcessRules<P>() where P : struct, IHelperProcess
    {
        int proc = P.N;
        List<V> theirs = _theirs[proc], fds = _procFds[proc], theirBufs = _theirBufs[proc], theirVideo = _theirVideo[proc], theirMaps = _theirMaps[proc];
        if (proc == 1)
        {
            // the suite's process sends P1 its fds; P2 gets its own by P1's fork, once P1 holds something
            if (_sendable.Count > 0) Offer(fds.Count < 2 ? 30 : fds.Count < 4 ? 6 : 1, static (g, r) => new SendFd(r.Pick(g._sendable).Var, 1, g.Draw(Domains.RecvCloexec, ref r)));
            if (fds.Count > 0 && !_p2Lives) Offer(4, static (_, _) => new Fork(2) { Process = 1 });
        }
        // this process closes its fd of a file the other holds too: the file lives on there (and goes with its exit)
        if (_alsoTheirs[proc].Count > 0) Offer(proc == 1 ? 8 : 3, static (g, r) => new Close(r.Pick(g._alsoTheirs[P.N]).Var));
        if (theirBufs.Count > 0)
        {
            Offer(10, static (g, r) =>
            {
                var b = r.Pick(g._theirBufs[P.N]);
                return new Mmap(b.Var, 0, b.Size, b.AccMode == O_RDONLY ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED) { Process = P.N };
            });
            Offer(6, static (g, r) => new DmaBufSync(r.Pick(g._theirBufs[P.N]).Var, g.Draw(Domains.SyncFlags, ref r)) { Process = P.N });
            Offer(3, static (g, r) => new FcntlGetFd(r.Pick(g._theirBufs[P.N]).Var) { Process = P.N });
            Offer(3, static (g, r) => new SendFd(r.Pick(g._theirBufs[P.N]).Var, 0, g.Draw(Domains.RecvCloexec, ref r)) { Process = P.N });
        }
        if (theirVideo.Count > 0 && _hasVideo)
            Offer(10, static (g, r) =>
            {
                var node = g.Node;
                uint p = node.MultiPlanar ? g.Draw(Domains.MmapVideoMplanePlane, ref r)(node.NumPlanes) : g.Draw(Domains.MmapVideoPlane, ref r);
                uint t = node.IsMem2Mem ? g.Draw(Domains.M2mBufType, ref r)(node) : node.BufType;
                return new MmapVideo(r.Pick(g._theirVideo[P.N]).Var, t, g.IndexArg(ref r), p, g.Draw(Domains.MmapVideoLength, ref r)(node.QueueFor(t).PlaneSize(p)),
                    g.Draw(Domains.MmapVideoProt, ref r), g.Draw(Domains.MmapVideoFlags, ref r)) { Process = P.N };
            });
        if (fds.Count > 0) Offer(4, static (g, r) => new Close(r.Pick(g._procFds[P.N]).Var) { Process = P.N });
        if (theirMaps.Count > 0)
        {
            if (_theirWritable[proc].Count > 0) Offer(10, static (g, r) => { var m = r.Pick(g._theirWritable[P.N]); return new WriteStamp(m.Var, OffsetArg(ref r, m.Size), r.Next() | 1) { Process = P.N }; });
            Offer(12, static (g, r) => { var m = r.Pick(g._theirMaps[P.N]); return new ReadStamp(m.Var, OffsetArg(ref r, m.Size)) { Process = P.N }; });
            Offer(3, static (g, r) => new Munmap(r.Pick(g._theirMaps[P.N]).Var) { Process = P.N });
        }
        if (theirs.Count > 0) Offer(8, static (_, _) => new ExitProcess { Process = P.N });
    }

    private static Var DrmFor(ref Rng r, V gem, List<V> drms) =>
        r.Chance(90) && Exists(drms, gem.Owner, static (d, owner) => d.Var == owner) ? gem.Owner : r.Pick(drms).Var;

    /// <summary>
    /// A stateful decoder whose stream the suite writes (dev-decoder.rst): frames written into mappings of OUTPUT buffers and
    /// queued with their length, its events (SOURCE_CHANGE, EOS) subscribed and dequeued; and in the sequences of the drain's
    /// family, the way through a source change one step at a time on a context: subscribe, an OUTPUT buffer mapped, a frame
    /// written and queued, OUTPUT streaming, the event, CAPTURE allocated, one of its buffers exported, CAPTURE streaming,
    /// buffers decoded; a frame of the other resolution, the LAST buffer and EPIPE, the event; CAPTURE stopped, freed with the
    /// export still open, allocated for the new resolution and streaming again, and the exported buffer read.
    /// </summary>
    private void DecoderRules(Action<int, Func<Rng, Op?>> Add, VideoNodeProfile node, List<V> video, List<V> maps, List<V> bufs, Env env)
    {
        uint capT = node.BufType, outT = node.OutputQueue!.BufType;
        long frame = Bitstream.FrameLength(0);
        V? OutMap(V v, uint index) => _contexts.GetValueOrDefault(v.Var.Id) is { } c
            ? maps.FirstOrDefault(m => m.Device == "video" && m.BufType == outT && m.BufIndex == index && (m.Prot & PROT_WRITE) != 0 && m.Size >= frame
                && _contexts.GetValueOrDefault(m.Owner.Id) == c && m.Gen == c.OutGen) : null;
        // an OUTPUT buffer is queued with the frame written into it (its length as bytesused), else as any output buffer
        QBuf QueueOut(V v, uint index) => new(v.Var, outT, index, V4L2_MEMORY_MMAP, Var.None)
            { BytesUsed = _contexts.GetValueOrDefault(v.Var.Id)?.Written.ContainsKey(index) == true ? frame : 0 };
        var writable = maps.Where(m => m.Device == "video" && m.BufType == outT && (m.Prot & PROT_WRITE) != 0 && m.Size >= frame).ToList();
        Add(writable.Count > 0 ? 5 : 0, r => new WriteFrame(r.Pick(writable).Var, Draw(Domains.StreamResolution, ref r)));
        Add(4, r =>
        {
            var v = r.Pick(video);
            if (_contexts.GetValueOrDefault(v.Var.Id) is not { Written.Count: > 0 } c) return null;
            return QueueOut(v, r.Pick(c.Written.Keys.Order().ToList()));
        });
        Add(3, r => new SubscribeEvent(r.Pick(video).Var, Draw(Domains.EventType, ref r), Draw(Domains.EventIoctl, ref r)));
        Add(3, r => new DQEvent(r.Pick(video).Var));
        // a wait for an event that is certain to come (one pending, or the stream's first resolution owed)
        var owed = video.Where(v => env.Resolve(v.Var, out var fd) && _model.EventComes(fd)).ToList();
        Add(owed.Count > 0 ? 3 : 0, r => new EventWait(r.Pick(owed).Var));
        // its drain: STOP (and START to resume) on a context whose queues stream, among the queueing and dequeueing that drive
        // it (rarely on one that does not: AMB-37, not judged); a blocking DQBUF of CAPTURE where the drain must return a buffer
        Add(3, r =>
        {
            var v = r.Pick(video);
            if (_contexts.TryGetValue(v.Var.Id, out var c) && !(c.OutOn && c.CapOn) && !r.Chance(10)) return null;
            return new DecoderCmd(v.Var, Draw(Domains.DecoderCommand, ref r), Draw(Domains.DecoderCmdIoctl, ref r));
        });
        var draining = Filter(video, v => env.Resolve(v.Var, out var fd) && _model.DQBufWait(fd, capT) == BlockingDQBuf.WaitsForBuffer);
        Add(draining.Count > 0 ? 8 : 0, r => new DQBufBlocking(r.Pick(draining).Var, capT));
        if (!_drainFamily || !node.SupportsMemory(V4L2_MEMORY_MMAP) || !node.OutputQueue.SupportsMemory(V4L2_MEMORY_MMAP)) return;
        if (_decoderDrain)
        {
            // the way through a drain one step at a time on a context: EOS subscribed, MMAP buffers on both queues, both
            // streaming, STOP, CAPTURE buffers queued until the LAST one comes back (no OUTPUT buffer pending, so at once), a
            // DQBUF that finds EPIPE, then START or STREAMOFF to resume; OUTPUT buffers queued after the STOP are held
            Add(300, r =>
            {
                var v = r.Pick(video);
                if (!env.Resolve(v.Var, out var fd) || _model.ViewQueue(fd, capT) is not { } cq || _model.ViewQueue(fd, outT) is not { } oq) return null;
                bool eos = (_model.SubscribedEvents(fd) & (1u << (int)V4L2_EVENT_EOS)) != 0;
                if (!eos && r.Chance(50)) return new SubscribeEvent(v.Var, V4L2_EVENT_EOS, false);
                if (oq.Allocated == 0) return new ReqBufs(v.Var, outT, V4L2_MEMORY_MMAP, 2);
                if (cq.Allocated == 0) return new ReqBufs(v.Var, capT, V4L2_MEMORY_MMAP, 2);
                if (oq.Memory != V4L2_MEMORY_MMAP || cq.Memory != V4L2_MEMORY_MMAP) return null;
                if (!oq.Streaming) return new StreamOn(v.Var, outT);
                if (!cq.Streaming) return new StreamOn(v.Var, capT);
                if (cq.LastDequeued)
                    return r.Weighted((4, 0), (4, 1), (1, 2), (3, 3), (3, 4)) switch
                    {
                        // an OUTPUT buffer queued now is held until START (VB2-DEC-8): queue one, or look for it
                        4 => oq.Idle is { } li && li <= 1 && r.Chance(60) ? new QBuf(v.Var, outT, (uint)li, V4L2_MEMORY_MMAP, Var.None) : new DQBuf(v.Var, outT),
                        0 => new DQBuf(v.Var, capT),
                        1 => new DecoderCmd(v.Var, V4L2_DEC_CMD_START, false),
                        2 => new StreamOff(v.Var, capT),
                        _ => (Op)new DQEvent(v.Var),   // the drain's EOS, if the file subscribed before the STOP
                    };
                if (cq.Draining)
                {
                    if (draining.Any(d => d.Var == v.Var) && r.Chance(70)) return new DQBufBlocking(v.Var, capT);
                    if (oq.Idle is { } di && di <= 1 && r.Chance(20)) return new QBuf(v.Var, outT, (uint)di, V4L2_MEMORY_MMAP, Var.None);   // held
                    if (cq.Idle is { } ci && ci <= 1 && r.Chance(70)) return new QBuf(v.Var, capT, (uint)ci, V4L2_MEMORY_MMAP, Var.None);
                    return r.Chance(60) ? new DQBuf(v.Var, capT) : new DQBuf(v.Var, outT);
                }
                if (cq.Idle is { } i && i <= 1 && r.Chance(40)) return new QBuf(v.Var, capT, (uint)i, V4L2_MEMORY_MMAP, Var.None);
                return r.Chance(70) ? new DecoderCmd(v.Var, V4L2_DEC_CMD_STOP, false) : new DQBuf(v.Var, r.Chance(50) ? capT : outT);
            });
            return;
        }
        // a source change takes some twenty steps on one context: the way there outweighs the rest of the node's rules
        Add(300, r =>
        {
            var v = r.Pick(video);
            if (!env.Resolve(v.Var, out var fd) || !_contexts.TryGetValue(v.Var.Id, out var c) || _model.ViewQueue(fd, capT) is not { } cq || _model.ViewQueue(fd, outT) is not { } oq)
                return null;
            bool subscribed = (_model.SubscribedEvents(fd) & (1u << (int)V4L2_EVENT_SOURCE_CHANGE)) != 0;
            if (!subscribed && r.Chance(70)) return new SubscribeEvent(v.Var, V4L2_EVENT_SOURCE_CHANGE, false);
            if (oq.Allocated == 0) return new ReqBufs(v.Var, outT, V4L2_MEMORY_MMAP, 2);
            if (oq.Memory != V4L2_MEMORY_MMAP) return null;
            var exported = bufs.FirstOrDefault(b => b.Device == "vb2" && b.Owner == v.Var);
            // a frame into an idle OUTPUT buffer, then queued: once the stream has a resolution and nothing is ahead, mostly one
            // of the other resolution (a change)
            bool settled = cq.StreamRes != null && cq.ChangeAhead == null;
            if (oq.Idle is { } oi && oi <= 1 && (!oq.Streaming || r.Chance(settled && cq.Streaming ? 50 : 15)))
            {
                if (OutMap(v, (uint)oi) is not { } map) return new MmapVideo(v.Var, outT, (uint)oi, 0, node.OutputQueue.SizeImage, PROT_READ | PROT_WRITE, MAP_SHARED);
                int res = settled && r.Chance(80) ? 1 - cq.StreamRes!.Value : Draw(Domains.StreamResolution, ref r);
                if (!c.Written.TryGetValue((uint)oi, out var had) || had != res && r.Chance(70)) return new WriteFrame(map.Var, res);
                return QueueOut(v, (uint)oi);
            }
            if (!oq.Streaming) return new StreamOn(v.Var, outT);
            // a change the decoder may have signalled: its event first, so that CAPTURE is set up for the stream; where the
            // decoder owes the stream's first resolution, waited for with poll() first (VB2-DEC-1: it must come)
            if (subscribed && cq.ChangeAhead != null && !cq.Streaming && r.Chance(60))
                return _model.EventComes(fd) && (_model.SubscribedEvents(fd) & 1u << (int)V4L2_EVENT_SOURCE_CHANGE) != 0 && r.Chance(50)
                    ? new EventWait(v.Var) : new DQEvent(v.Var);
            // after the LAST buffer (a change's or a drain's): EPIPE, the events, and CAPTURE stopped or START to resume
            if (cq.LastDequeued)
                return r.Weighted((2, 0), (3, 1), (4, 2), (2, 3)) switch
                {
                    0 => new DQBuf(v.Var, capT), 1 => new DQEvent(v.Var), 3 => new DecoderCmd(v.Var, V4L2_DEC_CMD_START, false),
                    _ => (Op)new StreamOff(v.Var, capT),
                };
            // during a drain: a blocking DQBUF where the drain must return a buffer, else a CAPTURE buffer queued (the drain hands
            // one back flagged LAST), or a frame queued on OUTPUT after the STOP (held until START: VB2-DEC-8)
            if (cq.Draining)
            {
                if (draining.Any(d => d.Var == v.Var) && r.Chance(70)) return new DQBufBlocking(v.Var, capT);
                if (cq.Idle is { } di && di <= 1 && r.Chance(60)) return new QBuf(v.Var, capT, (uint)di, V4L2_MEMORY_MMAP, Var.None);
                return r.Weighted((3, 0), (2, 1), (1, 2)) switch { 0 => new DQBuf(v.Var, capT), 1 => new DQBuf(v.Var, outT), _ => (Op)new DQEvent(v.Var) };
            }
            if (!cq.Streaming)
            {
                if (r.Chance(subscribed && cq.ChangeAhead != null ? 80 : 20)) return new DQEvent(v.Var);
                if (cq.Allocated == 0)
                {
                    c.CapAllocRes = cq.StreamRes;
                    return new ReqBufs(v.Var, capT, V4L2_MEMORY_MMAP, 2);
                }
                if (cq.Memory != V4L2_MEMORY_MMAP) return null;
                if (exported == null && r.Chance(60)) return new ExpBuf(v.Var, capT, 0, 0, O_RDWR | O_CLOEXEC);
                // once stopped after a change, free the buffers (with the export still open: it stays valid) and allocate anew
                // for the stream's resolution
                if (cq.Idle == 0 && (c.CapAllocRes != cq.StreamRes ? r.Chance(70) : exported != null && r.Chance(10)))
                    return new ReqBufs(v.Var, capT, V4L2_MEMORY_MMAP, 0);
                if (exported != null && r.Chance(15)) return new Mmap(exported.Var, 0, PAGE_SIZE, PROT_READ, MAP_SHARED);   // one page: the buffer's size is the stream's
                // a buffer's length: the format it was allocated in (the stream's, once the decoder signalled it)
                if (r.Chance(cq.StreamRes != null ? 30 : 10)) return new QueryBuf(v.Var, capT, (uint)r.Below(2));
                if (cq.Idle is { } ci && ci <= 1 && r.Chance(70)) return new QBuf(v.Var, capT, (uint)ci, V4L2_MEMORY_MMAP, Var.None);
                return new StreamOn(v.Var, capT);
            }
            if (cq.Idle is { } i && i <= 1 && r.Chance(50)) return new QBuf(v.Var, capT, (uint)i, V4L2_MEMORY_MMAP, Var.None);
            // with the stream settled and CAPTURE streaming: the drain, with EOS subscribed first (mostly)
            if (settled && r.Chance(12))
            {
                bool eos = (_model.SubscribedEvents(fd) & (1u << (int)V4L2_EVENT_EOS)) != 0;
                return !eos && r.Chance(60) ? new SubscribeEvent(v.Var, V4L2_EVENT_EOS, false) : new DecoderCmd(v.Var, V4L2_DEC_CMD_STOP, false);
            }
            var expMap = maps.FirstOrDefault(m => exported != null && m.Device == "vb2" && m.Owner == exported.Var);
            if (expMap != null && r.Chance(10)) return new ReadStamp(expMap.Var, 0);
            return r.Weighted((5, 0), (2, 1), (2, 2)) switch { 0 => new DQBuf(v.Var, capT), 1 => new DQBuf(v.Var, outT), _ => (Op)new DQEvent(v.Var) };
        });
    }

    /// <summary>DRM PRIME: dumb buffers created, exported (HANDLE_TO_FD), closed and mapped by their GEM handle, and dma-bufs
    /// of every exporter imported (FD_TO_HANDLE); a frame-sized dumb buffer where the sequence mixes in the V4L2 queue
    /// (<paramref name="frameSized"/>), so the queue can import it.</summary>
    private void PrimeRules(bool frameSized)
    {
        List<V> gems = Gems, bufs = Bufs;
        // with a V4L2 queue in the sequence, a frame-sized buffer (vivid's 640x360 YUYV) can be queued as DMABUF
        var frame = _hasVideo ? Node.SizeImage : 0;
        if (frameSized && frame > 0) Offer(6, static (g, r) => new DrmCreateDumb(r.Pick(g.Drms).Var, g.Draw(Domains.DumbFrameWidth, ref r)(g.Node.SizeImage), 360, 16));
        Offer(10, static (g, r) => new DrmCreateDumb(r.Pick(g.Drms).Var, g.Draw(Domains.DumbWidth, ref r), g.Draw(Domains.DumbHeight, ref r), g.Draw(Domains.DumbBpp, ref r)));
        if (gems.Count > 0)
        {
            Offer(12, static (g, r) => { var gem = r.Pick(g.Gems); return new PrimeHandleToFd(DrmFor(ref r, gem, g.Drms), gem.Var, g.Draw(Domains.PrimeFlags, ref r)); });
            Offer(4, static (g, r) => { var gem = r.Pick(g.Gems); return new GemClose(DrmFor(ref r, gem, g.Drms), gem.Var); });
            Offer(5, static (g, r) => { var gem = r.Pick(g.Gems); return new DrmMapDumb(DrmFor(ref r, gem, g.Drms), gem.Var, g.Draw(Domains.DumbMapProt, ref r)); });
        }
        Offer(1, static (g, r) => r.Chance(50) ? new PrimeHandleToFd(r.Pick(g.Drms).Var, Var.BadFd, DRM_CLOEXEC) : new GemClose(r.Pick(g.Drms).Var, Var.BadFd));
        if (bufs.Count > 0)
        {
            Offer(12, static (g, r) => new PrimeFdToHandle(r.Pick(g.Drms).Var,
                r.Weighted((14, r.Pick(g.Bufs).Var), (1, g.Memfds.Count > 0 ? r.Pick(g.Memfds).Var : Var.BadFd), (1, g.Syncs.Count > 0 ? r.Pick(g.Syncs).Var : Var.BadFd), (1, Var.BadFd)),
                g.Draw(Domains.PrimeImportFlags, ref r)));
            if (bufs.Count > 1) Offer(5, static (g, r) => new SameInode(r.Pick(g.Bufs).Var, r.Pick(g.Bufs).Var));
        }
    }

    /// <summary>vgem's fences and sync_file: fences attached to dumb buffers and signalled, sync_files exported from dma-bufs,
    /// imported into them, polled, merged and asked about, and the DRM file closed with its fences pending.</summary>
    private void FenceRules()
    {
        List<V> drms = Drms, gems = Gems, bufs = Bufs, syncs = Syncs, fences = Fences;
        if (gems.Count > 0 && drms.Count > 0)
            Offer(14, static (g, r) => { var linked = g.Filter(g.Gems, static x => x.Link.Id > 0); var gem = linked.Count > 0 && r.Chance(80) ? r.Pick(linked) : r.Pick(g.Gems); return new VgemFenceAttach(DrmFor(ref r, gem, g.Drms), gem.Var,
                g.Draw(Domains.VgemFenceFlags, ref r), g.Draw(Domains.MustBeZero, ref r)); });
        if (fences.Count > 0 && drms.Count > 0)
            Offer(5, static (g, r) => { var f = r.Pick(g.Fences); return new VgemFenceSignal(DrmFor(ref r, f, g.Drms), f.Var, g.Draw(Domains.MustBeZero, ref r)); });
        if (drms.Count > 0) Offer(1, static (g, r) => new VgemFenceSignal(r.Pick(g.Drms).Var, Var.BadFd, 0));
        // releasing a DRM file signals the fences attached through it
        if (drms.Count > 0 && fences.Count > 0) Offer(2, static (g, r) => new Close(r.Pick(g.Drms).Var));
        if (bufs.Count > 0)
        {
            Offer(12, static (g, r) => new ExportSyncFile(r.Chance(93) || g.Syncs.Count == 0 ? g.FencedBuf(ref r).Var : r.Pick(g.Syncs).Var,
                g.Draw(Domains.ExportSyncFlags, ref r)));
            if (syncs.Count > 0)
                Offer(10, static (g, r) => new ImportSyncFile(r.Chance(93) ? g.FencedBuf(ref r).Var : r.Pick(g.Syncs).Var,
                    r.Weighted((14, g.MultiSyncs() is { Count: > 0 } multi && r.Chance(50) ? r.Pick(multi).Var : r.Pick(g.Syncs).Var), (1, r.Pick(g.Bufs).Var), (1, Var.BadFd)),
                    g.Draw(Domains.ImportSyncFlags, ref r)));
        }
        if (bufs.Count + syncs.Count > 0)
            Offer(10, static (g, r) => new Poll(r.Chance(50) && g.Bufs.Count > 0 ? g.FencedBuf(ref r).Var : r.Pick(g.Filter(g.Bufs, g.Syncs, static _ => true)).Var, g.Draw(Domains.PollEvents, ref r)));
        if (syncs.Count > 0)
        {
            // two pending sync_files merge into an array, which an import then unwraps
            var pending = _pending;
            if (pending.Count > 1) Offer(4, static (g, r) => new SyncMerge(r.Pick(g._pending).Var, r.Pick(g._pending).Var, g.Draw(Domains.MergeNamed, ref r), 0));
            Offer(5, static (g, r) => new SyncMerge(r.Chance(93) || g.Bufs.Count == 0 ? r.Pick(g.Syncs).Var : r.Pick(g.Bufs).Var,
                r.Weighted((14, r.Pick(g.Syncs).Var), (1, g.Bufs.Count > 0 ? r.Pick(g.Bufs).Var : Var.BadFd), (1, Var.BadFd)), g.Draw(Domains.MergeNamed, ref r), g.Draw(Domains.MustBeZero, ref r)));
            Offer(7, static (g, r) => new SyncFileInfo(r.Chance(93) || g.Bufs.Count == 0 ? r.Pick(g.Syncs).Var : r.Pick(g.Bufs).Var,
                g.Draw(Domains.FileInfoNumFences, ref r), g.Draw(Domains.FileInfoReserved, ref r), g.Draw(Domains.FileInfoReserved, ref r)));
            Offer(3, static (g, r) => new Close(r.Pick(g.Syncs).Var));
        }
        if (SlowOps && fences.Count > 0) Offer(1, static (_, _) => new VgemFenceExpire());
    }

    /// <summary>A dma-buf, most often one that carries fences (where the interesting answers are); the list of those is made
    /// only when the drawn rule asks.</summary>
    private V FencedBuf(ref Rng r)
    {
        var fenced = Filter(Bufs, static b => b.Fenced);
        return fenced.Count > 0 && r.Chance(85) ? r.Pick(fenced) : r.Pick(Bufs);
    }

    /// <summary>The sync_files holding several fences (imported component by component).</summary>
    private List<V> MultiSyncs() => Filter(Syncs, static x => x.Size > 1);

    private uint TypeArg(ref Rng r, VideoNodeProfile node) =>
        node.IsMem2Mem ? Draw(Domains.M2mBufType, ref r)(node) : Draw(Domains.BufType, ref r)(node.BufType);
    /// <summary>Whether this sequence's video queue uses, or its memory family prefers, memory m.</summary>
    private bool Wants(uint m) => _memory == m || _memoryFamily == m || _requestMemory == m;

    /// <summary>The memory a queue fed through requests is allocated with: the sequence's request memory where the queue
    /// supports requests and that memory (else DMABUF where it takes that), MMAP otherwise.</summary>
    private uint RequestQueueMemory(VideoNodeProfile q) =>
        _requestMemory == 0 || !q.Has(V4L2_BUF_CAP_SUPPORTS_REQUESTS) ? V4L2_MEMORY_MMAP
        : q.SupportsMemory(_requestMemory) ? _requestMemory : q.SupportsMemory(V4L2_MEMORY_DMABUF) ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP;
    private uint MemoryArg(ref Rng r) =>
        _memoryFamily != 0 && Node.SupportsMemory(_memoryFamily) && r.Chance(70) ? _memoryFamily : Draw(Domains.Memory, ref r);
    private uint IndexArg(ref Rng r) => Draw(Domains.BufIndex, ref r);
    private static long OffsetArg(ref Rng r, long len)
    {
        long pages = Math.Max(1, len / PAGE_SIZE);
        long off = r.Below((int)Math.Min(pages, 4)) * PAGE_SIZE + 8 * r.Below(4);
        return off + 8 <= len ? off : 0;
    }
    private (long, long) RangeArg(ref Rng r, long memSize)
    {
        long pages = memSize / PAGE_SIZE;
        long off = r.Chance(70) ? 0 : PAGE_SIZE * r.Below((int)pages);
        long size = pages * PAGE_SIZE - off;
        return Draw(Domains.UdmabufRange, ref r)((off, size));
    }
    /// <summary>m.fd for DMABUF (a dma-buf, sometimes a memfd or the video fd itself), userptr for USERPTR (anonymous memory or a dma-buf mapping).</summary>
    private Var QBufMem(ref Rng r, uint memory, List<V> bufs, List<V> memfds, List<V> maps, List<V> video, long frame)
    {
        if (memory == V4L2_MEMORY_USERPTR)
        {
            var anon = Filter(maps, 0, static (m, _) => m.Anon);
            var pfn = Filter(maps, 0, static (m, _) => !m.Anon && !m.Memfd && m.Device is "heap" or "udmabuf");
            // a mapping as long as a frame reaches the pinning step (a shorter one stops at the length check)
            var big = Filter(pfn, frame, static (m, frame) => m.Size >= frame);
            if (big.Count > 0 && r.Chance(70)) pfn = big;
            return Among(ref r, (2, anon), (4, pfn));
        }
        if (memory == V4L2_MEMORY_DMABUF)
            return Among(ref r, (6, bufs), (1, memfds), (1, video));   // a memfd or a video node: an fd that is not a dma-buf
        return Var.None;
    }

    /// <summary>A QBUF of the first video node with the memory its queue holds: MMAP, or DMABUF or USERPTR handles drawn from
    /// pool, one per plane.</summary>
    private QBuf WithMemory(ref Rng r, QBuf q, List<V> pool) =>
        MorePlanes(ref r, q with { Mem = QBufMem(ref r, q.Memory, pool, Memfds, Maps, Video, Node.SizeImage) }, pool);

    /// <summary>On a multi-planar queue, every further plane of a DMABUF or USERPTR QBUF gets its own memory, drawn the way
    /// <see cref="QBufMem"/> draws it, for its own size (from pool where it holds a handle that large).</summary>
    private QBuf MorePlanes(ref Rng r, QBuf q, List<V> pool)
    {
        var node = Node;
        if (!node.MultiPlanar || q.Memory is not (V4L2_MEMORY_DMABUF or V4L2_MEMORY_USERPTR)) return q;
        var more = ImmutableArray.CreateBuilder<Var>();
        for (int p = 1; p < node.NumPlanes; p++)
        {
            long size = node.PlaneSizes[p];
            var sized = Filter(pool, size, static (b, size) => b.Size >= size);
            more.Add(QBufMem(ref r, q.Memory, sized.Count > 0 && r.Chance(80) ? sized : Bufs, Memfds, Maps, Video, size));
        }
        return q with { MorePlanes = more.ToImmutable() };
    }

    /// <summary>The memory the queue of type t of fd v holds (MMAP when it has none: the QBUF is refused either way).</summary>
    private uint QueueMemory(Var v, uint t) =>
        _env.Resolve(v, out var vfd) && _model.ViewQueue(vfd, t) is { Memory: var qm and not 0 } ? qm : V4L2_MEMORY_MMAP;

    /// <summary>A handle from one of the lists, each list weighted as given among those that hold any (an empty one is never
    /// picked: a QBUF without memory would not run); Var.None when all are empty.</summary>
    private static Var Among(ref Rng r, params ReadOnlySpan<(int W, List<V> Vars)> lists)
    {
        // (Rng.Weighted over the lists that hold any: an empty list weighs nothing, the same draw)
        Span<int> weights = stackalloc int[lists.Length];
        bool any = false;
        for (int i = 0; i < lists.Length; i++) { weights[i] = lists[i].Vars.Count > 0 ? lists[i].W : 0; any |= weights[i] > 0; }
        return any ? r.Pick(lists[r.WeightedIndex(weights)].Vars).Var : Var.None;
    }
}

internal static class RngExt
{
    /// <summary>A child stream for one rule, so rule argument draws do not shift the parent's choices.</summary>
    public static Rng Fork(this ref Rng r) => new(r.Next());
}
