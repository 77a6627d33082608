namespace Conformance.Adapters;

/// <summary>
/// What one V4L2 node's queue offers. The kernel adapter reads it from the device (QUERYCAP,
/// REQBUFS(0) capabilities, G_FMT); the model target takes a built-in one. The model uses it to
/// predict the specific driver where the documentation leaves a choice to the driver.
/// </summary>
public sealed record VideoNodeProfile(
    string Device,               // symbolic device name the ops use, e.g. "video0"
    string Driver,               // VIDIOC_QUERYCAP driver
    string Card,
    uint BufType,                // V4L2_BUF_TYPE_VIDEO_CAPTURE / _OUTPUT
    uint Capabilities,           // V4L2_BUF_CAP_* reported by REQBUFS
    int MinReqBufs,              // min_reqbufs_allocation: REQBUFS(1) returns at least this
    int MaxBuffers,              // max_num_buffers
    long SizeImage,              // current format's sizeimage (single plane)
    bool HasRemoveBufs,          // VIDIOC_REMOVE_BUFS is a valid ioctl on this node
    bool ExportHonoursMmapOffset,// does the exported dma-buf's mmap honour vm_pgoff (vb2-vmalloc: no)
    bool DeviceWritesCaptureBuffers) // streaming capture fills queued buffers
{
    public bool Has(uint cap) => (Capabilities & cap) != 0;
    public bool SupportsMemory(uint memory) => memory switch
    {
        Uapi.V4L2_MEMORY_MMAP => Has(Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP),
        Uapi.V4L2_MEMORY_USERPTR => Has(Uapi.V4L2_BUF_CAP_SUPPORTS_USERPTR),
        Uapi.V4L2_MEMORY_DMABUF => Has(Uapi.V4L2_BUF_CAP_SUPPORTS_DMABUF),
        _ => false,
    };
    public const int NumPlanes = 1;
}

/// <summary>A dma-heap device (or any char device speaking the dma-heap ABI).</summary>
public sealed record HeapProfile(string Device, string Name, bool HonoursMmapOffset = true);

/// <summary>A DRM device the suite uses as a dma-buf exporter (dumb buffers exported with PRIME).</summary>
public sealed record DrmProfile(string Device, string Driver, bool HonoursMmapOffset = true)
{
    /// <summary>The driver is vgem: DRM_IOCTL_VGEM_FENCE_ATTACH/SIGNAL make fences userspace controls.</summary>
    public bool VgemFences => Driver == "vgem";
}

