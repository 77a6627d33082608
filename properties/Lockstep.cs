using System.Diagnostics;
using System.Collections.Immutable;
using System.Runtime;
using System.Runtime.ExceptionServices;
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
/// <param name="parallel">The "parallel" property: the same judgement of sequences that end in a parallel block
/// (<see cref="SequenceGenerator.GenerateParallel"/>), whose branches run at once on the target (DMABUF-PAR-1).</param>
public sealed class LockstepProperty(bool parallel = false) : IConformanceProperty
{
    public string Name => parallel ? "parallel" : "lockstep";
    public string Description => parallel
        ? "calls made at once from several threads return what some order of them returns, and every outcome is one the reference model allows"
        : "every outcome on the target is one the reference model allows";
    public IReadOnlyList<string> Checks => Inv.All;

    public Drawing Drawing(int maxLength) => Shrink.Drawing(maxLength, parallel);

    public Failure? Check(OpSequence seq, IBufferTarget target, Exercise? exercise, IReadOnlySet<string>? settled = null)
    {
        // a sequence that passes needs no step records, and one that fails gets them by judging its outcomes again (Retrace):
        // only a sequence with a parallel block keeps them as it goes, since its blocks are judged by replaying the steps
        // before them. A record of every step was a tenth of what judging a step cost (a 112-byte struct with three references
        // copied into a list, and its cited IDs' shared array)
        var full = WithIdleProbe(seq, target.Profile);
        return Judge(full, target, exercise, settled, HasBlock(full.Ops) ? new List<Step>(full.Ops.Length) : null);
    }

    /// <summary>Whether some op belongs to a parallel block (<see cref="Op.Branch"/>).</summary>
    private static bool HasBlock(ImmutableArray<Op> ops)
    {
        foreach (var op in ops) if (op.Branch != 0) return true;
        return false;
    }

    /// <summary>No rule settled: a run's first sequences, a replay.</summary>
    private static readonly IReadOnlySet<string> NoneSettled = new HashSet<string>();

    /// <summary>
    /// The ops that show a video queue is idle to a file handle that has done nothing: open the node, CREATE_BUFS(0)
    /// (index = the number of buffers: 0), REQBUFS(0) (0, not EBUSY: no other file owns the queue, nothing streams),
    /// close. On an idle queue they change nothing.
    /// </summary>
    public static OpSequence IdleProbe(TargetProfile p) => Probes.GetValue(p, BuildIdleProbe);

    /// <summary>Each profile's probe, built once: it is joined to every sequence.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<TargetProfile, OpSequence> Probes = new();

    private static OpSequence BuildIdleProbe(TargetProfile p)
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
    /// <remarks>What <see cref="OpSequence.Join"/> of the two makes, built without its copies: the sequence's ops as they are,
    /// its closing ops, and the probe renumbered after them, which is made once per profile and offset (the lockstep harness
    /// does this for every sequence it judges).</remarks>
    public static OpSequence WithIdleProbe(OpSequence seq, TargetProfile p)
    {
        var probe = IdleProbe(p);
        if (probe.Length == 0 || EndsWith(seq.Ops, probe.Ops)) return seq;
        var closing = seq.Closing();
        int top = 0;
        foreach (var op in seq.Ops) top = Math.Max(top, op.Id);
        foreach (var op in closing) top = Math.Max(top, op.Id);
        static ImmutableArray<Op> Shift(int off, OpSequence probe) => [.. probe.Ops.Select(op => op.Renumbered(off))];
        // (a generated sequence's ids stay well below the bound; a long joined history's are not kept)
        var shifted = top <= MaxSharedOffset ? ShiftedProbes.GetValue(probe, static _ => new()).GetOrAdd(top, Shift, probe) : Shift(top, probe);
        var ops = ImmutableArray.CreateBuilder<Op>(seq.Ops.Length + closing.Count + shifted.Length);
        ops.AddRange(seq.Ops);
        ops.AddRange(closing);
        ops.AddRange(shifted);
        return new OpSequence(seq.Seed, ops.MoveToImmutable());
    }

    /// <summary>Each probe renumbered to start after a given handle id (up to <see cref="MaxSharedOffset"/>): ops never change,
    /// so these are shared.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<OpSequence, System.Collections.Concurrent.ConcurrentDictionary<int, ImmutableArray<Op>>> ShiftedProbes = new();

    private const int MaxSharedOffset = 1024;

    /// <summary>The last ops are the probe's, up to handle numbering.</summary>
    private static bool EndsWith(ImmutableArray<Op> ops, ImmutableArray<Op> probe)
    {
        if (ops.Length < probe.Length) return false;
        int start = ops.Length - probe.Length, delta = ops[start].Id - probe[0].Id;
        // most sequences end otherwise: the kinds of call tell before any op is renumbered
        for (int i = 0; i < probe.Length; i++)
            if (ops[start + i].GetType() != probe[i].GetType()) return false;
        for (int i = 0; i < probe.Length; i++)
        {
            var mine = ops[start + i].Renumbered(-delta);
            if (mine != probe[i]) return false;
        }
        return true;
    }

