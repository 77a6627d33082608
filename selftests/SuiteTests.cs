using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Conformance.Spec;
using Xunit;
using Xunit.Abstractions;

namespace Conformance.SelfTests;

public class SuiteTests(ITestOutputHelper output)
{
    private static readonly Catalog Cat = Catalog.Load();

    [Fact]
    public void The_reference_model_passes_the_default_run_and_every_runnable_invariant_is_exercised()
    {
        var r = Engine.Run("model", new ReferenceModel(TargetProfile.VividLike), new RunOptions(), Cat);
        Assert.False(r.Failed, string.Join("\n", r.Findings.Select(p => TextReport.Steps(p.Failure))));
        var missing = r.Invariants.Where(i => i.Verdict == Verdict.NotExercised).Select(i => i.Invariant.Id).ToList();
        Assert.True(missing.Count == 0, "not exercised: " + string.Join(", ", missing));
        Assert.All(r.Invariants.Where(i => i.Verdict == Verdict.Skip), i => Assert.False(string.IsNullOrEmpty(i.Reason)));
    }

    [Fact]
    public void A_capability_the_profile_lacks_is_a_skip_with_its_reason_never_a_pass()
    {
        var r = Engine.Run("model", new ReferenceModel(TargetProfile.VividLike), new RunOptions { Sequences = 50 }, Cat);
        var orphan = r.Invariants.Single(i => i.Invariant.Id == "VB2-REQBUFS-6");
        Assert.Equal(Verdict.Skip, orphan.Verdict);
        Assert.Contains("ORPHANED_BUFS", orphan.Reason);
        var legacy = Engine.Run("model", new ReferenceModel(TargetProfile.LegacyVb2), new RunOptions { Sequences = 400, Areas = ["vb2"] }, Cat);
        Assert.Equal(Verdict.Skip, legacy.Invariants.Single(i => i.Invariant.Id == "VB2-REQBUFS-7").Verdict);
        Assert.NotEqual(Verdict.Skip, legacy.Invariants.Single(i => i.Invariant.Id == "VB2-REQBUFS-6").Verdict);
        Assert.False(legacy.Failed);
    }

    [Fact]
    public void On_udmabuf_alone_the_rules_no_call_of_it_can_reach_are_skips_with_their_reason()
    {
        // udmabuf's own unit, as discovery makes it: every dma-buf is O_RDWR and UDMABUF_CREATE returns its fd
        var unit = new TargetProfile("kernel:/dev/udmabuf", "6.12.118", [], [], "udmabuf", 64L << 20);
        var r = Engine.Run("model", new ReferenceModel(unit), new RunOptions { Sequences = 100, Areas = ["udmabuf", "dmabuf"] }, Cat);
        foreach (var id in new[] { "DMABUF-MMAP-3", "DMABUF-MMAP-4", "DMABUF-FAIL-1" })
        {
            var v = r.Invariants.Single(i => i.Invariant.Id == id);
            Assert.Equal(Verdict.Skip, v.Verdict);
            Assert.Contains(id == "DMABUF-FAIL-1" ? "returns its fd" : "O_RDWR", v.Reason);
        }
        // where a heap is, they are judged
        var heap = Engine.Run("model", new ReferenceModel(TargetProfile.VividLike), new RunOptions { Sequences = 300, Areas = ["heap", "dmabuf"] }, Cat);
        Assert.All(heap.Invariants.Where(i => i.Invariant.Id is "DMABUF-MMAP-3" or "DMABUF-MMAP-4" or "DMABUF-FAIL-1"), i => Assert.Equal(Verdict.Pass, i.Verdict));
    }

    public static TheoryData<string> Variants => new(BrokenVariant.All.Select(v => v.Name));

