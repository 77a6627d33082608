using System.Collections.Immutable;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using FsCheck.Fluent;
using Gen = FsCheck.Fluent.Gen;
using static Conformance.Adapters.Uapi;

namespace Conformance.Properties;

/// <summary>
/// Model-free aliasing: the generator builds two routes to the same buffer byte (two mappings of one
/// dma-buf at different page offsets, a video mapping and EXPBUF dma-buf mappings, a memfd mapping and
/// a udmabuf mapping); a word written through one route must be read back through the other.
/// </summary>
public sealed class AliasingProperty : IConformanceProperty
{
    public string Name => "aliasing";
    public string Description => "every route to the same buffer byte sees the same bytes";
    public IReadOnlyList<string> Checks => [Inv.Coherent, Inv.MmapOffset, Inv.ExpBufAlias, Inv.VMmapOk, Inv.UdmaAlias, Inv.UdmaHugeAlias, Inv.MplaneExpBuf, Inv.MplaneMmap, Inv.LifeFreed];

    /// <summary>One <see cref="Scenario"/> a draw (its seed; the scenario has the length it needs).</summary>
    public Drawing Drawing(int maxLength) =>
        new(Gen.Choose(0, int.MaxValue).Two().Select(t => new Draw(((ulong)(uint)t.Item1 << 32) | (uint)t.Item2, 0)), static (g, d) => Scenario(g, d.Seed));

    public Failure? Check(OpSequence seq, IBufferTarget target, Exercise? exercise, IReadOnlySet<string>? settled = null)
    {
        target.Reset();
        var env = new Env();
        var steps = new List<Step>();
        try
        {
            foreach (var op in seq.Ops)
            {
                var o = op.MaySleep ? Outcome.NotRun : op.Run(target, env);   // no oracle to say a sleeping call returns
                steps.Add(new Step(op, o));
                if (op is TransferStamp ts && o.Ok)
                {
                    if (o.R0 != o.R1 && settled != null && settled.Contains(ts.Invariant)) { exercise?.Mask(Name); return null; }
                    if (o.R0 != o.R1)
                        return new Failure(Name, ts.Invariant, steps.Count - 1, steps, $"0x{(ulong)o.R1:x}", $"0x{(ulong)o.R0:x}",
                            "the two mappings name the same buffer byte");
                    exercise?.Hit(ts.Invariant);
                    if (ts.Invariant != Inv.Coherent) exercise?.Hit(Inv.Coherent);
                }
                if (exercise != null) exercise.Ops++;
            }
            return null;
        }
        finally { target.Reset(); }
    }

