using Conformance.Generators;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// The handle bindings (<see cref="Env"/>): per process, ids bound, resolved and killed; a fork's copies; a parallel block's
/// copies merged back. Ids are op ids: small for generated sequences, but a replay file may carry any up to int.MaxValue,
/// which must bind as a small one does (a review found an id of int.MaxValue overflowed the arrays' growth).
/// </summary>
public class EnvTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65_535)]
    [InlineData(65_536)]
    [InlineData(300_000_000)]
    [InlineData(int.MaxValue)]
    public void An_id_binds_resolves_and_dies_in_its_own_process_whatever_its_size(int id)
    {
        var env = new Env();
        env.Bind(id, 7, process: 0, mapping: false);
        env.Bind(id, 9, process: 1, mapping: true);
        Assert.True(env.Resolve(new Var(id), out int h) && h == 7);
        Assert.True(env.IsLive(new Var(id)));
        env.Current = 1;
        Assert.True(env.Resolve(new Var(id), out h) && h == 9);
        env.Kill(new Var(id));
        Assert.False(env.Resolve(new Var(id), out _));
        env.Current = 0;
        Assert.True(env.Resolve(new Var(id), out h) && h == 7);

        var copy = env.Clone();
        copy.Kill(new Var(id));
        copy.Bind(id == int.MaxValue ? id - 1 : id + 1, 11);
        Assert.True(env.Resolve(new Var(id), out h) && h == 7);   // a clone is its own
        var merged = env.Clone();
        merged.Merge(env, copy);
        Assert.False(merged.Resolve(new Var(id), out _));
        Assert.True(merged.Resolve(new Var(id == int.MaxValue ? id - 1 : id + 1), out h) && h == 11);

        env.Fork(0, 2, (handle, mapping) => handle + 100);
        env.Current = 2;
        Assert.True(env.Resolve(new Var(id), out h) && h == 107);
        env.KillProcess(2);
        Assert.False(env.Resolve(new Var(id), out _));
        env.Clear();
        Assert.Equal(0, env.Current);
        Assert.False(env.Resolve(new Var(id), out _));
        Assert.True(env.Resolve(Var.BadFd, out h) && h == -1);
    }
}
