using System.Text.RegularExpressions;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Conformance.Spec;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// What a failure leaves behind: the text, KTAP, replay file and C reproducer of a fixed seed against a
/// fixed broken variant (golden files), replay files that round-trip and reproduce, corrupt ones that are
/// refused with exit 2, and C reproducers that gcc -Wall accepts for every op the suite has.
/// </summary>
public class CounterexampleTests
{
    private static readonly Catalog Cat = Catalog.Load();

    /// <summary>One broken-variant run into a fresh directory; paths and durations normalised so the output is stable.</summary>
    private sealed class Run
    {
        public readonly string Dir = Directory.CreateTempSubdirectory("conformance-cx").FullName;
        public readonly int Exit;
        public readonly string Text;
        public Run(params string[] args)
        {
            var sw = new StringWriter();
            Exit = Program.Run([.. args, "--out", Dir], sw);
            Text = sw.ToString();
        }
        public string Normalise(string s) => Regex.Replace(s.Replace(Dir, "OUT").Replace("\r", "").Replace(SuiteVersion.Text, "VERSION"), @"in \d+(\.\d+)? s\b", "in T s");
        public string File(string rel) => Normalise(System.IO.File.ReadAllText(Path.Combine(Dir, rel)));
        public string Path_(string rel) => Path.Combine(Dir, rel);
    }

    private static readonly Lazy<Run> Llseek = new(() => new Run("--target", "broken:llseek-seek-cur", "--property", "lockstep"));
    private const string CxDir = "counterexamples/broken_llseek-seek-cur/";

