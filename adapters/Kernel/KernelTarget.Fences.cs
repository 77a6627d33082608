using System.Diagnostics;
using System.Text;
using Conformance.Adapters.Interop;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Kernel;

/// <summary>DRM GEM handles, PRIME, vgem fences and sync_file: the real ioctls, with the model's NotRun guards.</summary>
public sealed unsafe partial class KernelTarget
{
    /// <summary>Per (DRM file, handle): the object's size (MAP_DUMB returns only an offset, and the mapping needs a
    /// length) and who exported its memory (a re-export of an imported buffer is the original dma-buf).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(int File, uint Handle), (long Size, Exporter Exporter)> _handles = new();
    /// <summary>Set once this target attached or imported a fence; until then no START can sleep, and no poll is spent on it.</summary>
    private bool _fencesUsed;
    private long _lastAttach;   // Stopwatch timestamp of the newest successful vgem attach

    private static readonly byte[] MergedName = Encoding.ASCII.GetBytes("merged\0");

    /// <summary>A known fd of another kind than DRM: the model refuses these (NotRun); unknown fds still reach the kernel (EBADF).</summary>
    private bool NotDrm(int fd, out FdInfo f) => _fds.TryGetValue(fd, out f) && f.Kind != Kind.Drm;
    private bool Vgem => Profile.Drm.Any(d => d.VgemFences);

    /// <summary>Whether poll says the fd is ready for events now; an fd poll finds closed (POLLNVAL: another thread's close
    /// came first) counts as ready, so the call the caller guards is made and returns the kernel's EBADF, as it would after
    /// that close.</summary>
    private bool Ready(int fd, short events)
    {
        var p = new pollfd { fd = fd, events = events };
        return Sys.Poll(&p, 1, 0) > 0 && ((p.revents & POLLNVAL) != 0 || (p.revents & events) == events);
    }

    private long Ioctl<T>(int fd, nuint request, ref T arg, string name) where T : unmanaged
    {
        using var _ = _watchdog.Op(name, fd);
        fixed (T* p = &arg) return ArgIoctl(fd, request, p);
    }

    public Outcome DrmCreateDumb(int drmFd, uint width, uint height, uint bpp)
    {
        if (NotDrm(drmFd, out var f) || width == 0 || height == 0 || bpp == 0) return Outcome.NotRun;
        byte* arg = stackalloc byte[ArgBytes];
        long r = Issue(Ioctls.CreateDumb, drmFd, [width, height, bpp], arg);
        if (r < 0) return Err(r);
        var (handle, size, _) = Ioctls.CreateDumb.Observe(arg);
        _handles[(f.File, (uint)handle)] = (size, Exporter.Drm);
        return new Outcome(Errno.OK, handle, size) { Handle = (int)handle };
    }

    public Outcome PrimeHandleToFd(int drmFd, uint handle, uint flags)
    {
        if (NotDrm(drmFd, out var f)) return Outcome.NotRun;
        byte* arg = stackalloc byte[ArgBytes];
        long r = Issue(Ioctls.PrimeHandleToFd, drmFd, [handle, flags, unchecked((ulong)-1)], arg);
        if (r < 0) return Err(r);
        int fd = (int)Ioctls.PrimeHandleToFd.CreatedValue(arg);
        // a re-export of an imported buffer is the original dma-buf: the harness's guards follow its real exporter
        // (fdinfo names it when the handle is not one this adapter made, e.g. a number valid in another file)
        var exp = _handles.TryGetValue((f.File, handle), out var known) ? known.Exporter : Discovery.FdInfoField(fd, "exp_name") switch
        {
            "drm" => Exporter.Drm,
            "udmabuf" => Exporter.Udmabuf,
            { } n when n.StartsWith("videobuf2", StringComparison.Ordinal) => Exporter.Vb2,
            _ => Exporter.Heap,
        };
        _fds[fd] = new FdInfo(Kind.DmaBuf, (flags & DRM_RDWR) != 0 ? O_RDWR : O_RDONLY, Exporter: exp);
        return Outcome.Created(fd);
    }

    public Outcome PrimeFdToHandle(int drmFd, int fd, uint flags)
    {
        if (NotDrm(drmFd, out var f)) return Outcome.NotRun;
        byte* arg = stackalloc byte[ArgBytes];
        long r = Issue(Ioctls.PrimeFdToHandle, drmFd, [(uint)fd, flags], arg);
        if (r < 0) return Err(r);
        var (handle, _, _) = Ioctls.PrimeFdToHandle.Observe(arg);
        _handles[(f.File, (uint)handle)] = (Sys.Lseek(fd, 0, SEEK_END), _fds.TryGetValue(fd, out var src) ? src.Exporter : Exporter.None);
        return new Outcome(Errno.OK, handle) { Handle = (int)handle };
    }

