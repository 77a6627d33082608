using Conformance.Adapters.Interop;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Kernel;

/// <summary>
/// Create ioctls whose argument lies in a read-only page (<see cref="Op"/>'s ReadOnlyArg, DMABUF-FAIL-1): the argument is
/// copied into a fresh anonymous page that is then made read-only, so the kernel's copy_from_user succeeds and its copy of
/// the new fd back faults; the dma-buf and sync_file fds the failed call left in this process (read from /proc/self/fd) are
/// counted and closed. A dma-buf left without an fd shows in the sequence's end-of-sequence bufinfo check.
/// </summary>
public sealed unsafe partial class KernelTarget
{
    /// <summary>Set on the calling thread by <see cref="BeginReadOnlyArg"/>: the next ioctl made through <see cref="ArgIoctl"/>
    /// (one only) passes its argument in a read-only page.</summary>
    [ThreadStatic] private static bool t_readOnlyArg;
    private HashSet<int> _sharedFdsBefore = [];

    public void BeginReadOnlyArg(bool copiedBackOnFailure)
    {
        _sharedFdsBefore = SharedFds();
        t_readOnlyArg = true;
    }

    public Outcome EndReadOnlyArg(in Outcome call)
    {
        t_readOnlyArg = false;
        if (call.Ok) return call;
        var left = SharedFds();
        left.ExceptWith(_sharedFdsBefore);
        // the caller never learned these numbers: close them, so the sequence's hygiene check and the next steps start clean
        foreach (int fd in left) Sys.Close(fd);
        return call with { R0 = left.Count };
    }

    /// <summary>This process's fds that name a dma-buf ("/dmabuf:NAME", or "anon_inode:dmabuf" on kernels that name it so) or a
    /// sync_file ("anon_inode:sync_file"): the files a create ioctl of the buffer-sharing code makes.</summary>
    private static HashSet<int> SharedFds() =>
        Discovery.FdLinks().Where(l => l.Target.StartsWith("/dmabuf:", StringComparison.Ordinal) || l.Target is "anon_inode:dmabuf" or "anon_inode:sync_file")
            .Select(l => l.Fd).ToHashSet();

    /// <summary>
    /// ioctl(2) as <see cref="Sys.Ioctl"/> makes it, or, for the first one after <see cref="BeginReadOnlyArg"/> on this
    /// thread, with the argument's bytes (the request code's size field) copied into a fresh page made read-only first.
    /// The result, or -errno.
    /// </summary>
    private static long ArgIoctl(int fd, nuint request, void* arg)
    {
        if (!t_readOnlyArg) return Sys.Ioctl(fd, request, arg);
        t_readOnlyArg = false;   // the op's one create ioctl: what follows a success (a FILE_INFO query) is as usual
        int size = Ioc.Size(request);
        long page = Sys.Mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page < 0) return page;
        try
        {
            new ReadOnlySpan<byte>(arg, size).CopyTo(new Span<byte>((void*)page, size));
            long r = Sys.Mprotect(page, PAGE_SIZE, PROT_READ);
            return r < 0 ? r : Sys.Ioctl(fd, request, (void*)page);
        }
        finally { Sys.Munmap(page, PAGE_SIZE); }
    }
}
