using Conformance.Properties;

namespace Conformance.Reports;

/// <summary>The files written for one counterexample (paths as the user passed --out, so they stay relative).</summary>
public sealed record CounterexampleFiles(string ReplayPath, string ReproducerPath);

/// <summary>
/// One certified unit of a run: the model target, or one device of a kernel run. Result is null when the
/// unit was skipped as a whole (SkipReason says why). FilesFor names the replay file and C reproducer
/// written for a finding, and ReplayCommand the command line that re-runs it.
/// </summary>
public sealed record UnitResult(
    string Name, string? Device, SuiteResult? Result, string? SkipReason,
    Func<Finding, CounterexampleFiles?> FilesFor, Func<Finding, string> ReplayCommand)
{
    /// <summary>Lines the runner printed about the unit (driver, notes, hygiene), carried as diagnostics.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
    /// <summary>The unit leaked fds or dma-bufs (a failure even when every invariant passed).</summary>
    public string? Leak { get; init; }
}