    /// <summary>Check, keeping every executed step even when the sequence passes (a sample reproducer is written from them).</summary>
    /// <remarks>Steps run in order up to the first parallel block (ops with a <see cref="Op.Branch"/>), each judged as it returns
    /// or, judging behind the target (<see cref="JudgeBehind"/>), a few ops after it, in the same order.
    /// From there the rest of the sequence runs on the target as a whole (each block's branches at once, on threads of their own
    /// where the target is <see cref="IBufferTarget.Concurrent"/>), and is then judged against every interleaving of each
    /// block (<see cref="JudgeParallel"/>). A call that may sleep is not issued after a block: nothing judges there whether it
    /// returns.</remarks>
    public Failure? Trace(OpSequence seq, IBufferTarget target, Exercise? exercise, out List<Step> steps, IReadOnlySet<string>? settled = null)
    {
        steps = new List<Step>(seq.Ops.Length);
        return Judge(seq, target, exercise, settled, steps);
    }

    /// <summary>Judges the sequence: each step's record goes to <paramref name="steps"/> where given (a parallel block needs
    /// them); where not, the target's outcomes are kept, and a failure's steps are made from them (<see cref="Retrace"/>).</summary>
    private Failure? Judge(OpSequence seq, IBufferTarget target, Exercise? exercise, IReadOnlySet<string>? settled, List<Step>? steps)
    {
        var relaxed = settled ?? NoneSettled;
        var kit = RentKit(target.Profile);
        var oracle = kit.Oracle;
        oracle.Relaxed = relaxed;
        var envT = kit.TargetEnv;
        var envM = kit.ModelEnv;
        var clock = Clock;
        long t0 = clock != null ? Stopwatch.GetTimestamp() : 0;
        bool behind = clock == null && (JudgeBehind ?? target.OverlapsOracle);
        // (where the last sequence judged behind the calls mostly waited for the judgement, the next ones are judged in step)
        if (behind && JudgeBehind == null && Volatile.Read(ref _inStepLeft) > 0)
        {
            Interlocked.Decrement(ref _inStepLeft);
            Interlocked.Increment(ref _inStepForWaits);
            Interlocked.Increment(ref _inStepForWaitsHere);
            behind = false;
        }
        target.Reset();
        if (clock != null) t0 = clock.Add(OpClock.Reset, t0, isTarget: true);
        Outcome[]? kept = null;
        try
        {
            if (behind)
                return RunAhead(seq, target, oracle, envT, envM, exercise, steps, relaxed, settled);
            var ops = seq.Ops;
            if (steps == null)
            {
                kept = kit.Actual;
                if (kept.Length < ops.Length) kit.Actual = kept = new Outcome[ops.Length];
            }
            for (int i = 0; i < ops.Length; i++)
            {
                var op = ops[i];
                if (op.Branch != 0)
                {
                    var verdict = JudgeParallel(seq, target, envT, exercise, steps!, relaxed, settled);
                    if (clock != null) clock.Add(OpClock.Parallel, t0, isTarget: true);
                    return verdict;
                }
                if (Withheld(op, oracle, envM))
                {
                    steps?.Add(WithheldStep(op));
                    continue;
                }
                var actual = op.Run(target, envT);
                if (kept != null) kept[i] = actual;
                if (clock != null) t0 = clock.Add(clock.KindOf(op), t0, isTarget: true);
                var step = Step(op, actual, oracle, envM, exercise, steps, settled, out var failure);
                if (clock != null) t0 = clock.Add(clock.KindOf(op), t0, isTarget: false);
                if (step == Judged.Diverges) return failure ?? Retrace(ops, kept!, i, oracle, settled);
                if (step == Judged.Ends) return null;
            }
            return null;
        }
        finally
        {
            if (clock != null) t0 = Stopwatch.GetTimestamp();
            target.Reset();
            if (clock != null) clock.Add(OpClock.Reset, t0, isTarget: true);
            oracle.Reset();
            envT.Clear();
            envM.Clear();
            Volatile.Write(ref _spareKit, kit);
        }
    }

    /// <summary>What judging a sequence works with beside the target: the oracle, the two sides' handle bindings, and the array
    /// a sequence judged in step keeps the target's outcomes in for <see cref="Retrace"/>. Kept
    /// between sequences, each reset in place (<see cref="ReferenceModel.Reset"/>, <see cref="Env.Clear"/>), as the generator
    /// keeps its own model: a new oracle's tables and lists grew again in every sequence, and in the lab's heap mix (6.12.118
    /// under TCG) the oracle's steps that took over 20 us, 1.2% of them at about 80 us each and two thirds of them
    /// DMA_HEAP_IOCTL_ALLOC's, left the calls waiting for the judgement at 13% of the ops.</summary>
    private sealed class Kit(TargetProfile profile)
    {
        public readonly ReferenceModel Oracle = new(profile);
        public readonly Env TargetEnv = new(), ModelEnv = new();
        public Outcome[] Actual = new Outcome[128];
    }

