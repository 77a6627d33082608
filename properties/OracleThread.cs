using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Conformance.Adapters;

namespace Conformance.Properties;

/// <summary>
/// Two threads on one sequence: the caller's runs the target's calls, one op after another, and a thread of this class's
/// judges their outcomes behind it (<see cref="LockstepProperty.JudgeBehind"/>). The oracle needs each call's outcome only
/// after the call (the model takes the driver's choices from it); the target needs the oracle only before a call that may
/// sleep (is it known to return?), before an op that touches a mapping's memory, and to stop at the first divergence. So the two overlap: while the kernel runs op i+1, the
/// model judges op i. An op runs only when at most <see cref="Lag"/> ops before it are unjudged, and none after the oracle says
/// stop; a call that may sleep, and an op that touches a mapping's memory, wait until every op before it is judged. Where the
/// caller's thread would wait so and this thread is not judging an op at that moment, the caller's judges the ops behind it
/// itself (the model, its env and the step records belong to whichever side holds a token, one op at a time on this side):
/// under the lab's TCG a side that waits sees the other's count tens of microseconds late, and the calls waited for the
/// judgement 15-21% of the time on the heap mix with the oracle's thread idle two thirds of it. The ops are judged in the
/// same order against the same outcomes either way, so the verdicts are the same. Ops run
/// past a divergence (at most <see cref="Lag"/>, none of which may sleep or touches a mapping) are never judged or reported;
/// the target's reset closes and unmaps what they made. What they may do beyond that is what a driver does wrong on its own:
/// a leak they cause counts in the engine's count of live dma-bufs around the property (DMABUF-LIFE-3), and a call of theirs
/// that hangs is reported as the hang it is (the watchdog's HANG, with the sequence), where judging in step would have
/// stopped at the divergence before it.
/// </summary>
/// <remarks>
/// Each sequence's counters start at 0. <c>produced</c>: ops whose outcome is in <see cref="Actual"/> (written by the target
/// thread, each outcome before the count that publishes it). <c>judged</c>: ops judged, written only by the side holding the
/// token (taken by compare-and-swap, a full fence, given back by a release store, so the side that takes it sees the model as
/// the other left it). Each count is a plain
/// store on a cache line of its own, read by the other side where it needs it (the target's side keeps its last read of
/// <c>judged</c> and reads the oracle's line again only when that one is short of what it needs). A side that finds the
/// other's count short spins on it, then raises its sleep flag and sleeps on its event; after each count it publishes, a
/// side sets the other's event only when it sees that flag raised (the ends of a sequence, a stop, the target's end and the
/// oracle's, set it whatever the flag). Neither count's store is fenced, so that read can miss the other's flag as it is
/// raised; each side therefore, before it waits for the other's count, checks the other's flag across a full fence (and the
/// sleeper raises its flag across one before its last look at the count), so the two never sleep at once: a missed
/// wake-up costs overlap, never progress. (A stress of both ways of judging cannot show a missing fence, whose window is a
/// store buffer's: this rests on the argument above.) Threads are kept between sequences (a start under TCG costs milliseconds), one per sequence judged at once;
/// an idle one spins for its next sequence before it sleeps.
/// </remarks>
internal sealed class OracleThread
{
    /// <summary>How many ops the target may run ahead of the judgement: enough that a slow step of either side does not stall
    /// the other, few enough that little runs past a divergence.</summary>
    public const int Lag = 8;

    /// <summary>How often a waiting side checks the other's count (spinning, then yielding) before it sleeps, and an idle
    /// thread checks for its next sequence: the other's next step is usually microseconds away, and a sleep and wake-up cost
    /// tens of microseconds under TCG.</summary>
    private const int SpinCount = 200;

    private static readonly ConcurrentStack<OracleThread> Idle = new();

    /// <summary>Over the process: sequences judged this way, and ops the target ran past the step where a judgement ended
    /// (before it saw the stop).</summary>
    private static long _sequences, _pastDivergence, _oracleSlept, _targetSlept, _targetWaitTicks, _targetEndWaitTicks, _oracleWaitTicks, _judgedByCalls, _judgedAll;

