using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

public sealed partial class ReferenceModel
{
    private int AddMap(Mapping m) { _maps[m.Id] = m; Owned(_mapProcess, m.Id); return m.Id; }

    private Outcome MmapCore(int fd, long pgoff, long length, int prot, int flags)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (length == 0) return Cite(Inv.MmapZeroLen, Errno.EINVAL);
        bool shared = (flags & MAP_SHARED) != 0;
        bool canRead = f.AccMode is O_RDONLY or O_RDWR, canWrite = f.AccMode is O_WRONLY or O_RDWR;
        // do_mmap: write-shared needs FMODE_WRITE, every file mapping needs FMODE_READ
        if (shared && (prot & PROT_WRITE) != 0 && !canWrite)
            return f is DmaBuf ? Cite(Inv.MmapRoWrite, Errno.EACCES) : Outcome.Fail(Errno.EACCES);
        if (!canRead) return f is DmaBuf ? Cite(Inv.MmapWronly, Errno.EACCES) : Outcome.Fail(Errno.EACCES);
        long pages = (length + PAGE_SIZE - 1) / PAGE_SIZE;
        switch (f)
        {
            case DmaBuf d:
                {
                    // whether the mapping fits rests on the size EXPBUF gave a plane's dma-buf
                    if (d.FromPlane) _decidedBy = Inv.MplaneExpBuf;
                    if (pgoff + pages > d.Size / PAGE_SIZE) return Cite(Inv.MmapBounds, Errno.EINVAL);
                    if (!shared)
                        return d.Exporter == Exporter.Udmabuf ? Cite(Inv.UdmaPrivate, Errno.EINVAL) : Outcome.Fail(Errno.NotRun);
                    // every exporter honours the page offset (DMABUF-MMAP-5); one that does not is a finding, never a profile
                    bool honours = !Broken(ModelBug.MmapIgnoresOffset);
                    if (pgoff != 0) Cite(Inv.MmapOffset);
                    var m = new Mapping(_nextMap++, MapKind.DmaBuf, d.Segs, honours ? pgoff * PAGE_SIZE : 0, length, prot, d)
                    { Pfnmap = d.Exporter != Exporter.Vb2 };
                    Get(d);
                    return Outcome.Created(AddMap(m));
                }
            case MemfdFile mf:
                {
                    if (!shared || pgoff * PAGE_SIZE + length > mf.Size) return Outcome.Fail(Errno.NotRun); // harness keeps memfd maps in bounds
                    // a hugetlb memfd is mapped whole huge pages (the harness maps it so, and its adapter refuses other mappings)
                    var huge = mf.Mem.Huge;
                    if (huge != null && (pgoff * PAGE_SIZE % huge.PageSize != 0 || length % huge.PageSize != 0)) return Outcome.Fail(Errno.NotRun);
                    if ((prot & PROT_WRITE) != 0 && (mf.Seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0) return Outcome.Fail(Errno.EPERM);
                    if (huge is { } h)
                    {
                        // the mapping reserves each page of its range not yet in the inode's reservation map (mm/hugetlb.c
                        // hugetlb_reserve_pages; the write seal is checked first, hugetlbfs_file_mmap)
                        var (first, last) = h.PagesOf(pgoff * PAGE_SIZE, length);
                        for (long i = first; i <= last; i++)
                        {
                            if (h.Reserved.Contains(i)) continue;
                            if (h.Unregioned.Remove(i)) h.Debt++;   // the bug's page, taken unreserved, is reserved now
                            h.Reserved.Add(i);
                        }
                    }
                    var m = new Mapping(_nextMap++, MapKind.Memfd, [new Seg(mf.Mem, 0, mf.Size)], pgoff * PAGE_SIZE, length, prot, mf);
                    Get(mf);
                    return Outcome.Created(AddMap(m));
                }
            default:
                return Outcome.Fail(Errno.NotRun);
        }
    }