    /// <summary>One kit kept per property, taken and put back atomically (one property may judge on several threads at once);
    /// a kit of another profile is not used.</summary>
    private Kit? _spareKit;

    private Kit RentKit(TargetProfile profile) =>
        Interlocked.Exchange(ref _spareKit, null) is { } kit && ReferenceEquals(kit.Oracle.Profile, profile) ? kit : new Kit(profile);

    /// <summary>
    /// A failure's steps, made after the fact for a sequence judged without records: a new oracle judges the ops again, from
    /// the first to <paramref name="last"/> (where the judgement found the divergence), against the outcomes the target gave
    /// (<paramref name="actual"/>), and records each step; the new oracle is <paramref name="judged"/>'s like (its profile, the
    /// rules it relaxes). The oracle's judgement is a function of the ops and those outcomes alone (its device clock is drawn
    /// from each op's id, its choices follow the target's), so it parts from them at the same step, with the same verdict; a
    /// judgement that does not is the harness's own bug, and throws.
    /// </summary>
    private Failure Retrace(ImmutableArray<Op> ops, Outcome[] actual, int last, ReferenceModel judged, IReadOnlySet<string>? settled)
    {
        var oracle = new ReferenceModel(judged.Profile) { Relaxed = judged.Relaxed };
        var envM = new Env();
        var steps = new List<Step>(last + 1);
        try
        {
            for (int i = 0; i <= last; i++)
            {
                var op = ops[i];
                if (Withheld(op, oracle, envM)) { steps.Add(WithheldStep(op)); continue; }
                var step = Step(op, actual[i], oracle, envM, null, steps, settled, out var failure);
                if (step == Judged.Agrees) continue;
                if (step == Judged.Diverges && i == last) return failure!;
                break;
            }
            throw new InvalidOperationException($"lockstep: judged again, the sequence's outcomes did not diverge at step {last + 1} as they did the first time (the oracle's judgement depends on more than the ops and the outcomes)");
        }
        finally { oracle.Reset(); }
    }

    /// <summary>Whether a call that may sleep (a blocking DQBUF) is not issued: the oracle, which has followed every outcome
    /// before it, does not know that it returns.</summary>
    private static bool Withheld(Op op, ReferenceModel oracle, Env envM) => op.MaySleep && !op.Returns(oracle, envM);

    /// <summary>The record of a call <see cref="Withheld"/>: not run on either side.</summary>
    private static Step WithheldStep(Op op) => new(op, Outcome.NotRun, Outcome.NotRun, null, []);

    /// <summary>What one step's judgement found (<see cref="Step"/>).</summary>
    private enum Judged
    {
        /// <summary>The outcome is one the model allows: judging goes on.</summary>
        Agrees,
        /// <summary>Judging ends here without a verdict: past what the model follows, or at a rule already found broken.</summary>
        Ends,
        /// <summary>The outcome is not one the model allows: the sequence fails here.</summary>
        Diverges,
    }

    /// <summary>One step judged: the oracle plays <paramref name="op"/> given the target's outcome, and the step is recorded in
    /// <paramref name="steps"/> where given. Where it <see cref="Judged.Diverges"/>, <paramref name="failure"/> is the verdict
    /// (with the steps); without <paramref name="steps"/> it is null, and the caller makes it (<see cref="Retrace"/>).</summary>
    private Judged Step(Op op, in Outcome actual, ReferenceModel oracle, Env envM, Exercise? exercise, List<Step>? steps, IReadOnlySet<string>? settled, out Failure? failure)
    {
        failure = null;
        oracle.BeginStep(actual);
        var expected = op.Run(oracle, envM);
        // (the record, the model's end and a divergence are each a call of their own: in one method their locals, a step's
        // record among them, were zeroed at every entry, some sixty instructions a step on the heap mix's oracle)
        if (steps != null) Record(steps, op, actual, expected, oracle);
        // past what the model can follow (a hand-made sequence only): nothing from here on is judged
        if (oracle.Unfollowed != null) { exercise?.Mask(Name); return Judged.Ends; }
        if (!expected.SameObservation(actual)) return Diverged(op, actual, expected, oracle, exercise, steps, settled, out failure);
        if (exercise != null && actual.Errno != Errno.NotRun) { exercise.HitCited(oracle.CitedCombination); exercise.Ops++; }
        return Judged.Agrees;
    }

    /// <summary><see cref="Step"/>'s record of the step judged.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Record(List<Step> steps, Op op, in Outcome actual, in Outcome expected, ReferenceModel oracle) =>
        steps.Add(new Step(op, actual, expected, oracle.AllowedSet, oracle.CitedArray()));

