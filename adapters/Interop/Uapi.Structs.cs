using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Conformance.Adapters.Interop;

// uapi structs the suite passes to the kernel, with the kernel's names and fixed-width fields (6.12
// include/uapi). Fields inside a union or nested struct carry [CName] with their C path; the interop
// layout test compiles C against the headers and checks every size, offset and request code here.

/// <summary>The C name of a field that lives inside a union or a nested struct ("m.offset").</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class CNameAttribute(string path) : Attribute { public string Path { get; } = path; }

/// <summary>Marks a struct the layout test checks against the header that defines it.</summary>
[AttributeUsage(AttributeTargets.Struct)]
public sealed class UapiAttribute(string header) : Attribute { public string Header { get; } = header; }

[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_capability
{
    public fixed byte driver[16];
    public fixed byte card[32];
    public fixed byte bus_info[32];
    public uint version;
    public uint capabilities;
    public uint device_caps;
    public fixed uint reserved[3];
}

[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public struct v4l2_pix_format
{
    public uint width, height, pixelformat, field, bytesperline, sizeimage, colorspace, priv, flags;
    public uint ycbcr_enc;   // union with hsv_enc
    public uint quantization, xfer_func;
}

/// <summary>One plane's format in a multi-planar format (packed, 20 bytes).</summary>
[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct v4l2_plane_pix_format
{
    public uint sizeimage, bytesperline;
    public fixed ushort reserved[6];
}

/// <summary>A multi-planar format (packed, 192 bytes): plane_fmt holds VIDEO_MAX_PLANES v4l2_plane_pix_format, read with <see cref="Plane"/>.</summary>
[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Explicit, Size = 192)]
public unsafe struct v4l2_pix_format_mplane
{
    [FieldOffset(0)] public uint width;
    [FieldOffset(4)] public uint height;
    [FieldOffset(8)] public uint pixelformat;
    [FieldOffset(12)] public uint field;
    [FieldOffset(16)] public uint colorspace;
    [FieldOffset(20)] public fixed byte plane_fmt[160];
    [FieldOffset(180)] public byte num_planes;
    [FieldOffset(181)] public byte flags;
    [FieldOffset(182)] public byte ycbcr_enc;
    [FieldOffset(183)] public byte quantization;
    [FieldOffset(184)] public byte xfer_func;
    [FieldOffset(185)] public fixed byte reserved[7];

    /// <summary>plane_fmt[p] of the format at f (p below VIDEO_MAX_PLANES).</summary>
    public static v4l2_plane_pix_format* Plane(v4l2_pix_format_mplane* f, int p) =>
        (v4l2_plane_pix_format*)((byte*)f + 20 + p * sizeof(v4l2_plane_pix_format));
}

/// <summary>VIDIOC_ENUM_FMT's argument.</summary>
[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_fmtdesc
{
    public uint index, type, flags;
    public fixed byte description[32];
    public uint pixelformat, mbus_code;
    public fixed uint reserved[3];
}

[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Explicit, Size = 208)]
public unsafe struct v4l2_format
{
    [FieldOffset(0)] public uint type;
    // the union holds struct v4l2_window (with pointers), hence 8-byte alignment on 64-bit
    [FieldOffset(8), CName("fmt.pix")] public v4l2_pix_format fmt_pix;
    [FieldOffset(8), CName("fmt.pix_mp")] public v4l2_pix_format_mplane fmt_pix_mp;
    [FieldOffset(8), CName("fmt.raw_data")] public fixed byte fmt_raw_data[200];
    [FieldOffset(8)] private readonly ulong _align8;
}

[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_requestbuffers
{
    public uint count, type, memory, capabilities;
    public byte flags;
    public fixed byte reserved[3];
}

[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_create_buffers
{
    public uint index, count, memory;
    public v4l2_format format;
    public uint capabilities, flags, max_num_buffers;
    public fixed uint reserved[5];
}

[Uapi("sys/time.h")]
[StructLayout(LayoutKind.Sequential)]
public struct timeval
{
    public long tv_sec, tv_usec;
}

[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_timecode
{
    public uint type, flags;
    public byte frames, seconds, minutes, hours;
    public fixed byte userbits[4];
}

[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Explicit, Size = 88)]
public struct v4l2_buffer
{
    [FieldOffset(0)] public uint index;
    [FieldOffset(4)] public uint type;
    [FieldOffset(8)] public uint bytesused;
    [FieldOffset(12)] public uint flags;
    [FieldOffset(16)] public uint field;
    [FieldOffset(24)] public timeval timestamp;
    [FieldOffset(40)] public v4l2_timecode timecode;
    [FieldOffset(56)] public uint sequence;
    [FieldOffset(60)] public uint memory;
    [FieldOffset(64), CName("m.offset")] public uint m_offset;
    [FieldOffset(64), CName("m.userptr")] public ulong m_userptr;
    [FieldOffset(64), CName("m.fd")] public int m_fd;
    /// <summary>Multi-planar API: the address of an array of <see cref="v4l2_plane"/>, <see cref="length"/> entries.</summary>
    [FieldOffset(64), CName("m.planes")] public ulong m_planes;
    [FieldOffset(72)] public uint length;
    [FieldOffset(76)] public uint reserved2;
    [FieldOffset(80)] public int request_fd;
}

/// <summary>One plane of a multi-planar v4l2_buffer (64 bytes).</summary>
[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Explicit, Size = 64)]
public unsafe struct v4l2_plane
{
    [FieldOffset(0)] public uint bytesused;
    [FieldOffset(4)] public uint length;
    [FieldOffset(8), CName("m.mem_offset")] public uint m_mem_offset;
    [FieldOffset(8), CName("m.userptr")] public ulong m_userptr;
    [FieldOffset(8), CName("m.fd")] public int m_fd;
    [FieldOffset(16)] public uint data_offset;
    [FieldOffset(20)] public fixed uint reserved[11];
}

[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_exportbuffer
{
    public uint type, index, plane, flags;
    public int fd;
    public fixed uint reserved[11];
}

/// <summary>VIDIOC_ENCODER_CMD / VIDIOC_TRY_ENCODER_CMD's argument: the command, its flags, and 32 bytes of command data
/// (zero for START and STOP).</summary>
[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_encoder_cmd
{
    public uint cmd, flags;
    [CName("raw.data")] public fixed uint raw_data[8];
}

/// <summary>VIDIOC_DECODER_CMD / VIDIOC_TRY_DECODER_CMD's argument: the command, its flags, and 64 bytes of command data (the
/// union of stop.pts, start.speed and start.format, and raw.data; zero for START and STOP of a stateful decoder).</summary>
[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_decoder_cmd
{
    public uint cmd, flags;
    [CName("raw.data")] public fixed uint raw_data[16];
}

/// <summary>VIDIOC_SUBSCRIBE_EVENT / VIDIOC_UNSUBSCRIBE_EVENT's argument: the event type (V4L2_EVENT_*), the object id (0 for
/// EOS and SOURCE_CHANGE's pad 0) and V4L2_EVENT_SUB_FL_* flags.</summary>
[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_event_subscription
{
    public uint type, id, flags;
    public fixed uint reserved[5];
}

/// <summary>VIDIOC_DQEVENT's argument (136 bytes on a 64-bit kernel): the event's type, its 64-byte payload (a union whose
/// largest member holds an s64, so it starts at byte 8), how many events are still pending after it, the sequence number,
/// the timestamp (struct timespec), and the object id.</summary>
[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Explicit, Size = 136)]
public unsafe struct v4l2_event
{
    [FieldOffset(0)] public uint type;
    [FieldOffset(8), CName("u.data")] public fixed byte u_data[64];
    [FieldOffset(72)] public uint pending;
    [FieldOffset(76)] public uint sequence;
    [FieldOffset(80)] public fixed byte timestamp[16];
    [FieldOffset(96)] public uint id;
    [FieldOffset(100)] public fixed uint reserved[8];
}

[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public struct v4l2_control
{
    public uint id;
    public int value;
}

[Uapi("linux/videodev2.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_remove_buffers
{
    public uint index, count, type;
    public fixed uint reserved[13];
}

/// <summary>MEDIA_IOC_DEVICE_INFO's answer: what discovery reads to name a media-controller node it does not certify.</summary>
[Uapi("linux/media.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct media_device_info
{
    public fixed byte driver[16];
    public fixed byte model[32];
    public fixed byte serial[40];
    public fixed byte bus_info[32];
    public uint media_version, hw_revision, driver_version;
    public fixed uint reserved[31];
}

/// <summary>VIDIOC_SUBDEV_QUERYCAP's answer: a V4L2 sub-device node (no buffer queue).</summary>
[Uapi("linux/v4l2-subdev.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_subdev_capability
{
    public uint version, capabilities;
    public fixed uint reserved[14];
}

/// <summary>MEDIA_IOC_G_TOPOLOGY's argument: the counts of each object kind, and user pointers to arrays the kernel fills
/// (media-ioc-g-topology.rst; call once with null pointers for the counts, then with arrays that large).</summary>
[Uapi("linux/media.h")]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct media_v2_topology
{
    public ulong topology_version;
    public uint num_entities, reserved1;
    public ulong ptr_entities;
    public uint num_interfaces, reserved2;
    public ulong ptr_interfaces;
    public uint num_pads, reserved3;
    public ulong ptr_pads;
    public uint num_links, reserved4;
    public ulong ptr_links;
}

/// <summary>One entity of a media graph (a sensor, a scaler, a video node's DMA engine...).</summary>
[Uapi("linux/media.h")]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct media_v2_entity
{
    public uint id;
    public fixed byte name[64];
    public uint function, flags;
    public fixed uint reserved[5];
}

/// <summary>One interface (a device node) of a media graph; for device-node interfaces the union holds major and minor.</summary>
[Uapi("linux/media.h")]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct media_v2_interface
{
    public uint id, intf_type, flags;
    public fixed uint reserved[9];
    [CName("devnode.major")] public uint devnode_major;
    [CName("devnode.minor")] public uint devnode_minor;
    [CName("raw[2]")] public fixed uint raw_rest[14];
}

/// <summary>One pad of an entity; index is its number within the entity (the pad sub-device ioctls name).</summary>
[Uapi("linux/media.h")]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct media_v2_pad
{
    public uint id, entity_id, flags, index;
    public fixed uint reserved[4];
}

/// <summary>One link: a data link joins a source pad to a sink pad (ids of pads), an interface link an interface to an entity.</summary>
[Uapi("linux/media.h")]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct media_v2_link
{
    public uint id, source_id, sink_id, flags;
    public fixed uint reserved[6];
}

/// <summary>A media bus format: what flows on a link between two pads (subdev-formats.rst).</summary>
[Uapi("linux/v4l2-mediabus.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_mbus_framefmt
{
    public uint width, height, code, field, colorspace;
    public ushort ycbcr_enc, quantization, xfer_func, flags;
    public fixed ushort reserved[10];
}

/// <summary>VIDIOC_SUBDEV_G_FMT/S_FMT's argument: one pad's format, active or try (vidioc-subdev-g-fmt.rst).</summary>
[Uapi("linux/v4l2-subdev.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_subdev_format
{
    public uint which, pad;
    public v4l2_mbus_framefmt format;
    public uint stream;
    public fixed uint reserved[7];
}

/// <summary>VIDIOC_SUBDEV_ENUM_MBUS_CODE's argument: the index-th media bus code a pad supports.</summary>
[Uapi("linux/v4l2-subdev.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct v4l2_subdev_mbus_code_enum
{
    public uint pad, index, code, which, flags, stream;
    public fixed uint reserved[6];
}

[Uapi("linux/dma-buf.h")]
[StructLayout(LayoutKind.Sequential)]
public struct dma_buf_sync
{
    public ulong flags;
}

[Uapi("linux/dma-buf.h")]
[StructLayout(LayoutKind.Sequential)]
public struct dma_buf_export_sync_file
{
    public uint flags;
    public int fd;
}

[Uapi("linux/dma-buf.h")]
[StructLayout(LayoutKind.Sequential)]
public struct dma_buf_import_sync_file
{
    public uint flags;
    public int fd;
}

[Uapi("linux/dma-heap.h")]
[StructLayout(LayoutKind.Sequential)]
public struct dma_heap_allocation_data
{
    public ulong len;
    public uint fd, fd_flags;
    public ulong heap_flags;
}

[Uapi("linux/udmabuf.h")]
[StructLayout(LayoutKind.Sequential)]
public struct udmabuf_create
{
    public uint memfd, flags;
    public ulong offset, size;
}

[Uapi("linux/udmabuf.h")]
[StructLayout(LayoutKind.Sequential)]
public struct udmabuf_create_item
{
    public uint memfd, __pad;
    public ulong offset, size;
}

/// <summary>The fixed head of udmabuf_create_list; udmabuf_create_item list[] follows it.</summary>
[Uapi("linux/udmabuf.h")]
[StructLayout(LayoutKind.Sequential)]
public struct udmabuf_create_list
{
    public uint flags, count;
}

[Uapi("drm/drm_mode.h")]
[StructLayout(LayoutKind.Sequential)]
public struct drm_mode_create_dumb
{
    public uint height, width, bpp, flags, handle, pitch;
    public ulong size;
}

[Uapi("drm/drm.h")]
[StructLayout(LayoutKind.Sequential)]
public struct drm_prime_handle
{
    public uint handle, flags;
    public int fd;
}

[Uapi("drm/drm.h")]
[StructLayout(LayoutKind.Sequential)]
public struct drm_gem_close
{
    public uint handle, pad;
}

[Uapi("drm/drm_mode.h")]
[StructLayout(LayoutKind.Sequential)]
public struct drm_mode_map_dumb
{
    public uint handle, pad;
    public ulong offset;
}

[Uapi("drm/vgem_drm.h")]
[StructLayout(LayoutKind.Sequential)]
public struct drm_vgem_fence_attach
{
    public uint handle, flags, out_fence, pad;
}

[Uapi("drm/vgem_drm.h")]
[StructLayout(LayoutKind.Sequential)]
public struct drm_vgem_fence_signal
{
    public uint fence, flags;
}

[Uapi("linux/sync_file.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct sync_merge_data
{
    public fixed byte name[32];
    public int fd2, fence;
    public uint flags, pad;
}

[Uapi("linux/sync_file.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct sync_fence_info
{
    public fixed byte obj_name[32];
    public fixed byte driver_name[32];
    public int status;
    public uint flags;
    public ulong timestamp_ns;
}

[Uapi("linux/sync_file.h")]
[StructLayout(LayoutKind.Sequential)]
public unsafe struct sync_file_info
{
    public fixed byte name[32];
    public int status;
    public uint flags, num_fences, pad;
    public ulong sync_fence_info;   // user pointer to num_fences struct sync_fence_info
}

/// <summary>The statx fields the suite reads (file type, device number); the rest is opaque.</summary>
[Uapi("sys/stat.h")]
[StructLayout(LayoutKind.Explicit, Size = 256)]
public struct statx
{
    [FieldOffset(0)] public uint stx_mask;
    [FieldOffset(28)] public ushort stx_mode;
    [FieldOffset(32)] public ulong stx_ino;
    [FieldOffset(40)] public ulong stx_size;
    [FieldOffset(128)] public uint stx_rdev_major;
    [FieldOffset(132)] public uint stx_rdev_minor;
    [FieldOffset(136)] public uint stx_dev_major;
    [FieldOffset(140)] public uint stx_dev_minor;
}

/// <summary>Request codes, computed as the headers' _IOR/_IOW/_IOWR macros do (asm-generic/ioctl.h).</summary>
public static class Ioc
{
    private const int NRSHIFT = 0, TYPESHIFT = 8, SIZESHIFT = 16, DIRSHIFT = 30;
    private const uint NONE = 0, WRITE = 1, READ = 2;
    private static nuint Make(uint dir, char type, uint nr, int size) =>
        (nuint)((dir << DIRSHIFT) | ((uint)type << TYPESHIFT) | (nr << NRSHIFT) | ((uint)size << SIZESHIFT));
    public static nuint IO(char t, uint nr) => Make(NONE, t, nr, 0);
    public static nuint IOR<T>(char t, uint nr) where T : unmanaged => Make(READ, t, nr, Unsafe.SizeOf<T>());
    public static nuint IOW<T>(char t, uint nr) where T : unmanaged => Make(WRITE, t, nr, Unsafe.SizeOf<T>());
    public static nuint IOWR<T>(char t, uint nr) where T : unmanaged => Make(READ | WRITE, t, nr, Unsafe.SizeOf<T>());
    public static nuint IOWR(char t, uint nr, int size) => Make(READ | WRITE, t, nr, size);
    /// <summary>_IOC_SIZE: the argument's size in bytes that a request code carries.</summary>
    public static int Size(nuint request) => (int)((request >> 16) & 0x3fff);
}

/// <summary>The request codes the kernel adapter issues, named as in the uapi headers.</summary>
public static unsafe class Req
{
    public static readonly nuint VIDIOC_QUERYCAP = Ioc.IOR<v4l2_capability>('V', 0);
    public static readonly nuint VIDIOC_ENUM_FMT = Ioc.IOWR<v4l2_fmtdesc>('V', 2);
    public static readonly nuint VIDIOC_G_FMT = Ioc.IOWR<v4l2_format>('V', 4);
    public static readonly nuint VIDIOC_S_FMT = Ioc.IOWR<v4l2_format>('V', 5);
    public static readonly nuint VIDIOC_TRY_FMT = Ioc.IOWR<v4l2_format>('V', 64);
    public static readonly nuint VIDIOC_REQBUFS = Ioc.IOWR<v4l2_requestbuffers>('V', 8);
    public static readonly nuint VIDIOC_QUERYBUF = Ioc.IOWR<v4l2_buffer>('V', 9);
    public static readonly nuint VIDIOC_QBUF = Ioc.IOWR<v4l2_buffer>('V', 15);
    public static readonly nuint VIDIOC_PREPARE_BUF = Ioc.IOWR<v4l2_buffer>('V', 93);
    public static readonly nuint VIDIOC_EXPBUF = Ioc.IOWR<v4l2_exportbuffer>('V', 16);
    public static readonly nuint VIDIOC_DQBUF = Ioc.IOWR<v4l2_buffer>('V', 17);
    public static readonly nuint VIDIOC_ENCODER_CMD = Ioc.IOWR<v4l2_encoder_cmd>('V', 77);
    public static readonly nuint VIDIOC_TRY_ENCODER_CMD = Ioc.IOWR<v4l2_encoder_cmd>('V', 78);
    public static readonly nuint VIDIOC_DECODER_CMD = Ioc.IOWR<v4l2_decoder_cmd>('V', 96);
    public static readonly nuint VIDIOC_TRY_DECODER_CMD = Ioc.IOWR<v4l2_decoder_cmd>('V', 97);
    public static readonly nuint VIDIOC_DQEVENT = Ioc.IOR<v4l2_event>('V', 89);
    public static readonly nuint VIDIOC_SUBSCRIBE_EVENT = Ioc.IOW<v4l2_event_subscription>('V', 90);
    public static readonly nuint VIDIOC_UNSUBSCRIBE_EVENT = Ioc.IOW<v4l2_event_subscription>('V', 91);
    public static readonly nuint VIDIOC_STREAMON = Ioc.IOW<int>('V', 18);
    public static readonly nuint VIDIOC_STREAMOFF = Ioc.IOW<int>('V', 19);
    public static readonly nuint VIDIOC_G_CTRL = Ioc.IOWR<v4l2_control>('V', 27);
    public static readonly nuint VIDIOC_CREATE_BUFS = Ioc.IOWR<v4l2_create_buffers>('V', 92);
    public static readonly nuint VIDIOC_REMOVE_BUFS = Ioc.IOWR<v4l2_remove_buffers>('V', 104);
    public static readonly nuint VIDIOC_SUBDEV_QUERYCAP = Ioc.IOR<v4l2_subdev_capability>('V', 0);
    public static readonly nuint MEDIA_IOC_DEVICE_INFO = Ioc.IOWR<media_device_info>('|', 0x00);
    public static readonly nuint MEDIA_IOC_G_TOPOLOGY = Ioc.IOWR<media_v2_topology>('|', 0x04);
    /// <summary>_IOR('|', 0x05, int): allocates a request; the argument receives its fd (media.h).</summary>
    public static readonly nuint MEDIA_IOC_REQUEST_ALLOC = Ioc.IOR<int>('|', 0x05);
    /// <summary>_IO('|', 0x80), on a request fd: queues the request (media.h).</summary>
    public static readonly nuint MEDIA_REQUEST_IOC_QUEUE = Ioc.IO('|', 0x80);
    /// <summary>_IO('|', 0x81), on a request fd: re-initializes the request (media.h).</summary>
    public static readonly nuint MEDIA_REQUEST_IOC_REINIT = Ioc.IO('|', 0x81);
    public static readonly nuint VIDIOC_SUBDEV_ENUM_MBUS_CODE = Ioc.IOWR<v4l2_subdev_mbus_code_enum>('V', 2);
    public static readonly nuint VIDIOC_SUBDEV_G_FMT = Ioc.IOWR<v4l2_subdev_format>('V', 4);
    public static readonly nuint VIDIOC_SUBDEV_S_FMT = Ioc.IOWR<v4l2_subdev_format>('V', 5);
    public static readonly nuint DMA_BUF_IOCTL_SYNC = Ioc.IOW<dma_buf_sync>('b', 0);
    /// <summary>_IOW('b', 1, const char *): the argument is the name pointer.</summary>
    public static readonly nuint DMA_BUF_SET_NAME = Ioc.IOW<nuint>('b', 1);
    public static readonly nuint DMA_BUF_IOCTL_EXPORT_SYNC_FILE = Ioc.IOWR<dma_buf_export_sync_file>('b', 2);
    public static readonly nuint DMA_BUF_IOCTL_IMPORT_SYNC_FILE = Ioc.IOW<dma_buf_import_sync_file>('b', 3);
    public static readonly nuint DMA_HEAP_IOCTL_ALLOC = Ioc.IOWR<dma_heap_allocation_data>('H', 0);
    public static readonly nuint DRM_IOCTL_GEM_CLOSE = Ioc.IOW<drm_gem_close>('d', 0x09);
    public static readonly nuint DRM_IOCTL_PRIME_HANDLE_TO_FD = Ioc.IOWR<drm_prime_handle>('d', 0x2d);
    public static readonly nuint DRM_IOCTL_PRIME_FD_TO_HANDLE = Ioc.IOWR<drm_prime_handle>('d', 0x2e);
    public static readonly nuint DRM_IOCTL_MODE_CREATE_DUMB = Ioc.IOWR<drm_mode_create_dumb>('d', 0xB2);
    public static readonly nuint DRM_IOCTL_MODE_MAP_DUMB = Ioc.IOWR<drm_mode_map_dumb>('d', 0xB3);
    public static readonly nuint DRM_IOCTL_VGEM_FENCE_ATTACH =
        Ioc.IOWR<drm_vgem_fence_attach>('d', Uapi.DRM_COMMAND_BASE + Uapi.DRM_VGEM_FENCE_ATTACH);
    public static readonly nuint DRM_IOCTL_VGEM_FENCE_SIGNAL =
        Ioc.IOW<drm_vgem_fence_signal>('d', Uapi.DRM_COMMAND_BASE + Uapi.DRM_VGEM_FENCE_SIGNAL);
    public static readonly nuint SYNC_IOC_MERGE = Ioc.IOWR<sync_merge_data>('>', 3);
    public static readonly nuint SYNC_IOC_FILE_INFO = Ioc.IOWR<sync_file_info>('>', 4);
    public static readonly nuint UDMABUF_CREATE = Ioc.IOW<udmabuf_create>('u', 0x42);
    public static readonly nuint UDMABUF_CREATE_LIST = Ioc.IOW<udmabuf_create_list>('u', 0x43);

    /// <summary>A request no driver in the catalog defines: the dma-buf magic with an unused number.</summary>
    public static readonly nuint UNKNOWN_b_7f = Ioc.IO('b', 0x7f);
}
