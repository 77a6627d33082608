using Conformance.Adapters;
using Conformance.Generators;
using Conformance.Properties;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>
/// Hugetlb memfds under udmabuf: the pool counts UDMABUF-HUGE-2 expects (pages taken, reservations made since the sequence
/// began) on every path a page takes into and out of the pool, and the generator's hugetlb memfds (whole huge pages, mapped
/// whole, within the pool the profile gives).
/// </summary>
public class HugetlbTests
{
    private static readonly TargetProfile P = TargetProfile.VividLike;
    private static long Huge => P.Hugetlb!.PageSize;
    private static Step S(Op op, Outcome actual) => new(op, actual);
    private static Outcome Ok(long r0 = 0, long r1 = 0) => Outcome.Success(r0, r1);
    private static Outcome Made(int fd) => Outcome.Created(fd);

    /// <summary>The model's expected outcome at each step that the recorded one matches (-1: not allowed).</summary>
    private static int[] Taken(IReadOnlyList<Step> steps) => [.. Expectations.Derive(P, steps).Select(e => e.Taken)];

    /// <summary>Open udmabuf, a hugetlb memfd of two huge pages sealed F_SEAL_SHRINK.</summary>
    private static List<Step> Start() =>
    [
        S(new Open("udmabuf", O_RDWR | O_CLOEXEC) { Id = 1 }, Made(3)),
        S(new MemfdCreate(2 * Huge, true, F_SEAL_SHRINK, Hugetlb: true) { Id = 2 }, Made(4)),
    ];

    private static UdmabufCreate Create(int id, long offset, long size) => new(new Var(1), new Var(2), offset, size, UDMABUF_FLAGS_CLOEXEC) { Id = id };

    [Fact]
    public void A_pin_of_pages_nothing_reserved_takes_them_and_leaves_the_reservations_as_they_were()
    {
        var steps = Start();
        steps.Add(S(Create(3, 0, 2 * Huge), Made(5)));
        var good = steps.Append(S(new HugetlbPool { Id = 4 }, Ok(2, 0))).ToList();
        Assert.All(Taken(good), t => Assert.True(t >= 0));
        // 6.12's memfd_alloc_folio: no reservation made, HugePages_Rsvd two below what it was (it wraps on the kernel)
        var wrapped = steps.Append(S(new HugetlbPool { Id = 4 }, Ok(2, -2))).ToList();
        Assert.Equal(-1, Taken(wrapped)[^1]);
        Assert.Equal("UDMABUF-HUGE-2", Expectations.Derive(P, wrapped)[^1].Cited[^1]);
    }

    [Fact]
    public void A_shared_mapping_reserves_the_memfd_and_a_pin_or_a_fault_uses_the_reservation_up()
    {
        var steps = Start();
        steps.Add(S(new Mmap(new Var(2), 0, 2 * Huge, PROT_READ | PROT_WRITE, MAP_SHARED) { Id = 3 }, Made(1)));
        steps.Add(S(new HugetlbPool { Id = 4 }, Ok(0, 2)));
        // a range from the last page of the first huge page into the second pins both
        steps.Add(S(Create(5, Huge - PAGE_SIZE, 2 * PAGE_SIZE), Made(5)));
        steps.Add(S(new HugetlbPool { Id = 6 }, Ok(2, 0)));
        Assert.All(Taken(steps), t => Assert.True(t >= 0));

        // a write through the mapping allocates only the huge page it lands in
        var fault = Start();
        fault.Add(S(new Mmap(new Var(2), 0, 2 * Huge, PROT_READ | PROT_WRITE, MAP_SHARED) { Id = 3 }, Made(1)));
        fault.Add(S(new WriteStamp(new Var(3), Huge + 8, 0x1234) { Id = 4 }, Ok()));
        fault.Add(S(new HugetlbPool { Id = 5 }, Ok(1, 1)));
        Assert.All(Taken(fault), t => Assert.True(t >= 0));
    }

