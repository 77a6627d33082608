using Conformance.Adapters;
using Conformance.Adapters.Kernel;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Spec;

namespace Conformance.Runner;

/// <summary>
/// --replay FILE: the recorded steps, exactly, on the same kind of target (the model with the file's profile
/// and bug, or the file's device after checking its driver), run several times from a fresh state.
/// Exit 1 when the failure reproduces, 0 when it does not, 2 when the file cannot be used.
/// </summary>
public static class Replay
{
    public static int Run(Program.Cli cli, Catalog catalog, TextWriter output)
    {
        ReplayFile rf;
        var text = Results.ReadFile(cli.Replay!, "--replay");
        if (cli.EmitC != null) Results.CheckWritableFile(cli.EmitC, "--emit-c");
        try { rf = ReplayFile.Parse(text); }
        catch (ReplayFormatException e) { throw new Program.UsageException($"corrupt replay file: {cli.Replay}: {e.Message}"); }
        if (rf.Invariant != null && !catalog.Contains(rf.Invariant) && rf.Invariant != "UNCITED")
            throw new Program.UsageException($"{cli.Replay}: invariant {rf.Invariant} is not in this suite's catalog (a file from another version?)");
        foreach (var id in rf.AlreadyFailing.Where(id => !catalog.Contains(id) && id != "UNCITED"))
            throw new Program.UsageException($"corrupt replay file: {cli.Replay}: failure.already_failing names {id}, which is not in this suite's catalog");
        var property = Properties.Properties.All.FirstOrDefault(p => p.Name == rf.Property)
            ?? throw new Program.UsageException($"{cli.Replay}: property '{rf.Property}' is not one this suite has");
        if (cli.EmitC != null)
        {
            Results.WriteFile(cli.EmitC, CReproducer.Write(rf, cli.Replay), "--emit-c");
            output.WriteLine($"wrote {cli.EmitC}");
            return 0;
        }
        string kind = rf.Target == "kernel" ? "kernel" : rf.Target;
        if (cli.TargetGiven && cli.Target != kind)
            throw new Program.UsageException($"{cli.Replay} was recorded on target '{rf.Target}', not '{cli.Target}': a replay runs on the same kind of target" +
                (rf.Target == "kernel" ? " (use ./run-suite.sh --target vm --replay FILE for the lab kernel)" : ""));

        using var target = rf.Target == "kernel" ? KernelFor(rf, cli, output) : Program.MakeTarget(rf.Target, rf.Profile);
        var seq = rf.Sequence;
        output.WriteLine($"# replay of {cli.Replay}: {seq.Length} steps, property {rf.Property}, recorded on {(rf.Device != null ? $"{rf.Device} ({rf.Driver}), Linux {rf.Kernel}" : $"{rf.Target} (profile {rf.Profile})")}");
        if (rf.Failed) output.WriteLine($"# recorded failure: {rf.Invariant} at {(rf.FailingStep > 0 ? $"step {rf.FailingStep}" : "the end check")}: expected {rf.Expected}, got {rf.Actual}");
        int runs = Math.Max(1, cli.Options.ReproRuns), again = 0;
        Failure? first = null;
        for (int k = 0; k < runs; k++)
        {
            if (target is KernelTarget kt) kt.Context = () => $"replay of {cli.Replay}, run {k + 1}:\n{seq}";
            target.Refresh();
            var f = property.Check(seq, target, null, rf.AlreadyFailing.ToHashSet(StringComparer.Ordinal));
            bool same = f != null && rf.Failed && f.InvariantId == rf.Invariant && f.StepIndex + 1 == rf.FailingStep;
            if (same) again++;
            first ??= f;
            output.WriteLine($"run {k + 1}: " + (f == null ? "every step as the model allows"
                : $"{f.InvariantId} fails at {(f.StepIndex >= 0 ? $"step {f.StepIndex + 1}" : "the end check")}: expected {f.Expected}, got {f.Actual}{(rf.Failed && !same ? " (not the recorded failure)" : "")}"));
        }
        if (first != null)
        {
            output.WriteLine();
            output.Write(TextReport.Steps(first));
        }
        output.WriteLine();
        if (!rf.Failed)
        {
            output.WriteLine(first == null ? $"# the sample passes again ({runs} runs)" : "# the sample FAILS now (it passed when it was recorded)");
            return first == null ? 0 : 1;
        }
        output.WriteLine(again == runs ? $"# reproduced: {rf.Invariant} failed again in {again} of {runs} runs, each from a fresh state"
            : again > 0 ? $"# FLAKY: {rf.Invariant} failed again in {again} of {runs} runs, each from a fresh state"
            : $"# did not reproduce: {rf.Invariant} held in all {runs} runs{(first != null ? " (another failure was seen, above)" : "")}");
        return again > 0 || first != null ? 1 : 0;
    }

    /// <summary>The recorded device, or the one --device names, after checking it is the same kind (same driver, same device names).</summary>
    private static KernelTarget KernelFor(ReplayFile rf, Program.Cli cli, TextWriter output)
    {
        if (!OperatingSystem.IsLinux()) throw new Program.UsageException("this replay file was recorded on a kernel target, which needs Linux");
        var device = cli.Devices.Count > 0 ? cli.Devices[0] : rf.Device ?? throw new Program.UsageException($"{cli.Replay}: a kernel replay file must name its device");
        Discovered found;
        try { found = Discovery.Discover([device]); }
        catch (DeviceException e) { throw new Program.UsageException(e.Message); }
        var unit = found.Units.FirstOrDefault(u => u.Path == device)
            ?? throw new Program.UsageException($"{device} cannot be certified here: {string.Join("; ", found.Skipped.Select(s => s.Reason))}");
        if (rf.Driver != null && unit.Driver != rf.Driver)
            throw new Program.UsageException($"{cli.Replay} was recorded on {rf.Device} with driver '{rf.Driver}'; {device} has driver '{unit.Driver}': not the same kind of target");
        var missing = rf.Steps.Select(s => s.Op).OfType<Conformance.Generators.Open>().Select(o => o.Device).Distinct().Where(d => !unit.Paths.ContainsKey(d)).ToList();
        if (missing.Count > 0)
            throw new Program.UsageException($"{cli.Replay} opens {string.Join(", ", missing)}, which this machine does not offer beside {device} (it has {string.Join(", ", unit.Paths.Keys)})");
        if (KernelVersion.Compare(found.Kernel, rf.Kernel) != 0) output.WriteLine($"# note: recorded on Linux {rf.Kernel}, replaying on {found.Kernel}");
        // the kernel-memory property (DMABUF-LIFE-4) reads SLUB's allocation tracking where the kernel has it
        return new KernelTarget(unit.Profile with { MemoryUntracked = AllocTraces.WhyUntracked() }, unit.Paths, TimeSpan.FromSeconds(cli.OpTimeout))
            { OverlapsOracle = !cli.JudgeInStep };
    }
}