    private static void Golden(string name, string actual)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "golden", name);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(Path.Combine(Repo.Root, "selftests", "golden", name), actual);
            return;
        }
        Assert.Equal(File.ReadAllText(path), actual);
    }

    [Fact]
    public void A_reproducers_expected_text_folds_a_run_of_counts_into_a_range()
    {
        var granted = Enumerable.Range(1, 32).Select(n => $"0, count = {n}, capabilities = MMAP|DMABUF").ToList();
        Assert.Equal("0, count = 1..32, capabilities = MMAP|DMABUF", CReproducer.Alternatives(granted));
        // two texts, texts differing in more than one number, or numbers not one apart: as they are
        Assert.Equal("0, index = 0 or 0, index = 1", CReproducer.Alternatives(["0, index = 0", "0, index = 1"]));
        Assert.Equal("0 or -1 EINVAL", CReproducer.Alternatives(["0", "-1 EINVAL"]));
        Assert.Equal("0, a = 1, b = 1 or 0, a = 2, b = 2 or 0, a = 3, b = 3", CReproducer.Alternatives(["0, a = 1, b = 1", "0, a = 2, b = 2", "0, a = 3, b = 3"]));
        Assert.Equal("0, count = 1..3 or -1 ENOMEM or 0, count = 8", CReproducer.Alternatives(["0, count = 1", "0, count = 2", "0, count = 3", "-1 ENOMEM", "0, count = 8"]));
    }

    [Fact]
    public void Counterexample_text_matches_the_golden_file()
    {
        var r = Llseek.Value;
        Assert.Equal(1, r.Exit);
        var block = r.Normalise(r.Text[r.Text.IndexOf("FAIL DMABUF-LLSEEK-3:")..(r.Text.IndexOf("totals:"))]);
        Golden("llseek-seek-cur.txt", block);
    }

    [Fact]
    public void Ktap_results_match_the_golden_file_and_are_valid_ktap()
    {
        var ktap = Llseek.Value.File("results.ktap");
        Assert.Empty(KtapChecker.Check(ktap));
        Golden("llseek-seek-cur.ktap", ktap);
    }

    [Fact]
    public void C_reproducer_and_replay_file_match_the_golden_files()
    {
        Golden("llseek-seek-cur.c", Llseek.Value.File(CxDir + "lockstep-DMABUF-LLSEEK-3.c"));
        Golden("llseek-seek-cur.replay.json", Llseek.Value.File(CxDir + "lockstep-DMABUF-LLSEEK-3.replay.json"));
    }

    [Fact]
    public void The_golden_c_reproducer_compiles_without_warnings_at_Wall()
    {
        var errors = CCompile.Check(File.ReadAllText(Llseek.Value.Path_(CxDir + "lockstep-DMABUF-LLSEEK-3.c")));
        Assert.True(errors == null, errors);
    }

    [Fact]
    public void A_replay_file_reproduces_its_failure_every_time_and_round_trips_unchanged()
    {
        var path = Llseek.Value.Path_(CxDir + "lockstep-DMABUF-LLSEEK-3.replay.json");
        var rf = ReplayFile.Load(path);
        Assert.Equal(File.ReadAllText(path), rf.ToJson());
        Assert.Equal("DMABUF-LLSEEK-3", rf.Invariant);
        Assert.Equal(rf.Steps.Count, rf.FailingStep);
        Assert.Equal(10, rf.Reproduced);
        var sw = new StringWriter();
        Assert.Equal(1, Program.Run(["--replay", path, "--repro-runs", "3"], sw));
        Assert.Contains("# reproduced: DMABUF-LLSEEK-3 failed again in 3 of 3 runs", sw.ToString());
        // the same steps on the good model: the documentation holds, nothing to reproduce
        var good = Path.Combine(Llseek.Value.Dir, "good.replay.json");
        File.WriteAllText(good, (rf with { Target = "model" }).ToJson());
        var sw2 = new StringWriter();
        Assert.Equal(0, Program.Run(["--replay", good, "--repro-runs", "2"], sw2));
        Assert.Contains("did not reproduce", sw2.ToString());
    }

    public static TheoryData<string, string, string> Corruptions => new()
    {
        { "not JSON", "{\"format\": ", "not valid JSON" },
        { "another format", "{\"format\": \"conformance-replay/9\"}", "is not one this suite reads" },
        { "unknown op", "\"op\": \"Llseek\"|\"op\": \"Frobnicate\"", "unknown op \"Frobnicate\"" },
        { "missing argument", "\"Whence\": 1|\"Wence\": 1", "has no \"Whence\"" },
        { "handle from nowhere", "\"Fd\": 10|\"Fd\": 42", "uses v42, which no earlier step creates" },
        { "bad errno", "\"errno\": \"EINVAL\"|\"errno\": \"EWHATEVER\"", "unknown errno \"EWHATEVER\"" },
        { "read-only argument on an op without one", "\"op\": \"Llseek\",|\"op\": \"Llseek\", \"readOnlyArg\": true,",
            "only an ioctl that writes the fd it creates into its argument takes a read-only one" },
        { "unknown target", "\"kind\": \"broken:llseek-seek-cur\"|\"kind\": \"broken:no-such\"", "unknown broken variant 'no-such'" },
        { "unknown invariant", "\"invariant\": \"DMABUF-LLSEEK-3\"|\"invariant\": \"DMABUF-LLSEEK-99\"", "not in this suite's catalog" },
        { "step out of range", "\"step\": 3|\"step\": 40", "\"step\" must be a whole number" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_corrupt_or_mismatched_replay_file_is_refused_with_a_clear_error_and_exit_2(string what, string edit, string message)
    {
        var original = File.ReadAllText(Llseek.Value.Path_(CxDir + "lockstep-DMABUF-LLSEEK-3.replay.json"));
        string text;
        if (edit.Contains('|'))
        {
            var (from, to) = (edit.Split('|')[0], edit.Split('|')[1]);
            Assert.True(original.Contains(from), $"{what}: the golden replay file has no '{from}'");
            text = new Regex(Regex.Escape(from)).Replace(original, to, 1);
        }
        else text = edit;
        var path = Path.Combine(Llseek.Value.Dir, $"corrupt-{what.Replace(' ', '-')}.json");
        File.WriteAllText(path, text);
        var (code, err) = RunMain(["--replay", path]);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
    }

    [Fact]
    public void A_replay_on_another_kind_of_target_is_refused_with_exit_2()
    {
        var path = Llseek.Value.Path_(CxDir + "lockstep-DMABUF-LLSEEK-3.replay.json");
        var (code, err) = RunMain(["--replay", path, "--target", "model"]);
        Assert.Equal(2, code);
        Assert.Contains("was recorded on target 'broken:llseek-seek-cur', not 'model'", err);
        var (code2, err2) = RunMain(["--replay", Path.Combine(Llseek.Value.Dir, "missing.json")]);
        Assert.Equal(2, code2);
        Assert.Contains("no such file", err2);
    }

    private static (int, string) RunMain(string[] args)
    {
        var (code, _, err) = MainRunner.Run(args);
        return (code, err);
    }

    /// <summary>Sequences from every area on the model, written as C: every op the suite has must appear and compile.</summary>
    [Fact]
    public void Every_op_has_a_c_form_that_compiles_without_warnings_and_its_json_round_trips()
    {
        // every 8th sequence on an output node with write() I/O, whose op (VideoWrite) a capture node never draws, every 8th on
        // a stateful encoder, whose op (EncoderCmd) no other node draws, and every 8th on a stateful decoder (WriteFrame, steered
        // through its source change: the generated seed is 2 mod 4)
        var targets = new[] { TargetProfile.VividLike, TargetProfile.VividOutput, TargetProfile.VicodecEncoderLike, TargetProfile.VicodecDecoderLike }
            .Select(p => (Gen: new SequenceGenerator(p) { SlowOps = true }, Model: new ReferenceModel(p), Site: new RunSite("model", p.Name, p, null, null, RunSite.DefaultPaths(p))))
            .ToArray();
        var cli = Program.Parse([]);
        var seen = new HashSet<Type>();
        var sources = new List<string>();
        var lockstep = new LockstepProperty();
        for (ulong seed = 1; seed <= 400 && sources.Count < 400; seed++)
        {
            var (gen, model, site) = targets[seed % 8 == 5 ? 1 : seed % 8 == 6 ? 2 : seed % 8 == 2 ? 3 : 0];
            var seq = seed % 4 == 0 ? AliasingProperty.Scenario(gen, seed * 104729) : gen.Generate(seed * 7919, 50);
            var before = seen.Count;
            foreach (var op in seq.Ops)
            {
                seen.Add(op.GetType());
                var back = OpJson.FromJson(OpJson.ToJson(op), "test");
                Assert.Equal(OpJson.ToJson(op).ToJsonString(), OpJson.ToJson(back).ToJsonString());
                Assert.Equal(op.Text, back.Text);
            }
            if (seen.Count == before && seed > 40) continue;
            lockstep.Trace(seq, model, null, out var steps);
            var rf = Counterexamples.Sample(site, cli, "lockstep", seed, 1, steps, "test");
            Assert.Equal(rf.ToJson(), ReplayFile.Parse(rf.ToJson()).ToJson());
            sources.Add(CReproducer.Write(rf));
        }
        Assert.Empty(DomainRegistry.OpTypes.Except(seen).Select(t => t.Name));
        // one compiler run per program would take minutes: compile them as one translation unit each in a batch
        var errors = CCompile.CheckMany(sources);
        Assert.True(errors == null, errors);
    }
}

/// <summary>gcc -Wall -Werror against the lab kernel's 6.12 uapi headers (lab/uapi-include.sh).</summary>
public static class CCompile
{
    private static readonly Lazy<string> Include = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), $"conformance-uapi-{Environment.ProcessId}");
        UapiHeaders.Install(dir);
        return dir;
    });

    public static string? Check(string source) => CheckMany([source]);

    /// <summary>Null when every source compiles cleanly; else the first failure with gcc's messages.</summary>
    public static string? CheckMany(IReadOnlyList<string> sources)
    {
        var dir = Directory.CreateTempSubdirectory("conformance-cc");
        try
        {
            for (int i = 0; i < sources.Count; i++) File.WriteAllText(Path.Combine(dir.FullName, $"r{i}.c"), sources[i]);
            // make -j compiles them in parallel; each must be warning-free
            var mk = string.Concat(Enumerable.Range(0, sources.Count).Select(i => $"r{i}: r{i}.c\n\tgcc -Wall -Werror -I{Include.Value} -o $@ $<\n"));
            File.WriteAllText(Path.Combine(dir.FullName, "Makefile"), $"all: {string.Join(" ", Enumerable.Range(0, sources.Count).Select(i => $"r{i}"))}\n" + mk);
            var (rc, output, err) = LayoutCheck.Exec("make", $"-s -k -j{Environment.ProcessorCount} -C {dir.FullName}");
            if (rc == 0) return null;
            var bad = Regex.Match(err, @"r(\d+)\.c:").Groups[1].Value;
            return $"gcc failed:\n{err}\n{output}\n--- r{bad}.c ---\n{(bad.Length > 0 ? sources[int.Parse(bad)] : "")}";
        }
        finally { dir.Delete(true); }
    }
}