    [Theory]
    [MemberData(nameof(Variants))]
    public void Each_broken_variant_is_caught_and_shrunk_to_its_known_minimal_length_and_the_rest_is_still_judged(string name)
    {
        var v = BrokenVariant.Find(name)!;
        var r = Engine.Run($"broken:{name}", v.Model(TargetProfile.BuiltIn.Single(p => p.Name == v.Profile)), new RunOptions(), Cat);
        Assert.True(r.Failed, $"{name} was not caught within the default budget");
        // every break has a counterexample of its own, each minimal
        foreach (var b in v.Breaks)
        {
            var hit = r.Findings.Where(p => p.Failure.InvariantId == b.Invariant).ToList();
            Assert.True(hit.Count > 0, $"{name}: failures cite {string.Join(", ", r.Findings.Select(p => p.Failure.InvariantId))}, expected {b.Invariant}");
            var best = hit.MinBy(p => p.Failure.Steps.Count)!;
            output.WriteLine(TextReport.Steps(best.Failure));
            Assert.Equal(b.MinimalSteps, best.Failure.Steps.Count);
            Assert.Equal(Verdict.Fail, r.Invariants.Single(i => i.Invariant.Id == b.Invariant).Verdict);
        }
        // a bug does not stop the run: at most 5% of the invariants that apply go unjudged
        var applicable = r.Invariants.Count(i => i.Verdict != Verdict.Skip);
        var unjudged = r.Invariants.Where(i => i.Verdict == Verdict.NotExercised).Select(i => i.Invariant.Id).ToList();
        Assert.True(unjudged.Count <= applicable / 20, $"{name}: {unjudged.Count} of {applicable} not exercised: {string.Join(", ", unjudged)}");
    }

    [Fact]
    public void The_same_seed_generates_the_same_sequence()
    {
        var g = new SequenceGenerator(TargetProfile.VividLike);
        var a = g.Generate(12345, 60);
        var b = new SequenceGenerator(TargetProfile.VividLike).Generate(12345, 60);
        Assert.Equal(a.Ops.Select(o => o.Text), b.Ops.Select(o => o.Text));
        Assert.NotEqual(a.Ops.Select(o => o.Text), g.Generate(12346, 60).Ops.Select(o => o.Text));
    }

    [Fact]
    public void The_printed_replay_command_reproduces_the_same_counterexample()
    {
        var sw = new StringWriter();
        var dir = Directory.CreateTempSubdirectory().FullName;
        Assert.Equal(1, Program.Run(["--target", "broken:non-owner-reqbufs", "--out", dir], sw));
        var text = sw.ToString();
        var replay = text.Split('\n').Single(l => l.TrimStart().StartsWith("replay: ")).Trim()["replay: ./run-suite.sh ".Length..];
        var sw2 = new StringWriter();
        Assert.Equal(1, Program.Run([.. Shell.Words(replay)], sw2));
        // the same counterexample: every step and verdict line (the replay's files go to its own folder)
        IEnumerable<string> Steps(string s) => s[s.IndexOf("FAIL VB2-OWN-1:")..s.IndexOf("  replay:")].Split('\n').Skip(6)
            .Where(l => !l.Contains("replay file:") && !l.Contains("C reproducer:"));
        Assert.Equal(Steps(text), Steps(sw2.ToString()));
        Assert.Contains($"--out {dir}/replays/lockstep-VB2-OWN-1", replay);
    }

