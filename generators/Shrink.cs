using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using static Conformance.Adapters.Uapi;

namespace Conformance.Generators;

/// <summary>
/// Shrinking for op sequences: drop chunks of ops (halves down to single ops), inline dups (a later
/// use of the dup's handle names the original instead), merge two opens of one device into the first,
/// turn a queue's imported memory into MMAP, then simplify arguments op by op. Handles are
/// symbolic, so a removed creator simply leaves its users NotRun, and the next round drops them.
/// </summary>
public static class Shrink
{
    public static IEnumerable<OpSequence> Candidates(OpSequence s)
    {
        var ops = s.Ops;
        // 1. ops whose handles are gone are pure noise: drop all of them at once
        var defined = new HashSet<int>();
        var pruned = ImmutableArray.CreateBuilder<Op>();
        foreach (var op in ops)
        {
            if (op.Uses.All(v => defined.Contains(v.Id)))
            {
                pruned.Add(op);
                if (op.Creates) defined.Add(op.Id);
            }
        }
        if (pruned.Count < ops.Length) yield return s with { Ops = pruned.ToImmutable() };

        // 2. remove chunks, largest first
        for (int chunk = ops.Length / 2; chunk >= 1; chunk /= 2)
            for (int start = ops.Length - chunk; start >= 0; start -= chunk)
                yield return s with { Ops = ops.RemoveRange(start, chunk) };

        // 3. inline a dup: its users take the original handle
        for (int i = 0; i < ops.Length; i++)
        {
            if (ops[i].AliasOf.Id <= 0) continue;
            var from = new Var(ops[i].Id);
            var to = ops[i].AliasOf;
            var b = ImmutableArray.CreateBuilder<Op>(ops.Length - 1);
            for (int j = 0; j < ops.Length; j++)
                if (j != i) b.Add(j > i ? ops[j].MapVars(v => v == from ? to : v) : ops[j]);
            yield return s with { Ops = b.ToImmutable() };
        }

        // 4. one handle instead of two: a later open of the same device, with the same flags, gives way to an earlier one (its
        //    users take the earlier handle), where the two handles were not what mattered
        for (int i = 0; i < ops.Length; i++)
        {
            if (ops[i] is not Open first) continue;
            for (int j = i + 1; j < ops.Length; j++)
            {
                if (ops[j] is not Open second || second.Device != first.Device || second.Flags != first.Flags) continue;
                Var from = new(second.Id), to = new(first.Id);
                var b = ImmutableArray.CreateBuilder<Op>(ops.Length - 1);
                for (int k = 0; k < ops.Length; k++)
                    if (k != j) b.Add(k > j ? ops[k].MapVars(v => v == from ? to : v) : ops[k]);
                yield return s with { Ops = b.ToImmutable() };
            }
        }

        // 5. MMAP memory instead of imported memory: every REQBUFS, CREATE_BUFS and QBUF of one imported type at once (one op at
        //    a time would leave a queue's memory and its QBUFs disagreeing); the steps that made the memory can go next
        foreach (uint m in (uint[])[V4L2_MEMORY_DMABUF, V4L2_MEMORY_USERPTR])
            if (ops.Any(o => o is ReqBufs { Memory: var x } && x == m || o is CreateBufs { Memory: var y } && y == m || o is QBuf { Memory: var z } && z == m))
                yield return s with
                {
                    Ops = [.. ops.Select(o => o switch
                    {
                        ReqBufs r when r.Memory == m => r with { Memory = V4L2_MEMORY_MMAP },
                        CreateBufs c when c.Memory == m => c with { Memory = V4L2_MEMORY_MMAP },
                        QBuf q when q.Memory == m => q with { Memory = V4L2_MEMORY_MMAP, Mem = Var.None, MorePlanes = default },
                        _ => o,
                    })],
                };

        // 6. simpler arguments
        for (int i = 0; i < ops.Length; i++)
            foreach (var simpler in ops[i].Simplify())
                yield return s with { Ops = ops.SetItem(i, simpler) };
    }

    /// <summary>
    /// How the suite's generated sequences are drawn: FsCheck draws the seed and a size-driven length (5 to
    /// maxLength + 4: the length the expansion is given; a parallel block may add ops); the generator expands them deterministically (<see cref="SequenceGenerator.Generate"/>, or
    /// <see cref="SequenceGenerator.GenerateParallel"/> for sequences that end in a parallel block).
    /// </summary>
    public static Drawing Drawing(int maxLength, bool parallel = false) =>
        new(Gen.Sized(size => Gen.Choose(0, int.MaxValue).Two().Select(t =>
            new Draw(((ulong)(uint)t.Item1 << 32) | (uint)t.Item2, 4 + Math.Min(maxLength, size * maxLength / 100 + 1)))),
            parallel ? static (g, d) => g.GenerateParallel(d.Seed, d.Length) : static (g, d) => g.Generate(d.Seed, d.Length));

    /// <summary>FsCheck arbitrary of <see cref="Drawing(int, bool)"/>'s sequences, expanded by gen; shrinking uses <see cref="Candidates"/>.</summary>
    public static Arbitrary<OpSequence> Arbitrary(SequenceGenerator gen, int maxLength, bool parallel = false) => Drawing(maxLength, parallel).Arbitrary(gen);
}

/// <summary>What FsCheck draws for one sequence: the seed its generator expands and the length the expansion is given (the
/// ops it draws before any parallel block, which may add a few; 0 where the expansion chooses its own).</summary>
public readonly record struct Draw(ulong Seed, int Length);

/// <summary>
/// How a property's sequences come about: FsCheck draws each one's <see cref="Draw"/> from <see cref="Draws"/> (its random
/// stream is the batch seed's, so a batch draws the same ones every time it runs), and <see cref="Expand"/> turns a draw into
/// the sequence. Expand depends on nothing but the draw and the generator's profile and settings: any generator of the same
/// profile and settings makes the same sequence of it, which is what lets the engine expand a batch's draws ahead, on another
/// thread, while the target runs the sequences before them.
/// </summary>
public sealed class Drawing(Gen<Draw> draws, Func<SequenceGenerator, Draw, OpSequence> expand)
{
    /// <summary>FsCheck's generator of the draws.</summary>
    public Gen<Draw> Draws { get; } = draws;

    /// <summary>The sequence of one draw, made by gen (counted in its <see cref="SequenceGenerator.Tally"/>).</summary>
    public OpSequence Expand(SequenceGenerator gen, Draw d) => expand(gen, d);

    /// <summary>FsCheck's arbitrary: each draw expanded by gen as FsCheck asks for it; shrinking uses <see cref="Shrink.Candidates"/>.</summary>
    public Arbitrary<OpSequence> Arbitrary(SequenceGenerator gen) => Arb.From(Draws.Select(d => expand(gen, d)), Shrink.Candidates);
}
