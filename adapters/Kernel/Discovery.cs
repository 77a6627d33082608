using System.Text;
using Conformance.Adapters.Interop;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Kernel;

/// <summary>One device the suite certifies on its own, with what it needs beside it.</summary>
/// <param name="Name">How reports name it, e.g. "/dev/video0 (vivid: vivid-000-vid-cap)".</param>
/// <param name="Areas">Catalog areas certified for this device.</param>
/// <param name="Paths">Symbolic device names the ops use → paths (helpers such as the heap that
/// supplies dma-bufs to a V4L2 DMABUF queue are listed too, but are not what is certified).</param>
public sealed record CertUnit(string Name, string Path, string Driver, TargetProfile Profile, IReadOnlyList<string> Areas,
    IReadOnlyDictionary<string, string> Paths, IReadOnlyList<string> Notes);

/// <summary>A device found but not certified, and why (reported as SKIP, never as a pass).</summary>
public sealed record SkippedDevice(string Path, string Driver, string Reason);

public sealed record Discovered(string Kernel, IReadOnlyList<CertUnit> Units, IReadOnlyList<SkippedDevice> Skipped);

/// <summary>A path the user named that cannot be certified: the runner prints it and exits 2.</summary>
public sealed class DeviceException(string message) : Exception(message);

/// <summary>
/// Finds what this machine offers and reads each device's profile through the documented query interfaces only
/// (QUERYCAP, G_FMT, the capabilities REQBUFS(0) and CREATE_BUFS(0) report, V4L2_CID_MIN_BUFFERS_FOR_*, which
/// ioctls exist, fdinfo exp_name to name an exporter), or checks one device a user names. It never probes a
/// behaviour the suite judges (offsets, granted counts, contents, errnos): a driver that breaks a rule is a finding.
/// </summary>
public static unsafe class Discovery
{
    /// <summary>uname -r, e.g. "6.12.117+deb12-amd64" or "6.1.0-41-amd64".</summary>
    public static string KernelRelease() =>
        File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "unknown";

