using System.Text.RegularExpressions;
using Conformance.Adapters;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Conformance.Spec;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// The README's samples are produced by the code: each block marked <c>&lt;!-- readme-sample: NAME --&gt;</c> is
/// regenerated here and must match (UPDATE_README=1 rewrites them).
/// </summary>
public class ReadmeTests
{
    private static readonly Catalog Cat = Catalog.Load();
    private static readonly string ReadmePath = Path.Combine(Repo.Root, "README.md");

    private static readonly Lazy<string> BrokenRun = new(() =>
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var sw = new StringWriter();
        Assert.Equal(1, Program.Run(["--target", "broken:reqbufs0-frees-mapped", "--out", dir], sw));
        return Regex.Replace(sw.ToString().Replace(dir, "out"), @" in [0-9.]+ s \(seed", " in T s (seed");
    });

    /// <summary>The KNOWN line vivid's DMABUF-MMAP-5 gets on the lab's 6.12 (the entry is the built-in one).</summary>
    private static string KnownLine()
    {
        var entry = KnownIssueList.BuiltIn(Cat).Issues.Single(k => k.Id == "vb2-vmalloc-mmap-pgoff");
        var inv = new InvariantResult(Cat["DMABUF-MMAP-5"], Verdict.Known, 0, null) { Known = [entry] };
        var r = new SuiteResult("kernel /dev/video0", TargetProfile.VividLike, new RunOptions(), [], [inv], new Exercise(), TimeSpan.Zero);
        return TextReport.Invariants(r).TrimEnd();
    }

    private static IReadOnlyDictionary<string, string> Generated()
    {
        var run = BrokenRun.Value.Split('\n');
        string Line(string prefix) => run.Single(l => l.StartsWith(prefix, StringComparison.Ordinal));
        var cx = BrokenRun.Value;
        int from = cx.IndexOf("FAIL VB2-REQBUFS-7:", StringComparison.Ordinal);
        int to = cx.IndexOf('\n', cx.IndexOf("  replay: ", from, StringComparison.Ordinal));
        return new Dictionary<string, string>
        {
            ["verdicts"] = string.Join("\n", Line("PASS          VB2-EXPBUF-6 "), Line("PASS          PRIME-CLOSE-1 "), Line("SKIP          VB2-REQBUFS-6 "),
                Line("FAIL          VB2-REQBUFS-7 "), KnownLine(), Line("totals: ")),
            ["counterexample"] = cx[from..to],
            ["known-issues"] = CatalogMarkdown.KnownIssues(KnownIssueList.BuiltIn(Cat)).TrimEnd(),
            ["options"] = SuiteCommandLine.Help().TrimEnd(),
            // the lab's own run (.ci/run's vm-certify, with --kernel-coverage), kept as a fixture
            ["kernel-coverage"] = KernelCoverageReport.Table(KernelCoverageReport.Load(Path.Combine(Repo.Root, "selftests", "fixtures", "kernel-coverage-6.12.json"))),
        };
    }

    private static readonly Regex Block = new(@"<!-- readme-sample: (?<name>[a-z-]+)[^>]*-->\n(?:```\n(?<fenced>.*?)\n?```|(?<plain>.*?)\n\n)", RegexOptions.Singleline);

    /// <summary>The contents line under the README's first screen names every section, in order, linked as GitHub anchors
    /// them (lower case, spaces to hyphens, punctuation dropped): a section added without it fails here.</summary>
    [Fact]
    public void The_contents_line_names_every_section_in_order()
    {
        var readme = File.ReadAllText(ReadmePath);
        var sections = Regex.Matches(readme, @"^## (.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value.Trim()).ToList();
        var contents = readme.Split('\n').Single(l => l.StartsWith("Contents: ", StringComparison.Ordinal));
        var linked = Regex.Matches(contents, @"\[([^\]]+)\]\(#([^)]+)\)").Select(m => (Title: m.Groups[1].Value, Anchor: m.Groups[2].Value)).ToList();
        Assert.Equal(sections, linked.Select(l => l.Title));
        foreach (var (title, anchor) in linked)
            Assert.Equal(Regex.Replace(title.ToLowerInvariant(), @"[^a-z0-9 -]", "").Replace(' ', '-'), anchor);
    }

    [Fact]
    public void Help_lists_every_option_the_parser_accepts_and_every_exit_status()
    {
        var help = SuiteCommandLine.Help();
        foreach (var name in SuiteCommandLine.OptionNames) Assert.Contains(name, help);
        foreach (var (code, _) in SuiteCommandLine.ExitCodes) Assert.Contains($"  {code}  ", help);
        Assert.Equal([0, 1, 2, 3, 4, 5], SuiteCommandLine.ExitCodes.Select(e => e.Code));
        // and every option the README names in backticks is one the parser takes
        // (and BENCHMARKS.md, the README's measured history, names the commands it measured with)
        var readme = File.ReadAllText(ReadmePath) + File.ReadAllText(Path.Combine(Repo.Root, "BENCHMARKS.md"));
        var named = Regex.Matches(readme, @"`(--[a-z][a-z-]*)").Select(m => m.Groups[1].Value).Distinct();
        var known = SuiteCommandLine.OptionNames.ToHashSet();
        var unknown = named.Where(n => !known.Contains(n) && !LabScriptOptions.Contains(n)).ToList();
        Assert.True(unknown.Count == 0, "the README names options the parser does not take: " + string.Join(", ", unknown));
    }

    /// <summary>Options of lab/vm.sh itself, which the README names where it shows that script.</summary>
    private static readonly HashSet<string> LabScriptOptions = ["--timeout", "--mem", "--smp", "--no-vivid", "--no-vgem", "--samples", "--module-args", "--warn-grace"];

    [Fact]
    public void Every_sample_in_the_README_is_what_the_code_prints()
    {
        var readme = File.ReadAllText(ReadmePath);
        var want = Generated();
        if (Environment.GetEnvironmentVariable("UPDATE_README") == "1")
        {
            readme = Block.Replace(readme, m =>
            {
                var text = want[m.Groups["name"].Value];
                var head = m.Value[..(m.Value.IndexOf("-->", StringComparison.Ordinal) + 4)];
                return m.Groups["fenced"].Success ? $"{head}```\n{text}\n```" : $"{head}{text}\n\n";
            });
            File.WriteAllText(ReadmePath, readme);
            return;
        }
        var found = Block.Matches(readme).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["fenced"].Success ? m.Groups["fenced"].Value : m.Groups["plain"].Value);
        Assert.Equal(want.Keys.Order(), found.Keys.Order());
        foreach (var (name, text) in want)
            Assert.True(text == found[name], $"README sample '{name}' is stale (UPDATE_README=1 dotnet test regenerates it):\n--- README\n{found[name]}\n--- code\n{text}");
    }
}
