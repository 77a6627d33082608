namespace Conformance.Adapters;

/// <summary>uapi constants the ops and the model speak in, with their kernel names (values from 6.12 include/uapi).</summary>
public static class Uapi
{
    public const int PAGE_SIZE = 4096;

    // fcntl.h / mman.h
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3;
    public const int O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    public const int FD_CLOEXEC = 1;
    public const int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2, SEEK_DATA = 3, SEEK_HOLE = 4;
    public const int PROT_READ = 1, PROT_WRITE = 2;
    public const int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;
    public const int F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8, F_SEAL_FUTURE_WRITE = 0x10;

    // videodev2.h
    public const uint V4L2_CAP_VIDEO_CAPTURE = 0x1, V4L2_CAP_VIDEO_OUTPUT = 0x2, V4L2_CAP_VIDEO_CAPTURE_MPLANE = 0x1000,
        V4L2_CAP_VIDEO_OUTPUT_MPLANE = 0x2000, V4L2_CAP_VIDEO_M2M_MPLANE = 0x4000, V4L2_CAP_VIDEO_M2M = 0x8000,
        V4L2_CAP_META_CAPTURE = 0x00800000, V4L2_CAP_READWRITE = 0x01000000, V4L2_CAP_STREAMING = 0x04000000, V4L2_CAP_META_OUTPUT = 0x08000000,
        V4L2_CAP_TOUCH = 0x10000000, V4L2_CAP_IO_MC = 0x20000000, V4L2_CAP_DEVICE_CAPS = 0x80000000;