/// <summary>A counterexample that fails only on some re-runs is labelled FLAKY with its rate, never reported as solid.</summary>
public class FlakyTests
{
    /// <summary>Forwards every call to a broken model on odd fresh states and to a correct one on even ones.</summary>
    public class Alternating : ForwardingProxy<Alternating>
    {
        public ReferenceModel Broken = null!, Good = null!;
        private int _resets;
        protected override object Route(System.Reflection.MethodInfo m, object?[]? args)
        {
            if (m.Name == nameof(IBufferTarget.Reset)) _resets++;
            return (_resets / 2) % 2 == 0 ? Broken : Good;   // Check resets before and after each run
        }
    }

    [Fact]
    public void A_counterexample_that_fails_on_half_the_reruns_is_labelled_flaky_with_its_rate()
    {
        var (target, proxy) = Alternating.Make();
        proxy.Broken = new ReferenceModel(TargetProfile.VividLike, BrokenVariant.Find("llseek-seek-cur")!.Bug);
        proxy.Good = new ReferenceModel(TargetProfile.VividLike);
        var found = Engine.Run("flaky", new ReferenceModel(TargetProfile.VividLike, proxy.Broken.Bug), new RunOptions { Property = "lockstep" }, Catalog.Load());
        var f = found.Findings.Single();
        int again = Engine.Reproduce(f.Property, f.Failure, target, 10);
        Assert.Equal(5, again);
        var flaky = f with { Reproduced = again, ReproRuns = 10 };
        Assert.False(flaky.Deterministic);
        var text = TextReport.Counterexample(found, flaky, Catalog.Load(), "cmd");
        Assert.Contains("FLAKY: failed again in only 5 of 10 re-runs, each from a fresh state", text);
        Assert.Contains("reproduced: failed again in 10 of 10", TextReport.Counterexample(found, f, Catalog.Load(), "cmd"));
    }
}

