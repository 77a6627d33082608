using System.Collections.Immutable;
using Conformance.Adapters;
using Conformance.Adapters.Kernel;
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
    /// <summary>A target whose every op starts some microseconds late (a busy wait, as a slower device's call), and every 16th
    /// a millisecond late, asleep: the oracle's thread then keeps up and judges most ops, where behind the model alone the
    /// calling thread, faster, judges most. (The sleep gives the oracle's thread a processor where others hold them all, as
    /// the rest of the tests do: with the busy wait alone, two busy loops beside it left the calling thread judging 99.9%.)</summary>
    public class Paced : ForwardingProxy<Paced>
    {
        public IBufferTarget Inner = null!;
        private int _ops;
        public static IBufferTarget Wrap(IBufferTarget inner)
        {
            var (target, proxy) = Make();
            proxy.Inner = inner;
            return target;
        }
        protected override object Route(System.Reflection.MethodInfo m, object?[]? args)
        {
            if (m.Name == nameof(IBufferTarget.BeginOp))
            {
                long until = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency / 50_000;
                while (System.Diagnostics.Stopwatch.GetTimestamp() < until) Thread.SpinWait(10);
                if (++_ops % 16 == 0) Thread.Sleep(1);
            }
            return Inner;
        }
    }

    /// <summary>Forwards every call to a model, noting the thread it came on; counts the ops (<see cref="IBufferTarget.BeginOp"/>)
    /// and throws as the <see cref="ThrowAt"/>th starts (1-based; 0: never).</summary>
    public class Counting : ForwardingProxy<Counting>
    {
        public ReferenceModel Model = null!;
        public int Ops, ThrowAt;
        /// <summary>Where set, every SlowEvery-th op starts late: only once an oracle's thread has gone to sleep since it began
        /// (<see cref="LockstepProperty.JudgedBehind"/>'s count), or after 2 s (an oracle that ended, past a divergence, never
        /// sleeps again). A call that takes long however slowly the host runs the oracle's spin: a fixed delay (20 ms was
        /// used) is shorter than the spin's yields on a loaded host, and the oracle then never slept.</summary>
        public int SlowEvery;
        public readonly HashSet<int> Threads = [];
        /// <summary>The ids of the ops started, in order.</summary>
        public readonly List<int> Started = [];
        protected override object Route(System.Reflection.MethodInfo m, object?[]? args)
        {
            Threads.Add(Environment.CurrentManagedThreadId);
            if (m.Name == nameof(IBufferTarget.BeginOp)) Started.Add((int)args![0]!);
            if (m.Name == nameof(IBufferTarget.BeginOp) && ++Ops == ThrowAt) throw new InvalidOperationException("the target went away");
            if (m.Name == nameof(IBufferTarget.BeginOp) && SlowEvery > 0 && Ops % SlowEvery == 0)
            {
                long slept = LockstepProperty.JudgedBehind.OracleSlept;
                var until = DateTime.UtcNow.AddSeconds(2);
                while (LockstepProperty.JudgedBehind.OracleSlept == slept && DateTime.UtcNow < until) Thread.Sleep(1);
            }
            return Model;
        }

        public static (IBufferTarget Target, Counting Proxy) Over(ReferenceModel model, int throwAt = 0)
        {
            var (target, proxy) = Make();
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
        long masked = 0;
        var before = LockstepProperty.JudgedBehind;
        var variants = BrokenVariant.All.Select(v => (v.Name, Profile: TargetProfile.BuiltIn.Single(p => p.Name == v.Profile), Make: (Func<TargetProfile, ReferenceModel>)v.Model))
            .Append(("correct", TargetProfile.VividLike, p => new ReferenceModel(p)))
            .Append(("correct m2m", TargetProfile.Vim2mLike, p => new ReferenceModel(p)));
        foreach (var (name, profile, make) in variants)
        {
            var gen = new SequenceGenerator(profile);
            var inStep = new LockstepProperty { JudgeBehind = false };
            var behind = new LockstepProperty { JudgeBehind = true };
            var seqs = Enumerable.Range(1, 24).Select(k => (ulong)k * 7919).Select(seed => seed % 3 == 0 ? gen.GenerateParallel(seed, 40) : gen.Generate(seed, 60)).ToList();
            // first as a run's first sequences are judged (no rule settled), then with every rule found broken settled, as a
            // run goes on after its first counterexamples (divergences there end the sequence unjudged: masked)
            var broken = new HashSet<string>();
            foreach (var settled in new[] { null, broken })
            {
                var e1 = new Exercise();
                var e2 = new Exercise();
                foreach (var seq in seqs)
                {
                    // (each on a target of its own: a broken heap's recycled pages outlive its resets)
                    var a = inStep.Trace(seq, make(profile), e1, out var stepsA, settled);
                    // (every fourth sequence on a target that takes longer an op: judged mostly on the oracle's thread)
                    var b = behind.Trace(seq, seq.Seed % 4 == 0 ? Paced.Wrap(make(profile)) : make(profile), e2, out var stepsB, settled);
                    Assert.True(Key(a) == Key(b), $"{name}, seed {seq.Seed}: in step {Key(a)}\nbehind {Key(b)}");
                    Assert.Equal(stepsA.Count, stepsB.Count);
                    if (a != null) { failures++; if (settled == null) broken.Add(a.InvariantId); } else passes++;
                    foreach (var st in stepsB.Where(st => st.Op.MaySleep))
                        if (st.Actual.Errno == Errno.NotRun) notIssued++; else issuedSleeping++;
                }
                Assert.True(Key(e1) == Key(e2), $"{name}: exercise in step {Key(e1)}\nbehind {Key(e2)}");
                if (settled != null) masked += e2.Masked;
            }
        }
        // the comparison saw both verdicts, masked sequences, and calls that may sleep both issued and held back
        Assert.True(failures > 10 && passes > 10, $"{failures} failures, {passes} passes");
        Assert.True(masked > 10, $"{masked} masked");
        Assert.True(notIssued > 0 && issuedSleeping > 0, $"{notIssued} not issued, {issuedSleeping} issued");
        // and ops judged on either thread: the calling thread judges those the oracle's thread had not where it would wait for
        // them (behind the model alone it runs an op faster than the oracle judges it, so it comes Lag ops ahead often, and
        // it judges what is left at the end), the oracle's thread where the calls take longer
        var after = LockstepProperty.JudgedBehind;
        long byCalls = after.JudgedByCalls - before.JudgedByCalls, judged = after.Judged - before.Judged;
        Assert.True(byCalls > 1000 && byCalls < judged - 1000, $"{byCalls} of {judged} ops judged on the calling thread");
    }

    /// <summary>
    /// A sequence judged as runs judge it (<see cref="LockstepProperty.Check"/>) keeps no step records; a failure's steps are
    /// made after the fact, by judging its outcomes again. They must be the steps a judgement that records every step gives
    /// (<see cref="LockstepProperty.Trace"/>), with the same verdict and the same exercise, in step and behind the calls, on
    /// every broken variant, with no rule settled and with the rules found broken settled (masked sequences).
    /// </summary>
    [Fact]
    public void A_failure_judged_without_step_records_has_the_steps_a_recorded_judgement_gives()
    {
        int failures = 0, passes = 0;
        var variants = BrokenVariant.All.Select(v => (v.Name, Profile: TargetProfile.BuiltIn.Single(p => p.Name == v.Profile), Make: (Func<TargetProfile, ReferenceModel>)v.Model));
        foreach (var (name, profile, make) in variants)
        {
            var gen = new SequenceGenerator(profile);
            var seqs = Enumerable.Range(1, 12).Select(k => (ulong)k * 6007).Select(seed => seed % 4 == 0 ? gen.GenerateParallel(seed, 40) : gen.Generate(seed, 60)).ToList();
            var broken = new HashSet<string>();
            foreach (var settled in new[] { null, broken })
                foreach (bool behind in new[] { false, true })
                {
                    var p = new LockstepProperty { JudgeBehind = behind };
                    var (traced, judged) = (new Exercise(), new Exercise());
                    foreach (var seq in seqs)
                    {
                        var a = p.Trace(LockstepProperty.WithIdleProbe(seq, profile), make(profile), traced, out _, settled);
                        var b = p.Check(seq, make(profile), judged, settled);
                        Assert.True(Key(a) == Key(b), $"{name}, seed {seq.Seed}, {(behind ? "behind" : "in step")}: traced {Key(a)}\njudged {Key(b)}");
                        if (a != null) { failures++; if (settled == null) broken.Add(a.InvariantId); } else passes++;
                    }
                    Assert.True(Key(traced) == Key(judged), $"{name}: exercise traced {Key(traced)}\njudged {Key(judged)}");
                }
        }
        Assert.True(failures > 10 && passes > 10, $"{failures} failures, {passes} passes");
    }

    /// <summary>
    /// A property keeps its oracle and handle bindings between sequences, reset in place. A sequence judged by a property that
    /// has judged others before must get the verdict, steps and exercise a property judging nothing else gives: on every
    /// broken variant, in step and behind the calls, after sequences of other seeds (judged in the opposite order, so each
    /// sequence follows different ones), with no rule settled. A model field its reset misses (what a driver chose for a
    /// request in an earlier sequence, say) would carry one sequence's state into the next.
    /// </summary>
    [Fact]
    public void A_property_that_judged_other_sequences_judges_a_sequence_as_a_new_one_does()
    {
        int failures = 0, passes = 0;
        foreach (var v in BrokenVariant.All)
        {
            var profile = TargetProfile.BuiltIn.Single(p => p.Name == v.Profile);
            var gen = new SequenceGenerator(profile);
            var seqs = Enumerable.Range(1, 10).Select(k => (ulong)k * 7919).Select(seed => seed % 3 == 0 ? gen.GenerateParallel(seed, 40) : gen.Generate(seed, 70)).ToList();
            foreach (bool behind in new[] { false, true })
            {
                var kept = new LockstepProperty { JudgeBehind = behind };
                var (keptEx, freshEx) = (new Exercise(), new Exercise());
                var byKept = new Dictionary<ulong, string>();
                foreach (var seq in Enumerable.Reverse(seqs)) byKept[seq.Seed] = Key(kept.Check(seq, v.Model(profile), keptEx));
                foreach (var seq in seqs)
                {
                    var fresh = new LockstepProperty { JudgeBehind = behind }.Check(seq, v.Model(profile), freshEx);
                    Assert.True(Key(fresh) == byKept[seq.Seed], $"{v.Name}, seed {seq.Seed}, {(behind ? "behind" : "in step")}: a new property {Key(fresh)}\none that judged others {byKept[seq.Seed]}");
                    if (fresh != null) failures++; else passes++;
                }
                Assert.True(Key(keptEx) == Key(freshEx), $"{v.Name}: exercise new {Key(freshEx)}\nkept {Key(keptEx)}");
            }
        }
        Assert.True(failures > 10 && passes > 10, $"{failures} failures, {passes} passes");
    }

    /// <summary>A call that takes longer than the oracle's thread spins for the next outcome puts that thread to sleep on its
    /// event; the outcome that follows must wake it (the calling thread sets the event only for a thread that said it
    /// sleeps). A lost wake-up would leave the sequence waiting for ever: each sequence must end, with the verdict judging in
    /// step gives.</summary>
    [Fact]
    public async Task A_call_that_takes_long_puts_the_oracle_to_sleep_and_the_next_outcome_wakes_it()
    {
        var variant = BrokenVariant.Find("llseek-seek-cur")!;
        var profile = TargetProfile.BuiltIn.Single(p => p.Name == variant.Profile);
        var gen = new SequenceGenerator(profile);
        long sleptBefore = LockstepProperty.JudgedBehind.OracleSlept;
        int failures = 0;
        for (ulong seed = 1; seed <= 12; seed++)
        {
            var seq = gen.Generate(seed, 80);
            var a = new LockstepProperty { JudgeBehind = false }.Check(seq, variant.Model(profile), null);
            var (slow, proxy) = Counting.Over(variant.Model(profile));
            proxy.SlowEvery = 5;
            Failure? b = null;
            try { b = await Task.Run(() => new LockstepProperty { JudgeBehind = true }.Check(seq, slow, null)).WaitAsync(TimeSpan.FromSeconds(60)); }
            catch (TimeoutException) { Assert.Fail($"seed {seed}: the sequence judged behind the calls did not end in 60 s"); }
            Assert.True(Key(a) == Key(b), $"seed {seed}: in step {Key(a)}\nbehind {Key(b)}");
            if (a != null) failures++;
        }
        // (each slow call waits until an oracle sleeps: the oracle waiting on it, unless another test's slept first)
        Assert.True(LockstepProperty.JudgedBehind.OracleSlept - sleptBefore >= 12, $"the oracle slept {LockstepProperty.JudgedBehind.OracleSlept - sleptBefore} times");
        Assert.True(failures > 0 && failures < 12, $"{failures} of 12 failed");
    }

    [Fact]
    public void The_target_is_called_on_the_callers_thread_and_runs_at_most_the_lag_past_a_divergence()
    {
        var variant = BrokenVariant.Find("llseek-seek-cur")!;
        var profile = TargetProfile.BuiltIn.Single(p => p.Name == variant.Profile);
        var gen = new SequenceGenerator(profile);
        int found = 0, ranPast = 0;
        for (ulong seed = 1; seed <= 200 && found < 5; seed++)
        {
            var seq = gen.Generate(seed, 80);
            var (inStep, counted) = Counting.Over(variant.Model(profile));
            var (behind, proxy) = Counting.Over(variant.Model(profile));
            var a = new LockstepProperty { JudgeBehind = false }.Check(seq, inStep, null);
            long pastBefore = LockstepProperty.JudgedBehind.PastDivergence;
            var b = new LockstepProperty { JudgeBehind = true }.Check(seq, behind, null);
            Assert.Equal([Environment.CurrentManagedThreadId], proxy.Threads);
            // (the count is the process's: other tests' sequences may add to it meanwhile)
            Assert.True(LockstepProperty.JudgedBehind.PastDivergence - pastBefore >= proxy.Ops - counted.Ops);
            Assert.Equal(a == null, b == null);
            if (b == null) { Assert.Equal(counted.Ops, proxy.Ops); continue; }
            found++;
            // the ops up to the divergence, and at most Lag more, none of which may sleep or touches a mapping's memory
            Assert.InRange(proxy.Ops, counted.Ops, counted.Ops + LockstepProperty.Lag);
            var byId = LockstepProperty.WithIdleProbe(seq, profile).Ops.ToDictionary(o => o.Id);
            foreach (var id in proxy.Started.Skip(counted.Ops))
                Assert.False(byId[id].MaySleep || byId[id].TouchesMapping, $"{byId[id].Listed} ran past the divergence");
            ranPast += proxy.Ops - counted.Ops;
        }
        Assert.True(ranPast > 0, "no op ran past a divergence: nothing was judged behind");
        Assert.True(found > 0, "no sequence diverged");
    }

    [Fact]
    public void A_call_that_throws_keeps_the_verdict_found_before_it_and_otherwise_the_exception_goes_on()
    {
        var variant = BrokenVariant.Find("llseek-seek-cur")!;
        var profile = TargetProfile.BuiltIn.Single(p => p.Name == variant.Profile);
        var gen = new SequenceGenerator(profile);
        int kept = 0, thrownAtDivergence = 0, thrown = 0;
        for (ulong seed = 1; seed <= 300 && (kept < 3 || thrownAtDivergence < 3 || thrown < 3); seed++)
        {
            var seq = gen.Generate(seed, 80);
            var (inStep, counted) = Counting.Over(variant.Model(profile));
            var f = new LockstepProperty { JudgeBehind = false }.Check(seq, inStep, null);
            if (f != null)
            {
                // the op just after the divergence throws (judging in step never starts it): the verdict stands
                var (after, p1) = Counting.Over(variant.Model(profile), throwAt: counted.Ops + 1);
                Assert.Equal(Key(f), Key(new LockstepProperty { JudgeBehind = true }.Check(seq, after, null)));
                if (p1.Ops >= p1.ThrowAt) kept++;
                // the diverging op itself throws: judging in step would have thrown there, before any verdict
                var (at, p2) = Counting.Over(variant.Model(profile), throwAt: counted.Ops);
                Assert.Throws<InvalidOperationException>(() => new LockstepProperty { JudgeBehind = true }.Check(seq, at, null));
                thrownAtDivergence++;
            }
            else if (seq.Length > 12)
            {
                // in a passing sequence, the tenth op
                var (target, _) = Counting.Over(variant.Model(profile), throwAt: 10);
                Assert.Throws<InvalidOperationException>(() => new LockstepProperty { JudgeBehind = true }.Check(seq, target, null));
                thrown++;
            }
        }
        // (the op after a divergence starts only when the target ran ahead of the judgement there)
        Assert.True(kept > 0 && thrownAtDivergence > 0 && thrown > 0, $"kept {kept}, thrown at the divergence {thrownAtDivergence}, thrown {thrown}");
    }

    /// <summary>The real kernel adapter, on a memfd (any machine): judged behind the calls by default, as every kernel run is,
    /// and in step where told (--judge-in-step), with the same verdict and exercise either way.</summary>
    [Fact]
    public void A_kernel_target_is_judged_behind_the_calls_unless_told_to_judge_in_step()
    {
        var profile = TargetProfile.VividLike with { Video = [] };
        const int RW = Uapi.PROT_READ | Uapi.PROT_WRITE;
        var seq = new OpSequence(1, ImmutableArray.Create<Op>(
            new MemfdCreate(2 * Uapi.PAGE_SIZE, false, 0) { Id = 1 },
            new Mmap(new Var(1), 0, 2 * Uapi.PAGE_SIZE, RW, Uapi.MAP_SHARED) { Id = 2 },
            new WriteStamp(new Var(2), 8, 0x5EED_0001) { Id = 3 },
            new ReadStamp(new Var(2), 8) { Id = 4 },
            new FcntlGetFd(new Var(1)) { Id = 5 },
            new Munmap(new Var(2)) { Id = 6 },
            new Close(new Var(1)) { Id = 7 }));
        foreach (bool inStep in new[] { false, true })
        {
            using var t = new KernelTarget(profile, new Dictionary<string, string>()) { OverlapsOracle = !inStep };
            Assert.Equal(!inStep, ((IBufferTarget)t).OverlapsOracle);
            var (before, waitedBefore) = (LockstepProperty.JudgedBehind.Sequences, LockstepProperty.JudgedBehind.TargetWaitSeconds);
            var e = new Exercise();
            var f = new LockstepProperty().Trace(seq, t, e, out var steps);
            Assert.True(f == null, f?.ToString());
            Assert.Equal(7, e.Ops);
            Assert.Equal(0x5EED_0001L, steps[3].Actual.R0);
            if (!inStep) Assert.True(LockstepProperty.JudgedBehind.Sequences > before);
            // (the calls wait for the judgement before the ops that touch the mapping, and at the sequence's end: timed)
            if (!inStep) Assert.True(LockstepProperty.JudgedBehind.TargetWaitSeconds > waitedBefore);
        }
    }

    /// <summary>Where a sequence judged behind the calls waited for the judgement more than the property's share of its time
    /// (here below 0: every one does), the next <see cref="LockstepProperty.InStepAfterWaits"/> are judged in step, with the
    /// same verdicts; a property told to judge behind (<see cref="LockstepProperty.JudgeBehind"/> true) never falls back.</summary>
    [Fact]
    public void A_sequence_that_mostly_waited_sends_the_next_ones_in_step()
    {
        var profile = TargetProfile.VividLike with { Name = "host-memfd", Video = [], Heaps = [], UdmabufDevice = null, Drm = [], Hugetlb = null };
        var seq = new OpSequence(1, ImmutableArray.Create<Op>(
            new MemfdCreate(Uapi.PAGE_SIZE, false, 0) { Id = 1 },
            new FcntlGetFd(new Var(1)) { Id = 2 },
            new Close(new Var(1)) { Id = 3 }));
        using var t = new KernelTarget(profile, new Dictionary<string, string>()) { OverlapsOracle = true };
        var auto = new LockstepProperty { InStepAboveWaitedShare = -1 };
        long fellBackBefore = LockstepProperty.JudgedInStepForWaits;
        for (int i = 0; i < 4; i++) Assert.Null(auto.Check(seq, t, null));
        // the first judged behind, the three after it in step
        Assert.Equal(3, auto.SequencesInStepForWaits);
        Assert.True(LockstepProperty.JudgedInStepForWaits - fellBackBefore >= 3);
        var forced = new LockstepProperty { InStepAboveWaitedShare = -1, JudgeBehind = true };
        for (int i = 0; i < 4; i++) Assert.Null(forced.Check(seq, t, null));
        Assert.Equal(0, forced.SequencesInStepForWaits);
        // (the default share is a half)
        Assert.Equal(LockstepProperty.DefaultInStepAboveWaitedShare, new LockstepProperty().InStepAboveWaitedShare);
    }
}
