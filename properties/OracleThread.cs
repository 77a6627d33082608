using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Conformance.Adapters;

namespace Conformance.Properties;

/// <summary>
/// Two threads on one sequence: the caller's runs the target's calls, one op after another, and a thread of this class's
/// judges their outcomes behind it (<see cref="LockstepProperty.JudgeBehind"/>). The oracle needs each call's outcome only
/// after the call (the model takes the driver's choices from it); the target needs the oracle only before a call that may
/// sleep (is it known to return?), before an op that touches a mapping's memory, and to stop at the first divergence. So the two overlap: while the kernel runs op i+1, the
/// model judges op i. The target runs at most <see cref="Lag"/> ops ahead of the judgement, and none after the oracle says
/// stop; a call that may sleep, and an op that touches a mapping's memory, wait until every op before it is judged. Ops run
/// past a divergence (at most <see cref="Lag"/>, none of which may sleep or touches a mapping) are never judged or reported;
/// the target's reset closes and unmaps what they made. What they may do beyond that is what a driver does wrong on its own:
/// a leak they cause counts in the engine's count of live dma-bufs around the property (DMABUF-LIFE-3), and a call of theirs
/// that hangs is reported as the hang it is (the watchdog's HANG, with the sequence), where judging in step would have
/// stopped at the divergence before it.
/// </summary>
/// <remarks>
/// Each sequence's counters start at 0. <c>produced</c>: ops whose outcome is in <see cref="Actual"/> (written by the target
/// thread, each outcome before the count that publishes it). <c>judged</c>: ops the oracle has judged. A thread that finds
/// the other's count short waits on its event (which spins briefly before it sleeps); each count is written before its
/// event is set, and each waiter resets its event before reading the count again, so no wake-up is lost. Threads are kept between sequences
/// (a start under TCG costs milliseconds), one per sequence judged at once.
/// </remarks>
internal sealed class OracleThread
{
    /// <summary>How many ops the target may run ahead of the judgement: enough that a slow step of either side does not stall
    /// the other, few enough that little runs past a divergence.</summary>
    public const int Lag = 8;

    /// <summary>How often a waiting side checks the other's count (spinning, then yielding) before it sleeps: the other's next
    /// step is usually microseconds away, and a sleep and wake-up cost tens of microseconds under TCG.</summary>
    private const int SpinCount = 200;

    private static readonly ConcurrentStack<OracleThread> Idle = new();

    /// <summary>Over the process: sequences judged this way, and ops the target ran past the step where a judgement ended
    /// (before it saw the stop).</summary>
    private static long _sequences, _pastDivergence;

    /// <summary>(sequences judged behind the calls, ops run past where a judgement ended) so far, over the process.</summary>
    public static (long Sequences, long PastDivergence) Stats => (Interlocked.Read(ref _sequences), Interlocked.Read(ref _pastDivergence));

    private readonly SemaphoreSlim _go = new(0);
    private readonly ManualResetEventSlim _toOracle = new(false, SpinCount), _toTarget = new(false, SpinCount);
    private Action? _oracleSide;
    private Exception? _oracleError;
    private int _produced, _judged;
    private volatile bool _targetEnded, _stop, _done, _verdict;

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
        b._produced = b._judged = 0;
        b._targetEnded = b._stop = b._done = b._verdict = false;
        b._oracleError = null;
        b._toOracle.Reset();
        b._toTarget.Reset();
        return b;
    }

    /// <summary>Starts <paramref name="oracleSide"/> on this thread; the caller goes on as the target's side.</summary>
    public void Start(Action oracleSide)
    {
        _oracleSide = oracleSide;
        _go.Release();
    }

    private void Loop()
    {
        while (true)
        {
            _go.Wait();
            try { _oracleSide!(); }
            catch (Exception e) { _oracleError = e; }
            _oracleSide = null;
            _stop = true;
            _done = true;
            _toTarget.Set();
        }
    }

    // ---- the target's side (the caller's thread)

    /// <summary>Waits until at most <see cref="Lag"/> ops before <paramref name="i"/> are unjudged (every one before it where
    /// <paramref name="all"/>); false when the oracle said stop (a verdict, or it threw).</summary>
    public bool MayRun(int i, bool all)
    {
        int need = all ? i : i - Lag;
        while (!_stop && Volatile.Read(ref _judged) < need)
        {
            _toTarget.Reset();
            if (_stop || Volatile.Read(ref _judged) >= need) break;
            _toTarget.Wait();
        }
        return !_stop;
    }

    /// <summary>Op <paramref name="i"/>'s outcome is in <see cref="Actual"/>: the oracle may judge it.</summary>
    public void Produced(int i)
    {
        Volatile.Write(ref _produced, i + 1);
        _toOracle.Set();
    }

    /// <summary>The target's side has run every op it will (the produced count is final), then waits for the oracle's side to
    /// end; rethrows what the oracle's side threw. The thread goes back to the pool (its last act, waking a waiter that no
    /// longer waits, may fall in its next sequence: every waiter checks its count again, so that wake-up is spurious and
    /// harmless).</summary>
    public void EndTarget()
    {
        _targetEnded = true;
        _toOracle.Set();
        while (!_done)
        {
            _toTarget.Reset();
            if (_done) break;
            _toTarget.Wait();
        }
        var error = _oracleError;
        // (with the oracle's side ended, its count is final and the verdict's op the one after it: what the target ran beyond
        // that op came after the verdict)
        if (_verdict) Interlocked.Add(ref _pastDivergence, Volatile.Read(ref _produced) - Volatile.Read(ref _judged) - 1);
        Idle.Push(this);
        if (error != null) ExceptionDispatchInfo.Throw(error);
    }

    // ---- the oracle's side (this thread)

    /// <summary>Waits until op <paramref name="i"/>'s outcome is in <see cref="Actual"/>; false when the target's side ended
    /// without it (it stopped, or a call threw).</summary>
    public bool Await(int i)
    {
        while (Volatile.Read(ref _produced) <= i)
        {
            if (_targetEnded) return Volatile.Read(ref _produced) > i;
            _toOracle.Reset();
            if (_targetEnded || Volatile.Read(ref _produced) > i) continue;
            _toOracle.Wait();
        }
        return true;
    }

    /// <summary>Op <paramref name="i"/> is judged and the sequence goes on.</summary>
    public void Judged(int i)
    {
        Volatile.Write(ref _judged, i + 1);
        _toTarget.Set();
    }

    /// <summary>A verdict on the op after the judged ones: the target's side runs no more ops.</summary>
    public void Stop()
    {
        _verdict = true;
        _stop = true;
        _toTarget.Set();
    }
}
