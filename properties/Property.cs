using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Conformance.Adapters;
using Conformance.Generators;

namespace Conformance.Properties;

/// <summary>One executed step: what the target did, and what the model expected where it was consulted. A struct: a judged
/// sequence keeps one per step in one list, not an object each for the collector to trace (a third of what judging allocated).</summary>
public readonly record struct Step(Op Op, Outcome Actual, Outcome? Expected = null, string? Allowed = null, IReadOnlyList<string>? Cited = null);

/// <summary>Why a sequence failed: the step that diverged (or -1 for an end-of-sequence check), and the invariant it broke.</summary>
public sealed record Failure(string Property, string InvariantId, int StepIndex, IReadOnlyList<Step> Steps, string Expected, string Actual, string? Detail = null);

/// <summary>How often each invariant was actually checked during a run.</summary>
public sealed class Exercise
{
    /// <summary>Sequences whose judgement ended early: at a divergence on an invariant the run had already reported failing, or
    /// where the model could no longer follow the target (<see cref="Conformance.Adapters.Model.ReferenceModel.Unfollowed"/>).</summary>
    public long Masked;
    private readonly Dictionary<string, long> _maskedIn = new(StringComparer.Ordinal);
    /// <summary>A sequence of <paramref name="property"/> ended early (<see cref="Masked"/>).</summary>
    public void Mask(string property) { Masked++; _maskedIn[property] = _maskedIn.GetValueOrDefault(property) + 1; }
    /// <summary>How many of <see cref="Masked"/> were sequences of <paramref name="property"/>.</summary>
    public long MaskedIn(string property) => _maskedIn.GetValueOrDefault(property);
    /// <summary>Why the run on this target stopped before its budget (a device left busy that cannot be reloaded), or null.</summary>
    public string? StoppedBecause;
    /// <summary>Each invariant's count, boxed: a step's cited IDs are counted through the boxes its array was given before.</summary>
    private readonly Dictionary<string, StrongBox<long>> _counts = new(StringComparer.Ordinal);
    /// <summary>The count boxes of the cited-ID arrays seen through <see cref="HitAll"/> (a parallel block's plays: the models
    /// hand out one shared array per combination of IDs, <see cref="Conformance.Adapters.Model.CitedIds"/>), by the array's
    /// identity; at most <see cref="MaxArrays"/> are kept.</summary>
    private readonly Dictionary<string[], StrongBox<long>[]> _byArray = new(ReferenceEqualityComparer.Instance);
    private const int MaxArrays = 4096;

    private StrongBox<long> Box(string id)
    {
        ref var box = ref CollectionsMarshal.GetValueRefOrAddDefault(_counts, id, out _);
        return box ??= new StrongBox<long>();
    }

    /// <summary>Invariant <paramref name="id"/> was checked once.</summary>
    public void Hit(string id) => Box(id).Value++;
    /// <summary>Invariant <paramref name="id"/> was checked n times at once (DMABUF-LIFE-4: once per sequence of a property).</summary>
    public void Hit(string id, long n) => Box(id).Value += n;
    /// <summary>Every invariant a step cited was checked once (an array met before is counted without hashing its IDs).</summary>
    public void HitAll(IReadOnlyList<string> ids)
    {
        if (ids is not string[] a || a.Length == 0) { for (int i = 0; i < ids.Count; i++) Hit(ids[i]); return; }
        if (!_byArray.TryGetValue(a, out var boxes))
        {
            boxes = new StrongBox<long>[a.Length];
            for (int i = 0; i < a.Length; i++) boxes[i] = Box(a[i]);
            if (_byArray.Count < MaxArrays) _byArray[a] = boxes;
        }
        foreach (var b in boxes) b.Value++;
    }
    /// <summary>Every invariant of the IDs a model cited for a step was checked once. Counted by the combination's number
    /// (<see cref="Conformance.Adapters.Model.CitedIds.Key"/>), one add a step: the IDs' own counts are brought up to date
    /// when one is read (<see cref="this[string]"/>, after the run), not at every step (that was an add through each ID's
    /// box, two to five a step, on the oracle's path).</summary>
    public void HitCited(Conformance.Adapters.Model.CitedIds cited)
    {
        int key = cited.Key;
        // (a combination outside the tree is met once: counted ID by ID, not kept by its number)
        if (key < 0) { foreach (var id in cited.Ids) Hit(id); return; }
        if (key >= _hits.Length)
        {
            int n = Math.Max(key + 1, _hits.Length * 2);
            Array.Resize(ref _hits, n);
            Array.Resize(ref _combination, n);
        }
        if (_hits[key]++ == 0)
        {
            _combination[key] = cited;
            _pending.Add(key);
        }
    }
    /// <summary>Steps counted by <see cref="HitCited"/> not yet added to their IDs' counts, by the combination's number; the
    /// combination of each number met; the numbers with steps pending.</summary>
    private long[] _hits = new long[64];
    private Conformance.Adapters.Model.CitedIds?[] _combination = new Conformance.Adapters.Model.CitedIds?[64];
    private readonly List<int> _pending = new();

    /// <summary>Adds the steps <see cref="HitCited"/> counted since the last time to each cited ID's count.</summary>
    private void Settle()
    {
        foreach (int key in _pending)
        {
            foreach (var id in _combination[key]!.Ids) Box(id).Value += _hits[key];
            _hits[key] = 0;
        }
        _pending.Clear();
    }

    /// <summary>How many times invariant <paramref name="id"/> was checked.</summary>
    public long this[string id]
    {
        get
        {
            if (_pending.Count > 0) Settle();
            return _counts.TryGetValue(id, out var b) ? b.Value : 0;
        }
    }
    public long Ops;
    public long Sequences;
}

/// <summary>
/// A property certifies a target against invariants. It names the catalog IDs it checks (the suite's
/// tests require every catalog ID to be named by some property, and every named ID to exist).
/// </summary>
public interface IConformanceProperty
{
    string Name { get; }
    string Description { get; }
    IReadOnlyList<string> Checks { get; }
    /// <summary>Run when no --property names one (false: only when named, or by the engine for its own purpose, as the
    /// kernel-memory property is).</summary>
    bool RunsByDefault => true;
    /// <summary>How the sequences this property checks are drawn (FsCheck draws each one's seed and length, a generator expands
    /// it; FsCheck shrinks a failing one through <see cref="Shrink.Candidates"/>), at most about maxLength ops each.</summary>
    Drawing Drawing(int maxLength);
    /// <summary>
    /// Runs one sequence on the target (from a fresh state) and returns the first violation, or null. Counts into
    /// exercise when given. A divergence on an invariant in <paramref name="settled"/> (one this run has already
    /// reported, with its own counterexample) is not a new failure: judging the sequence ends there, so the other
    /// invariants are still judged in every sequence up to the known divergence and a second bug is still found.
    /// </summary>
    Failure? Check(OpSequence seq, IBufferTarget target, Exercise? exercise, IReadOnlySet<string>? settled = null);
}
