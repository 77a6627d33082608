using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>What a fence's generated name starts with (the only part of a name that does not vary per boot).</summary>
internal enum FenceKind { Stub = 0, Vgem = 1, Array = 2, Named = 3 }

/// <summary>A dma_fence. Every vgem fence has a context of its own (seqno 1); the global stub is context 0.</summary>
internal sealed class Fence(int ctx, FenceKind kind)
{
    public readonly int Ctx = ctx;
    public readonly FenceKind Kind = kind;
    public bool Signalled;
    public bool Expired;            // signalled by vgem's own 10 s timer
    public bool ByClose;            // signalled because its DRM file was released

    public static readonly Fence Stub = new(0, FenceKind.Stub) { Signalled = true };
}

/// <summary>enum dma_resv_usage: a lower value is the stronger usage.</summary>
internal enum Usage { Kernel = 0, Write = 1, Read = 2 }

/// <summary>Where an entry came from, so an observation can cite the rule that put it there.</summary>
internal enum Origin { Vgem, ImportRead, ImportWrite }

internal readonly record struct ResvEntry(Fence Fence, Usage Usage, Origin Origin, bool KeptThroughImport)
{
    /// <summary>Whether a reader of usage <paramref name="upTo"/> waits for this entry: its fence is unsignalled and its usage
    /// is one the reader sees (dma_resv_usage_rw: a READ access waits for Write, a WRITE access for Read).</summary>
    public bool PendsFor(Usage upTo) => !Fence.Signalled && Usage <= upTo;
}

/// <summary>
/// struct dma_resv's fence list as 6.12 keeps it: entries (signalled ones included) in slot order, and
/// the slot count kmalloc rounded it to. Replacement and compaction follow dma_resv_add_fence and
/// dma_resv_reserve_fences exactly, because both decide whether a fence appears twice in an export.
/// </summary>
internal sealed class Resv
{
    public readonly List<ResvEntry> Entries = new();
    public int Max;   // max_fences; 0 while no list is allocated

    public void Reserve(int n)
    {
        int max;
        if (Max > 0)
        {
            if (Entries.Count + n <= Max) return;
            max = Math.Max(Entries.Count + n, Max * 2);
        }
        else max = Math.Max(4, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n));
        // struct dma_resv_list: rcu_head + two u32 (24 bytes), then 8-byte slots; the size rounds up to a kmalloc bucket
        Max = (KmallocRoundup(24 + 8 * max) - 24) / 8;
        Entries.RemoveAll(e => e.Fence.Signalled);
    }

    public void Add(Fence f, Usage u, Origin origin)
    {
        for (int i = 0; i < Entries.Count; i++)
        {
            var e = Entries[i];
            // every fence here has seqno 1 or is the stub, so "same context" means "same or later"
            if ((e.Fence.Ctx == f.Ctx && e.Usage >= u) || e.Fence.Signalled) { Entries[i] = new(f, u, origin, false); return; }
        }
        Entries.Add(new(f, u, origin, false));
    }

    /// <summary>The fences of the entries a reader of this usage waits for (<see cref="ResvEntry.PendsFor"/>), in slot order: a
    /// new array, empty where none is pending (counted, then filled, in two loops: a SYNC_FILE export asks, and LINQ's filter,
    /// list and projection were four allocations each time).</summary>
    public Fence[] Pending(Usage upTo)
    {
        int n = 0;
        foreach (var e in Entries) if (e.PendsFor(upTo)) n++;
        if (n == 0) return [];
        var fences = new Fence[n];
        n = 0;
        foreach (var e in Entries) if (e.PendsFor(upTo)) fences[n++] = e.Fence;
        return fences;
    }

    /// <summary>Whether some entry is <see cref="Pending"/> to a reader of this usage (a loop, no enumerator: every SYNC START
    /// and every poll of a dma-buf asks).</summary>
    public bool HasPending(Usage upTo)
    {
        foreach (var e in Entries) if (e.PendsFor(upTo)) return true;
        return false;
    }

    private static int KmallocRoundup(int size)
    {
        foreach (int b in (ReadOnlySpan<int>)[8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192])
            if (size <= b) return b;
        return (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)size);
    }
}

