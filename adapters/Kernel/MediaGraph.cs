using System.Text;
using Conformance.Adapters.Interop;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Kernel;

/// <summary>
/// Configures the media pipeline that feeds a video node of a media-controller device (V4L2_CAP_IO_MC), so that the node can
/// stream: a pipeline whose pads disagree refuses STREAMON with EPIPE (vidioc-streamon.rst), and the formats a driver starts
/// with need not agree (vimc's sensor starts on RGB888_1X24, its debayer's sink on SRGGB8_1X8). What it does is what
/// dev-subdev.rst (Format Negotiation) asks of an application, read from the device only: the graph from
/// MEDIA_IOC_G_TOPOLOGY, the links as the driver enabled them (none is changed), and on each link from the pipeline's origin
/// downstream the sink pad set to the source pad's format (VIDIOC_SUBDEV_S_FMT); where the sink refuses that media bus code,
/// the first code both pads accept (VIDIOC_SUBDEV_ENUM_MBUS_CODE); at the video node, the first pixel format VIDIOC_ENUM_FMT
/// lists for the last pad's code (its mbus_code filter, which V4L2_CAP_IO_MC promises) at the pad's size. Nothing it reads
/// is judged: formats are configuration, and how a driver treats buffers on the configured node is what the suite tests.
/// </summary>
public static unsafe class MediaGraph
{
    /// <summary>MEDIA_LNK_FL_LINK_TYPE, (0xf &lt;&lt; 28) in media.h: an int expression there, sign-extended, so not among the checked constants.</summary>
    private const uint MEDIA_LNK_FL_LINK_TYPE = 0xf0000000;

    private sealed record Topology(
        Dictionary<uint, string> Entities,
        List<(uint Id, uint Type, uint Major, uint Minor)> Interfaces,
        Dictionary<uint, (uint Entity, uint Flags, uint Index)> Pads,
        List<(uint Source, uint Sink, uint Flags)> Links);

    /// <summary>
    /// Finds the media device whose graph holds the video node at <paramref name="videoPath"/>, and configures the pipeline it
    /// streams in: every pad on the enabled links that join entities to it, and every video node among them. Null, with the
    /// reason, when no media device lists the node or some link's pads agree on no format (every format it changed is then
    /// put back).
    /// </summary>
    public static MediaPipeline? Configure(string videoPath, out string why)
    {
        if (Find(videoPath, out why) is not var (media, topo, intf)) { why = why.Length > 0 ? why : "no /dev/media* node's graph (MEDIA_IOC_G_TOPOLOGY) lists it, so its pipeline cannot be configured"; return null; }
        return Negotiate(media, topo, intf, out why);
    }

    /// <summary>The media device node (/dev/mediaN) whose graph (MEDIA_IOC_G_TOPOLOGY) lists the video node at
    /// <paramref name="videoPath"/> as a V4L video interface, or null (why says why when it is not simply absent).</summary>
    public static string? MediaDeviceOf(string videoPath, out string why) => Find(videoPath, out why)?.Media;

    private static (string Media, Topology Topo, uint Interface)? Find(string videoPath, out string why)
    {
        why = "";
        var st = new statx();
        if (Sys.Statx(videoPath, &st) is var sr and < 0) { why = $"{videoPath}: statx failed: {Sys.ErrnoOf(sr)}"; return null; }
        var (major, minor) = (st.stx_rdev_major, st.stx_rdev_minor);
        foreach (var media in Directory.GetFiles("/dev", "media*").Order(StringComparer.Ordinal))
        {
            if (Read(media) is not { } topo) continue;
            var intf = topo.Interfaces.FirstOrDefault(i => i.Type == MEDIA_INTF_T_V4L_VIDEO && i.Major == major && i.Minor == minor);
            if (intf.Id != 0) return (media, topo, intf.Id);
        }
        return null;
    }

    /// <summary>Applies a configuration again (after a driver reload, or when another node's configuration changed a shared pad):
    /// each pad format in order, then each video node's format. Returns null, or what did not take.</summary>
    public static string? Apply(MediaPipeline p)
    {
        foreach (var s in p.Settings)
            if (SetPad(s) is { } err) return err;
        foreach (var n in p.Nodes)
            if (SetNode(n) is { } err) return err;
        return null;
    }

