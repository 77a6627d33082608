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
[Collection(KernelAdapterTests.Helpers)]
public class ProcessTests
{
    public static TheoryData<string> Profiles => new(TargetProfile.BuiltIn.Select(p => p.Name));

    [Theory, MemberData(nameof(Profiles))]
    public void Every_generated_step_uses_only_handles_of_its_own_process(string profile)
    {
        var gen = new SequenceGenerator(TargetProfile.BuiltIn.First(p => p.Name == profile));
        int processSteps = 0;
        for (ulong seed = 5; seed < 5 + 8 * 150; seed += 8)   // the process family's seeds (seed % 8 == 5)
        {
            var seq = gen.Generate(seed, 40);
            // every step, and the closing ops that end a joined run, use only handles their own process holds
            OpJson.CheckHandles([.. seq.Ops, .. seq.Closing()]);
            processSteps += seq.Ops.Count(o => o.Process != 0 || o is SendFd);
            // (a shrink candidate may drop the step that made a handle, or the fork that copied it: its users are then not run,
            // since each process's handles are looked up in its own table; Env_looks_handles_up_in_the_op_s_own_process)
        }
        Assert.True(processSteps > 0, $"{profile}: no step of the process family sent an fd or ran in the second process");
    }

    [Fact]
    public void Env_looks_handles_up_in_the_op_s_own_process()
    {
        var model = new ReferenceModel(TargetProfile.VividLike with { Video = [] });
        var env = new Env();
        var memfd = new MemfdCreate(4096, false, 0) { Id = 1 };
        Assert.True(memfd.Run(model, env).Ok);
        // a step of P1 naming the suite's own handle (as a shrink candidate that dropped the send may) is not run
        Assert.Equal(Errno.NotRun, (new FcntlGetFd(new Var(1)) { Id = 2, Process = 1 }).Run(model, env).Errno);
        Assert.True((new SendFd(new Var(1), 1, false) { Id = 3 }).Run(model, env).Ok);
        Assert.Equal(Errno.NotRun, (new FcntlGetFd(new Var(3)) { Id = 4 }).Run(model, env).Errno);
        Assert.True((new FcntlGetFd(new Var(3)) { Id = 5, Process = 1 }).Run(model, env).Ok);
        // after a fork the child holds a copy under the same name, and the parent's close leaves it open
        Assert.True((new Fork(2) { Id = 6, Process = 1 }).Run(model, env).Ok);
        Assert.True((new Close(new Var(3)) { Id = 7, Process = 1 }).Run(model, env).Ok);
        Assert.True((new FcntlGetFd(new Var(3)) { Id = 8, Process = 2 }).Run(model, env).Ok);
        Assert.Equal(Errno.NotRun, (new FcntlGetFd(new Var(3)) { Id = 9, Process = 1 }).Run(model, env).Errno);
        // an exit ends every handle of that process
        Assert.True((new ExitProcess { Id = 10, Process = 2 }).Run(model, env).Ok);
        Assert.Equal(Errno.NotRun, (new FcntlGetFd(new Var(3)) { Id = 11, Process = 2 }).Run(model, env).Errno);
    }

    [Fact]
    public void A_second_fork_ends_the_child_of_the_first_as_the_adapters_do()
    {
        var model = new ReferenceModel(TargetProfile.VividLike with { Video = [] });
        var env = new Env();
        var heap = TargetProfile.VividLike.Heaps[0].Device;
        Op[] ops =
        [
            new Open(heap, O_RDONLY | O_CLOEXEC) { Id = 1 },
            new DmaHeapAlloc(new Var(1), 4096, (uint)(O_RDWR | O_CLOEXEC), 0, 0, HeapAbi.Current) { Id = 2 },
            new SendFd(new Var(2), 1, false) { Id = 3 },
            new Fork(2) { Id = 4, Process = 1 },
            new Close(new Var(2)) { Id = 5 },
            new Close(new Var(3)) { Id = 6, Process = 1 },
        ];
        foreach (var op in ops) Assert.True(op.Run(model, env).Ok, op.Text);
        Assert.Equal(1, model.LiveDmaBufs());   // only the first child's copy holds it
        Assert.True((new Fork(2) { Id = 7, Process = 1 }).Run(model, env).Ok);
        Assert.Equal(0, model.LiveDmaBufs());   // that child was ended first: its copy went with it
        Assert.Equal(0, (new ExitProcess { Id = 8, Process = 2 }).Run(model, env).R0);
    }

