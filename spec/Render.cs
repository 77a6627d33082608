using System.Text;

namespace Conformance.Spec;

/// <summary>Renders the catalog as Markdown (spec/CATALOG.md is generated from the data, never edited by hand).</summary>
public static class CatalogMarkdown
{
    public static string Render(Catalog catalog)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Invariant catalog");
        sb.AppendLine();
        sb.AppendLine("Generated from `spec/catalog/*.json` by `./run-suite.sh --render-spec`; do not edit by hand.");
        sb.AppendLine($"{catalog.All.Count} invariants in {catalog.Areas.Count} areas. Ambiguities and known deviations: `spec/ambiguities.md`.");
        sb.AppendLine();
        foreach (var area in catalog.Areas)
        {
            sb.AppendLine($"## {area.Title} (`{area.Area}`, {area.Invariants.Count})");
            sb.AppendLine();
            sb.AppendLine("| ID | rule | expected | preconditions | source |");
            sb.AppendLine("| --- | --- | --- | --- | --- |");
            foreach (var i in area.Invariants)
            {
                var pre = i.Preconditions.Count == 0 ? "" : string.Join(", ", i.Preconditions.Select(p => $"`{p}`"));
                if (i.MinKernel != null) pre = (pre.Length > 0 ? pre + ", " : "") + $"since {i.MinKernel}";
                var src = i.Source.Kind == "impl"
                    ? $"`{i.Source.File}` `{i.Source.Section}` (implementation)"
                    : $"`{i.Source.File}` — {i.Source.Section}";
                var rule = i.Deviation is { } d ? $"{i.Rule} **DEVIATES** from the documentation, which is out of date here: {d.Summary} ({d.Amb})." : i.Rule;
                sb.AppendLine($"| {i.Id} | {Esc(rule)} | {Esc(i.Expected)} | {pre} | {Esc(src)} |");
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }

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
