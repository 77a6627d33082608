using Conformance.Runner;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// Every option with a missing, malformed, out-of-range or hostile value (paths that are files, folders, missing,
/// unwritable, with spaces and quotes): exit 2, one line on stderr, no stack trace, and an existing results folder
/// left byte-identical. A bad input is found before any work.
/// </summary>
public class BadInputTests
{
    private static readonly Lazy<Fixture> Setup = new(() => new Fixture());

    private sealed class Fixture
    {
        public readonly string Root = Directory.CreateTempSubdirectory("conformance-bad input's").FullName;
        public readonly string Results, AFile, AFolder, Corrupt, NotReplay, Foreign, Ko;

        public Fixture()
        {
            Results = Path.Combine(Root, "results");
            Assert.Equal(0, Program.Run(["--sequences", "5", "--out", Results], TextWriter.Null));
            AFile = Path.Combine(Root, "a file");
            File.WriteAllText(AFile, "not a folder");
            AFolder = Directory.CreateDirectory(Path.Combine(Root, "a folder")).FullName;
            Corrupt = Path.Combine(Root, "corrupt.json");
            File.WriteAllText(Corrupt, "{ \"format\": \"conformance-replay/1\", ");
            NotReplay = Path.Combine(Root, "other.json");
            File.WriteAllText(NotReplay, "{ \"hello\": 1 }");
            Foreign = Directory.CreateDirectory(Path.Combine(Root, "foreign")).FullName;
            File.WriteAllText(Path.Combine(Foreign, "keep.txt"), "mine");
            Ko = Path.Combine(Root, "x.ko");
            File.WriteAllText(Ko, "");
        }
    }

    /// <summary>Placeholders: @F a regular file, @D a folder, @C a corrupt replay file, @J JSON that is not a replay file,
    /// @X a folder with someone else's files, @K an empty .ko, @M a path that does not exist, @N a path under a file, @R a whole
    /// run's results folder.</summary>
    public static TheoryData<string[]> Cases => new(Raw.Select(c => c.Split('|')).ToArray());

    private static readonly string[] Raw =
    [
        // unknown and stray
        "--bogus", "stray", "--target", "--target|", "--target|nonsense", "--target|broken:", "--target|broken:nope", "-x",
        // devices
        "--device", "--device|@M", "--device|@D", "--device|@F", "--device|/dev/null", "--target|model|--device|/dev/null",
        "--target|broken:llseek-seek-cur|-d|/dev/null", "-d|",
        // numbers
        "--op-timeout", "--op-timeout|x", "--op-timeout|0", "--op-timeout|-1", "--op-timeout|3601", "--op-timeout|1e3",
        "--seed", "--seed|-5", "--seed|x", "--seed|18446744073709551616", "--seed|1|--seed|2", "--seed=x",
        "--sequences|0", "--sequences|-1", "--sequences|10000001", "--sequences|x", "--sequences|", "--sequences|5|--time|5",
        "--time|0", "--time|x", "--time|604801", "--max-length|0", "--max-length|10001", "--max-length|x",
        "--repro-runs|-1", "--repro-runs|10001", "--repro-runs|x", "--sample|0", "--sample|5",
        // selections that select nothing or something unknown
        "--area|", "--area|gpu", "--area|,", "--area|vb2,gpu", "--id|", "--id|NOPE-1", "--id|,", "--property|x", "--property|",
        "--profile|x", "--profile|", "--target|kernel|--profile|vivid-like",
        // paths the run would write
        "--out|@F", "--out|@N", "--out|@X", "--out|/proc/1/no such", "--render-spec|@N", "--render-spec|@D", "--render-spec",
        "--emit-headers|@F",
        // paths the run would read
        "--replay|@M", "--replay|@D", "--replay|@C", "--replay|@J", "--replay|@C|--seed|5", "--emit-c|x.c", "--replay|@C|--emit-c|@N",
        "--check-ktap|@M", "--check-ktap|@D", "--check-ktap", "--expectations|@M", "--target|kernel|--expectations|@C", "--expectations|@F",
        "--baseline", "--baseline|@M", "--baseline|@D", "--baseline|@C", "--baseline|@J", "--baseline|@F",
        // kernel coverage: a kernel's, and its baseline a coverage file
        "--kernel-coverage", "--target|broken:llseek-seek-cur|--kernel-coverage", "--coverage-baseline|@F", "--target|kernel|--coverage-baseline|@F",
        "--target|kernel|--kernel-coverage|--coverage-baseline|@M", "--target|kernel|--kernel-coverage|--coverage-baseline|@D",
        "--target|kernel|--kernel-coverage|--coverage-baseline|@C", "--target|kernel|--kernel-coverage|--coverage-baseline|@J",
        "--target|kernel|--kernel-coverage|--coverage-baseline", "--target|vm|--kernel-coverage|--bench", "--target|kernel|--kernel-coverage|--sample|5",
        "--target|vm|--emit-lava-job|@D|--kernel-coverage|--coverage-baseline|@F",
        "--judge-in-step", "--target|broken:llseek-seek-cur|--judge-in-step",
        // shards and their merge
        "--shard", "--shard|0/1", "--shard|2/1", "--shard|x", "--shard|1/1025", "--replay|@C|--shard|1/2",
        "--merge", "--merge|@M", "--merge|@D", "--merge|@F", "--merge|@X", "--merge|@R", "--merge|@D|--seed|3", "--merge|@R|--shard|1/2",
        "--merge|@D|--target|model", "--merge|@D|--list-variants",
        // modes that cannot be combined
        "--list-variants|--bench", "--list-domains|--list-variants",
        // the instruction count: an option of --bench on this machine's kernel, no target or device
        "--instructions", "--sequences|5|--instructions", "--target|kernel|--bench|--instructions", "--target|vm|--bench|--instructions",
        "--target|broken:llseek-seek-cur|--bench|--instructions", "--target|model|--bench|--instructions", "--device|/dev/null|--bench|--instructions", "--check-ktap|@F|--render-spec|@M",
        // the lab's options
        "--module|@K", "--kernel|6.12", "--vm-mem|2048", "--target|vm|--kernel|5.4", "--target|vm|--kernel", "--target|vm|--vm-mem|10",
        "--target|vm|--vm-timeout|x", "--target|vm|--module-args|a=1", "--target|vm|--module|@F", "--target|vm|--module|@M",
        "--target|vm|--module|@K|--module-args|a|--module-args|b",
        // LAVA jobs
        "--shards|2", "--lava-device-type|rpi", "--lava-actions|@F", "--lava-suite|/opt/x", "--lava-repository|x", "--emit-lava-job",
        "--emit-lava-job|@D", "--target|vm|--emit-lava-job|@F", "--target|vm|--emit-lava-job|@N", "--target|kernel|--emit-lava-job|@D",
        "--target|kernel|--emit-lava-job|@D|--lava-device-type|rpi", "--target|kernel|--emit-lava-job|@D|--lava-actions|@F",
        "--target|kernel|--emit-lava-job|@D|--lava-device-type|a b|--lava-actions|@F", "--target|kernel|--emit-lava-job|@D|--lava-device-type|rpi|--lava-actions|@M",
        "--target|kernel|--emit-lava-job|@D|--lava-device-type|rpi|--lava-actions|@F", "--target|kernel|--emit-lava-job|@D|--lava-device-type|rpi|--lava-actions|@J",
        "--target|kernel|--emit-lava-job|@D|--lava-device-type|rpi|--lava-actions|@D", "--target|vm|--emit-lava-job|@D|--lava-actions|@F",
        "--target|vm|--emit-lava-job|@D|--lava-device-type|rpi", "--target|vm|--emit-lava-job|@D|--out|@D", "--target|vm|--emit-lava-job|@D|--shard|1/2",
        "--target|vm|--emit-lava-job|@D|--shards|0", "--target|vm|--emit-lava-job|@D|--shards|1025", "--target|vm|--emit-lava-job|@D|--area|dmabuf, vb2",
        "--target|vm|--emit-lava-job|@D|--expectations|@F", "--target|vm|--emit-lava-job|@D|--baseline|@F", "--target|vm|--emit-lava-job|@D|--strict",
        "--emit-lava-job|@D|--list-variants", "--target|vm|--emit-lava-job|@X", "--target|kernel|--emit-lava-job|@X|--lava-device-type|rpi|--lava-actions|@F",
    ];

