namespace Conformance.Adapters.Model;

/// <summary>The catalog IDs the reference model cites when it decides an outcome (spec/catalog/*.json).</summary>
public static class Inv
{
    public const string LlseekEnd = "DMABUF-LLSEEK-1", LlseekSet = "DMABUF-LLSEEK-2", LlseekOther = "DMABUF-LLSEEK-3", LlseekNoPos = "DMABUF-LLSEEK-4";
    public const string MmapBounds = "DMABUF-MMAP-1", MmapZeroLen = "DMABUF-MMAP-2", MmapRoWrite = "DMABUF-MMAP-3", MmapWronly = "DMABUF-MMAP-4", MmapOffset = "DMABUF-MMAP-5";
    public const string SyncBadBits = "DMABUF-SYNC-1", SyncNoDir = "DMABUF-SYNC-2", SyncValid = "DMABUF-SYNC-3";
    public const string NameOk = "DMABUF-NAME-1", NameLong = "DMABUF-NAME-2", NameAgain = "DMABUF-NAME-3";
    public const string PrimeFlags = "DMABUF-PRIME-1", PrimeExport = "DMABUF-PRIME-2";
    public const string DmaBufUnknownIoctl = "DMABUF-IOCTL-1", DmaBufBadFd = "DMABUF-FD-1";
    public const string LifeMapping = "DMABUF-LIFE-1", LifeFd = "DMABUF-LIFE-2", LifeRelease = "DMABUF-LIFE-3";
    public const string Cloexec = "DMABUF-CLOEXEC-1", DupNoCloexec = "DMABUF-CLOEXEC-2", AccMode = "DMABUF-ACCMODE-1", Coherent = "DMABUF-COHERENT-1";

    public const string ReqBufsFree = "VB2-REQBUFS-1", ReqBufsCount = "VB2-REQBUFS-2", ReqBufsBadMemory = "VB2-REQBUFS-3", ReqBufsBadType = "VB2-REQBUFS-4",
        ReqBufsSwitch = "VB2-REQBUFS-5", ReqBufsBusyMapped = "VB2-REQBUFS-6", ReqBufsOrphan = "VB2-REQBUFS-7", ReqBufsStreaming = "VB2-REQBUFS-8", ReqBufsCaps = "VB2-REQBUFS-9";
    public const string OwnReqBufs = "VB2-OWN-1", OwnCreate = "VB2-OWN-2", OwnQueryBuf = "VB2-OWN-3", OwnCreate0 = "VB2-OWN-4", OwnMmap = "VB2-OWN-5",
        OwnExpBuf = "VB2-OWN-6", OwnStreaming = "VB2-OWN-7", OwnRelease = "VB2-OWN-8", OwnClose = "VB2-OWN-9";
    public const string Create0 = "VB2-CREATE-1", CreateAppend = "VB2-CREATE-2", CreateMemory = "VB2-CREATE-3", CreateFull = "VB2-CREATE-4", CreateSize = "VB2-CREATE-5";
    public const string QueryBufIndex = "VB2-QUERYBUF-1", QueryBufType = "VB2-QUERYBUF-2", QueryBufFields = "VB2-QUERYBUF-3", QueryBufMapped = "VB2-QUERYBUF-4", BufType = "VB2-TYPE-1";
    public const string ExpBufOk = "VB2-EXPBUF-1", ExpBufFlags = "VB2-EXPBUF-2", ExpBufMemory = "VB2-EXPBUF-3", ExpBufIndex = "VB2-EXPBUF-4", ExpBufOutlives = "VB2-EXPBUF-5", ExpBufAlias = "VB2-EXPBUF-6";
    public const string VMmapOk = "VB2-MMAP-1", VMmapPrivate = "VB2-MMAP-2", VMmapLength = "VB2-MMAP-3", VMmapNoBuffer = "VB2-MMAP-4";
    public const string QBufOk = "VB2-QBUF-1", QBufTwice = "VB2-QBUF-2", QBufBad = "VB2-QBUF-3";
    public const string DQBufNotStreaming = "VB2-DQBUF-1", DQBufOrder = "VB2-DQBUF-2", StreamOn = "VB2-STREAMON-1", StreamOff = "VB2-STREAMOFF-1";
    public const string Remove0 = "VB2-REMOVE-1", RemoveMissing = "VB2-REMOVE-2", RemoveQueued = "VB2-REMOVE-3", RemoveOrphan = "VB2-REMOVE-4", RemoveNotty = "VB2-REMOVE-5";
    public const string UserptrPfnmap = "VB2-USERPTR-1", UserptrOk = "VB2-USERPTR-2", UserptrShort = "VB2-USERPTR-3", UserptrLength = "VB2-USERPTR-4", DmabufNotDmabuf = "VB2-DMABUF-1", DmabufSmall = "VB2-DMABUF-2", DmabufOk = "VB2-DMABUF-3";