    /// <summary>(sequences judged behind the calls, ops run past where a judgement ended, the times the oracle's side and the
    /// target's side went to sleep on their events waiting for the other's count once their spin ran out, a wait that may
    /// return at once; the seconds the target's side waited for the oracle's, within sequences and at their ends, and of
    /// those the seconds at their ends (<see cref="EndTarget"/>); the seconds the oracle's side waited for the target's next
    /// outcome; the ops judged, and of those the ops the target's side judged itself) so far, over the process.</summary>
    public static (long Sequences, long PastDivergence, long OracleSlept, long TargetSlept, double TargetWaitSeconds, double TargetEndWaitSeconds, double OracleWaitSeconds,
        long Judged, long JudgedByCalls) Stats =>
        (Interlocked.Read(ref _sequences), Interlocked.Read(ref _pastDivergence), Interlocked.Read(ref _oracleSlept), Interlocked.Read(ref _targetSlept),
            Seconds(ref _targetWaitTicks), Seconds(ref _targetEndWaitTicks), Seconds(ref _oracleWaitTicks), Interlocked.Read(ref _judgedAll), Interlocked.Read(ref _judgedByCalls));

    private static double Seconds(ref long ticks) => Interlocked.Read(ref ticks) / (double)System.Diagnostics.Stopwatch.Frequency;

    private readonly SemaphoreSlim _go = new(0);
    // each side spins on the other's count itself (see Await, MayRun) and sleeps on its event only then
    private readonly ManualResetEventSlim _toOracle = new(false, 0), _toTarget = new(false, 0);
    /// <summary>Judges op i (its outcome in <see cref="Actual"/>), called by whichever side holds the token; false where
    /// judging ends there (the judge has called <see cref="Stop"/>).</summary>
    private Func<int, bool>? _judge;
    /// <summary>The ops of this sequence run behind the calls (the judged count ends there).</summary>
    private int _end;
    /// <summary>This sequence's ops the target's side judged itself (<see cref="JudgeHere"/>).</summary>
    private long _judgedHere;
    /// <summary>The ticks (<see cref="System.Diagnostics.Stopwatch"/>) the target's side has spent judging (<see cref="JudgeHere"/>),
    /// over the thread's life: its timed waits leave them out.</summary>
    private long _judgingTicks;

    /// <summary>Where a wait of the target's side begins: the time, and what it had spent judging by then.</summary>
    private (long At, long Judging) WaitBegins() => (System.Diagnostics.Stopwatch.GetTimestamp(), _judgingTicks);
    /// <summary>The ticks waited since <paramref name="begun"/>, less the ops judged here meanwhile (they are not a wait).</summary>
    private long WaitedSince((long At, long Judging) begun) =>
        System.Diagnostics.Stopwatch.GetTimestamp() - begun.At - (_judgingTicks - begun.Judging);
    private Exception? _oracleError;
    private volatile bool _targetEnded, _stop, _done, _verdict;
    private Shared _s;
    /// <summary>The target's side's last read of the judged count (its own copy: it reads the oracle's line only when this
    /// one is short).</summary>
    private int _judgedSeen;
    /// <summary>This sequence's waits of the target's side for the judgement within it (<see cref="MayRun"/>), in
    /// <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    private long _waitTicks;

    /// <summary>
    /// The counts and the sleep flags the two threads share, each on a cache line of its own: a line one side writes at every
    /// op is never one the other writes, and a flag (written only around a sleep) shares no line with a count, so the side
    /// that reads it at every op reads a line that stays in its cache. Natively (302-op memfd sequences on the kernel adapter),
    /// judging behind cost 775-927 ns an op over a plain C# loop's calls with the counts side by side and an event set at
    /// every op, and 550-719 ns so.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 6 * 64)]
    private struct Shared
    {
        /// <summary>Ops whose outcome is in <see cref="Actual"/>: written by the target's side.</summary>
        [FieldOffset(64)] public int Produced;
        /// <summary>Ops judged: written by the side holding <see cref="Token"/> (the oracle's, but where the target's judges
        /// rather than waits).</summary>
        [FieldOffset(128)] public int Judged;
        /// <summary>1 while the oracle's side sleeps, or is about to, on its event: written by it.</summary>
        [FieldOffset(192)] public int OracleWaits;
        /// <summary>1 while the target's side sleeps, or is about to, on its event: written by it.</summary>
        [FieldOffset(256)] public int TargetWaits;
        /// <summary>1 while a side judges (the model, the env and the step records are one side's at a time): taken by
        /// compare-and-swap, given back by a plain store.</summary>
        [FieldOffset(320)] public int Token;
    }