    [Fact]
    public void Pinned_pages_stay_taken_after_the_memfd_is_closed_until_the_udmabuf_goes()
    {
        var steps = Start();
        steps.Add(S(Create(3, PAGE_SIZE, PAGE_SIZE), Made(5)));
        steps.Add(S(new Close(new Var(2)) { Id = 4 }, Ok()));
        steps.Add(S(new HugetlbPool { Id = 5 }, Ok(1, 0)));
        steps.Add(S(new Close(new Var(3)) { Id = 6 }, Ok()));
        steps.Add(S(new HugetlbPool { Id = 7 }, Ok(0, 0)));
        Assert.All(Taken(steps), t => Assert.True(t >= 0));
        // a pool that never gets the page back
        var kept = steps.Take(6).Append(S(new HugetlbPool { Id = 7 }, Ok(1, 0))).ToList();
        Assert.Equal(-1, Taken(kept)[^1]);
    }

    [Fact]
    public void A_list_whose_later_item_fails_leaves_the_pages_its_earlier_items_took_and_a_refused_mapping_reserves_nothing()
    {
        // the lab's first counterexamples of a model that forgot both: the first item's page stays in the memfd's page
        // cache (udmabuf pins item by item), and a write-sealed memfd's mmap fails before hugetlbfs reserves anything
        var steps = Start();
        steps.Add(S(new UdmabufCreateList(new Var(1), 0, [new ListItem(new Var(2), 0, Huge), new ListItem(new Var(2), 0, 2 * Huge + PAGE_SIZE)]) { Id = 3 }, Outcome.Fail(Errno.EINVAL)));
        steps.Add(S(new HugetlbPool { Id = 4 }, Ok(1, 0)));
        Assert.All(Taken(steps), t => Assert.True(t >= 0));

        var sealedSteps = new List<Step>
        {
            S(new MemfdCreate(Huge, true, F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE, Hugetlb: true) { Id = 1 }, Made(3)),
            S(new Mmap(new Var(1), 0, Huge, PROT_READ | PROT_WRITE, MAP_SHARED) { Id = 2 }, Outcome.Fail(Errno.EPERM)),
            S(new HugetlbPool { Id = 3 }, Ok(0, 0)),
        };
        Assert.All(Taken(sealedSteps), t => Assert.True(t >= 0));
    }

    [Fact]
    public void Generated_hugetlb_memfds_are_whole_huge_pages_mapped_whole_within_the_profile_pool()
    {
        // udmabuf's own unit, as discovery makes it: no video node, so half its sequences are the hugetlb family
        var unit = new TargetProfile("kernel:/dev/udmabuf", "6.12.118", [], [], "udmabuf", 64L << 20) { Hugetlb = P.Hugetlb };
        var gen = new SequenceGenerator(unit, ["udmabuf"]);
        int memfds = 0, maps = 0, reads = 0;
        for (ulong seed = 1; seed <= 400; seed++)
        {
            var seq = gen.Generate(seed, 60);
            var huge = seq.Ops.OfType<MemfdCreate>().Where(m => m.Hugetlb).ToList();
            Assert.True(huge.Sum(m => m.Size / Huge) <= P.Hugetlb!.Pages, $"seed {seed}: the hugetlb memfds need more than the pool");
            Assert.All(huge, m => Assert.Equal(0, m.Size % Huge));
            memfds += huge.Count;
            var ids = huge.Select(m => m.Id).ToHashSet();
            foreach (var mp in seq.Ops.OfType<Mmap>().Where(m => ids.Contains(m.Fd.Id)))
            {
                Assert.Equal(0, mp.PgOff);
                Assert.Equal(huge.First(m => m.Id == mp.Fd.Id).Size, mp.Length);
                maps++;
            }
            reads += seq.Ops.OfType<HugetlbPool>().Count();
        }
        Assert.True(memfds > 50 && maps > 10 && reads > 50, $"{memfds} hugetlb memfds, {maps} mappings of one, {reads} pool reads in 400 sequences");
        // a profile without a pool draws none, and its sequences are the ones it had
        var none = unit with { Hugetlb = null };
        for (ulong seed = 2; seed <= 40; seed += 2)
            Assert.DoesNotContain(new SequenceGenerator(none, ["udmabuf"]).Generate(seed, 60).Ops, o => o is MemfdCreate { Hugetlb: true } or HugetlbPool);
    }
}
