using System.Text.Json;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>--shard I/N, --merge DIR... and --seed nightly: shards cover a run without overlap and merge into its results.</summary>
public class ShardMergeTests
{
    private static (int Exit, string Output) Run(params string[] args)
    {
        var sw = new StringWriter();
        try { return (Program.Run(args, sw), sw.ToString()); }
        catch (Program.UsageException e) { return (2, e.Message); }
    }

    private static string Fresh(string name) => Path.Combine(Path.GetTempPath(), $"conformance-shard-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}");

    [Theory]
    [InlineData(2, 200, 0)]
    [InlineData(3, 1000, 2)]
    [InlineData(4, 50, 1)]
    [InlineData(7, 3001, 5)]
    public void Every_batch_belongs_to_exactly_one_shard_and_the_shards_add_up_to_the_run(int count, int sequences, int lane)
    {
        var whole = Engine.Batches(new RunOptions { Sequences = sequences }, lane).ToList();
        Assert.Equal(sequences, whole.Sum(b => b.Size));
        var parts = Enumerable.Range(1, count).Select(i => Engine.Batches(new RunOptions { Sequences = sequences, Shard = new Shard(i, count) }, lane).ToList()).ToList();
        Assert.Equal(whole.OrderBy(b => b.Batch), parts.SelectMany(p => p).OrderBy(b => b.Batch));
        // one batch per property: the properties' lanes spread them over the shards
        var single = Enumerable.Range(0, count).Select(l => Enumerable.Range(1, count).Single(i =>
            Engine.Batches(new RunOptions { Sequences = 50, Shard = new Shard(i, count) }, l).Any())).ToList();
        Assert.Equal(count, single.Distinct().Count());
    }

    [Fact]
    public void A_batch_index_is_read_back_from_its_seed()
    {
        foreach (ulong seed in new ulong[] { 1, 20261204, ulong.MaxValue })
            foreach (int b in new[] { 0, 1, 59, 1_000_003 })
                Assert.Equal((ulong)b, Engine.BatchIndex(seed, Engine.BatchSeed(seed, b)));
    }

    [Fact]
    public void Shard_and_seed_options_are_read_or_refused_with_one_line()
    {
        Assert.Equal(new Shard(2, 4), Shard.Parse("2/4", out _));
        foreach (var bad in new[] { "0/2", "3/2", "1/0", "a/b", "1", "1/2/3", "-1/2" })
        {
            Assert.Null(Shard.Parse(bad, out var why));
            Assert.Contains("--shard takes I/N", why);
        }
        Assert.Equal(20261204UL, SuiteCommandLine.SeedFrom("nightly", new DateTime(2026, 12, 4, 23, 59, 0, DateTimeKind.Utc)));
        Assert.Equal(18446744073709551615UL, SuiteCommandLine.SeedFrom("18446744073709551615", DateTime.UtcNow));
        Assert.Throws<Program.UsageException>(() => SuiteCommandLine.SeedFrom("tonight", DateTime.UtcNow));
        Assert.Throws<Program.UsageException>(() => SuiteCommandLine.SeedFrom("-1", DateTime.UtcNow));
        var (exit, text) = Run("--shard", "3/2", "--sequences", "1");
        Assert.Equal(2, exit);
        Assert.Contains("--shard takes I/N", text);
        var nightly = Program.Parse(["--seed", "nightly"]);
        Assert.True(nightly.SeedNightly);
        Assert.Equal(SuiteCommandLine.SeedFrom("nightly", DateTime.UtcNow), nightly.Options.Seed);
    }

