namespace Conformance.Adapters.Kernel;

/// <summary>
/// What the kernel adapter knows of each fd it holds, indexed by the fd's number (the subset of a concurrent dictionary's
/// interface the adapter uses). The kernel gives each new fd the lowest free number (open(2)), so the numbers a sequence
/// holds are small and dense, and a lookup is an array read instead of a hashed one; every op looks its fds up.
/// </summary>
/// <remarks>A parallel block's branches call the adapter from threads of their own (DMABUF-PAR-1), one closing an fd
/// while another looks it up. Each slot holds an immutable entry, written and read whole as one reference, so a reader
/// sees the fd's entry before or after a change, never a mix. Writes (an fd made or closed) take a lock, which also covers
/// replacing the array when a number past its end comes; reads take none.</remarks>
internal sealed class FdTable<T> where T : struct
{
    private sealed class Entry(T value) { public readonly T Value = value; }

    private Entry?[] _slots = new Entry?[64];
    private int _count;
    private readonly Lock _gate = new();

    /// <summary>The fd's entry, if the table holds one.</summary>
    public bool TryGetValue(int fd, out T value)
    {
        var slots = Volatile.Read(ref _slots);
        if ((uint)fd < (uint)slots.Length && Volatile.Read(ref slots[fd]) is { } e) { value = e.Value; return true; }
        value = default;
        return false;
    }

    public bool ContainsKey(int fd) => TryGetValue(fd, out _);

    /// <summary>Sets the entry of <paramref name="fd"/>. A negative number (a driver that reports success with one) is no fd
    /// and is not kept: the op's outcome carries it, and the verdict is the oracle's.</summary>
    public T this[int fd]
    {
        set
        {
            if (fd < 0) return;
            lock (_gate)
            {
                if (fd >= _slots.Length)
                {
                    var grown = new Entry?[Math.Max(fd + 1, _slots.Length * 2)];
                    Array.Copy(_slots, grown, _slots.Length);
                    Volatile.Write(ref _slots, grown);
                }
                if (_slots[fd] == null) _count++;
                Volatile.Write(ref _slots[fd], new Entry(value));
            }
        }
    }

    /// <summary>Removes the fd's entry: whether there was one, and what it was.</summary>
    public bool TryRemove(int fd, out T value)
    {
        lock (_gate)
        {
            if ((uint)fd < (uint)_slots.Length && _slots[fd] is { } e)
            {
                Volatile.Write(ref _slots[fd], null);
                _count--;
                value = e.Value;
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>How many fds the table holds.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The fds the table holds, lowest first (a copy: the caller may change the table while it walks them).</summary>
    public List<int> Keys
    {
        get
        {
            lock (_gate)
            {
                var keys = new List<int>(_count);
                for (int fd = 0; fd < _slots.Length; fd++) if (_slots[fd] != null) keys.Add(fd);
                return keys;
            }
        }
    }

    /// <summary>Forgets every fd (the array keeps its size).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            Array.Clear(_slots);
            _count = 0;
        }
    }
}
