using System.Globalization;
using System.Collections.Concurrent;
using System.Text;
using Conformance.Adapters.Interop;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Kernel;

/// <summary>
/// The system under test: every <see cref="IBufferTarget"/> op as the real ioctl/syscall on this
/// machine's kernel. The adapter keeps its own books only to clean up (every fd and mapping it made)
/// and to refuse exactly what the reference model refuses as NotRun (e.g. a MAP_PRIVATE mapping of a
/// heap buffer), so the two stay comparable. It never predicts an outcome.
/// </summary>
public sealed unsafe partial class KernelTarget : IBufferTarget
{
    private enum Kind { Video, Heap, Udmabuf, DmaBuf, Memfd, Drm, SyncFile, Request }
    private enum Exporter { None, Heap, Udmabuf, Vb2, Drm }
    /// <summary>Size is kept for memfds only: it bounds the mappings the harness allows (reads past i_size would SIGBUS).</summary>
    /// <summary>File is the open file description (a DRM fd and its dups share GEM handles).</summary>
    /// <summary>What the adapter knows of an fd it made; HugePage, a hugetlb memfd's huge page size in bytes (0 otherwise).</summary>
    private readonly record struct FdInfo(Kind Kind, int AccMode, long Size = 0, Exporter Exporter = Exporter.None, int File = 0, long HugePage = 0);
    /// <summary>A mapping the adapter made: DmaBuf, of a dma-buf an exporter other than vb2 made (VM_PFNMAP pages, not usable as
    /// USERPTR); OfDmaBuf, of any dma-buf.</summary>
    private readonly record struct Map(long Addr, long Length, int Prot, bool Anon, bool DmaBuf = false, bool OfDmaBuf = false);

    // concurrent: a parallel block's branches call the adapter from threads of their own (DMABUF-PAR-1)
    private readonly FdTable<FdInfo> _fds = new();
    private readonly ConcurrentDictionary<int, Map> _maps = new();
    private readonly IReadOnlyDictionary<string, string> _paths;
    private readonly Watchdog _watchdog;
    private int _nextMap = 1, _nextFile;
    private int _baseline;

    /// <param name="profile">What the devices offer (from <see cref="Discovery"/>).</param>
    /// <param name="paths">Symbolic device name used by the ops → device path.</param>
    /// <param name="opTimeout">An op that takes longer is a hung driver: the watchdog reports it and ends the process.</param>
    public KernelTarget(TargetProfile profile, IReadOnlyDictionary<string, string> paths, TimeSpan? opTimeout = null)
    {
        Profile = profile;
        _paths = paths;
        _watchdog = new Watchdog(opTimeout ?? TimeSpan.FromSeconds(20));
        ApplyFormats();
        SaveFormats();
        _baseline = BufInfo.LiveCount();
        PoolBaseline();
    }

    /// <summary>HugePages_Free and HugePages_Rsvd at the start of the sequence (the last reset), for <see cref="HugetlbPool"/>.</summary>
    private long _hugeFree0, _hugeRsvd0;

    private void PoolBaseline()
    {
        if (Profile.Hugetlb == null) return;
        var m = Discovery.Meminfo();
        _hugeFree0 = m.GetValueOrDefault("HugePages_Free");
        _hugeRsvd0 = m.GetValueOrDefault("HugePages_Rsvd");
    }

    public Outcome HugetlbPool()
    {
        var m = Profile.Hugetlb == null ? null : Discovery.Meminfo();
        if (m == null || !m.TryGetValue("HugePages_Free", out var free) || !m.TryGetValue("HugePages_Rsvd", out var rsvd)) return Outcome.NotRun;
        return Outcome.Success(_hugeFree0 - free, rsvd - _hugeRsvd0);
    }

    /// <summary>
    /// Sets each video node to the pixel format its profile was certified with (<see cref="VideoNodeProfile.PixelFormat"/>, the
    /// format discovery chose so a multi-planar queue has more than one plane), as every reproducer does before its first
    /// step: a format is the device's state and a reload of the driver resets it. Throws when the driver refuses.
    /// </summary>
    private void ApplyFormats()
    {
        foreach (var v in Profile.Video.Where(v => v.Pipeline != null))
            if (_paths.TryGetValue(v.Device, out var path) && Watched($"configuring the media pipeline of {path}", () => MediaGraph.Apply(v.Pipeline!)) is { } err)
                throw new InvalidOperationException($"{path}: configuring its media pipeline ({v.Pipeline!.Path}) as discovery did failed: {err}");
        foreach (var v in Profile.Video.Where(v => v.PixelFormat != 0))
            if (_paths.TryGetValue(v.Device, out var path) && SetFormat(path, v.BufType, v.PixelFormat) is var r and < 0)
                throw new InvalidOperationException($"{path}: setting the certified pixel format {FourCC(v.PixelFormat)} failed: {Sys.ErrnoOf(r)}");
    }

    /// <summary>Runs what under the watchdog (a driver that hangs in it is reported as hung); what it returns.</summary>
    private string? Watched(string what, Func<string?> action)
    {
        using var _ = _watchdog.Op(what, -1);
        return action();
    }

    /// <summary>Opens path, sets the pixel format (<see cref="Discovery.SetPixelFormat"/>) under the watchdog and closes it again.
    /// Returns the result (negative: -errno of the open or the ioctl).</summary>
    private long SetFormat(string path, uint type, uint pixelFormat)
    {
        using var _ = _watchdog.Op($"VIDIOC_S_FMT {FourCC(pixelFormat)} on {path}", -1);
        long fd = Sys.Open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return fd;
        long r = Discovery.SetPixelFormat((int)fd, type, pixelFormat);
        Sys.Close((int)fd);
        return r;
    }

    public TargetProfile Profile { get; }

    /// <summary>A parallel block's branches run on threads of their own, their calls overlapping in the kernel.</summary>
    public bool Concurrent => true;
    /// <summary>Lockstep judges this target's outcomes on a thread of its own, behind the calls (each call waits in the kernel
    /// for microseconds, and the oracle's work fits beside it); false (--judge-in-step): each before the next call.</summary>
    public bool OverlapsOracle { get; init; } = true;

    /// <summary>What the watchdog prints if an op hangs (set per sequence by the runner).</summary>
    public Func<string> Context { get => _watchdog.Context; set => _watchdog.Context = value; }

    private static Outcome Err(long r) => Outcome.Fail(Sys.ErrnoOf(r));

