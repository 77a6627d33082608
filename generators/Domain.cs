using System.Reflection;

namespace Conformance.Generators;

/// <summary>
/// One value of an argument domain: how often the generator draws it (a weight relative to the domain's other values),
/// what it is, whether the documentation lists it for the field (<see cref="Valid"/>; an invalid value is one a
/// well-behaved caller never passes, and what the kernel must do with it is the catalog's business, not the domain's),
/// and a label for listings and coverage.
/// </summary>
public sealed record DomainValue<T>(int Weight, T Value, bool Valid, string Label);

/// <summary>
/// An argument domain as data, the way syzkaller declares flag sets: the values one uapi field (or several fields of the
/// same meaning) is given, each valid or invalid, with weights. The generator draws from the declaration and nothing
/// else, so what a run can send is read here, and <see cref="DomainTally"/> counts what it did send.
/// </summary>
public abstract class Domain
{
    /// <summary>Short name, unique in <see cref="Domains"/> ("v4l2_exportbuffer.flags").</summary>
    public required string Name { get; init; }
    /// <summary>Where the valid values are documented (a kernel doc, a uapi header, the code that checks them).</summary>
    public required string Source { get; init; }
    /// <summary>Its member name in <see cref="Domains"/> (what <see cref="DrawnFromAttribute"/> names).</summary>
    public string Key { get; internal set; } = "";
    /// <summary>The op fields drawn from it, as "Op.Field" (ExpBuf.Flags): the op arguments marked [DrawnFrom] with its key, in declaration order.</summary>
    public IReadOnlyList<string> Fields => DomainRegistry.FieldsOf(Key);
    /// <summary>The values in declaration order (the order the draw walks, so it is part of what a seed means).</summary>
    public abstract IReadOnlyList<(int Weight, bool Valid, string Label)> Entries { get; }
    /// <summary>Values computed from the state they are drawn in (a size relative to the buffer's): their op field holds
    /// the result, so only the draw can say which entry a value came from.</summary>
    public abstract bool Relative { get; }
    /// <summary>The declared value of an absolute domain, boxed (for the test that every generated value is declared).</summary>
    public abstract object? ValueAt(int index);

    /// <summary>This domain's number among all made in the process, from 0: where a <see cref="DomainTally"/> keeps its
    /// counts (an array indexed by it, not a dictionary: every draw of a generated argument counts there).</summary>
    internal int Ordinal { get; } = Interlocked.Increment(ref s_made) - 1;
    private static int s_made;

    /// <summary>
    /// The index of one value, drawn by weight: exactly one <see cref="Rng.Below"/> over the total weight, walking the
    /// entries in order (the same draw as <see cref="Rng.Weighted{T}"/>). A reweight replaces the weight of the entry
    /// with that label for this draw only (a state that makes a value more interesting, such as REQBUFS(0) once buffers
    /// are mapped).
    /// </summary>
    public int DrawIndex(ref Rng r, string? reweightLabel = null, int reweight = 0)
    {
        // the declared weights, summed once; a reweight replaces the weight of the one entry with its label (labels are
        // unique in a domain), and the total with it
        var walk = Volatile.Read(ref _walk) ?? MakeWalk();
        var weights = walk.Weights;
        int n = weights.Length - 1;
        // (the plain draw, most of them: the entry the walk would stop at, read from the table of them by the one draw
        // (where the table is made), else Rng's walk, without asking at each entry whether it is the reweighted one)
        if (reweightLabel == null)
            return walk.Stops is { } stops ? stops[r.Below(stops.Length)] : r.WeightedIndex(weights.AsSpan(0, n), weights[n]);
        int k = IndexOf(reweightLabel);
        int at = r.Below(k < 0 ? weights[n] : weights[n] - weights[k] + reweight);
        for (int i = 0; i < n; i++)
        {
            int w = i == k ? reweight : weights[i];
            if (at < w) return i;
            at -= w;
        }
        return n - 1;
    }

    /// <summary>
    /// A domain's draw, made at its first draw (a domain's entries never change) and published whole: generators on several
    /// threads draw from the same domains. Weights: the declared weights in order, then their sum. Stops: for each value
    /// <c>Below(sum)</c> can return, the entry the walk over the weights stops at (<see cref="Rng.Stops"/>: the same draw in
    /// one step, so the same sequences); null where that makes none (and the draw walks).
    /// </summary>
    private sealed class Walk(int[] weights, byte[]? stops)
    {
        public readonly int[] Weights = weights;
        public readonly byte[]? Stops = stops;
    }
    private Walk? _walk;

