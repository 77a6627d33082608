using Conformance.Adapters;
using static Conformance.Adapters.Uapi;

namespace Conformance.Generators;

// ------------------------------------------------------------------ DRM GEM handles and PRIME

/// <summary>A GEM handle is bound like any handle: the symbolic var stands for the handle number in its DRM file.</summary>
public sealed record DrmCreateDumb(
    Var Drm,
    [DrawnFrom(nameof(Domains.DumbWidth)), DrawnFrom(nameof(Domains.DumbFrameWidth))] uint Width,
    [DrawnFrom(nameof(Domains.DumbHeight))] uint Height,
    [DrawnFrom(nameof(Domains.DumbBpp))] uint Bpp) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "prime";
    public override bool Creates => true;
    public override Resource Makes => Resource.GemHandle;
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Drm, out var fd) ? t.DrmCreateDumb(fd, Width, Height, Bpp) : NotRun;
    public override string Text => $"v{Id} = ioctl({Drm}, DRM_IOCTL_MODE_CREATE_DUMB, {{.width = {Width}, .height = {Height}, .bpp = {Bpp}}}).handle";
    public override string Observed(in Outcome o) => o.Ok ? $"handle {o.R0}, size {o.R1}" : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Width != 64 || Height != 64 || Bpp != 32) yield return this with { Width = 64, Height = 64, Bpp = 32 }; }
}

public sealed record PrimeHandleToFd(Var Drm, Var Handle, [DrawnFrom(nameof(Domains.PrimeFlags))] uint Flags) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "prime";
    public override bool Creates => true;
    public override bool CopiesOutFd => true;
    public override bool CopiedBackOnFailure => true;
    protected override Outcome Call(IBufferTarget t, Env env) =>
        env.Resolve(Drm, out var fd) && env.Resolve(Handle, out var h) ? t.PrimeHandleToFd(fd, (uint)h, Flags) : NotRun;
    public override string Text => $"v{Id} = ioctl({Drm}, DRM_IOCTL_PRIME_HANDLE_TO_FD, {{.handle = {Handle}, .flags = {PrimeFlagNames(Flags)}}}).fd";
    public override IEnumerable<Op> Simplify() { if (Flags != (DRM_CLOEXEC | DRM_RDWR) && (Flags & ~(DRM_CLOEXEC | DRM_RDWR)) == 0) yield return this with { Flags = DRM_CLOEXEC | DRM_RDWR }; }
}

public sealed record PrimeFdToHandle(Var Drm, Var Fd, [DrawnFrom(nameof(Domains.PrimeImportFlags))] uint Flags) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "prime";
    public override bool Creates => true;
    public override Resource Makes => Resource.GemHandle;
    protected override Outcome Call(IBufferTarget t, Env env) =>
        env.Resolve(Drm, out var d) && env.Resolve(Fd, out var fd) ? t.PrimeFdToHandle(d, fd, Flags) : NotRun;
    public override string Text => $"v{Id} = ioctl({Drm}, DRM_IOCTL_PRIME_FD_TO_HANDLE, {{.fd = {Fd}, .flags = 0x{Flags:x}}}).handle";
    public override string Observed(in Outcome o) => o.Ok ? $"handle {o.R0}" : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Flags != 0) yield return this with { Flags = 0 }; }
}

public sealed record GemClose(Var Drm, Var Handle) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "prime";
    public override Var Consumes => Handle;
    protected override Outcome Call(IBufferTarget t, Env env) =>
        env.Resolve(Drm, out var fd) && env.Resolve(Handle, out var h) ? t.GemClose(fd, (uint)h) : NotRun;
    public override string Text => $"ioctl({Drm}, DRM_IOCTL_GEM_CLOSE, {{.handle = {Handle}}})";
}

