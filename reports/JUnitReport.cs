using System.Xml.Linq;
using Conformance.Properties;

namespace Conformance.Reports;

/// <summary>JUnit XML: one testsuite per area, one testcase per invariant (skipped and not-exercised are not passes).</summary>
public static class JUnitReport
{
    public static XDocument Build(SuiteResult r, Func<Finding, string> counterexample)
    {
        // two properties (e.g. lockstep and aliasing) can break the same invariant: the test case carries both
        var failures = r.Findings.GroupBy(f => f.Failure.InvariantId)
            .ToDictionary(g => g.Key, g => string.Join("\n", g.Select(counterexample)));
        var suites = new XElement("testsuites", new XAttribute("name", $"conformance {r.Target}"),
            new XAttribute("tests", r.Invariants.Count),
            new XAttribute("failures", r.Invariants.Count(i => i.Verdict is Verdict.Fail or Verdict.Known)),
            new XAttribute("skipped", r.Invariants.Count(i => i.Verdict is Verdict.Skip or Verdict.NotExercised)),
            new XAttribute("time", r.Elapsed.TotalSeconds.ToString("F3")));
        foreach (var area in r.Invariants.GroupBy(i => i.Invariant.Area))
        {
            var suite = new XElement("testsuite", new XAttribute("name", $"{r.Target}.{area.Key}"),
                new XAttribute("tests", area.Count()),
                new XAttribute("failures", area.Count(i => i.Verdict is Verdict.Fail or Verdict.Known)),
                new XAttribute("skipped", area.Count(i => i.Verdict is Verdict.Skip or Verdict.NotExercised)),
                new XElement("properties",
                    new XElement("property", new XAttribute("name", "seed"), new XAttribute("value", r.Options.Seed)),
                    new XElement("property", new XAttribute("name", "profile"), new XAttribute("value", r.Profile.Name))));
            foreach (var i in area)
            {
                var tc = new XElement("testcase", new XAttribute("classname", $"{r.Target}.{area.Key}"), new XAttribute("name", i.Invariant.Id));
                switch (i.Verdict)
                {
                    case Verdict.Fail:
                        tc.Add(new XElement("failure", new XAttribute("message", i.Invariant.Rule), failures.GetValueOrDefault(i.Invariant.Id, i.Reason ?? "")));
                        break;
                    case Verdict.Known:
                        // a known kernel issue is still a failure (JUnit has no expected-failure state); type says which
                        tc.Add(new XElement("failure", new XAttribute("type", "known-issue"),
                            new XAttribute("message", $"KNOWN: {string.Join("; ", i.Known.Select(k => k.Summary))}"), failures.GetValueOrDefault(i.Invariant.Id, i.Reason ?? "")));
                        break;
                    case Verdict.Skip:
                        tc.Add(new XElement("skipped", new XAttribute("message", $"precondition not met: {i.Reason}")));
                        break;
                    case Verdict.NotExercised:
                        tc.Add(new XElement("skipped", new XAttribute("message", $"not exercised: {i.Reason}")));
                        break;
                    default:
                        tc.Add(new XElement("system-out", $"checked {i.Exercised} {(i.Exercised == 1 ? "time" : "times")}"));
                        break;
                }
                if (i.Invariant.Deviation is { } dev)
                    tc.Add(new XElement("properties", new XElement("property", new XAttribute("name", "deviates"), new XAttribute("value", dev.ToString()))));
                suite.Add(tc);
            }
            suites.Add(suite);
        }
        return new XDocument(suites);
    }
}
