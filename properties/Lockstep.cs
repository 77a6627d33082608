using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;

namespace Conformance.Properties;

/// <summary>
/// Lockstep: every op's outcome on the target must be one the reference model allows, and what both
/// can observe (sizes, counts, flags, contents read through mappings, fd flags) must agree. Stops at
/// the first divergence. Handles are compared as opaque.
/// </summary>
public sealed class LockstepProperty : IConformanceProperty
{
    public string Name => "lockstep";
    public string Description => "every outcome on the target is one the reference model allows";
    public IReadOnlyList<string> Checks => Inv.All;

    public FsCheck.Arbitrary<OpSequence> Arbitrary(SequenceGenerator gen, int maxLength) => Shrink.Arbitrary(gen, maxLength);

    public Failure? Check(OpSequence seq, IBufferTarget target, Exercise? exercise, IReadOnlySet<string>? settled = null) => Trace(seq, target, exercise, out _, settled);

    /// <summary>Check, keeping every executed step even when the sequence passes (a sample reproducer is written from them).</summary>
    public Failure? Trace(OpSequence seq, IBufferTarget target, Exercise? exercise, out List<Step> steps, IReadOnlySet<string>? settled = null)
    {
        var oracle = new ReferenceModel(target.Profile) { Relaxed = settled ?? new HashSet<string>() };
        var envT = new Env();
        var envM = new Env();
        steps = new List<Step>(seq.Ops.Length);
        target.Reset();
        try
        {
            foreach (var op in seq.Ops)
            {
                var actual = op.Run(target, envT);
                oracle.BeginStep(actual);
                var expected = op.Run(oracle, envM);
                var cited = oracle.Cited.ToArray();
                steps.Add(new Step(op, actual, expected, oracle.AllowedSet, cited));
                if (!expected.SameObservation(actual))
                {
                    var id = cited.Length > 0 ? cited[^1] : "UNCITED";
                    // a divergence at a step that follows a rule already found broken is that bug again (the state it left
                    // behind shows up here), not a new one: judging this sequence ends here
                    if (settled != null && cited.Any(settled.Contains)) { if (exercise != null) exercise.Masked++; return null; }
                    return new Failure(Name, id, steps.Count - 1, steps, op.Observed(expected), op.Observed(actual));
                }
                if (exercise != null && actual.Errno != Errno.NotRun) { exercise.HitAll(cited); exercise.Ops++; }
            }
            return null;
        }
        finally
        {
            target.Reset();
            oracle.Reset();
        }
    }
}

/// <summary>
/// Resource hygiene on the target: once every fd the sequence opened is closed and every mapping is
/// unmapped, no dma-buf it created is still alive.
/// </summary>
public sealed class ReleaseProperty : IConformanceProperty
{
    public string Name => "release";
    public string Description => "after every fd and mapping is gone, no dma-buf outlives them";
    public IReadOnlyList<string> Checks => [Inv.LifeRelease];

    public FsCheck.Arbitrary<OpSequence> Arbitrary(SequenceGenerator gen, int maxLength) => Shrink.Arbitrary(gen, maxLength);

    public Failure? Check(OpSequence seq, IBufferTarget target, Exercise? exercise, IReadOnlySet<string>? settled = null)
    {
        if (settled != null && settled.Contains(Inv.LifeRelease)) return null;   // its one invariant already has a counterexample
        target.Reset();
        int baseline = target.LiveDmaBufs();
        var env = new Env();
        var steps = new List<Step>(seq.Ops.Length);
        int created = 0;
        foreach (var op in seq.Ops)
        {
            var o = op.Run(target, env);
            steps.Add(new Step(op, o));
            if (o.Ok && op.Creates) created++;
        }
        target.Reset();
        int after = target.LiveDmaBufs();
        if (after < 0) return null;   // the target cannot count (reported by the runner as a limitation)
        if (exercise != null && created > 0) { exercise.Hit(Inv.LifeRelease); exercise.Ops += steps.Count; }
        if (after != baseline)
            return new Failure(Name, Inv.LifeRelease, -1, steps, $"{baseline} live dma-bufs after closing and unmapping everything",
                $"{after} live dma-bufs", "the target was reset: every fd the sequence opened was closed and every mapping unmapped");
        return null;
    }
}