/// <summary>Everything a target offers, as the suite sees it.</summary>
public sealed record TargetProfile(
    string Name,
    string Kernel,
    IReadOnlyList<VideoNodeProfile> Video,
    IReadOnlyList<HeapProfile> Heaps,
    string? UdmabufDevice,
    long UdmabufSizeLimit)
{
    /// <summary>A profile resembling vivid's default capture node, the system heap and udmabuf on Debian's 6.12.</summary>
    public static TargetProfile VividLike { get; } = new(
        "vivid-like", "6.12.117",
        [new VideoNodeProfile("video0", "vivid", "vivid-000-vid-cap", Uapi.V4L2_BUF_TYPE_VIDEO_CAPTURE,
            Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP | Uapi.V4L2_BUF_CAP_SUPPORTS_USERPTR | Uapi.V4L2_BUF_CAP_SUPPORTS_DMABUF
            | Uapi.V4L2_BUF_CAP_SUPPORTS_REQUESTS | Uapi.V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS | Uapi.V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS,
            MinReqBufs: 2, MaxBuffers: 64, SizeImage: 640 * 360 * 2, HasRemoveBufs: true,
            ExportHonoursMmapOffset: false, DeviceWritesCaptureBuffers: true)],
        [new HeapProfile("heap:system", "system")],
        "udmabuf", 64L << 20)
    {
        Drm = [new DrmProfile("drm:vgem", "vgem", HonoursMmapOffset: false)],
    };

    /// <summary>A vb2 queue that does not report V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS nor REMOVE_BUFS (pre-5.0 style driver).</summary>
    public static TargetProfile LegacyVb2 { get; } = VividLike with
    {
        Name = "legacy-vb2",
        Video = [VividLike.Video[0] with
        {
            Driver = "legacy", Card = "legacy-vid-cap",
            Capabilities = Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP | Uapi.V4L2_BUF_CAP_SUPPORTS_USERPTR | Uapi.V4L2_BUF_CAP_SUPPORTS_DMABUF,
            HasRemoveBufs = false, MinReqBufs = 1, MaxBuffers = 32, ExportHonoursMmapOffset = true,
        }],
    };

    public static IReadOnlyList<TargetProfile> BuiltIn { get; } = [VividLike, LegacyVb2];

    /// <summary>DRM devices exporting dumb buffers (vgem on the lab kernel).</summary>
    public IReadOnlyList<DrmProfile> Drm { get; init; } = [];

    public DrmProfile? DrmDevice(string device) => Drm.FirstOrDefault(d => d.Device == device);

    public VideoNodeProfile? VideoNode(string device) => Video.FirstOrDefault(v => v.Device == device);
    public HeapProfile? Heap(string device) => Heaps.FirstOrDefault(h => h.Device == device);

    /// <summary>Whether this target meets a catalog precondition token; if not, why (reported as the skip reason).</summary>
    public bool Satisfies(string token, out string reason)
    {
        reason = "";
        var (kind, arg) = token.IndexOf(':') is var c and > 0 ? (token[..c], token[(c + 1)..]) : (token, "");
        if (token.StartsWith("kernel>=", StringComparison.Ordinal))
        {
            var want = token["kernel>=".Length..];
            if (CompareVersion(Kernel, want) >= 0) return true;
            reason = $"needs kernel >= {want}, target runs {Kernel}";
            return false;
        }
        switch (kind)
        {
            case "cap":
            case "nocap":
                {
                    uint bit = CapBit(arg);
                    bool any = Video.Any(v => v.Has(bit));
                    if (kind == "cap" ? any : Video.Any(v => !v.Has(bit))) return true;
                    reason = Video.Count == 0 ? "no V4L2 node" : kind == "cap" ? $"no queue reports {arg}" : $"every queue reports {arg}";
                    return false;
                }
            case "memory":
                {
                    uint m = arg switch { "MMAP" => Uapi.V4L2_MEMORY_MMAP, "USERPTR" => Uapi.V4L2_MEMORY_USERPTR, "DMABUF" => Uapi.V4L2_MEMORY_DMABUF, _ => 0 };
                    if (Video.Any(v => v.SupportsMemory(m))) return true;
                    reason = $"no queue supports V4L2_MEMORY_{arg}";
                    return false;
                }
            case "ioctl":
                if (arg != "VIDIOC_REMOVE_BUFS" || Video.Any(v => v.HasRemoveBufs)) return true;
                reason = "no node implements VIDIOC_REMOVE_BUFS";
                return false;
            case "noioctl":
                if (arg != "VIDIOC_REMOVE_BUFS" || Video.Any(v => !v.HasRemoveBufs)) return true;
                reason = "every node implements VIDIOC_REMOVE_BUFS";
                return false;
            case "device":
                bool has = arg switch { "video" => Video.Count > 0, "heap" => Heaps.Count > 0, "udmabuf" => UdmabufDevice != null, "drm" => Drm.Count > 0, "vgem" => Drm.Any(d => d.VgemFences), _ => false };
                if (!has) reason = $"target has no {arg} device";
                return has;
        }
        reason = $"unknown precondition {token}";
        return false;
    }

    public static uint CapBit(string name) => name switch
    {
        "V4L2_BUF_CAP_SUPPORTS_MMAP" => Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP,
        "V4L2_BUF_CAP_SUPPORTS_USERPTR" => Uapi.V4L2_BUF_CAP_SUPPORTS_USERPTR,
        "V4L2_BUF_CAP_SUPPORTS_DMABUF" => Uapi.V4L2_BUF_CAP_SUPPORTS_DMABUF,
        "V4L2_BUF_CAP_SUPPORTS_REQUESTS" => Uapi.V4L2_BUF_CAP_SUPPORTS_REQUESTS,
        "V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS" => Uapi.V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS,
        "V4L2_BUF_CAP_SUPPORTS_MMAP_CACHE_HINTS" => Uapi.V4L2_BUF_CAP_SUPPORTS_MMAP_CACHE_HINTS,
        "V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS" => Uapi.V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS,
        "V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS" => Uapi.V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS,
        _ => throw new ArgumentException($"unknown capability {name}"),
    };

    public static int CompareVersion(string a, string b)
    {
        int[] pa = Parse(a), pb = Parse(b);
        for (int i = 0; i < Math.Max(pa.Length, pb.Length); i++)
        {
            int x = i < pa.Length ? pa[i] : 0, y = i < pb.Length ? pb[i] : 0;
            if (x != y) return x.CompareTo(y);
        }
        return 0;
        static int[] Parse(string v) => v.Split('.', '-', '+').TakeWhile(p => p.Length > 0 && char.IsDigit(p[0]))
            .Select(p => int.Parse(new string(p.TakeWhile(char.IsDigit).ToArray()))).ToArray();
    }
}
