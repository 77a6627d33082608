using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>A GEM object: a vgem dumb buffer (its own memory and reservation object) or a dma-buf from another exporter imported into the DRM device.</summary>
internal sealed class GemObject(long size, Mem? mem, DmaBuf? import)
{
    public readonly long Size = size;
    public readonly Mem? Mem = mem;
    public readonly DmaBuf? Import = import;
    public readonly Resv Resv = import?.Resv ?? new Resv();
    /// <summary>obj->dma_buf: the cached export (or the imported dma-buf), held while any handle exists.</summary>
    public DmaBuf? DmaBuf;
    public int HandleCount;
}

public sealed partial class ReferenceModel
{
    private static DevFile DrmState(DevFile dev)
    {
        dev.FenceIds ??= new();
        return dev;
    }

    private bool TryDrm(int fd, out DevFile dev, out Outcome fail)
    {
        dev = null!;
        fail = default;
        if (!TryFile(fd, out var f)) { fail = Cite(Inv.DmaBufBadFd, Errno.EBADF); return false; }
        if (f is not DevFile { Kind: DevKind.Drm } d) { fail = Outcome.NotRun; return false; }   // the harness sends DRM ioctls to DRM fds only
        dev = DrmState(d);
        return true;
    }

    /// <summary>drm_gem_handle_create_tail: idr_alloc from 1, the lowest free number.</summary>
    private static uint NewHandle(DevFile dev, GemObject obj)
    {
        obj.HandleCount++;
        return dev.Handles.Add(obj);
    }

    /// <summary>drm_gem_object_release_handle: forget the PRIME entry, and with the last handle drop the cached dma-buf (and an import's attachment).</summary>
    private void ReleaseHandle(DevFile dev, uint h)
    {
        var obj = dev.Handles[h]!;
        dev.Handles.Remove(h);
        if (obj.DmaBuf != null) dev.Prime.Remove(obj.DmaBuf);
        if (--obj.HandleCount > 0) return;
        if (obj.DmaBuf is { } cached) { obj.DmaBuf = null; Put(cached); }
        if (obj.Import != null) Put(obj.Import);
    }

    /// <summary>drm_file_free: every handle goes (drm_gem_release: idr_for_each, in ascending order), then vgem signals the
    /// file's fences.</summary>
    private void ReleaseDrmFile(DevFile dev)
    {
        for (uint h = 1, last = dev.Handles.Highest; h <= last; h++) if (dev.Handles[h] != null) ReleaseHandle(dev, h);
        SignalFileFences(dev);
    }

    public Outcome DrmCreateDumb(int drmFd, uint width, uint height, uint bpp)
    {
        if (!TryDrm(drmFd, out var dev, out var fail)) return fail;
        if (width == 0 || height == 0 || bpp == 0) return Outcome.NotRun;   // the harness never asks for an empty buffer
        // drm_gem_shmem_dumb_create: pitch = DIV_ROUND_UP(width * bpp, 8), size = PAGE_ALIGN(pitch * height)
        long size = PageAlign(((long)width * bpp + 7) / 8 * height);
        var obj = new GemObject(size, new Mem(size, null), null);
        uint h = NewHandle(dev, obj);
        return Cite(Inv.DumbCreate, new Outcome(Errno.OK, h, size) { Handle = (int)h });
    }

    public Outcome PrimeHandleToFd(int drmFd, uint handle, uint flags)
    {
        if (!TryDrm(drmFd, out var dev, out var fail)) return fail;
        if ((flags & ~(DRM_CLOEXEC | DRM_RDWR)) != 0) return Cite(Inv.PrimeFlags, Errno.EINVAL);
        if (_fdTableFull) return PrimeNoFd(dev, handle, flags);
        if (dev.Handles[handle] is not { } obj) return Cite(Inv.H2fNoHandle, Errno.ENOENT);
        DmaBuf d;
        if (obj.DmaBuf is { } cached)
        {
            d = cached;
            if (d.Fds == 0 && obj.Import == null) Cite(Inv.H2fCached);
            if (obj.Import != null) Cite(Inv.PrimeForeign);
            Cite(Inv.H2fSame);
        }
        else
        {
            d = Export(dev, obj, handle, flags);
            Cite(Inv.PrimeExport);
        }
        dev.Prime.Set(d, handle);
        return Outcome.Created(Install(d, (flags & DRM_CLOEXEC) != 0));
    }

    /// <summary>The object's export, made and cached in it (with the object's reference to it) as drm_gem_prime_handle_to_dmabuf
    /// does; the handle it was exported through is the caller's to record.</summary>
    private DmaBuf Export(DevFile dev, GemObject obj, uint handle, uint flags)
    {
        var d = NewDmaBuf(Exporter.Drm, [new Seg(obj.Mem!, 0, obj.Size)], obj.Size,
            (flags & DRM_RDWR) != 0 || Broken(ModelBug.PrimeIgnoresRdwr) ? O_RDWR : O_RDONLY);
        d.Resv = obj.Resv;
        d.Gem = obj;
        obj.DmaBuf = d;
        Get(d);   // the object's reference to its export
        return d;
    }

