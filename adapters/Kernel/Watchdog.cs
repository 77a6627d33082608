using System.Diagnostics;
using Conformance.Adapters.Interop;

namespace Conformance.Adapters.Kernel;

/// <summary>
/// Turns a driver that hangs into a reported failure instead of a hung suite: every potentially
/// blocking op runs inside a scope; if one lasts longer than the limit, the watchdog names the op and
/// the sequence running and ends the process with status 3 (the blocked thread cannot be unwound).
/// </summary>
public sealed class Watchdog : IDisposable
{
    public const int HangExitCode = 3;
    private readonly long _limitTicks;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _start;          // Stopwatch ticks of the running op, 0 when none
    private string _op = "";
    private long _arg;

    /// <summary>Describes the sequence running; called only when a hang is reported.</summary>
    public Func<string> Context { get; set; } = () => "";

    public Watchdog(TimeSpan limit)
    {
        _limitTicks = (long)(limit.TotalSeconds * Stopwatch.Frequency);
        _thread = new Thread(Watch) { IsBackground = true, Name = "conformance-watchdog" };
        _thread.Start();
    }

    public readonly struct Scope(Watchdog w) : IDisposable
    {
        public void Dispose() => Volatile.Write(ref w._start, 0);
    }

    public Scope Op(string op, long arg)
    {
        _op = op;
        _arg = arg;
        Volatile.Write(ref _start, Stopwatch.GetTimestamp());
        return new Scope(this);
    }

    private void Watch()
    {
        while (!_stop)
        {
            Thread.Sleep(250);
            long s = Volatile.Read(ref _start);
            if (s == 0 || Stopwatch.GetTimestamp() - s < _limitTicks) continue;
            var secs = (double)_limitTicks / Stopwatch.Frequency;
            Console.Out.Flush();
            Console.Error.WriteLine($"HANG: {_op} on handle {_arg} did not return within {secs:0} s: the driver hangs");
            var ctx = Context();
            if (ctx.Length > 0) Console.Error.WriteLine($"HANG: while running {ctx}");
            Console.Error.Flush();
            Libc._exit(HangExitCode);
        }
    }

    public void Dispose() => _stop = true;
}