    /// <summary>A memfd shared by three processes, as any machine has one: sent to P1, mapped on both sides, written on one
    /// side and read on the other; P1 forks P2, which reads and writes the mapping it inherited and closes its copy of the fd
    /// (P1's stays open); sent back, closed in P1; with <paramref name="exits"/>, P2 and P1 exit (bufinfo counts what that
    /// released, or -1 where it cannot be read).</summary>
    private static OpSequence SharedMemfd(bool exits = false)
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
            new Fork(2) { Id = 15, Process = 1 },
            new ReadStamp(v(4), 16) { Id = 16, Process = 2 },
            new WriteStamp(v(4), 24, 0x55) { Id = 17, Process = 2 },
            new ReadStamp(v(6), 24) { Id = 18 },
            new Close(v(2)) { Id = 19, Process = 2 },
            new FcntlGetFd(v(2)) { Id = 20, Process = 1 },
            new Munmap(v(4)) { Id = 12, Process = 1 },
            new Close(v(2)) { Id = 13, Process = 1 },
            new FcntlGetFd(v(10)) { Id = 14 },
        ];
        Op[] exit = [new ExitProcess { Id = 21, Process = 2 }, new ExitProcess { Id = 22, Process = 1 }];
        return new OpSequence(1, [.. ops, .. exits ? exit : []]);
    }

    [Fact]
    public void The_kernel_adapter_agrees_with_the_model_on_a_memfd_two_processes_share()
    {
        Assert.True(File.Exists(KernelTarget.HelperPath), $"{KernelTarget.HelperPath}: dotnet build builds it with the machine's C compiler");
        var profile = TargetProfile.VividLike with { Video = [] };
        using var kernel = new KernelTarget(profile, new Dictionary<string, string>());
        var failure = new LockstepProperty().Trace(SharedMemfd(exits: true), kernel, null, out var steps);
        Assert.True(failure == null, failure == null ? "" : $"{failure.InvariantId} at step {failure.StepIndex + 1}: expected {failure.Expected}, got {failure.Actual}");
        Assert.Equal(0x77, steps[6].Actual.R0);
        Assert.Equal(0x99, steps[8].Actual.R0);
        Assert.Equal(0x99, steps[12].Actual.R0);   // P2 reads the mapping it inherited
        Assert.Equal(0x55, steps[14].Actual.R0);   // and what it wrote there is this process's too
        Assert.Equal(FD_CLOEXEC, steps[16].Actual.R0);   // P2's close left P1's copy open, its flag as it was
        Assert.True(steps[18].Actual.Ok && steps[19].Actual.Ok, "the fd sent back outlives the sender's close");
        Assert.True(steps[20].Actual.Ok && steps[21].Actual.Ok, "both exits are waited for");
    }

    [Fact]
    public void The_c_reproducer_runs_the_second_process_s_steps_in_itself_started_again_and_agrees()
    {
        var profile = TargetProfile.VividLike with { Video = [] };
        var site = new RunSite("model", profile.Name, profile, null, null, RunSite.DefaultPaths(profile));
        new LockstepProperty().Trace(SharedMemfd(), new ReferenceModel(profile), null, out var steps);
        var rf = Counterexamples.Sample(site, Program.Parse([]), "lockstep", 1, 1, steps, "test");
        var source = CReproducer.Write(rf);   // (no device: its device() lookup goes unused, hence -Wno-unused-function)
        Assert.Contains("p_serve", source);
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
