using Conformance.Properties;
using Conformance.Reports;
using Conformance.Spec;

namespace Conformance.Runner;

/// <summary>
/// A run's results folder. The run writes into a fresh folder beside it and swaps that in when it ends (failed runs
/// included), so results of two runs never mix and a run stopped half way leaves the previous results as they were.
/// Only a new or empty folder, or one an earlier run of the suite wrote (it carries <see cref="Marker"/>), is ever
/// replaced: a folder with anything else in it is refused before the run. Paths the run prints name the final folder.
/// </summary>
public sealed class OutputFolder
{
    /// <summary>The file that marks a folder as the suite's results (and so replaceable by the next run).</summary>
    public const string Marker = ".conformance-results";
    private static int _runs;
    /// <summary>The folder the user named (what reports print).</summary>
    public string Final { get; }
    /// <summary>Where this run writes until <see cref="Commit"/>.</summary>
    public string Staging { get; }

    private OutputFolder(string final, string staging) { Final = final; Staging = staging; }

    /// <summary>Checks the folder can be written, then makes the staging folder beside it.</summary>
    public static OutputFolder Begin(string outDir)
    {
        var full = Path.GetFullPath(outDir).TrimEnd('/');
        if (full.Length == 0 || Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any() && !Ours(full))
            throw new Program.UsageException($"--out {outDir}: the folder holds files that are not this suite's results, and a run replaces its results folder as a whole: name a new or empty folder");
        Results.CheckWritable(outDir);
        var staging = Path.Combine(Path.GetDirectoryName(full) ?? "/", $".{Path.GetFileName(full)}.partial-{Environment.ProcessId}-{Interlocked.Increment(ref _runs)}");
        try { Directory.CreateDirectory(staging); File.WriteAllText(Path.Combine(staging, Marker), $"results of the buffer-sharing conformance suite {Conformance.Reports.SuiteVersion.Text}; the next run replaces this folder\n"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Program.UsageException($"cannot write results beside '{outDir}' (the run writes a fresh folder and swaps it in): {e.Message}");
        }
        Counterexamples.DisplayAs(staging, outDir.TrimEnd('/'));
        return new(outDir, staging);
    }

    /// <summary>A folder an earlier run wrote: the marker, or (runs before the marker existed) the suite's results.json.</summary>
    private static bool Ours(string dir)
    {
        if (File.Exists(Path.Combine(dir, Marker))) return true;
        // (a folder holding only what --bench saved: the suite's own figures, which a run into it replaces with the rest)
        if (Directory.EnumerateFileSystemEntries(dir).All(f => Path.GetFileName(f) == "bench.log")) return true;
        try { return File.ReadLines(Path.Combine(dir, "results.json")).Take(3).Any(l => l.Contains("\"conformance-results/", StringComparison.Ordinal)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>
    /// Ends the run's use of the folder: what it wrote replaces the folder as a whole; a run that wrote nothing (it stopped
    /// at an error before any result) leaves the previous results exactly as they were.
    /// </summary>
    public void Finish()
    {
        if (Directory.EnumerateFileSystemEntries(Staging).Any(e => Path.GetFileName(e) != Marker)) Commit();
        else
        {
            try { Directory.Delete(Staging, true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            Counterexamples.DisplayAs(Staging, Staging);
        }
    }

    /// <summary>Replaces the folder, as a whole, with what this run wrote.</summary>
    public void Commit()
    {
        var full = Path.GetFullPath(Final).TrimEnd('/');
        var old = Path.Combine(Path.GetDirectoryName(full) ?? "/", $".{Path.GetFileName(full)}.old-{Environment.ProcessId}");
        try
        {
            if (Directory.Exists(full)) Directory.Move(full, old);
            Directory.Move(Staging, full);
            if (Directory.Exists(old)) Directory.Delete(old, true);
            Counterexamples.DisplayAs(Staging, Staging);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Program.UsageException($"the results are in {Staging}: they could not replace '{Final}' ({e.Message})");
        }
    }

    /// <summary>Whether this process writes to a folder the lab shares with the host (inside the VM): the host swaps it.</summary>
    public static bool InsideLab(string outDir) =>
        Environment.GetEnvironmentVariable("LAB_OUT") is { Length: > 0 } lab && Path.GetFullPath(outDir).TrimEnd('/') == Path.GetFullPath(lab).TrimEnd('/');
}

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

    /// <summary>
    /// The unit's report on stdout: header, a line per invariant (--quiet: failures only), every counterexample, the
    /// totals, and, when applicable invariants went unexercised, which and the command that would reach them.
    /// </summary>
    public static void Print(UnitResult u, Catalog catalog, TextWriter output, Program.Cli? cli = null)
    {
        var result = u.Result!;
        output.WriteLine(TextReport.Header(result));
        var lines = TextReport.Invariants(result);
        if (cli?.Quiet == true) lines = string.Concat(lines.Split('\n').Where(l => l.StartsWith("FAIL", StringComparison.Ordinal) || l.StartsWith("KNOWN", StringComparison.Ordinal)).Select(l => l + "\n"));
        output.Write(lines);
        foreach (var p in result.Findings)
        {
            output.WriteLine();
            output.Write(TextReport.Counterexample(result, p, catalog, u.ReplayCommand(p), u.FilesFor(p)));
        }
        output.WriteLine(TextReport.Totals(result));
        if (cli?.Quiet != true) output.WriteLine("# " + TextReport.DomainCoverage(result));
        var missed = result.Invariants.Where(i => i.Verdict == Verdict.NotExercised).Select(i => i.Invariant.Id).ToList();
        if (missed.Count > 0 && cli != null)
            output.WriteLine($"# {missed.Count} applicable invariant(s) not exercised ({string.Join(", ", missed.Take(8))}{(missed.Count > 8 ? ", ..." : "")}); " +
                $"to reach them: {ReachCommand(cli, u.Device, missed)}");
    }

    /// <summary>A command that aims the same target at the invariants a run did not reach, with a larger budget.</summary>
    private static string ReachCommand(Program.Cli cli, string? device, IReadOnlyList<string> ids)
    {
        var parts = new List<string> { "./run-suite.sh", "--target", cli.Lab != null || Environment.GetEnvironmentVariable("LAB_OUT") is { Length: > 0 } ? "vm" : cli.Target };
        if (cli.Lab != null && cli.Lab.Spelled() is { Length: > 0 } lab) parts.AddRange(Shell.Words(lab));
        if (device != null) parts.AddRange(["--device", device]);
        else if (cli.Target is "model" || cli.Target.StartsWith("broken:", StringComparison.Ordinal)) parts.AddRange(["--profile", cli.ProfileName]);
        parts.AddRange(["--id", string.Join(",", ids), "--sequences", (Math.Max(1, cli.Options.Sequences) * 4).ToString(), "--seed", (cli.Options.Seed + 1).ToString()]);
        return Shell.Join(parts);
    }

    /// <summary>The unit's JUnit XML: OUT/junit.xml for the model, OUT/DEVICE/junit.xml for a device of a kernel run.</summary>
    public static void WriteJUnit(UnitResult u, Catalog catalog, string outDir, TextWriter output)
    {
        var result = u.Result!;
        var dir = u.Device != null ? Path.Combine(outDir, Slug(u.Device)) : outDir;
        // UTF-8 without a byte order mark: JUnit consumers (and diff) expect '<?xml' as the first bytes
        Save(dir, "junit.xml", path =>
        {
            using var w = System.Xml.XmlWriter.Create(path, new System.Xml.XmlWriterSettings { Encoding = new System.Text.UTF8Encoding(false), Indent = true });
            JUnitReport.Build(result, p => TextReport.Counterexample(result, p, catalog, u.ReplayCommand(p), u.FilesFor(p))).Save(w);
        }, output, "JUnit XML");
    }

    /// <summary>
    /// KTAP (nested per unit and area), JSON (reports/results.schema.json) and the HTML certificate (report.html) for the whole
    /// run; with a <paramref name="baseline"/> results.json (--baseline), the regression diff too: printed, written as
    /// regressions.json and put at the top of the certificate. True when the run regressed against the baseline.
    /// </summary>
    /// <param name="merged">Results joined by --merge: the shards they came from, written into results.json and the certificate.</param>
    public static bool WriteRun(IReadOnlyList<UnitResult> units, Catalog catalog, string dir, TextWriter output, string? kernel = null, string? baseline = null,
        IReadOnlyCollection<string>? scope = null, MergedShards? merged = null, System.Text.Json.Nodes.JsonObject? kernelCoverage = null)
    {
        Save(dir, "results.ktap", path => File.WriteAllText(path, KtapReport.Build(units, catalog, SuiteVersion.Text)), output, "KTAP");
        var json = JsonReport.Build(units, catalog, kernel, SuiteVersion.Text, merged);
        if (kernelCoverage != null)
        {
            // --kernel-coverage: the figure per group beside the verdicts (kernel_coverage, as in kernel-coverage.json)
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            node["kernel_coverage"] = System.Text.Json.Nodes.JsonNode.Parse(kernelCoverage.ToJsonString());
            json = node.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        }
        Save(dir, "results.json", path => File.WriteAllText(path, json), output, "JSON");
        Save(dir, "result.txt", path => File.WriteAllText(path, LavaReport.Build(units)), output, "LAVA result file");
        RegressionDiff? diff = null;
        if (baseline != null)
        {
            using var before = RegressionDiff.Load(baseline);
            using var now = System.Text.Json.JsonDocument.Parse(json);
            diff = RegressionDiff.Compare(baseline, before, now, scope);
            Save(dir, "regressions.json", path => File.WriteAllText(path, diff.Json()), output, "regression diff");
        }
        // counterexample files are linked from the certificate by their place in the results folder
        Save(dir, "report.html", path => File.WriteAllText(path, HtmlReport.Build(units, catalog, kernel, SuiteVersion.Text, diff,
            p => p.IndexOf("counterexamples/", StringComparison.Ordinal) is var i and >= 0 ? p[i..] : null, merged)), output, "HTML certificate");
        if (diff != null)
        {
            output.WriteLine();
            output.Write(diff.Text());
        }
        return diff?.Regressed == true;
    }

    /// <summary>Writes text to DIR/NAME and says where ("# WHAT: PATH"); an unwritable folder is a usage error (exit 2).</summary>
    public static void SaveText(string dir, string name, string text, TextWriter output, string what) =>
        Save(dir, name, path => File.WriteAllText(path, text), output, what);

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
            throw new Program.UsageException($"cannot write results to '{dir}': {Why(dir, e)}");
        }
    }

    /// <summary>
    /// Checks before any work that results can be written to dir: not a file, creatable, writable. One
    /// <see cref="Program.UsageException"/> naming the path and why otherwise.
    /// </summary>
    public static void CheckWritable(string dir, string option = "--out")
    {
        if (File.Exists(dir)) throw new Program.UsageException($"cannot write to '{dir}': it is a file, not a folder (name a folder with {option})");
        try
        {
            Directory.CreateDirectory(dir);
            var probe = Path.Combine(dir, $".conformance-write-test-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Program.UsageException($"cannot write results to '{dir}': {Why(dir, e)}");
        }
    }

    /// <summary>Why a results folder could not be made or written, in words: the runtime's own message says "Could not find
    /// file" where a file system (/proc, /sys) refuses a new folder in a folder that exists, so there it is not quoted.</summary>
    private static string Why(string dir, Exception e)
    {
        if (e is UnauthorizedAccessException) return "permission denied";
        var full = Path.GetFullPath(dir);
        var parent = Path.GetDirectoryName(full);
        if (!Directory.Exists(full) && parent != null && Directory.Exists(parent))
            return $"the file system refuses a new folder in '{parent}'";
        return e.Message;
    }

    /// <summary>Checks a file the run will write (--render-spec, --emit-c) can be: its folder exists, it is not a folder.</summary>
    public static void CheckWritableFile(string path, string option)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (Directory.Exists(path)) throw new Program.UsageException($"{option} {path}: a folder, not a file");
        if (!Directory.Exists(dir)) throw new Program.UsageException($"{option} {path}: no folder {dir} to write it in");
    }

    /// <summary>Writes a file the user named, with one usage line (exit 2) if it cannot be written.</summary>
    public static void WriteFile(string path, string text, string option)
    {
        CheckWritableFile(path, option);
        try { File.WriteAllText(path, text); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new Program.UsageException($"{option} {path}: cannot be written ({e.Message})"); }
    }

    /// <summary>Reads a file the user named: one usage line for a missing file, a folder, or one that cannot be read.</summary>
    public static string ReadFile(string path, string option)
    {
        if (Directory.Exists(path)) throw new Program.UsageException($"{option} {path}: a folder, not a file");
        if (!File.Exists(path)) throw new Program.UsageException($"{option} {path}: no such file");
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new Program.UsageException($"{option} {path}: cannot be read ({e.Message})"); }
    }

    public static string Slug(string s) => string.Concat(s.TrimStart('/').Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_'));
}
