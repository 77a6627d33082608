using Conformance.Generators;
using FsCheck;
using FsCheck.Fluent;

namespace Conformance.Properties;

/// <summary>
/// Expands a property's sequences ahead of their use, on a thread of its own, while the target runs the sequences before
/// them: a sequence depends on nothing the target does, only on its draw (<see cref="Drawing"/>), so generation overlaps the
/// target's time instead of adding to it (it was over half of a default model run's property time and a twelfth of a lab run).
/// <para>
/// The draws are FsCheck's own. Before expanding a batch the thread runs the batch's FsCheck configuration once over the draws
/// alone (<see cref="Engine.BatchConfig"/>: the same random stream, so the same draws in the same order, a few microseconds
/// each), then expands them in order with a <see cref="SequenceGenerator.Twin"/> of the run's generator, at most
/// <see cref="Ahead"/> sequences ahead. The batch's real FsCheck run asks for each draw in turn (<see cref="Arbitrary"/>): the
/// sequence made ahead is used when it is that draw's; any other (a batch the thread did not reach or passed, a draw that
/// differs, and after an expansion on the thread threw, that draw and every one after it: the thread stops there) is
/// expanded there and then, on the asking thread, by the run's generator, as without this class. (A batch the engine ends
/// early, every invariant it judges settled, leaves up to <see cref="Ahead"/> sequences made for nothing.) Which thread made a sequence never changes it, nor what a run judges. A sequence's domain draws
/// (<see cref="SequenceGenerator.Tally"/>) are counted when it is used: one made ahead and never used counts nowhere.
/// </para>
/// </summary>
public sealed class Prefetch : IDisposable
{
    /// <summary>The most sequences made ahead and not yet used.</summary>
    public const int Ahead = 64;

    /// <summary>What the draws of a batch's sequences before <c>skip</c> become (<see cref="Arbitrary"/>): sequences that were
    /// run before, up to a failure, and that the engine does not run again, so none is made.</summary>
    public static readonly OpSequence Skipped = new(0, []);

    private readonly Drawing _drawing;
    private readonly SequenceGenerator _gen;
    private readonly object _lock = new();
    private readonly Queue<Made> _ready = new();
    private readonly Thread _thread;
    private bool _stop, _done;
    /// <summary>The position (batch ordinal, index) of the last sequence the thread has made or passed.</summary>
    private (int Batch, int Index) _at = (-1, -1);

    private readonly record struct Made(int Batch, int Index, Draw Draw, OpSequence Seq, (Domain, int)[] Tally);

    /// <param name="drawing">The property's drawing.</param>
    /// <param name="gen">The run's generator: what a sequence not made ahead is expanded by, and whose tally counts every used
    /// sequence's domain draws. Its <see cref="SequenceGenerator.Twin"/> makes the rest on the thread.</param>
    /// <param name="batches">The batches the property will run, in order, each its seed and number of sequences (may not end:
    /// the thread stops <see cref="Ahead"/> sequences ahead, and at <see cref="Dispose"/>).</param>
    public Prefetch(Drawing drawing, SequenceGenerator gen, IEnumerable<(ulong Seed, int Size)> batches)
    {
        _drawing = drawing;
        _gen = gen;
        var twin = gen.Twin();
        _thread = new Thread(() => Make(twin, batches)) { IsBackground = true, Name = "conformance-prefetch" };
        _thread.Start();
    }

    private void Make(SequenceGenerator twin, IEnumerable<(ulong Seed, int Size)> batches)
    {
        try
        {
            int ordinal = 0;
            foreach (var (seed, size) in batches)
            {
                var draws = Draws(_drawing, seed, size);
                for (int k = 0; k < draws.Count; k++)
                {
                    lock (_lock)
                    {
                        while (_ready.Count >= Ahead && !_stop) Monitor.Wait(_lock);
                        if (_stop) return;
                    }
                    var seq = _drawing.Expand(twin, draws[k]);
                    var tally = twin.Tally.Release();
                    lock (_lock)
                    {
                        _ready.Enqueue(new Made(ordinal, k, draws[k], seq, tally));
                        _at = (ordinal, k);
                        Monitor.PulseAll(_lock);
                    }
                }
                ordinal++;
            }
        }
        catch (Exception)
        {
            // (an expansion that throws throws again where the run asks for that draw, on its own thread: reported there;
            // every draw from there on is expanded on the asking thread)
        }
        finally
        {
            lock (_lock) { _done = true; Monitor.PulseAll(_lock); }
        }
    }

    /// <summary>The draws of one batch, in the order its FsCheck run asks for them: that run's configuration, over the draws alone.</summary>
    public static List<Draw> Draws(Drawing drawing, ulong seed, int size)
    {
        var draws = new List<Draw>(size);
        Check.One(Engine.BatchConfig(seed, size), Prop.ForAll(Arb.From(drawing.Draws), (Draw d) => { draws.Add(d); return true; }));
        return draws;
    }

    /// <summary>
    /// FsCheck's arbitrary for one run of batch <paramref name="batch"/> (its ordinal among the batches given at construction):
    /// the i-th draw asked for becomes the sequence made ahead for position (batch, i) when there is one of that draw, and is
    /// expanded on the asking thread otherwise; draws before <paramref name="skip"/> become <see cref="Skipped"/>. Shrinking uses
    /// <see cref="Shrink.Candidates"/>.
    /// </summary>
    public Arbitrary<OpSequence> Arbitrary(int batch, int skip)
    {
        int asked = 0;
        return Arb.From(_drawing.Draws.Select(d =>
        {
            int i = asked++;
            return i < skip ? Skipped : Take(batch, i, d);
        }), Shrink.Candidates);
    }

    private OpSequence Take(int batch, int index, Draw d)
    {
        var want = (batch, index);
        lock (_lock)
        {
            while (true)
            {
                if (_ready.TryPeek(out var m))
                {
                    var at = (m.Batch, m.Index);
                    if (Before(at, want)) { _ready.Dequeue(); Monitor.PulseAll(_lock); continue; }   // made, never asked for
                    if (at == want && m.Draw == d)
                    {
                        _ready.Dequeue();
                        Monitor.PulseAll(_lock);
                        _gen.Tally.Count(m.Tally);
                        UsedAhead++;
                        return m.Seq;
                    }
                    break;   // passed, or made of another draw
                }
                if (_done || !Before(_at, want)) break;   // the thread will not make it
                Monitor.Wait(_lock);
            }
        }
        MadeHere++;
        return _drawing.Expand(_gen, d);
    }

    /// <summary>Sequences asked for that had been made ahead, and those expanded on the asking thread (for the asking thread).</summary>
    public int UsedAhead { get; private set; }
    /// <inheritdoc cref="UsedAhead"/>
    public int MadeHere { get; private set; }

    private static bool Before((int Batch, int Index) a, (int Batch, int Index) b) => a.Batch < b.Batch || a.Batch == b.Batch && a.Index < b.Index;

    /// <summary>Stops the thread (after the sequence it is making) and waits for it.</summary>
    public void Dispose()
    {
        lock (_lock) { _stop = true; Monitor.PulseAll(_lock); }
        _thread.Join();
    }
}