    // media.h (MEDIA_IOC_G_TOPOLOGY) and v4l2-subdev.h
    public const uint MEDIA_PAD_FL_SINK = 1, MEDIA_PAD_FL_SOURCE = 2;
    public const uint MEDIA_LNK_FL_ENABLED = 1, MEDIA_LNK_FL_DATA_LINK = 0, MEDIA_LNK_FL_INTERFACE_LINK = 0x10000000;
    public const uint MEDIA_INTF_T_V4L_VIDEO = 0x200, MEDIA_INTF_T_V4L_SUBDEV = 0x203;
    public const uint V4L2_SUBDEV_FORMAT_ACTIVE = 1;
    public const uint V4L2_FIELD_ANY = 0, V4L2_FIELD_NONE = 1;
    public const uint V4L2_FMT_FLAG_COMPRESSED = 0x0001;
    public const uint V4L2_BUF_TYPE_VIDEO_CAPTURE = 1, V4L2_BUF_TYPE_VIDEO_OUTPUT = 2,
        V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE = 9, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE = 10;
    /// <summary>VIDEO_MAX_PLANES (videodev2.h): the most planes a v4l2_buffer can describe.</summary>
    public const int VIDEO_MAX_PLANES = 8;
    /// <summary>v4l2_fourcc('Y', 'M', '1', '2'): planar YUV 4:2:0, three planes (videodev2.h V4L2_PIX_FMT_YUV420M).</summary>
    public const uint V4L2_PIX_FMT_YUV420M = 'Y' | ('M' << 8) | ('1' << 16) | ((uint)'2' << 24);
    /// <summary>v4l2_fourcc('F', 'W', 'H', 'T'): the FWHT codec's bitstream (videodev2.h V4L2_PIX_FMT_FWHT, pixfmt-compressed.rst).</summary>
    public const uint V4L2_PIX_FMT_FWHT = 'F' | ('W' << 8) | ('H' << 16) | ((uint)'T' << 24);
    /// <summary>struct fwht_cframe_hdr's flags (v4l2-controls.h V4L2_FWHT_FL_*) and version (V4L2_FWHT_VERSION).</summary>
    public const uint V4L2_FWHT_VERSION = 3, V4L2_FWHT_FL_LUMA_IS_UNCOMPRESSED = 1 << 4, V4L2_FWHT_FL_CB_IS_UNCOMPRESSED = 1 << 5,
        V4L2_FWHT_FL_CR_IS_UNCOMPRESSED = 1 << 6, V4L2_FWHT_FL_I_FRAME = 1 << 10, V4L2_FWHT_FL_COMPONENTS_NUM_OFFSET = 16,
        V4L2_FWHT_FL_PIXENC_YUV = 1 << 19;
    /// <summary>V4L2_TYPE_IS_MULTIPLANAR (videodev2.h).</summary>
    public static bool IsMultiPlanar(uint type) => type is V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE or V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
    /// <summary>V4L2_TYPE_IS_CAPTURE's complement for the video types (videodev2.h V4L2_TYPE_IS_OUTPUT).</summary>
    public static bool IsOutputType(uint type) => type is V4L2_BUF_TYPE_VIDEO_OUTPUT or V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
    /// <summary>A fourcc as its four characters ("YM12").</summary>
    public static string FourCC(uint f) => new([(char)(f & 0xff), (char)((f >> 8) & 0xff), (char)((f >> 16) & 0xff), (char)(f >> 24)]);
    public const uint V4L2_MEMORY_MMAP = 1, V4L2_MEMORY_USERPTR = 2, V4L2_MEMORY_OVERLAY = 3, V4L2_MEMORY_DMABUF = 4;
    public const uint V4L2_BUF_CAP_SUPPORTS_MMAP = 1 << 0, V4L2_BUF_CAP_SUPPORTS_USERPTR = 1 << 1,
        V4L2_BUF_CAP_SUPPORTS_DMABUF = 1 << 2, V4L2_BUF_CAP_SUPPORTS_REQUESTS = 1 << 3,
        V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS = 1 << 4, V4L2_BUF_CAP_SUPPORTS_M2M_HOLD_CAPTURE_BUF = 1 << 5,
        V4L2_BUF_CAP_SUPPORTS_MMAP_CACHE_HINTS = 1 << 6, V4L2_BUF_CAP_SUPPORTS_MAX_NUM_BUFFERS = 1 << 7,
        V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS = 1 << 8;
    public const uint V4L2_CID_MIN_BUFFERS_FOR_CAPTURE = 0x00980900 + 39, V4L2_CID_MIN_BUFFERS_FOR_OUTPUT = 0x00980900 + 40;
    public const uint V4L2_BUF_FLAG_MAPPED = 0x1, V4L2_BUF_FLAG_QUEUED = 0x2, V4L2_BUF_FLAG_DONE = 0x4,
        V4L2_BUF_FLAG_ERROR = 0x40, V4L2_BUF_FLAG_IN_REQUEST = 0x80, V4L2_BUF_FLAG_PREPARED = 0x400, V4L2_BUF_FLAG_LAST = 0x00100000,
        V4L2_BUF_FLAG_REQUEST_FD = 0x00800000;
    /// <summary>v4l2_event.type and v4l2_event_subscription.type (videodev2.h): ALL (unsubscribe only), EOS, SOURCE_CHANGE.</summary>
    public const uint V4L2_EVENT_ALL = 0, V4L2_EVENT_EOS = 2, V4L2_EVENT_SOURCE_CHANGE = 5;
    /// <summary>v4l2_event_src_change.changes (videodev2.h).</summary>
    public const uint V4L2_EVENT_SRC_CH_RESOLUTION = 1;
    /// <summary>v4l2_encoder_cmd.cmd (videodev2.h).</summary>
    public const uint V4L2_ENC_CMD_START = 0, V4L2_ENC_CMD_STOP = 1, V4L2_ENC_CMD_PAUSE = 2, V4L2_ENC_CMD_RESUME = 3;
    /// <summary>v4l2_decoder_cmd.cmd (videodev2.h): START and STOP have the encoder's numbers; FLUSH is for stateless decoders.</summary>
    public const uint V4L2_DEC_CMD_START = 0, V4L2_DEC_CMD_STOP = 1, V4L2_DEC_CMD_PAUSE = 2, V4L2_DEC_CMD_RESUME = 3, V4L2_DEC_CMD_FLUSH = 4;

    // dma-buf.h
    public const ulong DMA_BUF_SYNC_READ = 1, DMA_BUF_SYNC_WRITE = 2, DMA_BUF_SYNC_RW = 3,
        DMA_BUF_SYNC_START = 0, DMA_BUF_SYNC_END = 4;
    public const int DMA_BUF_NAME_LEN = 32;

    // drm.h
    public const uint DRM_CLOEXEC = 0x80000, DRM_RDWR = 2;
    public const uint DRM_COMMAND_BASE = 0x40;

    // vgem_drm.h
    public const uint DRM_VGEM_FENCE_ATTACH = 0x1, DRM_VGEM_FENCE_SIGNAL = 0x2;
    public const uint VGEM_FENCE_WRITE = 0x1;

    // poll.h (short, as struct pollfd's events and revents)
    public const short POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLNVAL = 0x20;

