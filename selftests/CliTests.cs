using System.Text.Json;
using Conformance.Reports;
using Conformance.Runner;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// The command line and the files a run leaves: a results folder checked before work and replaced as a whole, never
/// one that holds anything else; the version in every output; printed commands that run as printed, spaces included.
/// </summary>
public class CliTests
{
    private static (int Code, string Out, string Err) RunMain(params string[] args) => MainRunner.Run(args);

    /// <summary>Every file under a folder with its contents, to show a refused run touched nothing.</summary>
    private static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllText);

    [Fact]
    public void A_folder_holding_other_files_is_refused_before_the_run_and_left_as_it_was()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "precious.txt"), "mine");
        var before = Snapshot(dir);
        var (code, _, err) = RunMain("--sequences", "5", "--out", dir);
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("not this suite's results", err);
        Assert.Equal(before, Snapshot(dir));
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(dir)!, $".{Path.GetFileName(dir)}.*"));
    }

    [Fact]
    public void A_folder_the_file_system_refuses_is_named_with_its_parent()
    {
        // (/proc takes no new folder: mkdir answers ENOENT, which the runtime words as a file it could not find)
        var (code, output, err) = RunMain("--sequences", "5", "--out", "/proc/no-results-here");
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("the file system refuses a new folder in '/proc'", err);
        Assert.DoesNotContain("Could not find file", err);
        Assert.DoesNotContain("property", output);
    }

    [Fact]
    public void The_model_benchmark_saves_what_it_prints_to_out()
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory().FullName, "bench");
        var (code, output, _) = RunMain("--bench", "--out", dir);
        Assert.Equal(0, code);
        var saved = File.ReadAllText(Path.Combine(dir, "bench.log"));
        Assert.Contains("model throughput:", saved);
        Assert.Contains("default run wall time:", saved);
        // every figure saved is a line printed, in the same order
        Assert.StartsWith(saved.TrimEnd('\n'), output.Replace("\r", ""));
        Assert.Contains($"# benchmark: ", output);
        Assert.Matches(@"warm-up: +model [0-9.]+ s, lockstep [0-9.]+ s, generation [0-9.]+ s", saved);
        // what the collector did while generation was timed, and the first generation's budget it did it at
        Assert.Matches(@"\(collections: [0-9]+ a second, [0-9.]+% of the time paused; the first generation's largest budget [0-9]+ MB, ", saved);
        // a folder holding only what the benchmark saved is the suite's own: a run into it replaces it, not refuses it
        var (runCode, _, runErr) = RunMain("--sequences", "2", "--property", "lockstep", "--out", dir);
        Assert.True(runCode == 0, runErr);
        Assert.True(File.Exists(Path.Combine(dir, "results.json")));
    }

    [Fact]
    public void A_file_as_the_results_folder_is_refused_before_the_run()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "afile");
        File.WriteAllText(file, "x");
        var (code, output, err) = RunMain("--target", "broken:heap-not-zeroed", "--out", file);
        Assert.Equal(2, code);
        Assert.Contains("it is a file, not a folder", err);
        Assert.DoesNotContain("property", output);   // nothing ran
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void A_second_run_replaces_the_first_runs_results_as_a_whole()
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory().FullName, "o");
        Assert.Equal(1, RunMain("--target", "broken:heap-not-zeroed", "--out", dir).Code);
        Assert.True(Directory.Exists(Path.Combine(dir, "counterexamples")));
        Assert.Equal(0, RunMain("--sequences", "20", "--out", dir).Code);
        Assert.False(Directory.Exists(Path.Combine(dir, "counterexamples")), "stale counterexamples of the first run are still there");
        Assert.True(File.Exists(Path.Combine(dir, OutputFolder.Marker)));
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(dir)!, ".o.*"));
    }

    [Fact]
    public void The_version_is_printed_and_written_into_json_ktap_and_replay_files()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+", SuiteVersion.Text);
        var (code, output, _) = RunMain("--version");
        Assert.Equal(0, code);
        Assert.Equal(SuiteVersion.Text, output.Trim());
        var dir = Path.Combine(Directory.CreateTempSubdirectory().FullName, "o");
        Assert.Equal(1, RunMain("--target", "broken:heap-not-zeroed", "--out", dir).Code);
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "results.json"))).RootElement;
        Assert.Equal(SuiteVersion.Text, json.GetProperty("suite_version").GetString());
        Assert.Contains($"# buffer-sharing conformance suite {SuiteVersion.Text}\n", File.ReadAllText(Path.Combine(dir, "results.ktap")));
        var replay = Directory.GetFiles(Path.Combine(dir, "counterexamples"), "*.replay.json", SearchOption.AllDirectories).First();
        Assert.Equal(SuiteVersion.Text, JsonDocument.Parse(File.ReadAllText(replay)).RootElement.GetProperty("suite_version").GetString());
    }

    [Fact]
    public void Printed_commands_run_as_printed_with_spaces_and_quotes_in_the_path()
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory().FullName, "with space", "it's here");
        var (code, output, _) = RunMain("--target", "broken:heap-not-zeroed", "--out", dir);
        Assert.Equal(1, code);
        // the batch replay: its own folder, the same counterexample
        var replay = output.Split('\n').First(l => l.TrimStart().StartsWith("replay: ", StringComparison.Ordinal)).Trim()["replay: ".Length..];
        var words = Shell.Words(replay).ToList();
        Assert.Equal("./run-suite.sh", words[0]);
        var again = RunMain([.. words.Skip(1)]);
        Assert.Equal(1, again.Code);
        Assert.True(File.Exists(Path.Combine(dir, "results.json")), "the replay replaced the run's own results");
        Assert.Contains("FAIL HEAP-ALLOC-6", again.Out);
        // the replay file's command
        var fileCmd = output.Split('\n').First(l => l.Contains("(./run-suite.sh --replay ")).Trim();
        var inner = fileCmd[(fileCmd.IndexOf("(./run-suite.sh ", StringComparison.Ordinal) + "(./run-suite.sh ".Length)..fileCmd.LastIndexOf(')')];
        Assert.Equal(1, RunMain([.. Shell.Words(inner)]).Code);
        // the C reproducer's build line names the file so the shell finds it
        var gcc = output.Split('\n').First(l => l.Contains("(gcc -Wall -o repro ")).Trim();
        var cfile = Shell.Words(gcc[(gcc.IndexOf("(gcc", StringComparison.Ordinal) + 1)..gcc.IndexOf(" && ", StringComparison.Ordinal)]).Last();
        Assert.True(File.Exists(cfile), cfile);
    }

    [Fact]
    public void Each_module_args_belongs_to_the_module_before_it_and_the_lab_options_are_spelt_back_for_replays()
    {
        var ko = Path.Combine(Directory.CreateTempSubdirectory().FullName, "my mod.ko");
        File.WriteAllText(ko, "");
        var cli = Program.Parse(["--target", "vm", "--module", ko, "--module-args", "bug=stopleak", $"--module={ko}", "--module-args=a=1 b=2", "--kernel", "6.1", "--vm-mem", "2048"]);
        Assert.Equal([(ko, (string?)"bug=stopleak"), (ko, "a=1 b=2")], cli.Lab!.Modules);
        var spelt = cli.Lab.Spelled();
        Assert.Equal(["--kernel", "6.1", "--module", ko, "--module-args", "bug=stopleak", "--module", ko, "--module-args", "a=1 b=2", "--vm-mem", "2048"], Shell.Words(spelt));
        // what runs inside the guest: the same options without the lab's own
        Assert.Equal(["--seed", "3"], SuiteCommandLine.Without(["--target", "vm", "--module", ko, "--module-args=x", "--seed", "3", "--out", "o"],
            [.. SuiteCommandLine.LabOptions, SuiteCommandLine.Target, SuiteCommandLine.Out]));
        Assert.Contains("two --module-args", Assert.Throws<Program.UsageException>(() => Program.Parse(["--target", "vm", "--module", ko, "--module-args", "a", "--module-args", "b"])).Message);
    }

    [Fact]
    public void Quiet_prints_failures_and_totals_only_and_trace_prints_every_call_with_its_outcome()
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory().FullName, "o");
        var quiet = RunMain("--target", "broken:heap-not-zeroed", "--quiet", "--out", dir).Out;
        Assert.DoesNotContain("PASS ", quiet);
        Assert.DoesNotContain("# property", quiet);
        Assert.Contains("FAIL          HEAP-ALLOC-6", quiet);
        Assert.Contains("totals: ", quiet);
        var traced = RunMain("--sequences", "1", "--property", "lockstep", "--area", "heap", "--trace", "--out", Path.Combine(dir, "t")).Out;
        Assert.Matches(@"trace: Open\(heap:system, \d+\) = 0 \[", traced);
        Assert.Matches(@"trace: DmaHeapAlloc\(", traced);
    }

    [Fact]
    public void A_suggest_directive_prints_completions_and_runs_nothing()
    {
        var sw = new StringWriter();
        Assert.Equal(0, Program.Run(["[suggest:5]", "--tar"], sw));
        Assert.Equal("--target", sw.ToString().Trim());
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("with space")]
    [InlineData("it's")]
    [InlineData("a\"b$c`d\\e")]
    [InlineData("")]
    public void Shell_quoting_round_trips(string word) =>
        Assert.Equal([word, "x"], Shell.Words(Shell.Join([word, "x"])));
}
