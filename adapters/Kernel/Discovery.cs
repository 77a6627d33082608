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
/// Finds what this machine offers and reads each device's profile from the device itself
/// (QUERYCAP, REQBUFS(0) capabilities, G_FMT, a probe allocation), or checks one device a user names.
/// </summary>
public static unsafe class Discovery
{
    public static string KernelRelease() =>
        File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "unknown";

    /// <summary>Everything under /dev the catalog covers, or just <paramref name="devices"/> when given.</summary>
    public static Discovered Discover(IReadOnlyList<string> devices)
    {
        var kernel = KernelRelease();
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
                .Concat(Glob("/dev/dri", "card*")).Concat(Glob("/dev/dri", "renderD*"));
        foreach (var path in candidates)
        {
            bool named = devices.Count > 0;
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
                        new Dictionary<string, string> { [hp.Device] = path },
                        [$"mmap page offset {(hp.HonoursMmapOffset ? "honoured" : "ignored (AMB-11)")}"]));
                    break;
                case "udmabuf":
                    long limit = UdmabufSizeLimit();
                    units.Add(new CertUnit($"{path} (udmabuf)", path, "udmabuf",
                        new TargetProfile($"kernel:{path}", kernel, [], [], "udmabuf", limit), ["udmabuf", "dmabuf"],
                        new Dictionary<string, string> { ["udmabuf"] = path }, [$"size_limit_mb {limit >> 20}"]));
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
                default:
                    if (named) throw new DeviceException($"{path}: {kind}");
                    skipped.Add(new(path, "?", kind));
                    break;
            }
        }
        return new Discovered(kernel, units, skipped);
    }

    private static IEnumerable<string> Glob(string dir, string pattern) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir, pattern).OrderBy(p => p.Length).ThenBy(p => p, StringComparer.Ordinal) : [];

    /// <summary>"video", "heap", "udmabuf", "drm", or why the path is none of them.</summary>
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
            var d = new dma_heap_allocation_data { len = PAGE_SIZE, fd_flags = (uint)(O_RDWR | O_CLOEXEC) };
            if (Sys.Ioctl((int)fd, Req.DMA_HEAP_IOCTL_ALLOC, &d) == 0) { Sys.Close((int)d.fd); return "heap"; }
            // UDMABUF_CREATE with memfd -1 fails in fget (EBADFD, udmabuf.c) only on a udmabuf device
            var u = new udmabuf_create { memfd = uint.MaxValue, size = PAGE_SIZE };
            if (Sys.Ioctl((int)fd, Req.UDMABUF_CREATE, &u) == -(long)Errno.EBADFD) return "udmabuf";
            return "not a V4L2, dma-heap or udmabuf device (VIDIOC_QUERYCAP, DMA_HEAP_IOCTL_ALLOC and UDMABUF_CREATE were all refused)";
        }
        finally { Sys.Close((int)fd); }
    }

    private static string Text(byte* p, int n)
    {
        int len = 0;
        while (len < n && p[len] != 0) len++;
        return Encoding.UTF8.GetString(p, len);
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
    /// A DRM device as a dma-buf exporter: a dumb buffer exported with PRIME. Reads the exporter's name and
    /// whether its mmap honours the page offset. Null (with the reason) when it cannot export.
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
            bool honours = MmapHonoursOffset(h.fd);
            Sys.Close(h.fd);
            var drm = new DrmProfile("drm:" + driver, driver, honours);
            var paths = new Dictionary<string, string> { [drm.Device] = path };
            var notes = new List<string> { $"dumb buffers exported with DRM_IOCTL_PRIME_HANDLE_TO_FD; mmap page offset {(honours ? "honoured" : "ignored (AMB-11)")}" };
            var areas = new List<string> { "dmabuf", "prime" };
            if (drm.VgemFences) areas.Add("fence");
            else notes.Add("not vgem: no userspace-controlled fences, so the fence area is not certified here");
            var heaps = new List<HeapProfile>();
            AddHelperHeap(helperHeap, heaps, paths);
            if (udmabuf != null) paths["udmabuf"] = udmabuf;
            var video = new List<VideoNodeProfile>();
            if (helperVideo != null) { video.Add(helperVideo.Profile.Video[0]); paths[helperVideo.Profile.Video[0].Device] = helperVideo.Path; }
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

    /// <summary>Write distinct words at pages 0 and 1 of a two-page dma-buf, map page 1 alone and see which one it shows.</summary>
    private static bool MmapHonoursOffset(int buf)
    {
        bool honours = true;
        long m = Sys.Mmap(2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
        if (m < 0) return true;
        *(ulong*)m = 1; *(ulong*)(m + PAGE_SIZE) = 2;
        long m2 = Sys.Mmap(PAGE_SIZE, PROT_READ, MAP_SHARED, buf, PAGE_SIZE);
        if (m2 >= 0) { honours = *(ulong*)m2 == 2; Sys.Munmap(m2, PAGE_SIZE); }
        Sys.Munmap(m, 2 * PAGE_SIZE);
        return honours;
    }

    public static long UdmabufSizeLimit()
    {
        const string p = "/sys/module/udmabuf/parameters/size_limit_mb";
        return File.Exists(p) && long.TryParse(File.ReadAllText(p).Trim(), out var mb) ? mb << 20 : 64L << 20;
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
            uint caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) != 0 ? cap.device_caps : cap.capabilities;
            string who = $"{driver}: {card}";
            if ((caps & V4L2_CAP_STREAMING) == 0) { skip = new(path, who, "no streaming I/O (V4L2_CAP_STREAMING not set): the catalog's vb2 invariants do not apply"); return null; }
            uint type;
            if ((caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE)) != 0) { skip = new(path, who, "a mem2mem node: two queues on one fd are not modelled yet"); return null; }
            else if ((caps & V4L2_CAP_VIDEO_CAPTURE) != 0) type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            else if ((caps & V4L2_CAP_VIDEO_OUTPUT) != 0) type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
            else
            {
                var what = (caps & (V4L2_CAP_VIDEO_CAPTURE_MPLANE | V4L2_CAP_VIDEO_OUTPUT_MPLANE)) != 0 ? "multi-planar video"
                    : (caps & (V4L2_CAP_META_CAPTURE | V4L2_CAP_META_OUTPUT)) != 0 ? "metadata" : $"device caps 0x{caps:x}";
                skip = new(path, who, $"its buffer type ({what}) is not modelled yet; single-planar VIDEO_CAPTURE/OUTPUT queues are");
                return null;
            }
            uint bufCaps = 0;
            foreach (var mem in new[] { V4L2_MEMORY_MMAP, V4L2_MEMORY_DMABUF, V4L2_MEMORY_USERPTR })
            {
                var rb = new v4l2_requestbuffers { count = 0, type = type, memory = mem };
                if (Sys.Ioctl(fd, Req.VIDIOC_REQBUFS, &rb) == 0) { bufCaps = rb.capabilities; break; }
            }
            if (bufCaps == 0) { skip = new(path, who, "VIDIOC_REQBUFS(0) fails for MMAP, DMABUF and USERPTR"); return null; }
            var fmt = new v4l2_format { type = type };
            if (Sys.Ioctl(fd, Req.VIDIOC_G_FMT, &fmt) != 0 || fmt.fmt_pix.sizeimage == 0) { skip = new(path, who, "VIDIOC_G_FMT gives no sizeimage"); return null; }
            long sizeImage = fmt.fmt_pix.sizeimage;

            uint probeMem = (bufCaps & V4L2_BUF_CAP_SUPPORTS_MMAP) != 0 ? V4L2_MEMORY_MMAP : (bufCaps & V4L2_BUF_CAP_SUPPORTS_DMABUF) != 0 ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_USERPTR;
            var one = new v4l2_requestbuffers { count = 1, type = type, memory = probeMem };
            int minReq = Sys.Ioctl(fd, Req.VIDIOC_REQBUFS, &one) == 0 ? (int)one.count : 1;
            var cb = new v4l2_create_buffers { count = 0, memory = probeMem, format = fmt };
            int maxBufs = Sys.Ioctl(fd, Req.VIDIOC_CREATE_BUFS, &cb) == 0 && (cb.capabilities & V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS) != 0
                ? (int)cb.max_num_buffers : 32;
            bool honours = probeMem == V4L2_MEMORY_MMAP && ExportHonoursOffset(fd, type, sizeImage);
            var zero = new v4l2_requestbuffers { count = 0, type = type, memory = probeMem };
            Sys.Ioctl(fd, Req.VIDIOC_REQBUFS, &zero);
            var rm = new v4l2_remove_buffers { count = 0, type = type };
            bool hasRemove = Sys.Ioctl(fd, Req.VIDIOC_REMOVE_BUFS, &rm) != -(long)Errno.ENOTTY;

            var node = new VideoNodeProfile("video", driver, card, type, bufCaps, minReq, maxBufs, sizeImage, hasRemove,
                honours, DeviceWritesCaptureBuffers: type == V4L2_BUF_TYPE_VIDEO_CAPTURE);
            var paths = new Dictionary<string, string> { ["video"] = path };
            var heaps = new List<HeapProfile>();
            var notes = new List<string>
            {
                $"{BufTypeName(type)}, sizeimage {sizeImage}, buffer caps {CapNames(bufCaps)}, min buffers {minReq}, max buffers {maxBufs}",
                $"VIDIOC_REMOVE_BUFS {(hasRemove ? "implemented" : "not implemented")}; exported dma-buf mmap page offset {(probeMem != V4L2_MEMORY_MMAP ? "not probed (no MMAP)" : honours ? "honoured" : "ignored (AMB-11)")}",
            };
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

    /// <summary>Whether mmap of buffer 0's export at page offset 1 starts at the buffer's second page (exporter-defined, AMB-11).</summary>
    private static bool ExportHonoursOffset(int fd, uint type, long sizeImage)
    {
        if (sizeImage < 2 * PAGE_SIZE) return true;
        var e = new v4l2_exportbuffer { type = type, index = 0, flags = (uint)(O_RDWR | O_CLOEXEC) };
        if (Sys.Ioctl(fd, Req.VIDIOC_EXPBUF, &e) != 0) return true;
        bool honours = MmapHonoursOffset(e.fd);
        Sys.Close(e.fd);
        return honours;
    }

    /// <summary>Checks a char device speaks the dma-heap ABI and reads its exporter's name and mmap offset behaviour.</summary>
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
                bool honours = MmapHonoursOffset(buf);
                heap = new HeapProfile("heap:" + System.IO.Path.GetFileName(path), System.IO.Path.GetFileName(path), honours);
                return true;
            }
            finally { Sys.Close(buf); }
        }
        finally { Sys.Close(fd); }
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
