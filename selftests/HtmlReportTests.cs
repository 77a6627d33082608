using System.Diagnostics;
using System.Text.RegularExpressions;
using Conformance.Runner;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// OUT/report.html, the run's certificate: self-contained, every in-page link lands, the verdict, the matrix and the
/// counterexamples are there; and headless Chromium (Debian's package) renders it without a console error, for the
/// screenshot the README shows.
/// </summary>
public class HtmlReportTests
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>A run of a variant with two independent bugs, compared with a clean model run: two counterexamples, a diff.</summary>
    private static readonly Lazy<string> Run = new(() =>
    {
        var root = Directory.CreateTempSubdirectory("conformance-html").FullName;
        Assert.Equal(0, Program.Run(["--sequences", "300", "--area", "dmabuf,prime", "--out", Path.Combine(root, "base")], TextWriter.Null));
        Assert.Equal(1, Program.Run(["--target", "broken:seek-cur-and-no-dedupe", "--sequences", "300", "--area", "dmabuf,prime", "--repro-runs", "2",
            "--out", Path.Combine(root, "run"), "--baseline", Path.Combine(root, "base", "results.json")], TextWriter.Null));
        return Path.Combine(root, "run");
    });

    private static string Html => File.ReadAllText(Path.Combine(Run.Value, "report.html"));

    [Fact]
    public void The_certificate_is_self_contained_and_shows_the_verdict_the_matrix_the_diff_and_each_counterexample()
    {
        var html = Html;
        Assert.Contains("<td class=\"fail\">FAILED</td>", html);
        Assert.Contains("<section id=\"matrix\">", html);
        Assert.Matches("<th class=\"id\"><a href=\"#rule-DMABUF-LLSEEK-3\">DMABUF-LLSEEK-3</a></th><td class=\"fail\"", html);
        Assert.Contains("REGRESSED", html);
        Assert.Contains("new failure: model profile vivid-like <a href=\"#rule-DMABUF-LLSEEK-3\">", html);
        // both bugs, each with its steps, replay command and files, linked inside the results folder
        Assert.Equal(2, Regex.Matches(html, "<article class=\"cx fail\"").Count);
        Assert.Contains("lseek(", html);
        Assert.Matches("<a href=\"counterexamples/[^\"]+\\.c\">C reproducer</a>", html);
        foreach (Match m in Regex.Matches(html, "href=\"(counterexamples/[^\"]+)\""))
            Assert.True(File.Exists(Path.Combine(Run.Value, m.Groups[1].Value)), $"{m.Groups[1].Value} is linked but not in the results folder");
        // nothing from outside the file: no script, no remote or absolute reference
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotMatch("(src|href)=\"(https?:|//|/)", html);
        // every in-page link has its target
        var ids = Regex.Matches(html, "id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToHashSet();
        foreach (Match m in Regex.Matches(html, "href=\"#([^\"]+)\""))
            Assert.True(ids.Contains(m.Groups[1].Value), $"#{m.Groups[1].Value} has no target");
    }

    [Fact]
    public void Headless_chromium_renders_it_without_a_console_error_and_the_readme_shows_its_screenshot()
    {
        Assert.True(File.Exists(Chromium), "Debian's chromium is needed to render the certificate (apt-get install chromium; .ci/run installs it)");
        var dir = Directory.CreateTempSubdirectory("conformance-chromium").FullName;
        var shot = Path.Combine(dir, "report.png");
        var (code, stdout, stderr) = Chrome(dir, "--screenshot=" + shot, "--window-size=1280,1400", "--dump-dom");
        Assert.True(code == 0, $"chromium exited {code}: {stderr}");
        // the page as Chromium parsed it: the verdict, the matrix, a counterexample
        Assert.Contains("id=\"verdicts\"", stdout);
        Assert.Contains("id=\"matrix\"", stdout);
        Assert.Contains("id=\"cx-1\"", stdout);
        // Chromium logs a page's console messages and failed loads on stderr with --enable-logging
        var errors = stderr.Split('\n').Where(l => l.Contains("CONSOLE", StringComparison.Ordinal) || l.Contains("Uncaught", StringComparison.Ordinal)
            || l.Contains("ERR_FILE_NOT_FOUND", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var png = File.ReadAllBytes(shot);
        Assert.True(png.Length > 20_000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', $"the screenshot is {png.Length} bytes");

        // the README shows the certificate as this test renders it (UPDATE_README=1 refreshes the picture)
        var inRepo = Path.Combine(Repo.Root, "reports", "report-screenshot.png");
        if (Environment.GetEnvironmentVariable("UPDATE_README") == "1") File.Copy(shot, inRepo, overwrite: true);
        Assert.Contains("![The HTML certificate of a run with two bugs](reports/report-screenshot.png)", File.ReadAllText(Path.Combine(Repo.Root, "README.md")));
        var kept = File.ReadAllBytes(inRepo);
        Assert.True(kept.Length > 20_000 && kept[1] == 'P', "reports/report-screenshot.png is not the rendered certificate");
    }

    private static (int Code, string Stdout, string Stderr) Chrome(string profileDir, params string[] args)
    {
        var psi = new ProcessStartInfo(Chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // as root, headless, and with nothing reaching for the network (this machine's is closed)
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--user-data-dir=" + Path.Combine(profileDir, "profile") })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("file://" + Path.Combine(Run.Value, "report.html"));
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(120))) { p.Kill(true); return (-1, stdout.Result, "timed out after 120 s\n" + stderr.Result); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