    public Outcome GemClose(int drmFd, uint handle)
    {
        if (NotDrm(drmFd, out var f)) return Outcome.NotRun;
        byte* arg = stackalloc byte[ArgBytes];
        long r = Issue(Ioctls.GemClose, drmFd, [handle], arg);
        if (r < 0) return Err(r);
        _handles.TryRemove((f.File, handle), out _);
        return Outcome.Success();
    }

    public Outcome DrmMapDumb(int drmFd, uint handle, int prot)
    {
        if (NotDrm(drmFd, out var f) || (_fds.ContainsKey(drmFd) && f.AccMode != O_RDWR)) return Outcome.NotRun;
        var m = new drm_mode_map_dumb { handle = handle };
        long r = Ioctl(drmFd, Req.DRM_IOCTL_MODE_MAP_DUMB, ref m, "DRM_IOCTL_MODE_MAP_DUMB");
        if (r < 0) return Err(r);
        if (!_handles.TryGetValue((f.File, handle), out var obj) || obj.Size <= 0) return Outcome.NotRun;
        long size = obj.Size;
        using (_watchdog.Op("mmap(drm)", drmFd))
            r = Sys.Mmap(size, prot, MAP_SHARED, drmFd, (long)m.offset);
        return r < 0 ? Err(r) : AddMap(r, size, prot, anon: false, dmaBuf: true);
    }

    public Outcome SameInode(int fdA, int fdB)
    {
        if (!Is(fdA, Kind.DmaBuf) || !Is(fdB, Kind.DmaBuf)) return Outcome.NotRun;
        statx a = default, b = default;
        long r = Sys.FStatx(fdA, &a);
        if (r == 0) r = Sys.FStatx(fdB, &b);
        if (r < 0) return Err(r);
        return Outcome.Success(a.stx_ino == b.stx_ino && a.stx_dev_major == b.stx_dev_major && a.stx_dev_minor == b.stx_dev_minor ? 1 : 0);
    }

    // ---- vgem fences -------------------------------------------------------------------------------

    public Outcome VgemFenceAttach(int drmFd, uint handle, uint flags, uint pad)
    {
        if (NotDrm(drmFd, out _) || !Vgem) return Outcome.NotRun;
        var a = new drm_vgem_fence_attach { handle = handle, flags = flags, pad = pad };
        long r = Ioctl(drmFd, Req.DRM_IOCTL_VGEM_FENCE_ATTACH, ref a, "DRM_IOCTL_VGEM_FENCE_ATTACH");
        if (r < 0) return Err(r);
        _fencesUsed = true;
        _lastAttach = Stopwatch.GetTimestamp();
        return new Outcome(Errno.OK, a.out_fence) { Handle = (int)a.out_fence };
    }

    public Outcome VgemFenceSignal(int drmFd, uint fenceId, uint flags)
    {
        if (NotDrm(drmFd, out _) || !Vgem) return Outcome.NotRun;
        byte* arg = stackalloc byte[ArgBytes];
        return Observed(Ioctls.VgemFenceSignal, Issue(Ioctls.VgemFenceSignal, drmFd, [fenceId, flags], arg), arg);
    }

    /// <summary>vgem's timer signals a fence VGEM_FENCE_TIMEOUT (10 s) after its attach; wait out the newest one, with a margin.</summary>
    public Outcome VgemFenceExpire()
    {
        if (_lastAttach == 0) return Outcome.Success();
        var left = TimeSpan.FromMilliseconds(10_500) - Stopwatch.GetElapsedTime(_lastAttach);
        if (left > TimeSpan.Zero)
            using (_watchdog.Op("wait for vgem fences to expire", -1))
                Thread.Sleep(left);
        return Outcome.Success();
    }

    // ---- sync_file ---------------------------------------------------------------------------------

    /// <summary>A new sync_file fd, described by a FILE_INFO query: R0 = status, R1 = num_fences, R2 = name kind.</summary>
    private Outcome SyncFileCreated(int fd)
    {
        _fds[fd] = new FdInfo(Kind.SyncFile, O_RDONLY);
        var q = Info(fd, 0);
        return q with { Handle = fd };
    }

    private bool FenceFd(int fd) => !_fds.TryGetValue(fd, out var f) || f.Kind is Kind.DmaBuf or Kind.SyncFile;