    public Outcome MmapAnon(long length)
    {
        var mem = new Mem(PageAlign(length), 0);
        return Outcome.Created(AddMap(new Mapping(_nextMap++, MapKind.Anon, [new Seg(mem, 0, mem.Size)], 0, length, PROT_READ | PROT_WRITE, null)));
    }

    /// <inheritdoc/>
    /// <remarks>(A table this cleans the mapping's entry of is cleared whole by <see cref="Discard"/> as well.)</remarks>
    public Outcome Munmap(int map)
    {
        if (!_maps.Remove(map, out var m)) return Outcome.Fail(Errno.NotRun);
        if (_mapProcess.Count > 0) _mapProcess.Remove(map);
        if (m.VBuf is { Freed: false } vb) vb.MapUsers--;
        if (m.File != null) Put(m.File);
        return Outcome.Success();
    }

    /// <summary>
    /// Growing a dma-buf mapping past its buffer's end (DMABUF-MMAP-6): the exporter either refuses (EFAULT, a VM_DONTEXPAND or
    /// VM_PFNMAP mapping: mm/mremap.c vma_to_resize) or lets it grow with nothing past the end to read (R0 = 0); which is its
    /// choice, so either is allowed and the model follows the one the target took. The mapping is as before after it.
    /// </summary>
    public Outcome MremapGrow(int map, long newLength, long end)
    {
        if (!_maps.TryGetValue(map, out var m) || m.File is not DmaBuf d || m.Kind != MapKind.DmaBuf || end < 0 || newLength <= end)
            return Outcome.Fail(Errno.NotRun);
        // the probe reads past the buffer where the step's end is the buffer's (the generator's reckoning of its size); where it
        // falls inside, a grown mapping reads there, and the step is not this rule's
        bool past = end >= d.Size - m.Base;
        if (d.FromPlane) _decidedBy = Inv.MplaneExpBuf;   // the buffer's end rests on the size EXPBUF gave a plane's dma-buf
        if (past) Cite(Inv.MmapNoGrowth);
        // the bug (as a target): the mapping grows and its fault handler serves pages past the buffer (udmabuf before the fix
        // for CVE-2023-2008 read past its page array)
        if (!_hasActual && Broken(ModelBug2.MremapReadsPastEnd)) return Outcome.Success(1);
        var refused = new Outcome(Errno.EFAULT);
        var grown = Outcome.Success(past ? 0 : 1);
        return Choose("EFAULT or grown with nothing readable past the end (the exporter's VMA flags decide)", refused, grown) == 0 ? refused : grown;
    }

    public Outcome WriteStamp(int map, long offset, ulong value)
    {
        if (!_maps.TryGetValue(map, out var m) || (m.Prot & PROT_WRITE) == 0 || offset < 0 || offset + 8 > m.Length)
            return Outcome.Fail(Errno.NotRun);
        if (!m.Locate(offset, out var mem, out var memOff)) return Outcome.Fail(Errno.NotRun);
        // a hugetlb page is allocated at the first fault of a mapping of the memfd, read or write (a udmabuf's pages are pinned)
        if (m.Kind == MapKind.Memfd) mem.Huge?.Populate(memOff / mem.Huge.PageSize);
        bool viaOffset = m.Base != 0 && m.File is DmaBuf;
        mem.Write(memOff, new Stamp(value, m.Id, m.Kind));
        mem.WrittenViaOffset |= viaOffset;
        HarnessWroteQueued(mem);
        return Outcome.Success();
    }

