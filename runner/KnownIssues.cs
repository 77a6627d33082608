using Conformance.Adapters;
using Conformance.Adapters.Kernel;
using Conformance.Adapters.Model;
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
    /// <remarks>An entry that names calls (a race) matches only a failing step that makes that call, in a parallel block whose
    /// other branches make the racing ones.</remarks>
    public static Func<Failure, KnownIssue?> Classifier(TargetProfile profile, KnownIssueList list) => f =>
    {
        Op? failing = f.StepIndex >= 0 && f.StepIndex < f.Steps.Count ? f.Steps[f.StepIndex].Op : null;
        var racing = new HashSet<string>(StringComparer.Ordinal);
        if (failing is { Branch: not 0 })
        {
            // the steps of its block: the run of steps with a branch around it
            int start = f.StepIndex, end = f.StepIndex;
            while (start > 0 && f.Steps[start - 1].Op.Branch != 0) start--;
            while (end + 1 < f.Steps.Count && f.Steps[end + 1].Op.Branch != 0) end++;
            for (int i = start; i <= end; i++)
                if (f.Steps[i].Op.Branch != failing.Branch) racing.Add(f.Steps[i].Op.GetType().Name);
        }
        return list.Match(f.InvariantId, profile.Kernel, f.Steps.Select(s => s.Op).OfType<Open>()
            .Select(o => profile.Identity(o.Device)).Where(i => i.HasValue).Select(i => i!.Value), failing?.GetType().Name, racing);
    };

    /// <summary>
    /// Kernel memory left allocated over a property's sequences (DMABUF-LIFE-4) is a known issue when an entry names that
    /// rule, the kernel is in its range, one of the unit's devices is a driver or exporter it names, and (where it names
    /// "leaks") every chain that grew passes through that function: growth the entry does not explain stays a FAIL.
    /// </summary>
    public static Func<IReadOnlyList<AllocTraces.Growth>, KnownIssue?> LeakClassifier(TargetProfile profile, KnownIssueList list) => grown =>
    {
        var devices = profile.Video.Select(v => v.Device).Concat(profile.Heaps.Select(h => h.Device)).Concat(profile.Drm.Select(d => d.Device))
            .Concat(profile.UdmabufDevice is { } u ? [u] : []).Select(profile.Identity).Where(i => i.HasValue).Select(i => i!.Value);
        return list.Match(Inv.LifeFreed, profile.Kernel, devices, leaked: grown.Select(g => g.Frames).ToList());
    };
}
