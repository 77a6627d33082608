using System.Reflection;
using Conformance.Adapters;

namespace Conformance.Runner;

/// <summary>
/// What a run prints as it goes: on a terminal a live progress line per property (sequences done of planned, ops/s,
/// time left), rewritten in place and cleared before any other line; nothing of it when the output is not a terminal
/// or with --quiet.
/// </summary>
public sealed class LiveProgress(TextWriter output, bool enabled)
{
    private bool _shown;

    /// <summary>The engine's per-batch report (<see cref="Properties.RunOptions.OnProgress"/>).</summary>
    public void Report(string property, int done, int planned, long ops, TimeSpan elapsed)
    {
        if (!enabled) return;
        double secs = Math.Max(elapsed.TotalSeconds, 0.001);
        string eta = planned > done && done > 0 ? $", about {TimeSpan.FromSeconds(secs * (planned - done) / done):mm\\:ss} left" : "";
        string line = $"# {property}: {done}{(planned > 0 ? $" of {planned}" : "")} sequences, {ops / secs:N0} ops/s{eta}";
        output.Write("\r" + line.PadRight(79));
        _shown = true;
    }

    /// <summary>Writes a line of the run's own output, clearing the progress line first.</summary>
    public void Line(string text)
    {
        Clear();
        output.WriteLine(text);
    }

    /// <summary>Removes the progress line, if one is shown.</summary>
    public void Clear()
    {
        if (_shown) { output.Write("\r" + new string(' ', 79) + "\r"); _shown = false; }
    }

    /// <summary>Whether the output is a terminal (a live line there; plain lines in logs and pipes).</summary>
    public static bool IsTerminal(TextWriter output) => ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
}

/// <summary>
/// --trace: every call the suite makes on the target and what it returned, as it runs (v4l2-compliance -T's habit),
/// e.g. <c>trace: QBuf(5, 1, 0, 4, 7, -1) = -1 EINVAL</c>. Wraps any <see cref="IBufferTarget"/>.
/// </summary>
public class TracingTarget : DispatchProxy
{
    private IBufferTarget _inner = null!;
    private Action<string> _write = null!;

    public static IBufferTarget Wrap(IBufferTarget inner, Action<string> write)
    {
        var t = Create<IBufferTarget, TracingTarget>();
        var proxy = (TracingTarget)(object)t;
        proxy._inner = inner;
        proxy._write = write;
        return t;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        object? result;
        try { result = method!.Invoke(_inner, args); }
        catch (TargetInvocationException e) when (e.InnerException != null) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException); throw; }
        if (result is Outcome o && method!.Name != nameof(IBufferTarget.LiveDmaBufs))
            _write($"trace: {method.Name}({string.Join(", ", (args ?? []).Select(Format))}) = {(o.Errno == Errno.OK ? $"0 [{o.R0}, {o.R1}, {o.R2}]{(o.Handle >= 0 ? $" handle {o.Handle}" : "")}" : o.Errno.ToString())}");
        return result;
    }

    private static string Format(object? a) => a switch
    {
        null => "null",
        string s => s,
        System.Collections.IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Format)) + "]",
        _ => a.ToString() ?? "",
    };
}
