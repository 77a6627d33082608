namespace Conformance.Adapters.Model;

/// <summary>
/// Create ioctls made to fail on purpose. One whose argument lies in a read-only page (<see cref="IBufferTarget.BeginReadOnlyArg"/>): the kernel reads
/// the argument, does the work, and its copy of the new fd back to the caller faults. What it must leave behind is nothing
/// (DMABUF-FAIL-1): the order of drivers/dma-buf/dma-heap.c dma_heap_ioctl since 6.12.112, of dma_buf_export_sync_file
/// and of sync_file_ioctl_merge (copy_to_user, then fd_install; put_unused_fd and a put of the new file otherwise). One made
/// with the process's fd table full (<see cref="IBufferTarget.WithFdTableFull"/>) cannot reserve its fd: it fails with
/// EMFILE and leaves nothing either (DMABUF-FAIL-2), the order of drivers/dma-buf/udmabuf.c udmabuf_create (dma_buf_put when
/// dma_buf_fd fails), dma_heap_buffer_alloc and vb2_core_expbuf.
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
            if (_hasActual && Relaxed.Contains(Inv.FailLeavesNothing)) return AlsoTheirs(seen, Inv.FailLeavesNothing);
            return seen;
        }
        if (Uninstall(call.Handle) is { } made) Put(made);
        // the deciding rule when the kernel's answer is the fault (or a success the fault should have prevented); another
        // errno is the call's own rules' business
        if (!_hasActual || _actual.Ok || _actual.Errno == Errno.EFAULT) _decidedBy = Inv.FailLeavesNothing;
        if (_hasActual && Relaxed.Contains(Inv.FailLeavesNothing) && _actual.Errno == Errno.EFAULT) return AlsoTheirs(new Outcome(Errno.EFAULT), Inv.FailLeavesNothing);
        // the bug (as a target): the fd was installed before the copy-out, as DMA_HEAP_IOCTL_ALLOC did before 6.12.112; the
        // model still releases it (the kernel adapter closes such an fd too), so only the count tells
        if (!_hasActual && Broken(ModelBug2.CopyOutLeavesFd)) return new Outcome(Errno.EFAULT, 1);
        return new Outcome(Errno.EFAULT);
    }

    private bool _fdTableFull;

    public Outcome WithFdTableFull(Func<Outcome> call)
    {
        _fdTableFull = true;
        Outcome made;
        try { made = call(); }
        catch { _fdTableFull = false; throw; }
        return EndFdTableFull(made);
    }

    /// <summary>For a call that reserves its fd before its other checks (drm_gem_prime_handle_to_fd after the ioctl's flags
    /// check, sync_file_ioctl_merge first of all): EMFILE in <paramref name="refused"/> while the fd table is full.</summary>
    private bool NoFdFree(out Outcome refused)
    {
        refused = _fdTableFull ? Cite(Inv.FdLimitLeavesNothing, Errno.EMFILE) : default;
        return _fdTableFull;
    }

    /// <summary>
    /// The call's own outcome, <paramref name="call"/>, becomes what the caller sees: a failure stays what it was (the call's
    /// earlier check, or EMFILE where it reserves its fd first: <see cref="NoFdFree"/>); a success (the model's calls reserve
    /// the fd last, as udmabuf, the heaps, vb2 and EXPORT_SYNC_FILE do) is undone as dma_buf_put undoes it and answered
    /// EMFILE, its citations dropped (the kernel stopped before the rules they name). R0, the live dma-bufs the call left, is
    /// 0, or -1 where the target cannot count them.
    /// </summary>
    private Outcome EndFdTableFull(in Outcome call)
    {
        _fdTableFull = false;
        long counted = _hasActual && _actual.R0 < 0 ? -1 : 0;
        Outcome seen;
        if (!call.Ok)
        {
            // the call's own rules decided its errno; a dma-buf it left behind is this rule's
            if (_hasActual && _actual.Errno == call.Errno && _actual.R0 > 0) _decidedBy = Inv.FdLimitLeavesNothing;
            // R0 as the call gave it where it counted what it left (a PRIME export cached in its object), else the count
            seen = new Outcome(call.Errno, call.Errno == Errno.NotRun ? 0 : counted < 0 ? -1 : call.R0);
        }
        else
        {
            var made = Uninstall(call.Handle);
            _cited = CitedIds.None;
            _decidedBy = Inv.FdLimitLeavesNothing;
            // the bug (as a target): the dma-buf exported before the fd failed is never put, as udmabuf_create did before
            // 6.12.7 (CVE-2024-56712): it stays alive with no fd, which bufinfo shows
            if (!_hasActual && Broken(ModelBug2.FdLimitLeaksDmaBuf) && made is DmaBuf) return new Outcome(Errno.EMFILE, 1);
            if (made != null) Put(made);
            seen = Cite(Inv.FdLimitLeavesNothing, new Outcome(Errno.EMFILE, counted));
        }
        if (_hasActual && Relaxed.Contains(Inv.FdLimitLeavesNothing) && _actual.Errno == seen.Errno) return AlsoTheirs(seen, Inv.FdLimitLeavesNothing);
        return seen;
    }

    /// <summary>Where <paramref name="rule"/> already failed on this target (relaxed), what it leaves behind is allowed besides the
    /// documented count: both outcomes are offered, so a reproducer of a later rule accepts a kernel that leaves nothing.</summary>
    private Outcome AlsoTheirs(Outcome documented, string rule)
    {
        if (_actual.R0 == documented.R0) return documented;
        var theirs = documented with { R0 = _actual.R0 };
        return Choose($"as documented, or what this target leaves behind ({rule} already failed on it)", documented, theirs) == 0 ? documented : theirs;
    }
}