    /// <summary>
    /// PRIME_HANDLE_TO_FD with the fd table full (DMABUF-FAIL-2). 6.12's drm_gem_prime_handle_to_fd reserves the fd before it
    /// looks the handle up: EMFILE at once. Older kernels' (6.1's) looked the handle up, exported the object and cached the export
    /// in it, and reserved the fd last: a missing handle is ENOENT, and an object not exported before keeps its new export, which
    /// goes with the handle ('Closing the handle will clean out the cache anyway, so we don't leak'), so bufinfo counts one more
    /// (R0 = 1). Neither order is documented; both leave nothing the handle does not own, so both are allowed.
    /// </summary>
    private Outcome PrimeNoFd(DevFile dev, uint handle, uint flags)
    {
        Cite(Inv.FdLimitLeavesNothing);
        var fdFirst = new Outcome(Errno.EMFILE);
        var obj = dev.Handles[handle];
        var exportFirst = obj == null ? new Outcome(Errno.ENOENT) : new Outcome(Errno.EMFILE, obj.DmaBuf == null ? 1 : 0);
        if (exportFirst == fdFirst || Choose("EMFILE at once (the fd reserved first, 6.12), or the handle looked up and the object exported and cached in it first (6.1)", fdFirst, exportFirst) == 0)
            return fdFirst;
        if (obj is { DmaBuf: null }) dev.Prime.Set(Export(dev, obj, handle, flags), handle);
        return exportFirst;
    }

    public Outcome PrimeFdToHandle(int drmFd, int fd, uint flags)
    {
        if (!TryDrm(drmFd, out var dev, out var fail)) return fail;
        if (!TryFile(fd, out var f)) return Cite(Inv.F2hErrors, Errno.EBADF);
        if (f is not DmaBuf d) return Cite(Inv.F2hErrors, Errno.EINVAL);
        if (flags != 0) Cite(Inv.F2hErrors);
        if (dev.Prime.TryGetValue(d, out var known) && !Broken(ModelBug.PrimeImportNoDedupe))
            return Cite(Inv.F2hDedupe, new Outcome(Errno.OK, known) { Handle = (int)known });
        GemObject obj;
        if (d.Gem != null) obj = d.Gem;   // a dma-buf this device exported: the object itself comes back
        else
        {
            obj = new GemObject(d.Size, null, d);
            Get(d);   // the import's attachment
            Cite(Inv.PrimeForeign);
        }
        if (obj.DmaBuf == null) { obj.DmaBuf = d; Get(d); }
        uint h = NewHandle(dev, obj);
        dev.Prime.Set(d, h);
        if (d.Gem != null) Cite(Inv.F2hDedupe);
        return Cite(Inv.F2hPerFile, new Outcome(Errno.OK, h) { Handle = (int)h });
    }

    public Outcome GemClose(int drmFd, uint handle)
    {
        if (!TryDrm(drmFd, out var dev, out var fail)) return fail;
        if (dev.Handles[handle] == null) return Cite(Inv.GemCloseUnknown, Errno.EINVAL);
        ReleaseHandle(dev, handle);
        return Cite(Inv.GemCloseKeeps, Outcome.Success());
    }

    public Outcome DrmMapDumb(int drmFd, uint handle, int prot)
    {
        if (!TryDrm(drmFd, out var dev, out var fail)) return fail;
        if (dev.Handles[handle] is not { } obj) return Cite(Inv.MapDumb, Errno.ENOENT);
        if (obj.Import != null) return Cite(Inv.MapDumbImported, Errno.EINVAL);
        if (dev.AccMode != O_RDWR) return Outcome.NotRun;   // the harness opens DRM nodes O_RDWR
        var m = new Mapping(_nextMap++, MapKind.Drm, [new Seg(obj.Mem!, 0, obj.Size)], 0, obj.Size, prot, dev) { Pfnmap = true };
        Get(dev);   // the mapping holds the DRM file (and so its fences) alive
        return Cite(Inv.MapDumb, Outcome.Created(AddMap(m)));
    }

    public Outcome SameInode(int fdA, int fdB)
    {
        if (!TryFile(fdA, out var a) || !TryFile(fdB, out var b) || a is not DmaBuf da || b is not DmaBuf db) return Outcome.NotRun;
        if (da.Gem != null && da.Gem == db.Gem) Cite(Inv.H2fSame);
        if (da == db && da.Gem == null && da.Exporter != Exporter.Drm) Cite(Inv.PrimeForeign);
        return Outcome.Success(da == db ? 1 : 0);
    }

    public Outcome DrmDumbExport(int drmFd, uint width, uint height, uint bpp, uint primeFlags)
    {
        if (!TryDrm(drmFd, out var dev, out var fail)) return fail;
        if (width == 0 || height == 0 || bpp == 0) return Outcome.NotRun;
        if ((primeFlags & ~(DRM_CLOEXEC | DRM_RDWR)) != 0) return Cite(Inv.PrimeFlags, Errno.EINVAL);
        var created = DrmCreateDumb(drmFd, width, height, bpp);
        uint h = (uint)created.R0;
        var exported = PrimeHandleToFd(drmFd, h, primeFlags);
        ReleaseHandle(dev, h);
        _cited = CitedIds.None;
        Cite(Inv.PrimeExport);
        return exported with { R0 = created.R1 };
    }
}
