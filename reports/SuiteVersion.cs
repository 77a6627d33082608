using System.Reflection;

namespace Conformance.Reports;

/// <summary>
/// The suite's version and the commit it was built from (Directory.Build.props puts <c>git describe</c> into the
/// informational version; "unknown" outside a git checkout). Printed by --version and written into every JSON, KTAP
/// header and replay file.
/// </summary>
public static class SuiteVersion
{
    /// <summary>e.g. "0.12.0+3f2a9c1d0b7e" or "0.12.0+3f2a9c1d0b7e-dirty".</summary>
    public static string Text { get; } =
        typeof(SuiteVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
