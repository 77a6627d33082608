using System.Collections.Immutable;
using Conformance.Adapters;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Xunit;
using static Conformance.Adapters.Uapi;

namespace Conformance.SelfTests;

/// <summary>UDMABUF-LIST-4: UDMABUF_CREATE_LIST's count at list_limit, one past it and far past it (2^31, 2^32 - 1).</summary>
public class UdmabufListLimitTests
{
    private static readonly TargetProfile P = TargetProfile.VividLike;
    private static Step S(Op op, Outcome actual) => new(op, actual);

    private static List<Step> Start() =>
    [
        S(new Open("udmabuf", O_RDWR | O_CLOEXEC) { Id = 1 }, Outcome.Created(3)),
        S(new MemfdCreate(PAGE_SIZE, true, F_SEAL_SHRINK) { Id = 2 }, Outcome.Created(4)),
    ];

    private static UdmabufCreateList List(uint count) =>
        new(new Var(1), 0, [new ListItem(new Var(2), 0, PAGE_SIZE)], count) { Id = 3 };

    private static int[] Taken(IReadOnlyList<Step> steps) => [.. Expectations.Derive(P, steps).Select(e => e.Taken)];

    [Fact]
    public void A_list_of_list_limit_items_is_made_and_one_more_or_a_count_far_past_it_is_refused()
    {
        uint limit = (uint)P.UdmabufListLimit;
        // list_limit items, the one-page item repeated: a dma-buf of list_limit pages
        var atLimit = Start().Append(S(List(limit), Outcome.Created(5))).ToList();
        Assert.All(Taken(atLimit), t => Assert.True(t >= 0));
        Assert.Contains("UDMABUF-LIST-4", Expectations.Derive(P, atLimit)[^1].Cited);
        foreach (uint count in new[] { limit + 1, 1u << 31, uint.MaxValue })
        {
            var past = Start().Append(S(List(count), Outcome.Fail(Errno.EINVAL))).ToList();
            Assert.All(Taken(past), t => Assert.True(t >= 0));
            Assert.Equal("UDMABUF-LIST-4", Expectations.Derive(P, past)[^1].Cited[^1]);
            // a kernel that made the buffer (or read the list and failed otherwise) broke the rule
            Assert.Equal(-1, Taken(Start().Append(S(List(count), Outcome.Created(5))).ToList())[^1]);
        }
    }

    [Fact]
    public void The_items_in_memory_are_repeated_to_the_count_up_to_a_bound_and_the_count_is_sent_as_drawn()
    {
        Assert.Equal(1024, List(1024).Sent.Count());
        Assert.Single(List(1u << 31).Sent);
        Assert.Contains(".count = 1025, .list = {{v2, 0, 4096}} repeated", (List(1025) with { Id = 3 }).Text);
        Assert.Contains(".count = 4294967295, .list = {{v2, 0, 4096}} only", List(uint.MaxValue).Text);
        // a list without a count of its own is as it was
        Assert.EndsWith(".count = 1, .list = {{v2, 0, 4096}}})", List(0).Text);
    }

    [Fact]
    public void The_generator_sends_each_count_at_the_limit_from_a_stream_of_its_own()
    {
        var unit = new TargetProfile("kernel:/dev/udmabuf", "6.12.118", [], [], "udmabuf", 64L << 20) { UdmabufListLimit = 7 };
        var counts = new HashSet<uint>();
        for (ulong seed = 1; seed <= 600; seed++)
            foreach (var l in new SequenceGenerator(unit, ["udmabuf"]).Generate(seed, 60).Ops.OfType<UdmabufCreateList>())
                counts.Add(l.Count);
        Assert.Superset(new HashSet<uint> { 0, 7, 8, 1u << 31, uint.MaxValue }, counts);
        Assert.Equal(5, counts.Count);
    }
}