/// <summary>A sync_file: a fixed set of fences (its fence unwrapped, duplicates kept) and what its name shows.</summary>
internal sealed class SyncFile(Fence[] fences, FenceKind nameKind, bool exported) : OFile
{
    public readonly Fence[] Fences = fences;
    public readonly FenceKind NameKind = nameKind;
    public readonly bool Exported = exported;
    public bool Signalled => Fences.All(f => f.Signalled);
}

public sealed partial class ReferenceModel
{
    private int _nextCtx = 1;
    private readonly List<Fence> _vgemFences = new();

    private Outcome SyncFileCreated(SyncFile sf)
    {
        sf.AccMode = O_RDONLY;
        int fd = Install(sf, true);
        return new Outcome(Errno.OK, sf.Signalled ? 1 : 0, sf.Fences.Length, (long)sf.NameKind) { Handle = fd };
    }

    private static SyncFile Snapshot(Fence[] pending, FenceKind? named, bool exported) => pending.Length switch
    {
        0 => new SyncFile([Fence.Stub], named ?? FenceKind.Stub, exported),
        1 => new SyncFile(pending, named ?? pending[0].Kind, exported),
        _ => new SyncFile(pending, named ?? FenceKind.Array, exported),
    };

    /// <summary>Cites the rules that put the entries <see cref="Resv.Pending"/> to a reader of <paramref name="upTo"/> on the
    /// buffer (import usage, entries an import kept, fences a DRM close signalled), walked in a loop: a SYNC_FILE export,
    /// every poll of a dma-buf and a refused vgem attach ask, and an enumerator with its closure was an allocation each.</summary>
    private void CiteHistory(Resv r, Usage upTo)
    {
        bool read = false, write = false, kept = false, byClose = false;
        foreach (var e in r.Entries)
        {
            byClose |= e.Fence.ByClose;
            if (e.PendsFor(upTo))
            {
                read |= e.Origin == Origin.ImportRead; write |= e.Origin == Origin.ImportWrite; kept |= e.KeptThroughImport;
            }
        }
        if (byClose) Cite(Inv.VgemClose);
        if (read) Cite(Inv.IsfRead);
        if (write) Cite(Inv.IsfWrite);
        if (kept) Cite(Inv.IsfNoDrop);
    }

    private static bool SyncFlagsOk(uint flags) => (flags & ~(uint)DMA_BUF_SYNC_RW) == 0 && (flags & DMA_BUF_SYNC_RW) != 0;

