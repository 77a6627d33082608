using System.Collections.Immutable;
using Conformance.Adapters;
using Conformance.Adapters.Kernel;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Runner;
using Xunit;
using static Conformance.Adapters.Uapi;

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

    /// <summary>A memfd shared by two processes, as any machine has one: sent there, mapped on both sides, written on one side
    /// and read on the other, sent back, closed there.</summary>
    private static OpSequence SharedMemfd()
    {
        var v = (int id) => new Var(id);
        Op[] ops =
        [
            new MemfdCreate(4096, false, 0) { Id = 1 },
            new SendFd(v(1), 1, true) { Id = 2 },
            new FcntlGetFd(v(2)) { Id = 3, Process = 1 },
            new Mmap(v(2), 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED) { Id = 4, Process = 1 },
            new WriteStamp(v(4), 8, 0x77) { Id = 5, Process = 1 },
            new Mmap(v(1), 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED) { Id = 6 },
            new ReadStamp(v(6), 8) { Id = 7 },
            new WriteStamp(v(6), 16, 0x99) { Id = 8 },
            new ReadStamp(v(4), 16) { Id = 9, Process = 1 },
            new SendFd(v(2), 0, false) { Id = 10, Process = 1 },
            new FcntlGetFd(v(10)) { Id = 11 },
            new Munmap(v(4)) { Id = 12, Process = 1 },
            new Close(v(2)) { Id = 13, Process = 1 },
            new FcntlGetFd(v(10)) { Id = 14 },
        ];
        return new OpSequence(1, [.. ops]);
    }

    [Fact]
    public void The_kernel_adapter_agrees_with_the_model_on_a_memfd_two_processes_share()
    {
        Assert.True(File.Exists(KernelTarget.HelperPath), $"{KernelTarget.HelperPath}: dotnet build builds it with the machine's C compiler");
        var profile = TargetProfile.VividLike with { Video = [] };
        using var kernel = new KernelTarget(profile, new Dictionary<string, string>());
        var failure = new LockstepProperty().Trace(SharedMemfd(), kernel, null, out var steps);
        Assert.True(failure == null, failure == null ? "" : $"{failure.InvariantId} at step {failure.StepIndex + 1}: expected {failure.Expected}, got {failure.Actual}");
        Assert.Equal(0x77, steps[6].Actual.R0);
        Assert.Equal(0x99, steps[8].Actual.R0);
        Assert.True(steps[12].Actual.Ok && steps[13].Actual.Ok, "the fd sent back outlives the sender's close");
    }

    [Fact]
    public void The_c_reproducer_runs_the_second_process_s_steps_in_itself_started_again_and_agrees()
    {
        var profile = TargetProfile.VividLike with { Video = [] };
        var site = new RunSite("model", profile.Name, profile, null, null, RunSite.DefaultPaths(profile));
        new LockstepProperty().Trace(SharedMemfd(), new ReferenceModel(profile), null, out var steps);
        var rf = Counterexamples.Sample(site, Program.Parse([]), "lockstep", 1, 1, steps, "test");
        var source = CReproducer.Write(rf);   // (no device: its device() lookup goes unused, hence -Wno-unused-function)
        Assert.Contains("p1_serve", source);
        var dir = Directory.CreateTempSubdirectory("conformance-p1").FullName;
        try
        {
            string src = Path.Combine(dir, "repro.c"), bin = Path.Combine(dir, "repro"), inc = Path.Combine(dir, "include");
            File.WriteAllText(src, source);
            UapiHeaders.Install(inc);
            var (rc, _, err) = LayoutCheck.Exec("gcc", $"-Wall -Werror -Wno-unused-function -I{inc} -o {bin} {src}");
            Assert.True(rc == 0, err);
            var (run, output, stderr) = LayoutCheck.Exec(bin, "");
            Assert.True(run == 0, output + stderr);
            Assert.Equal(steps.Count, output.Split('\n').Count(l => l.StartsWith("ok ")));
            Assert.DoesNotContain("not ok", output);
        }
        finally { Directory.Delete(dir, true); }
    }
}