    private Outcome Track(long r, FdInfo info)
    {
        if (r < 0) return Err(r);
        _fds[(int)r] = info;
        return Outcome.Created((int)r);
    }

    private bool Is(int fd, Kind k) => _fds.TryGetValue(fd, out var f) && f.Kind == k;

    /// <summary>Room for any described ioctl's argument (the largest, v4l2_buffer, is 88 bytes).</summary>
    private const int ArgBytes = 256;

    /// <summary>A described ioctl (<see cref="Ioctls"/>): the values packed into a zeroed argument, the call made under the
    /// watchdog. Returns the syscall's result (negative: -errno).</summary>
    /// <param name="what">The op's name in a hang report; the request's name unless given.</param>
    private long Issue(IoctlSpec s, int fd, ReadOnlySpan<ulong> values, byte* arg, string? what = null)
    {
        s.Pack(arg, values);
        using var _ = _watchdog.Op(what ?? s.Request, fd);
        return ArgIoctl(fd, s.Code, arg);
    }

    /// <summary>The outcome of a described ioctl that creates nothing: its status, or R0..R2 as the description reads them.</summary>
    private static Outcome Observed(IoctlSpec s, long r, byte* arg)
    {
        if (r < 0) return Err(r);
        var (r0, r1, r2) = s.Observe(arg);
        return Outcome.Success(r0, r1, r2);
    }

    // ---- fd table -------------------------------------------------------------------------------

    public Outcome Open(string device, int oflags)
    {
        if (!_paths.TryGetValue(device, out var path)) return Outcome.NotRun;
        Kind kind = Profile.VideoNode(device) != null ? Kind.Video : Profile.Heap(device) != null ? Kind.Heap
            : Profile.DrmDevice(device) != null ? Kind.Drm : Kind.Udmabuf;
        // a blocking DQBUF on a driver that never completes would hang the suite, not fail it
        if (kind == Kind.Video) oflags |= O_NONBLOCK;
        using var _ = _watchdog.Op("open " + path, -1);
        return Track(Sys.Open(path, oflags), new FdInfo(kind, oflags & O_ACCMODE, File: Interlocked.Increment(ref _nextFile)));
    }

    public Outcome RequestAlloc(string media)
    {
        if (!_paths.TryGetValue(media, out var path)) return Outcome.NotRun;
        long m;
        using (_watchdog.Op("open " + path, -1))
            m = Sys.Open(path, O_RDWR | O_CLOEXEC);
        if (m < 0) return Err(m);
        try
        {
            int req = -1;
            long r;
            using (_watchdog.Op("MEDIA_IOC_REQUEST_ALLOC", (int)m))
                r = Sys.Ioctl((int)m, Req.MEDIA_IOC_REQUEST_ALLOC, &req);
            return r < 0 ? Err(r) : Track(req, new FdInfo(Kind.Request, O_RDWR, File: Interlocked.Increment(ref _nextFile)));
        }
        finally { Sys.Close((int)m); }
    }

    public Outcome Close(int fd)
    {
        using var _ = _watchdog.Op("close", fd);
        long r = Sys.Close(fd);
        if (r < 0) return Err(r);
        _fds.TryRemove(fd, out var _closed);
        return Outcome.Success();
    }

    public Outcome Dup(int fd)
    {
        long r = Sys.Dup(fd);
        if (r < 0) return Err(r);
        _fds[(int)r] = _fds.TryGetValue(fd, out var f) ? f : new FdInfo(Kind.Memfd, O_RDWR);
        return Outcome.Created((int)r);
    }

    public Outcome FcntlGetFd(int fd)
    {
        long r = Sys.Fcntl(fd, Libc.F_GETFD);
        return r < 0 ? Err(r) : Outcome.Success(r & FD_CLOEXEC);
    }

    public Outcome PassFd(int fd, bool cloexec)
    {
        long r = Sys.PassFd(fd, cloexec);
        if (r < 0) return Err(r);
        int got = (int)r;
        _fds[got] = _fds.TryGetValue(fd, out var f) ? f : new FdInfo(Kind.Memfd, O_RDWR);
        return Outcome.Created(got, SameFile(fd, got) ? 1 : 0);
    }

    /// <summary>Whether two fds name the same file: fstat's device and inode agree.</summary>
    private static bool SameFile(int a, int b) => FileId(a) is { } x && FileId(b) == x;

    /// <summary>What names an open file's inode across processes: its device (major, minor) and inode number (statx); null for
    /// an fd this process does not hold.</summary>
    private static (uint Major, uint Minor, ulong Ino)? FileId(int fd)
    {
        statx st = default;
        return Sys.FStatx(fd, &st) == 0 ? (st.stx_dev_major, st.stx_dev_minor, st.stx_ino) : null;
    }

    /// <summary>The new program is /bin/sh running a script that opens nothing before it has looked: for each fd, whether
    /// /proc/self/fd/N exists, and whether it is the same file as the parent's /proc/PPID/fd/N (test -ef).</summary>
    public Outcome Exec(IReadOnlyList<int> fds)
    {
        if (fds.Count > 62) return Outcome.NotRun;
        foreach (var fd in fds) if (Sys.Fcntl(fd, Libc.F_GETFD) < 0) return Outcome.Fail(Errno.EBADF);
        if (fds.Count == 0) return Outcome.Success(0, 0);
        // the new program is the helper, asked as `conformance-helper exec-probe FD...`: a static C program starts in about half
        // the time /bin/sh took under the lab's TCG (a shell script asking /proc did this before); it exits 3 without /proc,
        // where it cannot tell a held fd from a closed one, which is EIO here, not a verdict
        if (HelperMissing is { } missing) return Unavailable(missing);
        string? said;
        long err;
        using (_watchdog.Op("exec", fds.Count))
            said = Sys.Run(HelperPath, ["conformance-helper", "exec-probe", .. fds.Select(fd => fd.ToString(CultureInfo.InvariantCulture))], out err);
        if (said == null) return Err(err);
        var parts = said.Trim().Split(' ');
        if (parts.Length != 2 || parts[0].Length != fds.Count || parts[1].Length != fds.Count) return Outcome.Fail(Errno.EIO);
        return Outcome.Success(Mask(parts[0]), Mask(parts[1]));

        static long Mask(string bits)
        {
            long m = 0;
            for (int i = 0; i < bits.Length; i++) if (bits[i] == '1') m |= 1L << i;
            return m;
        }
    }

