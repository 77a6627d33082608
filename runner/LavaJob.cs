using System.Diagnostics;
using Conformance.Properties;
using Conformance.Reports;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Conformance.Runner;

/// <summary>
/// --emit-lava-job DIR: a LAVA job per shard of the run (--shards N), each running the suite's test definition
/// (lava/conformance.yaml) on a device under test with the run's seed, budget, devices and selection, so that N boards or
/// N dispatcher slots cover the run without overlap and --merge joins their results folders. Jobs follow LAVA's job schema
/// (lava_common/schemas/job.py, 2023.01: device_type, job_name, timeouts, priority, visibility, actions) and are written
/// with YamlDotNet.
/// <list type="bullet">
/// <item>With --target vm the device is the lab's own QEMU machine (device type qemu): per shard a device dictionary
/// (DIR/shard-I/device.yaml, QEMU's options from <c>lab/vm.sh dut</c>) and a job deploying the lab kernel and initramfs to
/// tmpfs and booting them with QEMU; the guest loads the lab's drivers and gives LAVA a root shell, and the results folder
/// is DIR/shard-I/conformance on the host. <c>lava-run --device DIR/shard-I/device.yaml DIR/shard-I/job.yaml</c> runs it.</item>
/// <item>Otherwise the device is a lab's board: --lava-device-type names its device type and --lava-actions FILE holds the
/// lab's own deploy and boot actions for it (a YAML list, as in a job), to which the test action is added; the suite must
/// be installed on the board (--lava-suite, default /opt/conformance).</item>
/// </list>
/// Errors are <see cref="Program.UsageException"/>s (exit 2): an unwritable DIR, an unreadable or malformed actions file, a
/// tree LAVA cannot fetch the test definition from, a lab that cannot prepare its machine.
/// </summary>
public static class LavaJob
{
    /// <summary>What --emit-lava-job needs beyond the run's own options.</summary>
    /// <param name="Dir">where the jobs go (DIR/shard-I/job.yaml)</param>
    /// <param name="Shards">how many jobs: shard I of N each (--shards, default 1)</param>
    /// <param name="DeviceType">the LAVA device type (--lava-device-type; qemu for the lab's machine)</param>
    /// <param name="Actions">the board's deploy and boot actions file (--lava-actions), null for the lab's machine</param>
    /// <param name="Suite">where the suite's tree is on the device (--lava-suite)</param>
    /// <param name="Repository">the git repository LAVA fetches lava/conformance.yaml from (--lava-repository)</param>
    /// <param name="Options">further suite options passed to the run on the device (selection, lengths, timeouts)</param>
    public sealed record Settings(string Dir, int Shards, string DeviceType, string? Actions, string? Suite, string? Repository, IReadOnlyList<string> Options);

    /// <summary>The prompt of the lab machine's root shell (lab/guest-init.sh, LAB_SHELL=1).</summary>
    public const string LabPrompt = "lab# ";

    /// <summary>The message lab/guest-init.sh prints when its init starts: the lab boots with loglevel=5, which hides
    /// "Linux version", LAVA's default sign that the kernel started.</summary>
    public const string LabStartMessage = "@@LAB-INIT";

