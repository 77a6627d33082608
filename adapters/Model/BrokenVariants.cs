namespace Conformance.Adapters.Model;

/// <summary>The deliberate bugs the reference model can carry, one flag each; a broken variant below names the ones it has,
/// and the model's semantics test them with <c>Broken(ModelBug.X)</c> where the bug lives. Used to prove the properties can fail.</summary>
[Flags]
public enum ModelBug : long
{
    None = 0,
    LlseekAcceptsSeekCur = 1 << 0,
    ReqBufs0FreesMapped = 1 << 1,
    ExpBufDropsCloexec = 1 << 2,
    HeapNotZeroed = 1 << 3,
    MmapIgnoresOffset = 1 << 4,
    SyncAcceptsUnknownFlags = 1 << 5,
    NonOwnerReqBufs = 1 << 6,
    NonOwnerExpBuf = 1 << 7,
    CloseLeaksDmaBuf = 1 << 8,
    UdmabufAcceptsWriteSeal = 1 << 9,
    ExpBufCopiesMemory = 1 << 10,
    PrimeIgnoresRdwr = 1 << 11,
    ImportDropsFence = 1 << 12,
    ReadExportIgnoresWrite = 1 << 13,
    PrimeImportNoDedupe = 1 << 14,
    CloseKeepsQueue = 1 << 15,
    HeapRecyclesDirty = 1 << 16,
    SetNameANotTty = 1 << 17,
    SetNameAcceptsFullLength = 1 << 18,
    ExpBufWrongPlane = 1 << 19,
    M2mSharedContext = 1 << 20,
    M2mOutputUnprocessed = 1 << 21,
    RequestsRequiredLater = 1 << 22,
    RemoveBufsDuringRead = 1 << 23,
    PrepareQueues = 1 << 24,
    RequestFdUnchecked = 1 << 25,
    RequestQueuesAtOnce = 1 << 26,
    RequestMixingAllowed = 1 << 27,
    RequestEmptyQueued = 1 << 28,
    RequestReinitQueued = 1 << 29,
    RequestPollEarly = 1 << 30,
    M2mCaptureInRequest = 1L << 31,
    PollIgnoresWaiting = 1L << 32,
    PollReadyEarly = 1L << 33,
    PollStartsNothing = 1L << 34,
    M2mPollNoError = 1L << 35,
    FmtWhileStreaming = 1L << 36,
    FmtIgnoredByReqBufs = 1L << 37,
    TryFmtSets = 1L << 38,
    WriteRefusesFirst = 1L << 39,
    WriteTakesNoOwner = 1L << 40,
    WriteWhileStreaming = 1L << 41,
    WriteZeroStartsIo = 1L << 42,
    PollOutStartsNothing = 1L << 43,
    WriteEagainAfterPollOut = 1L << 44,
    BlockingDQBufEagain = 1L << 45,
    LastNoEpipe = 1L << 46,
    StartKeepsEpipe = 1L << 47,
}

/// <summary>One invariant a broken variant breaks, and the length its counterexample must shrink to.</summary>
public readonly record struct Break(string Invariant, int MinimalSteps);

/// <summary>
/// A reference model with deliberately broken behaviour: usually one invariant, sometimes two independent ones at
/// once. The suite's tests require each break to be caught within the default budget, reported against its
/// invariant with its own counterexample, shrunk to its minimal length, while the rest of the catalog is still judged.
/// </summary>
public sealed record BrokenVariant(string Name, ModelBug Bug, string Description, IReadOnlyList<Break> Breaks)
{
    public BrokenVariant(string name, ModelBug bug, string invariant, int minimalSteps, string description)
        : this(name, bug, description, [new Break(invariant, minimalSteps)]) { }

    /// <summary>The built-in profile (<see cref="TargetProfile.BuiltIn"/>) the variant is played on when the command line names none.</summary>
    public string Profile { get; init; } = "vivid-like";

    /// <summary>The invariants it breaks, for listings.</summary>
    public string Invariants => string.Join("+", Breaks.Select(b => b.Invariant));