    /// <summary>Per unit: every invariant's status and check count, every property's sequences, the totals and the domains'
    /// draws, and per property the invariants it found failing.</summary>
    private static string Coverage(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "results.json")));
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"result {doc.RootElement.GetProperty("result")} totals {doc.RootElement.GetProperty("totals").GetRawText()}");
        foreach (var u in doc.RootElement.GetProperty("units").EnumerateArray())
        {
            sb.AppendLine($"unit {u.GetProperty("name")} {u.GetProperty("result")} sequences {u.GetProperty("sequences")} ops {u.GetProperty("ops")} {u.GetProperty("totals").GetRawText()}");
            foreach (var p in u.GetProperty("properties").EnumerateArray())
                sb.AppendLine($"  property {p.GetProperty("name")} {p.GetProperty("sequences")} failing: " +
                    string.Join(",", p.GetProperty("failures").EnumerateArray().Select(f => f.GetProperty("invariant").GetString()).Order()));
            foreach (var i in u.GetProperty("invariants").EnumerateArray())
                sb.AppendLine($"  {i.GetProperty("id")} {i.GetProperty("status")} {i.GetProperty("checked")}");
            foreach (var d in u.GetProperty("domains").EnumerateArray())
                sb.AppendLine($"  domain {d.GetProperty("name")} {string.Join(",", d.GetProperty("values").EnumerateArray().Select(v => v.GetProperty("generated").GetInt64()))}");
        }
        return sb.ToString();
    }

    [Theory]
    [InlineData("model")]
    [InlineData("broken:llseek-seek-cur")]
    public void Two_shards_merged_equal_the_unsharded_run(string target)
    {
        string whole = Fresh("whole"), one = Fresh("s1"), two = Fresh("s2"), merged = Fresh("merged");
        try
        {
            string[] common = ["--target", target, "--sequences", "150", "--area", "dmabuf", "--repro-runs", "1", "-q"];
            int wholeExit = Run([.. common, "--out", whole]).Exit;
            var (e1, o1) = Run([.. common, "--shard", "1/2", "--out", one]);
            var (e2, _) = Run([.. common, "--shard", "2/2", "--out", two]);
            Assert.Contains("shard 1/2", o1);
            Assert.NotEqual(Coverage(one), Coverage(two));   // each ran its own half
            var (exit, text) = Run("--merge", one, two, "--out", merged);
            Assert.True(wholeExit == exit, text);
            Assert.Contains("merging shards 1, 2 of 2", text);
            if (target == "model") Assert.Equal(Coverage(whole), Coverage(merged));
            else
            {
                // a batch stops at its failure, and each shard meets the bug in a batch of its own: the sequences run differ by
                // those batches' rests, the verdicts and what failed do not
                string Verdicts(string dir) => string.Join("\n", Coverage(dir).Split('\n').Where(l => !l.StartsWith("  domain ", StringComparison.Ordinal)).Select(l => System.Text.RegularExpressions.Regex.Replace(l, @" (sequences|ops) \d+| \d+$|(?<=property \S+) \d+", "")));
                Assert.Equal(Verdicts(whole), Verdicts(merged));
                Assert.Contains("DMABUF-LLSEEK-3 fail", Coverage(merged));
            }

            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(merged, "results.json")));
            Assert.Equal("{\"shards\":2,\"merged\":[1,2],\"missing\":[]}", JsonSerializer.Serialize(doc.RootElement.GetProperty("run").GetProperty("merged")));
            Assert.Empty(KtapChecker.Check(File.ReadAllText(Path.Combine(merged, "results.ktap"))));
            Assert.Contains("merged from shards 1, 2 of 2", File.ReadAllText(Path.Combine(merged, "report.html")));
            // every counterexample the merged results name is in the merged folder, replayable
            foreach (var f in doc.RootElement.GetProperty("units").EnumerateArray().SelectMany(u => u.GetProperty("properties").EnumerateArray())
                         .SelectMany(p => p.GetProperty("failures").EnumerateArray()))
            {
                Assert.StartsWith(merged, f.GetProperty("replay_file").GetString());
                Assert.True(File.Exists(f.GetProperty("replay_file").GetString()));
                Assert.True(File.Exists(f.GetProperty("reproducer").GetString()));
                Assert.Equal(1, Run("--replay", f.GetProperty("replay_file").GetString()!, "--repro-runs", "1").Exit);
            }
        }
        finally
        {
            foreach (var d in new[] { whole, one, two, merged }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }

    /// <summary>A shard merged alone (1/1) gives back its own results.json, counterexample text included: what merging reads
    /// back loses nothing the reports show.</summary>
    [Fact]
    public void A_single_shard_merged_gives_back_its_own_results()
    {
        string shard = Fresh("only"), merged = Fresh("again");
        try
        {
            Run("--target", "broken:llseek-seek-cur", "--sequences", "100", "--shard", "1/1", "--repro-runs", "2", "-q", "--out", shard);
            var (exit, text) = Run("--merge", shard, "--out", merged);
            Assert.True(exit == 1, text);
            string Normal(string dir, string file) => System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(Path.Combine(dir, file)),
                    @"""elapsed_seconds"": [0-9.]+|in [0-9.]+ s|\d+\.\d+s|""(shard|merged)"": (null|""1/1""|\{[^}]*\})", "")
                .Replace(shard, "DIR").Replace(merged, "DIR");
            Assert.Equal(Normal(shard, "results.json"), Normal(merged, "results.json"));
            var ktap = Normal(merged, "results.ktap");
            Assert.Equal(Normal(shard, "results.ktap").Replace(", shard 1/1", ""), ktap);
            Assert.Contains("not ok", ktap);
        }
        finally
        {
            foreach (var d in new[] { shard, merged }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }

    [Fact]
    public void Folders_that_are_not_shards_of_one_run_are_refused_and_a_missing_shard_is_an_incomplete_run()
    {
        string a = Fresh("a"), b = Fresh("b"), c = Fresh("c"), whole = Fresh("w"), merged = Fresh("m");
        try
        {
            string[] common = ["--sequences", "60", "--area", "fence", "-q"];
            Run([.. common, "--shard", "1/2", "--out", a]);
            Run([.. common, "--shard", "2/2", "--seed", "7", "--out", b]);
            Run([.. common, "--shard", "2/3", "--out", c]);
            Run([.. common, "--out", whole]);
            (string[] Args, string Says)[] refused =
            [
                (["--merge", a, whole], "a whole run"),
                (["--merge", a, a], "given twice"),
                (["--merge", a, b], "seed"),
                (["--merge", a, c], "share their N"),
                (["--merge", a, Fresh("none")], "no such folder"),
                (["--merge", a, "--out", a], "one of the shards merged"),
                (["--merge", a, "--seed", "3"], "--seed does not apply"),
                (["--merge", a, "--target", "model"], "--target does not apply"),
            ];
            foreach (var (args, says) in refused)
            {
                var (exit, text) = Run(args);
                Assert.True(exit == 2, $"{string.Join(" ", args)}: {text}");
                Assert.Contains(says, text);
            }
            var (e, t) = Run("--merge", a, "--out", merged);
            Assert.Equal(1, e);
            Assert.Contains("INCOMPLETE: shard 2 of 2 missing", t);
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(merged, "results.json")));
            Assert.Equal("[2]", JsonSerializer.Serialize(doc.RootElement.GetProperty("run").GetProperty("merged").GetProperty("missing")));
            Assert.Contains("incomplete: shard 2 missing", File.ReadAllText(Path.Combine(merged, "report.html")));
        }
        finally
        {
            foreach (var d in new[] { a, b, c, whole, merged }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }
}
