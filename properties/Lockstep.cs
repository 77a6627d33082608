using System.Collections.Immutable;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using static Conformance.Adapters.Uapi;

namespace Conformance.Properties;

/// <summary>
/// Lockstep: every op's outcome on the target must be one the reference model allows, and what both
/// can observe (sizes, counts, flags, contents read through mappings, fd flags) must agree. Stops at
/// the first divergence. Handles are compared as opaque. Every sequence on a target with video nodes
/// ends by closing what it opened and asking each queue, from a new file handle, whether it is idle
/// (<see cref="IdleProbe"/>): state a sequence leaves behind fails that sequence, not the next one.
/// </summary>
public sealed class LockstepProperty : IConformanceProperty
{
    public string Name => "lockstep";
    public string Description => "every outcome on the target is one the reference model allows";
    public IReadOnlyList<string> Checks => Inv.All;

    public FsCheck.Arbitrary<OpSequence> Arbitrary(SequenceGenerator gen, int maxLength) => Shrink.Arbitrary(gen, maxLength);

    public Failure? Check(OpSequence seq, IBufferTarget target, Exercise? exercise, IReadOnlySet<string>? settled = null) =>
        Trace(WithIdleProbe(seq, target.Profile), target, exercise, out _, settled);

    /// <summary>
    /// The ops that show a video queue is idle to a file handle that has done nothing: open the node, CREATE_BUFS(0)
    /// (index = the number of buffers: 0), REQBUFS(0) (0, not EBUSY: no other file owns the queue, nothing streams),
    /// close. On an idle queue they change nothing.
    /// </summary>
    public static OpSequence IdleProbe(TargetProfile p)
    {
        var ops = ImmutableArray.CreateBuilder<Op>();
        int id = 0;
        foreach (var v in p.Video)
        {
            uint mem = new[] { V4L2_MEMORY_MMAP, V4L2_MEMORY_DMABUF, V4L2_MEMORY_USERPTR }.FirstOrDefault(v.SupportsMemory);
            if (mem == 0) continue;
            var fd = new Var(++id);
            ops.Add(new Open(v.Device, O_RDWR | O_NONBLOCK) { Id = id });
            ops.Add(new CreateBufs(fd, v.BufType, mem, 0, 0) { Id = ++id });
            ops.Add(new ReqBufs(fd, v.BufType, mem, 0) { Id = ++id });
            ops.Add(new Close(fd) { Id = ++id });
        }
        return new OpSequence(0, ops.ToImmutable());
    }

    /// <summary>The sequence, its closing ops and the idle probe (once: a counterexample that already ends with it is left as it is).</summary>
    public static OpSequence WithIdleProbe(OpSequence seq, TargetProfile p)
    {
        var probe = IdleProbe(p);
        if (probe.Length == 0 || EndsWith(seq.Ops, probe.Ops)) return seq;
        return OpSequence.Join([seq, probe]) with { Seed = seq.Seed };
    }

    /// <summary>The last ops are the probe's, up to handle numbering.</summary>
    private static bool EndsWith(ImmutableArray<Op> ops, ImmutableArray<Op> probe)
    {
        if (ops.Length < probe.Length) return false;
        int start = ops.Length - probe.Length, delta = ops[start].Id - probe[0].Id;
        for (int i = 0; i < probe.Length; i++)
        {
            var mine = ops[start + i].MapVars(v => v.Id > 0 ? new Var(v.Id - delta) : v) with { Id = ops[start + i].Id - delta };
            if (mine != probe[i]) return false;
        }
        return true;
    }

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
                // a call that may sleep (a blocking DQBUF) is issued only where the oracle knows it returns
                if (op.MaySleep && !op.Returns(oracle, envM))
                {
                    steps.Add(new Step(op, Outcome.NotRun, Outcome.NotRun, null, []));
                    continue;
                }
                var actual = op.Run(target, envT);
                oracle.BeginStep(actual);
                var expected = op.Run(oracle, envM);
                var cited = oracle.Cited.ToArray();
                steps.Add(new Step(op, actual, expected, oracle.AllowedSet, cited));
                // past what the model can follow (a hand-made sequence only): nothing from here on is judged
                if (oracle.Unfollowed != null) { exercise?.Mask(Name); return null; }
                if (!expected.SameObservation(actual))
                {
                    var id = cited.Length > 0 ? cited[^1] : "UNCITED";
                    // a divergence at a step that follows a rule already found broken is that bug again (the state it left
                    // behind shows up here), not a new one: judging this sequence ends here
                    if (settled != null && cited.Any(settled.Contains)) { exercise?.Mask(Name); return null; }
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
            // without an oracle nothing says whether a call that may sleep returns: not issued
            var o = op.MaySleep ? Outcome.NotRun : op.Run(target, env);
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
