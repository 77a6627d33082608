using System.Collections.Immutable;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;

namespace Conformance.Properties;

/// <summary>
/// The model's side of a sequence with parallel blocks (<see cref="Op.Branch"/>; DMABUF-PAR-1): the target's outcomes are
/// recorded first, then the model replays the whole sequence once per combination of one interleaving per block, each
/// branch's steps in their own order and each branch with its own copy of the handles (as each thread holds the numbers it
/// had when the block began). Used by the parallel property to judge and by <see cref="Expectations"/> to write what each
/// interleaving allows into replay files and C reproducers.
/// </summary>
/// <param name="ops">The whole sequence.</param>
/// <param name="actual">What the target returned at each step (NotRun where it was not issued).</param>
/// <param name="blocks">Each block's steps, [Start, End), in order (<see cref="Blocks"/>).</param>
/// <param name="parallelFrom">The first block's first step: before it the harness asked the oracle which calls that may
/// sleep to issue, from it on it issues none.</param>
public sealed class Linearization(ImmutableArray<Op> ops, IReadOnlyList<Outcome> actual, IReadOnlyList<(int Start, int End)> blocks,
    TargetProfile profile, IReadOnlySet<string> relaxed, int parallelFrom)
{
    private readonly List<List<int[]>> _orders = blocks.Select(b => WithDeferredReleases(ops, b.Start, b.End, Interleavings(ops, b.Start, b.End)).ToList()).ToList();

    /// <summary>
    /// A close in a block whose fd another branch's step also names may release its file later than it returns: that step,
    /// if it was inside the kernel then, holds the file until it returns (<see cref="ReferenceModel.DeferRelease"/>). Each
    /// order is given, for each such close k, the release as a step of its own (written -(k+1)) at every place after the
    /// close, the place right after it being the release at once.
    /// </summary>
    public static IEnumerable<int[]> WithDeferredReleases(IReadOnlyList<Op> ops, int start, int end, IEnumerable<int[]> orders)
    {
        var deferred = Enumerable.Range(start, end - start).Where(k => ops[k] is Close c &&
            Enumerable.Range(start, end - start).Any(j => ops[j].Branch != ops[k].Branch && ops[j].Uses.Contains(c.Fd))).ToList();
        IEnumerable<int[]> Insert(int[] order, int d)
        {
            int at = Array.IndexOf(order, d);
            for (int p = at + 1; p <= order.Length; p++) yield return [.. order[..p], -(d + 1), .. order[p..]];
        }
        foreach (var order in orders)
        {
            IEnumerable<int[]> all = [order];
            foreach (var d in deferred) all = all.SelectMany(o => Insert(o, d));
            foreach (var o in all) yield return o;
        }
    }

    /// <summary>Whether an order's entry is the deferred release of a close (<see cref="WithDeferredReleases"/>), not a step.</summary>
    public static bool IsRelease(int entry) => entry < 0;

    /// <summary>The blocks of a sequence: maximal runs of consecutive steps with a branch, as [Start, End).</summary>
    public static List<(int Start, int End)> Blocks(IReadOnlyList<Op> ops)
    {
        var list = new List<(int, int)>();
        for (int i = 0; i < ops.Count;)
        {
            if (ops[i].Branch == 0) { i++; continue; }
            int end = i;
            while (end < ops.Count && ops[end].Branch != 0) end++;
            list.Add((i, end));
            i = end;
        }
        return list;
    }

    /// <summary>How many combinations of one interleaving per block there are (long.MaxValue when more).</summary>
    public long Combinations => _orders.Aggregate(1L, (n, o) => n > long.MaxValue / Math.Max(1, o.Count) ? long.MaxValue : n * o.Count);

    /// <summary>What <see cref="Search"/> found: the first play that explains every outcome (null: none), the one that got
    /// furthest, how many plays it ran, where each failing play diverged and under which rule, and whether it gave up at its
    /// limit before trying every order.</summary>
    public sealed record Result(Play? Match, Play? Best, int Tried, HashSet<(int Step, string Rule)> Diverging, bool GaveUp);

    /// <summary>
    /// Depth first over the blocks: an order of block b is kept only while the model allows every outcome up to the next
    /// block, so the orders of later blocks are tried only behind orders of earlier ones that explain what came before them
    /// (a sequence joined from many that each end in a block costs their sum, not their product). At most
    /// <paramref name="limit"/> plays.
    /// </summary>
    public Result Search(int limit)
    {
        var choice = _orders.Select(o => o[0]).ToArray();
        var diverging = new HashSet<(int, string)>();
        Play? best = null, match = null;
        int tried = 0;
        bool gaveUp = false;
        bool Walk(int b)
        {
            int boundary = b + 1 < blocks.Count ? blocks[b + 1].Start : ops.Length;
            foreach (var order in _orders[b])
            {
                if (tried >= limit) { gaveUp = true; return false; }
                choice[b] = order;
                var play = Replay(choice);
                tried++;
                if (play.Unfollowed) { match = play; return true; }
                if (play.Diverged < 0) { match = play; return true; }
                diverging.Add((play.Diverged, play.Cited[play.Diverged] is { Length: > 0 } r ? r[^1] : "UNCITED"));
                if (best == null || play.Judged > best.Judged) best = play;
                if (play.Diverged >= boundary && b + 1 < blocks.Count && Walk(b + 1)) return true;
                if (gaveUp) return false;
            }
            return false;
        }
        if (blocks.Count > 0) Walk(0);
        return new Result(match, best, tried, diverging, gaveUp);
    }

    /// <summary>The interleavings of block b.</summary>
    public IReadOnlyList<int[]> OrdersOf(int b) => _orders[b];

    /// <summary>Combination number c (0 ≤ c &lt; <see cref="Combinations"/>): one order per block.</summary>
    public int[][] Combination(long c)
    {
        var choice = new int[_orders.Count][];
        for (int b = 0; b < _orders.Count; b++) { choice[b] = _orders[b][(int)(c % _orders[b].Count)]; c /= _orders[b].Count; }
        return choice;
    }

    /// <summary>
    /// One run of the model over the whole sequence with one order per block: what it expected at each step (null past the
    /// divergence where it stopped), every outcome it allowed there, why (cited rules), and the first step whose outcome it
    /// did not allow (-1: none), after <see cref="Judged"/> steps.
    /// </summary>
    public sealed record Play(Outcome?[] Expected, Outcome[]?[] Options, bool[] AnyValue, string?[] Allowed, string[][] Cited,
        int Diverged, int Judged, bool Unfollowed, IReadOnlyList<int[]> Orders);

    /// <param name="orders">One order per block (<see cref="Combination"/>).</param>
    /// <param name="toTheEnd">Go on past the first divergence (the model then follows its own expectation), so every step gets
    /// what it allows under this order.</param>
    public Play Replay(IReadOnlyList<int[]> orders, bool toTheEnd = false)
    {
        var model = new ReferenceModel(profile) { Relaxed = relaxed };
        var env = new Env();
        int n = ops.Length;
        var expected = new Outcome?[n];
        var options = new Outcome[]?[n];
        var any = new bool[n];
        var allowed = new string?[n];
        var cited = new string[n][];
        for (int i = 0; i < n; i++) cited[i] = [];
        int judged = 0, diverged = -1;
        // one step on the model; false when it does not allow what the target returned
        bool Step(int i, Env e)
        {
            var op = ops[i];
            // before the first block the oracle chose which sleeping calls to issue, after it none is issued
            if (op.MaySleep && (i >= parallelFrom || !op.Returns(model, e))) { expected[i] = Outcome.NotRun; options[i] = [Outcome.NotRun]; }
            else
            {
                model.BeginStep(actual[i]);
                var x = op.Run(model, e);
                expected[i] = x;
                options[i] = model.AllowedOutcomes is { } a ? a.ToArray() : [x];
                any[i] = model.AnyValue;
                cited[i] = model.CitedArray();
                allowed[i] = model.AllowedSet;
            }
            judged++;
            if (expected[i]!.Value.SameObservation(actual[i])) return true;
            if (diverged < 0) diverged = i;
            return toTheEnd;
        }
        Play Done(bool unfollowed = false) => new(expected, options, any, allowed, cited, unfollowed ? -1 : diverged, judged, unfollowed, orders);
        try
        {
            int b = 0;
            for (int i = 0; i < n;)
            {
                if (b < blocks.Count && i == blocks[b].Start)
                {
                    var before = env.Clone();
                    var envs = new Env?[Op.MaxBranches + 1];
                    var kept = new Dictionary<int, object>();   // the files deferred closes keep, by the close's step
                    foreach (var k in orders[b])
                    {
                        if (IsRelease(k))
                        {
                            if (kept.Remove(-k - 1, out var file)) model.ReleaseDeferred(file);
                            continue;
                        }
                        bool defer = orders[b].Contains(-(k + 1));
                        model.DeferRelease = defer;
                        var ok = Step(k, envs[ops[k].Branch] ??= before.Clone());
                        model.DeferRelease = false;
                        if (defer && model.Deferred is { } f) kept[k] = f;
                        if (!ok) return Done();
                        if (model.Unfollowed != null) return Done(unfollowed: true);
                    }
                    foreach (var f in kept.Values) model.ReleaseDeferred(f);
                    foreach (var e in envs) if (e != null) env.Merge(before, e);
                    i = blocks[b++].End;
                    continue;
                }
                if (!Step(i, env)) return Done();
                if (model.Unfollowed != null) return Done(unfollowed: true);
                i++;
            }
            return Done();
        }
        finally { model.Reset(); }
    }

    /// <summary>Every interleaving of the branches of the block ops[start..end): each an order of the block's step indices that
    /// keeps each branch's own order.</summary>
    public static IEnumerable<int[]> Interleavings(IReadOnlyList<Op> ops, int start, int end)
    {
        var branches = Enumerable.Range(start, end - start).GroupBy(k => ops[k].Branch).OrderBy(g => g.Key).Select(g => g.ToArray()).ToArray();
        var pos = new int[branches.Length];
        var order = new int[end - start];
        IEnumerable<int[]> Walk(int n)
        {
            if (n == order.Length) { yield return (int[])order.Clone(); yield break; }
            for (int b = 0; b < branches.Length; b++)
            {
                if (pos[b] == branches[b].Length) continue;
                order[n] = branches[b][pos[b]++];
                foreach (var o in Walk(n + 1)) yield return o;
                pos[b]--;
            }
        }
        return Walk(0);
    }
}
