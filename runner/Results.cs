using Conformance.Properties;
using Conformance.Reports;
using Conformance.Spec;

namespace Conformance.Runner;

/// <summary>What a run leaves behind: text on stdout, counterexample files, JUnit per unit, KTAP and JSON for the whole run.</summary>
public static class Results
{
    /// <summary>Writes every failure's replay file and C reproducer and wraps the result as a report unit.</summary>
    public static UnitResult Unit(string name, string? device, RunSite site, SuiteResult result, Program.Cli cli, Catalog catalog, string counterexampleDir,
        Func<Finding, string> replayCommand)
    {
        var files = new Dictionary<Finding, CounterexampleFiles>(ReferenceEqualityComparer.Instance);
        foreach (var p in result.Findings)
            files[p] = Counterexamples.Write(counterexampleDir, Counterexamples.FileName(p), Counterexamples.Record(site, cli, p, catalog, replayCommand(p)));
        return new UnitResult(name, device, result, null, p => files.GetValueOrDefault(p), replayCommand);
    }

    public static void Print(UnitResult u, Catalog catalog, TextWriter output)
    {
        var result = u.Result!;
        output.WriteLine(TextReport.Header(result));
        output.Write(TextReport.Invariants(result));
        foreach (var p in result.Findings)
        {
            output.WriteLine();
            output.Write(TextReport.Counterexample(result, p, catalog, u.ReplayCommand(p), u.FilesFor(p)));
        }
        output.WriteLine(TextReport.Totals(result));
    }

    public static void WriteJUnit(UnitResult u, Catalog catalog, string dir, TextWriter output)
    {
        var result = u.Result!;
        Save(dir, "junit.xml", path => JUnitReport.Build(result, p => TextReport.Counterexample(result, p, catalog, u.ReplayCommand(p), u.FilesFor(p))).Save(path), output, "JUnit XML");
    }

    /// <summary>KTAP (nested per unit and area) and JSON (reports/results.schema.json) for the whole run.</summary>
    public static void WriteRun(IReadOnlyList<UnitResult> units, Catalog catalog, string dir, TextWriter output, string? kernel = null)
    {
        Save(dir, "results.ktap", path => File.WriteAllText(path, KtapReport.Build(units, catalog)), output, "KTAP");
        Save(dir, "results.json", path => File.WriteAllText(path, JsonReport.Build(units, catalog, kernel)), output, "JSON");
    }

    private static void Save(string dir, string name, Action<string> write, TextWriter output, string what)
    {
        try
        {
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, name);
            write(path);
            output.WriteLine($"# {what}: {Counterexamples.Display(path)}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Program.UsageException($"cannot write results to '{dir}': {e.Message}");
        }
    }

    public static string Slug(string s) => string.Concat(s.TrimStart('/').Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_'));
}
