namespace Conformance.Adapters.Model;

/// <summary>
/// A create ioctl whose argument lies in a read-only page (<see cref="IBufferTarget.BeginReadOnlyArg"/>): the kernel reads
/// the argument, does the work, and its copy of the new fd back to the caller faults. What it must leave behind is nothing
/// (DMABUF-FAIL-1): the order of drivers/dma-buf/dma-heap.c dma_heap_ioctl since 6.12.112, of dma_buf_export_sync_file
/// and of sync_file_ioctl_merge (copy_to_user, then fd_install; put_unused_fd and a put of the new file otherwise).
/// </summary>
public sealed partial class ReferenceModel
{
    private bool _copiedBackOnFailure;

    public void BeginReadOnlyArg(bool copiedBackOnFailure) => _copiedBackOnFailure = copiedBackOnFailure;

    /// <summary>
    /// The call's own outcome, <paramref name="call"/>, becomes what the caller sees: a success (the fd made, in the model's
    /// table) is undone as the kernel undoes it (the fd number given back, the new file's reference dropped, so a dma-buf
    /// only it held is released) and answered EFAULT; a failure stays what it was. R0 (the fds it left open) is 0.
    /// </summary>
    public Outcome EndReadOnlyArg(in Outcome call)
    {
        if (!call.Ok)
        {
            // where the core copies the argument back whatever the call returned (drm_ioctl; video_usercopy, dma_heap_ioctl
            // and the sync_file ioctls copy only after a success), that copy faults too and EFAULT is what the caller sees
            var seen = _copiedBackOnFailure && call.Errno != Errno.NotRun ? new Outcome(Errno.EFAULT) : new Outcome(call.Errno);
            if (seen.Errno != call.Errno) _decidedBy = Inv.FailLeavesNothing;
            // the call's own rules decided its errno; what it left behind is this rule's
            if (_hasActual && _actual.Errno == seen.Errno && _actual.R0 != 0) _decidedBy = Inv.FailLeavesNothing;
            if (_hasActual && Relaxed.Contains(Inv.FailLeavesNothing)) return seen with { R0 = _actual.R0 };
            return seen;
        }
        if (_fds.Remove(call.Handle, out var e))
        {
            _fdProcess.Remove(call.Handle);
            e.File.Fds--;
            Put(e.File);
        }
        // the deciding rule when the kernel's answer is the fault (or a success the fault should have prevented); another
        // errno is the call's own rules' business
        if (!_hasActual || _actual.Ok || _actual.Errno == Errno.EFAULT) _decidedBy = Inv.FailLeavesNothing;
        if (_hasActual && Relaxed.Contains(Inv.FailLeavesNothing) && _actual.Errno == Errno.EFAULT) return new Outcome(Errno.EFAULT, _actual.R0);
        // the bug (as a target): the fd was installed before the copy-out, as DMA_HEAP_IOCTL_ALLOC did before 6.12.112; the
        // model still releases it (the kernel adapter closes such an fd too), so only the count tells
        if (!_hasActual && Broken(ModelBug2.CopyOutLeavesFd)) return new Outcome(Errno.EFAULT, 1);
        return new Outcome(Errno.EFAULT);
    }
}