    public Outcome ExportSyncFile(int fd, uint flags)
    {
        if (!FenceFd(fd)) return Outcome.NotRun;
        byte* arg = stackalloc byte[ArgBytes];
        long r = Issue(Ioctls.ExportSyncFile, fd, [flags, unchecked((ulong)-1)], arg);
        return r < 0 ? Err(r) : SyncFileCreated((int)Ioctls.ExportSyncFile.CreatedValue(arg));
    }

    public Outcome ImportSyncFile(int fd, int syncFd, uint flags)
    {
        if (!FenceFd(fd)) return Outcome.NotRun;
        byte* arg = stackalloc byte[ArgBytes];
        long r = Issue(Ioctls.ImportSyncFile, fd, [flags, (uint)syncFd], arg);
        if (r < 0) return Err(r);
        _fencesUsed = true;
        return Outcome.Success();
    }

    public Outcome SyncMerge(int fd, int fd2, bool named, uint flags)
    {
        if (!FenceFd(fd)) return Outcome.NotRun;
        var m = new sync_merge_data { fd2 = fd2, flags = flags, fence = -1 };
        if (named) for (int k = 0; k < MergedName.Length; k++) m.name[k] = MergedName[k];
        long r = Ioctl(fd, Req.SYNC_IOC_MERGE, ref m, "SYNC_IOC_MERGE");
        return r < 0 ? Err(r) : SyncFileCreated(m.fence);
    }

    public Outcome SyncFileInfo(int fd, uint numFences, uint flags, uint pad)
    {
        if (!FenceFd(fd) || numFences > 64) return Outcome.NotRun;
        return Info(fd, numFences, flags, pad);
    }

    private Outcome Info(int fd, uint numFences, uint flags = 0, uint pad = 0)
    {
        var entries = stackalloc sync_fence_info[(int)Math.Max(1, numFences)];
        var info = new sync_file_info { num_fences = numFences, flags = flags, pad = pad, sync_fence_info = (ulong)entries };
        long r = Ioctl(fd, Req.SYNC_IOC_FILE_INFO, ref info, "SYNC_IOC_FILE_INFO");
        if (r < 0) return Err(r);
        if (numFences == 0) return Outcome.Success(info.status, info.num_fences, NameKind(info.name));
        int signalled = 0;
        for (int k = 0; k < info.num_fences; k++) if (entries[k].status == 1) signalled++;
        return Outcome.Success(info.status, info.num_fences, signalled);
    }

    /// <summary>What a sync_file's name starts with: 0 the stub, 1 a vgem fence, 2 a fence array, 3 a name the caller chose.</summary>
    private static long NameKind(byte* name)
    {
        var s = Encoding.ASCII.GetString(name, 32).TrimEnd('\0');
        return s.StartsWith("stub-", StringComparison.Ordinal) ? 0 : s.StartsWith("vgem-", StringComparison.Ordinal) ? 1
            : s.StartsWith("dma_fence_array-", StringComparison.Ordinal) ? 2 : 3;
    }

    public Outcome Poll(int fd, short events)
    {
        if (!_fds.TryGetValue(fd, out var f) || f.Kind is not (Kind.DmaBuf or Kind.SyncFile or Kind.Request or Kind.Video)) return Outcome.NotRun;
        var p = new pollfd { fd = fd, events = events };
        long r;
        using (_watchdog.Op("poll", fd))
            r = Sys.Poll(&p, 1, 0);
        // POLLNVAL: the fd was closed under the call by another thread (the books still held it): the harness polls open
        // fds only, so this is the call made after that close, which it does not make (NotRun, as the model says)
        if (r > 0 && (p.revents & POLLNVAL) != 0) return Outcome.NotRun;
        int keep = f.Kind switch { Kind.Request => POLLPRI | POLLERR, Kind.Video => POLLIN | POLLOUT | POLLPRI | POLLERR, _ => POLLIN | POLLOUT };
        return r < 0 ? Err(r) : Outcome.Success(p.revents & keep);
    }

    public Outcome EventWait(int fd, int timeoutMs)
    {
        if (!_fds.TryGetValue(fd, out var f) || f.Kind != Kind.Video) return Outcome.NotRun;
        var p = new pollfd { fd = fd, events = POLLPRI };
        long r;
        using (_watchdog.Op("poll", fd))
            r = Sys.Poll(&p, 1, timeoutMs);
        return r < 0 ? Err(r) : Outcome.Success(p.revents & POLLPRI);
    }
}
