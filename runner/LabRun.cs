using System.Diagnostics;
using Conformance.Reports;

namespace Conformance.Runner;

/// <summary>
/// --target vm: boots the lab (lab/vm.sh: Debian's kernel under QEMU with vivid, vgem and the modules named) and runs
/// this runner inside it as --target kernel, results into OUT/vm. The lab's options were parsed with everything else
/// (<see cref="SuiteCommandLine"/>), so nothing reaches lab/vm.sh that the suite did not check.
/// </summary>
public static class LabRun
{
    /// <summary>The tree the runner was built in (run-suite.sh exports it; else four levels above runner/bin/Release/net10.0).</summary>
    public static string Root => Environment.GetEnvironmentVariable("CONFORMANCE_ROOT") is { Length: > 0 } r ? r
        : Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", ".."));

    public static int Run(Program.Cli cli, string[] args, TextWriter output)
    {
        var lab = cli.Lab!;
        var root = Root;
        if (!File.Exists(Path.Combine(root, "lab", "vm.sh"))) throw new Program.UsageException($"--target vm needs the suite's tree: no lab/vm.sh under {root}");
        // what runs inside the guest: the same options, as --target kernel, without the lab's own and with the guest's --out
        var inner = SuiteCommandLine.Without(args, [.. SuiteCommandLine.LabOptions, SuiteCommandLine.Target, SuiteCommandLine.Out, SuiteCommandLine.Baseline, SuiteCommandLine.Seed]);
        inner.InsertRange(0, ["--target", "kernel"]);
        // the seed as the host read it (--seed nightly: today's date here, not the guest's clock at boot)
        inner.AddRange(["--seed", cli.Options.Seed.ToString()]);
        // the guest sees the host's files where the host does: the baseline by its full path
        if (cli.Baseline != null) inner.AddRange(["--baseline", cli.Baseline]);
        // the lab writes to a fresh folder swapped in as OUT/vm when the guest is gone, whatever happened in it
        var folder = OutputFolder.Begin(Path.Combine(cli.OutDir, "vm"));
        var outDir = Path.GetFullPath(Path.Combine(cli.OutDir, "vm"));
        var rawLoop = Path.Combine(root, "runner", "bin", "raw-loop");
        if (cli.Mode == "--bench") BuildRawLoop(root, lab.Kernel, rawLoop);

        var vm = new List<string> { Path.Combine(root, "lab", "vm.sh"), "run", "--out", folder.Staging, "--kernel", lab.Kernel };
        foreach (var (path, margs) in lab.Modules)
        {
            vm.AddRange(["--module", Path.GetFullPath(path)]);
            if (margs != null) vm.AddRange(["--module-args", margs]);
        }
        if (lab.VmTimeout is { } t) vm.AddRange(["--timeout", t.ToString()]);
        if (lab.VmMem is { } mem) vm.AddRange(["--mem", mem.ToString()]);
        // SLUB tracks who allocated each live kmalloc object (debugfs slab/*/alloc_traces): the kernel memory check after
        // each device (AllocTraces); not for the benchmark, whose ratios would carry the tracking's cost
        if (cli.Mode != "--bench") vm.AddRange(["--append", "slub_debug=U,kmalloc-*"]);
        vm.AddRange(["--", "bash", Path.Combine(root, "lab", "guest-run.sh"), .. inner]);

        var psi = new ProcessStartInfo("bash") { WorkingDirectory = Environment.CurrentDirectory, UseShellExecute = false };
        foreach (var a in vm) psi.ArgumentList.Add(a);
        // replay commands printed inside the VM boot the same lab again, spelt as run-suite.sh takes them
        var again = lab.Spelled();
        psi.Environment["CONFORMANCE_REPLAY_PREFIX"] = "./run-suite.sh --target vm" + (again.Length > 0 ? " " + again : "");
        psi.Environment["CONFORMANCE_BIN"] = Path.Combine(AppContext.BaseDirectory, "conformance.dll");
        psi.Environment["CONFORMANCE_RAW_LOOP"] = rawLoop;
        psi.Environment["CONFORMANCE_HOST_OUT"] = outDir;
        psi.Environment["CONFORMANCE_CERTIFY_NEW"] = lab.Modules.Count > 0 && cli.Devices.Count == 0 ? "1" : "0";
        psi.Environment["CONFORMANCE_LAB_SERIES"] = lab.Kernel;
        psi.Environment["CONFORMANCE_ROOT"] = root;
        output.Flush();
        int exit;
        try
        {
            using var p = Process.Start(psi) ?? throw new Program.UsageException("cannot start bash for lab/vm.sh");
            p.WaitForExit();
            exit = p.ExitCode;
        }
        finally { folder.Finish(); }
        return exit;
    }

    /// <summary>--emit-headers DIR: the lab kernel's uapi headers for building C reproducers (lab/uapi-include.sh).</summary>
    public static int EmitHeaders(string dir, TextWriter output)
    {
        Results.CheckWritable(dir);
        if (Exec("bash", [Path.Combine(Root, "lab", "uapi-include.sh"), dir]) != 0)
            throw new Program.UsageException($"cannot write the lab kernel's uapi headers to {dir} (lab/uapi-include.sh fetches them with the lab kernel: needs apt and the network once)");
        output.WriteLine($"wrote the Linux 6.12 uapi headers the C reproducers use to {dir}: gcc -Wall -I {Shell.Quote(dir)} -o repro FILE.c");
        return 0;
    }

    /// <summary>The benchmark's raw C loop, built against the booted kernel's uapi headers (the guest has no compiler cache).</summary>
    private static void BuildRawLoop(string root, string kernel, string rawLoop)
    {
        var inc = Directory.CreateTempSubdirectory("conformance-uapi").FullName;
        try
        {
            Must(Exec("bash", [Path.Combine(root, "lab", "uapi-include.sh"), inc], ("CONFORMANCE_LAB_SERIES", kernel)), "cannot prepare the lab kernel's uapi headers");
            Must(Exec("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-I" + inc, "-o", rawLoop, Path.Combine(root, "runner", "bench", "raw-loop.c")]), "cannot build runner/bench/raw-loop.c");
        }
        finally { Directory.Delete(inc, true); }

        static void Must(int rc, string why) { if (rc != 0) throw new Program.UsageException(why); }
    }

    private static int Exec(string file, IEnumerable<string> args, params (string Name, string Value)[] env)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (n, v) in env) psi.Environment[n] = v;
        try
        {
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e) { throw new Program.UsageException($"cannot run {file}: {e.Message}"); }
    }
}
