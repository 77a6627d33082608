using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Properties;
using Conformance.Spec;
using Xunit;

namespace Conformance.SelfTests;

public class CatalogTests
{
    private static readonly string Root = FindRoot();
    private static string FindRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "Conformance.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("cannot find the repository root");
    }

    [Fact]
    public void Catalog_has_at_least_60_sourced_invariants_in_six_areas()
    {
        var c = Catalog.Load();
        Assert.True(c.All.Count >= 60, $"{c.All.Count} invariants");
        Assert.Equal(["dmabuf", "fence", "heap", "prime", "udmabuf", "vb2"], c.Areas.Select(a => a.Area).Order().ToArray());
        foreach (var i in c.All)
        {
            Assert.Matches(@"^[A-Z0-9]+-[A-Z0-9]+-\d+$", i.Id);
            Assert.Contains(i.Source.Kind, new[] { "doc", "uapi", "impl" });
            Assert.False(string.IsNullOrWhiteSpace(i.Source.File), i.Id);
            if (i.Source.Kind != "impl") Assert.False(string.IsNullOrWhiteSpace(i.Source.Quote), $"{i.Id} cites documentation without a quote");
        }
    }

    [Fact]
    public void The_files_in_the_tree_are_the_catalog_that_is_compiled_in()
    {
        var onDisk = Catalog.LoadFrom(Path.Combine(Root, "spec", "catalog"));
        Assert.Equal(Catalog.Load().All.Select(i => i.Id), onDisk.All.Select(i => i.Id));
    }

    [Fact]
    public void CATALOG_md_is_generated_from_the_data()
    {
        var rendered = CatalogMarkdown.Render(Catalog.Load());
        var file = File.ReadAllText(Path.Combine(Root, "spec", "CATALOG.md"));
        Assert.True(rendered == file, "spec/CATALOG.md is stale: run ./run-suite.sh --render-spec spec/CATALOG.md");
    }

    [Fact]
    public void Every_catalog_invariant_is_checked_by_some_property()
    {
        var named = Properties.Properties.All.SelectMany(p => p.Checks).ToHashSet();
        var unchecked_ = Catalog.Load().All.Select(i => i.Id).Where(id => !named.Contains(id)).ToList();
        Assert.True(unchecked_.Count == 0, "checked by no property: " + string.Join(", ", unchecked_));
    }

    [Fact]
    public void Every_id_a_property_or_the_model_names_is_in_the_catalog()
    {
        var c = Catalog.Load();
        var unknown = Properties.Properties.All.SelectMany(p => p.Checks).Concat(Inv.All).Where(id => !c.Contains(id)).Distinct().ToList();
        Assert.True(unknown.Count == 0, "unknown IDs: " + string.Join(", ", unknown));
    }

    [Fact]
    public void Every_precondition_is_understood_by_the_profiles()
    {
        foreach (var i in Catalog.Load().All)
            foreach (var p in i.Preconditions)
                foreach (var prof in TargetProfile.BuiltIn)
                {
                    prof.Satisfies(p, out var why);
                    Assert.DoesNotContain("unknown precondition", why);
                }
    }

    [Fact]
    public void Ambiguities_file_exists_and_names_catalog_ids()
    {
        var text = File.ReadAllText(Path.Combine(Root, "spec", "ambiguities.md"));
        Assert.Contains("AMB-1", text);
        Assert.Contains("VB2-OWN-6", text);
    }
}
