namespace Conformance.Adapters.Model;

/// <summary>
/// The model's fd table: each open fd's file and whether it is close-on-exec, indexed by fd number (the subset of a
/// dictionary's interface the model uses). The model hands out numbers from 3 up and never reuses one within a sequence
/// (<see cref="ReferenceModel.Reset"/> and <see cref="ReferenceModel.Discard"/> start again at 3), so a sequence's fds are a short dense range and a lookup is an
/// array read: the oracle looks up the fds of every op it judges.
/// </summary>
internal sealed class FdSlots
{
    private (OFile File, bool Cloexec)[] _slots = new (OFile, bool)[64];
    private int _top;     // one past the highest fd set since the table was last empty: every slot past it is empty
    private int _count;   // the fds it holds

    /// <summary>The fd's entry; a <see cref="KeyNotFoundException"/> for one the table does not hold.</summary>
    public (OFile File, bool Cloexec) this[int fd]
    {
        get => TryGetValue(fd, out var e) ? e : throw new KeyNotFoundException($"fd {fd} is not open in the model");
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(fd);
            ArgumentNullException.ThrowIfNull(value.File);
            if (fd >= _slots.Length) Array.Resize(ref _slots, Math.Max(fd + 1, _slots.Length * 2));
            if (_slots[fd].File == null) _count++;
            _slots[fd] = value;
            if (fd >= _top) _top = fd + 1;
        }
    }

    public bool TryGetValue(int fd, out (OFile File, bool Cloexec) entry)
    {
        if ((uint)fd < (uint)_top && _slots[fd].File != null) { entry = _slots[fd]; return true; }
        entry = default;
        return false;
    }

    public bool Remove(int fd, out (OFile File, bool Cloexec) entry)
    {
        if (!TryGetValue(fd, out entry)) return false;
        _slots[fd] = default;
        if (--_count == 0) _top = 0;
        return true;
    }

    /// <summary>Every fd dropped at once (no release path runs: <see cref="ReferenceModel.Discard"/>).</summary>
    public void Clear()
    {
        Array.Clear(_slots, 0, _top);
        _top = _count = 0;
    }

    /// <summary>The open fds, lowest first (a copy: closing them while walking it is safe), in an array of their number (a
    /// growing list was four or five arrays at every sequence's reset).</summary>
    public int[] Keys
    {
        get
        {
            var keys = new int[_count];
            for (int fd = 0, k = 0; fd < _top; fd++) if (_slots[fd].File != null) keys[k++] = fd;
            return keys;
        }
    }
}