    public Outcome ExportSyncFile(int fd, uint flags)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not DmaBuf d) return f is SyncFile ? Cite(Inv.SyncFileIoctl, Errno.ENOTTY) : Outcome.Fail(Errno.NotRun);
        if (!SyncFlagsOk(flags)) return Cite(Inv.EsfFlags, Errno.EINVAL);
        bool write = (flags & DMA_BUF_SYNC_WRITE) != 0;
        var pending = Broken(ModelBug.ReadExportIgnoresWrite) && !write ? [] : d.Resv.Pending(write ? Usage.Read : Usage.Write);
        if (d.AccMode == O_RDONLY) Cite(Inv.FenceAcc);
        Cite(Inv.EsfFd);
        var sf = Snapshot(pending, null, exported: true);
        if (pending.Length == 0) Cite(Inv.EsfIdle);
        else { Cite(Inv.EsfShape); Cite(Inv.EsfUsage); }
        CiteHistory(d.Resv, Usage.Read);
        return SyncFileCreated(sf);
    }

    public Outcome ImportSyncFile(int fd, int syncFd, uint flags)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not DmaBuf d) return f is SyncFile ? Cite(Inv.SyncFileIoctl, Errno.ENOTTY) : Outcome.Fail(Errno.NotRun);
        if (!SyncFlagsOk(flags)) return Cite(Inv.IsfFlags, Errno.EINVAL);
        if (!TryFile(syncFd, out var s) || s is not SyncFile sf) return Cite(Inv.IsfNotSync, Errno.EINVAL);
        if (d.AccMode == O_RDONLY) Cite(Inv.FenceAcc);
        bool write = (flags & DMA_BUF_SYNC_WRITE) != 0;
        var r = d.Resv;
        if (Broken(ModelBug.ImportDropsFence)) r.Entries.Clear();
        for (int i = 0; i < r.Entries.Count; i++)
            if (!r.Entries[i].Fence.Signalled) r.Entries[i] = r.Entries[i] with { KeptThroughImport = true };
        r.Reserve(sf.Fences.Length);
        foreach (var c in sf.Fences) r.Add(c, write ? Usage.Write : Usage.Read, write ? Origin.ImportWrite : Origin.ImportRead);
        if (sf.Fences.Length > 1) Cite(Inv.IsfUnwrap);
        Cite(Inv.IsfNoDrop);
        return Cite(write ? Inv.IsfWrite : Inv.IsfRead, Outcome.Success());
    }

    public Outcome SyncMerge(int fd, int fd2, bool named, uint flags)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not SyncFile a) return f is DmaBuf ? Cite(Inv.SyncFileIoctl, Errno.ENOTTY) : Outcome.Fail(Errno.NotRun);
        if (NoFdFree(out var full)) return full;   // sync_file_ioctl_merge reserves the fd before it reads its argument
        if (flags != 0) return Cite(Inv.MergeErrors, Errno.EINVAL);
        if (!TryFile(fd2, out var g) || g is not SyncFile b) return Cite(Inv.MergeErrors, Errno.ENOENT);
        // signalled components are dropped; one fence per context is kept (__dma_fence_unwrap_merge)
        var kept = Unsignalled(a.Fences, b.Fences);
        SyncFile sf = kept.Length == 0
            ? new SyncFile([new Fence(_nextCtx++, FenceKind.Stub) { Signalled = true }], named ? FenceKind.Named : FenceKind.Stub, false)
            : Snapshot(kept, named ? FenceKind.Named : null, exported: false);
        Cite(Inv.MergeName);
        Cite(Inv.MergeFences);
        return SyncFileCreated(sf);
    }

    /// <summary>The unsignalled fences of <paramref name="a"/> then <paramref name="b"/>, the first of each context only, in
    /// that order (what a merge keeps: a new array; a loop over the few fences a sync_file holds, where LINQ's concatenation,
    /// filter, set of contexts and array were an allocation each).</summary>
    private static Fence[] Unsignalled(Fence[] a, Fence[] b)
    {
        var kept = new Fence[a.Length + b.Length];
        int n = 0;
        foreach (var x in a) Keep(x);
        foreach (var x in b) Keep(x);
        return n == kept.Length ? kept : kept[..n];

        void Keep(Fence x)
        {
            if (x.Signalled) return;
            for (int i = 0; i < n; i++) if (kept[i].Ctx == x.Ctx) return;
            kept[n++] = x;
        }
    }

    public Outcome SyncFileInfo(int fd, uint numFences, uint flags, uint pad)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not SyncFile sf) return f is DmaBuf ? Cite(Inv.SyncFileIoctl, Errno.ENOTTY) : Outcome.Fail(Errno.NotRun);
        if (flags != 0 || pad != 0) return Cite(Inv.InfoFlags, Errno.EINVAL);
        int n = sf.Fences.Length, status = sf.Signalled ? 1 : 0;
        CiteSnapshot(sf);
        if (numFences == 0) { Cite(Inv.InfoStatus); return Cite(Inv.InfoQuery, Outcome.Success(status, n, (long)sf.NameKind)); }
        if (numFences < n) return Cite(Inv.InfoCount, Errno.EINVAL);
        Cite(Inv.InfoCount);
        return Cite(Inv.InfoStatus, Outcome.Success(status, n, sf.Fences.Count(x => x.Signalled)));
    }

    private void CiteSnapshot(SyncFile sf)
    {
        if (sf.Fences.Any(x => x.ByClose)) Cite(Inv.VgemClose);
        if (sf.Exported) Cite(Inv.EsfSnapshot);
    }

    public Outcome Poll(int fd, short events)
    {
        if (!TryFile(fd, out var f)) return Outcome.NotRun;   // poll reports POLLNVAL, not an errno: the harness polls open fds only
        switch (f)
        {
            case DmaBuf d:
                {
                    bool readable = !d.HasPending(Usage.Write), writable = !d.HasPending(Usage.Read);
                    long rev = (readable ? POLLIN : 0) | (writable ? POLLOUT : 0);
                    // (a buffer that never met a fence has no history to cite, and no reservation object is made to find so)
                    if (d.ResvIfMade is { } resv) CiteHistory(resv, Usage.Read);
                    return Cite(Inv.BufPoll, Outcome.Success(rev & events));
                }
            case RequestFile r:
                return RequestPollEvents(r);
            case VideoFile v:
                return VideoPollEvents(v, events);
            case SyncFile sf:
                CiteSnapshot(sf);
                return Cite(Inv.SyncFilePoll, Outcome.Success(sf.Signalled ? POLLIN & events : 0));
            default:
                return Outcome.NotRun;
        }
    }

    /// <summary>True when a DMA_BUF_IOCTL_SYNC START of this direction would sleep on the buffer's fences.</summary>
    private bool SyncStartWouldBlock(DmaBuf d, ulong flags) =>
        (flags & DMA_BUF_SYNC_END) == 0 && d.HasPending((flags & DMA_BUF_SYNC_WRITE) != 0 ? Usage.Read : Usage.Write);

    // ---------------------------------------------------------------- vgem fences

    public Outcome VgemFenceAttach(int drmFd, uint handle, uint flags, uint pad)
    {
        if (!TryFile(drmFd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not DevFile { Kind: DevKind.Drm } dev || !dev.Drm!.VgemFences) return Outcome.Fail(Errno.NotRun);
        if ((flags & ~VGEM_FENCE_WRITE) != 0 || pad != 0) return Cite(Inv.VgemAttachArgs, Errno.EINVAL);
        if (DrmState(dev).Handles[handle] is not { } obj) return Cite(Inv.VgemAttachArgs, Errno.ENOENT);
        bool write = (flags & VGEM_FENCE_WRITE) != 0;
        var conflicting = write ? Usage.Read : Usage.Write;
        if (obj.Resv.HasPending(conflicting))
        {
            // what put the conflicting fence there is the more specific rule: cite it last
            Cite(Inv.VgemBusy);
            CiteHistory(obj.Resv, conflicting);
            return Outcome.Fail(Errno.EBUSY);
        }
        var fence = new Fence(_nextCtx++, FenceKind.Vgem);
        _vgemFences.Add(fence);
        obj.Resv.Reserve(1);
        obj.Resv.Add(fence, write ? Usage.Write : Usage.Read, Origin.Vgem);
        dev.FenceIds!.Add(fence);
        int id = dev.FenceIds.Count;
        Cite(Inv.VgemIds);
        if (obj.Import != null) Cite(Inv.PrimeForeign);
        return Cite(Inv.VgemAttach, new Outcome(Errno.OK, id) { Handle = id });
    }

    public Outcome VgemFenceSignal(int drmFd, uint fenceId, uint flags)
    {
        if (!TryFile(drmFd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not DevFile { Kind: DevKind.Drm } dev || !dev.Drm!.VgemFences) return Outcome.Fail(Errno.NotRun);
        if (flags != 0) return Cite(Inv.VgemSignal, Errno.EINVAL);
        var ids = DrmState(dev).FenceIds!;
        if (fenceId == 0 || fenceId > ids.Count || ids[(int)fenceId - 1] is not { } fence) { Cite(Inv.VgemIds); return Cite(Inv.VgemSignal, Errno.ENOENT); }
        ids[(int)fenceId - 1] = null;
        if (fence.Expired) return Cite(Inv.VgemTimeout, Errno.ETIMEDOUT);
        fence.Signalled = true;
        return Cite(Inv.VgemSignal, Outcome.Success());
    }

    public Outcome VgemFenceExpire()
    {
        foreach (var fence in _vgemFences)
            if (!fence.Signalled) fence.Signalled = fence.Expired = true;
        return Outcome.Success();
    }

    /// <summary>vgem_postclose: the file's fences are signalled when it is released.</summary>
    private static void SignalFileFences(DevFile dev)
    {
        if (dev.FenceIds == null) return;
        foreach (var fence in dev.FenceIds)
            if (fence is { Signalled: false }) fence.Signalled = fence.ByClose = true;
    }
}