    private Walk MakeWalk()
    {
        var entries = Entries;
        var w = new int[entries.Count + 1];
        for (int i = 0; i < entries.Count; i++) { w[i] = entries[i].Weight; w[^1] += entries[i].Weight; }
        // (the weights' running sums, for the table of stops; a domain of more entries than a byte numbers walks)
        byte[]? stops = null;
        if (entries.Count <= 256)
        {
            Span<int> ends = stackalloc int[entries.Count];
            for (int i = 0, sum = 0; i < entries.Count; i++) ends[i] = sum += w[i];
            stops = Rng.Stops(ends);
        }
        var walk = new Walk(w, stops);
        return Interlocked.CompareExchange(ref _walk, walk, null) ?? walk;
    }

    /// <summary>The index of the entry with this label, or -1.</summary>
    private int IndexOf(string label)
    {
        // (the labels in an array of their own, made once: a walk through the entries' list interface is two dispatches an
        // entry, at every reweighted draw)
        var labels = Volatile.Read(ref _labels) ?? Labels();
        for (int i = 0; i < labels.Length; i++) if (labels[i] == label) return i;
        return -1;
    }

    // the entries' labels in order, made at the first reweighted draw and published whole, as the weights
    private string[]? _labels;

    private string[] Labels()
    {
        var labels = Entries.Select(e => e.Label).ToArray();
        return Interlocked.CompareExchange(ref _labels, labels, null) ?? labels;
    }
}

/// <summary>A domain of <typeparamref name="T"/> values; T is a function of the drawing state for a relative domain.</summary>
public sealed class Domain<T> : Domain
{
    private readonly DomainValue<T>[] _values;
    private readonly (int, bool, string)[] _entries;

    public Domain(params DomainValue<T>[] values)
    {
        if (values.Length == 0) throw new ArgumentException("a domain needs at least one value");
        _values = values;
        _entries = values.Select(v => (v.Weight, v.Valid, v.Label)).ToArray();
    }

    public override IReadOnlyList<(int Weight, bool Valid, string Label)> Entries => _entries;
    public IReadOnlyList<DomainValue<T>> Values => _values;
    public override bool Relative => typeof(Delegate).IsAssignableFrom(typeof(T));
    public override object? ValueAt(int index) => Relative ? null : _values[index].Value;

    /// <summary>Draws one value (see <see cref="Domain.DrawIndex"/>) and counts it in <paramref name="tally"/>.</summary>
    public T Draw(ref Rng r, DomainTally? tally, string? reweightLabel = null, int reweight = 0)
    {
        int i = DrawIndex(ref r, reweightLabel, reweight);
        tally?.Count(this, i);
        return _values[i].Value;
    }
}

/// <summary>Shorthands for declaring domain values: <c>Ok(weight, value)</c> is documented, <c>Bad(weight, value)</c> is not.</summary>
public static class DomainValues
{
    public static DomainValue<T> Ok<T>(int weight, T value, string? label = null) => new(weight, value, true, label ?? Label(value));
    public static DomainValue<T> Bad<T>(int weight, T value, string? label = null) => new(weight, value, false, label ?? Label(value));
    private static string Label<T>(T value) => value switch
    {
        null => "null",
        Delegate => throw new ArgumentException("a relative value needs a label"),
        uint u => u < 0x10000 ? u.ToString() : $"0x{u:x}",
        ulong u => u < 0x10000 ? u.ToString() : $"0x{u:x}",
        _ => value.ToString()!,
    };
}

/// <summary>
/// How many times each declared value was drawn: the coverage of the argument domains by the sequences a run generated
/// (shrinking's simplified arguments are not drawn and not counted). Safe to share between threads.
/// </summary>
public sealed class DomainTally
{
    // lock-free: a count is one interlocked add into the domain's array (every draw of a generated argument counts here),
    // found by the domain's ordinal; a domain's array is made, and the table grown, under the lock, and published whole
    private long[]?[] _counts = new long[]?[64];
    private readonly object _grow = new();

    /// <summary>The domain's counts, made at its first count.</summary>
    private long[] CountsOf(Domain d)
    {
        var all = Volatile.Read(ref _counts);
        return (uint)d.Ordinal < (uint)all.Length && Volatile.Read(ref all[d.Ordinal]) is { } c ? c : Made(d);
    }

    private long[] Made(Domain d)
    {
        lock (_grow)
        {
            var all = _counts;
            if (d.Ordinal >= all.Length)
            {
                Array.Resize(ref all, Math.Max(all.Length * 2, d.Ordinal + 1));
                Volatile.Write(ref _counts, all);
            }
            return all[d.Ordinal] ??= new long[d.Entries.Count];
        }
    }

    public void Count(Domain d, int index)
    {
        if (_held != null) _held.Add((d, index));
        else Add(d, index, 1);
    }

    /// <summary>Draws held back (a <see cref="Held"/> tally's): counted nowhere until <see cref="Release"/>.</summary>
    private readonly List<(Domain, int)>? _held;

    private DomainTally(bool held) => _held = held ? new() : null;
    public DomainTally() : this(false) { }

