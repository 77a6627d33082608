namespace Conformance.Adapters.Model;

/// <summary>
/// A map kept in one array searched in order, held in place in its owner (a field, not an object of its own): what the
/// model keeps per object a sequence makes (a memory's words, a mapping's reads, a DRM file's PRIME table) holds a
/// handful of entries, where a dictionary made three objects at its first entry and hashed at every look-up. Entries keep
/// the order they were first set in. Use it through the owner's field (a copy is a second map sharing the array).
/// </summary>
internal struct SmallMap<TKey, TValue>
{
    private (TKey Key, TValue Value)[]? _items;
    private int _count;

    /// <summary>The entries set and not removed.</summary>
    public readonly int Count => _count;

    private readonly int IndexOf(TKey key)
    {
        for (int i = 0; i < _count; i++) if (EqualityComparer<TKey>.Default.Equals(_items![i].Key, key)) return i;
        return -1;
    }

    public readonly bool TryGetValue(TKey key, out TValue value)
    {
        int i = IndexOf(key);
        value = i >= 0 ? _items![i].Value : default!;
        return i >= 0;
    }

    /// <summary>Sets the key's value: in its place where the key is there, else after the last entry.</summary>
    public void Set(TKey key, TValue value)
    {
        int i = IndexOf(key);
        if (i >= 0) { _items![i].Value = value; return; }
        if (_items == null) _items = new (TKey, TValue)[4];
        else if (_count == _items.Length) Array.Resize(ref _items, _count * 2);
        _items[_count++] = (key, value);
    }

    /// <summary>Removes the key's entry, if there is one (the later entries move up one: the order stays).</summary>
    public bool Remove(TKey key)
    {
        int i = IndexOf(key);
        if (i < 0) return false;
        _count--;
        Array.Copy(_items!, i + 1, _items!, i, _count - i);
        _items![_count] = default;
        return true;
    }

    /// <summary>Forgets every entry (the array is kept for the entries to come).</summary>
    public void Clear()
    {
        if (_count > 0) Array.Clear(_items!, 0, _count);
        _count = 0;
    }
}

/// <summary>
/// A DRM file's GEM handles (its idr): handle h in slot h - 1, null where no object has that number. A new handle takes the
/// lowest free number from 1, as drm_gem_handle_create_tail's idr_alloc(&amp;file_priv->object_idr, obj, 1, 0, ...) does.
/// Held in place in the file, as <see cref="SmallMap{TKey, TValue}"/> is.
/// </summary>
internal struct GemHandles
{
    private GemObject?[]? _slots;
    private int _end;   // one past the highest slot ever used

    /// <summary>The object the handle names, or null (0, and any number no handle has).</summary>
    public readonly GemObject? this[uint handle] => handle - 1 < (uint)_end ? _slots![handle - 1] : null;

    /// <summary>A new handle for the object: the lowest number no handle has.</summary>
    public uint Add(GemObject obj)
    {
        int i = 0;
        while (i < _end && _slots![i] != null) i++;
        if (i == _end)
        {
            if (_slots == null) _slots = new GemObject?[4];
            else if (_end == _slots.Length) Array.Resize(ref _slots, _end * 2);
            _end++;
        }
        _slots![i] = obj;
        return (uint)i + 1;
    }

    /// <summary>Frees the handle's number (it must name an object).</summary>
    public void Remove(uint handle) => _slots![handle - 1] = null;

    /// <summary>The highest handle that names an object, or 0: drm_gem_release walks the idr in ascending order up to it.</summary>
    public readonly uint Highest
    {
        get
        {
            int i = _end;
            while (i > 0 && _slots![i - 1] == null) i--;
            return (uint)i;
        }
    }
}