    public static IReadOnlyList<BrokenVariant> All { get; } =
    [
        new("llseek-seek-cur", ModelBug.LlseekAcceptsSeekCur, Inv.LlseekOther, 3, "lseek(SEEK_CUR, 0) on a dma-buf returns 0 instead of EINVAL"),
        new("reqbufs0-frees-mapped", ModelBug.ReqBufs0FreesMapped, Inv.ReqBufsOrphan, 7, "REQBUFS(0) frees the memory of buffers that are still mapped or exported"),
        new("expbuf-drops-cloexec", ModelBug.ExpBufDropsCloexec, Inv.Cloexec, 4, "EXPBUF ignores O_CLOEXEC"),
        new("heap-not-zeroed", ModelBug.HeapNotZeroed, Inv.HeapZero, 4, "a fresh dma-heap buffer holds stale data"),
        new("mmap-ignores-offset", ModelBug.MmapIgnoresOffset, Inv.MmapOffset, 5, "dma-buf mmap maps from byte 0 whatever the page offset"),
        new("sync-accepts-unknown-flags", ModelBug.SyncAcceptsUnknownFlags, Inv.SyncBadBits, 3, "DMA_BUF_IOCTL_SYNC accepts flag bits outside RW|END"),
        new("non-owner-reqbufs", ModelBug.NonOwnerReqBufs, Inv.OwnReqBufs, 4, "a file handle that does not own the queue may REQBUFS"),
        new("non-owner-expbuf", ModelBug.NonOwnerExpBuf, Inv.OwnExpBuf, 4, "a file handle that does not own the queue may EXPBUF (the 2012 proposal)"),
        new("close-leaks-dmabuf", ModelBug.CloseLeaksDmaBuf, Inv.LifeRelease, 2, "closing the last reference never releases the dma-buf"),
        new("udmabuf-accepts-write-seal", ModelBug.UdmabufAcceptsWriteSeal, Inv.UdmaWriteSeal, 3, "udmabuf accepts a memfd sealed with F_SEAL_WRITE"),
        new("expbuf-copies-memory", ModelBug.ExpBufCopiesMemory, Inv.ExpBufAlias, 6, "EXPBUF exports a copy instead of the buffer's memory"),
        new("import-drops-fence", ModelBug.ImportDropsFence, Inv.IsfNoDrop, 9, "IMPORT_SYNC_FILE replaces the fences already attached instead of adding to them"),
        new("read-export-ignores-write", ModelBug.ReadExportIgnoresWrite, Inv.EsfUsage, 5, "EXPORT_SYNC_FILE(READ) ignores a pending write fence and returns a signalled stub"),
        new("prime-no-dedupe", ModelBug.PrimeImportNoDedupe, Inv.F2hDedupe, 4, "PRIME_FD_TO_HANDLE of a dma-buf the file already has a handle for creates a second handle"),
        new("prime-ignores-rdwr", ModelBug.PrimeIgnoresRdwr, Inv.AccMode, 3, "PRIME_HANDLE_TO_FD makes every dma-buf O_RDWR, DRM_RDWR or not"),
        new("close-keeps-queue", ModelBug.CloseKeepsQueue, Inv.OwnClose, 5, "closing the owner's file handle leaves its queue owned, allocated and streaming (a release path without vb2_queue_release)"),
        new("heap-recycles-dirty", ModelBug.HeapRecyclesDirty, Inv.HeapZero, 9, "a freed heap buffer's pages are handed to the next allocation without being cleared (a sequence sees what an earlier one wrote)"),
        new("set-name-a-enotty", ModelBug.SetNameANotTty,
            "DMA_BUF_SET_NAME_A, the request number 32-bit callers send, is refused with ENOTTY (the dma-buf core once knew only DMA_BUF_SET_NAME)",
            [new Break(Inv.NameOk, 4), new Break(Inv.NameLong, 3)]),
        new("set-name-accepts-32", ModelBug.SetNameAcceptsFullLength, Inv.NameLong, 4,
            "DMA_BUF_SET_NAME accepts a 32-byte name, leaving no room for the NUL in DMA_BUF_NAME_LEN (a length check that forgets it)"),
        new("expbuf-wrong-plane", ModelBug.ExpBufWrongPlane, Inv.MplaneExpBuf, 4,
            "EXPBUF of plane p of a multi-planar buffer exports the plane after it (another plane's memory and size)") { Profile = "vivid-mplane" },
        new("m2m-shared-context", ModelBug.M2mSharedContext, Inv.M2mContext, 4,
            "every open of a mem2mem node gets the same context, so one handle allocates, queues and streams another's queues") { Profile = "vim2m-like" },
        new("m2m-output-unprocessed", ModelBug.M2mOutputUnprocessed, Inv.M2mJob, 5,
            "a mem2mem device returns OUTPUT buffers as done without a job: no CAPTURE buffer queued, the CAPTURE queue not streaming") { Profile = "vim2m-like" },
        new("remove-bufs-during-read", ModelBug.RemoveBufsDuringRead, Inv.ReadBusy, 3,
            "VIDIOC_REMOVE_BUFS is not refused while read() I/O holds the queue (the file-I/O check is missing): it goes on to look for the buffers"),
        new("prepare-buf-queues", ModelBug.PrepareQueues, Inv.PrepareBuf, 5,
            "VIDIOC_PREPARE_BUF queues the buffer (as VIDIOC_QBUF would) instead of only preparing it"),
        new("requests-required-later", ModelBug.RequestsRequiredLater, Inv.RequestRequired, 4,
            "a queue that supports requests takes a QBUF without one, then refuses every later one with EBADR (requiring requests is not a fixed choice of the queue)"),
        new("request-fd-unchecked", ModelBug.RequestFdUnchecked, Inv.RequestFd, 3,
            "QBUF with V4L2_BUF_FLAG_REQUEST_FD and an fd that is not a request queues the buffer directly instead of refusing it with EINVAL"),
        new("request-queues-at-once", ModelBug.RequestQueuesAtOnce, Inv.RequestHolds, 10,
            "a buffer queued to a request is queued at once, before the request is (QUERYBUF shows QUEUED, not IN_REQUEST)"),
        new("request-mixing-allowed", ModelBug.RequestMixingAllowed, Inv.RequestMixing, 5,
            "after a buffer was queued through a request, QBUF without one is accepted (the queue is fed both ways)"),
        new("request-empty-queued", ModelBug.RequestEmptyQueued, Inv.RequestQueue, 2,
            "MEDIA_REQUEST_IOC_QUEUE accepts a request that holds no buffer instead of refusing it with ENOENT"),
        new("request-reinit-queued", ModelBug.RequestReinitQueued, Inv.RequestReinit, 6,
            "MEDIA_REQUEST_IOC_REINIT empties a request that is queued and not complete instead of refusing it with EBUSY"),
        new("request-poll-early", ModelBug.RequestPollEarly, Inv.RequestPoll, 6,
            "poll() of a queued request reports POLLPRI at once, before its buffers are done"),
        new("m2m-capture-in-request", ModelBug.M2mCaptureInRequest, Inv.RequestM2mCapture, 4,
            "a mem2mem device takes a CAPTURE buffer into a request instead of refusing it with EBADR") { Profile = "vim2m-like" },
        new("poll-ignores-waiting", ModelBug.PollIgnoresWaiting, Inv.PollNotStreaming, 4,
            "poll() of a capture queue that streams but has had no QBUF since STREAMON reports nothing instead of POLLERR"),
        new("poll-ready-early", ModelBug.PollReadyEarly, Inv.PollDone, 6,
            "poll() of a streaming capture queue with nothing queued reports POLLIN"),
        new("poll-starts-nothing", ModelBug.PollStartsNothing, Inv.PollStartsRead, 2,
            "poll() of an idle capture node with read() I/O does not start the read() emulator"),
        new("m2m-poll-no-error", ModelBug.M2mPollNoError, Inv.PollM2m, 2,
            "poll() of a mem2mem context whose queues stream nothing reports no POLLERR") { Profile = "vim2m-like" },
        new("fmt-while-streaming", ModelBug.FmtWhileStreaming, Inv.FmtBusy, 3,
            "VIDIOC_S_FMT changes the format of a queue that streams instead of refusing it with EBUSY"),
        new("fmt-ignored-by-reqbufs", ModelBug.FmtIgnoredByReqBufs, Inv.FmtAlloc, 4,
            "after VIDIOC_S_FMT answered a new format, REQBUFS still allocates buffers of the old sizeimage"),
        new("try-fmt-sets", ModelBug.TryFmtSets, Inv.FmtTry, 3,
            "VIDIOC_TRY_FMT sets the format it answers, as VIDIOC_S_FMT would"),
        new("write-refuses-first", ModelBug.WriteRefusesFirst, Inv.WriteIo, 2,
            "the first write() of an idle output node returns EAGAIN: the write() emulator starts with no buffer space free") { Profile = "vivid-output" },
        new("write-takes-no-owner", ModelBug.WriteTakesNoOwner,
            "write() starts the write() emulator without making the writer the queue's owner: another handle's write() goes through, and so does its EXPBUF as far as the buffer lookup",
            [new Break(Inv.WriteBusy, 4), new Break(Inv.OwnExpBuf, 4)]) { Profile = "vivid-output" },
        new("write-while-streaming", ModelBug.WriteWhileStreaming, Inv.WriteAfterStreaming, 3,
            "write() on a queue that streaming I/O holds returns count instead of EBUSY") { Profile = "vivid-output" },
        new("write-zero-starts-io", ModelBug.WriteZeroStartsIo, Inv.WriteZero, 3,
            "write() with count 0 starts the write() emulator (the writer owns the queue), as vb2 does") { Profile = "vivid-output" },
        new("poll-out-starts-nothing", ModelBug.PollOutStartsNothing, Inv.PollOutput, 2,
            "poll(POLLOUT) of an idle output node with write() I/O does not start the write() emulator and reports POLLERR") { Profile = "vivid-output" },
        new("write-eagain-after-pollout", ModelBug.WriteEagainAfterPollOut, Inv.PollOutput, 5,
            "poll() of write() I/O reports POLLOUT with every buffer queued, and the next write() still finds no buffer space (EAGAIN)") { Profile = "vivid-output" },
        new("blocking-dqbuf-eagain", ModelBug.BlockingDQBufEagain, Inv.DQBufBlocking, 6,
            "DQBUF on a file without O_NONBLOCK fails with EAGAIN while no buffer is done yet, as if the file were non-blocking"),
        new("last-no-epipe", ModelBug.LastNoEpipe, Inv.DrainLast, 9,
            "an encoder's CAPTURE queue goes on answering DQBUF as usual after the drain's LAST buffer was dequeued, instead of EPIPE") { Profile = "vicodec-encoder-like" },
        new("start-keeps-epipe", ModelBug.StartKeepsEpipe, Inv.DrainResume, 10,
            "V4L2_ENC_CMD_START after a drain resumes the encoder but DQBUF of CAPTURE still fails with EPIPE (vb2's last_buffer_dequeued is never cleared)") { Profile = "vicodec-encoder-like" },
        new("seek-cur-and-no-dedupe", ModelBug.LlseekAcceptsSeekCur | ModelBug.PrimeImportNoDedupe,
            "two independent bugs at once: lseek(SEEK_CUR, 0) on a dma-buf returns 0, and PRIME_FD_TO_HANDLE creates a second handle for a dma-buf the file already has",
            [new Break(Inv.LlseekOther, 3), new Break(Inv.F2hDedupe, 4)]),
    ];

    public static BrokenVariant? Find(string name) => All.FirstOrDefault(v => v.Name == name);
}
