using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters.Model;

/// <summary>
/// Format changes between allocations (buffer.rst, "Interactions between formats, controls and buffers"; vidioc-g-fmt.rst):
/// VIDIOC_S_FMT is refused with EBUSY while the queue streams and, unless the driver allows it, while it has buffers;
/// VIDIOC_TRY_FMT never is and changes nothing, and answers a request as S_FMT would; once the format changed, REQBUFS and
/// CREATE_BUFS (with G_FMT's format) allocate the new sizeimage, and buffers allocated before keep their length.
/// </summary>
public sealed partial class ReferenceModel
{
    public Outcome SetFmt(int fd, uint type, FrameSize size, bool tryOnly)
    {
        if (!TryVideo(fd, out var v, out var err)) return err;
        var q = QueueOf(v, type);
        Cite(Inv.FmtTry);
        // v4l_s_fmt / v4l_try_fmt: a type the node has no format handler for
        if (type != q.P.BufType) return Cite(Inv.FmtTry, Errno.EINVAL);
        if (!tryOnly)
        {
            Cite(Inv.FmtBusy);
            // the bug (as a target): the format changes under a streaming queue
            if (q.Streaming || q.FileIo)
            {
                if (!(!_hasActual && Broken(ModelBug.FmtWhileStreaming))) return Cite(Inv.FmtBusy, Errno.EBUSY);
            }
            // every buffer removed by REMOVE_BUFS: no buffer is allocated (the documented case for success), but vb2_is_busy,
            // which drivers check, holds until REQBUFS frees or the queue is released (spec/ambiguities.md)
            else if (q.NumBufs == 0 && q.FmtBusy)
            {
                if (Choose("EBUSY (vb2_is_busy still holds) or success (no buffer is allocated)", Refused()) == 0) return Cite(Inv.FmtBusy, Errno.EBUSY);
            }
            else if (q.NumBufs > 0)
            {
                if (q.FmtWithBuffers is not { } verdict)
                {
                    verdict = _hasActual && _actual.Ok
                        && Choose("EBUSY, or success where the driver allows the format to change with buffers allocated (its choice, the same all sequence)", Refused()) == 1
                        ? Errno.OK : Errno.EBUSY;
                    q.FmtWithBuffers = verdict;
                }
                else if (_hasActual && _actual.Errno != verdict) _decidedBy = Inv.FmtBusy;   // the driver changed its mind
                if (verdict != Errno.OK) return Cite(Inv.FmtBusy, Errno.EBUSY);
            }
        }
        // the current format sent back shows the format the last S_FMT (or, wrongly, TRY_FMT) set
        if (size == FrameSize.Current && q.SizesAtStake != null) SizeDecides(q.SizesAtStake, AsOutcome(Padded(q.PlaneSizes)));
        var answer = FmtAnswer(q, size);
        if (answer == null) return new Outcome(Errno.OK, q.PlaneSizes[0]);   // out of bounds: AllowedSet says what was expected
        var planes = answer.Take(q.P.NumPlanes).ToList();
        if (!tryOnly && !(!_hasActual && Broken(ModelBug.FmtIgnoredByReqBufs)))
        {
            q.SizesAtStake = Inv.FmtAlloc;   // changed or not, the format is now the one S_FMT answered
            TakeFormat(q, planes);
        }
        if (tryOnly && !planes.SequenceEqual(q.PlaneSizes)) q.SizesAtStake = Inv.FmtTry;
        // the bug (as a target): TRY_FMT sets the format
        if (tryOnly && !_hasActual && Broken(ModelBug.TryFmtSets)) TakeFormat(q, planes);
        return Cite(Inv.FmtTry, AsOutcome(answer));
    }

    /// <summary>The queue's format is now one of these plane sizes; every later request is relative to it.</summary>
    private static void TakeFormat(VideoQueue q, List<long> planes)
    {
        q.PlaneSizes = planes;
        q.FmtAnswers.Clear();
    }

    /// <summary>Plane sizes (R0..R2, <see cref="Padded"/>) as the outcome a format ioctl reports.</summary>
    private static Outcome AsOutcome(long[] padded) => Outcome.Success(padded[0], padded[1], padded[2]);

    // ---- what a buffer's size shows rests on the format rule it was sized under (VideoBuffer.SizedBy): where the target
    // shows another outcome than the model, the divergence is that rule's, not the one the op otherwise follows

    public Outcome Mmap(int fd, long pgoff, long length, int prot, int flags) =>
        SizeDecides(TryFile(fd, out var f) && f is DmaBuf d ? d.From?.SizedBy : null, MmapCore(fd, pgoff, length, prot, flags), SizeShows.Success);

    public Outcome Llseek(int fd, long offset, int whence) =>
        SizeDecides(TryFile(fd, out var f) && f is DmaBuf d ? d.From?.SizedBy : null, LlseekCore(fd, offset, whence), SizeShows.Value);

    public Outcome MmapVideo(int fd, uint type, uint index, uint plane, long length, int prot, int flags) =>
        SizeDecides(BufferOf(fd, type, index)?.SizedBy, MmapVideoCore(fd, type, index, plane, length, prot, flags), SizeShows.Success);

    public Outcome QBuf(int fd, uint type, uint index, uint memory, IReadOnlyList<int> planes, bool prepare = false, int? request = null, long bytesUsed = 0,
        PlaneFields fields = PlaneFields.Format) =>
        SizeDecides(BufferOf(fd, type, index)?.SizedBy, QBufCore(fd, type, index, memory, planes, prepare, request, bytesUsed, fields), SizeShows.Einval);