    /// <summary>Puts every pad and video node back as they were before <see cref="Configure"/> (best effort: what refuses is left).</summary>
    public static void Restore(MediaPipeline p)
    {
        foreach (var s in p.InitialPads) SetPad(s);
        foreach (var n in p.InitialNodes) SetNode(n);
    }

    private static string? SetPad(PadFormat s)
    {
        long fd = Sys.Open(s.Subdev, O_RDWR | O_CLOEXEC);
        if (fd < 0) return $"{s.Subdev}: cannot be opened: {Sys.ErrnoOf(fd)}";
        try
        {
            var f = new v4l2_subdev_format { which = V4L2_SUBDEV_FORMAT_ACTIVE, pad = s.Pad };
            f.format.code = s.Code; f.format.width = s.Width; f.format.height = s.Height; f.format.field = s.Field;
            long r = Sys.Ioctl((int)fd, Req.VIDIOC_SUBDEV_S_FMT, &f);
            if (r < 0 || f.format.code != s.Code || f.format.width != s.Width || f.format.height != s.Height)
                return $"{s.Entity} pad {s.Pad}: VIDIOC_SUBDEV_S_FMT to 0x{s.Code:x4} {s.Width}x{s.Height} gave " +
                    (r < 0 ? Sys.ErrnoOf(r).ToString() : $"0x{f.format.code:x4} {f.format.width}x{f.format.height}");
            return null;
        }
        finally { Sys.Close((int)fd); }
    }

