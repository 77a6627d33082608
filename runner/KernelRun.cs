using Conformance.Adapters.Kernel;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Spec;

namespace Conformance.Runner;

/// <summary>
/// --target kernel: finds the devices (or takes the ones named), then certifies each on its own with
/// the same properties as the model, the model as oracle, and a leak check around every unit.
/// </summary>
public static class KernelRun
{
    public static int Run(Program.Cli cli, Catalog catalog, TextWriter output)
    {
        if (!OperatingSystem.IsLinux()) throw new Program.UsageException("--target kernel needs Linux");
        Discovered found;
        try { found = Discovery.Discover(cli.Devices); }
        catch (DeviceException e) { throw new Program.UsageException(e.Message); }
        output.WriteLine($"# kernel {found.Kernel}: {found.Units.Count} device(s) to certify, {found.Skipped.Count} found but not certifiable");
        foreach (var s in found.Skipped) output.WriteLine($"SKIP          {s.Path} ({s.Driver}): {s.Reason}");
        if (found.Units.Count == 0)
            throw new Program.UsageException(cli.Devices.Count > 0 ? "none of the named devices can be certified"
                : "this machine has no device the suite can certify (no /dev/video* with streaming, /dev/dma_heap/*, /dev/udmabuf); name one with --device, or use --target vm");

        string leakCheck = BufInfo.LiveCount() >= 0 ? $"dma-buf leak check: {BufInfo.Path}" : $"dma-buf leak check NOT available: {BufInfo.WhyUnreadable()}";
        output.WriteLine($"# {leakCheck}");
        bool failed = false, leaked = false;
        // inside the lab VM: where the host looks for what was running when the kernel complained
        var labOut = Environment.GetEnvironmentVariable("LAB_OUT") is { Length: > 0 } lo && Directory.Exists(lo) ? lo : null;
        int unitNo = 0;
        foreach (var unit in found.Units)
        {
            unitNo++;
            output.WriteLine();
            output.WriteLine($"# device {unitNo}/{found.Units.Count}: {unit.Name}");
            foreach (var n in unit.Notes) output.WriteLine($"#   {n}");
            var areas = cli.Options.Areas.Intersect(unit.Areas).ToList();
            if (areas.Count == 0 && cli.Options.Ids.Count == 0) { output.WriteLine($"SKIP          {unit.Path}: none of the selected areas apply (it covers {string.Join(", ", unit.Areas)})"); continue; }
            int fdsBefore = OpenFds(), bufsBefore = BufInfo.LiveCount();
            var target = new KernelTarget(unit.Profile, unit.Paths, TimeSpan.FromSeconds(cli.OpTimeout));
            var opt = cli.Options with
            {
                Areas = areas,
                Ids = cli.Options.Ids.Where(id => unit.Areas.Contains(catalog[id].Area)).ToList(),
                OnSequence = d => target.Context = d,
                OnBatch = labOut == null ? null : (prop, seed, n) => File.WriteAllText(Path.Combine(labOut, "current-sequence"),
                    $"device {unit.Path}, property {prop}, batch seed {seed}: replay with ./run-suite.sh --target vm --device {unit.Path} --seed {seed} --sequences {n} --property {prop} --max-length {cli.Options.MaxLength}\n"),
            };
            if (cli.Options.Ids.Count > 0 && opt.Ids.Count == 0) { output.WriteLine($"SKIP          {unit.Path}: none of the selected invariants apply"); target.Dispose(); continue; }
            var result = Engine.Run($"kernel {unit.Path}", target, opt, catalog, output.WriteLine);
            target.Dispose();
            int fdsAfter = OpenFds(), bufsAfter = BufInfo.LiveCount();

            output.WriteLine(TextReport.Header(result));
            output.Write(TextReport.Invariants(result));
            foreach (var p in result.Properties.Where(p => p.Failure != null))
            {
                output.WriteLine();
                output.Write(TextReport.Counterexample(result, p, catalog, Program.ReplayCommand(cli, p, unit.Path)));
            }
            output.WriteLine(TextReport.Totals(result));
            // the suite's own hygiene: every fd and dma-buf the unit made is gone
            var hygiene = $"hygiene: {fdsBefore} device/dma-buf/memfd fds open before, {fdsAfter} after; " +
                (bufsBefore >= 0 ? $"{bufsBefore} live dma-bufs before, {bufsAfter} after" : "live dma-bufs not countable");
            bool unitLeaked = fdsAfter != fdsBefore || (bufsBefore >= 0 && bufsAfter != bufsBefore);
            output.WriteLine((unitLeaked ? "LEAK: " : "# ") + hygiene);
            leaked |= unitLeaked;
            failed |= result.Failed;
            try
            {
                var dir = Path.Combine(cli.OutDir, Slug(unit.Path));
                Directory.CreateDirectory(dir);
                JUnitReport.Build(result, p => TextReport.Counterexample(result, p, catalog, Program.ReplayCommand(cli, p, unit.Path))).Save(Path.Combine(dir, "junit.xml"));
                output.WriteLine($"# JUnit XML: {Path.Combine(dir, "junit.xml")}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new Program.UsageException($"cannot write results to '{cli.OutDir}': {e.Message}"); }
        }
        output.WriteLine();
        output.WriteLine($"# kernel run: {found.Units.Count} device(s), {(failed ? "FAILED" : "all certified invariants pass")}{(leaked ? ", LEAKED resources" : "")}");
        return failed || leaked ? 1 : 0;
    }

    /// <summary>Open fds of the kinds the suite creates (device nodes, dma-bufs, memfds); the runtime's own come and go.</summary>
    private static int OpenFds()
    {
        if (!Directory.Exists("/proc/self/fd")) return -1;
        int n = 0;
        foreach (var f in Directory.GetFiles("/proc/self/fd"))
        {
            string? t;
            try { t = new FileInfo(f).LinkTarget; } catch (IOException) { continue; }
            if (t != null && (t.StartsWith("/dev/", StringComparison.Ordinal) && t != "/dev/null" && !t.StartsWith("/dev/pts", StringComparison.Ordinal)
                || t.StartsWith("anon_inode:dmabuf", StringComparison.Ordinal) || t.StartsWith("/dmabuf", StringComparison.Ordinal) || t.StartsWith("/memfd:", StringComparison.Ordinal)))
                n++;
        }
        return n;
    }

    private static string Slug(string path) => path.TrimStart('/').Replace('/', '_');
}