    // udmabuf.h
    public const uint UDMABUF_FLAGS_CLOEXEC = 0x01;

    public static long PageAlign(long n) => (n + PAGE_SIZE - 1) & ~(long)(PAGE_SIZE - 1);

    public static string CapNames(uint caps)
    {
        var names = new List<string>();
        string[] all = ["MMAP", "USERPTR", "DMABUF", "REQUESTS", "ORPHANED_BUFS", "M2M_HOLD_CAPTURE_BUF", "MMAP_CACHE_HINTS", "MAX_NUM_BUFFERS", "REMOVE_BUFS"];
        for (int i = 0; i < all.Length; i++) if ((caps & (1u << i)) != 0) names.Add(all[i]);
        return names.Count == 0 ? "0" : string.Join("|", names);
    }

    public static string MemoryName(uint m) => m switch
    {
        V4L2_MEMORY_MMAP => "V4L2_MEMORY_MMAP", V4L2_MEMORY_USERPTR => "V4L2_MEMORY_USERPTR",
        V4L2_MEMORY_DMABUF => "V4L2_MEMORY_DMABUF", V4L2_MEMORY_OVERLAY => "V4L2_MEMORY_OVERLAY", _ => m.ToString(),
    };

    public static string BufTypeName(uint t) => t switch
    {
        V4L2_BUF_TYPE_VIDEO_CAPTURE => "V4L2_BUF_TYPE_VIDEO_CAPTURE", V4L2_BUF_TYPE_VIDEO_OUTPUT => "V4L2_BUF_TYPE_VIDEO_OUTPUT",
        V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE => "V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE", V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE => "V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE",
        _ => t.ToString(),
    };

    public static string OpenFlagNames(int f)
    {
        var acc = (f & O_ACCMODE) switch { O_RDONLY => "O_RDONLY", O_WRONLY => "O_WRONLY", O_RDWR => "O_RDWR", _ => "3" };
        if ((f & O_CLOEXEC) != 0) acc += "|O_CLOEXEC";
        if ((f & O_NONBLOCK) != 0) acc += "|O_NONBLOCK";
        int rest = f & ~(O_ACCMODE | O_CLOEXEC | O_NONBLOCK);
        if (rest != 0) acc += $"|0x{rest:x}";
        return acc;
    }

    public static string SyncFlagNames(ulong f)
    {
        if ((f & ~(DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)) != 0) return $"0x{f:x}";
        var dir = (f & DMA_BUF_SYNC_RW) switch { 1 => "READ", 2 => "WRITE", 3 => "RW", _ => "" };
        var s = ((f & DMA_BUF_SYNC_END) != 0 ? "DMA_BUF_SYNC_END" : "DMA_BUF_SYNC_START");
        return dir.Length == 0 ? (f == 0 ? "0" : s) : $"{s}|DMA_BUF_SYNC_{dir}";
    }

    public static string PrimeFlagNames(uint f)
    {
        var n = new List<string>();
        if ((f & DRM_CLOEXEC) != 0) n.Add("DRM_CLOEXEC");
        if ((f & DRM_RDWR) != 0) n.Add("DRM_RDWR");
        uint rest = f & ~(DRM_CLOEXEC | DRM_RDWR);
        if (rest != 0) n.Add($"0x{rest:x}");
        return n.Count == 0 ? "0" : string.Join("|", n);
    }

    public static string SealNames(int s)
    {
        if (s == 0) return "0";
        var n = new List<string>();
        if ((s & F_SEAL_SEAL) != 0) n.Add("F_SEAL_SEAL");
        if ((s & F_SEAL_SHRINK) != 0) n.Add("F_SEAL_SHRINK");
        if ((s & F_SEAL_GROW) != 0) n.Add("F_SEAL_GROW");
        if ((s & F_SEAL_WRITE) != 0) n.Add("F_SEAL_WRITE");
        if ((s & F_SEAL_FUTURE_WRITE) != 0) n.Add("F_SEAL_FUTURE_WRITE");
        return string.Join("|", n);
    }

    public static string WhenceName(int w) => w switch
    {
        SEEK_SET => "SEEK_SET", SEEK_CUR => "SEEK_CUR", SEEK_END => "SEEK_END", SEEK_DATA => "SEEK_DATA", SEEK_HOLE => "SEEK_HOLE", _ => w.ToString(),
    };
}