    /// <summary>Writes the jobs (and, for the lab's machine, the device dictionaries); prints what to run. Exit 0.</summary>
    public static int Emit(Program.Cli cli, Settings s, TextWriter output)
    {
        // a folder of its own: an earlier emit's jobs, or the results its jobs wrote, would be mixed with these
        if (Directory.Exists(s.Dir) && Directory.EnumerateFileSystemEntries(s.Dir).Any())
            throw new Program.UsageException($"--emit-lava-job {s.Dir}: the folder is not empty (an earlier emit's jobs or their results?); name a new folder");
        Results.CheckWritable(s.Dir, "--emit-lava-job");
        var dir = Path.GetFullPath(s.Dir);
        var root = LabRun.Root;
        string repository = s.Repository ?? root;
        string? revision = s.Repository == null ? Revision(root) : null;
        if (revision != null && Git(root, "status", "--porcelain", "--", "lava") is { Length: > 0 })
            output.WriteLine($"# lava/ has changes not committed: the jobs fetch the test definition at commit {revision[..12]}, without them");
        if (s.Repository == null && cli.Target != "vm")
            output.WriteLine($"# the jobs fetch the test definition from {root}, a path on this machine: a LAVA server's dispatcher must see it there (else give --lava-repository URL)");
        IReadOnlyList<object> boardActions = s.Actions != null ? ReadActions(s.Actions) : [];
        bool lab = cli.Target == "vm";
        string suite = s.Suite ?? (lab ? root : "/opt/conformance");   // the lab's guest sees the host's files where the host does
        (string Vmlinuz, string Initrd)? copied = null;
        var jobs = new List<string>();
        for (int i = 1; i <= s.Shards; i++)
        {
            var shard = new Shard(i, s.Shards);
            var shardDir = Path.Combine(dir, $"shard-{i}");
            Directory.CreateDirectory(shardDir);
            string results;
            IReadOnlyList<object> actions;
            if (lab)
            {
                // each shard's machine has its own results share (QEMU's options name the shard's folder); the kernel and
                // initramfs are the same for all, copied once
                var m = Dut(cli, root, shardDir);
                copied ??= Copied(m.Vmlinuz, m.Initrd, dir);
                File.WriteAllText(Path.Combine(shardDir, "device.yaml"), Yaml(DeviceDictionary(m.Qemu)));
                actions = LabActions(copied.Value.Vmlinuz, copied.Value.Initrd, m.KernelArgs);
                results = "/lab-out/conformance";
            }
            else
            {
                actions = boardActions;
                results = BoardResults;
            }
            var job = Job(cli, s, shard, actions, suite, repository, revision, results);
            var path = Path.Combine(shardDir, "job.yaml");
            File.WriteAllText(path, Yaml(job));
            jobs.Add(path);
        }

        string seedWords = cli.SeedNightly ? $"seed {cli.Options.Seed} (--seed nightly: the UTC date)" : $"seed {cli.Options.Seed}";
        output.WriteLine($"wrote {jobs.Count} LAVA job(s) for device type {s.DeviceType}, {seedWords}, {Budget(cli)}:");
        foreach (var j in jobs) output.WriteLine($"  {Counterexamples.Display(j)}");
        if (lab)
        {
            output.WriteLine("run one with Debian's lava-dispatcher (no server; as root, a distinct --job-id per job running at once):");
            string Shown(params string[] parts) => Shell.Quote(Counterexamples.Display(Path.Combine([dir, .. parts])));
            output.WriteLine($"  lava-run --job-id 1 --output-dir {Shown("shard-1", "lava")} --device {Shown("shard-1", "device.yaml")} {Shown("shard-1", "job.yaml")} 2>{Shown("shard-1", "lava.log")}");
            output.WriteLine($"lava-run writes its log to stderr. The job's results folder is {Counterexamples.Display(Path.Combine(dir, "shard-1", "conformance"))}; LAVA's cases are checked against it with:");
            output.WriteLine($"  lava/check-results.py {Shown("shard-1", "lava.log")} {Shown("shard-1", "conformance", "results.json")} conformance");
            if (s.Shards > 1)
            {
                output.WriteLine("the shards' results folders join into the run's with:");
                output.WriteLine($"  ./run-suite.sh --merge {string.Join(" ", Enumerable.Range(1, s.Shards).Select(i => Shown($"shard-{i}", "conformance")))} --out {Shown("merged")}");
            }
        }
        else
        {
            output.WriteLine("submit them to the lab's LAVA server (lavacli jobs submit FILE); each job leaves its results folder at");
            output.WriteLine($"  {BoardResults} on the board and prints every case, counterexample and C reproducer in the job's log; --merge joins the shards' folders");
        }
        return 0;
    }

