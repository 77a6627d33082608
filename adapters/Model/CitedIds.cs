namespace Conformance.Adapters.Model;

/// <summary>
/// One combination of catalog IDs a step cites, in the order cited (the deciding one last): a node of a tree all models share,
/// whose root is the empty combination and whose child for an ID is this combination with that ID after it. A model follows
/// the tree as its op cites (<see cref="Then"/>), so the step's IDs are ready when the op returns (<see cref="Ids"/>), with a
/// number of their own (<see cref="Key"/>) that counts them without hashing a string (<c>Exercise.HitCited</c>).
/// </summary>
/// <remarks>
/// The same IDs come again and again: a run meets some thousands of combinations (a review counted 6,224 over 40 broken
/// variants of 150 sequences each, still growing slowly), and a step that cites finds its child among a few, by reference
/// first (the catalog's constants), then by value. A node's IDs and number never change; a child is added under the
/// parent's lock, as a new array of children that replaces the old one whole, so any thread reads the tree without a lock. A combination of more than <see cref="MaxDepth"/> IDs (one op that cites a rule for each of many fds), and any
/// past <see cref="MaxNodes"/> nodes, gets a node outside the tree, with <see cref="Key"/> -1: each such node copies its
/// parent's IDs, which the tree's nodes do once.
/// </remarks>
public sealed class CitedIds
{
    /// <summary>The IDs, in the order cited: never written after the node is made (a step's record keeps it).</summary>
    public string[] Ids { get; }
    /// <summary>A number of this combination's own, from 0 up in the order combinations were first cited in the process;
    /// -1 for a combination outside the tree.</summary>
    public int Key { get; }

    /// <summary>The empty combination.</summary>
    public static readonly CitedIds None = new([], 0);

    /// <summary>How many combinations the tree holds at most.</summary>
    public const int MaxNodes = 1 << 16;
    /// <summary>How many IDs a combination in the tree has at most.</summary>
    public const int MaxDepth = 24;
    private static int _nodes = 1;

    /// <summary>This node's children, each with the ID it adds; a node off the tree, or at <see cref="MaxDepth"/>, has none.</summary>
    private (string Id, CitedIds Node)[] _children = [];

    private readonly object _lock = new();

    private CitedIds(string[] ids, int key) { Ids = ids; Key = key; }

    /// <summary>This combination with <paramref name="id"/> cited after it.</summary>
    public CitedIds Then(string id)
    {
        var kids = Volatile.Read(ref _children);
        for (int i = 0; i < kids.Length; i++) if (ReferenceEquals(kids[i].Id, id)) return kids[i].Node;
        return Find(kids, id) ?? Add(id);
    }

    private static CitedIds? Find((string Id, CitedIds Node)[] kids, string id)
    {
        foreach (var (kid, node) in kids) if (kid == id) return node;
        return null;
    }

    private CitedIds Add(string id)
    {
        string[] ids = [.. Ids, id];
        if (Key < 0 || ids.Length > MaxDepth) return new CitedIds(ids, -1);
        lock (_lock)
        {
            if (Find(_children, id) is { } found) return found;
            if (_nodes >= MaxNodes) return new CitedIds(ids, -1);
            var node = new CitedIds(ids, Interlocked.Increment(ref _nodes) - 1);
            Volatile.Write(ref _children, [.. _children, (id, node)]);
            return node;
        }
    }
}