    public Outcome QueryBuf(int fd, uint type, uint index, uint plane = 0) =>
        SizeDecides(BufferOf(fd, type, index)?.SizedBy ?? (TryFile(fd, out var f) && f is VideoFile { Q.FileIo: true } v ? v.Q.FileIoSizedBy : null),
            QueryBufCore(fd, type, index, plane), SizeShows.Value);

    public Outcome Read(int fd, long count) => SizeDecides(FileIoSizedBy(fd), ReadCore(fd, count), SizeShows.Value);

    public Outcome Write(int fd, long count) => SizeDecides(FileIoSizedBy(fd), WriteCore(fd, count), SizeShows.Value);

    /// <summary>The format rule read() or write() on fd rests on: the one that sized the running emulator's frames, or the
    /// current format's, which a starting emulator takes.</summary>
    private string? FileIoSizedBy(int fd) =>
        TryFile(fd, out var f) && f is VideoFile v ? (v.Q.FileIo ? v.Q.FileIoSizedBy : v.Q.SizesAtStake) : null;

    /// <summary>Where an op's outcome shows a buffer's size: its value (a length, a size, a count of bytes), whether it
    /// succeeds (a mapping's bounds), or whether it fails with EINVAL (a buffer too small for its frame).</summary>
    private enum SizeShows { Value, Success, Einval }

    /// <summary>The buffer an op names (before the op runs), or null.</summary>
    private VideoBuffer? BufferOf(int fd, uint type, uint index) =>
        TryFile(fd, out var f) && f is VideoFile v ? Buffer(v.QueueFor(type), index) : null;

    /// <summary>The outcome; where a format rule is at stake and the target showed another size than the model (in the way
    /// the op shows one), that rule decides.</summary>
    private Outcome SizeDecides(string? by, Outcome expected, SizeShows shows = SizeShows.Value)
    {
        if (by == null || !_hasActual || expected.SameObservation(_actual) || (AllowedOutcomes?.Any(a => a.SameObservation(_actual)) ?? false))
            return expected;
        bool aboutSize = shows switch
        {
            SizeShows.Value => expected.Ok && _actual.Ok && expected.R0 != _actual.R0,
            SizeShows.Success => expected.Ok != _actual.Ok,
            _ => expected.Ok != _actual.Ok && (expected.Errno == Errno.EINVAL || _actual.Errno == Errno.EINVAL),
        };
        // allocated while a decoder's source change was queued and not yet signalled: either format's size is allowed, and
        // the model follows what the target shows (VB2-DEC-3 judges sizes only once the change was signalled)
        if (aboutSize && by == UnsettledSizes)
        {
            AllowedSet = "either format's size (allocated while a source change was queued and not yet signalled: not judged)";
            return _actual;
        }
        // the size is what differs: the format rule it rests on decides over the op's own, but not over a queue state
        // that rests on the owner's close (VB2-OWN-9: a queue that close should have released keeps its old buffers)
        if (aboutSize && _decidedBy != Inv.OwnClose) _decidedBy = by;
        return expected;
    }

    /// <summary>
    /// The sizes the driver gives a request (plane 0..2, 0 past num_planes): the answer it gave before in this format, else
    /// its own choice (the driver adjusts a frame size to what it supports, vidioc-g-fmt.rst), learned from the target and
    /// checked against the bounds the documentation sets (as many planes as the pixel format has, each sizeimage &gt; 0).
    /// Null when the target's answer is out of those bounds.
    /// </summary>
    private long[]? FmtAnswer(VideoQueue q, FrameSize size)
    {
        if (q.FmtAnswers.TryGetValue(size, out var known)) return known;
        // the current format sent back is a format the driver supports: it comes back unchanged
        if (size == FrameSize.Current) return q.FmtAnswers[size] = Padded(q.PlaneSizes);
        long[] answer;
        if (_hasActual)
        {
            if (!_actual.Ok) return Padded(q.PlaneSizes);
            answer = [_actual.R0, _actual.R1, _actual.R2];
            int n = q.P.NumPlanes;
            if (answer.Take(n).Any(x => x <= 0) || answer.Skip(n).Any(x => x != 0))
            {
                AllowedSet = $"a format whose {n} plane{(n == 1 ? "" : "s")} each have sizeimage > 0 (the driver's choice of frame size)";
                return null;
            }
        }
        else
        {
            // the model's own driver: a frame a quarter or four times as large, 1/16 at its minimum and 4 times at its maximum
            long Scale(long s) => size switch
            {
                FrameSize.Half => Math.Max(1, s / 4), FrameSize.Double or FrameSize.Maximum => s * 4,
                FrameSize.Minimum => Math.Max(1, s / 16), _ => s,
            };
            answer = Padded(q.PlaneSizes.Select(Scale));
        }
        q.FmtAnswers[size] = answer;
        AnyValue = true;   // the driver's choice: a reproducer learns it from the device it runs on
        return answer;
    }

    /// <summary>The two answers a driver may give where it may refuse a format change: EBUSY, or success with whatever format it
    /// answers (the target's, as an oracle; its sizes are judged after).</summary>
    private Outcome[] Refused() => [Outcome.Fail(Errno.EBUSY), _hasActual && _actual.Ok ? _actual : Outcome.Success()];

    /// <summary>Plane sizes as R0..R2: the first three, 0 for planes the format lacks.</summary>
    private static long[] Padded(IEnumerable<long> sizes) => [.. sizes.Concat([0L, 0L, 0L]).Take(3)];
}