    /// <summary>Where a board's job leaves its results folder (the test definition's OUT).</summary>
    public const string BoardResults = "/tmp/conformance-results";

    /// <summary>The jobs' budget in words: N sequences per property and device, or each job's time budget.</summary>
    private static string Budget(Program.Cli cli) =>
        cli.Options.Budget is { } b ? $"a time budget of {b.TotalSeconds:0} s for each job's run" : $"{cli.Options.Sequences} sequences per property and device";

    /// <summary>
    /// The job of one shard: device_type, job_name, timeouts (the test action's from the budget: --time plus half again and
    /// 10 minutes; else --vm-timeout for the lab's machine, or 3 hours), the deploy and boot actions,
    /// and the test action running lava/conformance.yaml with the run's parameters. Metadata records the suite version,
    /// seed and shard, so a lab's result store can find the shards of one run.
    /// </summary>
    public static Dictionary<string, object?> Job(Program.Cli cli, Settings s, Shard shard, IReadOnlyList<object> actions, string suite, string repository,
        string? revision, string results)
    {
        int testMinutes = cli.Options.Budget is { } b ? (int)Math.Ceiling(b.TotalMinutes * 1.5) + 10
            : cli.Lab?.VmTimeout is { } vm ? (vm + 59) / 60 : 180;
        var definition = Map(
            ("repository", repository),
            ("from", "git"),
            ("path", "lava/conformance.yaml"),
            ("name", "conformance"));
        if (revision != null) definition["revision"] = revision;
        definition["history"] = false;
        definition["parameters"] = Map(
            ("SUITE", suite),
            ("DEVICES", string.Join(" ", cli.Devices)),
            ("SEQUENCES", cli.Options.Sequences.ToString()),
            ("TIME", cli.Options.Budget is { } t ? ((int)t.TotalSeconds).ToString() : ""),
            ("SEED", cli.Options.Seed.ToString()),
            ("SHARD", shard.ToString()),
            ("OPTIONS", string.Join(" ", s.Options)),
            ("OUT", results));
        var all = new List<object>(actions) { Map(("test", Map(("timeout", Minutes(testMinutes)), ("definitions", new List<object> { definition })))) };
        var job = Map(
            ("device_type", s.DeviceType),
            ("job_name", $"buffer-sharing conformance, shard {shard.Index} of {shard.Count}, seed {cli.Options.Seed}"),
            ("timeouts", Map(
                ("job", Minutes(testMinutes + 20)),
                ("action", Minutes(10)),
                ("connection", Minutes(2)))),
            ("priority", "medium"),
            ("visibility", "public"),
            ("metadata", Map(
                ("conformance.suite", SuiteVersion.Text),
                ("conformance.seed", cli.Options.Seed.ToString()),
                ("conformance.shard", shard.ToString()))));
        if (cli.Target == "vm") job["context"] = Map(("arch", "amd64"));   // the qemu device type's architecture
        job["actions"] = all;
        return job;
    }

    /// <summary>The lab machine's deploy (the kernel and the initramfs to tmpfs, LAVA's overlay unpacked into the cpio
    /// initramfs: the guest has no disk drivers for a guestfs overlay) and boot (QEMU, the lab's root shell prompt).</summary>
    public static List<object> LabActions(string vmlinuz, string initrd, string kernelArgs) =>
    [
        Map(("deploy", Map(
            ("to", "tmpfs"),
            ("timeout", Minutes(5)),
            ("images", Map(
                ("kernel", Map(("image_arg", $"-kernel {{kernel}} -append \"{kernelArgs}\""), ("url", "file://" + vmlinuz))),
                ("ramdisk", Map(("image_arg", "-initrd {ramdisk}"), ("url", "file://" + initrd), ("compression", "gz"), ("format", "cpio.newc"),
                    ("overlays", Map(("lava", true)))))))))),
        Map(("boot", Map(
            ("method", "qemu"),
            ("media", "tmpfs"),
            ("timeout", Minutes(5)),
            ("prompts", new List<object> { LabPrompt })))),
    ];