    /// <summary>
    /// The upstream version the kernel is built from, which known-issue ranges are written in: Debian names its 6.1
    /// kernels by ABI ("6.1.0-41-amd64") and puts the version in /proc/version ("... Debian 6.1.158-1 ..."); other
    /// kernels carry it at the start of the release.
    /// </summary>
    public static string KernelVersion()
    {
        try
        {
            // the last "Debian X.Y.Z": the compiler's own version ("gcc-12 (Debian 12.2.0-14) ...") comes first
            var ms = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText("/proc/version"), @"Debian (\d+\.\d+\.\d+)");
            if (ms.Count > 0) return ms[^1].Groups[1].Value;
        }
        catch (IOException) { }
        var r = KernelRelease();
        return new string(r.TakeWhile(c => char.IsDigit(c) || c == '.').ToArray()) is { Length: > 0 } v ? v : r;
    }

    /// <summary>
    /// Everything under /dev the catalog covers, or just <paramref name="devices"/> when given. A device named by the user
    /// that cannot be certified is a <see cref="DeviceException"/>; one found (or, with <paramref name="found"/>, named by
    /// the lab because a module created it) is a <see cref="SkippedDevice"/> with the reason, and the rest still run.
    /// </summary>
    public static Discovered Discover(IReadOnlyList<string> devices, bool found = false)
    {
        var kernel = KernelVersion();
        var units = new List<CertUnit>();
        var skipped = new List<SkippedDevice>();
        var heaps = new List<(string Path, HeapProfile Heap, string ExpName)>();
        // heaps first: a V4L2 DMABUF queue needs a dma-buf source beside it
        var heapPaths = Directory.Exists("/dev/dma_heap") ? Directory.GetFiles("/dev/dma_heap").Order().ToList() : [];
        foreach (var p in heapPaths)
            if (ProbeHeap(p, out var h, out var exp, out var why)) heaps.Add((p, h!, exp));
            else if (devices.Count == 0) skipped.Add(new(p, "?", why));

        IEnumerable<string> candidates = devices.Count > 0 ? devices
            : heapPaths.Concat(Glob("/dev", "video*")).Concat(File.Exists("/dev/udmabuf") ? ["/dev/udmabuf"] : [])
                .Concat(Glob("/dev/dri", "card*")).Concat(Glob("/dev/dri", "renderD*"))
                .Concat(Glob("/dev", "media*")).Concat(Glob("/dev", "v4l-subdev*"));
        foreach (var path in candidates)
        {
            bool named = devices.Count > 0 && !found;
            var kind = Classify(path, named);
            switch (kind)
            {
                case "video":
                    var u = ProbeVideo(path, heaps.FirstOrDefault(), kernel, out var skip);
                    if (u != null) units.Add(u);
                    else if (named) throw new DeviceException($"{path}: {skip!.Reason}");
                    else skipped.Add(skip!);
                    break;
                case "heap":
                    if (!ProbeHeap(path, out var heap, out var expName, out var why)) throw new DeviceException($"{path}: {why}");
                    var hp = heap! with { Device = "heap:" + heap!.Name };
                    units.Add(new CertUnit($"{path} (dma-heap ABI: exporter {expName})", path, expName,
                        new TargetProfile($"kernel:{path}", kernel, [], [hp], null, 0), ["heap", "dmabuf"],
                        new Dictionary<string, string> { [hp.Device] = path }, [$"exporter (fdinfo exp_name) {expName}"]));
                    break;
                case "udmabuf":
                    long limit = UdmabufSizeLimit();
                    int listLimit = UdmabufListLimit();
                    var huge = HugetlbPool();
                    units.Add(new CertUnit($"{path} (udmabuf)", path, "udmabuf",
                        new TargetProfile($"kernel:{path}", kernel, [], [], "udmabuf", limit) { Hugetlb = huge, UdmabufListLimit = listLimit }, ["udmabuf", "dmabuf"],
                        new Dictionary<string, string> { ["udmabuf"] = path },
                        [$"size_limit_mb {limit >> 20}, list_limit {listLimit}", huge != null ? $"hugetlb memfds: {huge.Pages} huge page(s) of {huge.PageSize >> 10} KiB" : "hugetlb memfds: none (HugePages_Free 0)"]));
                    break;
                case "drm":
                    if (System.IO.Path.GetFileName(path).StartsWith("renderD", StringComparison.Ordinal))
                    {
                        // dumb buffers need the primary node; the render node is the same device
                        var why2 = "a render node: DRM_IOCTL_MODE_CREATE_DUMB needs the primary node (/dev/dri/card*), which is certified instead";
                        if (named) throw new DeviceException($"{path} is {why2}");
                        skipped.Add(new(path, SysfsDriver(path), why2));
                        break;
                    }
                    // PRIME import and fences are certified on buffers from every other exporter found here
                    var video = units.FirstOrDefault(x => x.Profile.Video.Count > 0 && x.Profile.Video[0].BufType == V4L2_BUF_TYPE_VIDEO_CAPTURE
                        && x.Profile.Video[0].SupportsMemory(V4L2_MEMORY_DMABUF));
                    var d = ProbeDrm(path, kernel, out var dskip, heaps.FirstOrDefault(), File.Exists("/dev/udmabuf") ? "/dev/udmabuf" : null, video);
                    if (d != null) units.Add(d);
                    else if (named) throw new DeviceException($"{path}: {dskip!.Reason}");
                    else skipped.Add(dskip!);
                    break;
                case "media":
                case "subdev":
                    var (mdriver, why3) = kind == "media" ? MediaNode(path) : (SysfsDriver(path),
                        "a V4L2 sub-device node: it configures one entity of a media pipeline (formats, links) and has no buffer queue; the pipeline's video nodes are what the suite certifies");
                    if (named) throw new DeviceException($"{path}: {why3}");
                    skipped.Add(new(path, mdriver, why3));
                    break;
                default:
                    if (named) throw new DeviceException($"{path}: {kind}");
                    skipped.Add(new(path, "?", kind));
                    break;
            }
        }
        return new Discovered(KernelRelease(), units, skipped);
    }

    private static IEnumerable<string> Glob(string dir, string pattern) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir, pattern).OrderBy(p => p.Length).ThenBy(p => p, StringComparer.Ordinal) : [];

    /// <summary>"video", "heap", "udmabuf", "drm", "media" (a media controller), "subdev" (a V4L2 sub-device), or why the
    /// path is none of them.</summary>
    public static string Classify(string path, bool named)
    {
        var st = new statx();
        long sr = Sys.Statx(path, &st);
        if (sr == -(long)Errno.ENOENT) return "no such file or directory";
        if (sr < 0) return $"cannot be examined: {Sys.ErrnoOf(sr)}";
        const int S_IFMT = 0xF000, S_IFCHR = 0x2000, S_IFDIR = 0x4000, S_IFBLK = 0x6000;
        int type = st.stx_mode & S_IFMT;
        if (type != S_IFCHR)
            return $"not a character device ({(type == S_IFDIR ? "a directory" : type == S_IFBLK ? "a block device" : "a regular file or other kind of file")})";
        if (st.stx_rdev_major == 226) return "drm";
        long fd = Sys.Open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd == -(long)Errno.EACCES || fd == -(long)Errno.EPERM) fd = Sys.Open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return $"cannot be opened: {Sys.ErrnoOf(fd)}{(fd == -(long)Errno.EACCES ? " (permission denied: run as root or join the device's group)" : "")}";
        try
        {
            var cap = new v4l2_capability();
            if (Sys.Ioctl((int)fd, Req.VIDIOC_QUERYCAP, &cap) == 0) return "video";
            var sc = new v4l2_subdev_capability();
            if (Sys.Ioctl((int)fd, Req.VIDIOC_SUBDEV_QUERYCAP, &sc) == 0) return "subdev";
            var mi = new media_device_info();
            if (Sys.Ioctl((int)fd, Req.MEDIA_IOC_DEVICE_INFO, &mi) == 0) return "media";
            var d = new dma_heap_allocation_data { len = PAGE_SIZE, fd_flags = (uint)(O_RDWR | O_CLOEXEC) };
            if (Sys.Ioctl((int)fd, Req.DMA_HEAP_IOCTL_ALLOC, &d) == 0) { Sys.Close((int)d.fd); return "heap"; }
            // UDMABUF_CREATE with memfd -1 fails in fget (EBADFD, udmabuf.c) only on a udmabuf device
            var u = new udmabuf_create { memfd = uint.MaxValue, size = PAGE_SIZE };
            if (Sys.Ioctl((int)fd, Req.UDMABUF_CREATE, &u) == -(long)Errno.EBADFD) return "udmabuf";
            return "not a V4L2, dma-heap, udmabuf or DRM device (VIDIOC_QUERYCAP, VIDIOC_SUBDEV_QUERYCAP, MEDIA_IOC_DEVICE_INFO, DMA_HEAP_IOCTL_ALLOC and UDMABUF_CREATE were all refused, and its major is not DRM's 226)";
        }
        finally { Sys.Close((int)fd); }
    }

    private static string Text(byte* p, int n)
    {
        int len = 0;
        while (len < n && p[len] != 0) len++;
        return Encoding.UTF8.GetString(p, len);
    }

    /// <summary>The node's own capabilities from QUERYCAP: device_caps when V4L2_CAP_DEVICE_CAPS says it is filled in, else
    /// capabilities (vidioc-querycap.rst).</summary>
    public static uint DeviceCaps(in v4l2_capability cap) => (cap.capabilities & V4L2_CAP_DEVICE_CAPS) != 0 ? cap.device_caps : cap.capabilities;

    /// <summary>A media-controller node's driver and why it is not certified (MEDIA_IOC_DEVICE_INFO names it).</summary>
    private static (string Driver, string Why) MediaNode(string path)
    {
        string driver = "?", model = "";
        long fd = Sys.Open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0)
        {
            var mi = new media_device_info();
            if (Sys.Ioctl((int)fd, Req.MEDIA_IOC_DEVICE_INFO, &mi) == 0) { driver = Text(mi.driver, 16); model = Text(mi.model, 32); }
            Sys.Close((int)fd);
        }
        return ($"{driver}{(model.Length > 0 ? ": " + model : "")}",
            "a media-controller node: it describes and links the pipeline's entities and has no buffer queue; the pipeline's video nodes are what the suite certifies");
    }

    /// <summary>The kernel driver bound to a char device, from sysfs.</summary>
    private static string SysfsDriver(string path)
    {
        var st = new statx();
        if (Sys.Statx(path, &st) < 0) return "?";
        var link = $"/sys/dev/char/{st.stx_rdev_major}:{st.stx_rdev_minor}/device/driver";
        try
        {
            // a platform device without a bound driver (vgem) is named by its device directory
            return new FileInfo(link).LinkTarget is { } t ? System.IO.Path.GetFileName(t)
                : new FileInfo($"/sys/dev/char/{st.stx_rdev_major}:{st.stx_rdev_minor}/device").LinkTarget is { } dev ? System.IO.Path.GetFileName(dev) : "?";
        }
        catch (IOException) { return "?"; }
    }

    /// <summary>
    /// A DRM device as a dma-buf exporter: a dumb buffer exported with PRIME, to see that it can export and to read
    /// the exporter's name. Null (with the reason) when it cannot export.
    /// </summary>
    public static CertUnit? ProbeDrm(string path, string kernel, out SkippedDevice? skip,
        (string Path, HeapProfile Heap, string ExpName) helperHeap = default, string? udmabuf = null, CertUnit? helperVideo = null)
    {
        skip = null;
        string driver = SysfsDriver(path);
        long fdr = Sys.Open(path, O_RDWR | O_CLOEXEC);
        if (fdr < 0) { skip = new(path, driver, $"cannot be opened: {Sys.ErrnoOf(fdr)}"); return null; }
        int fd = (int)fdr;
        try
        {
            var c = new drm_mode_create_dumb { width = 64, height = 32, bpp = 32 };   // two pages
            long r = Sys.Ioctl(fd, Req.DRM_IOCTL_MODE_CREATE_DUMB, &c);
            if (r < 0) { skip = new(path, driver, $"DRM_IOCTL_MODE_CREATE_DUMB fails with {Sys.ErrnoOf(r)}: the suite has no way to make a buffer to export"); return null; }
            var h = new drm_prime_handle { handle = c.handle, flags = DRM_CLOEXEC | DRM_RDWR, fd = -1 };
            r = Sys.Ioctl(fd, Req.DRM_IOCTL_PRIME_HANDLE_TO_FD, &h);
            var close = new drm_gem_close { handle = c.handle };
            Sys.Ioctl(fd, Req.DRM_IOCTL_GEM_CLOSE, &close);
            if (r < 0) { skip = new(path, driver, $"DRM_IOCTL_PRIME_HANDLE_TO_FD fails with {Sys.ErrnoOf(r)}: no PRIME export"); return null; }
            string expName = FdInfoField(h.fd, "exp_name") ?? "?";
            Sys.Close(h.fd);
            var drm = new DrmProfile("drm:" + driver, driver);
            var paths = new Dictionary<string, string> { [drm.Device] = path };
            var notes = new List<string> { $"dumb buffers exported with DRM_IOCTL_PRIME_HANDLE_TO_FD (exporter {expName})" };
            var areas = new List<string> { "dmabuf", "prime" };
            if (drm.VgemFences) areas.Add("fence");
            else notes.Add("not vgem: no userspace-controlled fences, so the fence area is not certified here");
            var heaps = new List<HeapProfile>();
            AddHelperHeap(helperHeap, heaps, paths);
            if (udmabuf != null) paths["udmabuf"] = udmabuf;
            var video = new List<VideoNodeProfile>();
            // the capture node only supplies and takes buffers here: its read() I/O is certified on its own unit
            if (helperVideo != null) { video.Add(helperVideo.Profile.Video[0] with { ReadWrite = false, RequestMedia = null }); paths[helperVideo.Profile.Video[0].Device] = helperVideo.Path; }
            var helpers = paths.Where(kv => kv.Key != drm.Device).Select(kv => kv.Value).ToList();
            if (helpers.Count > 0) notes.Add($"buffers from {string.Join(", ", helpers)} are imported with PRIME and carry fences (those devices are not certified here)");
            var profile = new TargetProfile($"kernel:{path}", kernel, video, heaps, udmabuf != null ? "udmabuf" : null, udmabuf != null ? UdmabufSizeLimit() : 0) { Drm = [drm] };
            return new CertUnit($"{path} (DRM {driver}: PRIME exporter {expName})", path, driver, profile, areas, paths, notes);
        }
        finally { Sys.Close(fd); }
    }

    /// <summary>Puts a heap that supplies dma-bufs beside the certified device into its profile and paths; false when there is none.</summary>
    private static bool AddHelperHeap((string Path, HeapProfile Heap, string ExpName) helper, List<HeapProfile> heaps, Dictionary<string, string> paths)
    {
        if (helper.Heap == null) return false;
        var hh = helper.Heap with { Device = "heap:" + helper.Heap.Name };
        heaps.Add(hh);
        paths[hh.Device] = helper.Path;
        return true;
    }

    /// <summary>The hugetlb pool hugetlb memfds may use (<see cref="HugetlbProfile"/>): /proc/meminfo's Hugepagesize and
    /// HugePages_Free, at most <see cref="HugetlbProfile.MaxPages"/> pages; null when none is free or the file cannot be read.</summary>
    public static HugetlbProfile? HugetlbPool()
    {
        var m = Meminfo();
        long size = m.GetValueOrDefault("Hugepagesize") << 10, free = m.GetValueOrDefault("HugePages_Free");
        return size > 0 && free > 0 ? new HugetlbProfile(size, (int)Math.Min(free, HugetlbProfile.MaxPages)) : null;
    }

    /// <summary>The default huge page size in bytes (/proc/meminfo Hugepagesize), 0 where there is none.</summary>
    public static long HugePageSize() => Meminfo().GetValueOrDefault("Hugepagesize") << 10;

    /// <summary>/proc/meminfo's fields by name (without the colon), in one read: kB for sizes, a count for HugePages_*; empty
    /// where unreadable. The kernel prints unsigned longs: one past long's range (a counter decremented below 0) reads as
    /// the negative number it wrapped from.</summary>
    public static Dictionary<string, long> Meminfo()
    {
        var fields = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length >= 2 && f[0].EndsWith(':') && ulong.TryParse(f[1], out var u)) fields[f[0][..^1]] = unchecked((long)u);
            }
        }
        catch (IOException) { }
        return fields;
    }

    /// <summary>udmabuf's list_limit parameter (UDMABUF_CREATE_LIST's most items), 1024 where it cannot be read.</summary>
    public static int UdmabufListLimit()
    {
        const string p = "/sys/module/udmabuf/parameters/list_limit";
        return File.Exists(p) && int.TryParse(File.ReadAllText(p).Trim(), out var n) ? n : 1024;
    }

    public static long UdmabufSizeLimit()
    {
        const string p = "/sys/module/udmabuf/parameters/size_limit_mb";
        return File.Exists(p) && long.TryParse(File.ReadAllText(p).Trim(), out var mb) ? mb << 20 : 64L << 20;
    }

    /// <summary>
    /// The suite's choice of format for a multi-planar queue, so that more than one plane is certified: of the formats
    /// VIDIOC_ENUM_FMT lists, the first whose VIDIOC_TRY_FMT (at the current width and height) has the most planes, set with
    /// VIDIOC_S_FMT. Only documented queries say how many planes a format has; nothing judged is read. False (with the
    /// reason in note) when no format can be set; otherwise note says what was chosen.
    /// </summary>
    private static bool ChooseMostPlanes(int fd, uint type, out uint pixelFormat, out uint initial, out string note)
    {
        pixelFormat = 0;
        initial = 0;
        var cur = new v4l2_format { type = type };
        if (Sys.Ioctl(fd, Req.VIDIOC_G_FMT, &cur) != 0) { note = "VIDIOC_G_FMT fails"; return false; }
        initial = cur.fmt_pix_mp.pixelformat;
        int best = 0;
        foreach (var (fourcc, _) in Formats(fd, type))
        {
            var t = cur;
            t.fmt_pix_mp.pixelformat = fourcc;
            if (Sys.Ioctl(fd, Req.VIDIOC_TRY_FMT, &t) != 0 || t.fmt_pix_mp.pixelformat != fourcc) continue;
            if (t.fmt_pix_mp.num_planes > best) { best = t.fmt_pix_mp.num_planes; pixelFormat = fourcc; }
        }
        if (pixelFormat == 0) { note = $"current format {FourCC(cur.fmt_pix_mp.pixelformat)}, {cur.fmt_pix_mp.num_planes} plane(s) (VIDIOC_ENUM_FMT/TRY_FMT offer no other)"; return true; }
        if (pixelFormat == initial)
        {
            note = $"format {FourCC(pixelFormat)} kept ({best} plane{(best == 1 ? "" : "s")}, the most of any format it lists)";
            pixelFormat = initial = 0;
            return true;
        }
        long r = SetPixelFormat(fd, type, pixelFormat);
        if (r < 0) { note = $"VIDIOC_S_FMT to {FourCC(pixelFormat)} (the format with the most planes, {best}) fails with {Sys.ErrnoOf(r)}"; return false; }
        note = $"format set to {FourCC(pixelFormat)} ({best} planes, the most of any format it lists; {FourCC(initial)} is put back afterwards)";
        return true;
    }

    /// <summary>The sizeimage of each plane of a format, in bytes: num_planes entries of plane_fmt[] on a multi-planar type
    /// (at most VIDEO_MAX_PLANES), fmt.pix.sizeimage alone on a single-planar one.</summary>
    public static List<long> PlaneSizes(v4l2_format* f)
    {
        if (!IsMultiPlanar(f->type)) return [f->fmt_pix.sizeimage];
        var sizes = new List<long>();
        for (int p = 0; p < f->fmt_pix_mp.num_planes && p < VIDEO_MAX_PLANES; p++) sizes.Add(v4l2_pix_format_mplane.Plane(&f->fmt_pix_mp, p)->sizeimage);
        return sizes;
    }

    /// <summary>VIDIOC_G_FMT, then VIDIOC_S_FMT with only the pixel format changed (width, height and the rest as they were,
    /// the driver adjusting what it must). Returns the ioctl result (negative: -errno).</summary>
    public static long SetPixelFormat(int fd, uint type, uint pixelFormat)
    {
        var f = new v4l2_format { type = type };
        long r = Sys.Ioctl(fd, Req.VIDIOC_G_FMT, &f);
        if (r < 0) return r;
        if (IsMultiPlanar(type)) f.fmt_pix_mp.pixelformat = pixelFormat; else f.fmt_pix.pixelformat = pixelFormat;
        return Sys.Ioctl(fd, Req.VIDIOC_S_FMT, &f);
    }

    /// <summary>
    /// One queue of a V4L2 node, read through the documented queries only: REQBUFS(0)'s capabilities, the format (on a
    /// multi-planar queue first set to the one with the most planes), CREATE_BUFS(0)'s capabilities and max_num_buffers,
    /// V4L2_CID_MIN_BUFFERS_FOR_*, whether REMOVE_BUFS exists, and the exporter's name. Null, with the reason, when the
    /// suite cannot certify it; notes say what was read.
    /// </summary>
    private static VideoNodeProfile? ProbeQueue(int fd, uint type, string driver, string card, out List<string> notes, out string? why)
    {
        notes = [];
        why = null;
        uint bufCaps = 0, usable = 0;
        foreach (var mem in new[] { V4L2_MEMORY_MMAP, V4L2_MEMORY_DMABUF, V4L2_MEMORY_USERPTR })
        {
            var rb = new v4l2_requestbuffers { count = 0, type = type, memory = mem };
            if (Sys.Ioctl(fd, Req.VIDIOC_REQBUFS, &rb) == 0) { bufCaps = rb.capabilities; usable = mem; break; }
        }
        if (bufCaps == 0) { why = "VIDIOC_REQBUFS(0) fails for MMAP, DMABUF and USERPTR"; return null; }
        var fmt = new v4l2_format { type = type };
        bool mplane = IsMultiPlanar(type);
        uint pixelFormat = 0, initialFormat = 0;
        string? formatNote = null;
        if (mplane && !ChooseMostPlanes(fd, type, out pixelFormat, out initialFormat, out formatNote)) { why = formatNote!; return null; }
        if (Sys.Ioctl(fd, Req.VIDIOC_G_FMT, &fmt) != 0) { why = "VIDIOC_G_FMT fails"; return null; }
        var planeSizes = PlaneSizes(&fmt);
        if (planeSizes.Count == 0 || planeSizes.Any(x => x == 0)) { why = $"VIDIOC_G_FMT gives no sizeimage{(mplane ? " for some plane" : "")}"; return null; }
        long sizeImage = planeSizes[0];

        // CREATE_BUFS(0) reports the queue's capabilities (with SUPPORTS_MAX_NUM_BUFFERS, its maximum) and allocates nothing
        var cb = new v4l2_create_buffers { count = 0, memory = usable, format = fmt };
        bool hasCreate = Sys.Ioctl(fd, Req.VIDIOC_CREATE_BUFS, &cb) == 0;
        uint createCaps = hasCreate ? cb.capabilities : bufCaps;
        int maxBufs = hasCreate && (cb.capabilities & V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS) != 0 ? (int)cb.max_num_buffers : VideoNodeProfile.VideoMaxFrame;
        var ctrl = new v4l2_control { id = IsOutputType(type) ? V4L2_CID_MIN_BUFFERS_FOR_OUTPUT : V4L2_CID_MIN_BUFFERS_FOR_CAPTURE };
        int? minCtrl = Sys.Ioctl(fd, Req.VIDIOC_G_CTRL, &ctrl) == 0 ? ctrl.value : null;
        var rm = new v4l2_remove_buffers { count = 0, type = type };
        bool hasRemove = Sys.Ioctl(fd, Req.VIDIOC_REMOVE_BUFS, &rm) != -(long)Errno.ENOTTY;
        string? exporter = (bufCaps & V4L2_BUF_CAP_SUPPORTS_MMAP) != 0 ? ExporterName(fd, type) : null;
        notes.Add($"{BufTypeName(type)}, " + (mplane ? $"{formatNote}, plane sizeimage {string.Join(" + ", planeSizes)}" : $"sizeimage {sizeImage}") +
            $", buffer caps {CapNames(bufCaps)} (CREATE_BUFS: {(hasCreate ? CapNames(createCaps) : "not implemented")}), " +
            $"max buffers {maxBufs}{(hasCreate && (createCaps & V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS) != 0 ? "" : " (VIDEO_MAX_FRAME: no SUPPORTS_MAX_NUM_BUFFERS)")}");
        notes.Add($"{(IsOutputType(type) ? "V4L2_CID_MIN_BUFFERS_FOR_OUTPUT" : "V4L2_CID_MIN_BUFFERS_FOR_CAPTURE")} {(minCtrl is { } mc ? mc.ToString() : "not implemented")}; " +
            $"VIDIOC_REMOVE_BUFS {(hasRemove ? "implemented" : "not implemented")}; EXPBUF exporter {exporter ?? "unknown (no MMAP)"}");
        return new VideoNodeProfile("video", driver, card, type, bufCaps, createCaps, maxBufs, minCtrl, sizeImage, hasRemove,
            exporter, DeviceWritesCaptureBuffers: !IsOutputType(type))
        { PlaneSizes = planeSizes, PixelFormat = pixelFormat, InitialPixelFormat = pixelFormat != 0 ? initialFormat : 0 };
    }

    /// <summary>The first format VIDIOC_ENUM_FMT lists for the type with V4L2_FMT_FLAG_COMPRESSED (a codec's bitstream), or null.</summary>
    private static string? CompressedFormat(int fd, uint type) =>
        Formats(fd, type).Where(f => (f.Flags & V4L2_FMT_FLAG_COMPRESSED) != 0).Select(f => FourCC(f.PixelFormat)).FirstOrDefault();

    /// <summary>
    /// What a stateful decoder (single-planar) gives each resolution of the stream the suite writes (<see cref="Bitstream"/>),
    /// or null with the reason. Per resolution, on a file of its own (a context of its own): the OUTPUT format must already be
    /// a coded format the suite writes (VIDIOC_G_FMT; the suite sets no codec format), then one MMAP OUTPUT buffer holding
    /// one frame, V4L2_EVENT_SOURCE_CHANGE subscribed, STREAMON of OUTPUT, up to 2 s for the event (poll POLLPRI) and
    /// VIDIOC_DQEVENT, then VIDIOC_G_FMT of CAPTURE (dev-decoder.rst, Initialization step 4 and Capture Setup step 1). Its
    /// sizeimage is the driver's choice and is kept only if it holds a frame (at least width x height bytes); the file's
    /// close releases everything. Only the query answers are kept: whether the event came is judged by the run (a resolution