    private static string Fill(string a, Fixture f) => a switch
    {
        "@F" => f.AFile, "@D" => f.AFolder, "@C" => f.Corrupt, "@J" => f.NotReplay, "@X" => f.Foreign, "@K" => f.Ko,
        "@M" => Path.Combine(f.Root, "missing 'file'"), "@N" => Path.Combine(f.AFile, "under"), "@R" => f.Results, _ => a,
    };

    private static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(p => Path.GetRelativePath(dir, p), File.ReadAllText);

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_bad_input_exits_2_with_one_line_and_touches_nothing(string[] raw)
    {
        var f = Setup.Value;
        var args = raw.Select(a => Fill(a, f)).ToList();
        if (!args.Contains("--out") && !args.Contains("--emit-lava-job")) args.AddRange(["--out", f.Results]);
        var before = Snapshot(f.Results);
        var foreign = Snapshot(f.Foreign);
        var (code, _, err) = MainRunner.Run([.. args]);
        var lines = err.TrimEnd('\n').Split('\n');
        Assert.True(code == 2, $"{string.Join(' ', raw)}: exit {code}, stderr: {err}");
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", err.ToString());
        Assert.DoesNotContain("Exception", err.ToString());
        Assert.Equal(before, Snapshot(f.Results));
        Assert.Equal(foreign, Snapshot(f.Foreign));
        Assert.Empty(Directory.GetDirectories(f.Root, ".*partial*"));
    }

    [Fact]
    public void The_sweep_covers_every_option_the_parser_takes()
    {
        var used = Raw.SelectMany(c => c.Split('|')).Where(a => a.StartsWith('-')).Select(a => a.Split('=')[0]).ToHashSet();
        var untested = SuiteCommandLine.OptionNames.Where(o => !used.Contains(o)
            && o is not ("--help" or "-h" or "-?" or "--version" or "--list-invariants" or "--slow-ops" or "--strict" or "--quiet" or "-q" or "--trace" or "-T"))
            .ToList();
        Assert.True(untested.Count == 0, "options with no bad-input case: " + string.Join(", ", untested));
        Assert.True(Raw.Length >= 68, $"{Raw.Length} cases");
    }
}