    public Outcome ReadStamp(int map, long offset)
    {
        if (!_maps.TryGetValue(map, out var m) || (m.Prot & PROT_READ) == 0 || offset < 0 || offset + 8 > m.Length)
            return Outcome.Fail(Errno.NotRun);
        if (!m.Locate(offset, out var mem, out var memOff)) return Outcome.Fail(Errno.NotRun);
        if (m.Kind == MapKind.Memfd) mem.Huge?.Populate(memOff / mem.Huge.PageSize);
        bool located = m.Base != 0 && m.File is DmaBuf || mem.WrittenViaOffset;
        if (located && Relaxed.Contains(Inv.MmapOffset))
        {
            // the offset rule already failed on this target: which word this reads is not known, so any value is allowed
            CiteRead(m, mem);
            Cite(Inv.MmapOffset);
            return Outcome.Success((long)ChooseValue("any value (DMABUF-MMAP-5 already failed: where an offset mapping lands is unknown)"));
        }
        var o = ReadWord(m, mem, memOff);
        // where the word comes from is decided by a page offset (this mapping's, or that of a mapping that wrote this
        // memory), so that rule is cited last; unless which word is read cannot matter (every word still holds the same
        // known contents), or the target read a value this memory never held (then the contents rule cited before is
        // what it broke, whichever word it read)
        bool uniform = !mem.HasStamps && mem.Initial != null;
        bool foreign = _hasActual && _actual.R0 != o.R0 && mem.Initial != null && !mem.EverHeld((ulong)_actual.R0);
        // nor when this mapping read this very word before and nothing wrote it since: the earlier read found where the
        // mapping lands, so a different value now is what kept (or failed to keep) the memory alive
        bool placed = mem.TryRead(memOff, out var word) && m.Seen.TryGetValue(offset, out var seen) && seen == word;
        if (located && !uniform && !foreign && !placed) Cite(Inv.MmapOffset);
        if (o.Ok && mem.TryRead(memOff, out var now)) m.Seen.Set(offset, now);
        // a device wrote a buffer that was in a request not yet queued: it was queued (VB2-REQ-3)
        if (_hasActual && _actual.R0 != o.R0 && mem.DeviceUsers == 0 && InRequestMemory(mem)) _decidedBy = Inv.RequestHolds;
        return o;
    }

    private Outcome ReadWord(Mapping m, Mem mem, long memOff)
    {
        if (mem.DeviceUsers > 0)
        {
            CiteRead(m, mem);
            return Outcome.Success((long)ChooseValue("any value (a capture device owns this memory while its buffer is queued)"));
        }
        if (mem.TryRead(memOff, out var s))
        {
            if (s.Writer != m.Id) CiteAlias(m, s, mem);
            // the word survived because something kept the memory alive: that lifetime rule decides the value
            CiteRead(m, mem);
            return Outcome.Success((long)s.Value);
        }
        CiteRead(m, mem);
        if (mem.Initial is ulong init)
        {
            if (m.File is DmaBuf { Exporter: Exporter.Heap }) Cite(Inv.HeapZero);
            if (Broken(ModelBug.HeapNotZeroed) && m.File is DmaBuf { Exporter: Exporter.Heap }) return Outcome.Success(unchecked((long)0xdeadbeefdeadbeef));
            return Outcome.Success((long)init);
        }
        // contents not specified (fresh vb2 memory, or a device wrote it): learn what the target holds
        ulong v = ChooseValue("any value (contents not specified)");
        mem.Learn(memOff, new Stamp(v, m.Id, m.Kind));   // a read: a frame whose bytes these are is still whole
        return Outcome.Success((long)v);
    }

    /// <summary>Lifetime rules a read through a mapping exercises.</summary>
    private void CiteRead(Mapping m, Mem mem)
    {
        if (m.File is DmaBuf { Gem: { HandleCount: 0 } }) Cite(Inv.GemCloseKeeps);   // the object outlives its handles through its dma-buf
        if (m.File is DmaBuf d)
        {
            if (d.Fds == 0) Cite(Inv.LifeMapping);
            if (mem.Orphaned)
            {
                Cite(Inv.LifeFd);
                if (d.Exporter == Exporter.Vb2) { Cite(Inv.ExpBufOutlives); Cite(Inv.ReqBufsOrphan); }
                if (d.Exporter == Exporter.Udmabuf) Cite(Inv.UdmaLife);
            }
        }
        else if (m.Kind == MapKind.Video && mem.Orphaned) Cite(Inv.ReqBufsOrphan);
    }

