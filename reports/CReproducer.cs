using System.Text;
using Conformance.Adapters;
using Conformance.Generators;
using Conformance.Properties;
using static Conformance.Adapters.Uapi;

namespace Conformance.Reports;

/// <summary>
/// A counterexample as one standalone C file (libc and the kernel's uapi headers only) that a driver's
/// developer can build and run without this suite: it opens the same devices, makes the same calls with
/// the same arguments, and checks each step against every outcome the documentation allows there (never
/// against what a broken target did), printing KTAP. Each op computes its observed values exactly as the
/// kernel adapter does (adapters/Kernel), so the two agree step by step. It starts from the format the suite certified
/// the video node with: the recorded pixel format (<see cref="ReplayFile.PixelFormat"/>) is set before the first step, and
/// a multi-planar step reads the planes of the current format with VIDIOC_G_FMT, as the adapter's profile read them.
/// </summary>
public static class CReproducer
{
    public const int ExitDocumented = 0, ExitDiverged = 1, ExitSetup = 2, ExitInconclusive = 4;

    public static string Write(ReplayFile r, string? replayPath = null)
    {
        var slots = new Slots(r.Steps);
        var em = new Emitter(slots, r.OutputPayload, r.VideoBufType, r.VideoMem2Mem);
        var body = new StringBuilder();
        var names = TextReport.StepTexts(r.Steps.Select(s => (s.Op, s.Actual)).ToList());
        bool endCheck = r.Property == "release";
        // DMABUF-LIFE-4's property: nothing allocated on the dma-buf paths outlives the sequence (SLUB's alloc_traces)
        bool memoryCheck = r.Property == "kernel-memory";
        int total = r.Steps.Count + (endCheck || memoryCheck ? 1 : 0);
        // the fds that name a dma-buf EXPBUF made (or a dup of one): its size follows the plane's length, which a format
        // step may have let the device choose
        var exported = new HashSet<int>();
        foreach (var s in r.Steps)
            if (s.Op is ExpBuf || s.Op.AliasOf.Id > 0 && exported.Contains(s.Op.AliasOf.Id)) exported.Add(s.Op.Id);
        var blocks = Linearization.Blocks(r.Steps.Select(s => s.Op).ToList());
        var branchFunctions = new StringBuilder();
        for (int i = 0; i < r.Steps.Count; i++)
        {
            var s = r.Steps[i];
            int n = i + 1;
            if (s.Op.Branch != 0)
            {
                int end = blocks.First(b => b.Start == i).End;
                Block(r, i, end, names, em, body, branchFunctions, exported);
                i = end - 1;
                continue;
            }
            var text = CString(Ktap(names[i]));
            body.Append($"\n\t/* {n}. {Comment(names[i])} */\n");
            if (s.Allowed.All(a => a.Errno == Errno.NotRun))
            {
                body.Append($"\tstep_skipped({n}, {text}, {CString(NotRunReason(s, r.Steps.Take(i)))});\n");
                continue;
            }
            em.Headers(s.Op);
            var code = s.Op.Process != 0 && s.Op is ProcessOp ? em.InP1(s.Op) : s.Op.ReadOnlyArg ? em.ReadOnlyArg(s.Op) : s.Op.FdTableFull ? em.FdTableFull(s.Op) : s.Op.Accept(em);
            // values a device chose (contents it wrote, a format's sizes and the lengths that follow from them) are compared
            // as learned from this device where an earlier step learned them
            // (1: contents, learned by the steps that read them; 2: a format's sizes, learned by the format steps; 3: a
            // buffer's length, which follows them; 4: the size of a dma-buf EXPBUF made of a plane, its length in whole pages)
            int content = Content(s.Op, exported);
            var (entries, takenEntry) = Compact(s, Checked(s.Op, r.Invariant), keepValues: content == 2);
            // a CAPTURE buffer allocated after a decoder signalled a source change has the format's size, which is the
            // decoder's choice (VB2-DEC-3): learned from this device's VIDIOC_G_FMT, not the recorded one
            if (s.Op is QueryBuf { Type: var qt } q && !IsOutputType(qt) && s.Cited.Contains(Conformance.Adapters.Model.Inv.DecStreamFormat))
                code = em.LearnFormatSize(q, entries.Where(a => a.Err == Errno.OK).Select(a => a.R0).Distinct()) + code;
            code = Emitter.ShownValues(code, s.Allowed);
            var allowed = string.Join(", ", entries.Select(a => $"{{ {CErr(a.Err)}, {L(a.R0)}, {L(a.R0Max)}, {L(a.R1)}, {L(a.R2)}, {a.Mask} }}"));
            var expectedText = CString(Alternatives([.. s.Allowed.Select(a => a.Errno == Errno.NotRun ? "not run" : s.Op.Observed(a)).Distinct()]));
            body.Append("\t{\n");
            body.Append($"\t\tstatic const struct allowed allowed[] = {{ {allowed} }};\n");
            body.Append("\t\tstruct outcome o;\n");
            // a pure query that found the device not yet done may look again: the recorded run saw it later
            var retry = Retry(s);
            if (retry != null) body.Append("\t\tstart_waiting();\n\t\tfor (;;) {\n" + Indent(code, 3) + $"\t\t\tif (!({retry}) || !still_waiting()) break;\n\t\t}}\n");
            else body.Append(Indent(code, 2));
            body.Append($"\t\trc = check({n}, {text}, &o, allowed, {entries.Count}, {takenEntry}, {(s.AnyValue ? 1 : 0)}, {content}, {expectedText});\n");
            body.Append("\t\tif (rc != 0)\n\t\t\treturn rc;\n\t}\n");
        }
        if (endCheck)
        {
            body.Append($"\n\t/* {total}. after every fd is closed and every mapping unmapped, no dma-buf the sequence created is alive */\n");
            body.Append($"\tcleanup();\n\treturn end_check({total}, live_before);\n");
        }
        else if (memoryCheck)
        {
            body.Append($"\n\t/* {total}. after every fd is closed and every mapping unmapped, nothing allocated on the dma-buf paths for the sequence is still allocated */\n");
            body.Append($"\tcleanup();\n\treturn memory_check({total}, tracked);\n");
        }
        else body.Append("\treturn 0;\n");
        var devs = OpenedDevices(r);
        var setup = PixelFormatSetup(r, devs, em);

        var sb = new StringBuilder();
        sb.Append(Header(r, replayPath, total));
        sb.Append("#define _GNU_SOURCE\n");
        foreach (var h in Slots.SystemHeaders.Concat(blocks.Count > 0 ? ["pthread.h", "sched.h"] : []).Concat(em.UapiHeaders.Order(StringComparer.Ordinal))) sb.Append($"#include <{h}>\n");
        sb.Append('\n');
        sb.Append($"#define NSTEPS {total}\n#define NSLOTS {slots.Count + 1}\n");
        sb.Append($"/* the step the recorded run departed from the documentation at (0: none); a departure at another step is inconclusive */\n#define FAILING_STEP {(r.Failed ? (r.FailingStep > 0 ? r.FailingStep : total) : 0)}\n");
        sb.Append($"#define OUTPUT_PAYLOAD {r.OutputPayload}u\n");
        if (blocks.Count > 0)
            sb.Append($"/* a parallel block's race shows in some runs only: a run in which every step is as documented is made again, up to this many in all (a sample that passed: once) */\n#define RACE_RUNS {(r.Failed ? RaceRuns : 1)}\n");
        sb.Append("\n/* symbolic device names the steps open, and their paths (NAME=PATH on the command line overrides one) */\n");
        sb.Append($"static const char *dev_name[] = {{ {string.Join(", ", devs.Select(d => CString(d.Key)).DefaultIfEmpty("NULL"))} }};\n");
        sb.Append($"static const char *dev_path[] = {{ {string.Join(", ", devs.Select(d => CString(d.Value)).DefaultIfEmpty("NULL"))} }};\n");
        sb.Append($"#define NDEVS {devs.Count}\n");
        sb.Append($"/* what each step's result is: 1 an fd, 2 a mapping, 3 a GEM handle, 4 a vgem fence id (for the clean-up) */\n");
        sb.Append($"static const int slot_kind[NSLOTS] = {{ 0{string.Concat(slots.Kinds.Select(k => $", {k}"))} }};\n");
        sb.Append(Prelude);
        foreach (var helper in em.Helpers.Order(StringComparer.Ordinal)) sb.Append(Helpers[helper]);
        if (memoryCheck) sb.Append(MemoryHelpers);
        if (em.P1Cases.Count > 0 || em.Helpers.Contains("p1")) sb.Append(P1Steps(em.P1Cases));
        sb.Append(branchFunctions);
        sb.Append("\n/* The sequence. Returns 0 when every step was as documented, 1 at the first that was not, 4 when the\n * device took another documented outcome than the recorded run at a step the rest depends on. */\n");
        sb.Append("static int run(void)\n{\n\tint rc = 0;\n");
        if (endCheck) sb.Append("\tint live_before = live_dmabufs();\n");
        else if (memoryCheck) sb.Append("\tint tracked = take_chains(&chains_before);\n");
        else sb.Append("\t(void)rc;\n");
        if (em.Helpers.Contains("hugetlb_pool")) sb.Append("\tpool_base();\n");
        sb.Append(body);
        sb.Append("}\n");
        // the second process is this program started again: it serves P1's steps instead of running the sequence
        sb.Append(em.Helpers.Contains("p1") ? MainDevices.Replace("\tint rc = 0, attempt;\n\n", "\tint rc = 0, attempt;\n\n\tif (argc == 2 && strcmp(argv[1], P_ARG) == 0)\n\t\treturn p_serve();\n") : MainDevices)
            .Append(setup).Append(MainAttempts);
        var program = sb.ToString();
        // every clean-up ends P1 first: its exit releases what it holds
        return em.Helpers.Contains("p1") ? program.Replace("static UNUSED void cleanup(void)\n{\n", "static void p_stop(int proc);\nstatic void p_stop_all(void);\n\nstatic UNUSED void cleanup(void)\n{\n\tp_stop_all();\n") : program;
    }

    /// <summary>The other processes' steps: one case per step (by op id), the same C as a step in this process.</summary>
    private static string P1Steps(IReadOnlyDictionary<int, string> cases)
    {
        var sb = new StringBuilder("\n/* the steps the other processes run, by their request number; passed: the fd the request carried (-1: none) */\n");
        sb.Append("static struct outcome p_step(int step, int passed, const struct p_req *q, int *send)\n{\n\tstruct outcome o = { NOT_RUN, 0, 0, 0 };\n\n");
        sb.Append("\t(void)passed;\n\t(void)q;\n\t(void)send;\n\tswitch (step) {\n");
        foreach (var (id, code) in cases)
            sb.Append($"\tcase {id}: {{\n").Append(Indent(code, 2)).Append("\t\tbreak;\n\t}\n");
        sb.Append("\t}\n\treturn o;\n}\n");
        return sb.ToString();
    }

    /// <summary>How many times a reproducer runs a sequence with a parallel block whose every step was as documented.</summary>
    public const int RaceRuns = 200;

    /// <summary>
    /// A parallel block, steps [start, end): one C function per branch (into <paramref name="functions"/>) that waits at a
    /// barrier and makes its steps' calls in order, storing each outcome; in run(), the threads started and joined
    /// (run_block), then check_block: the block is as documented when some order of its steps explains every outcome, each
    /// step's tables per order from <see cref="ExpectedStep.ByOrder"/>.
    /// </summary>
    private static void Block(ReplayFile r, int start, int end, IReadOnlyList<string> names, Emitter em, StringBuilder body, StringBuilder functions,
        HashSet<int> exported)
    {
        int count = end - start;
        var steps = r.Steps.Skip(start).Take(count).ToList();
        var branches = Enumerable.Range(0, count).GroupBy(k => steps[k].Op.Branch).OrderBy(g => g.Key).ToList();
        string Fn(int branch) => $"block{start + 1}_{(char)('A' + branch - 1)}";
        foreach (var g in branches)
        {
            functions.Append($"\n/* branch {(char)('A' + g.Key - 1)} of the parallel block of steps {start + 1} to {end}: step{(g.Count() > 1 ? "s" : "")} {string.Join(", ", g.Select(k => start + k + 1))} */\n");
            functions.Append($"static void *{Fn(g.Key)}(void *arg)\n{{\n\tstruct outcome *po = arg;\n\n\tblock_start();\n");
            foreach (var k in g)
            {
                var s = steps[k];
                functions.Append($"\t/* {start + k + 1}. {Comment(names[start + k])} */\n\t{{\n");
                if (s.ByOrder!.All(list => list.All(a => a.Errno == Errno.NotRun)))
                    functions.Append("\t\tstruct outcome o = { NOT_RUN, 0, 0, 0 };\n\n");
                else
                {
                    em.Headers(s.Op);
                    functions.Append("\t\tstruct outcome o;\n\n").Append(Indent(s.Op.Accept(em), 2));
                }
                functions.Append($"\t\tpo[{k}] = o;\n\t}}\n");
            }
            functions.Append("\treturn NULL;\n}\n");
        }
        int orders = steps[0].ByOrder!.Count;
        var tables = new StringBuilder();
        var alt = new List<string>();
        var nalt = new List<int>();
        for (int j = 0; j < orders; j++)
            for (int k = 0; k < count; k++)
            {
                var s = steps[k];
                var (entries, _) = Compact(s with { Allowed = s.ByOrder![j] }, Checked(s.Op, r.Invariant));
                tables.Append($"\t\tstatic const struct allowed s{start + k + 1}_{j}[] = {{ {string.Join(", ", entries.Select(a => $"{{ {CErr(a.Err)}, {L(a.R0)}, {L(a.R0Max)}, {L(a.R1)}, {L(a.R2)}, {a.Mask} }}"))} }};\n");
                alt.Add($"s{start + k + 1}_{j}");
                nalt.Add(entries.Count);
            }
        string Texts(int j) => "(" + string.Join(", ", steps.Select((s, k) => Alternatives([.. s.ByOrder![j].Select(a => a.Errno == Errno.NotRun ? "not run" : s.Op.Observed(a)).Distinct()]))) + ")";
        var expected = string.Join(" or ", Enumerable.Range(0, orders).Select(Texts));
        body.Append($"\n\t/* {start + 1}-{end}. a parallel block: {string.Join(", ", branches.Select(g => $"branch {(char)('A' + g.Key - 1)} step{(g.Count() > 1 ? "s" : "")} {string.Join(", ", g.Select(k => start + k + 1))}"))}, ");
        body.Append("each branch on a thread of its own, all released at once; as documented when some order of the steps gives every outcome */\n");
        body.Append("\t{\n").Append(tables);
        body.Append($"\t\t/* [order][step]: what each step may return under each order of the block the documentation tells apart */\n");
        body.Append($"\t\tstatic const struct allowed *const alt[] = {{ {string.Join(", ", alt)} }};\n");
        body.Append($"\t\tstatic const int nalt[] = {{ {string.Join(", ", nalt)} }};\n");
        body.Append($"\t\tstatic const int any_value[] = {{ {string.Join(", ", steps.Select(s => s.AnyValue ? 1 : 0))} }};\n");
        // contents a step reads are compared as learned from this device, as a step outside a block compares them
        body.Append($"\t\tstatic const int content[] = {{ {string.Join(", ", steps.Select(s => Content(s.Op, exported)))} }};\n");
        body.Append($"\t\tstatic const char *const what[] = {{ {string.Join(", ", Enumerable.Range(start, count).Select(i => CString(Ktap(names[i]))))} }};\n");
        body.Append($"\t\tstatic void *(*const branch[])(void *) = {{ {string.Join(", ", branches.Select(g => Fn(g.Key)))} }};\n");
        body.Append($"\t\tstruct outcome po[{count}];\n\n");
        body.Append($"\t\trun_block({branches.Count}, branch, po);\n");
        // the order the recorded run's outcomes fit (-1: none, where it failed): another documented order is a departure
        int recorded = Enumerable.Range(0, orders).FirstOrDefault(j => steps.All(st => st.ByOrder![j].Any(a => Fits(a, st.Actual, st.AnyValue))), -1);
        body.Append($"\t\trc = check_block({start + 1}, {count}, what, po, {orders}, alt, nalt, any_value, content, {recorded}, {CString(expected)});\n");
        body.Append("\t\tif (rc != 0)\n\t\t\treturn rc;\n\t}\n");
        em.Helpers.Add("block");
    }

    /// <summary>Which value of a step's outcome the device chose and an earlier step learned, compared as learned (the C
    /// helper learned()): 1 contents read through a mapping, 2 a format's sizes, 3 a buffer's length, 4 the size of a dma-buf
    /// EXPBUF made (<paramref name="exported"/>: those fds and their dups); 0 none.</summary>
    private static int Content(Op op, HashSet<int> exported) =>
        op is ReadStamp or TransferStamp ? 1 : op is SetFmt ? 2 : op is QueryBuf ? 3
            : op is Llseek { Whence: SEEK_END } l && exported.Contains(l.Fd.Id) ? 4 : 0;

    /// <summary>Whether an outcome is the allowed one, as <see cref="ExpectedStep.Taken"/> compares them.</summary>
    private static bool Fits(Outcome allowed, Outcome actual, bool anyValue) =>
        allowed.Errno == actual.Errno && (anyValue || allowed.R0 == actual.R0) && allowed.R1 == actual.R1 && allowed.R2 == actual.R2;

    /// <summary>Observed fields of an outcome, as the mask in the C file's allowed table names them.</summary>
    [Flags]
    private enum Field { R0 = 1, R1 = 2, R2 = 4, All = R0 | R1 | R2 }

    /// <summary>
    /// The fields a step's rule constrains, so the reproducer travels to another driver of the same kind: the capability
    /// bits REQBUFS and CREATE_BUFS report are the driver's to choose (read from the device itself, they are not what
    /// the step tests) unless the broken rule is about them.
    /// </summary>
    private static Field Checked(Op op, string? invariant) => op switch
    {
        ReqBufs when invariant != Conformance.Adapters.Model.Inv.ReqBufsCaps => Field.R0,
        CreateBufs when invariant != Conformance.Adapters.Model.Inv.ReqBufsCaps => Field.R0 | Field.R1,
        // the mem2mem rules constrain a buffer's state, not its length (the driver's frame size)
        QueryBuf when invariant is Conformance.Adapters.Model.Inv.M2mJob or Conformance.Adapters.Model.Inv.M2mContext
            or Conformance.Adapters.Model.Inv.M2mStreamOff => Field.R1 | Field.R2,
        // a format's sizes are the driver's choice; only their consistency (VB2-FMT-2) is a rule about them
        SetFmt => invariant == Conformance.Adapters.Model.Inv.FmtTry ? Field.R0 : 0,
        // the CAPTURE format following a decoder's stream is about a buffer's length, not its state
        QueryBuf when invariant == Conformance.Adapters.Model.Inv.DecStreamFormat => Field.R0,
        // the drain's EOS is about which event comes, not how many are still pending (VB2-EVENT-2's)
        DQEvent when invariant == Conformance.Adapters.Model.Inv.DrainEos => Field.R0,
        _ => Field.All,
    };

    private readonly record struct Entry(Errno Err, long R0, long R0Max, long R1, long R2, int Mask);

