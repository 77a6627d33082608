using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// A video node of a media-controller pipeline (vimc's Raw Capture 0 as the lab's discovery configures it): the replay file
/// records the pipeline's pad and node formats, and the C reproducer sets them, origin first, before its first step, the
/// certified node by its symbolic name and the others by path.
/// </summary>
public class PipelineReproducerTests
{
    private static readonly MediaPipeline Vimc = new("/dev/media4",
        [
            new("/dev/v4l-subdev0", "Sensor A", 0, 0x3014, 640, 480, V4L2_FIELD_NONE),   // MEDIA_BUS_FMT_SRGGB8_1X8
            new("/dev/v4l-subdev2", "Debayer A", 0, 0x3014, 640, 480, V4L2_FIELD_NONE),
        ],
        [new("/dev/video12", V4L2_BUF_TYPE_VIDEO_CAPTURE, 0x42474752, 640, 480), new("/dev/video14", V4L2_BUF_TYPE_VIDEO_CAPTURE, 0x33424752, 640, 480)],
        [], [], "Sensor A, Debayer A, Raw Capture 0, Scaler, RGB/YUV Capture");

    /// <summary>Marks "no pipeline" for <see cref="Sample"/>.</summary>
    private static readonly MediaPipeline Plain = Vimc with { Path = "none" };

    private static ReplayFile Sample(MediaPipeline? pipeline = null)
    {
        var profile = TargetProfile.VividLike with { Video = [TargetProfile.VividLike.Video[0] with { Pipeline = pipeline ?? Vimc }] };
        if (ReferenceEquals(pipeline, Plain)) profile = TargetProfile.VividLike;
        var gen = new SequenceGenerator(profile, ["vb2", "dmabuf", "heap"]) { SlowOps = true };
        var paths = new Dictionary<string, string>(RunSite.DefaultPaths(profile)) { ["video0"] = "/dev/video12" };
        var site = new RunSite("kernel", profile.Name, profile, "/dev/video12", "vimc", paths);
        using var model = new ReferenceModel(profile);
        for (ulong seed = 1; ; seed++)
        {
            new LockstepProperty().Trace(gen.Generate(seed, 30), model, null, out var steps);
            if (steps.Any(s => s.Op is Open { Device: "video0" }))
                return Counterexamples.Sample(site, Program.Parse([]), "lockstep", seed, 1, steps, "test");
        }
    }

    [Fact]
    public void The_replay_file_records_the_pipeline_and_reads_it_back()
    {
        var rf = Sample();
        Assert.Same(Vimc, rf.Pipeline);
        Assert.Equal(V4L2_BUF_TYPE_VIDEO_CAPTURE, rf.VideoBufType);
        var json = rf.ToJson();
        Assert.Contains("\"media_pipeline\"", json);
        var back = ReplayFile.Parse(json);
        Assert.Equal(Vimc.Settings, back.Pipeline!.Settings);
        Assert.Equal(Vimc.Nodes, back.Pipeline.Nodes);
        Assert.Equal(json, back.ToJson());
        Assert.Contains("target.media_pipeline.pads must be a list",
            Assert.Throws<ReplayFormatException>(() => ReplayFile.Parse(json.Replace("\"pads\": [", "\"pads\": 3, \"x\": ["))).Message);
        // a node outside a media pipeline records none, and its reproducer configures none
        var plain = Sample(Plain);
        Assert.DoesNotContain("media_pipeline", plain.ToJson());
        Assert.DoesNotContain("set_pad_format", CReproducer.Write(plain));
    }

    [Fact]
    public void The_reproducer_configures_the_pipeline_before_the_first_step_and_compiles()
    {
        var c = CReproducer.Write(Sample());
        var main = c[c.IndexOf("int main(", StringComparison.Ordinal)..];
        int sensor = main.IndexOf("set_pad_format(\"/dev/v4l-subdev0\", \"Sensor A\", 0, 0x3014, 640, 480, 1)", StringComparison.Ordinal);
        int debayer = main.IndexOf("set_pad_format(\"/dev/v4l-subdev2\", \"Debayer A\", 0, 0x3014, 640, 480, 1)", StringComparison.Ordinal);
        int mine = main.IndexOf("set_video_format(dev_path[", StringComparison.Ordinal);
        int other = main.IndexOf("set_video_format(\"/dev/video14\", V4L2_BUF_TYPE_VIDEO_CAPTURE, v4l2_fourcc('R', 'G', 'B', '3'), 640, 480)", StringComparison.Ordinal);
        Assert.True(sensor >= 0 && debayer > sensor && mine > debayer && other > mine, main[..Math.Min(main.Length, 2000)]);
        Assert.True(other < main.IndexOf("rc = run();", StringComparison.Ordinal));
        Assert.Contains(" * Pipeline:  before the first step, the media pipeline Sensor A", c);
        Assert.Null(CCompile.Check(c));
    }
}
