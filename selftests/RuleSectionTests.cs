using Conformance.Adapters;
using Conformance.Generators;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// The generator keeps each section of its rules (the V4L2 queue's, the DRM device's, the dma-buf core's, ...) while
/// nothing its key holds changes, and offers it again without making it: the key must hold everything the section's rules
/// read, or a state would be offered the rules of another. These tests make every kept section again where it is used
/// (<see cref="SequenceGenerator.CheckRuleTables"/>) over every built-in profile, every area alone and all together, plain
/// and parallel sequences, and every family a seed can steer a sequence into.
/// </summary>
public class RuleSectionTests
{
    public static TheoryData<string> Profiles() => [.. TargetProfile.BuiltIn.Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Every_kept_section_of_rules_is_the_one_its_state_would_make(string profileName)
    {
        var profile = TargetProfile.BuiltIn.Single(p => p.Name == profileName);
        long compared = 0;
        foreach (var areas in SequenceGenerator.AllAreas.Select(a => new[] { a }).Prepend(SequenceGenerator.AllAreas))
        {
            var checking = new SequenceGenerator(profile, areas) { CheckRuleTables = true };
            var plain = new SequenceGenerator(profile, areas);
            // (seeds 1 to 160 cover every family: they are chosen by the seed modulo 4 and 8)
            for (ulong seed = 1; seed <= 160; seed++)
            {
                var a = seed % 5 == 0 ? checking.GenerateParallel(seed, 40) : checking.Generate(seed, 60);
                var b = seed % 5 == 0 ? plain.GenerateParallel(seed, 40) : plain.Generate(seed, 60);
                Assert.Equal(b.ToString(), a.ToString());
            }
            compared += checking.SectionsChecked;
        }
        // most ops are offered kept sections: a check that compared few would show nothing
        Assert.True(compared > 10_000, $"only {compared} kept sections were compared");
    }
}