    public Outcome FcntlGetFl(int fd)
    {
        long r = Sys.Fcntl(fd, Libc.F_GETFL);
        return r < 0 ? Err(r) : Outcome.Success(r & O_ACCMODE);
    }

    public Outcome Llseek(int fd, long offset, int whence)
    {
        if (Is(fd, Kind.Memfd)) return Outcome.NotRun;   // memfd seeking is not what the suite certifies
        long r = Sys.Lseek(fd, offset, whence);
        return r < 0 ? Err(r) : Outcome.Success(r);
    }

    public Outcome UnknownIoctl(int fd)
    {
        long r = Sys.Ioctl(fd, Req.UNKNOWN_b_7f, null);
        return r < 0 ? Err(r) : Outcome.Success(r);
    }

    // ---- mappings ---------------------------------------------------------------------------------

    private Outcome AddMap(long addr, long length, int prot, bool anon, bool dmaBuf = false, bool ofDmaBuf = false)
    {
        int id = Interlocked.Increment(ref _nextMap) - 1;
        _maps[id] = new Map(addr, length, prot, anon, dmaBuf, ofDmaBuf);
        return Outcome.Created(id);
    }

    /// <summary>Mappings the harness refuses, in any process (unverified exporter behaviour; memfd reads past i_size would
    /// SIGBUS): a private mapping of a dma-buf udmabuf does not export, a memfd's private or past its size.</summary>
    private static bool MapRefused(FdInfo f, long pgoff, long length, bool shared) =>
        f.Kind == Kind.DmaBuf && !shared && f.Exporter != Exporter.Udmabuf
        || f.Kind == Kind.Memfd && (!shared || pgoff * PAGE_SIZE + length > f.Size) || HugeMisaligned(f, pgoff, length);

    /// <summary>A mapping of a hugetlb memfd the harness does not make: one that does not start and end at a huge page, which
    /// hugetlbfs refuses or rounds (and whose munmap at the asked length then fails), so it could not be undone.</summary>
    private static bool HugeMisaligned(FdInfo f, long pgoff, long length) =>
        f.HugePage > 0 && (pgoff * PAGE_SIZE % f.HugePage != 0 || length % f.HugePage != 0);

    /// <summary>A well-formed SYNC START (read, write or both, without END): one that sleeps on conflicting fences, so the
    /// harness asks poll first where fences were used.</summary>
    private static bool SyncStart(ulong flags) =>
        (flags & ~(DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)) == 0 && (flags & DMA_BUF_SYNC_RW) != 0 && (flags & DMA_BUF_SYNC_END) == 0;

    public Outcome Mmap(int fd, long pgoff, long length, int prot, int flags)
    {
        bool shared = (flags & MAP_SHARED) != 0;
        bool known = _fds.TryGetValue(fd, out var f);
        if (known && length != 0 && f.Kind is Kind.Video or Kind.Heap or Kind.Udmabuf or Kind.Drm)
        {
            // the harness maps device nodes only through MmapVideo; it still lets access errors through
            bool denied = (shared && (prot & PROT_WRITE) != 0 && f.AccMode == O_RDONLY) || f.AccMode == O_WRONLY;
            if (!denied) return Outcome.NotRun;
        }
        if (known && HugeMisaligned(f, pgoff, length)) return Outcome.NotRun;
        long r;
        using (_watchdog.Op("mmap", fd))
            r = Sys.Mmap(length, prot, flags, fd, pgoff * PAGE_SIZE);
        if (r < 0) return Err(r);
        // cases the harness refuses (unverified exporter behaviour; memfd reads past i_size would SIGBUS): undo
        if (known && MapRefused(f, pgoff, length, shared)) { Sys.Munmap(r, length); return Outcome.NotRun; }
        return AddMap(r, length, prot, anon: false, dmaBuf: known && f.Kind == Kind.DmaBuf && f.Exporter != Exporter.Vb2, ofDmaBuf: known && f.Kind == Kind.DmaBuf);
    }

    public Outcome MmapVideo(int fd, uint type, uint index, uint plane, long length, int prot, int flags)
    {
        long offset;
        long layout = VideoLayout(type, index, plane);
        if (IsMultiPlanar(type))
        {
            // the plane's own mem_offset when the buffer has that plane; past the last, vb2's layout from plane 0's
            var planes = stackalloc v4l2_plane[VIDEO_MAX_PLANES];
            var mb = PlanesBuffer(type, planes);
            mb.index = index;
            offset = Sys.Ioctl(fd, Req.VIDIOC_QUERYBUF, &mb) == 0 && mb.memory == V4L2_MEMORY_MMAP
                ? plane < mb.length ? planes[plane].m_mem_offset : planes[0].m_mem_offset + ((long)plane << 12)
                : layout;
        }
        else
        {
            var b = new v4l2_buffer { index = index, type = type, memory = V4L2_MEMORY_MMAP };
            // QUERYBUF's offset when the buffer exists (m2m capture queues add bit 30), else vb2's layout
            offset = Sys.Ioctl(fd, Req.VIDIOC_QUERYBUF, &b) == 0 && b.memory == V4L2_MEMORY_MMAP
                ? b.m_offset + ((long)plane << 12) : layout;
        }
        long r;
        using (_watchdog.Op("mmap(video)", fd))
            r = Sys.Mmap(length, prot, flags, fd, offset);
        return r < 0 ? Err(r) : AddMap(r, length, prot, anon: false);
    }

    /// <summary>vb2's own layout of a buffer's mmap offset, for a buffer or plane QUERYBUF does not report: index &lt;&lt; 15 | plane &lt;&lt;
    /// 12, and a mem2mem CAPTURE queue's offsets start at DST_QUEUE_OFF_BASE (v4l2-mem2mem.c), so that the offset reaches the
    /// queue the type names.</summary>
    private long VideoLayout(uint type, uint index, uint plane) => ((long)index << 15) | ((long)plane << 12)
        | (Profile.Video.Count > 0 && Profile.Video[0].IsMem2Mem && !IsOutputType(type) ? 1L << 30 : 0);