    /// <summary>Each op's outcome on the target, by its index in the sequence (valid below the produced count).</summary>
    public Outcome[] Actual { get; private set; } = new Outcome[128];

    private OracleThread()
    {
        new Thread(Loop) { IsBackground = true, Name = "conformance-oracle" }.Start();
    }

    /// <summary>An idle judging thread (a new one when none is idle), ready for a sequence of <paramref name="length"/> ops.</summary>
    public static OracleThread Rent(int length)
    {
        Interlocked.Increment(ref _sequences);
        if (!Idle.TryPop(out var b)) b = new OracleThread();
        if (b.Actual.Length < length) b.Actual = new Outcome[Math.Max(length, b.Actual.Length * 2)];
        b._s = default;
        b._judgedSeen = 0;
        b._waitTicks = 0;
        b._judgedHere = 0;
        b._targetEnded = b._stop = b._done = b._verdict = false;
        b._oracleError = null;
        b._toOracle.Reset();
        b._toTarget.Reset();
        return b;
    }

    /// <summary>Starts judging the sequence's first <paramref name="end"/> ops on this thread, each as its outcome comes in,
    /// with <paramref name="judge"/> (see <see cref="_judge"/>); the caller goes on as the target's side, and judges the ops
    /// behind it itself where it would wait for them and this thread is not judging (<see cref="MayRun"/>).</summary>
    public void Start(int end, Func<int, bool> judge)
    {
        _end = end;
        _judge = judge;
        _go.Release();
    }

    private void Loop()
    {
        while (true)
        {
            // the next sequence usually starts within microseconds (the reset between them): spin for it first, as the
            // counts' waits do, since a sleep and wake-up here would stall the target's first ops behind it
            var spin = new SpinWait();
            while (!_go.Wait(0))
            {
                if (spin.Count < SpinCount) { spin.SpinOnce(sleep1Threshold: -1); continue; }
                _go.Wait();
                break;
            }
            try { JudgeSide(); }
            catch (Exception e) { _oracleError = e; }
            _judge = null;
            _stop = true;
            _done = true;
            Interlocked.MemoryBarrier();
            _toTarget.Set();
        }
    }

    // ---- the target's side (the caller's thread)

    /// <summary>Waits until at most <see cref="Lag"/> ops before <paramref name="i"/> are unjudged (every one before it where
    /// <paramref name="all"/>); false when the oracle said stop (a verdict, or it threw).</summary>
    public bool MayRun(int i, bool all)
    {
        int need = all ? i : i - Lag;
        if (_judgedSeen >= need) return !_stop;
        // (the oracle's line read again: most often it has judged enough since the last read, and no wait is timed)
        _judgedSeen = Volatile.Read(ref _s.Judged);
        if (_judgedSeen >= need || _stop) return !_stop;
        // the oracle's thread is behind: judge the ops it has not judged here, where it is not judging one now (under TCG a
        // waiting vCPU sees the other's count tens of microseconds late, README "Benchmark")
        if (JudgeHere(i))
        {
            _judgedSeen = Volatile.Read(ref _s.Judged);
            if (_judgedSeen >= need || _stop) return !_stop;
        }
        var since = WaitBegins();
        try { return WaitJudged(need, i); }
        finally
        {
            long waited = WaitedSince(since);
            _waitTicks += waited;
            Interlocked.Add(ref _targetWaitTicks, waited);
        }
    }

    /// <summary><see cref="MayRun"/>'s wait for the judged count to reach <paramref name="need"/>.</summary>
    private bool WaitJudged(int need, int produced)
    {
        WakeOracle();
        var spin = new SpinWait();
        while (true)
        {
            _judgedSeen = Volatile.Read(ref _s.Judged);
            if (_judgedSeen >= need || _stop) return !_stop;
            // (the oracle's thread judged one and gave the token back: what is left may be judged here)
            if (Volatile.Read(ref _s.Token) == 0 && JudgeHere(produced)) continue;
            if (spin.Count < SpinCount) { spin.SpinOnce(sleep1Threshold: -1); continue; }
            // asleep only once the oracle's side can see it is: its Judged reads the flag unfenced and may miss it, but before
            // it waits for the next outcome it reads it again across a full fence (WakeTarget), and a stop or its end sets the
            // event whatever the flag
            _toTarget.Reset();
            Interlocked.Exchange(ref _s.TargetWaits, 1);
            WakeOracle();
            if (Volatile.Read(ref _s.Judged) < need && !_stop) { Interlocked.Increment(ref _targetSlept); _toTarget.Wait(); }
            Volatile.Write(ref _s.TargetWaits, 0);
        }
    }