    private static string FindSelftests()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "Conformance.SelfTests.csproj"))) d = d.Parent;
        return d!.FullName;
    }

    [Theory]
    [InlineData(new[] { "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "--target", "nonsense" }, "unknown target")]
    [InlineData(new[] { "--target", "broken:nope" }, "unknown broken variant")]
    [InlineData(new[] { "--target", "kernel", "--device", "/nonexistent/video9" }, "no such file or directory")]
    [InlineData(new[] { "--target", "kernel", "--device", "/tmp" }, "not a character device (a directory)")]
    [InlineData(new[] { "--target", "kernel", "--device", "/etc/hostname" }, "not a character device (a regular file")]
    [InlineData(new[] { "--target", "kernel", "--device", "/dev/null" }, "not a V4L2, dma-heap, udmabuf or DRM device")]
    [InlineData(new[] { "--device", "/dev/null" }, "/dev/null: not a V4L2, dma-heap, udmabuf or DRM device")]
    [InlineData(new[] { "--target", "model", "--device", "/dev/null" }, "--device names a device of this machine")]
    [InlineData(new[] { "--target", "vm", "--module", "/nonexistent/x.ko" }, "no such file")]
    [InlineData(new[] { "--module", "x.ko" }, "needs --target vm")]
    [InlineData(new[] { "--seed", "1", "--seed", "2" }, "--seed is given more than once")]
    [InlineData(new[] { "--sequences", "5", "--time", "5" }, "both set the budget")]
    [InlineData(new[] { "--area", "" }, "names no area")]
    [InlineData(new[] { "--seed", "-5" }, "--seed takes")]
    [InlineData(new[] { "--sequences", "0" }, "--sequences takes")]
    [InlineData(new[] { "--area", "gpu" }, "unknown area")]
    [InlineData(new[] { "--id", "NOPE-1" }, "unknown invariant ID")]
    [InlineData(new[] { "--profile", "x" }, "unknown profile")]
    [InlineData(new[] { "--seed" }, "--seed needs a value")]
    public void Usage_errors_are_clear_and_exit_2(string[] args, string message)
    {
        var e = Assert.Throws<Program.UsageException>(() => Program.Run(args, TextWriter.Null));
        Assert.Contains(message, e.Message);
        // and the process entry point maps it to exit status 2
        Assert.Equal(2, MainRunner.Run(args).Code);
    }

    [Fact]
    public void Filtering_by_invariant_reports_only_that_invariant()
    {
        var sw = new StringWriter();
        Assert.Equal(0, Program.Run(["--id", "DMABUF-LLSEEK-3", "--sequences", "200", "--out", Directory.CreateTempSubdirectory().FullName], sw));
        var lines = sw.ToString().Split('\n').Where(l => l.StartsWith("PASS") || l.StartsWith("FAIL") || l.StartsWith("SKIP") || l.StartsWith("NOT")).ToList();
        Assert.Single(lines);
        Assert.Contains("DMABUF-LLSEEK-3", lines[0]);
    }

    [Fact]
    public void JUnit_xml_has_one_testcase_per_invariant_and_marks_skips()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        Assert.Equal(0, Program.Run(["--sequences", "100", "--out", dir], TextWriter.Null));
        var doc = System.Xml.Linq.XDocument.Load(Path.Combine(dir, "junit.xml"));
        var cases = doc.Descendants("testcase").ToList();
        Assert.Equal(Cat.All.Count, cases.Count);
        Assert.Contains(cases, c => c.Attribute("name")!.Value == "VB2-REQBUFS-6" && c.Element("skipped") != null);
    }
}

public class PropertiesCanFailTests
{
    /// <summary>Every property, and every op added by the recipe (an <see cref="IoctlOp"/>), is the failing step of some
    /// broken variant's counterexample: each is shown able to fail.</summary>
    [Fact]
    public void Every_property_and_every_described_op_is_shown_to_catch_some_broken_variant()
    {
        var caughtBy = new HashSet<string>();
        var failingOps = new HashSet<Type>();
        foreach (var v in BrokenVariant.All)
        {
            var r = Engine.Run(v.Name, v.Model(TargetProfile.VividLike), new RunOptions(), Catalog.Load());
            foreach (var p in r.Findings)
            {
                caughtBy.Add(p.Property.Name);
                if (p.Failure.StepIndex >= 0) failingOps.Add(p.Failure.Steps[p.Failure.StepIndex].Op.GetType());
            }
        }
        // the kernel-memory property judges kernel allocations, which the model has none of: it is shown catching a leaking
        // exporter in KernelMemoryTests (and the conformance_heap module's bug=cpuleak in the lab)
        foreach (var p in Properties.Properties.All.Where(p => p.RunsByDefault)) Assert.Contains(p.Name, caughtBy);
        var uncaught = DomainRegistry.OpTypes.Where(t => t.IsSubclassOf(typeof(IoctlOp)) && !failingOps.Contains(t)).Select(t => t.Name).ToList();
        Assert.True(uncaught.Count == 0, "ops no broken variant gets wrong (add a ModelBug and a variant in adapters/Model/BrokenVariants.cs): " + string.Join(", ", uncaught));
    }
}
