using System.Collections.Immutable;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;

namespace Conformance.Properties;

/// <summary>
/// One step of a counterexample with what the documentation expects of it: every outcome the reference
/// model allows there (several where the docs leave a choice, e.g. a capture device completing a buffer
/// on its own clock), and the one this run took. AnyValue: R0 is not specified (contents a device wrote).
/// </summary>
public sealed record ExpectedStep(Op Op, Outcome Actual, IReadOnlyList<Outcome> Allowed, bool AnyValue, IReadOnlyList<string> Cited)
{
    /// <summary>
    /// For a step of a parallel block (<see cref="Op.Branch"/>): what it may return under each interleaving of its block that
    /// the documentation tells apart, aligned across the block's steps (alternative j of every step of the block is one
    /// order), so the block is as documented when, for some j, every step's outcome is in its list j. <see cref="Allowed"/>
    /// is then the list of the order the run was judged by. Null for a step run in order.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<Outcome>>? ByOrder { get; init; }

    /// <summary>Which allowed outcome this run took (-1: none, this is where it departs from the documentation).</summary>
    public int Taken
    {
        get
        {
            for (int i = 0; i < Allowed.Count; i++)
                if (Allowed[i].Errno == Actual.Errno && (AnyValue || Allowed[i].R0 == Actual.R0) && Allowed[i].R1 == Actual.R1 && Allowed[i].R2 == Actual.R2) return i;
            return -1;
        }
    }
}

/// <summary>What a failure's steps were expected to do, with the documented expectation on every step
/// (never the broken target's), as the replay file and the C reproducer carry them.</summary>
public static class Expectations
{
    /// <summary>
    /// Runs the reference model as an oracle over the recorded outcomes, so every property's counterexample
    /// (lockstep, release, aliasing) gets per-step expectations. The model takes the target's branch
    /// wherever the documentation allows several.
    /// </summary>
    /// <param name="alreadyFailing">Invariants already reported failing when the counterexample was found: the oracle
    /// followed the target at their steps then, and does so here, so the expectation is the one the failure was judged by.</param>
    public static IReadOnlyList<ExpectedStep> Derive(TargetProfile profile, IReadOnlyList<Step> steps, IReadOnlyCollection<string>? alreadyFailing = null)
    {
        var relaxed = alreadyFailing is { Count: > 0 } known ? known.ToHashSet(StringComparer.Ordinal) : new HashSet<string>();
        var blocks = Linearization.Blocks(steps.Select(s => s.Op).ToList());
        if (blocks.Count > 0) return DeriveParallel(profile, steps, blocks, relaxed);
        var oracle = new ReferenceModel(profile) { Relaxed = relaxed };
        var env = new Env();
        var list = new List<ExpectedStep>(steps.Count);
        foreach (var s in steps)
        {
            // where the harness did not issue a call that may sleep (lockstep asked the same oracle; release never issues one),
            // neither does this
            if (s.Op.MaySleep && (s.Actual.Errno == Errno.NotRun || !s.Op.Returns(oracle, env)))
            {
                list.Add(new ExpectedStep(s.Op, s.Actual, [Outcome.NotRun], false, []));
                continue;
            }
            oracle.BeginStep(s.Actual);
            var e = s.Op.Run(oracle, env);
            list.Add(new ExpectedStep(s.Op, s.Actual, oracle.AllowedOutcomes is { } a ? a.ToArray() : [e], oracle.AnyValue, oracle.CitedArray()));
        }
        oracle.Reset();
        return list;
    }

    /// <summary>
    /// <see cref="Derive"/> for a sequence with parallel blocks: every step as the combination of interleavings the run was
    /// judged by expects it (the first that explains every outcome, else the one that got furthest), and each block step's
    /// <see cref="ExpectedStep.ByOrder"/> from every order of its block, the other blocks as judged.
    /// </summary>
    private static IReadOnlyList<ExpectedStep> DeriveParallel(TargetProfile profile, IReadOnlyList<Step> steps, List<(int Start, int End)> blocks,
        IReadOnlySet<string> relaxed)
    {
        var ops = steps.Select(s => s.Op).ToImmutableArray();
        var lin = new Linearization(ops, steps.Select(s => s.Actual).ToArray(), blocks, profile, relaxed, blocks[0].Start);
        var search = lin.Search(LockstepProperty.MaxInterleavings);
        var orders = (search.Match ?? search.Best ?? lin.Replay([.. blocks.Select((_, b) => lin.OrdersOf(b)[0])])).Orders.ToArray();
        var whole = lin.Replay(orders, toTheEnd: true);
        var byOrder = new IReadOnlyList<Outcome>[ops.Length][];
        var anyByOrder = new bool[ops.Length];
        for (int b = 0; b < blocks.Count; b++)
        {
            var (start, end) = blocks[b];
            var alternatives = new List<Outcome[][]>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var order in lin.OrdersOf(b))
            {
                var play = lin.Replay([.. orders.Select((o, x) => x == b ? order : o)], toTheEnd: true);
                var tuple = Enumerable.Range(start, end - start).Select(i => play.Options[i] ?? [Outcome.NotRun]).ToArray();
                for (int i = start; i < end; i++) anyByOrder[i] |= play.AnyValue[i];
                if (seen.Add(string.Join("|", tuple.Select(t => string.Join(",", t.Select(o => o.ToString())))))) alternatives.Add(tuple);
            }
            for (int i = start; i < end; i++) byOrder[i] = alternatives.Select(t => (IReadOnlyList<Outcome>)t[i - start]).ToArray();
        }
        return steps.Select((s, i) => new ExpectedStep(s.Op, s.Actual, whole.Options[i] ?? [Outcome.NotRun], whole.AnyValue[i] || anyByOrder[i], whole.Cited[i])
        {
            ByOrder = byOrder[i],
        }).ToList();
    }
}