public sealed record DrmMapDumb(Var Drm, Var Handle, [DrawnFrom(nameof(Domains.DumbMapProt))] int Prot) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "prime";
    public override bool Creates => true;
    public override Resource Makes => Resource.Mapping;
    protected override Outcome Call(IBufferTarget t, Env env) =>
        env.Resolve(Drm, out var fd) && env.Resolve(Handle, out var h) ? t.DrmMapDumb(fd, (uint)h, Prot) : NotRun;
    public override string Text => $"v{Id} = mmap(NULL, size, {Mmap.ProtNames(Prot)}, MAP_SHARED, {Drm}, ioctl({Drm}, DRM_IOCTL_MODE_MAP_DUMB, {{.handle = {Handle}}}).offset)";
    public override string Observed(in Outcome o) => o.Ok ? "mapped" : base.Observed(o);
}

public sealed record SameInode(Var A, Var B) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "prime";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(A, out var a) && env.Resolve(B, out var b) ? t.SameInode(a, b) : NotRun;
    public override string Text => $"statx({A}).stx_ino == statx({B}).stx_ino";
    public override string Observed(in Outcome o) => o.Ok ? (o.R0 == 1 ? "same dma-buf" : "different dma-bufs") : base.Observed(o);
}

// ------------------------------------------------------------------ vgem fences

public sealed record VgemFenceAttach(
    Var Drm,
    Var Handle,
    [DrawnFrom(nameof(Domains.VgemFenceFlags))] uint Flags,
    [DrawnFrom(nameof(Domains.MustBeZero))] uint Pad) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "fence";
    public override bool Creates => true;
    public override Resource Makes => Resource.FenceId;
    protected override Outcome Call(IBufferTarget t, Env env) =>
        env.Resolve(Drm, out var fd) && env.Resolve(Handle, out var h) ? t.VgemFenceAttach(fd, (uint)h, Flags, Pad) : NotRun;
    public override string Text => $"v{Id} = ioctl({Drm}, DRM_IOCTL_VGEM_FENCE_ATTACH, {{.handle = {Handle}, .flags = {(Flags == VGEM_FENCE_WRITE ? "VGEM_FENCE_WRITE" : $"0x{Flags:x}")}{(Pad != 0 ? $", .pad = {Pad}" : "")}}}).out_fence";
    public override string Observed(in Outcome o) => o.Ok ? $"fence {o.R0}" : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Pad != 0) yield return this with { Pad = 0 }; }
}

public sealed record VgemFenceSignal(Var Drm, Var Fence, [DrawnFrom(nameof(Domains.MustBeZero))] uint Flags) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "fence";
    protected override Outcome Call(IBufferTarget t, Env env) =>
        env.Resolve(Drm, out var fd) && env.Resolve(Fence, out var id) ? t.VgemFenceSignal(fd, (uint)id, Flags) : NotRun;
    public override string Text => $"ioctl({Drm}, DRM_IOCTL_VGEM_FENCE_SIGNAL, {{.fence = {(Fence == Var.BadFd ? "0xffffffff" : Fence.ToString())}, .flags = {Flags}}})";
}

public sealed record VgemFenceExpire : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "fence";
    protected override Outcome Call(IBufferTarget t, Env env) => t.VgemFenceExpire();
    public override string Text => "sleep until every vgem fence attached so far has expired (10 s after its attach)";
}

// ------------------------------------------------------------------ sync_file

public sealed record ExportSyncFile(Var Fd, [DrawnFrom(nameof(Domains.ExportSyncFlags))] uint Flags) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "fence";
    public override bool Creates => true;
    public override bool CopiesOutFd => true;
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.ExportSyncFile(fd, Flags) : NotRun;
    public override string Text => $"v{Id} = ioctl({Fd}, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, {{.flags = {FenceFlags(Flags)}}}).fd";
    public override string Observed(in Outcome o) => o.Ok ? SyncFileText(o) : base.Observed(o);
    /// <summary>dma_buf_export/import_sync_file flags (READ, WRITE, both; anything else in hex).</summary>
    public static string FenceFlags(uint f) => f switch
    {
        (uint)DMA_BUF_SYNC_READ => "DMA_BUF_SYNC_READ", (uint)DMA_BUF_SYNC_WRITE => "DMA_BUF_SYNC_WRITE", (uint)DMA_BUF_SYNC_RW => "DMA_BUF_SYNC_RW", _ => $"0x{f:x}",
    };
    internal static string SyncFileText(in Outcome o) =>
        $"{(o.R0 == 1 ? "signalled" : o.R0 == 0 ? "pending" : $"status {o.R0}")}, num_fences {o.R1}, name {(o.R2 switch { 0 => "stub-*", 1 => "vgem-*", 2 => "dma_fence_array-*", _ => "\"merged\"" })}";
}