    public Outcome MmapAnon(long length)
    {
        long r = Sys.Mmap(PageAlign(length), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return r < 0 ? Err(r) : AddMap(r, length, PROT_READ | PROT_WRITE, anon: true);
    }

    public Outcome Munmap(int map)
    {
        if (!_maps.TryRemove(map, out var m)) return Outcome.NotRun;
        using var _ = _watchdog.Op("munmap", map);
        long r = Sys.Munmap(m.Addr, m.Length);
        return r < 0 ? Err(r) : Outcome.Success();
    }

    public Outcome WriteStamp(int map, long offset, ulong value)
    {
        if (!_maps.TryGetValue(map, out var m) || (m.Prot & PROT_WRITE) == 0 || offset < 0 || offset + 8 > m.Length)
            return Outcome.NotRun;
        *(ulong*)(m.Addr + offset) = value;
        return Outcome.Success();
    }

    public Outcome WriteFrame(int map, int res)
    {
        long len = Bitstream.FrameLength(res);
        if (!_maps.TryGetValue(map, out var m) || (m.Prot & PROT_WRITE) == 0 || len > m.Length) return Outcome.NotRun;
        Bitstream.WriteFrame(new Span<byte>((void*)m.Addr, (int)len), res);
        return Outcome.Success(len);
    }

    public Outcome MremapGrow(int map, long newLength, long end)
    {
        if (!_maps.TryGetValue(map, out var m) || !m.OfDmaBuf || end < 0 || newLength <= end) return Outcome.NotRun;
        long p;
        using (_watchdog.Op("mremap", -1))
            p = Sys.Mremap(m.Addr, m.Length, newLength, Libc.MREMAP_MAYMOVE);
        if (p < 0) return Err(p);
        // grown (and perhaps moved): the kernel copies from the buffer's end, and the mapping goes back to its length in place
        long readable = Sys.CanCopyFrom(p + end, 8);
        long back = Sys.Mremap(p, newLength, m.Length, 0);
        _maps[map] = m with { Addr = p };
        if (back < 0) throw new InvalidOperationException($"mremap could not shrink a grown dma-buf mapping back ({Sys.ErrnoOf(back)})");
        return readable < 0 ? Err(readable) : Outcome.Success(readable);
    }

    public Outcome ReadStamp(int map, long offset)
    {
        if (!_maps.TryGetValue(map, out var m) || (m.Prot & PROT_READ) == 0 || offset < 0 || offset + 8 > m.Length)
            return Outcome.NotRun;
        return Outcome.Success((long)*(ulong*)(m.Addr + offset));
    }

    // ---- dma-buf core ------------------------------------------------------------------------------

    public Outcome DmaBufSync(int fd, ulong flags)
    {
        // a well-formed START sleeps on conflicting fences: ask poll (the same usage test) first and do not sleep
        if (SyncStart(flags) && _fencesUsed && Is(fd, Kind.DmaBuf) && !Ready(fd, (flags & DMA_BUF_SYNC_WRITE) != 0 ? POLLOUT : POLLIN))
            return Outcome.Fail(Errno.WouldBlock);
        byte* arg = stackalloc byte[ArgBytes];
        return Observed(Ioctls.DmaBufSync, Issue(Ioctls.DmaBufSync, fd, [flags], arg), arg);
    }

    // ---- dma-heap --------------------------------------------------------------------------------

    public Outcome DmaHeapAlloc(int heapFd, ulong len, uint fdFlags, ulong heapFlags, uint fdIn, HeapAbi abi)
    {
        if (len > 1UL << 30) return Outcome.NotRun;   // the harness never asks for more
        // the request's size field selects the struct version: 16 bytes (no heap_flags), 24, or 32
        var data = stackalloc ulong[4];
        data[0] = len; data[1] = fdIn | ((ulong)fdFlags << 32); data[2] = heapFlags; data[3] = 0;
        int size = abi switch { HeapAbi.Short => 16, HeapAbi.Long => 32, _ => sizeof(dma_heap_allocation_data) };
        long r;
        using (_watchdog.Op("DMA_HEAP_IOCTL_ALLOC", heapFd))
            r = ArgIoctl(heapFd, Ioc.IOWR('H', 0, size), data);
        if (r < 0) return Err(r);
        int fd = (int)(uint)data[1];
        _fds[fd] = new FdInfo(Kind.DmaBuf, (int)(fdFlags & O_ACCMODE), Exporter: Exporter.Heap);
        return Outcome.Created(fd);
    }

    // ---- DRM PRIME --------------------------------------------------------------------------------

    public Outcome DrmDumbExport(int drmFd, uint width, uint height, uint bpp, uint primeFlags)
    {
        if (!Is(drmFd, Kind.Drm)) return Outcome.NotRun;
        var created = DrmCreateDumb(drmFd, width, height, bpp);
        if (!created.Ok) return created;
        var exported = PrimeHandleToFd(drmFd, (uint)created.R0, primeFlags);
        // the dma-buf holds its own reference to the GEM object: drop the handle either way
        GemClose(drmFd, (uint)created.R0);
        return exported.Ok ? exported with { R0 = created.R1 } : exported;
    }

    // ---- memfd / udmabuf ---------------------------------------------------------------------------

    public Outcome MemfdCreate(long size, bool allowSealing, int seals, bool hugetlb = false)
    {
        long fd = Sys.MemfdCreate("conformance", (allowSealing ? Libc.MFD_ALLOW_SEALING : 0) | (hugetlb ? Libc.MFD_HUGETLB : 0));
        if (fd < 0) return Err(fd);
        long r = Sys.Ftruncate((int)fd, size);
        if (r == 0 && seals != 0) r = Sys.Fcntl((int)fd, Libc.F_ADD_SEALS, seals);
        if (r < 0) { Sys.Close((int)fd); return Err(r); }
        _fds[(int)fd] = new FdInfo(Kind.Memfd, O_RDWR, size, HugePage: hugetlb ? Profile.Hugetlb?.PageSize ?? Discovery.HugePageSize() : 0);
        return Outcome.Created((int)fd);
    }

    public Outcome UdmabufCreate(int devFd, int memfd, long offset, long size, uint flags)
    {
        byte* arg = stackalloc byte[ArgBytes];
        long r = Issue(Ioctls.UdmabufCreate, devFd, [(uint)memfd, flags, (ulong)offset, (ulong)size], arg);
        return Track(r, new FdInfo(Kind.DmaBuf, O_RDWR, Exporter: Exporter.Udmabuf));
    }

    public Outcome UdmabufCreateList(int devFd, uint flags, IReadOnlyList<UdmabufItem> items, uint count = 0)
    {
        // (the items read as a span, not item by item through the list's interface; the argument on the stack only where it
        // is small: a list repeated to a list_limit set high, up to the harness's 65,536 items, takes up to 1.5 MB, where a
        // thread's stack is the stack limit, 8 MB by default, or less)
        ReadOnlySpan<UdmabufItem> its = items is UdmabufItem[] array ? array : items.ToArray();
        int bytes = sizeof(udmabuf_create_list) + its.Length * sizeof(udmabuf_create_item);
        Span<byte> arg = bytes <= MaxStackListBytes ? stackalloc byte[bytes] : new byte[bytes];
        long r;
        fixed (byte* buf = arg)
        {
            var head = (udmabuf_create_list*)buf;
            head->flags = flags;
            head->count = count != 0 ? count : (uint)its.Length;
            var list = (udmabuf_create_item*)(buf + sizeof(udmabuf_create_list));
            for (int i = 0; i < its.Length; i++)
                list[i] = new udmabuf_create_item { memfd = (uint)its[i].Memfd, offset = (ulong)its[i].Offset, size = (ulong)its[i].Size };
            using (_watchdog.Op("UDMABUF_CREATE_LIST", devFd))
                r = Sys.Ioctl(devFd, Req.UDMABUF_CREATE_LIST, buf);
        }
        return Track(r, new FdInfo(Kind.DmaBuf, O_RDWR, Exporter: Exporter.Udmabuf));
    }

    /// <summary>The largest UDMABUF_CREATE_LIST argument built on the stack, in bytes (some 2,700 items); a larger one is
    /// built in an array.</summary>
    private const int MaxStackListBytes = 64 * 1024;

    // ---- V4L2 / videobuf2 -------------------------------------------------------------------------

    public Outcome ReqBufs(int fd, uint type, uint memory, uint count)
    {
        byte* arg = stackalloc byte[ArgBytes];
        return Observed(Ioctls.ReqBufs, Issue(Ioctls.ReqBufs, fd, [count, type, memory], arg), arg);
    }

    public Outcome CreateBufs(int fd, uint type, uint memory, uint count, long sizeDelta, PlaneLayout layout = PlaneLayout.Format)
    {
        var cb = new v4l2_create_buffers { count = count, memory = memory };
        cb.format.type = type;
        if (Sys.Ioctl(fd, Req.VIDIOC_G_FMT, &cb.format) == 0)
        {
            if (IsMultiPlanar(type)) LayOut(&cb.format.fmt_pix_mp, sizeDelta, layout);
            else cb.format.fmt_pix.sizeimage = (uint)Math.Clamp(cb.format.fmt_pix.sizeimage + sizeDelta, 0, uint.MaxValue);
        }
        else
            cb.format = new v4l2_format { type = type };
        long r;
        using (_watchdog.Op("VIDIOC_CREATE_BUFS", fd))
            r = Sys.Ioctl(fd, Req.VIDIOC_CREATE_BUFS, &cb);
        return r < 0 ? Err(r) : Outcome.Success(cb.index, cb.count, cb.capabilities);
    }

    /// <summary>A multi-planar format as CREATE_BUFS is given it: every plane's sizeimage moved by delta, then the layout's change.</summary>
    private static void LayOut(v4l2_pix_format_mplane* f, long delta, PlaneLayout layout)
    {
        int n = f->num_planes;
        for (int p = 0; p < n && p < VIDEO_MAX_PLANES; p++)
        {
            var pf = v4l2_pix_format_mplane.Plane(f, p);
            pf->sizeimage = (uint)Math.Clamp(pf->sizeimage + delta, 0, uint.MaxValue);
        }
        switch (layout)
        {
            case PlaneLayout.FewerPlanes: f->num_planes = (byte)Math.Max(0, n - 1); break;
            case PlaneLayout.MorePlanes:
                if (n > 0 && n < VIDEO_MAX_PLANES) *v4l2_pix_format_mplane.Plane(f, n) = *v4l2_pix_format_mplane.Plane(f, n - 1);
                f->num_planes = (byte)(n + 1);
                break;
            case PlaneLayout.LastPlaneZero: if (n > 0) v4l2_pix_format_mplane.Plane(f, n - 1)->sizeimage = 0; break;
        }
    }

    public Outcome SetFmt(int fd, uint type, FrameSize size, bool tryOnly)
    {
        var f = new v4l2_format { type = type };
        long r;
        using (_watchdog.Op("VIDIOC_G_FMT", fd))
            r = Sys.Ioctl(fd, Req.VIDIOC_G_FMT, &f);
        if (r < 0) return Err(r);
        bool mplane = IsMultiPlanar(type);
        uint w = mplane ? f.fmt_pix_mp.width : f.fmt_pix.width, h = mplane ? f.fmt_pix_mp.height : f.fmt_pix.height;
        (w, h) = size switch
        {
            FrameSize.Half => (w / 2, h / 2), FrameSize.Double => (w * 2, h * 2),
            FrameSize.Minimum => (1u, 1u), FrameSize.Maximum => (65535u, 65535u), _ => (w, h),
        };
        if (mplane) (f.fmt_pix_mp.width, f.fmt_pix_mp.height) = (w, h); else (f.fmt_pix.width, f.fmt_pix.height) = (w, h);
        using (_watchdog.Op(tryOnly ? "VIDIOC_TRY_FMT" : "VIDIOC_S_FMT", fd))
            r = Sys.Ioctl(fd, tryOnly ? Req.VIDIOC_TRY_FMT : Req.VIDIOC_S_FMT, &f);
        if (r < 0) return Err(r);
        _formatSet = true;   // TRY_FMT must change nothing, but the driver under test may not know it
        var sizes = Discovery.PlaneSizes(&f);
        return Outcome.Success(sizes.ElementAtOrDefault(0), sizes.ElementAtOrDefault(1), sizes.ElementAtOrDefault(2));
    }

    public Outcome QueryBuf(int fd, uint type, uint index, uint plane = 0)
    {
        if (IsMultiPlanar(type))
        {
            var planes = stackalloc v4l2_plane[VIDEO_MAX_PLANES];
            var b = PlanesBuffer(type, planes);
            b.index = index;
            long r;
            using (_watchdog.Op("VIDIOC_QUERYBUF", fd))
                r = Sys.Ioctl(fd, Req.VIDIOC_QUERYBUF, &b);
            if (r < 0) return Err(r);
            return Outcome.Success(plane < b.length ? planes[plane].length : -1, b.flags & Ioctls.StateFlags, b.memory);
        }
        byte* arg = stackalloc byte[ArgBytes];
        var o = Observed(Ioctls.QueryBuf, Issue(Ioctls.QueryBuf, fd, [index, type], arg), arg);
        return o.Ok && plane > 0 ? o with { R0 = -1 } : o;   // a single-planar buffer has plane 0 only
    }


    /// <summary>A zeroed multi-planar v4l2_buffer whose m.planes is the given zeroed array of VIDEO_MAX_PLANES entries.</summary>
    private static v4l2_buffer PlanesBuffer(uint type, v4l2_plane* planes)
    {
        new Span<byte>(planes, VIDEO_MAX_PLANES * sizeof(v4l2_plane)).Clear();
        return new v4l2_buffer { type = type, length = VIDEO_MAX_PLANES, m_planes = (ulong)planes };
    }

    /// <summary>The size fstat reports for fd (a dma-buf's size, a memfd's); 0 for a device node or a closed fd.</summary>
    private static long FstatSize(int fd)
    {
        statx st = default;
        return Sys.FStatx(fd, &st) == 0 ? (long)st.stx_size : 0;
    }

    public Outcome ExpBuf(int fd, uint type, uint index, uint plane, uint flags)
    {
        byte* arg = stackalloc byte[ArgBytes];
        long r = Issue(Ioctls.ExpBuf, fd, [type, index, plane, flags], arg);
        if (r < 0) return Err(r);
        int dmabuf = (int)Ioctls.ExpBuf.CreatedValue(arg);
        _fds[dmabuf] = new FdInfo(Kind.DmaBuf, (int)(flags & O_ACCMODE), Exporter: Exporter.Vb2);
        return Outcome.Created(dmabuf);
    }

    public Outcome QBuf(int fd, uint type, uint index, uint memory, IReadOnlyList<int> planes, bool prepare = false, int? request = null, long bytesUsed = 0,
        PlaneFields fields = PlaneFields.Format)
    {
        if (IsMultiPlanar(type)) return QBufMplane(fd, type, index, memory, planes, prepare, request, bytesUsed, fields);
        int dmabufFd = planes.Count > 0 ? planes[0] : -1, userMap = dmabufFd;
        var b = new v4l2_buffer { index = index, type = type, memory = memory, field = V4L2_FIELD_NONE };
        if (request is { } rq) { b.flags = V4L2_BUF_FLAG_REQUEST_FD; b.request_fd = rq; }
        if (memory == V4L2_MEMORY_DMABUF) b.m_fd = dmabufFd;
        else if (memory == V4L2_MEMORY_USERPTR)
        {
            // only anonymous memory or a dma-buf mapping is ever handed to the device, with its whole length
            if (!_maps.TryGetValue(userMap, out var m) || !(m.Anon || m.DmaBuf)) return Outcome.NotRun;
            b.m_userptr = (ulong)m.Addr;
            b.length = (uint)m.Length;
        }
        // an application fills an output buffer before queueing it: the payload is one frame of the current format
        // (or, where the step says, the coded frame WriteFrame put there)
        if (type == V4L2_BUF_TYPE_VIDEO_OUTPUT && Profile.Video.Count > 0)
            b.bytesused = bytesUsed > 0 ? (uint)bytesUsed : (uint)CurrentPlaneSizes(fd, type, Profile.Video[0].QueueFor(type).PlaneSizes)[0];
        // the whole plane: the dma-buf's size (a single-planar QBUF passes length 0, so vb2 takes that size as the length)
        if (fields == PlaneFields.PayloadLength && memory == V4L2_MEMORY_DMABUF && FstatSize(dmabufFd) is > 0 and var whole) b.bytesused = (uint)whole;
        long r;
        using (_watchdog.Op(prepare ? "VIDIOC_PREPARE_BUF" : "VIDIOC_QBUF", fd))
            r = Sys.Ioctl(fd, prepare ? Req.VIDIOC_PREPARE_BUF : Req.VIDIOC_QBUF, &b);
        return r < 0 ? Err(r) : fields == PlaneFields.Format ? Outcome.Success() : PlaneFieldsShown(fd, type, index);
    }

    /// <summary>What VIDIOC_QUERYBUF shows of plane 0 of a buffer right after a QBUF that set its payload fields: R0 = bytesused,
    /// R1 = data_offset (0 on a single-planar queue), both -1 when the QUERYBUF fails.</summary>
    private Outcome PlaneFieldsShown(int fd, uint type, uint index)
    {
        var planes = stackalloc v4l2_plane[VIDEO_MAX_PLANES];
        var b = IsMultiPlanar(type) ? PlanesBuffer(type, planes) : new v4l2_buffer { type = type };
        b.index = index;
        long r;
        using (_watchdog.Op("VIDIOC_QUERYBUF", fd))
            r = Sys.Ioctl(fd, Req.VIDIOC_QUERYBUF, &b);
        if (r < 0) return Outcome.Success(-1, -1);
        return IsMultiPlanar(type) ? Outcome.Success(planes[0].bytesused, planes[0].data_offset) : Outcome.Success(b.bytesused, 0);
    }

    /// <summary>The sizeimage of each plane of the queue's current format: the profile's (the certified format) until a format
    /// ioctl of this sequence may have changed it, then VIDIOC_G_FMT on fd (a format is the device's or, on a mem2mem node,
    /// the file handle's); the profile's when G_FMT fails.</summary>
    private IReadOnlyList<long> CurrentPlaneSizes(int fd, uint type, IReadOnlyList<long> profile)
    {
        if (!_formatSet) return profile;
        var f = new v4l2_format { type = type };
        if (Sys.Ioctl(fd, Req.VIDIOC_G_FMT, &f) < 0) return profile;
        var sizes = Discovery.PlaneSizes(&f);
        return sizes.Count > 0 ? sizes : profile;
    }

    /// <summary>
    /// QBUF with a planes array of the format's num_planes entries: per plane, for DMABUF m.fd and length = the fd's size as
    /// fstat reports it (the plane's sizeimage when that is 0), for USERPTR the mapping's address and length; on an output
    /// queue bytesused = the plane's sizeimage in the current format and data_offset 0, or for DMABUF what
    /// <paramref name="fields"/> says (<see cref="PlaneFields"/>). The model's QBUF assumes exactly these values.
    /// </summary>
    private Outcome QBufMplane(int fd, uint type, uint index, uint memory, IReadOnlyList<int> handles, bool prepare, int? request, long bytesUsed,
        PlaneFields fields)
    {
        var node = Profile.Video.Count > 0 ? Profile.Video[0].QueueFor(type) : null;
        int n = node?.NumPlanes ?? handles.Count;
        if (memory is V4L2_MEMORY_DMABUF or V4L2_MEMORY_USERPTR && handles.Count < n) return Outcome.NotRun;
        var sizes = IsOutputType(type) && node != null ? CurrentPlaneSizes(fd, type, node.PlaneSizes) : node?.PlaneSizes;
        var planes = stackalloc v4l2_plane[VIDEO_MAX_PLANES];
        var b = PlanesBuffer(type, planes);
        b.index = index; b.memory = memory; b.field = V4L2_FIELD_NONE; b.length = (uint)n;
        if (request is { } rq) { b.flags = V4L2_BUF_FLAG_REQUEST_FD; b.request_fd = rq; }
        for (int p = 0; p < n && p < VIDEO_MAX_PLANES; p++)
        {
            long size = sizes != null && p < sizes.Count ? sizes[p] : 0;
            if (memory == V4L2_MEMORY_DMABUF)
            {
                planes[p].m_fd = handles[p];
                long fs = FstatSize(handles[p]);
                planes[p].length = (uint)(fs > 0 ? fs : size);
            }
            else if (memory == V4L2_MEMORY_USERPTR)
            {
                if (!_maps.TryGetValue(handles[p], out var m) || !(m.Anon || m.DmaBuf)) return Outcome.NotRun;
                planes[p].m_userptr = (ulong)m.Addr;
                planes[p].length = (uint)m.Length;
            }
            if (!IsOutputType(type)) continue;
            long frame = p == 0 && bytesUsed > 0 ? bytesUsed : size, length = planes[p].length;
            var (used, offset) = PlaneFieldValues.Of(memory == V4L2_MEMORY_DMABUF ? fields : PlaneFields.Format, frame, length);
            planes[p].bytesused = (uint)used;
            planes[p].data_offset = (uint)offset;
        }
        long r;
        using (_watchdog.Op(prepare ? "VIDIOC_PREPARE_BUF" : "VIDIOC_QBUF", fd))
            r = Sys.Ioctl(fd, prepare ? Req.VIDIOC_PREPARE_BUF : Req.VIDIOC_QBUF, &b);
        return r < 0 ? Err(r) : fields == PlaneFields.Format ? Outcome.Success() : PlaneFieldsShown(fd, type, index);
    }

    public Outcome DQBuf(int fd, uint type, bool blocking)
    {
        // vb2_ioctl_dqbuf reads O_NONBLOCK from the file at the call: cleared for this one, set back after (every other op
        // must not sleep); a dup shares the file, and sees the flag back as it was before the next op
        long flags = 0;
        if (blocking)
        {
            flags = Sys.Fcntl(fd, Libc.F_GETFL);
            if (flags < 0) return Err(flags);
            if (Sys.Fcntl(fd, Libc.F_SETFL, flags & ~O_NONBLOCK) is var set and < 0) return Err(set);
        }
        try
        {
            if (IsMultiPlanar(type))
            {
                var planes = stackalloc v4l2_plane[VIDEO_MAX_PLANES];
                var b = PlanesBuffer(type, planes);
                long r;
                using (_watchdog.Op(blocking ? "VIDIOC_DQBUF (blocking)" : "VIDIOC_DQBUF", fd))
                    r = Sys.Ioctl(fd, Req.VIDIOC_DQBUF, &b);
                return r < 0 ? Err(r) : Outcome.Success(b.index, b.flags & Ioctls.DQBufFlags);
            }
            byte* arg = stackalloc byte[ArgBytes];
            return Observed(Ioctls.DQBuf, Issue(Ioctls.DQBuf, fd, [type], arg, blocking ? "VIDIOC_DQBUF (blocking)" : null), arg);
        }
        finally
        {
            if (blocking) Sys.Fcntl(fd, Libc.F_SETFL, flags);
        }
    }

    public Outcome Read(int fd, long count) => FileIo(fd, count, write: false);

    public Outcome Write(int fd, long count) => FileIo(fd, count, write: true);

    /// <summary>read(2) into, or write(2) of zeros from, memory of the harness's own (at most a frame and a page: the generator's
    /// largest count), under the watchdog. R0: the byte count.</summary>
    private Outcome FileIo(int fd, long count, bool write)
    {
        nuint size = (nuint)Math.Max(1, count);
        var buf = write ? System.Runtime.InteropServices.NativeMemory.AllocZeroed(size) : System.Runtime.InteropServices.NativeMemory.Alloc(size);
        try
        {
            long r;
            using (_watchdog.Op(write ? "write" : "read", fd))
                r = write ? Sys.Write(fd, buf, count) : Sys.Read(fd, buf, count);
            return r < 0 ? Err(r) : Outcome.Success(r);
        }
        finally { System.Runtime.InteropServices.NativeMemory.Free(buf); }
    }

    public Outcome StreamOn(int fd, uint type)
    {
        byte* arg = stackalloc byte[ArgBytes];
        return Observed(Ioctls.StreamOn, Issue(Ioctls.StreamOn, fd, [type], arg), arg);
    }

    public Outcome EncoderCmd(int fd, uint cmd, bool tryOnly)
    {
        byte* arg = stackalloc byte[ArgBytes];
        var spec = tryOnly ? Ioctls.TryEncoderCmd : Ioctls.EncoderCmd;
        return Observed(spec, Issue(spec, fd, [cmd], arg), arg);
    }

    public Outcome DecoderCmd(int fd, uint cmd, bool tryOnly)
    {
        byte* arg = stackalloc byte[ArgBytes];
        var spec = tryOnly ? Ioctls.TryDecoderCmd : Ioctls.DecoderCmd;
        return Observed(spec, Issue(spec, fd, [cmd], arg), arg);
    }

    public Outcome SubscribeEvent(int fd, uint type, bool unsubscribe)
    {
        byte* arg = stackalloc byte[ArgBytes];
        var spec = unsubscribe ? Ioctls.UnsubscribeEvent : Ioctls.SubscribeEvent;
        return Observed(spec, Issue(spec, fd, [type], arg), arg);
    }

    public Outcome DQEvent(int fd)
    {
        byte* arg = stackalloc byte[ArgBytes];
        return Observed(Ioctls.DQEvent, Issue(Ioctls.DQEvent, fd, [], arg), arg);
    }

    public Outcome StreamOff(int fd, uint type)
    {
        byte* arg = stackalloc byte[ArgBytes];
        return Observed(Ioctls.StreamOff, Issue(Ioctls.StreamOff, fd, [type], arg), arg);
    }

    public Outcome RemoveBufs(int fd, uint type, uint index, uint count)
    {
        byte* arg = stackalloc byte[ArgBytes];
        return Observed(Ioctls.RemoveBufs, Issue(Ioctls.RemoveBufs, fd, [index, count, type], arg), arg);
    }

    // ---- described ioctls ----------------------------------------------------------------------------

    public Outcome Ioctl(int fd, IoctlCall call)
    {
        var s = call.Spec;
        if (s.Result is not (IoctlResult.Status or IoctlResult.Values))
            throw new NotSupportedException($"{s.Request}: a described ioctl that creates something needs the adapter's own method");
        if (s.Arg == typeof(void))
        {
            long r;
            using (_watchdog.Op(s.Request, fd))
                r = Sys.Ioctl(fd, s.Code, null);
            return r < 0 ? Err(r) : Outcome.Success();
        }
        if (s.Arg == typeof(string))
        {
            var text = Encoding.ASCII.GetBytes((call.Text ?? "") + "\0");
            long r;
            fixed (byte* p = text)
                using (_watchdog.Op(s.Request, fd))
                    r = Sys.Ioctl(fd, s.Code, p);
            return r < 0 ? Err(r) : Outcome.Success();
        }
        byte* arg = stackalloc byte[ArgBytes];
        return Observed(s, Issue(s, fd, call.Values, arg), arg);
    }

    // ---- hygiene -----------------------------------------------------------------------------------

    public int LiveDmaBufs()
    {
        int n = BufInfo.LiveCount();
        return n < 0 || _baseline < 0 ? -1 : n - _baseline;
    }

    /// <summary>How many fds and mappings the adapter holds right now (0 after Reset).</summary>
    public (int Fds, int Maps) Held => (_fds.Count, _maps.Count);

    public void Reset()
    {
        using var _ = _watchdog.Op("reset", 0);
        EndHelpers();   // their exits release what they hold
        foreach (var m in _maps.Values) Sys.Munmap(m.Addr, m.Length);
        _maps.Clear();
        foreach (var fd in _fds.Keys) Sys.Close(fd);
        _fds.Clear();
        _handles.Clear();
        _fencesUsed = false;
        _lastAttach = 0;
        // a format is the device's state, not the file's: a sequence that set one leaves the next the certified one (a driver
        // that keeps a released queue busy refuses it: then it is tried again at the next reset, and a reload restores it)
        if (_formatSet) _formatSet = !RestoreFormats();
        // where the driver can be reloaded, that puts its formats back too, so the next sequence starts from them
        if (_formatSet && ReloadCommand != null && !_reloading) Refresh();
        PoolBaseline();
        SpareHelper();
    }

    /// <summary>A reload is under way (its own Reset must not start another).</summary>
    private bool _reloading;

    /// <summary>Whether a VIDIOC_S_FMT or VIDIOC_TRY_FMT succeeded since the formats were last put back.</summary>
    private bool _formatSet;
    /// <summary>Each video node's format as the run certifies it, read after <see cref="ApplyFormats"/>.</summary>
    private readonly List<(string Path, v4l2_format Format)> _certified = new();

    /// <summary>Reads the format (VIDIOC_G_FMT) of every video node whose format changes are certified, as the run certifies it.</summary>
    private void SaveFormats()
    {
        _certified.Clear();
        // (a mem2mem node's formats are its file handle's context's, and go with it)
        foreach (var v in Profile.Video.Where(v => v.FormatsCertified && !v.IsMem2Mem))
        {
            if (!_paths.TryGetValue(v.Device, out var path)) continue;
            long fd = Sys.Open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0) continue;
            var f = new v4l2_format { type = v.BufType };
            if (Sys.Ioctl((int)fd, Req.VIDIOC_G_FMT, &f) == 0) _certified.Add((path, f));
            Sys.Close((int)fd);
        }
    }

