using Conformance.Runner;
using Xunit;
using YamlDotNet.Serialization;

namespace Conformance.SelfTests;

/// <summary>
/// --emit-lava-job: the jobs a board's lab submits (the example actions of lava/examples/rpi4-nfs.yaml), read back as
/// YAML: one per shard with the run's parameters, the lab's own deploy and boot kept as written, the test action last; and
/// the lab machine's device dictionary and actions. (CI validates emitted jobs with LAVA's own schema and runs one with
/// lava-run: .ci/run, step lava-job.)
/// </summary>
public class LavaJobTests
{
    private static readonly string Example = Path.Combine(LabRun.Root, "lava", "examples", "rpi4-nfs.yaml");

    private static Dictionary<object, object> Load(string file) =>
        new DeserializerBuilder().WithAttemptingUnquotedStringTypeDeserialization().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(file));

    private static (int Code, string Output, string Dir) Emit(params string[] extra)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"conformance-lava-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var output = new StringWriter();
        int code = Program.Run(["--target", "kernel", "--emit-lava-job", dir, "--lava-device-type", "bcm2711-rpi-4-b", "--lava-actions", Example,
            "--lava-repository", "https://git.example.org/conformance.git", .. extra], output);
        return (code, output.ToString(), dir);
    }

    [Fact]
    public void A_boards_jobs_are_one_per_shard_with_the_runs_parameters_after_the_labs_own_deploy_and_boot()
    {
        var (code, output, dir) = Emit("--shards", "3", "--seed", "77", "--sequences", "40", "--device", "/dev/video0", "--device", "/dev/dma_heap/system",
            "--area", "vb2,dmabuf", "--max-length", "30", "--slow-ops");
        try
        {
            Assert.Equal(0, code);
            Assert.Contains("wrote 3 LAVA job(s) for device type bcm2711-rpi-4-b, seed 77, 40 sequences", output);
            var template = new DeserializerBuilder().WithAttemptingUnquotedStringTypeDeserialization().Build().Deserialize<List<object>>(File.ReadAllText(Example));
            for (int i = 1; i <= 3; i++)
            {
                var file = Path.Combine(dir, $"shard-{i}", "job.yaml");
                var text = File.ReadAllText(file);
                Assert.DoesNotMatch(@"[&*]o\d", text);   // no YAML anchors or aliases: each job stands alone
                var job = Load(file);
                Assert.Equal("bcm2711-rpi-4-b", job["device_type"]);
                Assert.Equal($"buffer-sharing conformance, shard {i} of 3, seed 77", job["job_name"]);
                Assert.False(job.ContainsKey("context"));   // a board's architecture is its device type's
                var metadata = (Dictionary<object, object>)job["metadata"];
                Assert.Equal("77", metadata["conformance.seed"]);
                Assert.Equal($"{i}/3", metadata["conformance.shard"]);
                var actions = (List<object>)job["actions"];
                Assert.Equal(["deploy", "boot", "test"], actions.Select(a => (string)((Dictionary<object, object>)a).Keys.Single()));
                // the lab's own actions come back as written, numbers as numbers
                Assert.Equal(Flat(template[0]), Flat(actions[0]));
                Assert.Equal(Flat(template[1]), Flat(actions[1]));
                Assert.Contains("      timeout:\n        minutes: 10\n", text);
                var test = (Dictionary<object, object>)((Dictionary<object, object>)actions[2])["test"];
                var definition = (Dictionary<object, object>)((List<object>)test["definitions"]).Single();
                Assert.Equal("https://git.example.org/conformance.git", definition["repository"]);
                Assert.Equal("lava/conformance.yaml", definition["path"]);
                Assert.False(definition.ContainsKey("revision"));   // another repository: its default branch
                var p = (Dictionary<object, object>)definition["parameters"];
                Assert.Equal("/opt/conformance", p["SUITE"]);
                Assert.Equal("/dev/video0 /dev/dma_heap/system", p["DEVICES"]);
                Assert.Equal("40", p["SEQUENCES"]);
                Assert.Equal("", p["TIME"]);
                Assert.Equal("77", p["SEED"]);
                Assert.Equal($"{i}/3", p["SHARD"]);
                Assert.Equal("--area vb2,dmabuf --max-length 30 --slow-ops", p["OPTIONS"]);
                Assert.Equal(LavaJob.BoardResults, p["OUT"]);
                // every parameter is a string in the YAML (LAVA exports them to the test shell as they are)
                Assert.Contains("SEQUENCES: \"40\"", text);
                Assert.Contains("SEED: \"77\"", text);
            }
            Assert.False(File.Exists(Path.Combine(dir, "shard-4", "job.yaml")));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_time_budget_sets_the_TIME_parameter_and_the_test_actions_timeout()
    {
        var (code, _, dir) = Emit("--time", "1200");
        try
        {
            Assert.Equal(0, code);
            var job = Load(Path.Combine(dir, "shard-1", "job.yaml"));
            var test = (Dictionary<object, object>)((Dictionary<object, object>)((List<object>)job["actions"])[2])["test"];
            Assert.Equal(40, Convert.ToInt32(((Dictionary<object, object>)test["timeout"])["minutes"]));   // 20 minutes, half again, and 10
            var p = (Dictionary<object, object>)((Dictionary<object, object>)((List<object>)test["definitions"]).Single())["parameters"];
            Assert.Equal("1200", p["TIME"]);
            Assert.Equal("1/1", p["SHARD"]);
            Assert.Equal("", p["DEVICES"]);   // every device the suite finds on the board
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("- test:\n    definitions: []\n- boot:\n    method: qemu\n", "'test' is not a deploy, boot or command action")]
    [InlineData("- deploy:\n    to: tftp\n", "no boot action")]
    [InlineData("deploy:\n  to: tftp\n", "expected a YAML list")]
    [InlineData("- deploy: {to: tftp}\n  boot: {method: u-boot}\n", "a mapping of one action name")]
    [InlineData("- deploy: [\n", "not YAML")]
    public void A_malformed_actions_file_is_refused_with_its_reason(string yaml, string reason)
    {
        var file = Path.Combine(Path.GetTempPath(), $"conformance-actions-{Environment.ProcessId}-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, yaml);
        try
        {
            var e = Assert.Throws<Program.UsageException>(() => LavaJob.ReadActions(file));
            Assert.Contains(reason, e.Message);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void The_lab_machines_device_dictionary_and_actions_boot_the_lab_kernel_to_its_root_shell()
    {
        var device = LavaJob.Yaml(LavaJob.DeviceDictionary(["-m 4096", "-virtfs local,path=/x,mount_tag=labout"]));
        var d = new DeserializerBuilder().WithAttemptingUnquotedStringTypeDeserialization().Build().Deserialize<Dictionary<object, object>>(device);
        var constants = (Dictionary<object, object>)d["constants"];
        Assert.Equal(LavaJob.LabStartMessage, constants["kernel-start-message"]);
        Assert.Equal("/bin/sh", ((Dictionary<object, object>)constants["posix"])["lava_test_sh_cmd"]);
        var qemu = Flat(((Dictionary<object, object>)((Dictionary<object, object>)d["actions"])["boot"])["methods"]);
        Assert.Contains("qemu.parameters.command=qemu-system-x86_64:String", qemu);
        Assert.Contains("qemu.parameters.options.1=-virtfs local,path=/x,mount_tag=labout:String", qemu);

        var actions = LavaJob.Yaml(LavaJob.LabActions("/k/vmlinuz", "/k/initrd.gz", "console=ttyS0 loglevel=5"));
        Assert.Contains("image_arg: -kernel {kernel} -append \"console=ttyS0 loglevel=5\"", actions);
        Assert.Contains("url: file:///k/initrd.gz", actions);
        Assert.Contains("format: cpio.newc", actions);
        Assert.Contains("lava: true", actions);   // the overlay goes into the initramfs
        Assert.Contains($"- '{LavaJob.LabPrompt}'", actions);
    }

    /// <summary>A YAML value as "path=value" lines (lists by index), to compare two trees whatever their node types.</summary>
    private static List<string> Flat(object node, string path = "")
    {
        var lines = new List<string>();
        switch (node)
        {
            case Dictionary<object, object> m:
                foreach (var (k, v) in m) lines.AddRange(Flat(v, path.Length == 0 ? $"{k}" : $"{path}.{k}"));
                break;
            case List<object> l:
                for (int i = 0; i < l.Count; i++) lines.AddRange(Flat(l[i], $"{path}.{i}"));
                break;
            default:
                lines.Add($"{path}={node}:{node?.GetType().Name}");
                break;
        }
        return lines;
    }
}
