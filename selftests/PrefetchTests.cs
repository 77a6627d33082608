using Conformance.Adapters;
using Conformance.Generators;
using Conformance.Properties;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>Sequences made ahead on another thread (<see cref="Prefetch"/>) are the ones a batch's FsCheck run draws, in the
/// same order, and count the same domain draws, whether they were made ahead or not.</summary>
public class PrefetchTests
{
    private const int N = 50;

    /// <summary>The sequences one FsCheck run of a batch asks for (the engine's configuration), as text, in order.</summary>
    private static List<string> Run(Arbitrary<OpSequence> arb, ulong seed)
    {
        var got = new List<string>();
        Check.One(Engine.BatchConfig(seed, N), Prop.ForAll(arb, (OpSequence s) => { got.Add(s.ToString()); return true; }));
        return got;
    }

    private static List<(string, long)> Counts(DomainTally t) =>
        [.. t.Report().SelectMany(d => d.Values.Select(v => ($"{d.Domain.Key}={v.Label}", v.Count)))];

    public static TheoryData<string, ulong> Drawings() => new()
    {
        { "lockstep", 1 }, { "lockstep", 0xD1B54A32D192ED03UL }, { "parallel", 7 }, { "aliasing", 3 }, { "release", 12345 },
    };

    [Theory, MemberData(nameof(Drawings))]
    public void A_batch_gets_the_sequences_fsCheck_draws_every_one_made_ahead_and_counted_alike(string property, ulong seed)
    {
        var drawing = Properties.Properties.All.Single(p => p.Name == property).Drawing(60);
        var plain = new SequenceGenerator(TargetProfile.VividLike);
        var expected = Run(drawing.Arbitrary(plain), seed);
        Assert.Equal(N, expected.Count);

        var gen = new SequenceGenerator(TargetProfile.VividLike);
        using var ahead = new Prefetch(drawing, gen, [(seed, N)]);
        Assert.Equal(expected, Run(ahead.Arbitrary(0, 0), seed));
        Assert.Equal((N, 0), (ahead.UsedAhead, ahead.MadeHere));
        Assert.Equal(Counts(plain.Tally), Counts(gen.Tally));
    }

    [Fact]
    public void A_batch_run_again_after_a_failure_makes_nothing_for_what_ran_and_counts_it_once()
    {
        const ulong seed = 99;
        const int skip = 20;
        var drawing = Shrink.Drawing(60);
        var draws = Prefetch.Draws(drawing, seed, N);
        var plain = new SequenceGenerator(TargetProfile.VividLike);
        var expected = draws.Skip(skip).Select(d => drawing.Expand(plain, d).ToString()).ToList();

        var gen = new SequenceGenerator(TargetProfile.VividLike);
        using var ahead = new Prefetch(drawing, gen, [(seed, N)]);
        var got = Run(ahead.Arbitrary(0, skip), seed);
        Assert.All(got.Take(skip), s => Assert.Equal(Prefetch.Skipped.ToString(), s));
        Assert.Equal(expected, got.Skip(skip));
        Assert.Equal((N - skip, 0), (ahead.UsedAhead, ahead.MadeHere));
        // the sequences before skip were made ahead too, and dropped uncounted
        Assert.Equal(Counts(plain.Tally), Counts(gen.Tally));
    }

    [Fact]
    public void A_draw_not_made_ahead_is_made_where_it_is_asked_for()
    {
        var drawing = Shrink.Drawing(60);
        var plain = new SequenceGenerator(TargetProfile.VividLike);
        var expected = Run(drawing.Arbitrary(plain), 5);

        // the thread made another batch's sequences (seed 6): none is one of seed 5's draws
        var gen = new SequenceGenerator(TargetProfile.VividLike);
        using var ahead = new Prefetch(drawing, gen, [(6, N)]);
        Assert.Equal(expected, Run(ahead.Arbitrary(0, 0), 5));
        Assert.Equal((0, N), (ahead.UsedAhead, ahead.MadeHere));
        Assert.Equal(Counts(plain.Tally), Counts(gen.Tally));
    }

    [Fact]
    public void A_run_that_stops_early_stops_the_thread()
    {
        var ahead = new Prefetch(Shrink.Drawing(60), new SequenceGenerator(TargetProfile.VividLike),
            Enumerable.Range(0, int.MaxValue).Select(i => ((ulong)i, N)));
        ahead.Dispose();   // returns: the thread stopped (it would otherwise make sequences for ever)
    }
}
