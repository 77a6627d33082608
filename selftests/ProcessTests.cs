using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>The second process (Op.Process, SendFd, ExitProcess): generation, shrinking and the model's books.</summary>
public class ProcessTests
{
    public static TheoryData<string> Profiles => new(TargetProfile.BuiltIn.Select(p => p.Name));

    [Theory, MemberData(nameof(Profiles))]
    public void Every_generated_step_and_every_shrink_candidate_uses_only_handles_of_its_own_process(string profile)
    {
        var gen = new SequenceGenerator(TargetProfile.BuiltIn.First(p => p.Name == profile));
        int processSteps = 0;
        for (ulong seed = 5; seed < 5 + 8 * 150; seed += 8)   // the process family's seeds (seed % 8 == 5)
        {
            var seq = gen.Generate(seed, 40);
            OpJson.CheckHandles(seq.Ops);
            // and the closing ops that end a joined run close each fd in the process that holds it
            OwnProcessOnly([.. seq.Ops, .. seq.Closing()]);
            processSteps += seq.Ops.Count(o => o.Process != 0 || o is SendFd);
            // a candidate may drop the step that made a handle (its users are then not run), never move one across processes
            foreach (var candidate in Shrink.Candidates(seq).Take(80)) OwnProcessOnly(candidate.Ops);
        }
        Assert.True(processSteps > 0, $"{profile}: no step of the process family sent an fd or ran in the second process");
    }

    private static void OwnProcessOnly(IReadOnlyList<Op> ops)
    {
        var made = new Dictionary<int, int>();
        for (int i = 0; i < ops.Count; i++)
        {
            foreach (var v in ops[i].Uses)
                if (made.TryGetValue(v.Id, out var p) && p != ops[i].Process)
                    Assert.Fail($"step {i + 1} ({ops[i].Listed}) runs in P{ops[i].Process} but uses v{v.Id}, a handle of P{p}");
            if (ops[i].Creates) made[ops[i].Id] = ops[i].CreatesIn;
        }
    }
}
