using Conformance.Adapters;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Spec;

namespace Conformance.Runner;

/// <summary>Where a run happened, as a replay file records it.</summary>
public sealed record RunSite(string Target, string ProfileName, TargetProfile Profile, string? Device, string? Driver, IReadOnlyDictionary<string, string> Devices)
{
    /// <summary>The model's symbolic devices at the paths a lab machine gives them (vivid's first node and its media device,
    /// vgem's card).</summary>
    public static IReadOnlyDictionary<string, string> DefaultPaths(TargetProfile p)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in p.Video)
        {
            d[v.Device] = "/dev/" + v.Device;
            if (v.RequestMedia is { } media) d[media] = "/dev/media0";
        }
        foreach (var h in p.Heaps) d[h.Device] = "/dev/dma_heap/" + h.Name;
        if (p.UdmabufDevice is { } u) d[u] = "/dev/udmabuf";
        for (int i = 0; i < p.Drm.Count; i++) d[p.Drm[i].Device] = $"/dev/dri/card{i}";
        return d;
    }
}

/// <summary>Every failure is written as a replay file and a standalone C reproducer under OUT/counterexamples/UNIT/.</summary>
public static class Counterexamples
{
    public static ReplayFile Record(RunSite site, Program.Cli cli, Finding p, Catalog catalog, string command) =>
        WithFailure(Sample(site, cli, p.Property.Name, p.ReplaySeed, p.ReplaySequences, p.Failure.Steps, command, p.AlreadyFailing), p.Failure, catalog)
            with { Reproduced = p.Reproduced, ReproRuns = p.ReproRuns, Known = p.Known?.Id, AlreadyFailing = p.AlreadyFailing };

    /// <summary>The broken invariant (rule, source and quote from the catalog) and where the steps departed from it.</summary>
    public static ReplayFile WithFailure(ReplayFile rf, Failure f, Catalog catalog)
    {
        var inv = catalog.Contains(f.InvariantId) ? catalog[f.InvariantId] : null;
        return rf with
        {
            Invariant = f.InvariantId, Rule = inv?.Rule,
            Source = inv == null ? "(no invariant cited: the model has no rule for this outcome)" : inv.Source.Quote is { } q ? $"{inv.Source}: \"{q}\"" : inv.Source.ToString(),
            FailingStep = f.StepIndex + 1, Expected = f.Expected, Actual = f.Actual, Detail = f.Detail,
        };
    }

    /// <summary>A sequence and its steps with the documented expectation on each (no failure recorded).</summary>
    public static ReplayFile Sample(RunSite site, Program.Cli cli, string property, ulong seed, int sequences, IReadOnlyList<Step> steps, string command,
        IReadOnlyList<string>? alreadyFailing = null)
    {
        // the format the suite certified the video node with, so that the C reproducer starts from it too
        var (pixelFormat, videoBufType) = ReplayFile.VideoFormat(site.Profile);
        return new()
        {
            Target = site.Target, Profile = site.ProfileName, Device = site.Device, Driver = site.Driver, Kernel = site.Profile.Kernel,
            Devices = site.Devices, OutputPayload = site.Profile.Video.Count > 0 ? site.Profile.Video[0].QueueFor(Conformance.Adapters.Uapi.V4L2_BUF_TYPE_VIDEO_OUTPUT).SizeImage : 0,
            VideoMem2Mem = site.Profile.Video.Count > 0 && site.Profile.Video[0].IsMem2Mem,
            PixelFormat = pixelFormat, VideoBufType = videoBufType,
            Pipeline = site.Profile.Video.Count > 0 ? site.Profile.Video[0].Pipeline : null,
            Seed = seed, Sequences = sequences, Property = property, MaxLength = cli.Options.MaxLength, SlowOps = cli.Options.SlowOps == true,
            Command = command, Steps = Expectations.Derive(site.Profile, steps, alreadyFailing),
        };
    }

    /// <summary>Writes NAME.replay.json and NAME.c into dir; returns their paths as the user will see them.</summary>
    public static CounterexampleFiles Write(string dir, string name, ReplayFile rf)
    {
        try
        {
            Directory.CreateDirectory(dir);
            var json = Path.Combine(dir, name + ".replay.json");
            var c = Path.Combine(dir, name + ".c");
            File.WriteAllText(json, rf.ToJson());
            var shown = new CounterexampleFiles(Display(json), Display(c));
            File.WriteAllText(c, CReproducer.Write(rf, shown.ReplayPath));
            return shown;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Program.UsageException($"cannot write the counterexample to '{dir}': {e.Message}");
        }
    }

    public static string FileName(Finding p) => $"{p.Property.Name}-{p.Failure.InvariantId}";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _displayAs = new(StringComparer.Ordinal);

    /// <summary>Paths under from are shown as under to (a run writes to a staging folder swapped in at its end; each
    /// staging folder is unique, so runs in one process keep their own).</summary>
    public static void DisplayAs(string from, string to) => _displayAs[from.TrimEnd('/')] = to;

    /// <summary>Inside the lab VM results go to /lab-out, which the host sees as its own out directory: name the host's path.
    /// A run writing to its staging folder names the folder it will be swapped into.</summary>
    public static string Display(string path)
    {
        foreach (var (from, to) in _displayAs)
            if (path == from || path.StartsWith(from + "/", StringComparison.Ordinal))
                return Path.Combine(to, path[Math.Min(path.Length, from.Length + 1)..]);
        var labOut = Environment.GetEnvironmentVariable("LAB_OUT");
        var hostOut = Environment.GetEnvironmentVariable("CONFORMANCE_HOST_OUT");
        if (!string.IsNullOrEmpty(labOut) && !string.IsNullOrEmpty(hostOut) && path.StartsWith(labOut.TrimEnd('/') + "/", StringComparison.Ordinal))
            return Path.Combine(hostOut, path[(labOut.TrimEnd('/').Length + 1)..]);
        return path;
    }
}