    /// <summary>
    /// The device dictionary of the lab's machine for lava-run (LAVA's rendered form: no server, no templates): a qemu
    /// device on a serial console whose QEMU runs with <paramref name="qemuOptions"/> (each an option and its value, from
    /// lab/vm.sh dut); the test shell is /bin/sh, its overlay at /lava-JOBID; no retries beyond the first failure.
    /// </summary>
    public static Dictionary<string, object?> DeviceDictionary(IReadOnlyList<string> qemuOptions)
    {
        var constants = Map(
            ("posix", Map(("lava_test_sh_cmd", "/bin/sh"), ("lava_test_results_dir", "/lava-%s"), ("lava_test_shell_file", "~/.bashrc"))),
            ("shutdown-message", "The system is going down for reboot NOW"),
            ("kernel-start-message", LabStartMessage),
            ("default-shell-prompt", "lava-test: # "),
            ("spawn_maxread", "4092"),
            ("failure_retry", 1),
            ("boot_retry", 1));
        var guest = Map(("size", 512), ("interface", "ide"), ("driveid", "lavatest"));
        var deploy = Map(("connections", Map(("serial", null))), ("methods", Map(("image", Map(("parameters", Map(("guest", guest))))))));
        var qemu = Map(("command", "qemu-system-x86_64"), ("options", qemuOptions.Cast<object>().ToList()));
        var boot = Map(("connections", Map(("serial", null))), ("methods", Map(("qemu", Map(("parameters", qemu))))));
        return Map(
            ("constants", constants),
            ("parameters", Map()),
            ("available_architectures", new List<object> { "amd64" }),
            ("actions", Map(("deploy", deploy), ("boot", boot))),
            ("timeouts", Map(("actions", Map()), ("connections", Map()))));
    }

