using Conformance.Adapters;
using Conformance.Adapters.Kernel;
using Conformance.Adapters.Model;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Conformance.Spec;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// DMABUF-LIFE-4 (kernel memory left allocated after a property's sequences) judged by the engine around each property, from
/// snapshots a test hands it: growth is a FAIL with the chains as its evidence, growth a known issue explains every chain of
/// is KNOWN (never a pass), no growth is a PASS counted per sequence, and a target that does not track allocations SKIPs it.
/// </summary>
public class KernelMemoryTests
{
    private const string SgTable = "kmalloc-16: get_sg_table <- begin_cpu_udmabuf <- dma_buf_begin_cpu_access <- dma_buf_ioctl";
    private const string HeapAttach = "kmalloc-64: system_heap_attach <- dma_buf_dynamic_attach <- dma_buf_attach";

    private static readonly TargetProfile Tracked = TargetProfile.VividLike with { Name = "kernel:tracked", Kernel = "6.12.118+deb12-amd64", MemoryUntracked = null };

    /// <summary>A snapshot source whose chain counts grow by the given amounts at every call after the first.</summary>
    private static Func<AllocTraces.Snapshot?> Growing(params (string Chain, long PerCall)[] chains)
    {
        int calls = 0;
        return () =>
        {
            var live = new Dictionary<string, long> { ["kmalloc-32: dma_resv_init <- dma_buf_export"] = 4 };
            foreach (var (chain, per) in chains) live[chain] = 1 + per * calls;
            calls++;
            return new AllocTraces.Snapshot(live, 2);
        };
    }

    private static SuiteResult Run(TargetProfile profile, MemoryWatch? watch) =>
        Engine.Run("test", new ReferenceModel(profile), new RunOptions { Sequences = 20, Property = "release", Memory = watch }, Catalog.Load());

    private static InvariantResult LifeFreed(SuiteResult r) => r.Invariants.Single(i => i.Invariant.Id == Inv.LifeFreed);

    [Fact]
    public void Kernel_memory_that_grew_over_a_property_fails_DMABUF_LIFE_4_with_the_chain_as_evidence()
    {
        var r = Run(Tracked, new MemoryWatch(Growing((SgTable, 2)), TimeSpan.Zero));
        var v = LifeFreed(r);
        Assert.Equal(Verdict.Fail, v.Verdict);
        Assert.Contains("after the release property's 20 sequences", v.Reason);
        Assert.Contains($"+2 {SgTable} (1 live before)", v.Reason);
        Assert.True(r.Failed);
        Assert.Equal(20, v.Exercised);
        var line = TextReport.Invariants(r).Split('\n').Single(l => l.Contains(Inv.LifeFreed));
        Assert.StartsWith("FAIL", line);
        Assert.Contains("get_sg_table <- begin_cpu_udmabuf", line);
    }

    [Fact]
    public void Growth_a_known_issue_explains_is_known_and_growth_it_does_not_explain_stays_a_failure()
    {
        var list = KnownIssueList.BuiltIn(Catalog.Load());
        var known = Run(Tracked, new MemoryWatch(Growing((SgTable, 1)), TimeSpan.Zero, KnownIssues.LeakClassifier(Tracked, list)));
        var v = LifeFreed(known);
        Assert.Equal(Verdict.Known, v.Verdict);
        Assert.Equal("udmabuf-sync-start-leak", Assert.Single(v.Known).Id);
        Assert.False(known.Failed);
        Assert.True(known.HasKnown);

        // a second chain the entry does not name: FAIL
        var mixed = Run(Tracked, new MemoryWatch(Growing((SgTable, 1), (HeapAttach, 1)), TimeSpan.Zero, KnownIssues.LeakClassifier(Tracked, list)));
        Assert.Equal(Verdict.Fail, LifeFreed(mixed).Verdict);
        // the same chain on a target without udmabuf: FAIL
        var noUdmabuf = Tracked with { UdmabufDevice = null };
        var elsewhere = Run(noUdmabuf, new MemoryWatch(Growing((SgTable, 1)), TimeSpan.Zero, KnownIssues.LeakClassifier(noUdmabuf, list)));
        Assert.Equal(Verdict.Fail, LifeFreed(elsewhere).Verdict);
        // a kernel before the range: FAIL
        var old = Tracked with { Kernel = "5.15.0" };
        Assert.Equal(Verdict.Fail, LifeFreed(Run(old, new MemoryWatch(Growing((SgTable, 1)), TimeSpan.Zero, KnownIssues.LeakClassifier(old, list)))).Verdict);
    }

    [Fact]
    public void Nothing_left_behind_passes_counted_per_sequence_and_an_untracked_target_skips_with_the_reason()
    {
        var pass = Run(Tracked, new MemoryWatch(Growing(), TimeSpan.Zero));
        Assert.Equal((Verdict.Pass, 20L), (LifeFreed(pass).Verdict, LifeFreed(pass).Exercised));
        Assert.Contains("no allocating chain on the dma-buf paths holds more live objects", Assert.Single(pass.Properties).Memory!.ToString());

        var model = Run(TargetProfile.VividLike, null);
        var skip = LifeFreed(model);
        Assert.Equal(Verdict.Skip, skip.Verdict);
        Assert.Contains("the reference model allocates no kernel memory", skip.Reason);
        Assert.Null(Assert.Single(model.Properties).Memory);
    }
}
