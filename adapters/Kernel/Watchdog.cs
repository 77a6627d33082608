using Conformance.Adapters.Interop;

namespace Conformance.Adapters.Kernel;

/// <summary>
/// Turns a driver that hangs into a reported failure instead of a hung suite: every potentially
/// blocking op runs inside a scope; if one lasts longer than the limit, the watchdog names the op and
/// the sequence running and ends the process with status 3 (the blocked thread cannot be unwound).
/// The op side only bumps a counter (no clock read per op: the harness's overhead is a measured goal);
/// the watchdog thread samples it.
/// </summary>
public sealed class Watchdog : IDisposable
{
    public const int HangExitCode = 3;
    private const int TickMs = 250;
    private readonly int _limitTicks;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _started;        // ops begun
    private long _finished;       // ops ended
    private string _op = "";
    private long _arg;

    /// <summary>Describes the sequence running; called only when a hang is reported.</summary>
    public Func<string> Context { get; set; } = () => "";

    private readonly Action<string> _onHang;

    /// <param name="onHang">What to do with the report; by default print it and end the process with status 3.</param>
    public Watchdog(TimeSpan limit, Action<string>? onHang = null)
    {
        _onHang = onHang ?? (report =>
        {
            Console.Out.Flush();
            Console.Error.WriteLine(report);
            Console.Error.Flush();
            Libc._exit(HangExitCode);
        });
        _limitTicks = Math.Max(1, (int)(limit.TotalMilliseconds / TickMs));
        _thread = new Thread(Watch) { IsBackground = true, Name = "conformance-watchdog" };
        _thread.Start();
    }

    public readonly struct Scope(Watchdog w) : IDisposable
    {
        public void Dispose() => Interlocked.Increment(ref w._finished);
    }

    public Scope Op(string op, long arg)
    {
        _op = op;
        _arg = arg;
        Interlocked.Increment(ref _started);   // ops of a parallel block's branches begin and end on several threads
        return new Scope(this);
    }

    private void Watch()
    {
        long seen = -1;
        int stuck = 0;
        while (!_stop)
        {
            Thread.Sleep(TickMs);
            long s = Volatile.Read(ref _started), f = Volatile.Read(ref _finished);
            // the same op still running since the last sample counts one more tick
            stuck = s != f && s == seen ? stuck + 1 : 0;
            seen = s;
            if (stuck < _limitTicks) continue;
            var report = $"HANG: {_op} on handle {_arg} did not return within {_limitTicks * TickMs / 1000.0:0} s: the driver hangs";
            var ctx = Context();
            if (ctx.Length > 0) report += $"\nHANG: while running {ctx}";
            _onHang(report);
            return;
        }
    }

    public void Dispose() => _stop = true;
}