    /// <summary>A tally that holds its draws back instead of counting them, for one thread: what a generator that expands
    /// sequences ahead of their use draws (they are counted where a sequence is used, and a sequence never used is never
    /// counted).</summary>
    public static DomainTally Held() => new(true);

    /// <summary>The draws held since the last call, taken out of this held tally (empty for another).</summary>
    public (Domain Domain, int Index)[] Release()
    {
        if (_held is not { Count: > 0 }) return [];
        var taken = _held.ToArray();
        _held.Clear();
        return taken;
    }

    /// <summary>Counts draws another tally held back (<see cref="Release"/>).</summary>
    public void Count(IEnumerable<(Domain Domain, int Index)> draws)
    {
        foreach (var (d, i) in draws) Count(d, i);
    }

    /// <summary>Adds n draws of the value at index (a run's counts read back from results.json, shard by shard, by --merge).</summary>
    public void Add(Domain d, int index, long n) => Interlocked.Add(ref CountsOf(d)[index], n);

    /// <summary>Times the value at index was drawn.</summary>
    public long this[Domain d, int index]
    {
        get
        {
            var all = Volatile.Read(ref _counts);
            return (uint)d.Ordinal < (uint)all.Length && Volatile.Read(ref all[d.Ordinal]) is { } c ? Interlocked.Read(ref c[index]) : 0;
        }
    }

    /// <summary>Per declared domain (all of <see cref="Domains.All"/>, in order): each value's label, validity and count.</summary>
    public IReadOnlyList<(Domain Domain, IReadOnlyList<(string Label, bool Valid, long Count)> Values)> Report() =>
        Domains.All.Select(d => (d, (IReadOnlyList<(string, bool, long)>)d.Entries.Select((e, i) => (e.Label, e.Valid, this[d, i])).ToList())).ToList();
}

/// <summary>
/// Says which declared domain an op argument is drawn from, where the op declares the argument (syzkaller's way: the
/// argument's type names its flag set): <c>[DrawnFrom(nameof(Domains.SyncFlags))] ulong Flags</c>. An argument drawn
/// from two domains in turn (a list's length, then its items) carries both.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter | AttributeTargets.Property, AllowMultiple = true)]
public sealed class DrawnFromAttribute(string domain) : Attribute
{
    /// <summary>The domain's member name in <see cref="Domains"/>.</summary>
    public string Domain { get; } = domain;
}

/// <summary>Says that an op argument's value comes from the state it is generated in, not from a declared domain, and why
/// (the queue's own buffer type, a word within the mapping).</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class DerivedAttribute(string reason) : Attribute
{
    public string Reason { get; } = reason;
}

/// <summary>Reflection over <see cref="Domains"/> and the op records: every declared domain in declaration order, and the
/// op arguments that name each.</summary>
public static class DomainRegistry
{
    internal static IReadOnlyList<Domain> Collect(Type t) =>
        t.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => typeof(Domain).IsAssignableFrom(f.FieldType))
            .OrderBy(f => f.MetadataToken).Select(f => { var d = (Domain)f.GetValue(null)!; d.Key = f.Name; return d; }).ToList();

    /// <summary>Every op record (concrete subclass of <see cref="Op"/>), in declaration order.</summary>
    public static IReadOnlyList<Type> OpTypes { get; } = typeof(Op).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(Op)) && !t.IsAbstract).OrderBy(t => t.MetadataToken).ToArray();

    /// <summary>An op's arguments: the parameters of its primary constructor (its longest), in order.</summary>
    public static IReadOnlyList<ParameterInfo> Arguments(Type op) =>
        op.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First().GetParameters();

    private static ILookup<string, string>? _fields;

    /// <summary>"Op.Field" for each argument marked [DrawnFrom(key)], and "Op.Property" for each property every op has
    /// (<see cref="Op.ReadOnlyArg"/>) so marked.</summary>
    public static IReadOnlyList<string> FieldsOf(string key) =>
        (_fields ??= OpTypes.SelectMany(t => Arguments(t).SelectMany(p => p.GetCustomAttributes<DrawnFromAttribute>().Select(a => (a.Domain, Field: $"{t.Name}.{p.Name}"))))
            .Concat(typeof(Op).GetProperties().SelectMany(p => p.GetCustomAttributes<DrawnFromAttribute>().Select(a => (a.Domain, Field: $"Op.{p.Name}"))))
            .ToLookup(x => x.Domain, x => x.Field))[key].ToList();

    /// <summary>"Op.Field" → the reason, for each argument marked [Derived].</summary>
    public static IReadOnlyDictionary<string, string> Derived { get; } = OpTypes
        .SelectMany(t => Arguments(t).Select(p => (Field: $"{t.Name}.{p.Name}", Attr: p.GetCustomAttribute<DerivedAttribute>())))
        .Where(x => x.Attr != null).ToDictionary(x => x.Field, x => x.Attr!.Reason);
}