    /// <summary><see cref="Step"/> where the outcome is not one the model allows: the verdict (<see cref="Judged.Diverges"/>,
    /// with <paramref name="failure"/> where the steps are recorded), or <see cref="Judged.Ends"/> where the step follows a
    /// rule already found broken.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private Judged Diverged(Op op, in Outcome actual, in Outcome expected, ReferenceModel oracle, Exercise? exercise, List<Step>? steps,
        IReadOnlySet<string>? settled, out Failure? failure)
    {
        failure = null;
        var cited = oracle.CitedArray();
        var id = cited.Length > 0 ? cited[^1] : "UNCITED";
        // a divergence at a step that follows a rule already found broken is that bug again (the state it left
        // behind shows up here), not a new one: judging this sequence ends here
        if (settled != null && cited.Any(settled.Contains)) { exercise?.Mask(Name); return Judged.Ends; }
        if (steps != null) failure = new Failure(Name, id, steps.Count - 1, steps, op.Observed(expected), op.Observed(actual));
        return Judged.Diverges;
    }

    /// <summary>
    /// The sequence judged behind the target (<see cref="OracleThread"/>): this thread runs its ops on the target up to the
    /// first parallel block, while another plays each through the oracle as its outcome comes in. The same steps are judged,
    /// in the same order, against the same outcomes, so the verdict is the one judging in step gives; the target runs a few
    /// more ops than that where the judgement ends early, none of which may sleep or touches a mapping's memory. A call that
    /// may sleep waits for the judgement of every op before it (is it known to return?), and so does an op that touches a
    /// mapping (<see cref="Op.TouchesMapping"/>: a fault there would end the process). A call that throws ends the target's
    /// side: where the oracle's side finds a verdict in the ops before it, that verdict stands, as judging in step would have
    /// returned it before the call; otherwise the exception goes on.
    /// </summary>
    private Failure? RunAhead(OpSequence seq, IBufferTarget target, ReferenceModel oracle, Env envT, Env envM, Exercise? exercise,
        List<Step>? steps, IReadOnlySet<string> relaxed, IReadOnlySet<string>? settled)
    {
        var ops = seq.Ops;
        int end = 0;
        while (end < ops.Length && ops[end].Branch == 0) end++;
        var behind = OracleThread.Rent(end);
        long started = Stopwatch.GetTimestamp();
        var actual = behind.Actual;
        // which calls that may sleep were not issued (the oracle did not know they return): their steps are recorded as such
        var skipped = new bool[end];
        Failure? failure = null;
        bool ended = false;
        // each op judged in order, on the oracle's thread or, where the calls would wait for it, on the calling thread (one at
        // a time: OracleThread's token); false where judging ends there
        bool JudgeOne(int i)
        {
            if (skipped[i]) { steps?.Add(WithheldStep(ops[i])); return true; }
            if (Step(ops[i], actual[i], oracle, envM, exercise, steps, settled, out failure) is var step && step == Judged.Agrees) return true;
            ended = true;
            behind.Stop();
            // (the outcomes up to this op stay as they are: the target's side writes only those after it, and the array goes
            // back to the pool only once both sides are done)
            if (step == Judged.Diverges) failure ??= Retrace(ops, actual, i, oracle, settled);
            return false;
        }
        behind.Start(end, JudgeOne);
        ExceptionDispatchInfo? thrown = null;
        try
        {
            for (int i = 0; i < end; i++)
            {
                var op = ops[i];
                bool sleeps = op.MaySleep;
                if (!behind.MayRun(i, all: sleeps || op.TouchesMapping)) break;
                // (with every op before it judged, the oracle's side waits for this one's outcome: the model is still)
                if (sleeps && Withheld(op, oracle, envM)) { skipped[i] = true; actual[i] = Outcome.NotRun; }
                else actual[i] = op.Run(target, envT);
                behind.Produced(i);
            }
        }
        catch (Exception e) { thrown = ExceptionDispatchInfo.Capture(e); }
        long waited = behind.EndTarget();
        if (JudgeBehind == null && waited > InStepAboveWaitedShare * (Stopwatch.GetTimestamp() - started))
            Volatile.Write(ref _inStepLeft, InStepAfterWaits);
        if (ended) return failure;
        thrown?.Throw();
        return end < ops.Length ? JudgeParallel(seq, target, envT, exercise, steps!, relaxed, settled) : null;
    }

    /// <summary>Whether a sequence's steps are judged on a thread of their own, behind the target's calls
    /// (<see cref="OracleThread"/>), rather than each before the next call. Null (the default): where the target asks for
    /// it (<see cref="IBufferTarget.OverlapsOracle"/>: a kernel). Never with a <see cref="Clock"/>, which times one thread.</summary>
    public bool? JudgeBehind { get; init; }

    /// <summary>Judging behind the target, how many ops the target may run ahead of the judgement (<see cref="OracleThread.Lag"/>),
    /// and so past a divergence.</summary>
    public const int Lag = OracleThread.Lag;

    /// <summary>
    /// Judging behind the calls where the target asks for it (<see cref="JudgeBehind"/> null): a sequence whose calls waited
    /// for the judgement within it (not at its end) for more than this share of its time (0 to 1; default a half) has the
    /// next <see cref="InStepAfterWaits"/> sequences judged in step, each outcome before the next call; then behind again.
    /// The verdicts are the same either way. Behind the calls needs a processor for each of the two threads: in the lab VM
    /// on an oversubscribed host (two VMs' four vCPUs on two cores, 2026-12-06) the calls waited 60-70% of the time and
    /// the heap mix ran 10-13x the raw loop's time judged behind, 1.7x in step. Generated sequences, short and full of
    /// calls that wait for every op before them to be judged, often wait more than half their time on a healthy host too:
    /// there a lab run judged 40-80% of them in step so and took 0.96 of the time it took judging all behind (three devices
    /// twice, 200 sequences a property, the same ops).
    /// </summary>
    public double InStepAboveWaitedShare { get; init; } = DefaultInStepAboveWaitedShare;

    /// <summary><see cref="InStepAboveWaitedShare"/>'s default: a half.</summary>
    public const double DefaultInStepAboveWaitedShare = 0.5;

    /// <summary>How many sequences are judged in step after one that mostly waited (<see cref="InStepAboveWaitedShare"/>).</summary>
    public const int InStepAfterWaits = 32;

    /// <summary>Sequences this property has yet to judge in step after one that mostly waited for the judgement.</summary>
    private int _inStepLeft;
    private long _inStepForWaitsHere;

    /// <summary>The sequences this property judged in step, though the target asks for judging behind the calls, after one
    /// that waited for the judgement more than <see cref="InStepAboveWaitedShare"/> of its time.</summary>
    public long SequencesInStepForWaits => Interlocked.Read(ref _inStepForWaitsHere);
    /// <summary>Over the process: sequences judged in step that would have been judged behind the calls, after one whose
    /// calls mostly waited (<see cref="InStepAboveWaitedShare"/>).</summary>
    private static long _inStepForWaits;

    /// <summary>Over the process: the sequences judged in step, though the target asks for judging behind the calls, because
    /// a sequence before them waited for the judgement more than <see cref="InStepAboveWaitedShare"/> of its time.</summary>
    public static long JudgedInStepForWaits => Interlocked.Read(ref _inStepForWaits);

    /// <summary>Over the process: the sequences judged behind the target's calls, the ops targets ran past the step where a
    /// judgement ended (a divergence: a failure, a rule already found broken, or a step the model does not follow; at most
    /// <see cref="Lag"/> a sequence) before they saw it, and the times the oracle's thread and the calling thread went to sleep
    /// waiting for the other's count (each spins first; a wait that may return at once), and the seconds the calling thread
    /// waited for the oracle's judgement (where it was <see cref="Lag"/> ops ahead, before a call that may sleep or an op that
    /// touches a mapping, and at each sequence's end), of those the seconds at sequences' ends, the seconds the oracle's
    /// thread waited for the calls' next outcome, and the ops judged, of which the calling thread judged some itself where it
    /// would have waited for the oracle's thread.</summary>
    public static (long Sequences, long PastDivergence, long OracleSlept, long TargetSlept, double TargetWaitSeconds, double TargetEndWaitSeconds, double OracleWaitSeconds,
        long Judged, long JudgedByCalls) JudgedBehind => OracleThread.Stats;

    /// <summary>Where set (the kernel benchmark), the time each kind of call takes on the target and in the oracle, and the
    /// target's resets, is added to it.</summary>
    public OpClock? Clock { get; init; }

    /// <summary>The most plays of the model (one order per block) tried for one sequence: beyond it the sequence is not judged
    /// past its first block.</summary>
    public const int MaxInterleavings = 5000;

    /// <summary>
    /// The sequence from its first parallel block on: run on the target, then judged (DMABUF-PAR-1). The steps before it are in
    /// <paramref name="steps"/>, already judged; the model replays them and then the rest, once per combination of one
    /// interleaving per block, each branch's calls in its own order. The first combination under which the model allows every
    /// outcome passes the sequence. When none does, the one that got furthest is the counterexample's: a step no order
    /// explains is reported under the rule it breaks where it breaks one whatever the order (a plain bug of that call), and
    /// under DMABUF-PAR-1 otherwise (the calls are each fine alone, not together: their effects overlapped).
    /// </summary>
    private Failure? JudgeParallel(OpSequence seq, IBufferTarget target, Env envT, Exercise? exercise, List<Step> steps,
        IReadOnlySet<string> relaxed, IReadOnlySet<string>? settled)
    {
        var ops = seq.Ops;
        int from = steps.Count;
        var actual = new Outcome[ops.Length];
        for (int i = 0; i < from; i++) actual[i] = steps[i].Actual;
        var blocks = Linearization.Blocks(ops);
        for (int i = from; i < ops.Length;)
        {
            if (ops[i].Branch == 0) { actual[i] = ops[i].MaySleep ? Outcome.NotRun : ops[i].Run(target, envT); i++; continue; }
            int end = blocks.First(b => b.Start == i).End;
            RunBlock(ops, i, end, target, envT, actual);
            i = end;
        }
        var lin = new Linearization(ops, actual, blocks, target.Profile, relaxed, from);
        var search = lin.Search(MaxInterleavings);
        if (search.Match is { } play)
        {
            if (play.Unfollowed) { exercise?.Mask(Name); return null; }
            Record(play, ops, actual, steps, from);
            if (exercise != null)
            {
                for (int i = from; i < ops.Length; i++)
                    if (actual[i].Errno != Errno.NotRun) { exercise.HitAll(play.Cited[i]); exercise.Ops++; }
                foreach (var _ in blocks) exercise.Hit(Inv.Linearizable);
            }
            return null;
        }
        if (search.GaveUp) { exercise?.Mask(Name); return null; }   // too many orders to say none explains it
        var (best, diverging, combinations) = (search.Best!, search.Diverging, search.Tried);
        var at = best.Diverged;
        // the counterexample ends with the block the divergence is in (or at the step): what ran after it was not judged
        var blockOf = blocks.FindIndex(b => at >= b.Start && at < b.End);
        int last = blockOf >= 0 ? blocks[blockOf].End : at + 1;
        Record(best, ops, actual, steps, from, last);
        var rule = best.Cited[at] is { Length: > 0 } cr ? cr[^1] : "UNCITED";
        bool alwaysThere = diverging.Count == 1;
        // a step in a block that no order explains is a race: its calls are each fine alone (lockstep judges them so, and a rule
        // lockstep already found broken is settled here too), not together. A step after the blocks that every order gets
        // wrong in the same way breaks its own rule
        // a block with one branch is no race: its steps ran in order, and a divergence there breaks the rule it cites
        bool race = blockOf >= 0 && ops.Skip(blocks[blockOf].Start).Take(blocks[blockOf].End - blocks[blockOf].Start).Select(o => o.Branch).Distinct().Count() > 1;
        var id = race || blockOf < 0 && !alwaysThere ? Inv.Linearizable : rule;
        // where some order parts from the kernel at a rule already found broken, that bug explains the block: not a race
        if (settled != null && (settled.Contains(id) || best.Cited[at].Any(settled.Contains) || diverging.Any(d => settled.Contains(d.Rule))))
        {
            exercise?.Mask(Name);
            return null;
        }
        string Order(int b) => string.Join(" ", best.Orders[b].Select(k => Linearization.IsRelease(k) ? $"(release of step {-k})" : $"{(char)('A' + ops[k].Branch - 1)}{k + 1}"));
        var blocksText = $"parallel block{(blocks.Count > 1 ? "s" : "")}";
        var why = alwaysThere
            ? $"no interleaving of the {blocksText} gives what the calls returned: in each of the {combinations} tried, step {at + 1} is where " +
              $"the model parts from the kernel, where {rule} decides" +
              (blockOf >= 0 ? ": the call saw a state no order of the calls leaves (another call's effect half done)" : "")
            : $"no interleaving of the {blocksText} gives what the calls returned ({combinations} tried); the closest, " +
              $"{(blockOf >= 0 ? Order(blockOf) : string.Join(" | ", blocks.Select((_, b) => Order(b))))}, first differs at step {at + 1}" +
              $"{(rule != "UNCITED" ? $", where {rule} decides" : "")}";
        if (blockOf >= 0 && !race) why = null;
        if (id == Inv.Linearizable && Serialized(ops, blocks, best.Orders) is { } serial)
        {
            // the same calls one after another, in the order that came closest, from a fresh state: a failure there is a plain
            // bug of the rule it breaks, shown without threads; only outcomes no order gives and every order run alone
            // passes are a race
            var plain = Trace(seq with { Ops = serial }, target, null, out _, settled);
            if (plain != null && plain.InvariantId != Inv.Linearizable) return plain;
        }
        return new Failure(Name, id, at, steps, ops[at].Observed(best.Expected[at]!.Value), ops[at].Observed(actual[at]), why);
    }

    /// <summary>The sequence with each block's steps made one after another in the given order (null when it has no block).</summary>
    private static ImmutableArray<Op>? Serialized(ImmutableArray<Op> ops, List<(int Start, int End)> blocks, IReadOnlyList<int[]> orders)
    {
        if (blocks.Count == 0) return null;
        var list = ImmutableArray.CreateBuilder<Op>(ops.Length);
        int b = 0;
        for (int i = 0; i < ops.Length;)
        {
            if (b < blocks.Count && i == blocks[b].Start)
            {
                foreach (var k in orders[b]) if (!Linearization.IsRelease(k)) list.Add(ops[k] with { Branch = 0 });
                i = blocks[b++].End;
                continue;
            }
            list.Add(ops[i++]);
        }
        return list.ToImmutable();
    }

    /// <summary>The steps from <paramref name="from"/> on (to <paramref name="end"/>), as one play of the model judged them, in sequence order.</summary>
    private static void Record(Linearization.Play play, ImmutableArray<Op> ops, Outcome[] actual, List<Step> steps, int from, int end = int.MaxValue)
    {
        for (int i = from; i < Math.Min(end, ops.Length); i++)
            steps.Add(new Step(ops[i], actual[i], play.Expected[i], play.Allowed[i], play.Cited[i]));
    }

    /// <summary>
    /// Runs the block ops[start..end) on the target, each branch with a copy of the handles bound so far: on a concurrent target
    /// on one thread per branch, released together by a barrier; otherwise one op of each branch in turn. Each outcome goes to
    /// actual[k]; afterwards env holds what the branches created and lacks what they released. A call that may sleep is not
    /// issued (NotRun): nothing judges a block's calls until all have returned.
    /// </summary>
    public static void RunBlock(ImmutableArray<Op> ops, int start, int end, IBufferTarget target, Env env, Outcome[] actual)
    {
        var branches = Enumerable.Range(start, end - start).GroupBy(k => ops[k].Branch).OrderBy(g => g.Key).Select(g => g.ToArray()).ToArray();
        var before = env.Clone();
        var envs = branches.Select(_ => before.Clone()).ToArray();
        void Issue(int k, Env e) => actual[k] = ops[k].MaySleep ? Outcome.NotRun : ops[k].Run(target, e);
        target.Parallel(true);
        try
        {
            if (target.Concurrent && branches.Length > 1)
            {
                // no garbage collection while the branches run managed code: stopping them for one makes the runtime resume
                // them with a user-mode iretq (RtlRestoreContext), which QEMU 7.2's TCG emulates wrongly: the lab's guest
                // kernel oopsed on it twice ("BUG: unable to handle page fault ... supervisor read access in user mode")
                using var noGc = NoGc.Region();
                // the branches start together: each spins (yielding, never sleeping) until all have arrived, so their first
                // calls enter the kernel within about a microsecond of each other. A blocking barrier wakes the early ones
                // tens of microseconds after the last, and races with a window of a few microseconds (udmabuf's first SYNC
                // START) were then almost never met
                int arrived = 0;
                Exception? error = null;
                var threads = branches.Select((b, bi) => new Thread(() =>
                {
                    try
                    {
                        Interlocked.Increment(ref arrived);
                        var spin = new SpinWait();
                        while (Volatile.Read(ref arrived) < branches.Length) spin.SpinOnce(sleep1Threshold: -1);
                        foreach (var k in b) Issue(k, envs[bi]);
                    }
                    catch (Exception e) { Interlocked.CompareExchange(ref error, e, null); }
                }) { IsBackground = true, Name = $"conformance-branch-{(char)('A' + bi)}" }).ToArray();
                foreach (var t in threads) t.Start();
                foreach (var t in threads) t.Join();
                if (error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }
            else
            {
                var pos = new int[branches.Length];
                for (bool more = true; more;)
                {
                    more = false;
                    for (int b = 0; b < branches.Length; b++)
                        if (pos[b] < branches[b].Length) { Issue(branches[b][pos[b]++], envs[b]); more = true; }
                }
            }
        }
        finally { target.Parallel(false); }
        foreach (var e in envs) env.Merge(before, e);
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
    /// <summary>LIFE-3 per sequence (bufinfo); LIFE-4 as every property does, over all its sequences (<see cref="RunOptions.Memory"/>).</summary>
    public IReadOnlyList<string> Checks => [Inv.LifeRelease, Inv.LifeFreed];

    public Drawing Drawing(int maxLength) => Shrink.Drawing(maxLength);

    public Failure? Check(OpSequence seq, IBufferTarget target, Exercise? exercise, IReadOnlySet<string>? settled = null)
    {
        if (settled != null && settled.Contains(Inv.LifeRelease)) return null;   // its one invariant already has a counterexample
        target.Reset();
        int baseline = target.LiveDmaBufs();
        var steps = RunWithoutOracle(seq.Ops, target);
        int created = steps.Count(s => s.Actual.Ok && s.Op.Creates);
        // a dma-buf a create made with the fd table full left behind, which its step reported, is DMABUF-FAIL-2's (the lockstep
        // property's counterexample names that step): this rule judges the rest. Not a PRIME export an older kernel cached in its
        // GEM object on that path: it goes with the handle, which the reset closes
        int leftByFailedCreates = steps.Where(s => s.Op.FdTableFull && s.Op is not PrimeHandleToFd && !s.Actual.Ok && s.Actual.R0 > 0).Sum(s => (int)s.Actual.R0);
        target.Reset();
        int after = target.LiveDmaBufs();
        if (after < 0) return null;   // the target cannot count (reported by the runner as a limitation)
        if (exercise != null && created > 0) { exercise.Hit(Inv.LifeRelease); exercise.Ops += steps.Count; }
        if (after - leftByFailedCreates != baseline)
            return new Failure(Name, Inv.LifeRelease, -1, steps, $"{baseline + leftByFailedCreates} live dma-bufs after closing and unmapping everything",
                $"{after} live dma-bufs", "the target was reset: every fd the sequence opened was closed and every mapping unmapped");
        return null;
    }

    /// <summary>Runs the ops one after another with no oracle, recording each outcome; a call that may sleep is not issued
    /// (nothing says whether it returns). Shared by the properties that judge only what is left at the end.</summary>
    internal static List<Step> RunWithoutOracle(IEnumerable<Op> ops, IBufferTarget target)
    {
        var env = new Env();
        var steps = new List<Step>();
        foreach (var op in ops) steps.Add(new Step(op, op.MaySleep ? Outcome.NotRun : op.Run(target, env)));
        return steps;
    }
}

/// <summary>A stretch of code during which the runtime does not collect garbage (GC.TryStartNoGCRegion), where it can promise so.</summary>
public readonly struct NoGc : IDisposable
{
    /// <summary>Room for what a parallel block allocates (handle tables, outcomes, threads): far more than it needs.</summary>
    private const long Budget = 16 << 20;

    private readonly bool _on;
    private NoGc(bool on) => _on = on;

    /// <summary>Regions started and refused, and the time spent starting them (Stopwatch ticks), over the process: the
    /// harness's cost of a parallel block, reported after a kernel run.</summary>
    private static long _started, _refused, _ticks;

    /// <summary>(started, refused, seconds spent starting) so far.</summary>
    public static (long Started, long Refused, double Seconds) Stats =>
        (Interlocked.Read(ref _started), Interlocked.Read(ref _refused), Interlocked.Read(ref _ticks) / (double)System.Diagnostics.Stopwatch.Frequency);

    /// <remarks>Without a full blocking collection first (disallowFullBlockingGC): a full one before every block costs time that
    /// grows with the heap, under TCG too. Where the budget cannot be had without one the region is refused and the block
    /// runs without it (counted in <see cref="Stats"/>).</remarks>
    public static NoGc Region()
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        bool on;
        try { on = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(Budget, disallowFullBlockingGC: true); }
        catch (ArgumentOutOfRangeException) { on = false; }
        Interlocked.Add(ref _ticks, System.Diagnostics.Stopwatch.GetTimestamp() - t0);
        Interlocked.Increment(ref on ? ref _started : ref _refused);
        return new NoGc(on);
    }

    public void Dispose()
    {
        // a block that allocated past the budget has ended the region itself
        if (_on && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
    }
}

/// <summary>
/// Where a judged run's time goes, per kind of call (the op record's type: ExpBuf, DmaBufSync...): the target's side (the call through the adapter,
/// the kernel included) and the oracle's (the model's step and the step's record), plus the target's reset before and after
/// each sequence and its parallel blocks (run and judged) as wholes. Times are Stopwatch ticks; one thread at a time.
/// </summary>
public sealed class OpClock
{
    /// <summary>The kinds that are not calls: the target's reset (closing and unmapping what a sequence left, helpers ended),
    /// and a parallel block from its start to its verdict.</summary>
    public const string Reset = "(reset)", Parallel = "(parallel block)";

    private readonly Dictionary<string, (long Calls, long Target, long Oracle)> _kinds = new(StringComparer.Ordinal);

    /// <summary>The kind a call's time is added to: by default its op's type ("ExpBuf").</summary>
    public Func<Op, string> KindOf { get; init; } = static op => op.GetType().Name;

    /// <summary>Adds the time since <paramref name="since"/> to <paramref name="kind"/>'s target or oracle side (a call is
    /// counted on its target side); returns now, the next interval's start.</summary>
    public long Add(string kind, long since, bool isTarget)
    {
        long now = Stopwatch.GetTimestamp();
        var k = _kinds.GetValueOrDefault(kind);
        _kinds[kind] = isTarget ? (k.Calls + 1, k.Target + now - since, k.Oracle) : (k.Calls, k.Target, k.Oracle + now - since);
        return now;
    }

    /// <summary>Each kind's calls and seconds on the target's side and the oracle's, the most time first.</summary>
    public IEnumerable<(string Kind, long Calls, double Target, double Oracle)> Kinds =>
        _kinds.Select(kv => (kv.Key, kv.Value.Calls, kv.Value.Target / (double)Stopwatch.Frequency, kv.Value.Oracle / (double)Stopwatch.Frequency))
            .OrderByDescending(k => k.Item3 + k.Item4);
}