    /// <summary>One aliasing scenario for a random exporter the profile has.</summary>
    public static OpSequence Scenario(SequenceGenerator gen, ulong seed)
    {
        var r = new Rng(seed);
        var p = gen.Profile;
        var kinds = new List<int>();
        if (p.Heaps.Count > 0 && (gen.Areas.Contains("heap") || gen.Areas.Contains("dmabuf"))) kinds.Add(0);
        if (p.Video.Count > 0 && (gen.Areas.Contains("vb2") || gen.Areas.Contains("dmabuf"))) kinds.Add(1);
        if (p.UdmabufDevice != null && gen.Areas.Contains("udmabuf")) kinds.Add(2);
        if (p.Drm.Count > 0 && (gen.Areas.Contains("prime") || gen.Areas.Contains("dmabuf"))) kinds.Add(3);
        var ops = ImmutableArray.CreateBuilder<Op>();
        int id = 0;
        Var Add(Op op) { ops.Add(op with { Id = ++id }); return new Var(id); }
        if (kinds.Count == 0) return new OpSequence(seed, ops.ToImmutable());
        const int rw = PROT_READ | PROT_WRITE;
        void Transfers(Var a, long aBase, Var b, long bBase, long span, string inv)
        {
            for (int i = r.Below(3) + 1; i > 0; i--)
            {
                long off = (r.Below((int)(span / PAGE_SIZE)) * PAGE_SIZE) + 8 * r.Below(8);
                bool forward = r.Chance(50);
                ops.Add(forward
                    ? new TransferStamp(a, aBase + off, b, bBase + off, r.Next() | 1, inv) { Id = ++id }
                    : new TransferStamp(b, bBase + off, a, aBase + off, r.Next() | 1, inv) { Id = ++id });
            }
        }
        // two mappings of one dma-buf at different page offsets: the same buffer byte is (lo - pa) pages into A, (lo - pb) into B
        void TwoOffsets(Var buf, long pages)
        {
            var other = r.Chance(50) ? Add(new Dup(buf)) : buf;
            long pa = r.Below((int)pages - 1), pb = r.Below((int)pages - 1) + 1;
            var ma = Add(new Mmap(buf, pa, (pages - pa) * PAGE_SIZE, rw, MAP_SHARED));
            var mb = Add(new Mmap(other, pb, (pages - pb) * PAGE_SIZE, rw, MAP_SHARED));
            long lo = Math.Max(pa, pb), span = (pages - lo) * PAGE_SIZE;
            Transfers(ma, (lo - pa) * PAGE_SIZE, mb, (lo - pb) * PAGE_SIZE, span, pa != pb ? Inv.MmapOffset : Inv.Coherent);
        }
        switch (r.Pick(kinds))
        {
            case 0:
                {
                    long pages = 2 + r.Below(4);
                    var heap = Add(new Open(p.Heaps[0].Device, O_RDONLY | O_CLOEXEC));
                    TwoOffsets(Add(new DmaHeapAlloc(heap, (ulong)(pages * PAGE_SIZE), (uint)(O_RDWR | O_CLOEXEC), 0, 0, HeapAbi.Current)), pages);
                    break;
                }
            case 3:
                {
                    // a dumb buffer of 2 to 5 pages (64 pixels of 32 bits a row: 16 rows a page), exported with PRIME
                    long pages = 2 + r.Below(4);
                    var drm = Add(new Open(p.Drm[0].Device, O_RDWR | O_CLOEXEC));
                    TwoOffsets(Add(new DrmDumbExport(drm, 64, (uint)(16 * pages), 32, DRM_CLOEXEC | DRM_RDWR)), pages);
                    break;
                }
            case 1:
                {
                    var node = p.Video[0];
                    var fd = Add(new Open(node.Device, O_RDWR | O_NONBLOCK));
                    Add(new ReqBufs(fd, node.BufType, V4L2_MEMORY_MMAP, (uint)(1 + r.Below(3))));
                    // a multi-planar buffer: one of its planes, whose export and mappings must all be that plane's memory
                    uint plane = node.MultiPlanar ? (uint)r.Below(node.NumPlanes) : 0;
                    var d1 = Add(new ExpBuf(fd, node.BufType, 0, plane, (uint)(O_RDWR | O_CLOEXEC)));
                    var d2 = Add(new ExpBuf(fd, node.BufType, 0, plane, (uint)O_RDWR));
                    long len = PageAlign(node.PlaneSizes[(int)plane]);
                    var mv = Add(new MmapVideo(fd, node.BufType, 0, plane, len, rw, MAP_SHARED));
                    var m1 = Add(new Mmap(d1, 0, len, rw, MAP_SHARED));
                    var m2 = Add(new Mmap(d2, 0, len, rw, MAP_SHARED));
                    Transfers(mv, 0, m1, 0, len, node.MultiPlanar ? Inv.MplaneExpBuf : Inv.ExpBufAlias);
                    Transfers(m1, 0, m2, 0, len, Inv.ExpBufAlias);
                    var mv2 = Add(new MmapVideo(fd, node.BufType, 0, plane, len, rw, MAP_SHARED));
                    Transfers(mv, 0, mv2, 0, len, node.MultiPlanar ? Inv.MplaneMmap : Inv.VMmapOk);
                    if (len >= 2 * PAGE_SIZE)
                    {
                        // an export mapped at a page offset: byte 0 is buffer byte k pages in (the video node's mapping)
                        long k = 1 + r.Below((int)(len / PAGE_SIZE) - 1);
                        var mk = Add(new Mmap(r.Chance(50) ? d1 : d2, k, len - k * PAGE_SIZE, rw, MAP_SHARED));
                        Transfers(mv, k * PAGE_SIZE, mk, 0, len - k * PAGE_SIZE, Inv.MmapOffset);
                    }
                    break;
                }
            default:
                {
                    // a memfd mapped whole and a udmabuf of bytes off..off+size of it: each udmabuf page is the memfd's
                    // page at the range's offset on
                    void Udmabuf(long memfdSize, bool hugetlb, long off, long size, string inv)
                    {
                        var mfd = Add(new MemfdCreate(memfdSize, true, F_SEAL_SHRINK, hugetlb));
                        var dev = Add(new Open(p.UdmabufDevice!, O_RDWR | O_CLOEXEC));
                        var ub = Add(new UdmabufCreate(dev, mfd, off, size, UDMABUF_FLAGS_CLOEXEC));
                        var mm = Add(new Mmap(mfd, 0, memfdSize, rw, MAP_SHARED));
                        var mu = Add(new Mmap(ub, 0, size, rw, MAP_SHARED));
                        Transfers(mm, off, mu, 0, size, inv);
                    }
                    if (p.Hugetlb is { Pages: >= 2 } hp && r.Chance(50))
                    {
                        // a hugetlb memfd of two huge pages, the range k pages before the first one ends to j pages into the second
                        long huge = hp.PageSize, k = 1 + r.Below(4), j = 1 + r.Below(4);
                        Udmabuf(2 * huge, true, huge - k * PAGE_SIZE, (k + j) * PAGE_SIZE, Inv.UdmaHugeAlias);
                        break;
                    }
                    long pages = 2 + r.Below(4), first = r.Below((int)pages - 1);
                    Udmabuf(pages * PAGE_SIZE, false, first * PAGE_SIZE, (pages - first) * PAGE_SIZE, Inv.UdmaAlias);
                    break;
                }
        }
        return new OpSequence(seed, ops.ToImmutable());
    }
}

/// <summary>The properties the suite runs, in order.</summary>
public static class Properties
{
    public static IReadOnlyList<IConformanceProperty> All { get; } = [new LockstepProperty(), new ReleaseProperty(), new AliasingProperty(), new LockstepProperty(parallel: true), new KernelMemoryProperty()];
}
