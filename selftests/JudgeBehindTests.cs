using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Spec;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// Lockstep judging behind the target (<see cref="LockstepProperty.JudgeBehind"/>, what every kernel run does): the oracle on
/// a thread of its own, the target's calls on the caller's. It must give what judging each step before the next call gives:
/// the same verdicts, steps and exercise, on every broken variant; run no call that may sleep unless the oracle knows it
/// returns; run at most a few ops past a divergence; and keep a verdict the oracle found before a call that threw.
/// </summary>
public class JudgeBehindTests
{
    /// <summary>Forwards every call to a model, noting the thread it came on; counts the ops (<see cref="IBufferTarget.BeginOp"/>)
    /// and throws as the <see cref="ThrowAt"/>th starts (1-based; 0: never).</summary>
    public class Counting : System.Reflection.DispatchProxy
    {
        public ReferenceModel Model = null!;
        public int Ops, ThrowAt;
        public readonly HashSet<int> Threads = [];
        protected override object? Invoke(System.Reflection.MethodInfo? m, object?[]? args)
        {
            Threads.Add(Environment.CurrentManagedThreadId);
            if (m!.Name == nameof(IBufferTarget.BeginOp) && ++Ops == ThrowAt) throw new InvalidOperationException("the target went away");
            try { return m.Invoke(Model, args); }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException != null) { throw e.InnerException; }
        }

        public static (IBufferTarget Target, Counting Proxy) Over(ReferenceModel model, int throwAt = 0)
        {
            var target = System.Reflection.DispatchProxy.Create<IBufferTarget, Counting>();
            var proxy = (Counting)(object)target;
            proxy.Model = model;
            proxy.ThrowAt = throwAt;
            return (target, proxy);
        }
    }

    private static string Key(Failure? f) => f == null ? "pass" :
        $"{f.InvariantId} at {f.StepIndex} of {f.Steps.Count}: {f.Expected} / {f.Actual} / {f.Detail}\n" +
        string.Join("\n", f.Steps.Select(s => $"{s.Op.Listed} {s.Actual} {s.Expected} {s.Allowed} {string.Join(",", s.Cited ?? [])}"));

    private static string Key(Exercise e) => $"ops {e.Ops} masked {e.Masked} " +
        string.Join(",", Catalog.Load().All.Select(i => $"{i.Id}={e[i.Id]}"));

    [Fact]
    public void Judging_behind_the_target_gives_the_verdicts_steps_and_exercise_judging_in_step_gives_on_every_broken_variant()
    {
        int failures = 0, passes = 0, notIssued = 0, issuedSleeping = 0;
        var variants = BrokenVariant.All.Select(v => (v.Name, Profile: TargetProfile.BuiltIn.Single(p => p.Name == v.Profile), Make: (Func<TargetProfile, ReferenceModel>)v.Model))
            .Append(("correct", TargetProfile.VividLike, p => new ReferenceModel(p)))
            .Append(("correct m2m", TargetProfile.Vim2mLike, p => new ReferenceModel(p)));
        foreach (var (name, profile, make) in variants)
        {
            var gen = new SequenceGenerator(profile);
            var inStep = new LockstepProperty { JudgeBehind = false };
            var behind = new LockstepProperty { JudgeBehind = true };
            var e1 = new Exercise();
            var e2 = new Exercise();
            for (ulong seed = 1; seed <= 24; seed++)
            {
                var seq = seed % 3 == 0 ? gen.GenerateParallel(seed * 7919, 40) : gen.Generate(seed * 7919, 60);
                // (each on a target of its own: a broken heap's recycled pages outlive its resets)
                var a = inStep.Trace(seq, make(profile), e1, out var stepsA);
                var b = behind.Trace(seq, make(profile), e2, out var stepsB);
                Assert.True(Key(a) == Key(b), $"{name}, seed {seed * 7919}: in step {Key(a)}\nbehind {Key(b)}");
                Assert.Equal(stepsA.Count, stepsB.Count);
                if (a != null) failures++; else passes++;
                foreach (var s in stepsB.Where(s => s.Op.MaySleep))
                    if (s.Actual.Errno == Errno.NotRun) notIssued++; else issuedSleeping++;
            }
            Assert.True(Key(e1) == Key(e2), $"{name}: exercise in step {Key(e1)}\nbehind {Key(e2)}");
        }
        // the comparison saw both verdicts, and calls that may sleep both issued and held back
        Assert.True(failures > 10 && passes > 10, $"{failures} failures, {passes} passes");
        Assert.True(notIssued > 0 && issuedSleeping > 0, $"{notIssued} not issued, {issuedSleeping} issued");
    }

    [Fact]
    public void The_target_is_called_on_the_callers_thread_and_runs_at_most_the_lag_past_a_divergence()
    {
        var variant = BrokenVariant.Find("llseek-seek-cur")!;
        var profile = TargetProfile.BuiltIn.Single(p => p.Name == variant.Profile);
        var gen = new SequenceGenerator(profile);
        int found = 0;
        for (ulong seed = 1; seed <= 200 && found < 5; seed++)
        {
            var seq = gen.Generate(seed, 80);
            var (inStep, counted) = Counting.Over(variant.Model(profile));
            var (behind, proxy) = Counting.Over(variant.Model(profile));
            var a = new LockstepProperty { JudgeBehind = false }.Check(seq, inStep, null);
            var b = new LockstepProperty { JudgeBehind = true }.Check(seq, behind, null);
            Assert.Equal([Environment.CurrentManagedThreadId], proxy.Threads);
            Assert.Equal(a == null, b == null);
            if (b == null) { Assert.Equal(counted.Ops, proxy.Ops); continue; }
            found++;
            // the ops up to the divergence, and at most Lag more
            Assert.InRange(proxy.Ops, counted.Ops, counted.Ops + LockstepProperty.Lag);
        }
        Assert.True(found > 0, "no sequence diverged");
    }

    [Fact]
    public void A_call_that_throws_keeps_the_verdict_found_before_it_and_otherwise_the_exception_goes_on()
    {
        var variant = BrokenVariant.Find("llseek-seek-cur")!;
        var profile = TargetProfile.BuiltIn.Single(p => p.Name == variant.Profile);
        var gen = new SequenceGenerator(profile);
        bool kept = false, thrown = false;
        for (ulong seed = 1; seed <= 300 && !(kept && thrown); seed++)
        {
            var seq = gen.Generate(seed, 80);
            var (inStep, counted) = Counting.Over(variant.Model(profile));
            var f = new LockstepProperty { JudgeBehind = false }.Check(seq, inStep, null);
            // the op just after the divergence throws (judging in step never starts it); in a passing sequence, the tenth op
            var (target, _) = Counting.Over(variant.Model(profile), throwAt: f != null ? counted.Ops + 1 : 10);
            if (f != null)
            {
                Assert.Equal(Key(f), Key(new LockstepProperty { JudgeBehind = true }.Check(seq, target, null)));
                kept = true;
            }
            else if (seq.Length > 12)
            {
                Assert.Throws<InvalidOperationException>(() => new LockstepProperty { JudgeBehind = true }.Check(seq, target, null));
                thrown = true;
            }
        }
        Assert.True(kept && thrown);
    }
}