    /// <summary>VIDIOC_S_FMT of every saved format, every file closed. False when the driver refuses one (a queue it keeps
    /// busy after its files were closed): the device is not in its certified state then, which the next sequence shows.</summary>
    private bool RestoreFormats()
    {
        using var _ = _watchdog.Op("restoring the certified formats", -1);
        bool all = true;
        foreach (var (path, saved) in _certified)
        {
            long fd = Sys.Open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0) { all = false; continue; }
            var f = saved;
            all &= Sys.Ioctl((int)fd, Req.VIDIOC_S_FMT, &f) >= 0;
            Sys.Close((int)fd);
        }
        return all;
    }

    /// <summary>
    /// The command that reloads the driver under test (CONFORMANCE_RELOAD, set by the lab when it loaded the module that
    /// created this unit's device), run after Reset; then waits up to 10 s for every device path to be back.
    /// </summary>
    public string? ReloadCommand { get; init; }

    /// <summary>Why the reload failed, once it has (the rest of the unit runs from a reset alone); null while it works.</summary>
    public string? ReloadFailure { get; private set; }

    public bool Refresh()
    {
        _reloading = true;
        try { Reset(); }
        finally { _reloading = false; }
        if (ReloadCommand == null || ReloadFailure != null) return false;
        using (_watchdog.Op("reload the driver under test", 0))
        {
            var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", ReloadCommand]) { RedirectStandardError = true, RedirectStandardOutput = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                // the driver cannot be reloaded (something the suite cannot close still holds it: a buffer a defective
                // driver leaked): say so once, and go on from a reset alone, as on a driver the lab did not load
                ReloadFailure = $"reloading the driver under test failed ({ReloadCommand}): {string.Join(' ', err.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Trim()}";
                Console.Error.WriteLine($"# {ReloadFailure}; re-runs go on from a reset without a reload");
                return false;
            }
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!_paths.Values.All(File.Exists) && DateTime.UtcNow < deadline) Thread.Sleep(20);
        ApplyFormats();
        SaveFormats();
        _formatSet = false;   // the reload put every format back to the driver's own
        _baseline = BufInfo.LiveCount();
        return true;
    }

    public void Dispose()
    {
        Reset();
        EndSpare();
        // the node's own format back, as it was before discovery set the one it was certified with
        foreach (var v in Profile.Video.Where(v => v.InitialPixelFormat != 0 && v.InitialPixelFormat != v.PixelFormat))
            if (_paths.TryGetValue(v.Device, out var path)) SetFormat(path, v.BufType, v.InitialPixelFormat);
        foreach (var v in Profile.Video.Where(v => v.Pipeline != null))
            Watched($"restoring the media pipeline of {v.Device}", () => { MediaGraph.Restore(v.Pipeline!); return null; });
        _watchdog.Dispose();
    }
}