    /// <summary>On the target's side: takes the token if it is free and judges every op before <paramref name="produced"/>
    /// not yet judged, in order, then gives it back; false where the oracle's side held the token. A verdict or an exception
    /// there ends the judging as it would on the oracle's side (the exception goes on to the target's side's caller).</summary>
    private bool JudgeHere(int produced)
    {
        if (Interlocked.CompareExchange(ref _s.Token, 1, 0) != 0) return false;
        long since = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            // (under the token the judged count is this side's to write: re-read, as the oracle's side may have moved it)
            for (int j = Volatile.Read(ref _s.Judged); j < produced && j < _end && !_stop; j++)
            {
                _judgedHere++;
                if (!_judge!(j)) break;
                Volatile.Write(ref _s.Judged, j + 1);
            }
            return true;
        }
        catch
        {
            _stop = true;
            throw;
        }
        finally
        {
            Volatile.Write(ref _s.Token, 0);
            _judgingTicks += System.Diagnostics.Stopwatch.GetTimestamp() - since;
        }
    }

    /// <summary>Before the target's side waits: wakes the oracle's side if it sleeps, or is about to (see
    /// <see cref="WakeTarget"/>).</summary>
    private void WakeOracle()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _s.OracleWaits) != 0) _toOracle.Set();
    }

    /// <summary>Op <paramref name="i"/>'s outcome is in <see cref="Actual"/>: the oracle may judge it.</summary>
    public void Produced(int i)
    {
        Volatile.Write(ref _s.Produced, i + 1);
        if (Volatile.Read(ref _s.OracleWaits) != 0) _toOracle.Set();
    }

    /// <summary>The target's side has run every op it will (the produced count is final): judges what is left where the
    /// oracle's side is not judging an op, then waits for that side to end; rethrows what either side's judging threw. The thread goes back to the pool (its last act, waking a waiter that no
    /// longer waits, may fall in its next sequence: every waiter checks its count again, so that wake-up is spurious and
    /// harmless). Returns the ticks (<see cref="System.Diagnostics.Stopwatch"/>) the target's side waited for the judgement
    /// within the sequence (<see cref="MayRun"/>'s waits; not this last one, which every sequence has).</summary>
    public long EndTarget()
    {
        _targetEnded = true;
        Interlocked.MemoryBarrier();
        _toOracle.Set();
        // what is left to judge, judged here where the oracle's side is not judging an op (rather than waited for), at once and
        // whenever that side gives the token back with ops left; an exception there goes on once the oracle's side has ended
        // too, as one of that side's would
        Exception? judgingHere = null;
        bool JudgeLeft()
        {
            try { return JudgeHere(Volatile.Read(ref _s.Produced)); }
            catch (Exception e) { judgingHere = e; return true; }
        }
        JudgeLeft();
        var since = WaitBegins();
        var spin = new SpinWait();
        while (!_done)
        {
            if (judgingHere == null && !_stop && Volatile.Read(ref _s.Token) == 0 && Volatile.Read(ref _s.Judged) < Math.Min(_end, Volatile.Read(ref _s.Produced))
                && JudgeLeft())
                continue;
            if (spin.Count < SpinCount) { spin.SpinOnce(sleep1Threshold: -1); continue; }
            _toTarget.Reset();
            Interlocked.Exchange(ref _s.TargetWaits, 1);
            if (!_done) _toTarget.Wait();
            Volatile.Write(ref _s.TargetWaits, 0);
        }
        long endWait = WaitedSince(since);
        Interlocked.Add(ref _targetWaitTicks, endWait);
        Interlocked.Add(ref _targetEndWaitTicks, endWait);
        var error = _oracleError ?? judgingHere;
        // (with the oracle's side ended, its count is final and the verdict's op the one after it: what the target ran beyond
        // that op came after the verdict)
        if (_verdict) Interlocked.Add(ref _pastDivergence, Volatile.Read(ref _s.Produced) - Volatile.Read(ref _s.Judged) - 1);
        Interlocked.Add(ref _judgedAll, Volatile.Read(ref _s.Judged) + (_verdict ? 1 : 0));
        Interlocked.Add(ref _judgedByCalls, _judgedHere);
        long waitedWithin = _waitTicks;
        Idle.Push(this);
        if (error != null) ExceptionDispatchInfo.Throw(error);
        return waitedWithin;
    }

    // ---- the oracle's side (this thread)

    /// <summary>The oracle's side of a sequence: each op not yet judged, as its outcome comes in, judged under the token (one
    /// op a take, so that the target's side can take it between two), until the end, a stop, or the target's side ends
    /// without the next outcome.</summary>
    private void JudgeSide()
    {
        var judge = _judge!;
        var spin = new SpinWait();
        while (true)
        {
            int j = Volatile.Read(ref _s.Judged);
            if (j >= _end || _stop) return;
            if (!Await(j)) return;
            if (Interlocked.CompareExchange(ref _s.Token, 1, 0) != 0)
            {
                // the target's side is judging: it gives the token back once it has judged what it ran
                spin.SpinOnce(sleep1Threshold: -1);
                continue;
            }
            spin.Reset();
            try
            {
                j = Volatile.Read(ref _s.Judged);
                if (j >= _end || _stop || j >= Volatile.Read(ref _s.Produced)) continue;
                if (!judge(j)) return;
                Judged(j);
            }
            catch
            {
                _stop = true;
                throw;
            }
            finally { Volatile.Write(ref _s.Token, 0); }
        }
    }

    /// <summary>Waits until op <paramref name="i"/>'s outcome is in <see cref="Actual"/>; false when the target's side ended
    /// without it (it stopped, or a call threw).</summary>
    public bool Await(int i)
    {
        if (Volatile.Read(ref _s.Produced) > i) return true;
        // (timed only where it waits: two clock reads, while this side has nothing to do)
        long since = System.Diagnostics.Stopwatch.GetTimestamp();
        try { return AwaitProduced(i); }
        finally { Interlocked.Add(ref _oracleWaitTicks, System.Diagnostics.Stopwatch.GetTimestamp() - since); }
    }

    /// <summary><see cref="Await"/>'s wait for the produced count to pass <paramref name="i"/>.</summary>
    private bool AwaitProduced(int i)
    {
        WakeTarget();
        var spin = new SpinWait();
        while (true)
        {
            if (Volatile.Read(ref _s.Produced) > i) return true;
            if (_targetEnded) return Volatile.Read(ref _s.Produced) > i;
            if (spin.Count < SpinCount) { spin.SpinOnce(sleep1Threshold: -1); continue; }
            _toOracle.Reset();
            Interlocked.Exchange(ref _s.OracleWaits, 1);
            WakeTarget();
            if (Volatile.Read(ref _s.Produced) <= i && !_targetEnded) { Interlocked.Increment(ref _oracleSlept); _toOracle.Wait(); }
            Volatile.Write(ref _s.OracleWaits, 0);
        }
    }

    /// <summary>Before the oracle's side waits: wakes the target's side if it sleeps (or is about to). The count it last
    /// published may have passed its read of the flag unseen (neither count's write is fenced, to keep each op's hand-over off
    /// the other side's cache line); the read here is fenced, and so is the target's flag write before its last check of the
    /// count, so the two cannot both sleep.</summary>
    private void WakeTarget()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _s.TargetWaits) != 0) _toTarget.Set();
    }

    /// <summary>Op <paramref name="i"/> is judged and the sequence goes on.</summary>
    public void Judged(int i)
    {
        Volatile.Write(ref _s.Judged, i + 1);
        if (Volatile.Read(ref _s.TargetWaits) != 0) _toTarget.Set();
    }

    /// <summary>A verdict on the op after the judged ones: the target's side runs no more ops.</summary>
    public void Stop()
    {
        _verdict = true;
        _stop = true;
        Interlocked.MemoryBarrier();
        _toTarget.Set();
    }
}