    /// <summary>
    /// The allowed outcomes as C table entries, runs of consecutive r0 values (a count the driver may choose within its
    /// documented bounds) joined into one range; returns the entry the recorded run took (-1: none).
    /// </summary>
    private static (List<Entry> Entries, int Taken) Compact(ExpectedStep s, Field mask, bool keepValues = false)
    {
        var list = new List<Entry>();
        int taken = -1;
        for (int i = 0; i < s.Allowed.Count; i++)
        {
            var a = s.Allowed[i];
            // values no rule constrains read 0, except where the program learns the device's choice from them
            long r1 = keepValues || (mask & Field.R1) != 0 ? a.R1 : 0, r2 = keepValues || (mask & Field.R2) != 0 ? a.R2 : 0;
            if (list.Count > 0 && list[^1] is var last && last.Err == a.Errno && last.R1 == r1 && last.R2 == r2
                && (last.R0Max == a.R0 - 1 || last.R0 <= a.R0 && a.R0 <= last.R0Max))
                list[^1] = last with { R0Max = Math.Max(last.R0Max, a.R0) };
            else list.Add(new Entry(a.Errno, a.R0, a.R0, r1, r2, (int)mask));
            if (i == s.Taken) taken = list.Count - 1;
        }
        return (list, taken);
    }

    /// <summary>The video devices among <see cref="OpenedDevices"/>, by their index there (dev_name[] in the C file).</summary>
    private static IEnumerable<int> VideoDevices(List<KeyValuePair<string, string>> devs) =>
        Enumerable.Range(0, devs.Count).Where(d => devs[d].Key.StartsWith("video", StringComparison.Ordinal));

    /// <summary>
    /// main's set-up before the first attempt: the pixel format the suite certified the video node with
    /// (<see cref="ReplayFile.PixelFormat"/>), set on every video device the steps open; empty when it kept the driver's.
    /// </summary>
    private static string PixelFormatSetup(ReplayFile r, List<KeyValuePair<string, string>> devs, Emitter em) =>
        Mem2MemCheck(r, devs, em) + FormatSetup(r, devs, em) + FormatRestore(r, devs, em);

    /// <summary>
    /// main's set-up when a step sets a format (VIDIOC_S_FMT): a format is the device's state and outlives the program's
    /// files, so each video device's format of every type the steps set is read before the first attempt and put back after
    /// each one (once every file is closed: no queue is busy then), and each attempt starts from the same format.
    /// </summary>
    private static string FormatRestore(ReplayFile r, List<KeyValuePair<string, string>> devs, Emitter em)
    {
        var types = r.Steps.Select(x => x.Op).OfType<SetFmt>().Where(x => !x.Try).Select(x => x.Type).Distinct().Order().ToList();
        if (types.Count == 0 || !VideoDevices(devs).Any()) return "";
        em.Helpers.Add("restore_formats");
        em.UapiHeaders.Add("linux/videodev2.h");
        var sb = new StringBuilder("\n\t/* the steps set a format, which outlives the program: read it now, put it back after each attempt */\n");
        foreach (var d in VideoDevices(devs))
            foreach (var t in types) sb.Append($"\tsave_format({d}, {BufTypeName(t)});\n");
        return sb.Append("\tafter_cleanup = restore_formats;\n").ToString();
    }

    /// <summary>
    /// main's check before the first step of a mem2mem counterexample: every video device the steps open is a mem2mem node
    /// (VIDIOC_QUERYCAP device_caps has V4L2_CAP_VIDEO_M2M or _M2M_MPLANE), since the steps use its two queues and its
    /// CAPTURE offsets; another node is a set-up error (exit 2), not a verdict. Empty for other counterexamples.
    /// </summary>
    private static string Mem2MemCheck(ReplayFile r, List<KeyValuePair<string, string>> devs, Emitter em)
    {
        if (!r.VideoMem2Mem || !VideoDevices(devs).Any()) return "";
        em.Helpers.Add("require_m2m");
        em.UapiHeaders.Add("linux/videodev2.h");
        var sb = new StringBuilder("\n\t/* the steps use a mem2mem node's two queues: check the device is one */\n");
        foreach (var d in VideoDevices(devs)) sb.Append($"\tif (require_m2m({d}) < 0)\n\t\treturn 2;\n");
        return sb.ToString();
    }

    private static string FormatSetup(ReplayFile r, List<KeyValuePair<string, string>> devs, Emitter em)
    {
        if (r.Pipeline is { } mp && VideoDevices(devs).Any())
        {
            em.Helpers.Add("set_pad_format");
            em.UapiHeaders.Add("linux/videodev2.h");
            em.UapiHeaders.Add("linux/v4l2-subdev.h");
            var p = new StringBuilder($"\n\t/* before the first step, the media pipeline the suite configured for the video node ({mp.Path}):\n" +
                "\t * each pad's active format (VIDIOC_SUBDEV_S_FMT), origin first, then the node's format to match the last pad */\n");
            foreach (var x in mp.Settings)
                p.Append($"\tif (set_pad_format({CString(x.Subdev)}, {CString(x.Entity)}, {x.Pad}, 0x{x.Code:x4}, {x.Width}, {x.Height}, {x.Field}) < 0)\n\t\treturn 2;\n");
            // the video nodes: the certified one by its symbolic name (NAME=PATH may move it), the others by path
            string certified = devs[VideoDevices(devs).First()].Value;
            foreach (var n in mp.Nodes)
            {
                string at = n.Node == certified ? $"dev_path[{VideoDevices(devs).First()}]" : CString(n.Node);
                p.Append($"\tif (set_video_format({at}, {BufTypeName(n.BufType)}, {FourCcC(n.PixelFormat)}, {n.Width}, {n.Height}) < 0)\n\t\treturn 2;\n");
            }
            return p.Append('\n').ToString();
        }
        if (r.PixelFormat == 0 || !VideoDevices(devs).Any()) return "";
        em.Helpers.Add("set_pixel_format");
        em.UapiHeaders.Add("linux/videodev2.h");
        var sb = new StringBuilder($"\n\t/* before the first step, the pixel format the suite certified the video node with ({FourCC(r.PixelFormat & 0x7fffffff)}) */\n");
        foreach (var d in VideoDevices(devs))
            sb.Append($"\tif (set_pixel_format({d}, {BufTypeName(r.VideoBufType)}, {FourCcC(r.PixelFormat)}) < 0)\n\t\treturn 2;\n");
        return sb.Append('\n').ToString();
    }

    /// <summary>A fourcc as C: v4l2_fourcc('Y', 'M', '1', '2') (v4l2_fourcc_be with bit 31), or a number when a character is not printable.</summary>
    private static string FourCcC(uint f)
    {
        var c = Enumerable.Range(0, 4).Select(i => (char)((f >> (8 * i)) & (i == 3 ? 0x7fu : 0xffu))).ToArray();
        if (c.Any(x => x < 32 || x > 126 || x is '\'' or '\\')) return $"0x{f:x8}u";
        return $"{((f & 0x80000000u) != 0 ? "v4l2_fourcc_be" : "v4l2_fourcc")}({string.Join(", ", c.Select(x => $"'{x}'"))})";
    }

    /// <summary>The recorded devices the steps open (symbolic name and path), in a stable order.</summary>
    private static List<KeyValuePair<string, string>> OpenedDevices(ReplayFile r) =>
        r.Devices.Where(kv => r.Steps.Any(s => s.Op is Open o && o.Device == kv.Key || s.Op is RequestAlloc a && a.Media == kv.Key))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();

    private static string NotRunReason(ExpectedStep s, IEnumerable<ExpectedStep> before)
    {
        var failed = before.Where(b => b.Op.Creates && !b.Actual.Ok && s.Op.Uses.Any(u => u.Id == b.Op.Id)).ToList();
        return failed.Count > 0 ? "not run: a handle it names was never created"
            : "not run: a handle it names is gone, or the suite's harness does not issue this call (it would fault, sleep, put a second buffer into a request, or leave what the suite certifies)";
    }

    /// <summary>The condition (on o) under which a side-effect-free step may be issued again.</summary>
    private static string? Retry(ExpectedStep s)
    {
        if (s.Allowed.Count < 2 || s.Taken < 0) return null;
        var taken = s.Allowed[s.Taken];
        return s.Op switch
        {
            DQBuf when taken.Ok => "o.err == EAGAIN",   // an EAGAIN dequeues nothing
            QueryBuf when (taken.R1 & V4L2_BUF_FLAG_DONE) != 0 => "o.err == 0 && (o.r1 & V4L2_BUF_FLAG_QUEUED)",
            _ => null,
        };
    }

    private static string Header(ReplayFile r, string? replayPath, int total)
    {
        var sb = new StringBuilder("/*\n");
        void Line(string s = "") => sb.Append(s.Length == 0 ? " *\n" : $" * {Comment(s)}\n");
        void Wrapped(string label, string text)
        {
            var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var line = new StringBuilder(label);
            foreach (var w in words)
            {
                if (line.Length + w.Length + 1 > 100 && line.Length > label.Length) { Line(line.ToString()); line.Clear().Append(new string(' ', label.Length)); }
                line.Append(line.Length == label.Length || line[^1] == ' ' ? "" : " ").Append(w);
            }
            Line(line.ToString());
        }
        var where = r.Target == "kernel" ? $"{r.Device} ({r.Driver}) on Linux {r.Kernel}" : $"the suite's {r.Target} target (profile {r.Profile})";
        if (r.Failed)
        {
            Line("Standalone reproducer written by the buffer-sharing conformance suite.");
            Line();
            Wrapped("Invariant: ", $"{r.Invariant}{(r.Rule != null ? " - " + r.Rule : "")}");
            Wrapped("Source:    ", r.Source ?? "");
            Wrapped("Found:     ", $"property {r.Property} on {where}, seed {r.Seed}; " +
                (r.FailingStep > 0 ? $"step {r.FailingStep} of {r.Steps.Count}" : "the check after the last step") +
                $": expected {r.Expected}, got {r.Actual}" + (r.ReproRuns > 0 ? $"; failed again {r.Reproduced} of {r.ReproRuns} times from a fresh state" : ""));
        }
        else
        {
            Line("A sample sequence written by the buffer-sharing conformance suite: it passed on the target, and this");
            Line("program must agree with the suite's kernel adapter on every step (the round trip CI checks).");
            Line();
            Wrapped("Ran:       ", $"property {r.Property} on {where}, seed {r.Seed}");
        }
        if (r.Target.StartsWith("broken:", StringComparison.Ordinal))
            Wrapped("Note:      ", $"{r.Target} is a deliberately broken model: on a kernel that follows the documentation this program passes.");
        Wrapped("Replay:    ", TextReport.ReplayFileCommand(replayPath ?? "FILE.replay.json", r.Target));
        Wrapped("Found by:  ", r.Command);
        Line();
        Line("Build:     gcc -Wall -I UAPI -o repro repro.c");
        Line("           UAPI: Linux 6.10+ uapi headers with drm/ (./run-suite.sh --emit-headers UAPI writes the lab's 6.12");
        Line("           ones, or `make headers_install` of a kernel tree); Debian's linux-libc-dev lacks drm/ and 6.10's V4L2");
        var devs = OpenedDevices(r);
        Wrapped("Run:       ", "./repro [NAME=PATH ...]   (defaults: " + string.Join(" ", devs.Select(kv => $"{kv.Key}={kv.Value}")) + ")");
        if (r.Pipeline is { } pipe && VideoDevices(devs).Any())
            Wrapped("Pipeline:  ", $"before the first step, the media pipeline {pipe.Path} ({pipe.MediaDevice}) is configured as the suite " +
                $"configured it: {pipe.Settings.Count} pad format(s) with VIDIOC_SUBDEV_S_FMT (the links as the driver enabled them), then " +
                string.Join(", ", pipe.Nodes.Select(n => $"{n.Node} {FourCC(n.PixelFormat & 0x7fffffff)} {n.Width}x{n.Height}")) +
                " with VIDIOC_S_FMT; a pad or node that does not take it is a set-up error");
        else if (r.PixelFormat != 0 && VideoDevices(devs).Any())
            Wrapped("Format:    ", $"before the first step, {string.Join(" and ", VideoDevices(devs).Select(d => devs[d].Key))} " +
                $"{(VideoDevices(devs).Count() > 1 ? "are" : "is")} set to pixel format " +
                $"{FourCC(r.PixelFormat & 0x7fffffff)} (VIDIOC_S_FMT), the format the suite certified it with; a node that does not take it is a set-up error");
        Wrapped("Output:    ", $"KTAP, one result line per step ({total}); REPRO_TRACE=1 adds each step's raw outcome. Every step is checked " +
            "against all outcomes the documentation allows there. Exit 0: every step as documented; 1: a step that is not (the " +
            "counterexample reproduced); 4: inconclusive (in every attempt the device took another documented outcome at a step " +
            "the rest of the sequence depends on, or it departed from the documentation at another step than the recorded one); " +
            "2: a set-up error (a device that cannot be opened, bad arguments). Fields a driver may choose (capability bits, counts " +
            "within their documented bounds) are not compared unless the rule is about them.");
        if (r.Steps.Any(s => s.Op.Branch != 0))
            Wrapped("Parallel:  ", "the steps marked [A], [B], [C] form a parallel block: each branch runs on a thread of its own (pthreads), " +
                "all released together, and the block is as documented when some order of its steps, each branch's in its own order, " +
                $"gives every outcome. A race shows in some runs only: while every step is as documented the sequence runs again, up to {RaceRuns} times.");
        sb.Append(" */\n");
        return sb.ToString();
    }

    // ------------------------------------------------------------------------------------------ helpers

    private static string Comment(string s) => s.Replace("*/", "* /").Replace("/*", "/ *");
    private static string Ktap(string s) => s.Replace('#', 'N').Replace('\n', ' ');
    /// <summary>
    /// The texts of the outcomes a step allows, joined with " or ", where a run of three or more texts that differ only in one
    /// number, each one more than the one before, is written once with that number as "first..last" (a REQBUFS that may grant
    /// 1 to 32 buffers reads "0, count = 1..32, ..." rather than 32 texts).
    /// </summary>
    public static string Alternatives(IReadOnlyList<string> texts)
    {
        // odd indexes hold the numbers (Split keeps what its capture group matched)
        var parts = texts.Select(t => System.Text.RegularExpressions.Regex.Split(t, "([0-9]+)")).ToList();
        var result = new List<string>();
        for (int i = 0; i < parts.Count;)
        {
            int j = i + 1, at = -1;
            while (j < parts.Count && NextInRun(parts[j - 1], parts[j], ref at)) j++;
            if (j - i >= 3)
            {
                var first = (string[])parts[i].Clone();
                first[at] = $"{parts[i][at]}..{parts[j - 1][at]}";
                result.Add(string.Concat(first));
            }
            else for (int k = i; k < j; k++) result.Add(string.Concat(parts[k]));
            i = j;
        }
        return string.Join(" or ", result);
    }

    /// <summary>Whether b is a's text with the number at index <paramref name="at"/> (the first that differs, when -1) one more.</summary>
    private static bool NextInRun(string[] a, string[] b, ref int at)
    {
        if (a.Length != b.Length) return false;
        int differs = -1;
        for (int k = 0; k < a.Length; k++)
            if (a[k] != b[k])
            {
                if (k % 2 == 0 || differs >= 0) return false;
                differs = k;
            }
        if (differs < 0 || at >= 0 && differs != at) return false;
        if (!long.TryParse(a[differs], out var x) || !long.TryParse(b[differs], out var y) || y != x + 1) return false;
        at = differs;
        return true;
    }

