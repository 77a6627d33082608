using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;
using Conformance.Adapters;
using Conformance.Generators;
using Conformance.Properties;

namespace Conformance.Reports;

/// <summary>A replay file that is corrupt, from another version, or names something this suite does not know.</summary>
public sealed class ReplayFormatException(string message) : Exception(message);

/// <summary>
/// A counterexample as data: the target it ran on, the seed and options that found it, and the shrunk op
/// sequence with each step's outcome on the target and every outcome the documentation allows there.
/// `--replay FILE` runs exactly these steps again; the C reproducer is written from the same record.
/// Format: "conformance-replay/1", described in the README (Replay files and C reproducers).
/// </summary>
public sealed record ReplayFile
{
    public const string FormatName = "conformance-replay/1";

    /// <summary>"model", "broken:NAME" or "kernel".</summary>
    public required string Target { get; init; }
    /// <summary>The model's profile name; for a kernel, the profile is read from the device again.</summary>
    public required string Profile { get; init; }
    /// <summary>The certified device (kernel) or null.</summary>
    public string? Device { get; init; }
    /// <summary>The driver behind Device (QUERYCAP driver, heap name, DRM driver): a replay elsewhere must find the same.</summary>
    public string? Driver { get; init; }
    public required string Kernel { get; init; }
    /// <summary>Symbolic device names the ops open → paths on the machine that ran them.</summary>
    public required IReadOnlyDictionary<string, string> Devices { get; init; }
    /// <summary>sizeimage of the first video node's OUTPUT queue (an output QBUF carries one frame of it; on a mem2mem node its
    /// OUTPUT queue's), 0 when there is none.</summary>
    public long OutputPayload { get; init; }
    /// <summary>The pixel format (fourcc) the suite set on the first video node before certifying it
    /// (<see cref="VideoNodeProfile.PixelFormat"/>); 0 when it kept the driver's format. The C reproducer sets it the same way
    /// before its first step. Written only when non-zero, so files of single-planar queues read as before.</summary>
    public uint PixelFormat { get; init; }
    /// <summary>The first video node's buffer type where the C reproducer needs it: a multi-planar queue (its steps read the
    /// plane sizes with VIDIOC_G_FMT of this type), a <see cref="PixelFormat"/> or a <see cref="Pipeline"/> to set; 0 otherwise. Written only when non-zero.</summary>
    public uint VideoBufType { get; init; }
    /// <summary>The first video node is a mem2mem node (<see cref="VideoNodeProfile.IsMem2Mem"/>): its CAPTURE queue's mmap offsets
    /// start at DST_QUEUE_OFF_BASE, which a reproducer must add where QUERYBUF gives no offset. Written only when true.</summary>
    public bool VideoMem2Mem { get; init; }
    /// <summary>The media pipeline the suite configured for the first video node (<see cref="VideoNodeProfile.Pipeline"/>):
    /// the C reproducer sets the same pad formats and video format before its first step. Written only when there is one.</summary>
    public MediaPipeline? Pipeline { get; init; }
    public required ulong Seed { get; init; }
    public required int Sequences { get; init; }
    public required string Property { get; init; }
    public required int MaxLength { get; init; }
    public bool SlowOps { get; init; }
    /// <summary>The broken invariant; null for a sample sequence that passed (written for the C round trip).</summary>
    public string? Invariant { get; init; }
    public string? Source { get; init; }
    public string? Rule { get; init; }
    /// <summary>1-based step that diverged; 0 when the check is after the last step (e.g. a leaked dma-buf).</summary>
    public int FailingStep { get; init; }
    public string? Expected { get; init; }
    public string? Actual { get; init; }
    public string? Detail { get; init; }
    public int Reproduced { get; init; }
    public int ReproRuns { get; init; }
    /// <summary>The known kernel issue (spec/known-issues.json ID) the failure matched when it was recorded, or null.</summary>
    public string? Known { get; init; }
    /// <summary>Invariants the run had already reported failing on this target when it found this one: at their steps the
    /// oracle followed the target (a known divergence there is not this counterexample), so a replay does the same.</summary>
    public IReadOnlyList<string> AlreadyFailing { get; init; } = [];
    public required string Command { get; init; }
    public required IReadOnlyList<ExpectedStep> Steps { get; init; }

    public bool Failed => Invariant != null;

