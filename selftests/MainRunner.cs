using Conformance.Runner;

namespace Conformance.SelfTests;

/// <summary>
/// Runs the suite's command line (<see cref="Program.Main"/>) with its standard output and error captured. The console is
/// the process's, and test classes run in parallel: every test that runs <c>Main</c> does it here, under one lock, so one
/// test's messages never land in another's capture (a test that swapped <see cref="Console.Error"/> without the lock
/// once took another's one error line, and both failed).
/// </summary>
internal static class MainRunner
{
    private static readonly object Gate = new();

    /// <summary>The exit status and what was written to standard output and standard error.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (err, @out) = (new StringWriter(), new StringWriter());
        lock (Gate)
        {
            var (savedOut, savedErr) = (Console.Out, Console.Error);
            Console.SetError(err);
            Console.SetOut(@out);
            try { return (Program.Main(args), @out.ToString(), err.ToString()); }
            finally { Console.SetError(savedErr); Console.SetOut(savedOut); }
        }
    }
}
