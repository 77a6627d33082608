using Conformance.Properties;

namespace Conformance.Reports;

/// <summary>
/// The result file of Linaro's test-definitions layout (OUT/result.txt): one line per test case, "TEST_CASE_ID RESULT", which
/// a LAVA test definition (lava/conformance.yaml) turns into lava-test-case results. A case per invariant and unit,
/// "UNIT_ID" (the device path without /dev/, or the model profile, in LAVA's characters), its result pass, fail or skip:
/// KNOWN is a fail (LAVA has no expected failure, and a known kernel bug is never a pass), NOT EXERCISED a skip; a unit
/// skipped as a whole is one case "UNIT_run skip"; a unit that leaked fds or dma-bufs gets "UNIT_hygiene fail" (else pass).
/// </summary>
public static class LavaReport
{
    public static string Build(IReadOnlyList<UnitResult> units)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var u in units)
        {
            var unit = UnitId(u);
            if (u.Result is not { } r)
            {
                sb.Append(unit).Append("_run skip\n");
                continue;
            }
            foreach (var i in r.Invariants)
                sb.Append(unit).Append('_').Append(i.Invariant.Id).Append(' ').Append(i.Verdict switch
                {
                    Verdict.Pass => "pass", Verdict.Fail or Verdict.Known => "fail", _ => "skip",
                }).Append('\n');
            // a failure citing no invariant the unit judged (e.g. UNCITED) fails a case of its own
            foreach (var id in r.Unjudged.Select(f => f.Failure.InvariantId).Distinct())
                sb.Append(unit).Append('_').Append(id).Append(" fail\n");
            sb.Append(unit).Append("_hygiene ").Append(u.Leak == null ? "pass" : "fail").Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>A unit's name as a LAVA test case prefix: "/dev/dma_heap/system" is "dma_heap.system", the model's "model.vivid-like".</summary>
    public static string UnitId(UnitResult u)
    {
        var name = u.Device is { } d ? (d.StartsWith("/dev/", StringComparison.Ordinal) ? d[5..] : d.TrimStart('/'))
            : u.Result is { } r ? $"{r.Target}.{r.Profile.Name}" : u.Name;
        return string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '.'));
    }
}
