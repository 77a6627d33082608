using Conformance.Adapters;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Spec;

namespace Conformance.Runner;

/// <summary>Tells which failures on a kernel target are known kernel issues.</summary>
public static class KnownIssues
{
    /// <summary>
    /// A failure is a known issue when an entry names its invariant, the kernel's upstream version is in the entry's
    /// range, and one of the devices the shrunk counterexample opens is a driver or exporter the entry names.
    /// </summary>
    public static Func<Failure, KnownIssue?> Classifier(TargetProfile profile, KnownIssueList list) => f =>
        list.Match(f.InvariantId, profile.Kernel, f.Steps.Select(s => s.Op).OfType<Open>()
            .Select(o => profile.Identity(o.Device)).Where(i => i.HasValue).Select(i => i!.Value));
}