public sealed record ImportSyncFile(Var Fd, Var Sync, [DrawnFrom(nameof(Domains.ImportSyncFlags))] uint Flags) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "fence";
    protected override Outcome Call(IBufferTarget t, Env env) =>
        env.Resolve(Fd, out var fd) && env.Resolve(Sync, out var s) ? t.ImportSyncFile(fd, s, Flags) : NotRun;
    public override string Text => $"ioctl({Fd}, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, {{.flags = {ExportSyncFile.FenceFlags(Flags)}, .fd = {Sync}}})";
}

public sealed record SyncMerge(
    Var Fd,
    Var Fd2,
    [DrawnFrom(nameof(Domains.MergeNamed))] bool Named,
    [DrawnFrom(nameof(Domains.MustBeZero))] uint Flags) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "fence";
    public override bool Creates => true;
    public override bool CopiesOutFd => true;
    protected override Outcome Call(IBufferTarget t, Env env) =>
        env.Resolve(Fd, out var a) && env.Resolve(Fd2, out var b) ? t.SyncMerge(a, b, Named, Flags) : NotRun;
    public override string Text => $"v{Id} = ioctl({Fd}, SYNC_IOC_MERGE, {{.name = \"{(Named ? "merged" : "")}\", .fd2 = {Fd2}, .flags = {Flags}}}).fence";
    public override string Observed(in Outcome o) => o.Ok ? ExportSyncFile.SyncFileText(o) : base.Observed(o);
    public override IEnumerable<Op> Simplify() { if (Named) yield return this with { Named = false }; }
}

public sealed record SyncFileInfo(
    Var Fd,
    [DrawnFrom(nameof(Domains.FileInfoNumFences))] uint NumFences,
    [DrawnFrom(nameof(Domains.FileInfoReserved))] uint Flags,
    [DrawnFrom(nameof(Domains.FileInfoReserved))] uint Pad) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "fence";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.SyncFileInfo(fd, NumFences, Flags, Pad) : NotRun;
    public override string Text => $"ioctl({Fd}, SYNC_IOC_FILE_INFO, {{.num_fences = {NumFences}{(Flags != 0 ? $", .flags = {Flags}" : "")}{(Pad != 0 ? $", .pad = {Pad}" : "")}}})";
    public override string Observed(in Outcome o) => !o.Ok ? base.Observed(o)
        : NumFences == 0 ? ExportSyncFile.SyncFileText(o) : $"status {o.R0}, num_fences {o.R1}, {o.R2} entries signalled";
}

public sealed record Poll(Var Fd, [DrawnFrom(nameof(Domains.PollEvents))] short Events) : Op
{
    public override T Accept<T>(IOpVisitor<T> v) => v.Visit(this);
    public override string Area => "fence";
    protected override Outcome Call(IBufferTarget t, Env env) => env.Resolve(Fd, out var fd) ? t.Poll(fd, Events) : NotRun;
    public override string Text => $"poll({{.fd = {Fd}, .events = {Names(Events)}}}, 1, 0)";
    public override string Observed(in Outcome o) => o.Ok ? $"revents {Names((short)o.R0)}" : base.Observed(o);
    private static string Names(short e) => e switch { 0 => "0", POLLIN => "POLLIN", POLLOUT => "POLLOUT", _ => "POLLIN|POLLOUT" };
}