    /// <summary>lab/vm.sh dut for one shard's folder: the lab's machine (its kernel, initramfs, kernel arguments and QEMU
    /// options) with the run's kernel series and modules, and SLUB's allocation tracking for the kernel memory check.</summary>
    private static (string Vmlinuz, string Initrd, string KernelArgs, List<string> Qemu) Dut(Program.Cli cli, string root, string shardDir)
    {
        var lab = cli.Lab!;
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var a in (IEnumerable<string>)[Path.Combine(root, "lab", "vm.sh"), "dut", "--out", shardDir, "--kernel", lab.Kernel, "--append", "slub_debug=U,kmalloc-*"])
            psi.ArgumentList.Add(a);
        foreach (var (path, margs) in lab.Modules)
        {
            psi.ArgumentList.Add("--module"); psi.ArgumentList.Add(Path.GetFullPath(path));
            if (margs != null) { psi.ArgumentList.Add("--module-args"); psi.ArgumentList.Add(margs); }
        }
        if (lab.VmMem is { } mem) { psi.ArgumentList.Add("--mem"); psi.ArgumentList.Add(mem.ToString()); }
        using var p = Process.Start(psi) ?? throw new Program.UsageException("cannot start bash for lab/vm.sh dut");
        var lines = p.StandardOutput.ReadToEnd().Split('\n');
        p.WaitForExit();
        if (p.ExitCode != 0) throw new Program.UsageException($"lab/vm.sh dut could not prepare the lab's machine (exit {p.ExitCode}; its reason is above)");
        string Value(string key) => lines.FirstOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal))?[(key.Length + 1)..]
            ?? throw new Program.UsageException($"lab/vm.sh dut printed no {key}= line");
        return (Value("VMLINUZ"), Value("INITRD"), Value("KERNEL_ARGS"),
            lines.Where(l => l.StartsWith("QEMU_OPTION=", StringComparison.Ordinal)).Select(l => l["QEMU_OPTION=".Length..]).ToList());
    }

    /// <summary>The kernel and initramfs copied beside the jobs: the lab's cache rebuilds its initramfs when the lab's init
    /// changes, and a job must deploy the files it was written for.</summary>
    private static (string Vmlinuz, string Initrd) Copied(string vmlinuz, string initrd, string dir)
    {
        var (k, i) = (Path.Combine(dir, "vmlinuz"), Path.Combine(dir, "initrd.gz"));
        File.Copy(vmlinuz, k, overwrite: true);
        File.Copy(initrd, i, overwrite: true);
        return (k, i);
    }

    /// <summary>The commit LAVA fetches the test definition at, so a job runs the definition it was written with (null
    /// when the tree is not a git checkout: the job then names no revision).</summary>
    private static string? Revision(string root)
    {
        if (!Directory.Exists(Path.Combine(root, ".git")) && !File.Exists(Path.Combine(root, ".git")))
            throw new Program.UsageException($"LAVA fetches the test definition with git, and {root} is not a git checkout: give --lava-repository URL (a repository holding lava/conformance.yaml)");
        return Git(root, "rev-parse", "HEAD") is { Length: 40 } sha ? sha : null;
    }

    /// <summary>What git printed (trimmed), or null when it failed or is not installed.</summary>
    private static string? Git(string root, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo("git", ["-C", root, .. args]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var text = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 ? text : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }

    /// <summary>
    /// A lab's deploy and boot actions for its board (--lava-actions FILE): a YAML list of actions as a job has them (each
    /// a mapping of one action name: deploy, boot, command), at least one boot and no test (the suite adds its own).
    /// Scalars keep their YAML types (minutes stay numbers).
    /// </summary>
    public static IReadOnlyList<object> ReadActions(string file)
    {
        string text = Results.ReadFile(file, "--lava-actions");
        object? doc;
        try { doc = new DeserializerBuilder().WithAttemptingUnquotedStringTypeDeserialization().Build().Deserialize<object>(text); }
        catch (YamlException e) { throw new Program.UsageException($"--lava-actions {file}: not YAML ({e.Start.Line}:{e.Start.Column}: {e.Message})"); }
        if (doc is not List<object> list || list.Count == 0)
            throw new Program.UsageException($"--lava-actions {file}: expected a YAML list of the board's actions (- deploy: ..., - boot: ...), as under a job's actions:");
        var names = new List<string>();
        foreach (var a in list)
        {
            if (a is not Dictionary<object, object> m || m.Count != 1 || m.Keys.Single() is not string name)
                throw new Program.UsageException($"--lava-actions {file}: each action is a mapping of one action name (deploy, boot or command)");
            names.Add(name);
        }
        if (names.FirstOrDefault(n => n is not ("deploy" or "boot" or "command")) is { } other)
            throw new Program.UsageException($"--lava-actions {file}: '{other}' is not a deploy, boot or command action (the suite adds the test action itself)");
        if (!names.Contains("boot")) throw new Program.UsageException($"--lava-actions {file}: no boot action (the test shell needs a booted board)");
        return list;
    }

    /// <summary>The YAML text of a job or device dictionary (block style, strings quoted where YAML would read another type).</summary>
    public static string Yaml(object document) =>
        "# written by the buffer-sharing conformance suite (--emit-lava-job); " + SuiteVersion.Text + "\n" +
        new SerializerBuilder().WithIndentedSequences().WithQuotingNecessaryStrings().Build().Serialize(document);

    private static Dictionary<string, object?> Minutes(int m) => Map(("minutes", m));

    private static Dictionary<string, object?> Map(params (string Key, object? Value)[] entries)
    {
        var d = new Dictionary<string, object?>();
        foreach (var (k, v) in entries) d.Add(k, v);
        return d;
    }
}