    public const string HeapFdFlags = "HEAP-ALLOC-1", HeapFlags = "HEAP-ALLOC-2", HeapLen0 = "HEAP-ALLOC-3", HeapFdIn = "HEAP-ALLOC-4",
        HeapSize = "HEAP-ALLOC-5", HeapZero = "HEAP-ALLOC-6", HeapModes = "HEAP-ALLOC-7", HeapShort = "HEAP-ABI-1", HeapLong = "HEAP-ABI-2", HeapIoctl = "HEAP-IOCTL-1";

    public const string UdmaNoShrink = "UDMABUF-SEAL-1", UdmaWriteSeal = "UDMABUF-SEAL-2", UdmaFutureWrite = "UDMABUF-SEAL-3", UdmaNotMemfd = "UDMABUF-FD-1",
        UdmaOffsetAlign = "UDMABUF-ALIGN-1", UdmaSizeAlign = "UDMABUF-ALIGN-2", UdmaSize0 = "UDMABUF-SIZE-1", UdmaBounds = "UDMABUF-BOUNDS-1",
        UdmaFlags = "UDMABUF-FLAGS-1", UdmaRdwr = "UDMABUF-ACC-1", UdmaList = "UDMABUF-LIST-1", UdmaList0 = "UDMABUF-LIST-2", UdmaItem0 = "UDMABUF-LIST-3", UdmaAlias = "UDMABUF-ALIAS-1",
        UdmaPrivate = "UDMABUF-MMAP-1", UdmaEndFirst = "UDMABUF-SYNC-1", UdmaLife = "UDMABUF-LIFE-1";

    public const string EsfFlags = "FENCE-ESF-1", EsfFd = "FENCE-ESF-2", EsfIdle = "FENCE-ESF-3", EsfUsage = "FENCE-ESF-4", EsfShape = "FENCE-ESF-5", EsfSnapshot = "FENCE-ESF-6",
        IsfFlags = "FENCE-ISF-1", IsfNotSync = "FENCE-ISF-2", IsfRead = "FENCE-ISF-3", IsfWrite = "FENCE-ISF-4", IsfNoDrop = "FENCE-ISF-5", IsfUnwrap = "FENCE-ISF-6",
        FenceAcc = "FENCE-ACC-1", BufPoll = "FENCE-POLL-1", SyncWaits = "FENCE-SYNC-1",
        InfoFlags = "FENCE-SYNCF-1", InfoQuery = "FENCE-SYNCF-2", InfoCount = "FENCE-SYNCF-3", InfoStatus = "FENCE-SYNCF-4",
        MergeErrors = "FENCE-MERGE-1", MergeFences = "FENCE-MERGE-2", MergeName = "FENCE-MERGE-3", SyncFilePoll = "FENCE-SFPOLL-1", SyncFileIoctl = "FENCE-SFIOCTL-1",
        VgemAttachArgs = "FENCE-VGEM-1", VgemAttach = "FENCE-VGEM-2", VgemBusy = "FENCE-VGEM-3", VgemSignal = "FENCE-VGEM-4", VgemIds = "FENCE-VGEM-5",
        VgemTimeout = "FENCE-VGEM-6", VgemClose = "FENCE-VGEM-7", V4l2IgnoresFences = "FENCE-V4L2-1";

    public const string DumbCreate = "PRIME-DUMB-1", H2fNoHandle = "PRIME-H2F-1", H2fSame = "PRIME-H2F-2", H2fCached = "PRIME-H2F-3",
        F2hErrors = "PRIME-F2H-1", F2hDedupe = "PRIME-F2H-2", F2hPerFile = "PRIME-F2H-3", GemCloseUnknown = "PRIME-CLOSE-1", GemCloseKeeps = "PRIME-CLOSE-2",
        PrimeForeign = "PRIME-IMPORT-1", MapDumb = "PRIME-MAP-1", MapDumbImported = "PRIME-MAP-2";

    /// <summary>Every ID above (reflection once; the meta-tests compare it with the catalog).</summary>
    public static IReadOnlyList<string> All { get; } = typeof(Inv).GetFields()
        .Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!).Distinct().Order().ToList();
}
