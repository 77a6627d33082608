using Conformance.Adapters;
using Conformance.Adapters.Kernel;
using Conformance.Adapters.Model;
using Conformance.Generators;
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

    /// <summary>A snapshot source whose chain counts grow by the given amounts at every snapshot of every cache after the
    /// first, and never between two snapshots of a few caches: growth over a whole run that no single sequence repeats (a race).</summary>
    private static Func<IReadOnlyCollection<string>?, AllocTraces.Snapshot?> Growing(params (string Chain, long PerCall)[] chains)
    {
        int calls = 0;
        return only =>
        {
            var live = new Dictionary<string, long> { ["kmalloc-32: dma_resv_init <- dma_buf_export"] = 4 };
            foreach (var (chain, per) in chains) live[chain] = 1 + per * calls;
            if (only == null) calls++;
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
        // the reports carry the verdict without a counterexample: KTAP's XFAIL with the chains, JUnit's known-issue failure,
        // JSON's status and reason
        var site = new RunSite("model", "kernel:tracked", Tracked, "/dev/udmabuf", "udmabuf", RunSite.DefaultPaths(Tracked));
        var unit = Results.Unit("udmabuf", "/dev/udmabuf", site, known, Program.Parse([]), Catalog.Load(), Directory.CreateTempSubdirectory().FullName, _ => "");
        var ktap = KtapReport.Build([unit], Catalog.Load());
        Assert.Contains(ktap.Split('\n'), l => l.Contains($"DMABUF-LIFE-4 # XFAIL known kernel issue udmabuf-sync-start-leak"));
        Assert.Contains($"(after the release property's 20 sequences, still allocated 0 s later: +1 {SgTable} (1 live before))", ktap);
        var junit = JUnitReport.Build(known, _ => "").ToString();
        Assert.Contains("type=\"known-issue\"", junit);
        Assert.Contains("+1 kmalloc-16: get_sg_table &lt;- begin_cpu_udmabuf", junit);
        var doc = System.Text.Json.Nodes.JsonNode.Parse(JsonReport.Build([unit], Catalog.Load()))!;
        var life = doc["units"]![0]!["invariants"]!.AsArray().Single(i => (string?)i!["id"] == Inv.LifeFreed)!;
        Assert.Equal(("known", "udmabuf-sync-start-leak"), ((string?)life["status"], (string?)life["known"]![0]));
        Assert.Contains($"+1 {SgTable}", (string?)life["reason"]);

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

    /// <summary>A run handed the snapshot the run before it ended with (the device before, in a kernel run) starts from it:
    /// the first property takes no snapshot of its own and judges growth against it; the run hands on its last check's
    /// snapshot, and none after growth (the hunt's sequences moved the state on).</summary>
    [Fact]
    public void A_run_starts_from_the_snapshot_handed_to_it_and_hands_on_its_last()
    {
        int taken = 0;
        var steady = new AllocTraces.Snapshot(new Dictionary<string, long> { [SgTable] = 3 }, 2);
        Func<IReadOnlyCollection<string>?, AllocTraces.Snapshot?> take = _ => { taken++; return steady; };
        var r = Engine.Run("test", new ReferenceModel(Tracked), new RunOptions { Sequences = 5, Memory = new MemoryWatch(take, TimeSpan.Zero) { Before = steady } }, Catalog.Load());
        int checks = r.Properties.Count(p => p.Memory != null);
        Assert.True(checks >= 2, string.Join(", ", r.Properties.Select(p => p.Property.Name)));
        Assert.Equal(checks, taken);   // one after each property's sequences, none before the first
        Assert.Same(steady, r.MemoryAfter);
        Assert.Equal(Verdict.Pass, LifeFreed(r).Verdict);

        // handed a snapshot with less live: what the first property's check finds is growth over it, and nothing is handed on
        var earlier = new AllocTraces.Snapshot(new Dictionary<string, long> { [SgTable] = 1 }, 2);
        var grew = Run(Tracked, new MemoryWatch(take, TimeSpan.Zero) { Before = earlier });
        Assert.Equal(Verdict.Fail, LifeFreed(grew).Verdict);
        Assert.Contains($"+2 {SgTable} (1 live before)", LifeFreed(grew).Reason);
        Assert.Null(grew.MemoryAfter);

        // without one, the first property takes its own, as before
        taken = 0;
        var own = Engine.Run("test", new ReferenceModel(Tracked), new RunOptions { Sequences = 5, Memory = new MemoryWatch(take, TimeSpan.Zero) }, Catalog.Load());
        Assert.Equal(own.Properties.Count(p => p.Memory != null) + 1, taken);
    }

    /// <summary>An exporter that forgets what its first SYNC START allocated (the conformance_heap module's bug=cpuleak, played
    /// by the model with a snapshot that counts the STARTs it let through): the growth over the release property's run is
    /// traced to one sequence, shrunk to the allocation and the one SYNC, and re-run 10 of 10 from a fresh state.</summary>
    [Fact]
    public void A_sequence_that_leaks_on_its_own_is_found_among_the_property_s_sequences_and_shrunk()
    {
        const string CpuChain = "kmalloc-16: ch_begin_cpu_access <- dma_buf_begin_cpu_access <- dma_buf_ioctl";
        long leaked = 0;
        var target = TracingTarget.Wrap(new ReferenceModel(Tracked), line =>
        {
            // trace: DmaBufSync(FD, FLAGS) = 0 [...]: a START (flags without DMA_BUF_SYNC_END) that succeeded
            if (line.StartsWith("trace: DmaBufSync(", StringComparison.Ordinal) && line.Contains(") = 0 ", StringComparison.Ordinal)
                && (ulong.Parse(line.Split(", ")[1].Split(')')[0]) & Uapi.DMA_BUF_SYNC_END) == 0) leaked++;
        });
        Func<IReadOnlyCollection<string>?, AllocTraces.Snapshot?> take = _ => new AllocTraces.Snapshot(new Dictionary<string, long> { [CpuChain] = leaked }, 1);
        var r = Engine.Run("test", target, new RunOptions { Sequences = 100, Property = "release", Memory = new MemoryWatch(take, TimeSpan.Zero) }, Catalog.Load());

        Assert.Equal(Verdict.Fail, LifeFreed(r).Verdict);
        var f = Assert.Single(r.Findings, f => f.Failure.InvariantId == Inv.LifeFreed);
        Assert.Equal("kernel-memory", f.Property.Name);
        Assert.Equal(-1, f.Failure.StepIndex);
        Assert.StartsWith($"+1 {CpuChain}", f.Failure.Actual);
        Assert.Single(f.Failure.Steps, s => s.Op is DmaBufSync);
        Assert.True(f.Failure.Steps.Count <= 3, string.Join("\n", f.Failure.Steps.Select(s => s.Op.Text)));
        Assert.Equal((10, 10), (f.Reproduced, f.ReproRuns));

        // with every property: once one leaks with a counterexample, the rule is settled and the properties after it are not
        // waited on (their sequences leak too)
        var all = Engine.Run("test", target, new RunOptions { Sequences = 30, Memory = new MemoryWatch(take, TimeSpan.Zero) }, Catalog.Load());
        Assert.Single(all.Findings, f => f.Failure.InvariantId == Inv.LifeFreed);
        var first = all.Properties.ToList().FindIndex(p => p.Memory is { Grown.Count: > 0 });
        Assert.True(first >= 0 && all.Properties.Skip(first + 1).All(p => p.Memory == null), string.Join(", ", all.Properties.Select(p => $"{p.Property.Name}: {p.Memory}")));

        // its replay file names the kernel-memory property, and its C reproducer ends with the memory check, compiled clean
        var site = new RunSite("model", "kernel:tracked", Tracked, null, null, RunSite.DefaultPaths(Tracked));
        var rf = Counterexamples.WithFailure(Counterexamples.Sample(site, Program.Parse([]), f.Property.Name, 1, 1, f.Failure.Steps, "test"), f.Failure, Catalog.Load());
        var back = ReplayFile.Parse(rf.ToJson());
        Assert.Equal("kernel-memory", back.Property);
        var c = CReproducer.Write(back);
        Assert.Contains("\tint tracked = take_chains(&chains_before);\n", c);
        Assert.Contains($"\tcleanup();\n\treturn memory_check({f.Failure.Steps.Count + 1}, tracked);\n", c);
        var errors = CCompile.Check(c);
        Assert.True(errors == null, errors);
    }

    /// <summary>The kernel-memory property alone on the model judges nothing (the model allocates no kernel memory): not
    /// green, exit 1, and the run says why.</summary>
    [Fact]
    public void A_run_that_judged_nothing_exits_1_and_says_so()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var output = new StringWriter();
        Assert.Equal(1, Program.Run(["--property", "kernel-memory", "--sequences", "5", "--out", dir], output));
        Assert.Contains("# nothing was judged: every selected invariant was skipped or not exercised", output.ToString());
        Assert.Contains("SKIP          DMABUF-LIFE-4        the reference model allocates no kernel memory", output.ToString());
    }

    /// <summary>Memory held by dma-bufs that were never released (close-leaks-dmabuf: DMABUF-LIFE-3's bug) is not this rule's:
    /// the release property reports the leak, and DMABUF-LIFE-4 is not judged after a property whose buffers outlived it.</summary>
    [Fact]
    public void Growth_while_dma_bufs_are_still_alive_is_left_to_DMABUF_LIFE_3()
    {
        var r = Engine.Run("test", new ReferenceModel(Tracked, ModelBug.CloseLeaksDmaBuf),
            new RunOptions { Sequences = 20, Property = "release", Memory = new MemoryWatch(Growing((SgTable, 1)), TimeSpan.Zero) }, Catalog.Load());
        Assert.Contains(r.Findings, f => f.Failure.InvariantId == Inv.LifeRelease);
        Assert.DoesNotContain(r.Findings, f => f.Failure.InvariantId == Inv.LifeFreed);
        Assert.Null(Assert.Single(r.Properties).Memory);
        Assert.NotEqual(Verdict.Fail, LifeFreed(r).Verdict);
    }

    /// <summary>Dma-bufs that outlive a property's sequences fail DMABUF-LIFE-3 even where no property counts them per sequence
    /// (the lab's bug=leak run: lockstep's leaks used up the memory the release property then could not allocate).</summary>
    [Fact]
    public void Dma_bufs_left_alive_over_a_property_fail_DMABUF_LIFE_3_without_a_counterexample()
    {
        var r = Engine.Run("test", new ReferenceModel(TargetProfile.VividLike, ModelBug.CloseLeaksDmaBuf), new RunOptions { Sequences = 20, Property = "aliasing" }, Catalog.Load());
        var life3 = r.Invariants.Single(i => i.Invariant.Id == Inv.LifeRelease);
        Assert.DoesNotContain(r.Findings, f => f.Failure.InvariantId == Inv.LifeRelease);
        Assert.True(Assert.Single(r.Properties).DmaBufsLeft > 0);
        Assert.Equal(Verdict.Fail, life3.Verdict);
        Assert.Contains("after the aliasing property's 20 sequences", life3.Reason);
        Assert.True(r.Failed);
    }

    /// <summary>Only chains allocated for a dma-buf are judged: a video queue's own buffer memory that a driver keeps (the lab's
    /// conformance_vcap bug=keepowner, VB2-OWN-9's bug) is not DMABUF-LIFE-4's.</summary>
    [Fact]
    public void A_video_queue_s_own_memory_is_not_a_dma_buf_s()
    {
        Assert.True(AllocTraces.ForDmaBuf(new AllocTraces.Growth(SgTable, 0, 1).Frames));
        Assert.True(AllocTraces.ForDmaBuf(["ch_begin_cpu_access", "dma_buf_begin_cpu_access", "dma_buf_ioctl"]));
        Assert.False(AllocTraces.ForDmaBuf(["vb2_core_allocated_buffers_storage", "vb2_core_create_bufs", "vb2_ioctl_create_bufs"]));
        Assert.False(AllocTraces.ForDmaBuf(["__vmalloc_node_range_noprof", "vmalloc_user_noprof", "vb2_vmalloc_alloc", "__vb2_queue_alloc"]));
        var kept = "kmalloc-256: vb2_core_allocated_buffers_storage <- vb2_core_create_bufs <- vb2_ioctl_create_bufs";
        var r = Run(Tracked, new MemoryWatch(Growing((kept, 1)), TimeSpan.Zero));
        Assert.Equal(Verdict.Pass, LifeFreed(r).Verdict);
    }
}
