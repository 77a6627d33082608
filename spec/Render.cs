using System.Text;

namespace Conformance.Spec;

/// <summary>Renders the catalog as Markdown (spec/CATALOG.md is generated from the data, never edited by hand).</summary>
public static class CatalogMarkdown
{
    /// <summary>
    /// The catalog as Markdown: per area an index (ID, name, expected outcome, source section; each ID links to its entry), then
    /// every invariant in full: its rule, expected outcome, preconditions, the documentation's words it rests on (file, section
    /// and quote), where the kernel implements it, the note (what the documentation leaves open, what the code does there), and
    /// a deviation where the suite follows the code.
    /// </summary>
    public static string Render(Catalog catalog)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Invariant catalog");
        sb.AppendLine();
        sb.AppendLine("Generated from `spec/catalog/*.json` by `./run-suite.sh --render-spec`; do not edit by hand.");
        sb.AppendLine($"{catalog.All.Count} invariants in {catalog.Areas.Count} areas. Ambiguities and known deviations: `spec/ambiguities.md`.");
        sb.AppendLine();
        sb.AppendLine("Areas: " + string.Join(" · ", catalog.Areas.Select(a => $"[{a.Title}](#area-{a.Area}) ({a.Invariants.Count})")));
        sb.AppendLine();
        foreach (var area in catalog.Areas)
        {
            sb.AppendLine($"<a id=\"area-{area.Area}\"></a>");
            sb.AppendLine();
            sb.AppendLine($"## {area.Title} (`{area.Area}`, {area.Invariants.Count})");
            sb.AppendLine();
            sb.AppendLine("| ID | name | expected | source |");
            sb.AppendLine("| --- | --- | --- | --- |");
            foreach (var i in area.Invariants)
                sb.AppendLine($"| [{i.Id}](#{i.Id}) | {i.Name}{(i.Deviation != null ? " (**DEVIATES**)" : "")} | {Esc(i.Expected)} | {Esc(SourceText(i.Source))} |");
            sb.AppendLine();
            foreach (var i in area.Invariants)
            {
                sb.AppendLine($"<a id=\"{i.Id}\"></a>");
                sb.AppendLine();
                sb.AppendLine($"### {i.Id} {i.Name}");
                sb.AppendLine();
                sb.AppendLine($"{i.Rule}");
                sb.AppendLine();
                if (i.Deviation is { } d)
                {
                    sb.AppendLine($"**DEVIATES** from the documentation, which is out of date here: {d.Summary} ({d.Amb}).");
                    sb.AppendLine();
                }
                sb.AppendLine($"- **Expected:** {i.Expected}");
                var pre = i.Preconditions.Select(p => $"`{p}`").ToList();
                if (i.MinKernel != null) pre.Add($"since Linux {i.MinKernel}");
                sb.AppendLine($"- **Applies:** {(pre.Count == 0 ? "wherever its area's devices are" : string.Join(", ", pre))}");
                sb.AppendLine($"- **Source:** {SourceText(i.Source)}");
                if (!string.IsNullOrWhiteSpace(i.Source.Quote))
                {
                    sb.AppendLine();
                    sb.AppendLine($"  > {Line(i.Source.Quote)}");
                    sb.AppendLine();
                }
                if (!string.IsNullOrWhiteSpace(i.Implementation)) sb.AppendLine($"- **Implementation:** {Line(i.Implementation)}");
                if (!string.IsNullOrWhiteSpace(i.Note)) sb.AppendLine($"- **Note:** {Line(i.Note)}");
                sb.AppendLine();
            }
        }
        return sb.ToString();
    }

    /// <summary>Where an invariant's rule is stated: a document's file and section, or the code alone.</summary>
    private static string SourceText(Source s) => s.Kind == "impl"
        ? $"`{s.File}` `{s.Section}` (implementation only)"
        : $"`{s.File}`, {s.Section}";

    /// <summary>A text on one Markdown line.</summary>
    private static string Line(string s) => s.Replace("\r", " ").Replace("\n", " ").Trim();

    /// <summary>The known kernel issues as a Markdown table (the README shows it; a test keeps it current).</summary>
    public static string KnownIssues(KnownIssueList list)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| ID | invariant | kernels | drivers / exporters | fix |");
        sb.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var k in list.Issues)
            sb.AppendLine($"| `{k.Id}` | {k.Invariant} | {Esc(string.Join("; ", k.Kernels))} | {Esc(string.Join(", ", k.Drivers.Concat(k.Exporters)))} | " +
                $"{(k.Fix is { } f ? Esc($"{f.Commit[..Math.Min(12, f.Commit.Length)]} \"{f.Subject}\"") : "none upstream")} |");
        return sb.ToString();
    }

    private static string Esc(string s) => s.Replace("|", "\\|").Replace("\n", " ");
}