/// <summary>Every broken variant, through the command line: each failure leaves a replay file that reproduces
/// it and a C reproducer that compiles cleanly (lockstep, release and aliasing counterexamples alike).</summary>
public class EveryVariantTests
{
    public static TheoryData<string> Variants => new(BrokenVariant.All.Select(v => v.Name));

    [Theory]
    [MemberData(nameof(Variants))]
    public void Every_failure_leaves_a_replay_file_that_reproduces_it_and_a_c_reproducer_that_compiles(string variant)
    {
        var dir = Directory.CreateTempSubdirectory("conformance-variant").FullName;
        try
        {
            var sw = new StringWriter();
            Assert.Equal(1, Program.Run(["--target", $"broken:{variant}", "--repro-runs", "2", "--out", dir], sw));
            var replays = Directory.GetFiles(Path.Combine(dir, "counterexamples"), "*.replay.json", SearchOption.AllDirectories);
            // counterexample headers ("FAIL ID: rule"), not verdict lines ("FAIL          ID ... DEVIATES: ...")
            var failures = sw.ToString().Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^FAIL [A-Z][A-Z0-9-]+: "));
            Assert.Equal(failures, replays.Length);
            foreach (var r in replays)
            {
                Assert.True(File.Exists(r.Replace(".replay.json", ".c")));
                var rf = ReplayFile.Load(r);
                var run = new StringWriter();
                Assert.True(Program.Run(["--replay", r, "--repro-runs", "2"], run) == 1, run.ToString());
                Assert.Contains($"# reproduced: {rf.Invariant} failed again in 2 of 2 runs", run.ToString());
            }
            var errors = CCompile.CheckMany(replays.Select(r => File.ReadAllText(r.Replace(".replay.json", ".c"))).ToList());
            Assert.True(errors == null, errors);
            Assert.Empty(KtapChecker.Check(File.ReadAllText(Path.Combine(dir, "results.ktap"))));
        }
        finally { Directory.Delete(dir, true); }
    }
}