    private static string? SetNode(NodeFormat n)
    {
        long fd = Sys.Open(n.Node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return $"{n.Node}: cannot be opened: {Sys.ErrnoOf(fd)}";
        try
        {
            var f = new v4l2_format { type = n.BufType };
            if (Sys.Ioctl((int)fd, Req.VIDIOC_G_FMT, &f) is var g and < 0) return $"{n.Node}: VIDIOC_G_FMT failed: {Sys.ErrnoOf(g)}";
            f.fmt_pix.pixelformat = n.PixelFormat; f.fmt_pix.width = n.Width; f.fmt_pix.height = n.Height;
            long r = Sys.Ioctl((int)fd, Req.VIDIOC_S_FMT, &f);
            if (r < 0 || f.fmt_pix.pixelformat != n.PixelFormat || f.fmt_pix.width != n.Width || f.fmt_pix.height != n.Height)
                return $"{n.Node}: VIDIOC_S_FMT to {FourCC(n.PixelFormat)} {n.Width}x{n.Height} gave " +
                    (r < 0 ? Sys.ErrnoOf(r).ToString() : $"{FourCC(f.fmt_pix.pixelformat)} {f.fmt_pix.width}x{f.fmt_pix.height}");
            return null;
        }
        finally { Sys.Close((int)fd); }
    }

    private static bool IsInterface(uint flags) => (flags & MEDIA_LNK_FL_LINK_TYPE) == MEDIA_LNK_FL_INTERFACE_LINK;

    private static bool IsData(uint flags) => (flags & MEDIA_LNK_FL_LINK_TYPE) == MEDIA_LNK_FL_DATA_LINK && (flags & MEDIA_LNK_FL_ENABLED) != 0;

    private static MediaPipeline? Negotiate(string media, Topology topo, uint intfId, out string why)
    {
        why = "";
        var videoEntity = topo.Links.FirstOrDefault(l => IsInterface(l.Flags) && l.Source == intfId).Sink;
        if (videoEntity == 0) { why = $"{media}: no interface link joins the node to its entity"; return null; }
        // the pipeline: every entity the enabled data links join to the node, and those links
        var links = topo.Links.Where(l => IsData(l.Flags) && topo.Pads.ContainsKey(l.Source) && topo.Pads.ContainsKey(l.Sink))
            .Select(l => (Src: topo.Pads[l.Source], Snk: topo.Pads[l.Sink])).ToList();
        var members = new HashSet<uint> { videoEntity };
        for (bool grew = true; grew;)
        {
            grew = false;
            foreach (var (a, b) in links)
                if (members.Contains(a.Entity) != members.Contains(b.Entity)) { members.Add(a.Entity); members.Add(b.Entity); grew = true; }
        }
        links = links.Where(l => members.Contains(l.Src.Entity)).ToList();
        if (links.Count == 0) { why = $"{media}: no enabled data link feeds the node ({Name(topo, videoEntity)})"; return null; }
        // sources first (Kahn's order); a loop leaves entities out
        var order = new List<uint>();
        var indeg = members.ToDictionary(e => e, e => links.Count(l => l.Snk.Entity == e));
        var ready = new Queue<uint>(members.Where(e => indeg[e] == 0).Order());
        while (ready.Count > 0)
        {
            var e = ready.Dequeue();
            order.Add(e);
            foreach (var l in links.Where(l => l.Src.Entity == e))
                if (--indeg[l.Snk.Entity] == 0) ready.Enqueue(l.Snk.Entity);
        }
        if (order.Count != members.Count) { why = $"{media}: the enabled links of the node's pipeline form a loop"; return null; }
        string path = string.Join(", ", order.Select(e => Name(topo, e)));
        // each entity's node: a sub-device node, or a video node (whose buffer type QUERYCAP gives)
        var subdevs = new Dictionary<uint, string>();
        var videos = new Dictionary<uint, (string Node, uint Type)>();
        foreach (var e in order)
        {
            if (InterfaceNode(topo, e, MEDIA_INTF_T_V4L_VIDEO) is { } v)
            {
                if (VideoType(v) is not { } t) { why = $"{media}: video node {v} ({Name(topo, e)}) in the pipeline is not a single-planar capture or output node"; return null; }
                videos[e] = (v, t);
            }
            else if (InterfaceNode(topo, e, MEDIA_INTF_T_V4L_SUBDEV) is { } n) subdevs[e] = n;
            else { why = $"{media}: entity {Name(topo, e)} of the pipeline ({path}) has neither a sub-device nor a video node to configure it"; return null; }
        }
        var fds = new Dictionary<uint, int>();
        try
        {
            foreach (var (e, n) in subdevs)
            {
                long fd = Sys.Open(n, O_RDWR | O_CLOEXEC);
                if (fd < 0) { why = $"{n}: cannot be opened: {Sys.ErrnoOf(fd)} (a read-only sub-device cannot be configured)"; return null; }
                fds[e] = (int)fd;
            }
            PadFormat Pad(uint entity, uint pad, v4l2_mbus_framefmt f) => new(subdevs[entity], Name(topo, entity), pad, f.code, f.width, f.height, f.field);
            // what to put back: every sub-device pad on the pipeline's links, and every video node, as they are now
            var initialPads = new List<PadFormat>();
            foreach (var (a, b) in links)
                foreach (var end in new[] { a, b })
                    if (fds.TryGetValue(end.Entity, out int efd) && GetFmt(efd, end.Index) is { } f && !initialPads.Any(x => x.Subdev == subdevs[end.Entity] && x.Pad == end.Index))
                        initialPads.Add(Pad(end.Entity, end.Index, f));
            var initialNodes = new List<NodeFormat>();
            foreach (var (node, type) in videos.Values)
                if (GetNode(node, type) is { } nf) initialNodes.Add(nf);
            var settings = new List<PadFormat>();
            var nodes = new List<NodeFormat>();
            MediaPipeline? Fail(string reason, out string w)
            {
                w = reason;
                Restore(new MediaPipeline(media, [], [], initialPads, initialNodes, path));
                return null;
            }
            foreach (var e in order)
                foreach (var pad in links.Where(l => l.Src.Entity == e).Select(l => l.Src.Index).Distinct().Order())
                {
                    var outs = links.Where(l => l.Src.Entity == e && l.Src.Index == pad).ToList();
                    if (!fds.TryGetValue(e, out int src)) return Fail($"{media}: video node {videos[e].Node} feeds the pipeline (an output node): not configured by the suite", out why);
                    if (GetFmt(src, pad) is not { } cur) return Fail($"{Name(topo, e)} pad {pad}: VIDIOC_SUBDEV_G_FMT fails", out why);
                    // the source pad's code every sink on it accepts: its current one, else the first of those it lists
                    bool done = false;
                    foreach (uint code in Codes(src, pad).Where(c => c != cur.code).Prepend(cur.code))
                    {
                        var a = cur;
                        if (code != cur.code)
                        {
                            var f = cur; f.code = code;
                            if (SetFmt(src, pad, f) is not { } set || set.code != code) continue;
                            a = set;
                        }
                        var padsHere = new List<PadFormat> { Pad(e, pad, a) };
                        var nodesHere = new List<NodeFormat>();
                        bool ok = true;
                        foreach (var l in outs)
                        {
                            if (fds.TryGetValue(l.Snk.Entity, out int sink))
                            {
                                if (SetFmt(sink, l.Snk.Index, a) is { } b && Agree(a, b)) padsHere.Add(Pad(l.Snk.Entity, l.Snk.Index, b));
                                else { ok = false; break; }
                            }
                            else
                            {
                                var (node, type) = videos[l.Snk.Entity];
                                uint pix = PixelFormatFor(node, type, a.code);
                                var nf = new NodeFormat(node, type, pix, a.width, a.height);
                                if (pix == 0 || SetNode(nf) != null) { ok = false; break; }
                                nodesHere.Add(nf);
                            }
                        }
                        if (!ok) continue;
                        settings.AddRange(padsHere);
                        nodes.AddRange(nodesHere);
                        done = true;
                        break;
                    }
                    if (!done)
                        return Fail($"{Name(topo, e)} pad {pad} -> {string.Join(", ", outs.Select(l => $"{Name(topo, l.Snk.Entity)}:{l.Snk.Index}"))}: " +
                            "no media bus code every end accepts (VIDIOC_SUBDEV_ENUM_MBUS_CODE, VIDIOC_SUBDEV_S_FMT, VIDIOC_ENUM_FMT with mbus_code)", out why);
                }
            // the pads set first may have been changed by later ones (a sink's format propagates to the entity's source pads):
            // applying the whole list again in order must leave every link agreeing, as STREAMON's validation will see it
            var p = new MediaPipeline(media, settings, nodes, initialPads, initialNodes, path);
            if (Apply(p) is { } err) return Fail($"applying the configuration again: {err}", out why);
            return p;
        }
        finally { foreach (var fd in fds.Values) Sys.Close(fd); }
    }

    /// <summary>Two ends of a link agree as link validation compares them: code, width and height equal, and the field equal or
    /// the sink progressive (v4l2_subdev_link_validate_default).</summary>
    private static bool Agree(v4l2_mbus_framefmt src, v4l2_mbus_framefmt sink) =>
        src.code == sink.code && src.width == sink.width && src.height == sink.height && (src.field == sink.field || sink.field == V4L2_FIELD_NONE);

    private static v4l2_mbus_framefmt? GetFmt(int fd, uint pad)
    {
        var f = new v4l2_subdev_format { which = V4L2_SUBDEV_FORMAT_ACTIVE, pad = pad };
        return Sys.Ioctl(fd, Req.VIDIOC_SUBDEV_G_FMT, &f) == 0 ? f.format : null;
    }

    private static v4l2_mbus_framefmt? SetFmt(int fd, uint pad, v4l2_mbus_framefmt want)
    {
        var f = new v4l2_subdev_format { which = V4L2_SUBDEV_FORMAT_ACTIVE, pad = pad, format = want };
        return Sys.Ioctl(fd, Req.VIDIOC_SUBDEV_S_FMT, &f) == 0 ? f.format : null;
    }

    private static List<uint> Codes(int fd, uint pad)
    {
        var list = new List<uint>();
        for (uint i = 0; i < 256; i++)
        {
            var c = new v4l2_subdev_mbus_code_enum { pad = pad, index = i, which = V4L2_SUBDEV_FORMAT_ACTIVE };
            if (Sys.Ioctl(fd, Req.VIDIOC_SUBDEV_ENUM_MBUS_CODE, &c) != 0) break;
            list.Add(c.code);
        }
        return list;
    }

    /// <summary>The first pixel format VIDIOC_ENUM_FMT lists on a video node for a media bus code (mbus_code set, which
    /// V4L2_CAP_IO_MC promises: vidioc-enum-fmt.rst), or 0.</summary>
    private static uint PixelFormatFor(string node, uint type, uint code)
    {
        long fd = Sys.Open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return 0;
        try
        {
            var d = new v4l2_fmtdesc { index = 0, type = type, mbus_code = code };
            return Sys.Ioctl((int)fd, Req.VIDIOC_ENUM_FMT, &d) == 0 ? d.pixelformat : 0;
        }
        finally { Sys.Close((int)fd); }
    }

    /// <summary>A video node's current single-planar format, or null.</summary>
    private static NodeFormat? GetNode(string node, uint type)
    {
        long fd = Sys.Open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return null;
        try
        {
            var f = new v4l2_format { type = type };
            return Sys.Ioctl((int)fd, Req.VIDIOC_G_FMT, &f) == 0 ? new NodeFormat(node, type, f.fmt_pix.pixelformat, f.fmt_pix.width, f.fmt_pix.height) : null;
        }
        finally { Sys.Close((int)fd); }
    }

    /// <summary>VIDEO_CAPTURE or VIDEO_OUTPUT from the node's QUERYCAP device caps; null for any other kind of node.</summary>
    private static uint? VideoType(string node)
    {
        long fd = Sys.Open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return null;
        try
        {
            var cap = new v4l2_capability();
            if (Sys.Ioctl((int)fd, Req.VIDIOC_QUERYCAP, &cap) != 0) return null;
            uint caps = Discovery.DeviceCaps(cap);
            return (caps & V4L2_CAP_VIDEO_CAPTURE) != 0 ? V4L2_BUF_TYPE_VIDEO_CAPTURE : (caps & V4L2_CAP_VIDEO_OUTPUT) != 0 ? V4L2_BUF_TYPE_VIDEO_OUTPUT : null;
        }
        finally { Sys.Close((int)fd); }
    }

    /// <summary>The device node of interface type <paramref name="intfType"/> (a video node, /dev/videoN, or a sub-device
    /// node, /dev/v4l-subdevN) that an interface link gives the entity, or null.</summary>
    private static string? InterfaceNode(Topology t, uint entity, uint intfType)
    {
        foreach (var l in t.Links.Where(l => IsInterface(l.Flags) && l.Sink == entity))
            if (t.Interfaces.FirstOrDefault(i => i.Id == l.Source && i.Type == intfType) is { Id: not 0 } i && NodeOf(i.Major, i.Minor) is { } n)
                return n;
        return null;
    }

    private static string Name(Topology t, uint entity) => t.Entities.TryGetValue(entity, out var n) ? n : $"entity {entity}";

    /// <summary>A char device's node from its number: /sys/dev/char/MAJOR:MINOR/uevent's DEVNAME.</summary>
    private static string? NodeOf(uint major, uint minor)
    {
        try
        {
            foreach (var line in File.ReadLines($"/sys/dev/char/{major}:{minor}/uevent"))
                if (line.StartsWith("DEVNAME=", StringComparison.Ordinal)) return "/dev/" + line[8..];
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>MEDIA_IOC_G_TOPOLOGY twice: the counts, then the objects. Null when the node does not answer it.</summary>
    private static Topology? Read(string media)
    {
        long fdr = Sys.Open(media, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fdr < 0) return null;
        int fd = (int)fdr;
        try
        {
            var t = new media_v2_topology();
            if (Sys.Ioctl(fd, Req.MEDIA_IOC_G_TOPOLOGY, &t) != 0) return null;
            var ents = new media_v2_entity[t.num_entities + 1];
            var intfs = new media_v2_interface[t.num_interfaces + 1];
            var pads = new media_v2_pad[t.num_pads + 1];
            var links = new media_v2_link[t.num_links + 1];
            fixed (media_v2_entity* e = ents) fixed (media_v2_interface* i = intfs) fixed (media_v2_pad* p = pads) fixed (media_v2_link* l = links)
            {
                t.ptr_entities = (ulong)e; t.ptr_interfaces = (ulong)i; t.ptr_pads = (ulong)p; t.ptr_links = (ulong)l;
                if (Sys.Ioctl(fd, Req.MEDIA_IOC_G_TOPOLOGY, &t) != 0) return null;   // ENOSPC if the graph grew in between
            }
            var topo = new Topology([], [], [], []);
            for (int k = 0; k < t.num_entities; k++)
                fixed (byte* n = ents[k].name) topo.Entities[ents[k].id] = Encoding.UTF8.GetString(n, new Span<byte>(n, 64).IndexOf((byte)0) is var z and >= 0 ? z : 64);
            for (int k = 0; k < t.num_interfaces; k++) topo.Interfaces.Add((intfs[k].id, intfs[k].intf_type, intfs[k].devnode_major, intfs[k].devnode_minor));
            for (int k = 0; k < t.num_pads; k++) topo.Pads[pads[k].id] = (pads[k].entity_id, pads[k].flags, pads[k].index);
            for (int k = 0; k < t.num_links; k++) topo.Links.Add((links[k].source_id, links[k].sink_id, links[k].flags));
            return topo;
        }
        finally { Sys.Close(fd); }
    }
}
