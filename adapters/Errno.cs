namespace Conformance.Adapters;

/// <summary>Linux errno values (x86-64 / generic), as userspace sees them after a failed call.</summary>
public enum Errno
{
    /// <summary>The op was not run: a handle it names was never created, is already closed, or the
    /// harness refused it (e.g. a write through a read-only mapping). Both sides agree on this by construction.</summary>
    NotRun = -1,
    /// <summary>The call would sleep on a fence (a DMA_BUF_IOCTL_SYNC START the buffer's fences conflict with,
    /// as a zero-timeout poll shows): the harness does not issue it, and reports this instead.</summary>
    WouldBlock = -2,
    OK = 0,
    EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
    EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, EINVAL = 22, ENFILE = 23, EMFILE = 24,
    ENOTTY = 25, ESPIPE = 29, EPIPE = 32, ERANGE = 34, ENOSYS = 38, EBADR = 53, EOVERFLOW = 75, EBADFD = 77,
    EOPNOTSUPP = 95, ENOBUFS = 105, ETIMEDOUT = 110,
}
