namespace Conformance.Adapters.Kernel;

/// <summary>
/// What the kernel adapter knows of each fd it holds, indexed by the fd's number (the subset of a concurrent dictionary's
/// interface the adapter uses). The kernel gives each new fd the lowest free number (open(2)), so the numbers a sequence
/// holds are small and dense, and a lookup is an array read instead of a hashed one; every op looks its fds up.
/// </summary>
/// <remarks>A parallel block's branches call the adapter from threads of their own (DMABUF-PAR-1), one closing an fd
/// while another looks it up. Each slot holds an immutable entry, written and read whole as one reference, so a reader
/// sees the fd's entry before or after a change, never a mix. Writes (an fd made or closed) take a spin lock, which also
/// covers replacing the array when a number past its end comes; reads take none. The lock is a word taken with one
/// compare-and-swap: writers meet only in a parallel block's branches, and a <see cref="Lock"/> cost the calling thread
/// about 60 instructions a write (valgrind's count, the memfd mix), as much as the rest of the write.</remarks>
internal sealed class FdTable<T> where T : struct
{
    private sealed class Entry(T value) { public readonly T Value = value; }

    /// <summary>A slot of the array: a struct, so that a reference to its entry is taken without the covariance check an
    /// array of a class costs at each write.</summary>
    private struct Slot { public Entry? Entry; }

    private Slot[] _slots = new Slot[64];
    private int _count;
    /// <summary>1 while a writer holds the table (<see cref="Enter"/>).</summary>
    private int _gate;

    private void Enter()
    {
        if (Interlocked.CompareExchange(ref _gate, 1, 0) == 0) return;
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref _gate, 1, 0) != 0) spin.SpinOnce();
    }

    private void Exit() => Volatile.Write(ref _gate, 0);

    /// <summary>The fd's entry, if the table holds one.</summary>
    public bool TryGetValue(int fd, out T value)
    {
        var slots = Volatile.Read(ref _slots);
        if ((uint)fd < (uint)slots.Length && Volatile.Read(ref slots[fd].Entry) is { } e) { value = e.Value; return true; }
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
            var entry = new Entry(value);
            Enter();
            try
            {
                if (fd >= _slots.Length)
                {
                    var grown = new Slot[Math.Max(fd + 1, _slots.Length * 2)];
                    Array.Copy(_slots, grown, _slots.Length);
                    Volatile.Write(ref _slots, grown);
                }
                ref var slot = ref _slots[fd].Entry;
                if (slot == null) _count++;
                Volatile.Write(ref slot, entry);
            }
            finally { Exit(); }
        }
    }

    /// <summary>Removes the fd's entry: whether there was one, and what it was.</summary>
    public bool TryRemove(int fd, out T value)
    {
        Enter();
        try
        {
            if ((uint)fd < (uint)_slots.Length && _slots[fd].Entry is { } e)
            {
                Volatile.Write(ref _slots[fd].Entry, null);
                _count--;
                value = e.Value;
                return true;
            }
        }
        finally { Exit(); }
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
            Enter();
            try
            {
                var keys = new List<int>(_count);
                for (int fd = 0; fd < _slots.Length; fd++) if (_slots[fd].Entry != null) keys.Add(fd);
                return keys;
            }
            finally { Exit(); }
        }
    }

    /// <summary>Forgets every fd (the array keeps its size).</summary>
    public void Clear()
    {
        Enter();
        try
        {
            Array.Clear(_slots);
            _count = 0;
        }
        finally { Exit(); }
    }
}