/// without one keeps size 0, unknown, and the run's wait for the event fails VB2-DEC-1).
    /// </summary>
    private static DecoderStream? ProbeStream(string path, out string why)
    {
        why = "";
        var sizes = new List<long>();
        uint coded = 0;
        for (int res = 0; res < Bitstream.Resolutions.Length; res++)
        {
            long fdr = Sys.Open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
            if (fdr < 0) { why = $"cannot open it again: {Sys.ErrnoOf(fdr)}"; return null; }
            int fd = (int)fdr;
            long map = -1, len = 0;
            try
            {
                var f = new v4l2_format { type = V4L2_BUF_TYPE_VIDEO_OUTPUT };
                if (Sys.Ioctl(fd, Req.VIDIOC_G_FMT, &f) != 0) { why = "VIDIOC_G_FMT of OUTPUT fails"; return null; }
                coded = f.fmt_pix.pixelformat;
                if (!Bitstream.Writes(coded)) { why = $"its OUTPUT format is {FourCC(coded)}, and the suite writes FWHT frames only"; return null; }
                var rb = new v4l2_requestbuffers { count = 1, type = V4L2_BUF_TYPE_VIDEO_OUTPUT, memory = V4L2_MEMORY_MMAP };
                var b = new v4l2_buffer { index = 0, type = V4L2_BUF_TYPE_VIDEO_OUTPUT, memory = V4L2_MEMORY_MMAP };
                if (Sys.Ioctl(fd, Req.VIDIOC_REQBUFS, &rb) != 0 || rb.count < 1 || Sys.Ioctl(fd, Req.VIDIOC_QUERYBUF, &b) != 0)
                { why = "no MMAP OUTPUT buffer to write a frame into"; return null; }
                long frame = Bitstream.FrameLength(res);
                if (b.length < frame) { why = $"its OUTPUT buffers ({b.length} bytes) are shorter than a {Bitstream.Resolutions[res]} frame ({frame} bytes)"; return null; }
                len = b.length;
                long mr = Sys.Mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.m_offset);
                if (mr < 0) { why = $"mmap of an OUTPUT buffer fails: {Sys.ErrnoOf(mr)}"; return null; }
                map = mr;
                Bitstream.WriteFrame(new Span<byte>((void*)map, (int)frame), res);
                b.bytesused = (uint)frame;
                b.field = V4L2_FIELD_NONE;
                var sub = new v4l2_event_subscription { type = V4L2_EVENT_SOURCE_CHANGE };
                uint outType = V4L2_BUF_TYPE_VIDEO_OUTPUT;
                if (Sys.Ioctl(fd, Req.VIDIOC_SUBSCRIBE_EVENT, &sub) != 0) { why = "VIDIOC_SUBSCRIBE_EVENT(V4L2_EVENT_SOURCE_CHANGE) fails"; return null; }
                if (Sys.Ioctl(fd, Req.VIDIOC_QBUF, &b) != 0 || Sys.Ioctl(fd, Req.VIDIOC_STREAMON, &outType) != 0) { why = "the frame cannot be queued and streamed"; return null; }
                var pfd = new pollfd { fd = fd, events = (short)POLLPRI };
                Sys.Poll(&pfd, 1, 2000);
                var ev = new v4l2_event();
                if (Sys.Ioctl(fd, Req.VIDIOC_DQEVENT, &ev) != 0 || ev.type != V4L2_EVENT_SOURCE_CHANGE)
                {
                    // the event is behaviour under test (VB2-DEC-1), not a choice of the driver's: its absence sets no
                    // expectation, only leaves this resolution's CAPTURE size unknown (0: not judged) for the run to judge it
                    sizes.Add(0);
                    continue;
                }
                var cf = new v4l2_format { type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
                if (Sys.Ioctl(fd, Req.VIDIOC_G_FMT, &cf) != 0) { why = "VIDIOC_G_FMT of CAPTURE fails after the source change"; return null; }
                var r = Bitstream.Resolutions[res];
                long size = PlaneSizes(&cf)[0];
                if (size < (long)r.Width * r.Height)
                { why = $"after a {r} frame its CAPTURE sizeimage is {size}, less than one byte per pixel"; return null; }
                sizes.Add(size);
            }
            finally
            {
                if (map >= 0) Sys.Munmap(map, len);
                Sys.Close(fd);
            }
        }
        return new DecoderStream(coded, sizes);
    }

    /// <summary>The CAPTURE sizes discovery read, for a note: bytes per resolution, "unknown" where no event came.</summary>
    private static string StreamSizes(DecoderStream st) =>
        string.Join(" and ", st.CaptureSizes.Select((s, i) => s > 0 ? $"{s}" : $"unknown for {Bitstream.Resolutions[i]} (no V4L2_EVENT_SOURCE_CHANGE within 2 s: VB2-DEC-1 judges that in the run)"));

    /// <summary>Every format VIDIOC_ENUM_FMT lists for the type, in its order (index 0 up to the first refusal, at most 256).</summary>
    private static List<(uint PixelFormat, uint Flags)> Formats(int fd, uint type)
    {
        var list = new List<(uint, uint)>();
        for (uint i = 0; i < 256; i++)
        {
            var d = new v4l2_fmtdesc { index = i, type = type };
            if (Sys.Ioctl(fd, Req.VIDIOC_ENUM_FMT, &d) != 0) break;
            list.Add((d.pixelformat, d.flags));
        }
        return list;
    }

    /// <summary>Reads a V4L2 node's queue profile from the device. Null (with the reason) when the suite cannot certify it.</summary>
    public static CertUnit? ProbeVideo(string path, (string Path, HeapProfile Heap, string ExpName) helperHeap, string kernel, out SkippedDevice? skip)
    {
        skip = null;
        long fdr = Sys.Open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fdr < 0) { skip = new(path, "?", $"cannot be opened: {Sys.ErrnoOf(fdr)}"); return null; }
        int fd = (int)fdr;
        try
        {
            var cap = new v4l2_capability();
            if (Sys.Ioctl(fd, Req.VIDIOC_QUERYCAP, &cap) != 0) { skip = new(path, "?", "VIDIOC_QUERYCAP failed: not a V4L2 device"); return null; }
            string driver = Text(cap.driver, 16), card = Text(cap.card, 32);
            uint caps = DeviceCaps(cap);
            string who = $"{driver}: {card}";
            if ((caps & V4L2_CAP_STREAMING) == 0) { skip = new(path, who, "no streaming I/O (V4L2_CAP_STREAMING not set): the catalog's vb2 invariants do not apply"); return null; }
            uint type = 0, outType = 0;
            var codec = CodecKind.None;
            string? coded = null;
            if ((caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE)) != 0)
            {
                // a mem2mem node: its CAPTURE queue is the node's profile, its OUTPUT queue the profile's OutputQueue
                bool mp = (caps & V4L2_CAP_VIDEO_M2M) == 0;
                type = mp ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
                outType = mp ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE : V4L2_BUF_TYPE_VIDEO_OUTPUT;
                if (CompressedFormat(fd, outType) is { } bitstream) { codec = CodecKind.Decoder; coded = bitstream; }
                else if (CompressedFormat(fd, type) is { } encoded) { codec = CodecKind.Encoder; coded = encoded; }
            }
            if (outType != 0) { }   // mem2mem: both types chosen above
            else if ((caps & V4L2_CAP_VIDEO_CAPTURE) != 0) type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            else if ((caps & V4L2_CAP_VIDEO_OUTPUT) != 0) type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
            else if ((caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE) != 0) type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
            else if ((caps & V4L2_CAP_VIDEO_OUTPUT_MPLANE) != 0) type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
            else
            {
                var what = (caps & (V4L2_CAP_META_CAPTURE | V4L2_CAP_META_OUTPUT)) != 0 ? "metadata" : $"none the suite knows: device caps 0x{caps:x}";
                skip = new(path, who, $"its buffer type ({what}) is not modelled yet: the suite certifies VIDEO_CAPTURE, VIDEO_OUTPUT and their multi-planar queues");
                return null;
            }
            MediaPipeline? pipeline = null;
            if ((caps & V4L2_CAP_IO_MC) != 0)
            {
                // the pipeline feeding the node must be configured before it can stream (dev-subdev.rst, Format Negotiation)
                if (IsMultiPlanar(type) || outType != 0)
                {
                    skip = new(path, who, "a multi-planar or mem2mem video node of a media-controller pipeline (V4L2_CAP_IO_MC): the suite configures the pipelines of single-planar nodes only");
                    return null;
                }
                pipeline = MediaGraph.Configure(path, out var whyNot);
                if (pipeline == null)
                {
                    skip = new(path, who, $"a video node of a media-controller pipeline (V4L2_CAP_IO_MC) whose pipeline the suite cannot configure: {whyNot}");
                    return null;
                }
            }
            var node = ProbeQueue(fd, type, driver, card, out var notes, out var why);
            // another node's pipeline may share pads with this one: each is configured only while it is probed or run
            if (pipeline != null) MediaGraph.Restore(pipeline);
            if (node == null) { skip = new(path, who, why!); return null; }
            if (pipeline != null)
            {
                node = node with { Pipeline = pipeline };
                notes.Insert(0, $"media pipeline {pipeline.MediaDevice}: {pipeline.Path} (every entity its enabled links join to the node; links as the driver " +
                    "set them), configured from its topology before the node is probed or run and put back afterwards: " +
                    string.Join(", ", pipeline.Settings.Select(x => $"{x.Entity}:{x.Pad} 0x{x.Code:x4} {x.Width}x{x.Height}")
                        .Concat(pipeline.Nodes.Select(n => $"{n.Node} {FourCC(n.PixelFormat)} {n.Width}x{n.Height}"))));
            }
            if (outType != 0)
            {
                var output = ProbeQueue(fd, outType, driver, card, out var outNotes, out why);
                if (output == null) { skip = new(path, who, $"its OUTPUT queue: {why}"); return null; }
                node = node with { OutputQueue = output with { Codec = codec }, Codec = codec };
                // a stateful decoder whose bitstream the suite writes: what it gives each resolution of that stream
                string? streamWhy = null;
                if (codec == CodecKind.Decoder && !IsMultiPlanar(type) && coded == "FWHT")
                {
                    if (ProbeStream(path, out var whyStream) is { } stream) node = node with { Stream = stream };
                    else streamWhy = whyStream;
                }
                else if (codec == CodecKind.Decoder)
                    streamWhy = IsMultiPlanar(type) ? "a multi-planar decoder (the suite writes its frames into single-planar OUTPUT buffers only)" : $"its coded format is {coded}, and the suite writes FWHT frames only";
                notes = [$"mem2mem: every open is a context of its own with a CAPTURE and an OUTPUT queue", .. notes.Select(n => "CAPTURE " + n), .. outNotes.Select(n => "OUTPUT " + n)];
                if (codec != CodecKind.None)
                    notes.Add($"{(codec == CodecKind.Decoder ? "a decoder" : "an encoder")} ({coded} on {(codec == CodecKind.Decoder ? "OUTPUT" : "CAPTURE")}, V4L2_FMT_FLAG_COMPRESSED): " +
                        "certified for buffer sharing with the mem2mem rules" + (codec == CodecKind.Decoder ? ", its OUTPUT queue allowed to consume bitstream buffers alone (dev-decoder.rst)" : "") +
                        (codec == CodecKind.Encoder
                            ? "; its drain (VIDIOC_ENCODER_CMD STOP and START, the LAST buffer, EPIPE, the EOS event) and its events (VIDIOC_SUBSCRIBE_EVENT, VIDIOC_DQEVENT, POLLPRI) are certified (VB2-DRAIN-1..4, VB2-EVENT-1..2); the codec controls are not exercised"
                            : node.Stream is { } st
                                ? $"; the suite writes FWHT frames of {string.Join(" and ", Bitstream.Resolutions.Select(r => r.ToString()))} into its OUTPUT buffers, and its source change (the event, the LAST buffer, EPIPE, the CAPTURE format, reallocation) is certified (VB2-DEC-1..3; CAPTURE sizeimage {StreamSizes(st)} bytes, read with G_FMT after the change); its drain (VIDIOC_DECODER_CMD STOP and START, the LAST buffer, EPIPE, the EOS event, OUTPUT buffers held) is certified (VB2-DEC-4..8); the codec controls are not exercised"
                                : $"; its source change and its drain are not exercised: {streamWhy}; nor are the codec controls"));
            }
            if ((caps & V4L2_CAP_READWRITE) != 0 && outType == 0) node = node with { ReportsReadWrite = true };
            if ((caps & V4L2_CAP_READWRITE) != 0 && type is V4L2_BUF_TYPE_VIDEO_CAPTURE or V4L2_BUF_TYPE_VIDEO_OUTPUT && outType == 0)
            {
                node = node with { ReadWrite = true };
                notes.Add($"{(type == V4L2_BUF_TYPE_VIDEO_OUTPUT ? "write()" : "read()")} I/O (V4L2_CAP_READWRITE): certified beside streaming I/O");
            }
            uint bufCaps = node.Capabilities | (node.OutputQueue?.Capabilities ?? 0);
            var paths = new Dictionary<string, string> { ["video"] = path };
            if ((bufCaps & V4L2_BUF_CAP_SUPPORTS_REQUESTS) != 0)
            {
                // requests come from the media device whose graph lists the node (request-api.rst, Request Allocation)
                if (MediaGraph.MediaDeviceOf(path, out var whyNot) is { } media)
                {
                    node = node with { RequestMedia = "media" };
                    paths["media"] = media;
                    var with = new[] { node, node.OutputQueue }.Where(x => x != null && x.Has(V4L2_BUF_CAP_SUPPORTS_REQUESTS)).ToList();
                    var memories = new[] { (V4L2_MEMORY_MMAP, "MMAP"), (V4L2_MEMORY_DMABUF, "DMABUF"), (V4L2_MEMORY_USERPTR, "USERPTR") }
                        .Where(m => with.Any(x => x!.SupportsMemory(m.Item1))).Select(m => m.Item2);
                    notes.Add($"requests (V4L2_BUF_CAP_SUPPORTS_REQUESTS on {string.Join(" and ", with.Select(x => BufTypeName(x!.BufType)))}): " +
                        $"allocated from {media} (MEDIA_IOC_REQUEST_ALLOC), certified with {string.Join(", ", memories)} buffers and no controls set in them");
                }
                else notes.Add($"reports V4L2_BUF_CAP_SUPPORTS_REQUESTS but no media device lists it{(whyNot.Length > 0 ? $" ({whyNot})" : "")}: requests cannot be allocated and are not exercised");
            }
            var heaps = new List<HeapProfile>();
            if (AddHelperHeap(helperHeap, heaps, paths))
            {
                notes.Add($"dma-bufs for V4L2_MEMORY_DMABUF come from {helperHeap.Path} (not certified here)");
            }
            else if ((bufCaps & V4L2_BUF_CAP_SUPPORTS_DMABUF) != 0)
                notes.Add("no dma-heap on this machine: V4L2_MEMORY_DMABUF is exercised only with the queue's own exports");
            var profile = new TargetProfile($"kernel:{path}", kernel, [node], heaps, null, 0);
            return new CertUnit($"{path} ({driver}: {card})", path, driver, profile, ["vb2", "dmabuf"], paths, notes);
        }
        finally { Sys.Close(fd); }
    }

    /// <summary>
    /// The exporter's name (fdinfo exp_name, e.g. videobuf2_vmalloc) of a buffer this queue exports: REQBUFS(1) MMAP,
    /// EXPBUF, read fdinfo, close, REQBUFS(0). Only to name the exporter (known issues are per exporter); the count granted
    /// and anything else the allocation shows are not looked at. Null when the queue cannot export.
    /// </summary>
    private static string? ExporterName(int fd, uint type)
    {
        var one = new v4l2_requestbuffers { count = 1, type = type, memory = V4L2_MEMORY_MMAP };
        if (Sys.Ioctl(fd, Req.VIDIOC_REQBUFS, &one) != 0) return null;
        string? name = null;
        var e = new v4l2_exportbuffer { type = type, index = 0, flags = (uint)(O_RDONLY | O_CLOEXEC) };
        if (Sys.Ioctl(fd, Req.VIDIOC_EXPBUF, &e) == 0)
        {
            name = FdInfoField(e.fd, "exp_name");
            Sys.Close(e.fd);
        }
        var zero = new v4l2_requestbuffers { count = 0, type = type, memory = V4L2_MEMORY_MMAP };
        Sys.Ioctl(fd, Req.VIDIOC_REQBUFS, &zero);
        return name;
    }

    /// <summary>Checks a char device speaks the dma-heap ABI and reads its exporter's name (fdinfo exp_name).</summary>
    public static bool ProbeHeap(string path, out HeapProfile? heap, out string expName, out string why)
    {
        heap = null; expName = "?"; why = "";
        long fdr = Sys.Open(path, O_RDONLY | O_CLOEXEC);
        if (fdr < 0) { why = $"cannot be opened: {Sys.ErrnoOf(fdr)}"; return false; }
        int fd = (int)fdr;
        try
        {
            var d = new dma_heap_allocation_data { len = 2 * PAGE_SIZE, fd_flags = (uint)(O_RDWR | O_CLOEXEC) };
            long r = Sys.Ioctl(fd, Req.DMA_HEAP_IOCTL_ALLOC, &d);
            if (r < 0) { why = $"DMA_HEAP_IOCTL_ALLOC of 2 pages failed with {Sys.ErrnoOf(r)}: not a working dma-heap ABI device"; return false; }
            int buf = (int)d.fd;
            try
            {
                expName = FdInfoField(buf, "exp_name") ?? "?";
                heap = new HeapProfile("heap:" + System.IO.Path.GetFileName(path), System.IO.Path.GetFileName(path), expName);
                return true;
            }
            finally { Sys.Close(buf); }
        }
        finally { Sys.Close(fd); }
    }

    /// <summary>This process's open fds and what each names, as readlink(2) of /proc/self/fd/N gives it ("/dev/video0",
    /// "/dmabuf:NAME", "anon_inode:sync_file", "/memfd:NAME (deleted)"); an fd closed meanwhile (another thread of the
    /// runtime) is left out. Empty where /proc is not mounted. With <paramref name="thisThread"/>, the calling thread's own
    /// table (/proc/thread-self/fd), which differs from the process's once the thread has unshared it (/proc/self names the
    /// thread group's leader).</summary>
    public static IEnumerable<(int Fd, string Target)> FdLinks(bool thisThread = false)
    {
        string dir = thisThread ? "/proc/thread-self/fd" : "/proc/self/fd";
        if (!Directory.Exists(dir)) yield break;
        foreach (var path in Directory.GetFiles(dir))
        {
            if (!int.TryParse(Path.GetFileName(path), out int fd)) continue;
            string? target;
            try { target = new FileInfo(path).LinkTarget; } catch (IOException) { continue; }
            if (target != null) yield return (fd, target);
        }
    }

    /// <summary>A field of /proc/self/fdinfo/FD (dma-buf fds show size, count, exp_name, flags).</summary>
    public static string? FdInfoField(int fd, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/self/fdinfo/{fd}"))
                if (line.StartsWith(field + ":", StringComparison.Ordinal)) return line[(field.Length + 1)..].Trim();
        }
        catch (IOException) { }
        return null;
    }
}
