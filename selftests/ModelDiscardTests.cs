using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// The generator's model starts each sequence from <see cref="ReferenceModel.Discard"/>, which drops the last sequence's
/// files, mappings and helper processes without running their release paths. What it leaves must be a new model's state:
/// these tests run each generated sequence on a model that ran the sequence before it and was discarded, and on a model
/// made new, and compare every op's outcome (a file, mapping, fence or pool page the discard missed shows as an fd or
/// mapping number, a count, an errno, a buffer or a rule cited that the two models disagree on), over every built-in profile and every family
/// a seed steers a sequence into.
/// </summary>
public class ModelDiscardTests
{
    public static TheoryData<string> Profiles() => [.. TargetProfile.BuiltIn.Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(Profiles))]
    public void A_discarded_model_runs_every_sequence_as_a_new_one_does(string profileName) =>
        RunsAsNew(TargetProfile.BuiltIn.Single(p => p.Name == profileName), ModelBug.None);

    /// <summary>The broken variant that hands freed heap pages out again, dirty: a page the last sequence freed must not be
    /// handed to the next after a discard (a new model has none to hand).</summary>
    [Fact]
    public void A_discarded_model_keeps_no_freed_pages_of_the_sequence_before() =>
        RunsAsNew(TargetProfile.VividLike, ModelBug.HeapRecyclesDirty);

    /// <summary>
    /// The generator that made other sequences first (its handle objects pooled, its model discarded, its tables kept)
    /// makes each sequence as a new generator does: seeds in a shuffled order, plain and parallel sequences mixed, so that
    /// a helper process's sequence, a mem2mem context's or a hugetlb one is followed by one of another family.
    /// </summary>
    [Theory]
    [MemberData(nameof(Profiles))]
    public void A_generator_that_made_other_sequences_makes_each_as_a_new_one_does(string profileName)
    {
        var profile = TargetProfile.BuiltIn.Single(p => p.Name == profileName);
        var used = new SequenceGenerator(profile);
        var seeds = Enumerable.Range(1, 160).Select(i => (ulong)i).ToArray();
        new Random(17).Shuffle(seeds);
        foreach (var seed in seeds)
        {
            bool parallel = seed % 5 == 0;
            var fresh = new SequenceGenerator(profile);
            var want = parallel ? fresh.GenerateParallel(seed, 40) : fresh.Generate(seed, 60);
            var got = parallel ? used.GenerateParallel(seed, 40) : used.Generate(seed, 60);
            Assert.Equal(want.ToString(), got.ToString());
        }
    }

    private static void RunsAsNew(TargetProfile profile, ModelBug bug)
    {
        var gen = new SequenceGenerator(profile);
        var used = new ReferenceModel(profile, bug);
        long compared = 0, made = 0;
        // (seeds 1 to 160 cover every family: they are chosen by the seed modulo 4 and 8)
        for (ulong seed = 1; seed <= 160; seed++)
        {
            var seq = gen.Generate(seed, 60);
            var fresh = new ReferenceModel(profile, bug);
            // (left as a parallel block's close leaves it, its release deferred to the harness: a discard forgets that too)
            if (seed % 3 == 0) used.DeferRelease = true;
            used.Discard();
            used.Seed(seed);
            fresh.Seed(seed);
            Env usedEnv = new(), freshEnv = new();
            foreach (var op in seq.Ops)
            {
                // (each as an oracle's step: what the op cites, as well as its outcome, must be the same)
                fresh.BeginStep(null);
                var want = op.Run(fresh, freshEnv);
                used.BeginStep(null);
                var got = op.Run(used, usedEnv);
                Assert.True(want == got, $"seed {seed}, step {op.Id} ({op.Listed}): {got} after a discard, {want} on a new model");
                Assert.True(fresh.CitedArray().SequenceEqual(used.CitedArray()),
                    $"seed {seed}, step {op.Id} ({op.Listed}): cites {string.Join(", ", used.CitedArray())} after a discard, {string.Join(", ", fresh.CitedArray())} on a new model");
                compared++;
                if (want.Ok && op.InstallsFd) made++;
            }
            Assert.Equal(fresh.LiveDmaBufs(), used.LiveDmaBufs());
            // every other sequence, both models close what is open through the release paths: what the discard before it
            // missed of the sequence before (an fd or mapping past this sequence's numbers, a reference it held) is closed
            // with it, and the dma-bufs left open differ; the other half are left open for the next discard to drop
            if (seed % 2 == 1)
            {
                fresh.CloseAll();
                used.CloseAll();
                Assert.True(fresh.LiveDmaBufs() == used.LiveDmaBufs(),
                    $"seed {seed}: {used.LiveDmaBufs()} dma-bufs live after closing all after a discard, {fresh.LiveDmaBufs()} on a new model");
            }
        }
        // sequences that opened nothing would leave nothing for a discard to miss
        Assert.True(made > 500, $"only {made} fds were made in {compared} steps");
    }
}
