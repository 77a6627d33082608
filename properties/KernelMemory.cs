using Conformance.Adapters;
using Conformance.Adapters.Kernel;
using Conformance.Adapters.Model;
using Conformance.Generators;

namespace Conformance.Properties;

/// <summary>
/// DMABUF-LIFE-4 one sequence at a time: runs the steps one after another (a parallel block's branches too, in order), resets
/// the target (every fd closed, every mapping unmapped), and compares the live objects SLUB tracks on the dma-buf paths with
/// those before the sequence (<see cref="AllocTraces"/>), giving late frees a few seconds. A chain that still holds more is
/// the failure, found at the end check (step index -1) with the chains as the actual outcome.
/// </summary>
/// <remarks>
/// Too slow for every sequence of a run (reading every kmalloc cache's alloc_traces takes about a second under TCG), so it is
/// not run by default: the engine checks kernel memory around each property's whole run (<see cref="RunOptions.Memory"/>),
/// and where memory grew it runs this property over that property's sequences, reading only the caches that grew and
/// watching only the chains that grew, to find one sequence that leaves memory behind on its own; that one is shrunk like any
/// counterexample. A replay of its counterexample runs it again. A race (two threads' SYNC START on one udmabuf) rarely loses
/// on a given run, so growth no single sequence repeats stays a verdict with the chains as evidence and no counterexample.
/// </remarks>
public sealed class KernelMemoryProperty : IConformanceProperty
{
    private readonly IConformanceProperty? _source;
    private readonly IReadOnlySet<string>? _chains;
    private readonly Func<IReadOnlyCollection<string>?, AllocTraces.Snapshot?> _take;
    private readonly IReadOnlyCollection<string>? _caches;
    private readonly TimeSpan _maxWait;

    /// <summary>The property a replay runs: every tracked cache read, every chain on the dma-buf paths watched, up to 15 s
    /// for late frees (vgem's fences expire 10 s after their attach).</summary>
    public KernelMemoryProperty() : this(null, null, only => AllocTraces.Take(only), TimeSpan.FromSeconds(15)) { }

    /// <param name="source">The property whose sequences are searched (its generator is used); null: the release property's.</param>
    /// <param name="chains">The chains to watch ("kmalloc-16: f &lt;- g"), those a property's run grew; null: every chain.</param>
    /// <param name="take">How a snapshot of the named caches is taken (all caches for null).</param>
    /// <param name="maxWait">How long late frees are waited for.</param>
    public KernelMemoryProperty(IConformanceProperty? source, IReadOnlySet<string>? chains, Func<IReadOnlyCollection<string>?, AllocTraces.Snapshot?> take, TimeSpan maxWait)
    {
        _source = source;
        _chains = chains;
        _take = take;
        _maxWait = maxWait;
        _caches = chains?.Select(c => c[..Math.Max(0, c.IndexOf(':'))]).ToHashSet(StringComparer.Ordinal);
    }

    public string Name => "kernel-memory";
    public string Description => "after every fd and mapping is gone, nothing allocated on the dma-buf paths outlives them (SLUB's alloc_traces)";
    public IReadOnlyList<string> Checks => [Inv.LifeFreed];
    public bool RunsByDefault => false;

    public Drawing Drawing(int maxLength) => _source?.Drawing(maxLength) ?? Shrink.Drawing(maxLength);

    public Failure? Check(OpSequence seq, IBufferTarget target, Exercise? exercise, IReadOnlySet<string>? settled = null)
    {
        // the model allocates no kernel memory; a kernel without slub_debug=U has nothing to read (the rule is a SKIP there)
        if (settled != null && settled.Contains(Inv.LifeFreed) || target.Profile.MemoryUntracked != null) return null;
        target.Reset();
        var before = _take(_caches);
        if (before == null) return null;
        int bufs = target.LiveDmaBufs();
        // a parallel block's steps run here one after another, and are recorded so (a counterexample in order)
        var steps = ReleaseProperty.RunWithoutOracle(seq.Ops.Select(op => op.Branch == 0 ? op : op with { Branch = 0 }), target);
        target.Reset();
        // a dma-buf the sequence left alive keeps what was allocated for it: the release property's (DMABUF-LIFE-3), not this
        if (target.LiveDmaBufs() > bufs) return null;
        Func<AllocTraces.Snapshot?> take = () => _take(_caches);
        var (_, grown, waited) = AllocTraces.Settle(before, _maxWait, take, _chains == null ? null : TimeSpan.FromSeconds(1));
        if (_chains != null) grown = [.. grown.Where(g => _chains.Contains(g.Chain))];
        if (exercise != null) { exercise.Hit(Inv.LifeFreed); exercise.Ops += steps.Count; }
        if (grown.Count == 0) return null;
        return new Failure(Name, Inv.LifeFreed, -1, steps,
            "no allocating call chain on the dma-buf paths holds more live objects than before the sequence",
            string.Join("; ", grown.Select(g => $"+{g.Delta} {g.Chain}")),
            $"the target was reset: every fd the sequence opened was closed and every mapping unmapped; late frees were given {Math.Max(1, waited.TotalSeconds):F0} s");
    }
}