    /// <summary>Aliasing rules a read of a word written through another mapping exercises.</summary>
    private void CiteAlias(Mapping reader, Stamp s, Mem mem)
    {
        if (s.Writer <= 0) return;
        Cite(Inv.Coherent);
        var kinds = (s.WriterKind, reader.Kind);
        if (kinds is (MapKind.Memfd, MapKind.DmaBuf) or (MapKind.DmaBuf, MapKind.Memfd)) Cite(mem.Huge != null ? Inv.UdmaHugeAlias : Inv.UdmaAlias);
        if (kinds is (MapKind.Video, MapKind.DmaBuf) or (MapKind.DmaBuf, MapKind.Video) or (MapKind.Video, MapKind.Video)
            || (reader.File is DmaBuf { Exporter: Exporter.Vb2 } && s.WriterKind == MapKind.DmaBuf))
            Cite(Inv.ExpBufAlias);
        if (reader.Kind == MapKind.Video) Cite(Inv.VMmapOk);
        if (kinds is (MapKind.Drm, _) or (_, MapKind.Drm)) Cite(Inv.MapDumb);
    }

    // ---------------------------------------------------------------- dma-buf ioctls

    public Outcome DmaBufSync(int fd, ulong flags)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not DmaBuf d) return Outcome.Fail(Errno.ENOTTY);
        if ((flags & ~(DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)) != 0 && !Broken(ModelBug.SyncAcceptsUnknownFlags))
            return Cite(Inv.SyncBadBits, Errno.EINVAL);
        if ((flags & DMA_BUF_SYNC_RW) == 0) return Cite(Inv.SyncNoDir, Errno.EINVAL);
        // START waits for the fences its direction conflicts with (__dma_buf_begin_cpu_access); the harness does not sleep
        bool fenced = d.HasPending(Usage.Read);
        if (SyncStartWouldBlock(d, flags)) return Cite(Inv.SyncWaits, Errno.WouldBlock);
        if (d.Exporter == Exporter.Udmabuf)
        {
            if ((flags & DMA_BUF_SYNC_END) != 0)
            {
                if (!d.CpuAccessStarted) return Cite(Inv.UdmaEndFirst, Errno.EINVAL);
                Cite(Inv.UdmaEndFirst);
            }
            else d.CpuAccessStarted = true;
        }
        var ok = Cite(Inv.SyncValid, Outcome.Success());
        if (fenced) Cite(Inv.SyncWaits);
        return ok;
    }

    /// <summary>DMA_BUF_SET_NAME: the argument is the name (dma_buf_set_name: strndup_user(buf, DMA_BUF_NAME_LEN)).</summary>
    [ModelOf("DMA_BUF_SET_NAME")]
    private Outcome DmaBufSetName(int fd, IoctlCall call)
    {
        if (Broken(ModelBug.SetNameAcceptsFullLength) && call.Text!.Length == DMA_BUF_NAME_LEN && TryFile(fd, out var f) && f is DmaBuf)
            return Outcome.Success();   // the bug: a length check that forgets the NUL
        return SetName(fd, call.Text!.Length);
    }

    private Outcome SetName(int fd, int nameLength)
    {
        if (!TryFile(fd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not DmaBuf d) return Outcome.Fail(Errno.ENOTTY);
        if (nameLength + 1 > DMA_BUF_NAME_LEN) return Cite(Inv.NameLong, Errno.EINVAL);
        if (d.Renames++ > 0 || d.Refs > d.Fds) Cite(Inv.NameAgain);
        return Cite(Inv.NameOk, Outcome.Success());
    }

    /// <summary>DMA_BUF_SET_NAME_A: the same request as DMA_BUF_SET_NAME under another number (dma_buf_ioctl's
    /// <c>case DMA_BUF_SET_NAME_A: case DMA_BUF_SET_NAME_B:</c>), so the same DMABUF-NAME rules. The argument is the name.</summary>
    [ModelOf("DMA_BUF_SET_NAME_A")]
    private Outcome DmaBufSetNameA(int fd, IoctlCall call)
    {
        if (Broken(ModelBug.SetNameANotTty) && TryFile(fd, out var f) && f is DmaBuf) return Outcome.Fail(Errno.ENOTTY);
        return SetName(fd, call.Text!.Length);
    }

    // ---------------------------------------------------------------- dma-heap

    private DmaBuf NewDmaBuf(Exporter e, Seg[] segs, long size, int accMode)
    {
        _liveDmaBufs++;
        return new DmaBuf(e, segs, size) { AccMode = accMode };
    }

    public Outcome DmaHeapAlloc(int heapFd, ulong len, uint fdFlags, ulong heapFlags, uint fdIn, HeapAbi abi)
    {
        if (!TryFile(heapFd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not DevFile { Kind: DevKind.Heap } dev) return Outcome.Fail(Errno.ENOTTY);
        if (abi == HeapAbi.Short) { heapFlags = 0; Cite(Inv.HeapShort); }
        if (abi == HeapAbi.Long) Cite(Inv.HeapLong);
        if (fdIn != 0) return Cite(Inv.HeapFdIn, Errno.EINVAL);
        if ((fdFlags & ~(uint)(O_CLOEXEC | O_ACCMODE)) != 0) return Cite(Inv.HeapFdFlags, Errno.EINVAL);
        if (heapFlags != 0) return Cite(Inv.HeapFlags, Errno.EINVAL);
        ulong aligned = (len + PAGE_SIZE - 1) & ~(ulong)(PAGE_SIZE - 1);
        if (aligned == 0) return Cite(Inv.HeapLen0, Errno.EINVAL);
        if (aligned > 1UL << 30) return Outcome.Fail(Errno.NotRun); // the harness never asks for more
        var mem = new Mem((long)aligned, 0);
        // (a loop, not a lambda: one capturing aligned was a closure made at every ALLOC)
        if (Broken(ModelBug.HeapRecyclesDirty) && RecycledOfSize((long)aligned) is var k and >= 0)
        {
            mem = _recycled[k];   // the bug: freed pages handed out again without clearing them
            _recycled.RemoveAt(k);
        }
        var d = NewDmaBuf(Exporter.Heap, [new Seg(mem, 0, mem.Size)], mem.Size, (int)(fdFlags & O_ACCMODE));
        Cite(Inv.HeapSize);
        return Outcome.Created(Install(d, (fdFlags & O_CLOEXEC) != 0));
    }

    /// <summary>The index of a freed heap memory of this size in <see cref="_recycled"/>, or -1.</summary>
    private int RecycledOfSize(long size)
    {
        for (int i = 0; i < _recycled.Count; i++) if (_recycled[i].Size == size) return i;
        return -1;
    }

    // ---------------------------------------------------------------- memfd / udmabuf

    public Outcome MemfdCreate(long size, bool allowSealing, int seals, bool hugetlb = false)
    {
        var mem = new Mem(size, 0);
        if (hugetlb)
        {
            // the harness makes hugetlb memfds only where the profile gives a pool; a size of part of a huge page is
            // refused by ftruncate (fs/hugetlbfs/inode.c hugetlbfs_setattr)
            if (Profile.Hugetlb is not { } hp) return Outcome.Fail(Errno.NotRun);
            if (size % hp.PageSize != 0) return Outcome.Fail(Errno.EINVAL);
            _huge.Add(mem.Huge = new HugeFile(hp.PageSize));
        }
        if (seals != 0 && !allowSealing) return Outcome.Fail(Errno.EPERM);
        var m = new MemfdFile(mem, allowSealing, seals) { AccMode = O_RDWR };
        return Outcome.Created(Install(m, false));
    }

    /// <summary>The hugetlb memfds of the sequence (since the last reset), for <see cref="HugetlbPool"/>.</summary>
    private readonly List<HugeFile> _huge = new();

    public Outcome HugetlbPool()
    {
        if (Profile.Hugetlb == null) return Outcome.Fail(Errno.NotRun);
        long taken = 0, reserved = 0;
        foreach (var h in _huge)
        {
            if (!h.Evicted)
            {
                taken += h.Populated.Count;
                reserved += h.Reserved.Count(p => !h.Populated.Contains(p)) + h.Debt;
            }
            else
                taken += h.Pins.Where(p => !p.Buf.Released).SelectMany(p => LongRange(p.First, p.Last)).Distinct().Count();
        }
        if (_huge.Count > 0) Cite(Inv.UdmaHugePool);
        return Outcome.Success(taken, reserved);
    }

    private static IEnumerable<long> LongRange(long first, long last) { for (long i = first; i <= last; i++) yield return i; }

    /// <summary>
    /// udmabuf pins huge pages first..last of a hugetlb memfd (memfd_pin_folios): a page its page cache lacks is allocated,
    /// using the reservation a shared mapping made or, where none did, one made for it then (mm/memfd.c memfd_alloc_folio);
    /// the bug (as a target, and 6.12's code): taken with no reservation made, HugePages_Rsvd one lower.
    /// </summary>
    private void TakeHuge(HugeFile h, (long First, long Last) pages)
    {
        for (long i = pages.First; i <= pages.Last; i++)
        {
            if (h.Populated.Contains(i)) continue;
            if (!h.Reserved.Contains(i) && !_hasActual && Broken(ModelBug2.HugetlbPinUnreserved))
            {
                h.Populated.Add(i);
                h.Unregioned.Add(i);
                h.Debt--;
            }
            else h.Populate(i);
        }
    }

    /// <summary>The broken variant's segments for a range that starts inside a huge page: the first folio's part as it should
    /// be, then each later folio from the same page offset on, for as many pages as the range still needs.</summary>
    private static IEnumerable<Seg> SkewedFolios(Seg s, long huge)
    {
        long sub = s.MemOffset % huge, left = s.Length;
        long first = Math.Min(left, huge - sub);
        yield return new Seg(s.Mem, s.MemOffset, first);
        left -= first;
        for (long folio = s.MemOffset - sub + huge; left > 0; folio += huge)
        {
            long part = Math.Min(left, huge - sub);
            yield return new Seg(s.Mem, folio + sub, part);
            left -= part;
        }
    }

    public Outcome UdmabufCreate(int devFd, int memfd, long offset, long size, uint flags) =>
        UdmabufCreateList(devFd, flags, [new UdmabufItem(memfd, offset, size)], single: true);

    public Outcome UdmabufCreateList(int devFd, uint flags, IReadOnlyList<UdmabufItem> items, uint count = 0) =>
        // (read as a span: through the list's interface each item cost three or four of the runtime's interface calls, some
        // 2,500 instructions a call on the generator's lists, of 72 items on average)
        UdmabufCreateList(devFd, flags, items is UdmabufItem[] array ? array : items.ToArray(), single: false, count);

    private Outcome UdmabufCreateList(int devFd, uint flags, ReadOnlySpan<UdmabufItem> items, bool single, uint count = 0)
    {
        if (!TryFile(devFd, out var f)) return Cite(Inv.DmaBufBadFd, Errno.EBADF);
        if (f is not DevFile { Kind: DevKind.Udmabuf }) return Outcome.Fail(Errno.ENOTTY);
        // the header's count against list_limit, before the list is read (udmabuf_ioctl_create_list: a __u32 against the
        // int parameter); the bug (as a target): one item more is let through
        ulong listed = count != 0 ? count : (ulong)items.Length;
        if (!single && listed > (ulong)Profile.UdmabufListLimit + (!_hasActual && Broken(ModelBug2.UdmabufListLimitOffByOne) ? 1UL : 0))
            return Cite(Inv.UdmaListLimit, Errno.EINVAL);
        if (!single && listed == (ulong)Profile.UdmabufListLimit) Cite(Inv.UdmaListLimit);
        if (count != 0 && count != items.Length) return Outcome.Fail(Errno.NotRun);   // the harness sends such a count only past the limit
        // offsets and sizes are __u64 (a negative long is a value near 2^64); the page count is kept in 64 bits and checked
        // after each item, so it cannot wrap (udmabuf_create: pgoff_t pgcnt, pglimit)
        ulong pglimit = (ulong)Profile.UdmabufSizeLimit / PAGE_SIZE, pgcnt = 0;
        foreach (var it in items)
        {
            if ((ulong)it.Offset % PAGE_SIZE != 0) return Cite(Inv.UdmaOffsetAlign, Errno.EINVAL);
            if ((ulong)it.Size % PAGE_SIZE != 0) return Cite(Inv.UdmaSizeAlign, Errno.EINVAL);
            pgcnt += (ulong)it.Size / PAGE_SIZE;
            if (pgcnt > pglimit)
            {
                // the bug (as a target): no limit, so the page array is sized by the request: past what kvmalloc gives, ENOMEM;
                // short of it, the memfd's bounds refuse the range below
                if (!(!_hasActual && Broken(ModelBug2.UdmabufNoSizeLimit))) return Cite(Inv.UdmaSizeLimit, Errno.EINVAL);
                if (pgcnt > 1UL << 28) return Outcome.Fail(Errno.ENOMEM);
            }
        }
        if (pgcnt == 0) return single ? Cite(Inv.UdmaSize0, Errno.EINVAL) : Cite(Inv.UdmaList0, Errno.EINVAL);
        var segs = new Seg[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            var it = items[i];
            if (!TryFile(it.Memfd, out var mf)) return Cite(Inv.UdmaNotMemfd, Errno.EBADFD);
            if (mf is not MemfdFile m) return Cite(Inv.UdmaNotMemfd, Errno.EBADFD);
            int seals = m.AllowSealing ? m.Seals : F_SEAL_SEAL;
            if ((seals & F_SEAL_SHRINK) == 0) return Cite(Inv.UdmaNoShrink, Errno.EINVAL);
            if ((seals & F_SEAL_WRITE) != 0 && !Broken(ModelBug.UdmabufAcceptsWriteSeal)) return Cite(Inv.UdmaWriteSeal, Errno.EINVAL);
            if ((seals & F_SEAL_FUTURE_WRITE) != 0) return Cite(Inv.UdmaFutureWrite, Errno.EINVAL);
            if (it.Size == 0) return Cite(Inv.UdmaItem0, Errno.EINVAL);
            // memfd_pin_folios: a start past loff_t's range (negative) or an end at or past i_size
            if ((ulong)it.Offset >= (ulong)m.Size || (ulong)it.Size > (ulong)m.Size - (ulong)it.Offset) return Cite(Inv.UdmaBounds, Errno.EINVAL);
            segs[i] = new Seg(m.Mem, it.Offset, it.Size);
            // each item is pinned before the next is looked at (udmabuf_create): a later item that fails unpins them, but
            // the pages the pin allocated stay in the memfd's page cache
            if (m.Mem.Huge is { } h) TakeHuge(h, h.PagesOf(it.Offset, it.Size));
        }
        var pinned = segs;   // the items' ranges, as the pins hold them (before the broken variant's skew below)
        // the bug (as a target): each huge folio after a range's first starts at the first one's page offset, as if
        // udmabuf_pin_folios did not start later folios at 0
        if (!_hasActual && Broken(ModelBug2.HugetlbSubpageOffset))
            segs = segs.SelectMany(s => s.Mem.Huge is { } h && s.MemOffset % h.PageSize != 0 ? SkewedFolios(s, h.PageSize) : [s]).ToArray();
        var d = NewDmaBuf(Exporter.Udmabuf, segs, (long)(pgcnt * PAGE_SIZE), O_RDWR);
        foreach (var s in pinned)
            if (s.Mem.Huge is { } h && h.PagesOf(s.MemOffset, s.Length) is var (first, last)) h.Pins.Add((d, first, last));
        if (!single) Cite(Inv.UdmaList);
        Cite(Inv.UdmaRdwr);
        return Outcome.Created(Install(d, (flags & UDMABUF_FLAGS_CLOEXEC) != 0));
    }
}
