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
        var oracle = new ReferenceModel(profile) { Relaxed = alreadyFailing is { Count: > 0 } known ? known.ToHashSet(StringComparer.Ordinal) : new HashSet<string>() };
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
            list.Add(new ExpectedStep(s.Op, s.Actual, oracle.AllowedOutcomes is { } a ? a.ToArray() : [e], oracle.AnyValue, oracle.Cited.ToArray()));
        }
        oracle.Reset();
        return list;
    }
}