    /// <summary>What a replay file records of the first video node's format: its <see cref="PixelFormat"/>, and its
    /// <see cref="VideoBufType"/> where a reproducer needs it (a multi-planar queue or a pixel format to set).</summary>
    public static (uint PixelFormat, uint VideoBufType) VideoFormat(TargetProfile profile)
    {
        if (profile.Video.Count == 0) return (0, 0);
        var v = profile.Video[0];
        return (v.PixelFormat, v.PixelFormat != 0 || v.MultiPlanar || v.Pipeline != null ? v.BufType : 0);
    }

    public OpSequence Sequence => new(Seed, Steps.Select(s => s.Op).ToImmutableArray());

    public string ToJson()
    {
        var steps = new JsonArray();
        // the text as the console and the C reproducer show it (handles renumbered v1, v2, ...); the op keeps its ids
        var texts = TextReport.StepTexts(Steps.Select(s => (s.Op, s.Actual)).ToList());
        foreach (var (s, text) in Steps.Zip(texts))
        {
            var step = new JsonObject
            {
                ["op"] = OpJson.ToJson(s.Op),
                ["text"] = text,
                ["actual"] = Out(s.Actual),
                ["allowed"] = new JsonArray(s.Allowed.Select(a => (JsonNode)Out(a)).ToArray()),
                ["any_value"] = s.AnyValue,
                ["cited"] = new JsonArray(s.Cited.Select(c => (JsonNode)JsonValue.Create(c)).ToArray()),
            };
            // a parallel block's step: what it may return under each order of its block (ExpectedStep.ByOrder)
            if (s.ByOrder is { } byOrder)
                step["allowed_by_order"] = new JsonArray(byOrder.Select(list => (JsonNode)new JsonArray(list.Select(a => (JsonNode)Out(a)).ToArray())).ToArray());
            steps.Add(step);
        }
        var target = new JsonObject
        {
            ["kind"] = Target, ["profile"] = Profile, ["device"] = Device, ["driver"] = Driver, ["kernel"] = Kernel,
            ["devices"] = new JsonObject(Devices.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["output_payload"] = OutputPayload,
        };
        // a single-planar queue in the driver's own format records neither, as files did before they existed
        if (PixelFormat != 0) target["pixel_format"] = PixelFormat;
        if (VideoBufType != 0) target["video_buf_type"] = VideoBufType;
        if (VideoMem2Mem) target["video_m2m"] = true;
        if (Pipeline is { } mp)
            target["media_pipeline"] = new JsonObject
            {
                ["media"] = mp.MediaDevice, ["path"] = mp.Path,
                ["pads"] = new JsonArray(mp.Settings.Select(x => (JsonNode)new JsonObject
                {
                    ["subdev"] = x.Subdev, ["entity"] = x.Entity, ["pad"] = x.Pad, ["code"] = x.Code, ["width"] = x.Width, ["height"] = x.Height, ["field"] = x.Field,
                }).ToArray()),
                ["nodes"] = new JsonArray(mp.Nodes.Select(x => (JsonNode)new JsonObject
                {
                    ["node"] = x.Node, ["buf_type"] = x.BufType, ["pixel_format"] = x.PixelFormat, ["width"] = x.Width, ["height"] = x.Height,
                }).ToArray()),
            };
        var o = new JsonObject
        {
            ["format"] = FormatName,
            ["suite_version"] = SuiteVersion.Text,
            ["target"] = target,
            ["run"] = new JsonObject
            {
                ["seed"] = Seed, ["sequences"] = Sequences, ["property"] = Property, ["max_length"] = MaxLength, ["slow_ops"] = SlowOps, ["command"] = Command,
            },
            ["failure"] = !Failed ? null : new JsonObject
            {
                ["invariant"] = Invariant, ["rule"] = Rule, ["source"] = Source, ["step"] = FailingStep, ["expected"] = Expected, ["actual"] = Actual,
                ["detail"] = Detail, ["reproduced"] = Reproduced, ["runs"] = ReproRuns, ["known"] = Known,
                ["already_failing"] = new JsonArray(AlreadyFailing.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()),
            },
            ["steps"] = steps,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static JsonObject Out(in Outcome o) => new() { ["errno"] = o.Errno.ToString(), ["r0"] = o.R0, ["r1"] = o.R1, ["r2"] = o.R2 };

    public static ReplayFile Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ReplayFormatException($"cannot read replay file '{path}': {e.Message}"); }
        try { return Parse(text); }
        catch (ReplayFormatException e) { throw new ReplayFormatException($"{path}: {e.Message}"); }
    }

    public static ReplayFile Parse(string text)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(text); }
        catch (JsonException e) { throw new ReplayFormatException($"not valid JSON ({e.Message})"); }
        if (root is not JsonObject o) throw new ReplayFormatException("not a replay file (the top level is not a JSON object)");
        var format = o["format"] is JsonValue fv && fv.TryGetValue<string>(out var f) ? f : null;
        if (format != FormatName)
            throw new ReplayFormatException(format == null ? $"not a replay file (no \"format\": \"{FormatName}\")" : $"format \"{format}\" is not one this suite reads ({FormatName})");
        var t = Obj(o, "target");
        var run = Obj(o, "run");
        var fail = o["failure"] is null ? null : Obj(o, "failure");
        if (o["steps"] is not JsonArray arr) throw new ReplayFormatException("\"steps\" is missing or not an array");
        var steps = new List<ExpectedStep>();
        try
        {
            for (int i = 0; i < arr.Count; i++)
            {
                var where = $"step {i + 1}";
                if (arr[i] is not JsonObject so) throw new ReplayFormatException($"{where}: not an object");
                var op = OpJson.FromJson(so["op"], where);
                if (so["allowed"] is not JsonArray allowed || allowed.Count == 0) throw new ReplayFormatException($"{where}: \"allowed\" must be a non-empty array");
                var cited = so["cited"] is JsonArray ca ? ca.Select(c => c?.GetValue<string>() ?? "").ToArray() : throw new ReplayFormatException($"{where}: \"cited\" must be an array");
                IReadOnlyList<IReadOnlyList<Outcome>>? byOrder = null;
                if (so["allowed_by_order"] is { } bo)
                {
                    if (op.Branch == 0) throw new ReplayFormatException($"{where}: \"allowed_by_order\" on a step that is in no parallel block");
                    byOrder = bo is JsonArray alts && alts.Count > 0
                        ? alts.Select((alt, j) => alt is JsonArray list && list.Count > 0
                            ? (IReadOnlyList<Outcome>)list.Select((a, k) => In(a, $"{where}.allowed_by_order[{j}][{k}]")).ToArray()
                            : throw new ReplayFormatException($"{where}: allowed_by_order[{j}] must be a non-empty array")).ToArray()
                        : throw new ReplayFormatException($"{where}: \"allowed_by_order\" must be a non-empty array");
                }
                else if (op.Branch != 0) throw new ReplayFormatException($"{where}: a parallel block's step needs \"allowed_by_order\"");
                steps.Add(new ExpectedStep(op, In(so["actual"], $"{where}.actual"), allowed.Select((a, k) => In(a, $"{where}.allowed[{k}]")).ToArray(),
                    Bool(so, "any_value"), cited) { ByOrder = byOrder });
            }
            OpJson.CheckHandles(steps.Select(s => s.Op).ToList());
            foreach (var (start, end) in Linearization.Blocks(steps.Select(s => s.Op).ToList()))
                if (steps.Skip(start).Take(end - start).Select(s => s.ByOrder!.Count).Distinct().Count() != 1)
                    throw new ReplayFormatException($"steps {start + 1} to {end}: a parallel block's steps must list the same number of orders");
        }
        catch (OpFormatException e) { throw new ReplayFormatException(e.Message); }
        catch (InvalidOperationException e) { throw new ReplayFormatException($"a step has a value of the wrong type ({e.Message})"); }
        int failing = fail == null ? 0 : (int)Num(fail, "step", 0, steps.Count);
        if (steps.Count == 0) throw new ReplayFormatException("the sequence has no steps");
        var devices = t["devices"] is JsonObject dv
            ? dv.ToDictionary(kv => kv.Key, kv => kv.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new ReplayFormatException($"target.devices.{kv.Key} must be a string"))
            : throw new ReplayFormatException("target.devices is missing");
        if (t["pixel_format"] is not null && t["video_buf_type"] is null)
            throw new ReplayFormatException("target.pixel_format needs target.video_buf_type (the node whose format it is)");
        return new ReplayFile
        {
            Target = Str(t, "kind")!, Profile = Str(t, "profile")!, Device = Str(t, "device", optional: true), Driver = Str(t, "driver", optional: true),
            Kernel = Str(t, "kernel")!, Devices = devices, OutputPayload = Num(t, "output_payload", 0, uint.MaxValue),
            PixelFormat = t["pixel_format"] is null ? 0 : (uint)Num(t, "pixel_format", 0, uint.MaxValue),
            VideoBufType = t["video_buf_type"] is null ? 0 : (uint)Num(t, "video_buf_type", 0, uint.MaxValue),
            VideoMem2Mem = t["video_m2m"] is not null && Bool(t, "video_m2m"),
            Pipeline = t["media_pipeline"] is null ? null : ReadPipeline(Obj(t, "media_pipeline")),
            Seed = run["seed"] is JsonValue sv && sv.TryGetValue<ulong>(out var seed) ? seed : throw new ReplayFormatException("run.seed must be an unsigned 64-bit number"),
            Sequences = (int)Num(run, "sequences", 1, int.MaxValue), Property = Str(run, "property")!, MaxLength = (int)Num(run, "max_length", 1, int.MaxValue),
            SlowOps = Bool(run, "slow_ops"), Command = Str(run, "command")!,
            Invariant = fail == null ? null : Str(fail, "invariant")!, Rule = fail == null ? null : Str(fail, "rule", optional: true),
            Source = fail == null ? null : Str(fail, "source")!, FailingStep = failing,
            Expected = fail == null ? null : Str(fail, "expected")!, Actual = fail == null ? null : Str(fail, "actual")!,
            Detail = fail == null ? null : Str(fail, "detail", optional: true),
            Reproduced = fail == null ? 0 : (int)Num(fail, "reproduced", 0, int.MaxValue), ReproRuns = fail == null ? 0 : (int)Num(fail, "runs", 0, int.MaxValue),
            Known = fail == null ? null : Str(fail, "known", optional: true),
            AlreadyFailing = fail?["already_failing"] is JsonArray af ? af.Select(x => x is JsonValue v && v.TryGetValue<string>(out var id) ? id
                : throw new ReplayFormatException("failure.already_failing must be a list of invariant IDs")).ToArray() : [],
            Steps = steps,
        };
    }

    private static MediaPipeline ReadPipeline(JsonObject mp)
    {
        var pads = mp["pads"] as JsonArray ?? throw new ReplayFormatException("target.media_pipeline.pads must be a list");
        var settings = pads.Select(n => n is JsonObject o
            ? new PadFormat(Str(o, "subdev")!, Str(o, "entity")!, (uint)Num(o, "pad", 0, uint.MaxValue), (uint)Num(o, "code", 0, uint.MaxValue),
                (uint)Num(o, "width", 0, uint.MaxValue), (uint)Num(o, "height", 0, uint.MaxValue), (uint)Num(o, "field", 0, uint.MaxValue))
            : throw new ReplayFormatException("target.media_pipeline.pads holds a non-object")).ToList();
        var nodes = (mp["nodes"] as JsonArray ?? throw new ReplayFormatException("target.media_pipeline.nodes must be a list")).Select(n => n is JsonObject o
            ? new NodeFormat(Str(o, "node")!, (uint)Num(o, "buf_type", 0, uint.MaxValue), (uint)Num(o, "pixel_format", 0, uint.MaxValue),
                (uint)Num(o, "width", 0, uint.MaxValue), (uint)Num(o, "height", 0, uint.MaxValue))
            : throw new ReplayFormatException("target.media_pipeline.nodes holds a non-object")).ToList();
        return new MediaPipeline(Str(mp, "media")!, settings, nodes, [], [], Str(mp, "path")!);
    }

    private static JsonObject Obj(JsonObject o, string key) => o[key] as JsonObject ?? throw new ReplayFormatException($"\"{key}\" is missing or not an object");

    private static string? Str(JsonObject o, string key, bool optional = false)
    {
        var n = o[key];
        if (n == null && optional) return null;
        return n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new ReplayFormatException($"\"{key}\" must be a string");
    }

    private static long Num(JsonObject o, string key, long min, long max) =>
        o[key] is JsonValue v && v.TryGetValue<long>(out var n) && n >= min && n <= max ? n
            : throw new ReplayFormatException($"\"{key}\" must be a whole number from {min} to {max}");

    private static bool Bool(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : throw new ReplayFormatException($"\"{key}\" must be true or false");

    private static Outcome In(JsonNode? n, string where)
    {
        if (n is not JsonObject o) throw new ReplayFormatException($"{where}: not an outcome object");
        var e = Str(o, "errno")!;
        if (!Enum.TryParse<Errno>(e, false, out var errno) || !Enum.IsDefined(errno)) throw new ReplayFormatException($"{where}: unknown errno \"{e}\"");
        return new Outcome(errno, Num(o, "r0", long.MinValue, long.MaxValue), Num(o, "r1", long.MinValue, long.MaxValue), Num(o, "r2", long.MinValue, long.MaxValue));
    }
}