    internal static string CString(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
            sb.Append(c switch { '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\t' => "\\t", '?' => "\\?", _ => c < 32 || c > 126 ? $"\\{(int)c:o3}" : c.ToString() });
        return sb.Append('"').ToString();
    }
    /// <summary>A 64-bit signed C literal (LLONG_MIN has no literal of its own).</summary>
    internal static string L(long v) => v == long.MinValue ? "(-9223372036854775807LL - 1)" : $"{v}LL";
    private static string CErr(Errno e) => e switch { Errno.OK => "0", Errno.NotRun => "NOT_RUN", Errno.WouldBlock => "WOULD_BLOCK", _ => e.ToString() };
    private static string Indent(string code, int tabs) =>
        string.Concat(code.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => new string('\t', tabs) + l + "\n"));

    /// <summary>Storage for every resource a step creates: one slot per creating op, in order.</summary>
    private sealed class Slots
    {
        public static readonly string[] SystemHeaders =
            ["errno.h", "fcntl.h", "poll.h", "stdarg.h", "stdint.h", "stdio.h", "stdlib.h", "string.h", "time.h", "unistd.h", "sys/ioctl.h", "sys/mman.h", "sys/stat.h", "linux/types.h"];
        private readonly Dictionary<int, int> _slot = new();
        public readonly List<int> Kinds = new();
        /// <summary>Static kind of each fd slot: dma-buf or not (a START SYNC asks poll first only on a dma-buf, as the adapter does).</summary>
        public readonly HashSet<int> DmaBufs = new();

        public Slots(IReadOnlyList<ExpectedStep> steps)
        {
            foreach (var s in steps)
            {
                if (!s.Op.Creates) continue;
                _slot[s.Op.Id] = _slot.Count + 1;
                Kinds.Add(s.Op.Makes switch
                {
                    Resource.Mapping => 2,
                    Resource.GemHandle => 3,
                    Resource.FenceId => 4,
                    _ => 1,
                });
                if (s.Op is DmaHeapAlloc or DrmDumbExport or UdmabufCreate or UdmabufCreateList or ExpBuf or PrimeHandleToFd
                    || s.Op is Dup d && d.Fd.Id > 0 && DmaBufs.Contains(_slot.GetValueOrDefault(d.Fd.Id))
                    || s.Op is SendFd sf && sf.Fd.Id > 0 && DmaBufs.Contains(_slot.GetValueOrDefault(sf.Fd.Id)))
                    DmaBufs.Add(_slot[s.Op.Id]);
            }
        }

        public int Count => _slot.Count;
        public int Of(Op op) => _slot[op.Id];
        public int Of(Var v) => _slot.TryGetValue(v.Id, out var s) ? s : throw new InvalidOperationException($"{v} is created by no step");
    }

    /// <summary>Each op's C: sets `o` to the outcome exactly as adapters/Kernel observes it.</summary>
    /// <param name="videoBufType">The video node's own buffer type (<see cref="ReplayFile.VideoBufType"/>): a multi-planar QBUF
    /// reads the plane sizes with VIDIOC_G_FMT of it. 0 when not recorded: then the step's type.</param>
    private sealed class Emitter(Slots slots, long outputPayload, uint videoBufType, bool m2m = false) : IOpVisitor<string>
    {
        public readonly HashSet<string> UapiHeaders = new();
        public readonly HashSet<string> Helpers = new();
        /// <summary>The C of each step another process runs, by op id: the cases of p_step.</summary>
        public readonly SortedDictionary<int, string> P1Cases = new();

        /// <summary>A step another process runs: its own C goes into p_step (the same C as in this process, on that process's
        /// slots); here, the request.</summary>
        public string InP1(Op op)
        {
            Helpers.Add("p1");
            P1Cases[op.Id] = op.Accept(this);
            return $"o = in_proc({op.Process}, {op.Id}, -1, 0, NULL);";
        }

        public string Visit(SendFd op)
        {
            Helpers.Add("p1");
            if (op.Process == 0)
            {
                // this process sends; the receiver takes the fd into the step's slot and compares it with the sender's
                P1Cases[op.Id] = $"o = p_took(passed, q, {slots.Of(op)});";
                return $"o = in_proc({op.To}, {op.Id}, {Fd(op.Fd)}, {(op.Cloexec ? 1 : 0)}, NULL);";
            }
            // the other process sends its fd back with its device and inode; this process takes it into the step's slot
            P1Cases[op.Id] = $"o = p_give({Fd(op.Fd)}, send);";
            return $"{{\n\tint got = -1;\n\n\to = in_proc({op.Process}, {op.Id}, -1, {(op.Cloexec ? 1 : 0)}, &got);\n\tif (o.err == 0)\n\t\to = p_sent_back(got, o, {slots.Of(op)});\n}}";
        }

        public string Visit(Fork op)
        {
            Helpers.Add("p1");
            P1Cases[op.Id] = "o = p_forked_here(passed);";
            return $"o = p_fork({op.Process}, {op.To}, {op.Id});";
        }

        public string Visit(ExitProcess op)
        {
            Helpers.Add("p1");
            return $"o = p_exit({op.Process});";
        }

        public void Headers(Op op)
        {
            switch (op)
            {
                case ReqBufs or CreateBufs or QueryBuf or ExpBuf or QBuf or DQBuf or DQBufBlocking or StreamOn or StreamOff or RemoveBufs or MmapVideo or SetFmt:
                    UapiHeaders.Add("linux/videodev2.h"); break;
                case DmaBufSync: UapiHeaders.Add("linux/dma-buf.h"); break;
                case ExportSyncFile or ImportSyncFile: UapiHeaders.Add("linux/dma-buf.h"); UapiHeaders.Add("linux/sync_file.h"); break;
                case SyncMerge or SyncFileInfo: UapiHeaders.Add("linux/sync_file.h"); break;
                case DmaHeapAlloc: UapiHeaders.Add("linux/dma-heap.h"); break;
                case UdmabufCreate or UdmabufCreateList: UapiHeaders.Add("linux/udmabuf.h"); break;
                case DrmDumbExport or DrmCreateDumb or PrimeHandleToFd or PrimeFdToHandle or GemClose or DrmMapDumb:
                    UapiHeaders.Add("drm/drm.h"); UapiHeaders.Add("drm/drm_mode.h"); break;
                case VgemFenceAttach or VgemFenceSignal: UapiHeaders.Add("drm/drm.h"); UapiHeaders.Add("drm/vgem_drm.h"); break;
            }
        }

        /// <summary>
        /// A described ioctl (<see cref="Ioctls"/>) as C: the argument declared with the op's values (their C text, in
        /// <see cref="IoctlSpec.In"/> order), the call, and the outcome read exactly as the kernel adapter reads it from the
        /// same description. created: the op (for a slot); handleSize: the C size of a new GEM handle's object; tail: lines
        /// after the outcome (a handle that is no longer live).
        /// </summary>
        private string Ioctl(IoctlSpec s, string fd, IReadOnlyList<string> values, Op? created = null, string? handleSize = null, string tail = "")
        {
            if (s.Header.Length > 0) UapiHeaders.Add(s.Header);
            var v = s.Var;
            var decl = s.Arg == typeof(void) ? ""
                : s.Arg == typeof(int) ? $"\tint {v} = {values[0]};\n"
                : s.Arg == typeof(string) ? $"\tchar {v}[] = {values[0]};\n"
                : $"\t{s.CType} {v} = {{ {string.Join(", ", s.In.Select((f, i) => $".{f} = {values[i]}"))} }};\n";
            var call = $"xioctl({fd}, {s.Request}, {(s.Arg == typeof(void) ? "NULL" : s.Arg == typeof(string) ? v : "&" + v)})";
            string Out(int k) => k >= s.Out.Count ? "0" : s.Out[k].Mask is { } m ? $"{v}.{s.Out[k].Path} & {m}" : $"{v}.{s.Out[k].Path}";
            var body = s.Result switch
            {
                IoctlResult.Status => $"\to = result({call});",
                IoctlResult.Values => $"\to = {call} < 0 ? fail() : done({Out(0)}, {Out(1)}, {Out(2)});",
                IoctlResult.NewFd => $"\to = {call} < 0 ? fail() : new_fd({v}.{s.Created}, {slots.Of(created!)});",
                IoctlResult.NewFdReturned => $"\to = new_fd({call}, {slots.Of(created!)});",
                IoctlResult.NewHandle => $"\to = {call} < 0 ? fail() : new_handle({v}.{s.Created}, {handleSize}, {slots.Of(created!)});" +
                    string.Concat(Enumerable.Range(1, Math.Max(0, s.Out.Count - 1)).Select(k => $"\n\tif (o.err == 0)\n\t\to.r{k} = {Out(k)};")),
                IoctlResult.NewSyncFile => $"\to = {call} < 0 ? fail() : new_sync_file({v}.{s.Created}, {slots.Of(created!)});",
                _ => throw new InvalidOperationException(s.Result.ToString()),
            };
            if (s.Result == IoctlResult.NewSyncFile) Helpers.Add("file_info");
            return "{\n" + decl + "\n" + body + tail + "\n}";
        }

        private string Fd(Var v) => v.Id == -1 ? "-1" : $"(int)h[{slots.Of(v)}]";
        private string U32(Var v) => v.Id == -1 ? "0xffffffffu" : $"(__u32)h[{slots.Of(v)}]";
        private string Map(Var v) => $"maddr[{slots.Of(v)}]";
        private static string Prot(int p) => Mmap.ProtNames(p);
        private static string MapFlags(int f) => f == MAP_SHARED ? "MAP_SHARED" : "MAP_PRIVATE";
        private static string Type(uint t) => BufTypeName(t);

        public string Visit(IoctlOp op) =>
            Ioctl(op.Spec, Fd(op.On), op.Inputs.Select(a => a.Handle.Id != 0 ? Fd(a.Handle) : a.Text != null ? CString(a.Text) : a.C ?? a.Value.ToString()).ToList());

        public string Visit(Open op) =>
            $"o = new_fd(open(device({CString(op.Device)}), {OpenFlagNames(op.Flags)}{(op.Device.StartsWith("video", StringComparison.Ordinal) && (op.Flags & O_NONBLOCK) == 0 ? " | O_NONBLOCK /* the suite never lets DQBUF sleep */" : "")}), {slots.Of(op)});";
        /// <summary>A consumed handle is no longer live (an fd number that never was needs nothing).</summary>
        private string Kill(Var v, string indent = "") => v.Id <= 0 ? "" : $"\n{indent}if (o.err == 0)\n{indent}\tlive[{slots.Of(v)}] = 0;";
        public string Visit(Close op) => $"o = result(close({Fd(op.Fd)}));" + Kill(op.Fd);
        public string Visit(Dup op) => $"o = new_fd(dup({Fd(op.Fd)}), {slots.Of(op)});";
        public string Visit(FcntlGetFd op) => $"{{\n\tint r = fcntl({Fd(op.Fd)}, F_GETFD);\n\to = r < 0 ? fail() : done(r & FD_CLOEXEC, 0, 0);\n}}";
        public string Visit(PassFd op)
        {
            Helpers.Add("pass_fd");
            return $"o = pass_fd({Fd(op.Fd)}, {(op.Cloexec ? 1 : 0)}, {slots.Of(op)});";
        }
        public string Visit(Exec op)
        {
            Helpers.Add("exec_check");
            return $"{{\n\tconst int fds[] = {{ {string.Join(", ", op.Fds.Select(Fd))} }};\n\n\to = exec_check(fds, {op.Fds.Length});\n}}";
        }
        public string Visit(FcntlGetFl op) => $"{{\n\tint r = fcntl({Fd(op.Fd)}, F_GETFL);\n\to = r < 0 ? fail() : done(r & O_ACCMODE, 0, 0);\n}}";
        public string Visit(Llseek op) => $"{{\n\toff_t r = lseek({Fd(op.Fd)}, {L(op.Offset)}, {WhenceName(op.Whence)});\n\to = r < 0 ? fail() : done(r, 0, 0);\n}}";
        public string Visit(UnknownIoctl op) => $"{{\n\tlong r = xioctl({Fd(op.Fd)}, _IO('b', 0x7f), NULL);\n\to = r < 0 ? fail() : done(r, 0, 0);\n}}";

        public string Visit(Mmap op) =>
            $"o = new_map(mmap(NULL, {op.Length}, {Prot(op.Prot)}, {MapFlags(op.Flags)}, {Fd(op.Fd)}, (off_t)0x{unchecked((ulong)(op.PgOff * PAGE_SIZE)):x}ULL /* page {op.PgOff} */), {op.Length}, {slots.Of(op)});";
        public string Visit(MmapVideo op)
        {
            UapiHeaders.Add("linux/videodev2.h");
            if (IsMultiPlanar(op.Type)) return MmapVideoMplane(op);
            return $"{{\n\t/* the mem offset QUERYBUF reports for the buffer, else where vb2 would put it */\n" +
                $"\tstruct v4l2_buffer b = {{ .index = {op.Index}, .type = {Type(op.Type)}, .memory = V4L2_MEMORY_MMAP }};\n" +
                $"\toff_t off = xioctl({Fd(op.Fd)}, VIDIOC_QUERYBUF, &b) == 0 && b.memory == V4L2_MEMORY_MMAP ? (off_t)b.m.offset + ({op.Plane} << 12) : ((off_t){op.Index} << 15) | ({op.Plane} << 12){DstBase(op.Type)};\n\n" +
                $"\to = new_map(mmap(NULL, {op.Length}, {Prot(op.Prot)}, {MapFlags(op.Flags)}, {Fd(op.Fd)}, off), {op.Length}, {slots.Of(op)});\n}}";
        }
        /// <summary>
        /// mmap of one plane of a multi-planar buffer, at the offset KernelTarget.MmapVideo computes: the plane's own
        /// m.mem_offset from QUERYBUF when the buffer has that plane, plane 0's plus the plane in bits 12.. when it has fewer,
        /// and vb2's layout (index in bits 15.., plane in bits 12..) when there is no such MMAP buffer.
        /// </summary>
        /// <summary>On a mem2mem node a CAPTURE queue's offsets start at DST_QUEUE_OFF_BASE (1 << 30, v4l2-mem2mem.h), so vb2's
        /// layout reaches the queue the type names; nothing elsewhere.</summary>
        private string DstBase(uint type) => m2m && !IsOutputType(type) ? " | ((off_t)1 << 30) /* DST_QUEUE_OFF_BASE: the mem2mem CAPTURE queue */" : "";

        private string MmapVideoMplane(MmapVideo op)
        {
            // plane 0 is the same either way; no buffer has VIDEO_MAX_PLANES planes or more
            var own = op.Plane == 0 ? "(off_t)planes[0].m.mem_offset"
                : op.Plane < VIDEO_MAX_PLANES ? $"b.length > {op.Plane} ? (off_t)planes[{op.Plane}].m.mem_offset : (off_t)planes[0].m.mem_offset + ({op.Plane} << 12)"
                : $"(off_t)planes[0].m.mem_offset + ({op.Plane} << 12)";
            return (op.Plane == 0 ? "{\n\t/* the mem offset QUERYBUF reports for the buffer's plane 0, else where vb2 would put it */\n"
                    : $"{{\n\t/* the mem offset QUERYBUF reports for the buffer's plane {op.Plane} (plane 0's + ({op.Plane} << 12) when it has fewer\n" +
                      "\t * planes), else where vb2 would put it */\n") +
                PlanesBuffer(op.Type, $".index = {op.Index}, ") + "\toff_t off;\n\n" +
                $"\tif (xioctl({Fd(op.Fd)}, VIDIOC_QUERYBUF, &b) == 0 && b.memory == V4L2_MEMORY_MMAP)\n\t\toff = {own};\n" +
                $"\telse\n\t\toff = ((off_t){op.Index} << 15) | ({op.Plane} << 12){DstBase(op.Type)};\n" +
                $"\to = new_map(mmap(NULL, {op.Length}, {Prot(op.Prot)}, {MapFlags(op.Flags)}, {Fd(op.Fd)}, off), {op.Length}, {slots.Of(op)});\n}}";
        }
        public string Visit(MmapAnon op) =>
            $"o = new_map(mmap(NULL, {PageAlign(op.Length)}, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), {op.Length}, {slots.Of(op)});";
        public string Visit(Munmap op) => $"o = result(munmap({Map(op.Map)}, mlen[{slots.Of(op.Map)}]));" + Kill(op.Map);
        public string Visit(MremapGrow op)
        {
            string map = Map(op.Map), len = $"mlen[{slots.Of(op.Map)}]";
            return $"{{\n\tvoid *p = mremap({map}, {len}, {op.NewLength}, MREMAP_MAYMOVE);\n\n" +
                "\tif (p == MAP_FAILED) {\n\t\to = fail();\n\t} else {\n" +
                "\t\t/* can the kernel copy the bytes at the buffer's end? (a page it cannot fault in: EFAULT, no signal) */\n" +
                "\t\tint pf[2];\n\t\tlong long readable = -1;\n\n" +
                $"\t\tif (pipe2(pf, O_CLOEXEC) == 0) {{\n\t\t\treadable = write(pf[1], (char *)p + {op.End}, 8) == 8;\n\t\t\tclose(pf[0]);\n\t\t\tclose(pf[1]);\n\t\t}}\n" +
                $"\t\t{map} = mremap(p, {op.NewLength}, {len}, 0);\n\t\to = done(readable, 0, 0);\n\t}}\n}}";
        }
        public string Visit(WriteStamp op) => $"*(volatile uint64_t *)({Map(op.Map)} + {op.Offset}) = 0x{op.Value:x}ULL;\no = done(0, 0, 0);";
        public string Visit(ReadStamp op) => $"o = done((long long)*(volatile uint64_t *)({Map(op.Map)} + {op.Offset}), 0, 0);";
        public string Visit(TransferStamp op) =>
            $"*(volatile uint64_t *)({Map(op.From)} + {op.FromOffset}) = 0x{op.Value:x}ULL;\n" +
            $"o = done((long long)*(volatile uint64_t *)({Map(op.To)} + {op.ToOffset}), (long long)0x{op.Value:x}ULL, 0);";

        public string Visit(DmaBufSync op)
        {
            bool start = (op.Flags & ~(DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)) == 0 && (op.Flags & DMA_BUF_SYNC_RW) != 0 && (op.Flags & DMA_BUF_SYNC_END) == 0;
            var call = Ioctl(Ioctls.DmaBufSync, Fd(op.Fd), [SyncFlagNames(op.Flags)]);
            if (!start || op.Fd.Id <= 0 || !slots.DmaBufs.Contains(slots.Of(op.Fd))) return call;
            Helpers.Add("ready");
            // a START that would sleep on a fence is not issued: the same usage test as poll
            return $"if (fences_used && !ready({Fd(op.Fd)}, {((op.Flags & DMA_BUF_SYNC_WRITE) != 0 ? "POLLOUT" : "POLLIN")}))\n\to = would_block();\nelse " + call;
        }

        public string Visit(DmaHeapAlloc op)
        {
            if (op.Abi == HeapAbi.Current)
                return $"{{\n\tstruct dma_heap_allocation_data a = {{ .len = {op.Len}ULL, .fd = {op.FdIn}, .fd_flags = {OpenFlagNames((int)op.FdFlags)}, .heap_flags = {op.HeapFlags}ULL }};\n\n" +
                    $"\to = xioctl({Fd(op.Heap)}, DMA_HEAP_IOCTL_ALLOC, &a) < 0 ? fail() : new_fd(a.fd, {slots.Of(op)});\n}}";
            int size = op.Abi == HeapAbi.Short ? 16 : 32;
            return $"{{\n\t/* the {size}-byte form of struct dma_heap_allocation_data: the request's size field selects the version */\n" +
                $"\tuint64_t a[4] = {{ {op.Len}ULL, {op.FdIn}u | ((uint64_t)({OpenFlagNames((int)op.FdFlags)}) << 32), {op.HeapFlags}ULL, 0 }};\n\n" +
                $"\to = xioctl({Fd(op.Heap)}, _IOC(_IOC_READ | _IOC_WRITE, DMA_HEAP_IOC_MAGIC, 0x0, {size}), a) < 0 ? fail() : new_fd((int)(uint32_t)a[1], {slots.Of(op)});\n}}";
        }

        public string Visit(DrmDumbExport op)
        {
            Helpers.Add("dumb_export");
            return $"o = dumb_export({Fd(op.Drm)}, {op.Width}, {op.Height}, {op.Bpp}, {PrimeFlagNames(op.Flags)}, {slots.Of(op)});";
        }
        public string Visit(MemfdCreate op)
        {
            Helpers.Add("memfd");
            return $"o = memfd({op.Size}, {MemfdCreate.FlagNames(op.AllowSealing, op.Hugetlb)}, {SealNames(op.Seals)}, {slots.Of(op)});";
        }
        public string Visit(HugetlbPool op)
        {
            Helpers.Add("hugetlb_pool");
            return "o = hugetlb_pool();";
        }
        public string Visit(UdmabufCreate op) =>
            Ioctl(Ioctls.UdmabufCreate, Fd(op.Dev), [Fd(op.Memfd), op.Flags == UDMABUF_FLAGS_CLOEXEC ? "UDMABUF_FLAGS_CLOEXEC" : $"0x{op.Flags:x}", U64(op.Offset), U64(op.Size)], op);
        /// <summary>A __u64 field's value as C: small ones in decimal, the rest (sizes near 2^32 and 2^64) in hex with ULL.</summary>
        private static string U64(long v) => v is >= 0 and <= int.MaxValue ? $"{v}" : $"0x{(ulong)v:x}ULL";
        public string Visit(UdmabufCreateList op)
        {
            if (op.Count != 0 && op.Count != op.Items.Length && op.Items.Length > 0) return LongList(op);   // (with no items the harness sends nothing)
            var sb = new StringBuilder("{\n");
            sb.Append($"\tunion {{\n\t\tstruct udmabuf_create_list head;\n\t\tchar bytes[sizeof(struct udmabuf_create_list) + {op.Items.Length} * sizeof(struct udmabuf_create_item)];\n\t}} l;\n\n");
            sb.Append($"\tmemset(&l, 0, sizeof(l));\n\tl.head.flags = 0x{op.Flags:x};\n\tl.head.count = {op.Items.Length};\n");
            for (int i = 0; i < op.Items.Length; i++)
                sb.Append($"\tl.head.list[{i}].memfd = {Fd(op.Items[i].Memfd)};\n\tl.head.list[{i}].offset = {U64(op.Items[i].Offset)};\n\tl.head.list[{i}].size = {U64(op.Items[i].Size)};\n");
            sb.Append($"\to = new_fd(xioctl({Fd(op.Dev)}, UDMABUF_CREATE_LIST, &l), {slots.Of(op)});\n}}");
            return sb.ToString();
        }

        /// <summary>A list whose header count is not its drawn items': the items repeated to the count where the op holds them
        /// so (<see cref="UdmabufCreateList.Materialized"/>), else the items alone with the count past them.</summary>
        private string LongList(UdmabufCreateList op)
        {
            long n = op.Sent.LongCount();
            var sb = new StringBuilder("{\n");
            sb.Append($"\tstatic const struct {{ int slot; __u64 offset, size; }} item[] = {{ {string.Join(", ", op.Items.Select(i => $"{{ {slots.Of(i.Memfd)}, {U64(i.Offset)}, {U64(i.Size)} }}"))} }};\n");
            sb.Append($"\tstruct udmabuf_create_list *l = calloc(1, sizeof(*l) + {n} * sizeof(struct udmabuf_create_item));\n\tunsigned int i;\n\n");
            sb.Append($"\tif (!l)\n\t\tabort();\n\tl->flags = 0x{op.Flags:x};\n");
            sb.Append($"\tl->count = {op.Count}u;   /* {(op.Count <= UdmabufCreateList.Materialized ? $"the {op.Items.Length} item(s) below, repeated" : $"only the {op.Items.Length} item(s) below are in memory")} */\n");
            sb.Append($"\tfor (i = 0; i < {n}u; i++) {{\n\t\tl->list[i].memfd = (int)h[item[i % {op.Items.Length}].slot];\n\t\tl->list[i].offset = item[i % {op.Items.Length}].offset;\n\t\tl->list[i].size = item[i % {op.Items.Length}].size;\n\t}}\n");
            sb.Append($"\to = new_fd(xioctl({Fd(op.Dev)}, UDMABUF_CREATE_LIST, l), {slots.Of(op)});\n\tfree(l);\n}}");
            return sb.ToString();
        }

        public string Visit(ReqBufs op) => Ioctl(Ioctls.ReqBufs, Fd(op.Fd), [$"{op.Count}", Type(op.Type), MemoryName(op.Memory)]);
        public string Visit(CreateBufs op) => IsMultiPlanar(op.Type) ? CreateBufsMplane(op) :
            $"{{\n\tstruct v4l2_create_buffers cb = {{ .count = {op.Count}, .memory = {MemoryName(op.Memory)} }};\n\n" +
            $"\t/* the current format, with sizeimage {(op.SizeDelta >= 0 ? "+" : "")}{op.SizeDelta} */\n" +
            $"\tcb.format.type = {Type(op.Type)};\n" +
            $"\tif (xioctl({Fd(op.Fd)}, VIDIOC_G_FMT, &cb.format) == 0) {{\n" +
            $"\t\tlong long size = (long long)cb.format.fmt.pix.sizeimage + ({op.SizeDelta}LL);\n\n" +
            "\t\tcb.format.fmt.pix.sizeimage = size < 0 ? 0 : size > 0xffffffffLL ? 0xffffffffu : (__u32)size;\n" +
            $"\t}} else {{\n\t\tmemset(&cb.format, 0, sizeof(cb.format));\n\t\tcb.format.type = {Type(op.Type)};\n\t}}\n" +
            $"\to = xioctl({Fd(op.Fd)}, VIDIOC_CREATE_BUFS, &cb) < 0 ? fail() : done(cb.index, cb.count, cb.capabilities);\n}}";

        /// <summary>
        /// CREATE_BUFS on a multi-planar queue as KernelTarget.LayOut builds its format: G_FMT, every plane's sizeimage moved
        /// by SizeDelta (clamped to 0..0xffffffff), then the layout's change to the planes. Only the changes the step makes are
        /// written out.
        /// </summary>
        private string CreateBufsMplane(CreateBufs op)
        {
            var change = new StringBuilder();
            var said = new List<string>();
            if (op.SizeDelta != 0)
            {
                said.Add($"each plane's sizeimage {(op.SizeDelta >= 0 ? "+" : "")}{op.SizeDelta}");
                change.Append("\t\tfor (int p = 0; p < mp->num_planes && p < VIDEO_MAX_PLANES; p++) {\n" +
                    $"\t\t\tlong long size = (long long)mp->plane_fmt[p].sizeimage + ({op.SizeDelta}LL);\n\n" +
                    "\t\t\tmp->plane_fmt[p].sizeimage = size < 0 ? 0 : size > 0xffffffffLL ? 0xffffffffu : (__u32)size;\n\t\t}\n");
            }
            switch (op.Layout)
            {
                case PlaneLayout.FewerPlanes:
                    said.Add("one plane fewer");
                    change.Append("\t\tif (mp->num_planes > 0)\n\t\t\tmp->num_planes--;\n");
                    break;
                case PlaneLayout.MorePlanes:
                    said.Add("one plane more, as large as the last");
                    change.Append("\t\tif (mp->num_planes > 0 && mp->num_planes < VIDEO_MAX_PLANES)\n" +
                        "\t\t\tmp->plane_fmt[mp->num_planes] = mp->plane_fmt[mp->num_planes - 1];\n\t\tmp->num_planes++;\n");
                    break;
                case PlaneLayout.LastPlaneZero:
                    said.Add("the last plane's sizeimage 0");
                    change.Append("\t\tif (mp->num_planes > 0)\n\t\t\tmp->plane_fmt[mp->num_planes - 1].sizeimage = 0;\n");
                    break;
            }
            var sb = new StringBuilder($"{{\n\tstruct v4l2_create_buffers cb = {{ .count = {op.Count}, .memory = {MemoryName(op.Memory)} }};\n");
            if (change.Length > 0) sb.Append("\tstruct v4l2_pix_format_mplane *mp = &cb.format.fmt.pix_mp;\n");
            sb.Append($"\n\t/* the current format{(said.Count > 0 ? ", with " + string.Join(" and ", said) : "")} */\n");
            sb.Append($"\tcb.format.type = {Type(op.Type)};\n");
            var zeroed = $"\t\tmemset(&cb.format, 0, sizeof(cb.format));\n\t\tcb.format.type = {Type(op.Type)};\n";
            if (change.Length > 0) sb.Append($"\tif (xioctl({Fd(op.Fd)}, VIDIOC_G_FMT, &cb.format) == 0) {{\n{change}\t}} else {{\n{zeroed}\t}}\n");
            else sb.Append($"\tif (xioctl({Fd(op.Fd)}, VIDIOC_G_FMT, &cb.format) < 0) {{\n{zeroed}\t}}\n");
            sb.Append($"\to = xioctl({Fd(op.Fd)}, VIDIOC_CREATE_BUFS, &cb) < 0 ? fail() : done(cb.index, cb.count, cb.capabilities);\n}}");
            return sb.ToString();
        }

        /// <summary>
        /// The v4l2_buffer KernelTarget.PlanesBuffer makes for a multi-planar queue, as C declarations: a zeroed array of
        /// VIDEO_MAX_PLANES planes, and the buffer with the given members, the type, length VIDEO_MAX_PLANES and m.planes.
        /// </summary>
        private static string PlanesBuffer(uint type, string members) =>
            "\tstruct v4l2_plane planes[VIDEO_MAX_PLANES] = { 0 };\n" +
            $"\tstruct v4l2_buffer b = {{ {members}.type = {Type(type)}, .length = VIDEO_MAX_PLANES, .m.planes = planes }};\n";

        /// <summary>QUERYBUF: r0 is the length of plane op.Plane (-1 when the buffer has no such plane), as KernelTarget.QueryBuf observes it.</summary>
        public string Visit(QueryBuf op)
        {
            if (!IsMultiPlanar(op.Type))
                return Ioctl(Ioctls.QueryBuf, Fd(op.Fd), [$"{op.Index}", Type(op.Type)],
                    tail: op.Plane == 0 ? "" : $"\n\tif (o.err == 0)\n\t\to.r0 = -1;   /* a single-planar buffer has no plane {op.Plane} */");
            // no buffer has VIDEO_MAX_PLANES planes or more
            var length = op.Plane < VIDEO_MAX_PLANES ? $"b.length > {op.Plane} ? (long long)planes[{op.Plane}].length : -1" : "-1";
            return "{\n" + PlanesBuffer(op.Type, $".index = {op.Index}, ") +
                $"\n\t/* r0: plane {op.Plane}'s length, -1 when the buffer has fewer planes (b.length says how many) */\n" +
                $"\to = xioctl({Fd(op.Fd)}, VIDIOC_QUERYBUF, &b) < 0 ? fail() : done({length}, b.flags & STATE_FLAGS, b.memory);\n}}";
        }
        /// <summary>C that maps each recorded length of a buffer allocated after a decoder's source change to the sizeimage this
        /// device's CAPTURE format has now (VIDIOC_G_FMT), so the QUERYBUF that follows compares its length with that.</summary>
        public string LearnFormatSize(QueryBuf op, IEnumerable<long> recorded)
        {
            Helpers.Add("frame_size");
            return "/* the CAPTURE format's size is the decoder's choice: this device's sizeimage is the length expected */\n" +
                string.Concat(recorded.Select(r0 => $"learn(1, {L(r0)}, frame_size({Fd(op.Fd)}, {Type(op.Type)}));\n"));
        }
        public string Visit(WriteFrame op)
        {
            Helpers.Add("fwht_frame");
            var r = Bitstream.Resolutions[op.Res];
            return $"o = mlen[{slots.Of(op.Map)}] < {Bitstream.FrameLength(op.Res)} ? done(0, 0, 0) : done(write_fwht_frame({Map(op.Map)}, {r.Width}, {r.Height}), 0, 0);";
        }
        public string Visit(ExpBuf op) => Ioctl(Ioctls.ExpBuf, Fd(op.Fd), [Type(op.Type), $"{op.Index}", $"{op.Plane}", OpenFlagNames((int)op.Flags)], op);
        public string Visit(QBuf op)
        {
            if (IsMultiPlanar(op.Type)) return QBufMplane(op);
            var sb = new StringBuilder($"{{\n\tstruct v4l2_buffer b = {{ .index = {op.Index}, .type = {Type(op.Type)}, .memory = {MemoryName(op.Memory)}, .field = V4L2_FIELD_NONE }};\n\n");
            if (op.Memory == V4L2_MEMORY_DMABUF) sb.Append($"\tb.m.fd = {Fd(op.Mem)};\n");
            else if (op.Memory == V4L2_MEMORY_USERPTR)
                sb.Append($"\tb.m.userptr = (unsigned long){Map(op.Mem)};\n\tb.length = mlen[{slots.Of(op.Mem)}];\n");
            if (op.Type == V4L2_BUF_TYPE_VIDEO_OUTPUT && op.BytesUsed > 0)
                sb.Append($"\tb.bytesused = {op.BytesUsed};   /* {(op.Memory == V4L2_MEMORY_USERPTR ? "as much as the mapping holds" : "the coded frame written into the buffer")} */\n");
            else if (op.Type == V4L2_BUF_TYPE_VIDEO_OUTPUT && outputPayload > 0)
            {
                Helpers.Add("frame_size");
                sb.Append($"\tb.bytesused = frame_size({Fd(op.Fd)}, {Type(op.Type)});   /* an application fills an output buffer before queueing it: one frame */\n");
            }
            if (op.EffectiveFields == PlaneFields.PayloadLength)
            {
                Helpers.Add("dmabuf_length");
                sb.Append($"\tb.bytesused = dmabuf_length({Fd(op.Mem)}, b.bytesused);   /* the whole plane: the dma-buf's size */\n");
            }
            sb.Append(RequestFields(op));
            if (op.EffectiveFields != PlaneFields.Format)
                sb.Append("\tlong long sent_used = b.bytesused;   /* QBUF writes the buffer back: what it was given */\n");
            sb.Append($"\to = result(xioctl({Fd(op.Fd)}, {op.Request}, &b));\n");
            sb.Append(FieldsShown(op));
            sb.Append('}');
            return sb.ToString();
        }

        /// <summary>
        /// After a QBUF that set its payload fields and succeeded: VIDIOC_QUERYBUF of the buffer, r0 = plane 0's bytesused and
        /// r1 its data_offset (0 on a single-planar queue), both -1 when QUERYBUF fails (KernelTarget.PlaneFieldsShown). The rule
        /// is that QUERYBUF shows what the call passed, whatever the sizes on this device (its dma-buf's size, its format's
        /// sizeimage): a value equal to what this program passed is reported as the recorded run's, any other as it is.
        /// </summary>
        private string FieldsShown(QBuf op)
        {
            if (op.EffectiveFields == PlaneFields.Format) return "";
            string fd = Fd(op.Fd);
            string shown(string used, string offset) =>
                $"done({used} == sent_used ? {RecordedUsed} : {used}, {offset} == sent_offset ? {RecordedOffset} : {offset}, 0)";
            if (!IsMultiPlanar(op.Type))
                return "\tif (o.err == 0) {\n\t\t/* what QUERYBUF shows of the payload now: what this program passed, or not */\n" +
                    $"\t\tstruct v4l2_buffer qb = {{ .index = {op.Index}, .type = {Type(op.Type)} }};\n\n" +
                    $"\t\to = xioctl({fd}, VIDIOC_QUERYBUF, &qb) < 0 ? done(-1, -1, 0) : done((long long)qb.bytesused == sent_used ? {RecordedUsed} : (long long)qb.bytesused, 0, 0);\n\t}}\n";
            return "\tif (o.err == 0) {\n\t\t/* what QUERYBUF shows of plane 0's payload now: what this program passed, or not */\n" +
                "\t\tstruct v4l2_plane qp[VIDEO_MAX_PLANES] = { 0 };\n" +
                $"\t\tstruct v4l2_buffer qb = {{ .index = {op.Index}, .type = {Type(op.Type)}, .length = VIDEO_MAX_PLANES, .m.planes = qp }};\n\n" +
                $"\t\to = xioctl({fd}, VIDIOC_QUERYBUF, &qb) < 0 ? done(-1, -1, 0) : {shown("(long long)qp[0].bytesused", "(long long)qp[0].data_offset")};\n\t}}\n";
        }

        /// <summary>The placeholders <see cref="FieldsShown"/> leaves for the values the recorded run's QUERYBUF showed (the
        /// model's bytesused and data_offset of plane 0), filled in by <see cref="ShownValues"/>.</summary>
        private const string RecordedUsed = "@RECORDED_BYTESUSED@", RecordedOffset = "@RECORDED_DATA_OFFSET@";

        /// <summary>A QBUF step's code with the recorded QUERYBUF values in place of <see cref="FieldsShown"/>'s placeholders:
        /// those of the success the model expected (-2, no value QUERYBUF gives, where it expected a refusal).</summary>
        public static string ShownValues(string code, IEnumerable<Outcome> allowed)
        {
            if (!code.Contains(RecordedUsed, StringComparison.Ordinal)) return code;
            var ok = allowed.FirstOrDefault(a => a.Ok);
            var (used, offset) = ok.Ok ? (ok.R0, ok.R1) : (-2L, -2L);
            return code.Replace(RecordedUsed, $"{used}LL", StringComparison.Ordinal).Replace(RecordedOffset, $"{offset}LL", StringComparison.Ordinal);
        }

        /// <summary>
        /// QBUF on a multi-planar queue as KernelTarget.QBufMplane makes it: a planes array with one entry per plane of the
        /// current format (read with VIDIOC_G_FMT, as the adapter's profile read it at discovery), each plane's memory (a
        /// dma-buf fd with the size fstat reports, or the plane's sizeimage when it reports none; a mapping's address and
        /// length), and on an output queue each plane's sizeimage as bytesused.
        /// </summary>
        private string QBufMplane(QBuf op)
        {
            bool output = IsOutputType(op.Type), dmabuf = op.Memory == V4L2_MEMORY_DMABUF, userptr = op.Memory == V4L2_MEMORY_USERPTR;
            // the sizes are what a dma-buf plane without a size of its own and an output plane's payload take
            bool sizes = dmabuf || output;
            Helpers.Add("format_planes");
            var sb = new StringBuilder("{\n\tstruct v4l2_plane planes[VIDEO_MAX_PLANES] = { 0 };\n");
            sb.Append($"\tstruct v4l2_buffer b = {{ .index = {op.Index}, .type = {Type(op.Type)}, .memory = {MemoryName(op.Memory)}, .field = V4L2_FIELD_NONE, .m.planes = planes }};\n");
            if (sizes) sb.Append("\t__u32 size[VIDEO_MAX_PLANES];\n");
            sb.Append("\n\t/* one entry per plane of the current format */\n");
            sb.Append($"\tb.length = format_planes({Fd(op.Fd)}, {Type(videoBufType != 0 ? videoBufType : op.Type)}, {(sizes ? "size" : "NULL")});\n");
            if (dmabuf)
            {
                Helpers.Add("dmabuf_length");
                sb.Append("\t/* each plane's dma-buf, as long as fstat says it is (the plane's sizeimage when it has no size) */\n");
                foreach (var (m, p) in op.PlaneMem.Select((m, p) => (m, p)).Where(x => x.p < VIDEO_MAX_PLANES))
                    sb.Append($"\tplanes[{p}].m.fd = {Fd(m)};\n\tplanes[{p}].length = dmabuf_length({Fd(m)}, size[{p}]);\n");
            }
            else if (userptr)
            {
                sb.Append("\t/* each plane's user memory: the whole mapping */\n");
                foreach (var (m, p) in op.PlaneMem.Select((m, p) => (m, p)).Where(x => x.p < VIDEO_MAX_PLANES))
                    sb.Append($"\tplanes[{p}].m.userptr = (unsigned long){Map(m)};\n\tplanes[{p}].length = mlen[{slots.Of(m)}];\n");
            }
            if (output)
                sb.Append(op.EffectiveFields switch
                {
                    PlaneFields.PayloadLength => "\t/* every plane's payload: the whole plane */\n\tfor (__u32 p = 0; p < b.length; p++)\n\t\tplanes[p].bytesused = planes[p].length;\n",
                    PlaneFields.OffsetTail => "\t/* every plane's frame at the plane's end: the payload is the whole plane, the data starts sizeimage before its end */\n" +
                        "\tfor (__u32 p = 0; p < b.length; p++) {\n\t\tplanes[p].bytesused = planes[p].length;\n" +
                        "\t\tplanes[p].data_offset = planes[p].length > size[p] ? planes[p].length - size[p] : 0;\n\t}\n",
                    PlaneFields.PayloadPastLength => "\t/* every plane's payload one byte past the plane */\n\tfor (__u32 p = 0; p < b.length; p++)\n\t\tplanes[p].bytesused = planes[p].length + 1;\n",
                    PlaneFields.OffsetAtPayload => "\t/* one frame per plane, its data_offset at the payload's end */\n" +
                        "\tfor (__u32 p = 0; p < b.length; p++) {\n\t\tplanes[p].bytesused = size[p];\n\t\tplanes[p].data_offset = size[p];\n\t}\n",
                    _ => "\t/* an application fills an output buffer before queueing it: one frame, every plane full */\n" +
                        "\tfor (__u32 p = 0; p < b.length; p++)\n\t\tplanes[p].bytesused = size[p];\n",
                });
            sb.Append(RequestFields(op));
            if (op.EffectiveFields != PlaneFields.Format)
                sb.Append("\tlong long sent_used = planes[0].bytesused, sent_offset = planes[0].data_offset;   /* QBUF writes the planes back: what they were given */\n");
            sb.Append($"\to = result(xioctl({Fd(op.Fd)}, {op.Request}, &b));\n");
            sb.Append(FieldsShown(op));
            sb.Append('}');
            return sb.ToString();
        }

        /// <summary>A QBUF into a request: the flag and the request's fd (buffer.rst, request_fd).</summary>
        private string RequestFields(QBuf op) => !op.InRequest ? ""
            : $"\t/* into the request: not queued until the request is (MEDIA_REQUEST_IOC_QUEUE) */\n\tb.flags = V4L2_BUF_FLAG_REQUEST_FD;\n\tb.request_fd = {Fd(op.Req)};\n";

        /// <summary>MEDIA_IOC_REQUEST_ALLOC on the media device (opened for the call, closed after it): a new request fd.</summary>
        public string Visit(RequestAlloc op)
        {
            UapiHeaders.Add("linux/media.h");
            return $"{{\n\tint m = open(device({CString(op.Media)}), O_RDWR | O_CLOEXEC), req = -1;\n\n" +
                $"\to = m < 0 ? fail() : xioctl(m, MEDIA_IOC_REQUEST_ALLOC, &req) < 0 ? fail() : new_fd(req, {slots.Of(op)});\n" +
                "\tif (m >= 0)\n\t\tclose(m);\n}";
        }

        /// <summary>poll() of a request for POLLPRI, zero timeout: r0 = revents &amp; (POLLPRI | POLLERR).</summary>
        public string Visit(RequestPoll op) =>
            $"{{\n\tstruct pollfd p = {{ .fd = {Fd(op.Req)}, .events = POLLPRI }};\n\n" +
            "\to = poll(&p, 1, 0) < 0 ? fail() : done(p.revents & (POLLPRI | POLLERR), 0, 0);\n}";

        /// <summary>poll() of a video node, zero timeout: r0 = revents &amp; (POLLIN | POLLOUT | POLLPRI | POLLERR).</summary>
        public string Visit(EventWait op) =>
            $"{{\n\tstruct pollfd p = {{ .fd = {Fd(op.Fd)}, .events = POLLPRI }};\n\n" +
            $"\to = poll(&p, 1, {EventWait.TimeoutMs}) < 0 ? fail() : done(p.revents & POLLPRI, 0, 0);\n}}";

        public string Visit(VideoPoll op) =>
            $"{{\n\tstruct pollfd p = {{ .fd = {Fd(op.Fd)}, .events = {VideoPoll.Names(op.Events).Replace("|", " | ")} }};\n\n" +
            "\to = poll(&p, 1, 0) < 0 ? fail() : done(p.revents & (POLLIN | POLLOUT | POLLPRI | POLLERR), 0, 0);\n}";

        /// <summary>VIDIOC_S_FMT or VIDIOC_TRY_FMT as KernelTarget.SetFmt makes it: G_FMT, the frame size changed, then the
        /// ioctl: r0..r2 = sizeimage of planes 0..2 (0 past num_planes; plane 0 only on a single-planar queue).</summary>
        public string Visit(SetFmt op)
        {
            bool mp = IsMultiPlanar(op.Type);
            string pix = mp ? "f.fmt.pix_mp" : "f.fmt.pix";
            string change = op.Size switch
            {
                FrameSize.Half => $"\t\t{pix}.width /= 2;\n\t\t{pix}.height /= 2;\n",
                FrameSize.Double => $"\t\t{pix}.width *= 2;\n\t\t{pix}.height *= 2;\n",
                FrameSize.Minimum => $"\t\t{pix}.width = 1;\n\t\t{pix}.height = 1;\n",
                FrameSize.Maximum => $"\t\t{pix}.width = 65535;\n\t\t{pix}.height = 65535;\n",
                _ => "",
            };
            string result = mp
                ? "done(f.fmt.pix_mp.plane_fmt[0].sizeimage, f.fmt.pix_mp.num_planes > 1 ? f.fmt.pix_mp.plane_fmt[1].sizeimage : 0, f.fmt.pix_mp.num_planes > 2 ? f.fmt.pix_mp.plane_fmt[2].sizeimage : 0)"
                : "done(f.fmt.pix.sizeimage, 0, 0)";
            return $"{{\n\tstruct v4l2_format f = {{ .type = {Type(op.Type)} }};\n\n" +
                $"\t/* the current format with {SetFmt.SizeText(op.Size)} */\n" +
                $"\tif (xioctl({Fd(op.Fd)}, VIDIOC_G_FMT, &f) < 0) {{\n\t\to = fail();\n\t}} else {{\n{change}" +
                $"\t\to = xioctl({Fd(op.Fd)}, {(op.Try ? "VIDIOC_TRY_FMT" : "VIDIOC_S_FMT")}, &f) < 0 ? fail() : {result};\n\t}}\n}}";
        }

        /// <summary>DQBUF (non-blocking), with a planes array on a multi-planar queue: r0 = index, r1 = the state flags.</summary>
        public string Visit(DQBuf op) => !IsMultiPlanar(op.Type) ? Ioctl(Ioctls.DQBuf, Fd(op.Fd), [Type(op.Type)])
            : "{\n" + PlanesBuffer(op.Type, "") + $"\n\to = xioctl({Fd(op.Fd)}, VIDIOC_DQBUF, &b) < 0 ? fail() : done(b.index, b.flags & DQBUF_FLAGS, 0);\n}}";
        /// <summary>DQBUF without O_NONBLOCK for this one call (dqbuf_blocking, bounded by alarm()): r0 = index, r1 = the state flags.</summary>
        public string Visit(DQBufBlocking op)
        {
            Helpers.Add("dqbuf_blocking");
            var buffer = IsMultiPlanar(op.Type) ? PlanesBuffer(op.Type, "") : $"\tstruct v4l2_buffer b = {{ .type = {Type(op.Type)} }};\n";
            return "{\n" + buffer + $"\n\to = dqbuf_blocking({Fd(op.Fd)}, &b) < 0 ? fail() : done(b.index, b.flags & DQBUF_FLAGS, 0);\n}}";
        }
        public string Visit(VideoRead op) =>
            $"{{\n\tstatic char rbuf[{Math.Max(1, op.Count)}];\n\tssize_t r = read({Fd(op.Fd)}, rbuf, {op.Count});\n\to = r < 0 ? fail() : done(r, 0, 0);\n}}";
        public string Visit(VideoWrite op) =>
            $"{{\n\tstatic const char wbuf[{Math.Max(1, op.Count)}];\n\tssize_t r = write({Fd(op.Fd)}, wbuf, {op.Count});\n\to = r < 0 ? fail() : done(r, 0, 0);\n}}";
        public string Visit(StreamOn op) => Ioctl(Ioctls.StreamOn, Fd(op.Fd), [Type(op.Type)]);
        public string Visit(StreamOff op) => Ioctl(Ioctls.StreamOff, Fd(op.Fd), [Type(op.Type)]);
        public string Visit(EncoderCmd op) => Ioctl(op.Try ? Ioctls.TryEncoderCmd : Ioctls.EncoderCmd, Fd(op.Fd), [EncoderCmd.EncCmdName(op.Cmd)]);
        public string Visit(DecoderCmd op) => Ioctl(op.Try ? Ioctls.TryDecoderCmd : Ioctls.DecoderCmd, Fd(op.Fd), [DecoderCmd.DecCmdName(op.Cmd)]);
        public string Visit(SubscribeEvent op) => Ioctl(op.Unsubscribe ? Ioctls.UnsubscribeEvent : Ioctls.SubscribeEvent, Fd(op.Fd), [SubscribeEvent.EventName(op.Type)]);
        public string Visit(DQEvent op) => Ioctl(Ioctls.DQEvent, Fd(op.Fd), []);
        public string Visit(RemoveBufs op) => Ioctl(Ioctls.RemoveBufs, Fd(op.Fd), [$"{op.Index}", $"{op.Count}", Type(op.Type)]);

        public string Visit(DrmCreateDumb op) => Ioctl(Ioctls.CreateDumb, Fd(op.Drm), [$"{op.Width}", $"{op.Height}", $"{op.Bpp}"], op, handleSize: "c.size");
        public string Visit(PrimeHandleToFd op) => Ioctl(Ioctls.PrimeHandleToFd, Fd(op.Drm), [U32(op.Handle), PrimeFlagNames(op.Flags), "-1"], op);
        public string Visit(PrimeFdToHandle op) =>
            Ioctl(Ioctls.PrimeFdToHandle, Fd(op.Drm), [Fd(op.Fd), $"0x{op.Flags:x}"], op, handleSize: $"lseek({Fd(op.Fd)}, 0, SEEK_END)");
        public string Visit(GemClose op) => Ioctl(Ioctls.GemClose, Fd(op.Drm), [U32(op.Handle)], tail: Kill(op.Handle, "\t"));
        public string Visit(DrmMapDumb op) =>
            $"{{\n\tstruct drm_mode_map_dumb m = {{ .handle = {U32(op.Handle)} }};\n\n" +
            $"\tif (xioctl({Fd(op.Drm)}, DRM_IOCTL_MODE_MAP_DUMB, &m) < 0)\n\t\to = fail();\n" +
            $"\telse\n\t\to = new_map(mmap(NULL, hsize[{slots.Of(op.Handle)}], {Prot(op.Prot)}, MAP_SHARED, {Fd(op.Drm)}, m.offset), hsize[{slots.Of(op.Handle)}], {slots.Of(op)});\n}}";
        /// <summary>An op whose argument lies in a read-only page (<see cref="Op.ReadOnlyArg"/>): its one ioctl made by ro_ioctl,
        /// between ro_begin and ro_end, which count the fds the failed call left behind into r0 (DMABUF-FAIL-1).</summary>
        public string ReadOnlyArg(Op op)
        {
            var code = op.Accept(this);
            int at = code.IndexOf("xioctl(", StringComparison.Ordinal);
            if (at < 0 || code.IndexOf("xioctl(", at + 1, StringComparison.Ordinal) >= 0)
                throw new InvalidOperationException($"{op.GetType().Name}: a read-only argument needs exactly one ioctl in its C form");
            Helpers.Add("ro_ioctl");
            return "ro_begin();\n" + code.Remove(at, "xioctl(".Length).Insert(at, "ro_ioctl(") + "\nro_end(&o);";
        }

        /// <summary>An op made with the fd table full (<see cref="Op.FdTableFull"/>): its C form between full_begin, which fills
        /// the table up to a lowered RLIMIT_NOFILE, and full_end, which gives the room back and puts the change in live dma-bufs
        /// into r0 (DMABUF-FAIL-2).</summary>
        public string FdTableFull(Op op)
        {
            Helpers.Add("fd_table_full");
            return "full_begin();\n" + op.Accept(this) + "\nfull_end(&o);";
        }

        public string Visit(SameInode op)
        {
            Helpers.Add("same_inode");
            return $"o = same_inode({Fd(op.A)}, {Fd(op.B)});";
        }

        public string Visit(VgemFenceAttach op) =>
            $"{{\n\tstruct drm_vgem_fence_attach a = {{ .handle = {U32(op.Handle)}, .flags = {(op.Flags == VGEM_FENCE_WRITE ? "VGEM_FENCE_WRITE" : $"0x{op.Flags:x}")}, .pad = {op.Pad} }};\n\n" +
            $"\tif (xioctl({Fd(op.Drm)}, DRM_IOCTL_VGEM_FENCE_ATTACH, &a) < 0) {{\n\t\to = fail();\n\t}} else {{\n" +
            $"\t\th[{slots.Of(op)}] = a.out_fence;\n\t\tlive[{slots.Of(op)}] = 1;\n\t\tfences_used = 1;\n\t\tclock_gettime(CLOCK_MONOTONIC, &last_attach);\n\t\to = done(a.out_fence, 0, 0);\n\t}}\n}}";
        public string Visit(VgemFenceSignal op) => Ioctl(Ioctls.VgemFenceSignal, Fd(op.Drm), [U32(op.Fence), $"{op.Flags}"]);
        public string Visit(VgemFenceExpire op)
        {
            Helpers.Add("expire");
            return "o = wait_for_vgem_expiry();";
        }

        public string Visit(ExportSyncFile op) => Ioctl(Ioctls.ExportSyncFile, Fd(op.Fd), [ExportSyncFile.FenceFlags(op.Flags), "-1"], op);
        public string Visit(ImportSyncFile op) =>
            Ioctl(Ioctls.ImportSyncFile, Fd(op.Fd), [ExportSyncFile.FenceFlags(op.Flags), Fd(op.Sync)], tail: "\n\tif (o.err == 0)\n\t\tfences_used = 1;");
        public string Visit(SyncMerge op)
        {
            Helpers.Add("file_info");
            return $"{{\n\tstruct sync_merge_data m = {{ .name = {(op.Named ? "\"merged\"" : "\"\"")}, .fd2 = {Fd(op.Fd2)}, .flags = {op.Flags}, .fence = -1 }};\n\n" +
                $"\to = xioctl({Fd(op.Fd)}, SYNC_IOC_MERGE, &m) < 0 ? fail() : new_sync_file(m.fence, {slots.Of(op)});\n}}";
        }
        public string Visit(SyncFileInfo op)
        {
            Helpers.Add("file_info");
            return $"o = file_info({Fd(op.Fd)}, {op.NumFences}, {op.Flags}, {op.Pad});";
        }
        public string Visit(Poll op) =>
            $"{{\n\tstruct pollfd p = {{ .fd = {Fd(op.Fd)}, .events = {(op.Events switch { 0 => "0", POLLIN => "POLLIN", POLLOUT => "POLLOUT", POLLIN | POLLOUT => "POLLIN | POLLOUT", _ => op.Events.ToString() })} }};\n\n" +
            "\to = poll(&p, 1, 0) < 0 ? fail() : (p.revents & POLLNVAL) ? (struct outcome){ NOT_RUN, 0, 0, 0 } : done(p.revents & (POLLIN | POLLOUT), 0, 0);\n}";
    }

    // ------------------------------------------------------------------------------------------ C text

    private const string Prelude = """

        #define NOT_RUN      (-1)   /* the suite's harness does not issue this step */
        #define WOULD_BLOCK  (-2)   /* a DMA_BUF_IOCTL_SYNC START that would sleep on a fence: not issued */
        #define MAX_ATTEMPTS 10
        #define UNUSED       __attribute__((unused))
        #define STATE_FLAGS  (V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_DONE | V4L2_BUF_FLAG_PREPARED | V4L2_BUF_FLAG_IN_REQUEST)
        /* what a DQBUF observation keeps: the state flags and LAST (a codec's last buffer of a drain) */
        #define DQBUF_FLAGS  (STATE_FLAGS | V4L2_BUF_FLAG_LAST)

        /* what one step did: an errno (0 on success) and up to three values the step observes */
        struct outcome {
        	int err;
        	long long r0, r1, r2;
        };

        /* one outcome the documentation allows: r0 anywhere in [r0, r0_max] (a count the driver may choose within its
         * bounds); mask says which values the step's rule constrains (1: r0, 2: r1, 4: r2), the rest are the driver's */
        struct allowed {
        	int err;
        	long long r0, r0_max, r1, r2;
        	int mask;
        };

        static long long h[NSLOTS];     /* fd, GEM handle or vgem fence id of each created resource */
        static char *maddr[NSLOTS];     /* mappings */
        static size_t mlen[NSLOTS];
        static long long hsize[NSLOTS]; /* size of the object behind a GEM handle */
        static int live[NSLOTS];
        static int fences_used;         /* a fence was attached or imported: a START SYNC may sleep */
        static void (*after_cleanup)(void); /* device state the steps changed, put back once every file is closed */
        static struct timespec last_attach;
        static int trace;
        static int reached;             /* the last step with a result line in this attempt */

        /* a departure from the recorded run: a device's own timing took another documented branch */
        static char departure[512];
        /*
         * what a device chose, learned in this attempt, recorded -> seen: [0] contents it wrote, [1] a format's sizes,
         * [2] those sizes in whole pages (the size of a dma-buf exported from such a plane)
         */
        static long long learned_from[3][64], learned_to[3][64];
        static int nlearned[3];

        /* KTAP lines of the current attempt (an attempt that departs from the recorded run is retried) */
        static char out[1 << 17];
        static size_t outlen;

        __attribute__((format(printf, 1, 2)))
        static UNUSED void emit(const char *fmt, ...)
        {
        	va_list ap;
        	int n;

        	va_start(ap, fmt);
        	n = vsnprintf(out + outlen, sizeof(out) - outlen, fmt, ap);
        	va_end(ap);
        	if (n > 0)
        		outlen = outlen + (size_t)n < sizeof(out) ? outlen + (size_t)n : sizeof(out) - 1;
        }

        static UNUSED struct outcome done(long long r0, long long r1, long long r2)
        {
        	struct outcome o = { 0, r0, r1, r2 };

        	return o;
        }

        static UNUSED struct outcome fail(void)
        {
        	struct outcome o = { errno, 0, 0, 0 };

        	return o;
        }

        static UNUSED struct outcome would_block(void)
        {
        	struct outcome o = { WOULD_BLOCK, 0, 0, 0 };

        	return o;
        }

        static UNUSED struct outcome result(long r)
        {
        	return r < 0 ? fail() : done(0, 0, 0);
        }

        /* the one place EINTR is retried */
        static UNUSED long xioctl(int fd, unsigned long request, void *arg)
        {
        	long r;

        	do
        		r = ioctl(fd, request, arg);
        	while (r < 0 && errno == EINTR);
        	return r;
        }

        static UNUSED struct outcome new_fd(long fd, int slot)
        {
        	if (fd < 0)
        		return fail();
        	h[slot] = fd;
        	live[slot] = 1;
        	return done(0, 0, 0);
        }

        static UNUSED struct outcome new_map(void *p, size_t len, int slot)
        {
        	if (p == MAP_FAILED)
        		return fail();
        	maddr[slot] = p;
        	mlen[slot] = len;
        	live[slot] = 1;
        	return done(0, 0, 0);
        }

        static UNUSED struct outcome new_handle(__u32 handle, long long size, int slot)
        {
        	h[slot] = handle;
        	hsize[slot] = size;
        	live[slot] = 1;
        	return done(handle, 0, 0);
        }

        static const char *device(const char *name)
        {
        	for (int i = 0; i < NDEVS; i++)
        		if (strcmp(dev_name[i], name) == 0)
        			return dev_path[i];
        	return name;
        }

        static const char *errname(int e)
        {
        	static char buf[32];

        	switch (e) {
        	case 0: return "0";
        	case NOT_RUN: return "not run";
        	case WOULD_BLOCK: return "would block on a fence";
        	case EPERM: return "-1 EPERM";
        	case ENOENT: return "-1 ENOENT";
        	case EINTR: return "-1 EINTR";
        	case EIO: return "-1 EIO";
        	case EBADF: return "-1 EBADF";
        	case EAGAIN: return "-1 EAGAIN";
        	case ENOMEM: return "-1 ENOMEM";
        	case EACCES: return "-1 EACCES";
        	case EFAULT: return "-1 EFAULT";
        	case EBUSY: return "-1 EBUSY";
        	case EEXIST: return "-1 EEXIST";
        	case ENODEV: return "-1 ENODEV";
        	case EINVAL: return "-1 EINVAL";
        	case ENFILE: return "-1 ENFILE";
        	case EMFILE: return "-1 EMFILE";
        	case ENOTTY: return "-1 ENOTTY";
        	case ESPIPE: return "-1 ESPIPE";
        	case EPIPE: return "-1 EPIPE";
        	case ERANGE: return "-1 ERANGE";
        	case ENOSYS: return "-1 ENOSYS";
        	case EBADR: return "-1 EBADR";
        	case EOVERFLOW: return "-1 EOVERFLOW";
        	case EBADFD: return "-1 EBADFD";
        	case EOPNOTSUPP: return "-1 EOPNOTSUPP";
        	case ENOBUFS: return "-1 ENOBUFS";
        	case ETIMEDOUT: return "-1 ETIMEDOUT";
        	}
        	snprintf(buf, sizeof(buf), "-1 errno %d", e);
        	return buf;
        }

        /* two buffers in turn, so that one message can describe two outcomes */
        static const char *describe(const struct outcome *o)
        {
        	static char bufs[2][160];
        	static int turn;
        	char *buf = bufs[turn++ & 1];

        	/* a failure's r0 counts what it left behind where the step asks (fds, dma-bufs) */
        	if (o->err != 0 && o->r0 != 0) {
        		snprintf(buf, sizeof(bufs[0]), "%s, r0 %lld", errname(o->err), o->r0);
        		return buf;
        	}
        	if (o->err != 0 || (o->r0 == 0 && o->r1 == 0 && o->r2 == 0))
        		return errname(o->err);
        	snprintf(buf, sizeof(bufs[0]), "0 (values 0x%llx, 0x%llx, 0x%llx)", (unsigned long long)o->r0,
        		 (unsigned long long)o->r1, (unsigned long long)o->r2);
        	return buf;
        }

        /* a value the device chose where the recorded run saw another: later steps expect the device's (the latest answer for it) */
        static UNUSED void learn(int kind, long long recorded, long long got)
        {
        	for (int i = 0; i < nlearned[kind]; i++)
        		if (learned_from[kind][i] == recorded) {
        			learned_to[kind][i] = got;
        			return;
        		}
        	if (recorded != got && nlearned[kind] < 64) {
        		learned_from[kind][nlearned[kind]] = recorded;
        		learned_to[kind][nlearned[kind]++] = got;
        	}
        }

        /* a size rounded up to whole pages of the given size (the recorded run's pages were 4096 bytes) */
        static UNUSED long long page_align(long long size, long page)
        {
        	return (size + page - 1) / page * page;
        }

        static UNUSED long long learned(int kind, long long recorded)
        {
        	for (int i = 0; i < nlearned[kind]; i++)
        		if (learned_from[kind][i] == recorded)
        			return learned_to[kind][i];
        	return recorded;
        }

        /*
         * A step's outcome against every outcome the documentation allows (taken: the one the recorded
         * run took, -1 where it took none). 0: as documented; 1: not; 4: documented, but not the recorded
         * branch, which the rest of the sequence was written for.
         */
        /* the first allowed outcome got is (-1: none); content as for check() */
        static UNUSED int allowed_match(const struct outcome *got, const struct allowed *allowed, int nallowed, int any_value, int content)
        {
        	for (int i = 0; i < nallowed; i++) {
        		const struct allowed *a = &allowed[i];
        		/* a value learned from this device is compared exactly, and only where the outcome is a success */
        		int learnt = content && a->err == 0;
        		long long want = learnt ? learned(content == 1 ? 0 : content == 4 ? 2 : 1, a->r0) : a->r0;

        		if (got->err == a->err && (any_value || !(a->mask & 1) || (got->r0 >= want && got->r0 <= (learnt ? want : a->r0_max))) &&
        		    (!(a->mask & 2) || got->r1 == a->r1) && (!(a->mask & 4) || got->r2 == a->r2))
        			return i;
        	}
        	return -1;
        }

        static UNUSED int check(int n, const char *what, const struct outcome *got, const struct allowed *allowed, int nallowed,
        		 int taken, int any_value, int content, const char *expected)
        {
        	int match;

        	reached = n;
        	if (trace)
        		emit("# trace %d %d %lld %lld %lld\n", n, got->err, got->r0, got->r1, got->r2);
        	match = allowed_match(got, allowed, nallowed, any_value, content);
        	if (match < 0 && FAILING_STEP != 0 && n != FAILING_STEP) {
        		/* not where the recorded run departed: this device fails differently, which proves nothing either way */
        		snprintf(departure, sizeof(departure), "step %d is not as documented (expected %s, got %s), but the recorded departure is at step %d",
        			 n, expected, describe(got), FAILING_STEP);
        		emit("not ok %d - %s # %s\n", n, what, departure);
        		return 5;
        	}
        	if (match < 0) {
        		emit("# step %d is not as documented\n", n);
        		emit("not ok %d - %s # expected %s, got %s\n", n, what, expected, describe(got));
        		return 1;
        	}
        	if (any_value && taken >= 0) {
        		learn(content == 2, allowed[taken].r0, got->r0);
        		if (content == 2) {   /* a format's further planes, and every plane's size in whole pages */
        			learn(1, allowed[taken].r1, got->r1);
        			learn(1, allowed[taken].r2, got->r2);
        			learn(2, page_align(allowed[taken].r0, 4096), page_align(got->r0, sysconf(_SC_PAGESIZE)));
        			learn(2, page_align(allowed[taken].r1, 4096), page_align(got->r1, sysconf(_SC_PAGESIZE)));
        			learn(2, page_align(allowed[taken].r2, 4096), page_align(got->r2, sysconf(_SC_PAGESIZE)));
        		}
        	}
        	if (taken >= 0 && match != taken) {
        		struct outcome rec = { allowed[taken].err, allowed[taken].r0, allowed[taken].r1, allowed[taken].r2 };

        		snprintf(departure, sizeof(departure), "step %d: %s is documented too, but the recorded run took %s",
        			 n, describe(got), describe(&rec));
        		emit("ok %d - %s # %s\n", n, what, departure);
        		return 4;
        	}
        	emit("ok %d - %s\n", n, what);
        	return 0;
        }

        static UNUSED void step_skipped(int n, const char *what, const char *why)
        {
        	reached = n;
        	emit("ok %d - %s # SKIP %s\n", n, what, why);
        }

        /* a side-effect-free query may look again for up to 2 s: the recorded run saw the device later */
        static struct timespec wait_start;

        static UNUSED void start_waiting(void)
        {
        	clock_gettime(CLOCK_MONOTONIC, &wait_start);
        }

        static UNUSED int still_waiting(void)
        {
        	struct timespec now;

        	clock_gettime(CLOCK_MONOTONIC, &now);
        	if ((now.tv_sec - wait_start.tv_sec) * 1000000000LL + (now.tv_nsec - wait_start.tv_nsec) > 2000000000LL)
        		return 0;
        	usleep(5000);
        	return 1;
        }

        /* live dma-bufs system-wide: the "Total N objects" line of debugfs dma_buf/bufinfo, -1 if unreadable */
        static UNUSED int live_dmabufs(void)
        {
        	FILE *f = fopen("/sys/kernel/debug/dma_buf/bufinfo", "r");
        	char line[256];
        	int n = -1, k;

        	if (!f)
        		return -1;
        	while (fgets(line, sizeof(line), f))
        		if (sscanf(line, "Total %d objects", &k) == 1)
        			n = k;
        	fclose(f);
        	return n;
        }

        /* unmap every mapping, then close every fd: GEM handles and vgem fences go with their DRM file */
        static UNUSED void cleanup(void)
        {
        	for (int i = 1; i < NSLOTS; i++)
        		if (live[i] && slot_kind[i] == 2) {
        			munmap(maddr[i], mlen[i]);
        			live[i] = 0;
        		}
        	for (int i = 1; i < NSLOTS; i++)
        		if (live[i] && slot_kind[i] == 1)
        			close((int)h[i]);
        	memset(live, 0, sizeof(live));
        	fences_used = 0;
        	nlearned[0] = nlearned[1] = nlearned[2] = 0;
        	last_attach.tv_sec = 0;
        	last_attach.tv_nsec = 0;
        	if (after_cleanup)
        		after_cleanup();
        }

        static UNUSED int end_check(int n, int before)
        {
        	const char *what = "no dma-buf outlives the last fd and mapping that named it";
        	int after = live_dmabufs();

        	reached = n;
        	if (before < 0 || after < 0) {
        		emit("ok %d - %s # SKIP cannot read /sys/kernel/debug/dma_buf/bufinfo (needs root and debugfs)\n", n, what);
        		return 4;
        	}
        	if (after != before) {
        		emit("# %d live dma-bufs before the sequence, %d after it closed and unmapped everything\n", before, after);
        		emit("not ok %d - %s # expected %d live dma-bufs, got %d\n", n, what, before, after);
        		return 1;
        	}
        	emit("ok %d - %s\n", n, what);
        	return 0;
        }

        """;

    /// <summary>
    /// The kernel-memory end check (DMABUF-LIFE-4), as the suite's AllocTraces reads it: SLUB's live objects per allocating
    /// call chain from every kmalloc cache's alloc_traces (a kernel booted with slub_debug=U,kmalloc-*, debugfs, root), kept
    /// where a frame is on the dma-buf paths; after the clean-up, a chain with more live objects than before the sequence,
    /// still there after up to 15 s (vgem's fences expire 10 s after their attach), is memory the sequence left behind.
    /// </summary>
    private const string MemoryHelpers = """

        #include <dirent.h>

        #define MAXCHAINS 4096
        struct chains {
        	int n;
        	unsigned long long key[MAXCHAINS];
        	long count[MAXCHAINS];
        	char name[MAXCHAINS][200];
        };
        static struct chains chains_before, chains_after;

        /* "get_sg_table.isra.0+0x2e/0x120 [udmabuf]" -> "get_sg_table" */
        static void function_of(const char *frame, char *out, size_t len)
        {
        	size_t i = 0;

        	while (frame[i] && frame[i] != '+' && frame[i] != '.' && frame[i] != ' ' && i + 1 < len) {
        		out[i] = frame[i];
        		i++;
        	}
        	out[i] = 0;
        }

        /* a frame of the code the suite drives: the dma-buf core, heaps, udmabuf, videobuf2, DRM GEM and PRIME, vgem, fences */
        static int on_path(const char *f)
        {
        	static const char *const prefix[] = { "dma_heap", "system_heap", "vb2_", "__vb2_", "drm_gem_", "drm_prime_", "vgem_",
        					      "sync_file", "dma_fence", "dma_resv" };

        	if (strstr(f, "udmabuf") || strstr(f, "dma_buf"))
        		return 1;
        	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
        		if (!strncmp(f, prefix[i], strlen(prefix[i])))
        			return 1;
        	return 0;
        }

        static void add_chain(struct chains *c, unsigned long long key, long count, const char *name)
        {
        	for (int i = 0; i < c->n; i++)
        		if (c->key[i] == key) {
        			c->count[i] += count;
        			return;
        		}
        	if (c->n == MAXCHAINS)
        		return;
        	c->key[c->n] = key;
        	c->count[c->n] = count;
        	snprintf(c->name[c->n], sizeof(c->name[0]), "%s", name);
        	c->n++;
        }

        /* every kmalloc cache's live objects by allocating chain, those with a frame on the dma-buf paths; 0 when none is tracked */
        static int take_chains(struct chains *c)
        {
        	DIR *d = opendir("/sys/kernel/debug/slab");
        	struct dirent *e;
        	int caches = 0;

        	c->n = 0;
        	if (!d)
        		return 0;
        	while ((e = readdir(d))) {
        		char path[512], line[512], fn[128], name[256];
        		unsigned long long key = 0;
        		long count = -1;
        		int path_hit = 0;
        		FILE *f;

        		if (strncmp(e->d_name, "kmalloc-", 8))
        			continue;
        		snprintf(path, sizeof(path), "/sys/kernel/debug/slab/%s/alloc_traces", e->d_name);
        		if (!(f = fopen(path, "r")))
        			continue;
        		caches++;
        		for (int more = 1; more;) {
        			char *p;

        			more = fgets(line, sizeof(line), f) != NULL;
        			for (p = line; more && (*p == ' ' || *p == '\t'); p++)
        				;
        			if (!more || *p == '\n' || *p == 0) {
        				/* the end of a chain: kept if one of its frames is on the path */
        				if (count > 0 && path_hit)
        					add_chain(c, key, count, name);
        				count = -1;
        				continue;
        			}
        			if (count < 0) {
        				char *sp;
        				long n = strtol(p, &sp, 10);

        				if (sp == p)
        					continue;
        				count = n;
        				while (*sp == ' ')
        					sp++;
        				function_of(sp, fn, sizeof(fn));
        				/* the chain's identity: its cache and every frame's function (FNV-1a) */
        				key = 1469598103934665603ULL;
        				for (const char *q = e->d_name; *q; q++)
        					key = (key ^ (unsigned char)*q) * 1099511628211ULL;
        				snprintf(name, sizeof(name), "%.40s: %.120s", e->d_name, fn);
        				path_hit = on_path(fn);
        				continue;
        			}
        			function_of(p, fn, sizeof(fn));
        			for (const char *q = fn; *q; q++)
        				key = (key ^ (unsigned char)*q) * 1099511628211ULL;
        			key = (key ^ '<') * 1099511628211ULL;
        			path_hit |= on_path(fn);
        			if (strlen(name) + strlen(fn) + 5 < sizeof(c->name[0]) && strncmp(fn, "__x64_sys_", 10) && strcmp(fn, "do_syscall_64")
        			    && strncmp(fn, "entry_SYSCALL", 13) && !strstr(name, " <- __x64_sys_") && !strstr(name, fn)) {
        				strcat(name, " <- ");
        				strcat(name, fn);
        			}
        		}
        		fclose(f);
        	}
        	closedir(d);
        	return caches;
        }

        /* the chains of after that hold more than in before; each printed when print is set */
        static long grown(int print)
        {
        	long total = 0;

        	for (int i = 0; i < chains_after.n; i++) {
        		long was = 0;

        		for (int j = 0; j < chains_before.n; j++)
        			if (chains_before.key[j] == chains_after.key[i])
        				was = chains_before.count[j];
        		if (chains_after.count[i] > was) {
        			total += chains_after.count[i] - was;
        			if (print)
        				emit("# +%ld %s (%ld live before)\n", chains_after.count[i] - was, chains_after.name[i], was);
        		}
        	}
        	return total;
        }

        static UNUSED int memory_check(int n, int tracked)
        {
        	const char *what = "nothing allocated on the dma-buf paths outlives the last fd and mapping of the sequence's buffers";
        	long more = 0;

        	reached = n;
        	if (!tracked) {
        		emit("ok %d - %s # SKIP no kmalloc cache's allocations are tracked (boot with slub_debug=U,kmalloc-*, mount debugfs, run as root)\n", n, what);
        		return 4;
        	}
        	/* late frees: RCU, and vgem's fences that expire 10 s after their attach */
        	for (int waited = 0; waited <= 15; waited++) {
        		if (waited)
        			sleep(1);
        		take_chains(&chains_after);
        		if (!(more = grown(0)))
        			break;
        	}
        	if (more) {
        		grown(1);
        		emit("not ok %d - %s # %ld live object(s) more than before the sequence, 15 s after its clean-up\n", n, what, more);
        		return 1;
        	}
        	emit("ok %d - %s\n", n, what);
        	return 0;
        }

        """;

    private static readonly Dictionary<string, string> Helpers = new()
    {
        ["block"] = """

            static int block_n, block_arrived;

            /* a branch's start: spin until every branch of the block has arrived, so that their first calls enter the kernel
             * within about a microsecond of each other (a blocking barrier wakes the early ones tens of microseconds late) */
            static void block_start(void)
            {
            	__atomic_add_fetch(&block_arrived, 1, __ATOMIC_SEQ_CST);
            	for (unsigned spins = 1; __atomic_load_n(&block_arrived, __ATOMIC_SEQ_CST) < block_n; spins++)
            		if (spins % 4096 == 0)
            			sched_yield();
            }

            /* a parallel block: each branch on a thread of its own, all started together (block_start), then joined */
            static void run_block(int n, void *(*const *branch)(void *), struct outcome *po)
            {
            	pthread_t t[3];
            	int err;

            	block_n = n;
            	__atomic_store_n(&block_arrived, 0, __ATOMIC_SEQ_CST);
            	for (int i = 0; i < n; i++)
            		if ((err = pthread_create(&t[i], NULL, branch[i], po)) != 0) {
            			fprintf(stderr, "error: pthread_create: %s\n", strerror(err));
            			_exit(2);
            		}
            	for (int i = 0; i < n; i++)
            		pthread_join(t[i], NULL);
            }

            /*
             * The n steps from first on ran at once: as documented when some order of them explains every outcome, i.e. for
             * some j each step k's outcome is in alt[j * n + k]. 0: as documented; 1: not; 5: not, but the recorded run
             * departed at another step.
             */
            /* whether the block's outcomes are what order j allows */
            static int block_fits(int n, const struct outcome *got, int j, const struct allowed *const *alt, const int *nalt, const int *any_value,
            		      const int *content)
            {
            	for (int k = 0; k < n; k++)
            		if (allowed_match(&got[k], alt[j * n + k], nalt[j * n + k], any_value[k], content[k]) < 0)
            			return 0;
            	return 1;
            }

            /* recorded: the order the recorded run's outcomes fit (-1: none); the steps after the block were written for it */
            static int check_block(int first, int n, const char *const *what, const struct outcome *got, int norders,
            		       const struct allowed *const *alt, const int *nalt, const int *any_value, const int *content, int recorded,
            		       const char *expected)
            {
            	char text[512];
            	size_t len = 0;
            	int at, order = -1;

            	for (int j = 0; j < norders && order < 0; j++)
            		if (block_fits(n, got, j, alt, nalt, any_value, content))
            			order = j;
            	text[0] = '\0';
            	for (int k = 0; k < n; k++) {
            		if (trace)
            			emit("# trace %d %d %lld %lld %lld\n", first + k, got[k].err, got[k].r0, got[k].r1, got[k].r2);
            		if (len < sizeof(text))
            			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", k ? ", " : "(", describe(&got[k]));
            	}
            	if (len < sizeof(text))
            		snprintf(text + len, sizeof(text) - len, ")");
            	reached = first + n - 1;
            	if (order >= 0 && recorded >= 0 && !block_fits(n, got, recorded, alt, nalt, any_value, content)) {
            		/* a documented order, not the recorded run's, which the rest of the sequence was written for */
            		snprintf(departure, sizeof(departure), "steps %d to %d ran in another documented order than the recorded run's, giving %.400s",
            			 first, first + n - 1, text);
            		for (int k = 0; k < n; k++)
            			emit("ok %d - %s%s%s\n", first + k, what[k], k == n - 1 ? " # " : "", k == n - 1 ? departure : "");
            		return 4;
            	}
            	if (order >= 0) {
            		for (int k = 0; k < n; k++)
            			emit("ok %d - %s\n", first + k, what[k]);
            		return 0;
            	}
            	at = FAILING_STEP >= first && FAILING_STEP < first + n ? FAILING_STEP : first + n - 1;
            	if (FAILING_STEP != 0 && at != FAILING_STEP) {
            		snprintf(departure, sizeof(departure), "no order of steps %d to %d gives %.400s, but the recorded departure is at step %d",
            			 first, first + n - 1, text, FAILING_STEP);
            		emit("not ok %d - %s # %s\n", at, what[at - first], departure);
            		return 5;
            	}
            	emit("# no order of steps %d to %d, run at once, gives what they returned\n", first, first + n - 1);
            	for (int k = 0; k < n; k++)
            		if (first + k == at)
            			emit("not ok %d - %s # expected %s, got %s\n", at, what[k], expected, text);
            		else
            			emit("ok %d - %s # ran at once with the other steps of the block\n", first + k, what[k]);
            	return 1;
            }

            """,
        ["format_planes"] = """

            /*
             * The current format's number of planes (VIDIOC_G_FMT of the video node's own buffer type; 0 when that fails, as on
             * an fd that is not the node) and, when size is not NULL, each plane's sizeimage.
             */
            static __u32 format_planes(int fd, __u32 type, __u32 *size)
            {
            	struct v4l2_format f = { .type = type };
            	__u32 n;

            	if (size)
            		memset(size, 0, VIDEO_MAX_PLANES * sizeof(*size));
            	if (xioctl(fd, VIDIOC_G_FMT, &f) < 0)
            		return 0;
            	n = f.fmt.pix_mp.num_planes < VIDEO_MAX_PLANES ? f.fmt.pix_mp.num_planes : VIDEO_MAX_PLANES;
            	for (__u32 p = 0; size && p < n; p++)
            		size[p] = f.fmt.pix_mp.plane_fmt[p].sizeimage;
            	return n;
            }

            """,
        ["dmabuf_length"] = """

            /* a dma-buf plane's length: the fd's size as fstat reports it, else (not a dma-buf, or no fd) the plane's sizeimage */
            static __u32 dmabuf_length(int fd, __u32 sizeimage)
            {
            	struct stat st;

            	return fstat(fd, &st) == 0 && st.st_size > 0 ? (__u32)st.st_size : sizeimage;
            }

            """,
        ["fwht_frame"] = $$"""

            /*
             * One FWHT frame (V4L2_PIX_FMT_FWHT, pixfmt-compressed.rst; struct fwht_cframe_hdr in the kernel's
             * drivers/media/test-drivers/vicodec/codec-fwht.h): the 8-byte magic, then big-endian version, width, height, flags,
             * colorspace, xfer_func, ycbcr_enc, quantization and the size of the planes that follow, stored uncompressed (flags:
             * V4L2_FWHT_FL_LUMA/CB/CR_IS_UNCOMPRESSED | V4L2_FWHT_FL_I_FRAME | three components | V4L2_FWHT_FL_PIXENC_YUV, from
             * <linux/v4l2-controls.h>; an I-frame of YUV 4:2:0). Returns the bytes written.
             */
            static void put_be32(unsigned char *p, __u32 v)
            {
            	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
            }

            static long long write_fwht_frame(void *mem, __u32 w, __u32 h)
            {
            	unsigned char *b = mem;
            	__u32 planes = w * h * 3 / 2, hdr[11] = { 0x4f4f4f4f, 0xffffffff, {{Uapi.V4L2_FWHT_VERSION}}, w, h, 0x{{Bitstream.FwhtFlags:x}}, 0, 0, 0, 0, planes };

            	for (int i = 0; i < 11; i++)
            		put_be32(b + 4 * i, hdr[i]);
            	memset(b + 44, 0x{{Bitstream.Luma:x2}}, (size_t)w * h);
            	memset(b + 44 + (size_t)w * h, 0x80, planes - (size_t)w * h);
            	return 44 + planes;
            }

            """,
        ["frame_size"] = """

            /* one frame of the queue's current format (VIDIOC_G_FMT sizeimage; OUTPUT_PAYLOAD, the recorded one, if that fails) */
            static __u32 frame_size(int fd, __u32 type)
            {
            	struct v4l2_format f = { .type = type };

            	return xioctl(fd, VIDIOC_G_FMT, &f) < 0 ? OUTPUT_PAYLOAD : f.fmt.pix.sizeimage;
            }

            """,
        ["restore_formats"] = """

            /*
             * A format is the device's state, not the file's: the formats the steps change are read before the first attempt
             * and set again after each attempt, every file closed (VIDIOC_G_FMT, VIDIOC_S_FMT).
             */
            static struct v4l2_format saved_format[NDEVS][4];
            static int nsaved[NDEVS];

            static void save_format(int d, __u32 type)
            {
            	struct v4l2_format f = { .type = type };
            	int fd = open(dev_path[d], O_RDWR | O_NONBLOCK);

            	if (fd < 0)
            		return;
            	if (xioctl(fd, VIDIOC_G_FMT, &f) == 0 && nsaved[d] < 4)
            		saved_format[d][nsaved[d]++] = f;
            	close(fd);
            }

            static void restore_formats(void)
            {
            	for (int d = 0; d < NDEVS; d++) {
            		int fd = nsaved[d] ? open(dev_path[d], O_RDWR | O_NONBLOCK) : -1;

            		if (fd < 0)
            			continue;
            		for (int i = 0; i < nsaved[d]; i++) {
            			struct v4l2_format f = saved_format[d][i];

            			if (xioctl(fd, VIDIOC_S_FMT, &f) < 0)
            				fprintf(stderr, "warning: %s: putting its format back failed: %s\n", dev_path[d], strerror(errno));
            		}
            		close(fd);
            	}
            }

            """,
        ["set_pixel_format"] = """

            /*
             * Before the first step: the pixel format the suite certified the video node with (G_FMT of the node's buffer
             * type, that fourcc, S_FMT). A node that refuses it, or takes another, is a set-up error.
             */
            static int set_pixel_format(int d, __u32 type, __u32 pixelformat)
            {
            	struct v4l2_format f = { .type = type };
            	int mplane = V4L2_TYPE_IS_MULTIPLANAR(type);
            	const char *why = NULL;
            	int fd = open(dev_path[d], O_RDWR);

            	if (fd < 0 || xioctl(fd, VIDIOC_G_FMT, &f) < 0) {
            		why = strerror(errno);
            	} else {
            		if (mplane)
            			f.fmt.pix_mp.pixelformat = pixelformat;
            		else
            			f.fmt.pix.pixelformat = pixelformat;
            		if (xioctl(fd, VIDIOC_S_FMT, &f) < 0)
            			why = strerror(errno);
            		else if ((mplane ? f.fmt.pix_mp.pixelformat : f.fmt.pix.pixelformat) != pixelformat)
            			why = "the driver chose another format";
            	}
            	if (fd >= 0)
            		close(fd);
            	if (why) {
            		/* the fourcc's four characters (bit 31 marks a big-endian variant) */
            		fprintf(stderr, "error: %s (%s): cannot set pixel format %c%c%c%c with VIDIOC_S_FMT: %s\n", dev_name[d],
            			dev_path[d], pixelformat & 0xff, (pixelformat >> 8) & 0xff, (pixelformat >> 16) & 0xff,
            			(pixelformat >> 24) & 0x7f, why);
            		return -1;
            	}
            	return 0;
            }

            """,
        ["require_m2m"] = """

            /* Before the first step of a mem2mem counterexample: the device must be a mem2mem node (VIDIOC_QUERYCAP). */
            static int require_m2m(int d)
            {
            	struct v4l2_capability cap = { 0 };
            	int fd = open(dev_path[d], O_RDWR);
            	int ok = fd >= 0 && xioctl(fd, VIDIOC_QUERYCAP, &cap) == 0;
            	__u32 caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;

            	if (fd >= 0)
            		close(fd);
            	if (!ok || !(caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE))) {
            		fprintf(stderr, "error: %s (%s) is not a mem2mem node (VIDIOC_QUERYCAP: %s)\n", dev_name[d], dev_path[d],
            			ok ? "no V4L2_CAP_VIDEO_M2M or V4L2_CAP_VIDEO_M2M_MPLANE" : strerror(errno));
            		return -1;
            	}
            	return 0;
            }

            """,
        ["set_pad_format"] = """

            /*
             * Before the first step: one pad's active format in the media pipeline the suite configured (VIDIOC_SUBDEV_S_FMT on
             * the sub-device node). A pad that refuses it, or takes another, is a set-up error.
             */
            static int set_pad_format(const char *path, const char *entity, __u32 pad, __u32 code, __u32 width, __u32 height, __u32 field)
            {
            	struct v4l2_subdev_format f = { .which = V4L2_SUBDEV_FORMAT_ACTIVE, .pad = pad };
            	const char *why = NULL;
            	int fd = open(path, O_RDWR);

            	f.format.code = code;
            	f.format.width = width;
            	f.format.height = height;
            	f.format.field = field;
            	if (fd < 0 || xioctl(fd, VIDIOC_SUBDEV_S_FMT, &f) < 0)
            		why = strerror(errno);
            	else if (f.format.code != code || f.format.width != width || f.format.height != height)
            		why = "the driver chose another format";
            	if (fd >= 0)
            		close(fd);
            	if (why) {
            		fprintf(stderr, "error: %s (%s) pad %u: cannot set media bus format 0x%04x %ux%u: %s\n", entity, path, pad, code, width, height, why);
            		return -1;
            	}
            	return 0;
            }

            /* a video node's single-planar format in the pipeline, after the pads: that fourcc at its pad's size */
            static int set_video_format(const char *path, __u32 type, __u32 pixelformat, __u32 width, __u32 height)
            {
            	struct v4l2_format f = { .type = type };
            	const char *why = NULL;
            	int fd = open(path, O_RDWR);

            	if (fd < 0 || xioctl(fd, VIDIOC_G_FMT, &f) < 0) {
            		why = strerror(errno);
            	} else {
            		f.fmt.pix.pixelformat = pixelformat;
            		f.fmt.pix.width = width;
            		f.fmt.pix.height = height;
            		if (xioctl(fd, VIDIOC_S_FMT, &f) < 0)
            			why = strerror(errno);
            		else if (f.fmt.pix.pixelformat != pixelformat || f.fmt.pix.width != width || f.fmt.pix.height != height)
            			why = "the driver chose another format";
            	}
            	if (fd >= 0)
            		close(fd);
            	if (why) {
            		fprintf(stderr, "error: %s: cannot set format %c%c%c%c %ux%u with VIDIOC_S_FMT: %s\n", path,
            			pixelformat & 0xff, (pixelformat >> 8) & 0xff, (pixelformat >> 16) & 0xff, (pixelformat >> 24) & 0x7f, width, height, why);
            		return -1;
            	}
            	return 0;
            }

            """,
        ["dqbuf_blocking"] = """

            #include <signal.h>

            #define OP_TIMEOUT 20   /* seconds: the suite's default --op-timeout */

            static void on_alarm(int sig)
            {
            	(void)sig;
            }

            /* VIDIOC_DQBUF without O_NONBLOCK for this one call (the file's flag is cleared, then set back): it sleeps until a
               buffer is done. A SIGALRM after OP_TIMEOUT s, caught without SA_RESTART, ends the wait with EINTR: the driver did
               not complete a buffer in time (the suite reports that as a hung op). */
            static int dqbuf_blocking(int fd, struct v4l2_buffer *b)
            {
            	struct sigaction sa = { .sa_handler = on_alarm };
            	int fl = fcntl(fd, F_GETFL), r, e;

            	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
            		return -1;
            	sigemptyset(&sa.sa_mask);
            	sigaction(SIGALRM, &sa, NULL);
            	alarm(OP_TIMEOUT);
            	r = ioctl(fd, VIDIOC_DQBUF, b);
            	e = errno;
            	alarm(0);
            	fcntl(fd, F_SETFL, fl);
            	if (r < 0 && e == EINTR)
            		fprintf(stderr, "VIDIOC_DQBUF without O_NONBLOCK did not return within %d s\n", OP_TIMEOUT);
            	errno = e;
            	return r;
            }

            """,
        ["ready"] = """

            /* poll with a zero timeout: would a wait for this usage return at once? */
            static int ready(int fd, short events)
            {
            	struct pollfd p = { .fd = fd, .events = events };

            	/* POLLNVAL: closed by another thread first; the call it guards then says EBADF */
            	return poll(&p, 1, 0) > 0 && ((p.revents & POLLNVAL) || (p.revents & events) == events);
            }

            """,
        ["dumb_export"] = """

            /* CREATE_DUMB, PRIME_HANDLE_TO_FD, then GEM_CLOSE (the dma-buf keeps the object): r0 = size */
            static struct outcome dumb_export(int drm, __u32 width, __u32 height, __u32 bpp, __u32 flags, int slot)
            {
            	struct drm_mode_create_dumb c = { .width = width, .height = height, .bpp = bpp };
            	struct drm_prime_handle p = { .flags = flags, .fd = -1 };
            	struct drm_gem_close g = { 0 };
            	struct outcome o;

            	if (xioctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &c) < 0)
            		return fail();
            	p.handle = c.handle;
            	o = xioctl(drm, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p) < 0 ? fail() : new_fd(p.fd, slot);
            	g.handle = c.handle;
            	xioctl(drm, DRM_IOCTL_GEM_CLOSE, &g);
            	if (o.err == 0)
            		o.r0 = c.size;
            	return o;
            }

            """,
        ["p1"] = """

            #include <spawn.h>
            #include <sys/socket.h>
            #include <sys/syscall.h>
            #include <sys/sysmacros.h>
            #include <sys/wait.h>

            /*
             * The sequence's other processes. P1 is this program started again (posix_spawn of /proc/self/exe with P_ARG), so
             * it holds no fd and no mapping of this one's, only what the steps send it or make there; P2 is P1's fork(2) child,
             * holding a copy of what P1 held. Each runs the steps marked [P1] or [P2] when asked (p_step, on its own slots) and
             * answers with the outcome, over a SOCK_SEQPACKET socket that is its fd 3, as the suite's conformance-helper does.
             * An exit releases whatever the process holds.
             */
            #define P_ARG "--conformance-p1"
            struct p_req { int step, cloexec, fences_used; long long dev_major, dev_minor, ino; };
            static pid_t p_pid[3] = { -1, -1, -1 };
            static int p_sock[3] = { -1, -1, -1 };
            static int p_forked[3];
            static int p_pidfd[3] = { -1, -1, -1 };   /* a forked one's, opened while it waits on its socket */
            static int p_lost[3];                     /* died under a request: its later steps fail with ECHILD until the attempt ends */
            static struct outcome p_step(int step, int passed, const struct p_req *q, int *send);

            /* m carries fd in SCM_RIGHTS, its control message in buf (CMSG_SPACE(sizeof(int)) bytes, aligned for a cmsghdr) */
            static void p_attach(struct msghdr *m, char *buf, int fd)
            {
            	struct cmsghdr *c;

            	memset(buf, 0, CMSG_SPACE(sizeof(int)));
            	m->msg_control = buf;
            	m->msg_controllen = CMSG_SPACE(sizeof(int));
            	c = CMSG_FIRSTHDR(m);
            	c->cmsg_len = CMSG_LEN(sizeof(int));
            	c->cmsg_level = SOL_SOCKET;
            	c->cmsg_type = SCM_RIGHTS;
            	memcpy(CMSG_DATA(c), &fd, sizeof(int));
            }

            /* the process's first message is its pid */
            static int p_ready(int proc)
            {
            	struct outcome ready;

            	if (recv(p_sock[proc], &ready, sizeof(ready), 0) != (ssize_t)sizeof(ready) || (p_pid[proc] > 0 && ready.r0 != p_pid[proc])) {
            		p_stop(proc);
            		errno = ECHILD;
            		return -1;
            	}
            	p_pid[proc] = (pid_t)ready.r0;
            	return 0;
            }

            static int p_start(int proc)
            {
            	posix_spawn_file_actions_t fa;
            	char *args[] = { "repro", P_ARG, NULL };
            	extern char **environ;
            	int sv[2], rc;

            	if (p_sock[proc] >= 0)
            		return 0;
            	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
            		return -1;
            	posix_spawn_file_actions_init(&fa);
            	posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
            	posix_spawn_file_actions_addclosefrom_np(&fa, 4);
            	rc = posix_spawn(&p_pid[proc], "/proc/self/exe", &fa, NULL, args, environ);
            	posix_spawn_file_actions_destroy(&fa);
            	close(sv[1]);
            	if (rc != 0) {
            		close(sv[0]);
            		p_pid[proc] = -1;
            		errno = rc;
            		return -1;
            	}
            	p_sock[proc] = sv[0];
            	p_forked[proc] = 0;
            	return p_ready(proc);
            }

            /* the process exits (a request for step 0) and is waited for: this program's child with waitpid, P1's child
             * through a pidfd, which is readable once it has exited, its files and mappings released */
            static void p_stop(int proc)
            {
            	struct p_req q = { 0, 0, 0, 0, 0, 0 };
            	int status;

            	if (p_sock[proc] >= 0) {
            		if (send(p_sock[proc], &q, sizeof(q), 0) != (ssize_t)sizeof(q) && p_pid[proc] > 0) {
            			/* a forked one through its pidfd, never a process that reused its pid */
            			if (!p_forked[proc])
            				kill(p_pid[proc], SIGKILL);
            			else if (p_pidfd[proc] >= 0)
            				syscall(SYS_pidfd_send_signal, p_pidfd[proc], SIGKILL, NULL, 0);
            		}
            		close(p_sock[proc]);
            		p_sock[proc] = -1;
            	}
            	if (p_pid[proc] > 0 && !p_forked[proc]) {
            		while (waitpid(p_pid[proc], &status, 0) < 0 && errno == EINTR)
            			;
            	} else if (p_pidfd[proc] >= 0) {
            		struct pollfd pf = { .fd = p_pidfd[proc], .events = POLLIN };

            		while (poll(&pf, 1, -1) < 0 && errno == EINTR)
            			;
            	}
            	if (p_pidfd[proc] >= 0)
            		close(p_pidfd[proc]);
            	p_pidfd[proc] = -1;
            	p_pid[proc] = -1;
            	p_forked[proc] = 0;
            }

            static UNUSED void p_stop_all(void)
            {
            	p_stop(2);
            	p_stop(1);
            	p_lost[1] = p_lost[2] = 0;
            }

            /* step `step` in process proc (started first if it is not running); fd, when >= 0, is sent with it (SCM_RIGHTS)
             * with its device and inode; an fd the process sends back goes to *got (received with MSG_CMSG_CLOEXEC when cloexec) */
            static struct outcome in_proc(int proc, int step, int fd, int cloexec, int *got)
            {
            	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
            	struct p_req q = { step, cloexec, fences_used, 0, 0, 0 };
            	struct iovec iov = { .iov_base = &q, .iov_len = sizeof(q) };
            	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
            	struct outcome o;
            	struct cmsghdr *c;
            	struct stat st;

            	if (p_lost[proc]) {
            		errno = ECHILD;
            		return fail();
            	}
            	if (p_start(proc) != 0)
            		return fail();
            	memset(&control, 0, sizeof(control));
            	if (fd >= 0) {
            		if (fstat(fd, &st) != 0)
            			return fail();
            		q.dev_major = major(st.st_dev);
            		q.dev_minor = minor(st.st_dev);
            		q.ino = (long long)st.st_ino;
            		p_attach(&m, control.buf, fd);
            	}
            	if (sendmsg(p_sock[proc], &m, 0) != (ssize_t)sizeof(q))
            		goto lost;
            	memset(&control, 0, sizeof(control));
            	iov.iov_base = &o;
            	iov.iov_len = sizeof(o);
            	m.msg_control = control.buf;
            	m.msg_controllen = sizeof(control.buf);
            	if (recvmsg(p_sock[proc], &m, got && cloexec ? MSG_CMSG_CLOEXEC : 0) != (ssize_t)sizeof(o))
            		goto lost;
            	if (got) {
            		c = CMSG_FIRSTHDR(&m);
            		*got = (m.msg_flags & MSG_CTRUNC) ? -EMFILE
            			: c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS ? *(int *)CMSG_DATA(c) : -1;
            	}
            	return o;
            lost:
            	printf("# P%d (pid %d) was lost under step request %d\n", proc, (int)p_pid[proc], step);
            	p_stop(proc);
            	p_lost[proc] = 1;
            	errno = ECHILD;
            	return fail();
            }

            /* in the receiver: the fd this step was sent goes into slot; r0 = 1 when it is the sender's file (same device and inode) */
            static UNUSED struct outcome p_took(int passed, const struct p_req *q, int slot)
            {
            	struct stat st;

            	if (passed < 0) {
            		errno = EMFILE;
            		return fail();
            	}
            	h[slot] = passed;
            	live[slot] = 1;
            	return done(fstat(passed, &st) == 0 && (long long)major(st.st_dev) == q->dev_major
            		&& (long long)minor(st.st_dev) == q->dev_minor && (long long)st.st_ino == q->ino, 0, 0);
            }

            /* in the sender: fd is sent back with the reply; r0..r2 = its device's major, minor and inode */
            static UNUSED struct outcome p_give(int fd, int *send)
            {
            	struct stat st;

            	if (fstat(fd, &st) != 0)
            		return fail();
            	*send = fd;
            	return done(major(st.st_dev), minor(st.st_dev), (long long)st.st_ino);
            }

            /* here: the fd a process sent back goes into slot; r0 = 1 when it is that process's file (its device and inode) */
            static UNUSED struct outcome p_sent_back(int got, struct outcome theirs, int slot)
            {
            	struct stat st;

            	if (got < 0) {
            		errno = got == -EMFILE ? EMFILE : EIO;
            		return fail();
            	}
            	h[slot] = got;
            	live[slot] = 1;
            	return done(fstat(got, &st) == 0 && (long long)major(st.st_dev) == theirs.r0
            		&& (long long)minor(st.st_dev) == theirs.r1 && (long long)st.st_ino == theirs.r2, 0, 0);
            }

            /* the process exits holding what it holds; r0 = how many dma-bufs that released (bufinfo before and after the wait) */
            static UNUSED struct outcome p_exit(int proc)
            {
            	int before = live_dmabufs(), after;

            	/* a process that is not running holds nothing: its exit releases nothing; -1 where bufinfo cannot be read
            	 * (it needs root and debugfs), as the suite's adapter reports it */
            	if (p_sock[proc] < 0)
            		return done(before < 0 ? -1 : 0, 0, 0);
            	p_stop(proc);
            	after = live_dmabufs();
            	return done(before < 0 || after < 0 ? -1 : before - after, 0, 0);
            }

            /* process `from` forks `to` (step `step`): a new socket's end goes with the request; the child answers on it */
            static UNUSED struct outcome p_fork(int from, int to, int step)
            {
            	struct outcome o;
            	int sv[2];

            	p_stop(to);
            	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
            		return fail();
            	o = in_proc(from, step, sv[1], 0, NULL);
            	close(sv[1]);
            	if (o.err != 0) {
            		close(sv[0]);
            		return o;
            	}
            	p_sock[to] = sv[0];
            	p_pid[to] = -1;
            	p_forked[to] = 1;
            	if (p_ready(to) != 0)
            		return fail();
            	/* while it waits on its socket it cannot have exited: its pid is its own now */
            	p_pidfd[to] = (int)syscall(SYS_pidfd_open, p_pid[to], 0);
            	return done(0, 0, 0);
            }

            static int p_serve(void);

            /* in the forking process: fork(2); the child takes the socket that came with the request as its own and serves */
            static UNUSED struct outcome p_forked_here(int passed)
            {
            	pid_t pid;

            	if (passed < 0) {
            		errno = EINVAL;
            		return fail();
            	}
            	pid = fork();
            	if (pid < 0) {
            		close(passed);
            		return fail();
            	}
            	if (pid == 0) {
            		dup2(passed, 3);
            		close(passed);
            		_exit(p_serve());
            	}
            	close(passed);
            	return done(0, 0, 0);
            }

            /* a process's loop: each request runs its step and answers with the outcome (and an fd, for a step that sends one back) */
            static int p_serve(void)
            {
            	struct outcome ready = { 0, getpid(), 0, 0 };

            	signal(SIGCHLD, SIG_IGN);   /* a child it forks is reaped by the kernel; this program waits for it with a pidfd */
            	if (send(3, &ready, sizeof(ready), 0) != (ssize_t)sizeof(ready))
            		return 3;
            	for (;;) {
            		union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control, rcontrol;
            		struct p_req q;
            		struct iovec iov = { .iov_base = &q, .iov_len = sizeof(q) };
            		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
            		struct outcome o;
            		struct iovec riov = { .iov_base = &o, .iov_len = sizeof(o) };
            		struct msghdr r = { .msg_iov = &riov, .msg_iovlen = 1 };
            		struct cmsghdr *c;
            		int passed = -1, send = -1;

            		/* whether the fd gets close-on-exec is recvmsg's choice: peek at the request first */
            		if (recv(3, &q, sizeof(q), MSG_PEEK) != (ssize_t)sizeof(q) || q.step == 0)
            			_exit(0);
            		if (recvmsg(3, &m, q.cloexec ? MSG_CMSG_CLOEXEC : 0) != (ssize_t)sizeof(q))
            			_exit(0);
            		c = CMSG_FIRSTHDR(&m);
            		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && !(m.msg_flags & MSG_CTRUNC))
            			memcpy(&passed, CMSG_DATA(c), sizeof(int));
            		fences_used = q.fences_used;
            		errno = 0;
            		o = p_step(q.step, passed, &q, &send);
            		if (send >= 0 && o.err == 0)
            			p_attach(&r, rcontrol.buf, send);
            		if (sendmsg(3, &r, 0) != (ssize_t)sizeof(o))
            			_exit(0);
            	}
            }

            """,
        ["pass_fd"] = """

            #include <sys/socket.h>

            /*
             * fd sent over a fresh AF_UNIX socketpair with SCM_RIGHTS and received back (MSG_CMSG_CLOEXEC when cloexec): the
             * received fd goes into slot; r0 = 1 when fstat finds it the same file as fd (same device and inode).
             */
            static struct outcome pass_fd(int fd, int cloexec, int slot)
            {
            	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
            	char data = 0;
            	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
            	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
            	struct cmsghdr *c;
            	struct stat a, b;
            	struct outcome o;
            	int sv[2], got;

            	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
            		return fail();
            	memset(&control, 0, sizeof(control));
            	c = CMSG_FIRSTHDR(&m);
            	c->cmsg_len = CMSG_LEN(sizeof(int));
            	c->cmsg_level = SOL_SOCKET;
            	c->cmsg_type = SCM_RIGHTS;
            	memcpy(CMSG_DATA(c), &fd, sizeof(int));
            	if (sendmsg(sv[0], &m, 0) < 0) {
            		o = fail();
            		goto out;
            	}
            	memset(&control, 0, sizeof(control));
            	m.msg_controllen = sizeof(control.buf);
            	if (recvmsg(sv[1], &m, cloexec ? MSG_CMSG_CLOEXEC : 0) < 0) {
            		o = fail();
            		goto out;
            	}
            	if (m.msg_flags & MSG_CTRUNC) {
            		errno = EMFILE;
            		o = fail();
            		goto out;
            	}
            	c = CMSG_FIRSTHDR(&m);
            	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            		errno = EIO;
            		o = fail();
            		goto out;
            	}
            	memcpy(&got, CMSG_DATA(c), sizeof(int));
            	o = new_fd(got, slot);
            	o.r0 = fstat(fd, &a) == 0 && fstat(got, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
            out:
            	close(sv[0]);
            	close(sv[1]);
            	return o;
            }

            """,
        ["exec_check"] = """

            #include <sys/wait.h>

            /*
             * exec of a new program (/bin/sh with an empty environment) that says, before it opens anything, which of
             * fds[0..n) it holds (r0 bit i) and which of those are the same file as in this process (r1 bit i: test -ef of
             * /proc/self/fd/N and /proc/PPID/fd/N, same device and inode).
             */
            static struct outcome exec_check(const int *fds, int n)
            {
            	char script[4096], said[256];
            	char *const envp[] = { NULL };
            	long long held = 0, same = 0;
            	int len, p[2], status, i;
            	ssize_t got = 0, r;
            	pid_t pid;

            	for (i = 0; i < n; i++)
            		if (fcntl(fds[i], F_GETFD) < 0)
            			return fail();
            	if (n == 0)
            		return done(0, 0, 0);
            	len = snprintf(script, sizeof(script), "[ -d /proc/self/fd ] || exit 3; m=; s=; for n in");
            	for (i = 0; i < n; i++)
            		len += snprintf(script + len, sizeof(script) - (size_t)len, " %d", fds[i]);
            	snprintf(script + len, sizeof(script) - (size_t)len, "; do if [ -e /proc/self/fd/$n ]; then m=${m}1; "
            		 "if [ /proc/self/fd/$n -ef /proc/$PPID/fd/$n ]; then s=${s}1; else s=${s}0; fi; "
            		 "else m=${m}0; s=${s}0; fi; done; echo \"$m $s\"");
            	if (pipe2(p, O_CLOEXEC) < 0)
            		return fail();
            	pid = fork();
            	if (pid < 0) {
            		struct outcome o = fail();

            		close(p[0]);
            		close(p[1]);
            		return o;
            	}
            	if (pid == 0) {
            		dup2(p[1], 1);
            		execle("/bin/sh", "sh", "-c", script, (char *)NULL, envp);
            		_exit(127);
            	}
            	close(p[1]);
            	while (got < (ssize_t)sizeof(said) - 1 && (r = read(p[0], said + got, sizeof(said) - 1 - (size_t)got)) > 0)
            		got += r;
            	close(p[0]);
            	waitpid(pid, &status, 0);
            	said[got] = '\0';
            	if (status != 0 || got < 2 * n + 1) {
            		errno = EIO;
            		return fail();
            	}
            	for (i = 0; i < n; i++) {
            		if (said[i] == '1')
            			held |= 1LL << i;
            		if (said[n + 1 + i] == '1')
            			same |= 1LL << i;
            	}
            	return done(held, same, 0);
            }

            """,
        ["hugetlb_pool"] = """

            /* one /proc/meminfo count (HugePages_*); the kernel prints an unsigned long, so one decremented below 0 reads as the
             * negative number it wrapped to */
            static long long meminfo_count(const char *name)
            {
            	FILE *f = fopen("/proc/meminfo", "r");
            	char line[256];
            	long long v = 0;
            	size_t n = strlen(name);

            	if (!f)
            		return 0;
            	while (fgets(line, sizeof(line), f))
            		if (strncmp(line, name, n) == 0) {
            			v = (long long)strtoull(line + n, NULL, 10);
            			break;
            		}
            	fclose(f);
            	return v;
            }

            static long long pool_free0, pool_rsvd0;

            /* the hugetlb pool's counters as the sequence starts */
            static void pool_base(void)
            {
            	pool_free0 = meminfo_count("HugePages_Free:");
            	pool_rsvd0 = meminfo_count("HugePages_Rsvd:");
            }

            /* r0: huge pages taken from the pool since the start; r1: reservations made since (HugePages_Rsvd now less then) */
            static struct outcome hugetlb_pool(void)
            {
            	return done(pool_free0 - meminfo_count("HugePages_Free:"), meminfo_count("HugePages_Rsvd:") - pool_rsvd0, 0);
            }

            """,
        ["memfd"] = """

            /* memfd_create, ftruncate(size), F_ADD_SEALS(seals) */
            static struct outcome memfd(off_t size, unsigned int flags, int seals, int slot)
            {
            	int fd = memfd_create("conformance", flags);
            	int r;

            	if (fd < 0)
            		return fail();
            	r = ftruncate(fd, size);
            	if (r == 0 && seals != 0)
            		r = fcntl(fd, F_ADD_SEALS, seals);
            	if (r < 0) {
            		struct outcome o = fail();

            		close(fd);
            		return o;
            	}
            	return new_fd(fd, slot);
            }

            """,
        ["ro_ioctl"] = """

            #include <dirent.h>

            /* a create ioctl's argument in a read-only page: the kernel reads it, and its copy of the new fd back faults */
            #define RO_MAX 4096
            static int ro_before[RO_MAX], ro_nbefore;

            /* this process's fds that name a dma-buf or a sync_file, into fds; how many */
            static int shared_fds(int *fds)
            {
            	DIR *d = opendir("/proc/self/fd");
            	struct dirent *e;
            	char path[64], link[256];
            	int n = 0;

            	if (!d)
            		return 0;
            	while ((e = readdir(d)) && n < RO_MAX) {
            		int fd = atoi(e->d_name);
            		ssize_t len;

            		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d))
            			continue;
            		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
            		len = readlink(path, link, sizeof(link) - 1);
            		if (len < 0)
            			continue;
            		link[len] = 0;
            		if (!strncmp(link, "/dmabuf:", 8) || !strcmp(link, "anon_inode:dmabuf") || !strcmp(link, "anon_inode:sync_file"))
            			fds[n++] = fd;
            	}
            	closedir(d);
            	return n;
            }

            static void ro_begin(void)
            {
            	ro_nbefore = shared_fds(ro_before);
            }

            /* ioctl with its argument (the request's size of it) copied into a fresh page made read-only */
            static long ro_ioctl(int fd, unsigned long request, void *arg)
            {
            	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            	long r;
            	int e;

            	if (page == MAP_FAILED)
            		return -1;
            	memcpy(page, arg, _IOC_SIZE(request));
            	if (mprotect(page, 4096, PROT_READ) < 0)
            		r = -1;
            	else
            		r = xioctl(fd, request, page);
            	e = errno;
            	munmap(page, 4096);
            	errno = e;
            	return r;
            }

            /* after a failed call: r0 = the dma-buf and sync_file fds it left open (closed here: the caller never learned them) */
            static void ro_end(struct outcome *o)
            {
            	static int now[RO_MAX];
            	int n, left = 0, i, j;

            	if (o->err == 0)
            		return;
            	n = shared_fds(now);
            	for (i = 0; i < n; i++) {
            		for (j = 0; j < ro_nbefore && ro_before[j] != now[i]; j++)
            			;
            		if (j == ro_nbefore) {
            			left++;
            			close(now[i]);
            		}
            	}
            	o->r0 = left;
            }

            """,
        ["fd_table_full"] = """

            #include <dirent.h>
            #include <sys/resource.h>

            /* a create ioctl made with the fd table full: the soft RLIMIT_NOFILE lowered to one past the highest open fd, and
             * every free number below it filled with a duplicate of /dev/null, so the kernel can reserve no fd (EMFILE) */
            #define FULL_MAX 65536
            static int full_fds[FULL_MAX], full_n, full_bufs;
            static struct rlimit full_saved;

            static void full_begin(void)
            {
            	DIR *d = opendir("/proc/self/fd");
            	struct dirent *e;
            	struct rlimit r;
            	int top = 0, nul;

            	full_bufs = live_dmabufs();
            	getrlimit(RLIMIT_NOFILE, &full_saved);
            	full_n = 0;
            	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
            	if (nul >= 0)
            		full_fds[full_n++] = nul;
            	if (d) {
            		while ((e = readdir(d)))
            			if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && atoi(e->d_name) != dirfd(d) && atoi(e->d_name) > top)
            				top = atoi(e->d_name);
            		closedir(d);
            	}
            	r.rlim_max = full_saved.rlim_max;
            	r.rlim_cur = (rlim_t)top + 1 < r.rlim_max ? (rlim_t)top + 1 : r.rlim_max;
            	setrlimit(RLIMIT_NOFILE, &r);
            	while (nul >= 0 && full_n < FULL_MAX) {
            		int fd = fcntl(nul, F_DUPFD_CLOEXEC, 0);

            		if (fd < 0)
            			break;
            		full_fds[full_n++] = fd;
            	}
            }

            /* the table's room given back; after a failed call, r0 = the live dma-bufs it left (-1 where bufinfo cannot be read) */
            static void full_end(struct outcome *o)
            {
            	int after;

            	while (full_n > 0)
            		close(full_fds[--full_n]);
            	setrlimit(RLIMIT_NOFILE, &full_saved);
            	after = live_dmabufs();
            	if (o->err != 0)
            		o->r0 = full_bufs < 0 || after < 0 ? -1 : after - full_bufs;
            }

            """,
        ["same_inode"] = """

            /* do two fds name the same dma-buf (same inode on the same device)? */
            static struct outcome same_inode(int a, int b)
            {
            	struct statx sa, sb;

            	if (statx(a, "", AT_EMPTY_PATH, STATX_INO, &sa) < 0 || statx(b, "", AT_EMPTY_PATH, STATX_INO, &sb) < 0)
            		return fail();
            	return done(sa.stx_ino == sb.stx_ino && sa.stx_dev_major == sb.stx_dev_major && sa.stx_dev_minor == sb.stx_dev_minor, 0, 0);
            }

            """,
        ["expire"] = """

            /* vgem signals a fence 10 s after its attach (VGEM_FENCE_TIMEOUT): wait out the newest, with a margin */
            static struct outcome wait_for_vgem_expiry(void)
            {
            	struct timespec now;
            	long long left;

            	if (last_attach.tv_sec == 0 && last_attach.tv_nsec == 0)
            		return done(0, 0, 0);
            	clock_gettime(CLOCK_MONOTONIC, &now);
            	left = 10500000000LL - ((now.tv_sec - last_attach.tv_sec) * 1000000000LL + (now.tv_nsec - last_attach.tv_nsec));
            	if (left > 0) {
            		struct timespec t = { .tv_sec = left / 1000000000LL, .tv_nsec = left % 1000000000LL };

            		nanosleep(&t, NULL);
            	}
            	return done(0, 0, 0);
            }

            """,
        ["file_info"] = """

            /* what a sync_file's name starts with: 0 the stub fence, 1 a vgem fence, 2 a fence array, 3 a chosen name */
            static int name_kind(const char *name)
            {
            	if (strncmp(name, "stub-", 5) == 0)
            		return 0;
            	if (strncmp(name, "vgem-", 5) == 0)
            		return 1;
            	if (strncmp(name, "dma_fence_array-", 16) == 0)
            		return 2;
            	return 3;
            }

            /* SYNC_IOC_FILE_INFO. num 0: r0 = status, r1 = num_fences, r2 = name kind; else r2 = entries signalled */
            static struct outcome file_info(int fd, __u32 num, __u32 flags, __u32 pad)
            {
            	struct sync_fence_info entries[64];
            	struct sync_file_info info = { .num_fences = num, .flags = flags, .pad = pad,
            				       .sync_fence_info = (unsigned long)entries };
            	int signalled = 0;

            	memset(entries, 0, sizeof(entries));
            	if (xioctl(fd, SYNC_IOC_FILE_INFO, &info) < 0)
            		return fail();
            	if (num == 0)
            		return done(info.status, info.num_fences, name_kind(info.name));
            	for (__u32 k = 0; k < info.num_fences && k < 64; k++)
            		if (entries[k].status == 1)
            			signalled++;
            	return done(info.status, info.num_fences, signalled);
            }

            static struct outcome new_sync_file(int fd, int slot)
            {
            	new_fd(fd, slot);
            	return file_info(fd, 0, 0, 0);
            }

            """,
    };

    /// <summary>main up to the point where every device it names exists.</summary>
    private const string MainDevices = """

        int main(int argc, char **argv)
        {
        	int rc = 0, attempt;

        	for (int i = 1; i < argc; i++) {
        		char *eq = strchr(argv[i], '=');
        		int known = 0;

        		for (int d = 0; eq && d < NDEVS; d++)
        			if (strncmp(argv[i], dev_name[d], (size_t)(eq - argv[i])) == 0 && dev_name[d][eq - argv[i]] == '\0') {
        				dev_path[d] = eq + 1;
        				known = 1;
        			}
        		if (!known) {
        			fprintf(stderr, "usage: %s [NAME=PATH ...]; device names:", argv[0]);
        			for (int d = 0; d < NDEVS; d++)
        				fprintf(stderr, " %s (default %s)", dev_name[d], dev_path[d]);
        			fprintf(stderr, "\n");
        			return 2;
        		}
        	}
        	for (int d = 0; d < NDEVS; d++)
        		if (access(dev_path[d], F_OK) != 0) {
        			fprintf(stderr, "error: %s (%s): %s; name another with %s=PATH\n", dev_name[d], dev_path[d],
        				strerror(errno), dev_name[d]);
        			return 2;
        		}

        """;

    /// <summary>main, after the devices are known and before the first attempt (a set-up step may come between).</summary>
    private const string MainAttempts = """
        	trace = getenv("REPRO_TRACE") != NULL;
        	setvbuf(stdout, NULL, _IOLBF, 0);
        	printf("KTAP version 1\n1..%d\n", NSTEPS);
        	for (attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        		outlen = 0;
        		out[0] = '\0';
        		reached = 0;
        		rc = run();
        		cleanup();
        		if (rc == 5) {
        			/* a departure at another step than the recorded one: inconclusive, not a reproduction */
        			rc = 4;
        			break;
        		}
        		if (rc != 4 || attempt == MAX_ATTEMPTS)
        			break;
        		printf("# attempt %d: %s; starting again from a fresh state\n", attempt, departure);
        	}
        #ifdef RACE_RUNS
        	/* a parallel block: a run as documented proves little about a race, so it is made again (from a fresh state) */
        	if (rc == 0) {
        		int runs;

        		for (runs = 1; rc == 0 && runs < RACE_RUNS; runs++) {
        			outlen = 0;
        			out[0] = '\0';
        			reached = 0;
        			rc = run();
        			cleanup();
        			rc = rc == 5 ? 4 : rc;
        		}
        		printf("# %d run(s) of the sequence with its parallel block%s\n", runs, rc == 1 ? ": the last one reproduced the counterexample" : "");
        	}
        #endif
        	fputs(out, stdout);
        	/* steps after the one that decided the attempt were not run */
        	for (int n = reached + 1; n <= NSTEPS; n++)
        		printf("ok %d - step %d # SKIP not reached: the sequence stopped at step %d\n", n, n, reached);
        	if (rc == 0)
        		printf("# every step was as documented: the counterexample does not reproduce here\n");
        	else if (rc == 1)
        		printf("# a step was not as documented: the counterexample reproduced\n");
        	else
        		printf("# inconclusive after %d attempt(s): %s\n", attempt > MAX_ATTEMPTS ? MAX_ATTEMPTS : attempt, departure);
        	return rc;
        }

        """;
}
