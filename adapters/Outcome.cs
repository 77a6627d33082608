namespace Conformance.Adapters;

/// <summary>
/// What one operation did, as both the model and a real target can observe it: an errno (OK on
/// success) and up to three observed values whose meaning each op defines (a size, a count, flags...).
/// <see cref="Handle"/> is the target's own fd number or mapping id for a created resource; it is
/// opaque and never compared.
/// </summary>
public readonly record struct Outcome(Errno Errno, long R0 = 0, long R1 = 0, long R2 = 0)
{
    public int Handle { get; init; } = -1;

    public bool Ok => Errno == Errno.OK;

    public static Outcome Fail(Errno e) => new(e);
    public static Outcome Success(long r0 = 0, long r1 = 0, long r2 = 0) => new(Errno.OK, r0, r1, r2);
    public static Outcome Created(int handle, long r0 = 0) => new(Errno.OK, r0) { Handle = handle };
    public static readonly Outcome NotRun = new(Errno.NotRun);

    /// <summary>Equality of what both sides observe (the handle is excluded).</summary>
    public bool SameObservation(in Outcome other) =>
        Errno == other.Errno && R0 == other.R0 && R1 == other.R1 && R2 == other.R2;

    public override string ToString() => Errno == Errno.OK ? $"0 [{R0},{R1},{R2}]" : Errno.ToString();
}
