using System.Net;
using System.Text;
using Conformance.Properties;
using Conformance.Spec;

namespace Conformance.Reports;

/// <summary>
/// The run's certificate, OUT/report.html: one self-contained page (inline style, no script, no font, image or link outside
/// the results folder) a maintainer can attach to a patch or a lab can publish. From the top: the verdict of each device
/// (certified, failed, known kernel issues only, skipped) with the kernel, suite version, seed and budget; the regression
/// diff where the run had a baseline; the matrix of invariants (rows, grouped by area) by devices (columns), each cell its
/// verdict and count, linked to the invariant's rule and source below; every counterexample with its steps, expected and
/// actual outcome, replay command and links to its replay file and C reproducer; the known issues with their evidence, and
/// the rules where the suite follows the code over out-of-date documentation (DEVIATES).
/// </summary>
public static class HtmlReport
{
    /// <param name="units">The run's units, as the other reports take them.</param>
    /// <param name="catalog">The rules the matrix links to.</param>
    /// <param name="kernel">The kernel the run certified (null for the model).</param>
    /// <param name="suiteVersion">The suite's version line.</param>
    /// <param name="diff">The regression diff against --baseline, or null.</param>
    /// <param name="link">A counterexample file's path as a link relative to the report (null: not linked).</param>
    /// <param name="merged">For results joined by --merge: the shards merged and missing (an incomplete merge says so at the top).</param>
    public static string Build(IReadOnlyList<UnitResult> units, Catalog catalog, string? kernel, string suiteVersion, RegressionDiff? diff = null,
        Func<string, string?>? link = null, MergedShards? merged = null)
    {
        link ??= p => p;
        var ran = units.Where(u => u.Result != null).ToList();
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append("<title>Buffer-sharing conformance: ").Append(E(Overall(units))).Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n");
        sb.Append("<h1>Buffer-sharing conformance certificate</h1>\n");
        var first = ran.FirstOrDefault()?.Result;
        sb.Append("<p class=\"meta\">kernel <b>").Append(E(kernel ?? "none (the reference model)")).Append("</b> &middot; suite ").Append(E(suiteVersion));
        if (first != null)
            sb.Append(" &middot; ").Append(E(TextReport.Budget(first.Options))).Append(" &middot; longest sequence ").Append(first.Options.MaxLength).Append(" ops");
        if (merged is { } m)
            sb.Append(" &middot; merged from shard").Append(m.Present.Count == 1 ? " " : "s ").Append(string.Join(", ", m.Present)).Append(" of ").Append(m.Count)
              .Append(m.Missing.Count > 0 ? $" <b class=\"fail\">(incomplete: shard{(m.Missing.Count == 1 ? "" : "s")} {string.Join(", ", m.Missing)} missing)</b>" : "");
        sb.Append("</p>\n");

        // the verdict of each device
        sb.Append("<section id=\"verdicts\">\n<h2>Verdict per device</h2>\n<table class=\"verdicts\">\n<tr><th>device</th><th>verdict</th><th>passed</th><th>failed</th><th>known</th><th>skipped</th><th>not exercised</th><th>notes</th></tr>\n");
        foreach (var u in units)
        {
            var v = UnitVerdict(u);
            var c = u.Result?.Counts() ?? default;
            sb.Append("<tr><td>").Append(E(u.Name)).Append("</td><td class=\"").Append(v.Css).Append("\">").Append(E(v.Text)).Append("</td>")
              .Append($"<td>{c.Passed}</td><td>{c.Failed}</td><td>{c.Known}</td><td>{c.Skipped}</td><td>{c.NotExercised}</td><td class=\"notes\">")
              .Append(E(string.Join("; ", (u.Result == null ? [u.SkipReason ?? "not run"] : u.Notes).Concat(u.Leak is { } l ? [l] : []))))
              .Append("</td></tr>\n");
        }
        sb.Append("</table>\n</section>\n");

        if (diff != null) Regressions(sb, diff);
        Matrix(sb, ran, catalog);
        Counterexamples(sb, ran, catalog, link);
        KnownAndDeviations(sb, ran, catalog);
        Rules(sb, ran, catalog);
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>The run's verdict in a word, as the page's title says it.</summary>
    public static string Overall(IReadOnlyList<UnitResult> units) => units.Select(UnitVerdict).Select(v => v.Css).ToList() switch
    {
        var l when l.Contains("fail") => "FAILED",
        var l when l.Contains("known") => "known kernel issues only",
        var l when l.All(x => x == "skip") => "nothing certified",
        _ => "certified",
    };

    private static (string Text, string Css) UnitVerdict(UnitResult u) => JsonReport.Result(u) switch
    {
        "fail" => ("FAILED", "fail"),
        "known" => ("known kernel issues only", "known"),
        "skip" => ("nothing certified (skipped)", "skip"),
        _ => ("certified", "pass"),
    };

    private static void Regressions(StringBuilder sb, RegressionDiff d)
    {
        sb.Append("<section id=\"regressions\">\n<h2>Regressions against ").Append(E(d.BaselinePath)).Append(": <span class=\"")
          .Append(d.Regressed ? "fail\">REGRESSED" : "pass\">no regression").Append("</span></h2>\n");
        sb.Append("<p>kernel ").Append(E(d.KernelBefore ?? "none")).Append(" &rarr; ").Append(E(d.KernelAfter ?? "none"))
          .Append("; suite ").Append(E(d.SuiteBefore ?? "?")).Append(" &rarr; ").Append(E(d.SuiteAfter ?? "?")).Append("</p>\n<ul>\n");
        foreach (var u in d.UnitsMissing) sb.Append("<li class=\"fail\">device missing now: ").Append(E(u)).Append("</li>\n");
        foreach (var u in d.UnitsAdded) sb.Append("<li>device new in this run: ").Append(E(u)).Append("</li>\n");
        foreach (var c in d.Changes.OrderBy(c => c.Change))
            sb.Append("<li class=\"").Append(c.Change is Change.NewFailure or Change.NewlyKnown ? "fail" : c.Change == Change.Fixed ? "pass" : "note")
              .Append("\">").Append(E(Word(c.Change))).Append(": ").Append(E(c.Unit)).Append(" <a href=\"#rule-").Append(E(c.Invariant)).Append("\">")
              .Append(E(c.Invariant)).Append("</a> ").Append(E(c.Before)).Append(" &rarr; ").Append(E(c.After)).Append("</li>\n");
        sb.Append("</ul>\n</section>\n");
    }

    private static string Word(Change c) => c switch
    {
        Change.NewFailure => "new failure", Change.NewlyKnown => "newly known", Change.StillFailing => "still failing",
        Change.FailingDifferently => "failing differently", Change.StillKnown => "known", Change.Fixed => "fixed",
        Change.NewlyExercised => "newly exercised", _ => "no longer exercised",
    };

    private static void Matrix(StringBuilder sb, List<UnitResult> ran, Catalog catalog)
    {
        sb.Append("<section id=\"matrix\">\n<h2>Invariants by device</h2>\n<table class=\"matrix\">\n<tr><th>invariant</th>");
        for (int i = 0; i < ran.Count; i++) sb.Append("<th title=\"").Append(E(ran[i].Name)).Append("\">").Append(E(Short(ran[i]))).Append("</th>");
        sb.Append("</tr>\n");
        var results = ran.Select(u => u.Result!.Invariants.ToDictionary(i => i.Invariant.Id, StringComparer.Ordinal)).ToList();
        var ids = ran.SelectMany(u => u.Result!.Invariants.Select(i => i.Invariant.Id)).ToHashSet(StringComparer.Ordinal);
        foreach (var area in catalog.All.Where(i => ids.Contains(i.Id)).GroupBy(i => i.Area))
        {
            sb.Append("<tr class=\"area\"><th colspan=\"").Append(ran.Count + 1).Append("\">").Append(E(area.Key)).Append("</th></tr>\n");
            foreach (var inv in area)
            {
                sb.Append("<tr><th class=\"id\"><a href=\"#rule-").Append(E(inv.Id)).Append("\">").Append(E(inv.Id)).Append("</a></th>");
                foreach (var r in results)
                {
                    if (!r.TryGetValue(inv.Id, out var v)) { sb.Append("<td class=\"none\">&ndash;</td>"); continue; }
                    // the verdict's word as the text report prints it, its class results.json's status
                    string word = TextReport.Tag(v.Verdict);
                    sb.Append("<td class=\"").Append(JsonReport.Status(v.Verdict)).Append("\" title=\"").Append(E(v.Reason ?? word)).Append("\">").Append(word);
                    if (v.Verdict == Verdict.Pass) sb.Append(' ').Append(v.Exercised);
                    sb.Append("</td>");
                }
                sb.Append("</tr>\n");
            }
        }
        sb.Append("</table>\n</section>\n");
    }

    /// <summary>A column's heading: the device path, or the model's profile.</summary>
    private static string Short(UnitResult u) => u.Device ?? u.Result?.Profile.Name ?? u.Name;

    private static void Counterexamples(StringBuilder sb, List<UnitResult> ran, Catalog catalog, Func<string, string?> link)
    {
        var all = ran.SelectMany(u => u.Result!.Findings.Select(f => (Unit: u, Finding: f))).ToList();
        sb.Append("<section id=\"counterexamples\">\n<h2>Counterexamples (").Append(all.Count).Append(")</h2>\n");
        if (all.Count == 0) sb.Append("<p>None: no sequence departed from the documented behaviour.</p>\n");
        int n = 0;
        foreach (var (u, f) in all)
        {
            var failure = f.Failure;
            sb.Append("<article class=\"cx ").Append(f.Known != null ? "known" : "fail").Append("\" id=\"cx-").Append(++n).Append("\">\n<h3>")
              .Append(f.Known != null ? "KNOWN " : "FAIL ").Append("<a href=\"#rule-").Append(E(failure.InvariantId)).Append("\">").Append(E(failure.InvariantId))
              .Append("</a> on ").Append(E(u.Name)).Append("</h3>\n");
            if (catalog.Contains(failure.InvariantId)) sb.Append("<p class=\"rule\">").Append(E(catalog[failure.InvariantId].Rule)).Append("</p>\n");
            if (f.Known is { } k) sb.Append("<p>known kernel issue <a href=\"#known-").Append(E(k.Id)).Append("\">").Append(E(k.Id)).Append("</a>: ").Append(E(k.Title)).Append("</p>\n");
            sb.Append("<p>found by the ").Append(E(failure.Property)).Append(" property; ").Append(failure.Steps.Count).Append(" steps; failed again in ")
              .Append(f.Reproduced).Append(" of ").Append(f.ReproRuns).Append(" re-runs from a fresh state</p>\n");
            sb.Append("<pre class=\"steps\">").Append(E(TextReport.Steps(failure).TrimEnd())).Append("</pre>\n");
            sb.Append("<p class=\"replay\">replay: <code>").Append(E(u.ReplayCommand(f))).Append("</code></p>\n");
            if (u.FilesFor(f) is { } files)
            {
                sb.Append("<p class=\"files\">");
                Link(sb, "replay file", files.ReplayPath, link);
                sb.Append(" &middot; ");
                Link(sb, "C reproducer", files.ReproducerPath, link);
                sb.Append("</p>\n");
            }
            sb.Append("</article>\n");
        }
        sb.Append("</section>\n");
    }

    private static void Link(StringBuilder sb, string what, string path, Func<string, string?> link)
    {
        if (link(path) is { } href) sb.Append("<a href=\"").Append(E(href)).Append("\">").Append(what).Append("</a> <code>").Append(E(path)).Append("</code>");
        else sb.Append(what).Append(" <code>").Append(E(path)).Append("</code>");
    }

    private static void KnownAndDeviations(StringBuilder sb, List<UnitResult> ran, Catalog catalog)
    {
        var known = ran.SelectMany(u => u.Result!.Invariants.SelectMany(i => i.Known)).DistinctBy(k => k.Id).ToList();
        sb.Append("<section id=\"known\">\n<h2>Known kernel issues (").Append(known.Count).Append(")</h2>\n");
        if (known.Count == 0) sb.Append("<p>None met in this run.</p>\n");
        foreach (var k in known)
        {
            sb.Append("<article class=\"issue\" id=\"known-").Append(E(k.Id)).Append("\">\n<h3>").Append(E(k.Id)).Append(" (")
              .Append(E(k.Invariant)).Append(")</h3>\n<p>").Append(E(k.Title)).Append("</p>\n<p>kernels ")
              .Append(E(string.Join("; ", k.Kernels))).Append("; fix: ").Append(E(k.Fix is { } fix ? $"{fix.Commit} \"{fix.Subject}\"" : "none upstream yet")).Append("</p>\n<ul>\n");
            foreach (var e in k.Evidence.Source) sb.Append("<li>source: ").Append(E(e)).Append("</li>\n");
            foreach (var e in k.Evidence.Lab) sb.Append("<li>lab: ").Append(E(e)).Append("</li>\n");
            sb.Append("</ul>\n</article>\n");
        }
        var deviates = ran.SelectMany(u => u.Result!.Invariants).Select(i => i.Invariant).Where(i => i.Deviation != null).DistinctBy(i => i.Id).ToList();
        sb.Append("<h2>Where the suite follows the code (DEVIATES)</h2>\n");
        if (deviates.Count == 0) sb.Append("<p>None among the rules this run judged.</p>\n");
        else
        {
            sb.Append("<ul>\n");
            foreach (var i in deviates) sb.Append("<li><a href=\"#rule-").Append(E(i.Id)).Append("\">").Append(E(i.Id)).Append("</a>: ").Append(E(i.Deviation!.ToString())).Append("</li>\n");
            sb.Append("</ul>\n");
        }
        sb.Append("</section>\n");
    }

    private static void Rules(StringBuilder sb, List<UnitResult> ran, Catalog catalog)
    {
        var ids = ran.SelectMany(u => u.Result!.Invariants.Select(i => i.Invariant.Id)).ToHashSet(StringComparer.Ordinal);
        sb.Append("<section id=\"rules\">\n<h2>The rules</h2>\n<dl>\n");
        foreach (var i in catalog.All.Where(i => ids.Contains(i.Id)))
            sb.Append("<dt id=\"rule-").Append(E(i.Id)).Append("\">").Append(E(i.Id)).Append("</dt>\n<dd>").Append(E(i.Rule))
              .Append(" <span class=\"src\">Expected: ").Append(E(i.Expected)).Append(". Source: ").Append(E(i.Source.ToString())).Append("</span></dd>\n");
        sb.Append("</dl>\n</section>\n");
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private const string Style = """
        body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; max-width: 1400px; }
        h1 { font-size: 1.6em; margin: 0 0 .2em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
        h3 { font-size: 1.05em; margin: .2em 0; } .meta { color: #444; }
        table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
        table.matrix td { text-align: center; white-space: nowrap; font-size: 12px; } table.matrix th.id { font-weight: normal; font-family: monospace; }
        tr.area th { background: #eef; text-transform: uppercase; letter-spacing: .05em; }
        .pass { background: #d9f2d9; } .fail { background: #f8d0d0; font-weight: bold; } .known { background: #fde9c4; }
        .skip { background: #eee; color: #555; } .not_exercised { background: #e8e0f5; } .none { color: #999; } .note { background: #f4f4f4; }
        article { border: 1px solid #ccc; border-radius: 4px; padding: .4em .8em; margin: .8em 0; }
        article.fail { border-left: 6px solid #c33; } article.known { border-left: 6px solid #d90; }
        pre.steps { background: #f7f7f7; padding: .5em; overflow-x: auto; font-size: 12px; } code { font-size: 12px; }
        td { overflow-wrap: break-word; } td.notes { font-size: 12px; color: #333; min-width: 30em; } table.verdicts { width: 100%; }
        .rule { font-style: italic; } .src { color: #555; } dd { margin: 0 0 .6em 1.5em; } dt { font-family: monospace; font-weight: bold; }
        """;
}
