using System.Reflection;
using System.Runtime.InteropServices;
using Conformance.Adapters.Interop;

namespace Conformance.Adapters;

/// <summary>How the outcome of a described ioctl is read, the same way by the kernel adapter and the C reproducer.</summary>
public enum IoctlResult
{
    /// <summary>0, or -1 and errno; nothing is read back.</summary>
    Status,
    /// <summary>R0..R2 are read from the argument's <see cref="IoctlSpec.Out"/> fields after success.</summary>
    Values,
    /// <summary>Success creates an fd, found in the argument's <see cref="IoctlSpec.Created"/> field. R0..R2 are 0.</summary>
    NewFd,
    /// <summary>Success creates an fd: the ioctl's return value. R0..R2 are 0.</summary>
    NewFdReturned,
    /// <summary>Success creates a GEM handle (the <see cref="IoctlSpec.Created"/> field); R0..R2 from <see cref="IoctlSpec.Out"/>.</summary>
    NewHandle,
    /// <summary>Success creates a sync_file (the <see cref="IoctlSpec.Created"/> field), then described by a SYNC_IOC_FILE_INFO query.</summary>
    NewSyncFile,
}

/// <summary>One observed value: a field of the argument after the call, optionally masked with a named constant.</summary>
/// <param name="Path">The field's C path ("flags", "m.offset").</param>
/// <param name="Mask">The constant's C name (the reproducer defines it), or null for the whole field.</param>
/// <param name="MaskValue">The constant's value.</param>
public readonly record struct IoctlOut(string Path, string? Mask = null, ulong MaskValue = ulong.MaxValue);

/// <summary>
/// One uapi ioctl as data: its request, the argument it takes (a uapi struct from Interop/Uapi.Structs.cs, a scalar, or
/// a string), the fields an op sets, and what the op observes (R0..R2, or the resource it creates). The kernel adapter
/// packs and reads the argument from this description and the C reproducer prints the same call from it, so what an op
/// observes is stated once. Layouts are the interop structs' (checked against the headers by the interop layout test).
/// </summary>
public sealed class IoctlSpec
{
    /// <param name="request">The request's C macro, as uapi names it ("VIDIOC_QUERYBUF"); its code is <see cref="Req"/>'s of that name unless <paramref name="code"/> is given.</param>
    /// <param name="arg">The argument's interop struct; typeof(int) for a scalar (STREAMON's type); typeof(string) for a NUL-terminated string (DMA_BUF_SET_NAME);
    /// typeof(void) for a request that takes none (an _IO request such as MEDIA_REQUEST_IOC_QUEUE: the pointer passed is NULL).</param>
    /// <param name="var">The variable the reproducer declares for it.</param>
    /// <param name="result">How the outcome is read.</param>
    /// <param name="inputs">C paths of the fields an op sets, in the order its arguments are given (none for a scalar or a string).</param>
    /// <param name="outputs">R0, R1, R2 in order (fewer: the rest are 0).</param>
    /// <param name="created">For a creating result: the field that holds the new fd or handle.</param>
    /// <param name="code">The request code, for a request <see cref="Req"/> does not name.</param>
    /// <param name="header">The uapi header that defines the request, for a scalar or string argument (a struct's comes from its [Uapi]).</param>
    public IoctlSpec(string request, Type arg, string var, IoctlResult result, string[] inputs, IoctlOut[]? outputs = null, string? created = null, nuint? code = null,
        string header = "")
    {
        Request = request;
        Arg = arg;
        Var = var;
        Result = result;
        In = inputs;
        Out = outputs ?? [];
        Created = created;
        Code = code ?? (nuint)(typeof(Req).GetField(request, BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
            ?? throw new ArgumentException($"Req has no request code named {request}: give the code"));
        if (Out.Count > 3) throw new ArgumentException($"{request}: an op observes at most R0..R2");
        if ((result is IoctlResult.NewFd or IoctlResult.NewHandle or IoctlResult.NewSyncFile) != (created != null))
            throw new ArgumentException($"{request}: a creating result names the field that holds what it creates, and only then");
        if (arg == typeof(void))
        {
            if (inputs.Length != 0 || Out.Count != 0 || created != null) throw new ArgumentException($"{request}: a request without an argument takes no input and observes nothing");
            Size = 0;
            Header = header;
            _in = [];
            _out = [];
            return;
        }
        if (arg == typeof(string) || arg == typeof(int))
        {
            if (inputs.Length != 1 || inputs[0] != "") throw new ArgumentException($"{request}: a scalar or string argument takes one input, \"\"");
            Size = arg == typeof(int) ? sizeof(int) : 0;
            Header = header;
            _in = [(0, sizeof(int), true)];
            _out = [];
            return;
        }
        Header = arg.GetCustomAttribute<UapiAttribute>()?.Header ?? throw new ArgumentException($"{arg.Name} is not a [Uapi] struct");
        Size = Marshal.SizeOf(arg);
        _in = inputs.Select(Locate).ToArray();
        _out = Out.Select(o => Locate(o.Path)).ToArray();
        if (created != null) _created = Locate(created);
    }

    /// <summary>The request's C macro.</summary>
    public string Request { get; }
    /// <summary>The request code.</summary>
    public nuint Code { get; }
    /// <summary>The argument's interop type (or int, or string, or void for none).</summary>
    public Type Arg { get; }
    /// <summary>The argument's C type ("struct v4l2_buffer", "int", "char").</summary>
    public string CType => Arg == typeof(int) ? "int" : Arg == typeof(string) ? "char" : Arg == typeof(void) ? "void" : $"struct {Arg.Name}";
    /// <summary>The uapi header that defines the argument ("" for a scalar or string).</summary>
    public string Header { get; }
    /// <summary>The reproducer's variable for the argument.</summary>
    public string Var { get; }
    public IoctlResult Result { get; }
    /// <summary>C paths of the fields an op sets, in argument order.</summary>
    public IReadOnlyList<string> In { get; }
    /// <summary>What R0..R2 are.</summary>
    public IReadOnlyList<IoctlOut> Out { get; }
    /// <summary>The field holding a created fd or handle.</summary>
    public string? Created { get; }
    /// <summary>The argument's size in bytes (0 for a string: its length).</summary>
    public int Size { get; }

    private readonly (int Offset, int Size, bool Signed)[] _in, _out;
    private readonly (int Offset, int Size, bool Signed) _created;

    private (int Offset, int Size, bool Signed) Locate(string path)
    {
        var f = Arg.GetFields(BindingFlags.Public | BindingFlags.Instance)
            .FirstOrDefault(x => (x.GetCustomAttribute<CNameAttribute>()?.Path ?? x.Name) == path)
            ?? throw new ArgumentException($"{Arg.Name} has no field {path}");
        var t = f.FieldType;
        int size = t == typeof(byte) ? 1 : t == typeof(ushort) || t == typeof(short) ? 2 : t == typeof(uint) || t == typeof(int) ? 4
            : t == typeof(ulong) || t == typeof(long) ? 8 : throw new ArgumentException($"{Arg.Name}.{path}: a {t.Name} is not a scalar field");
        return ((int)Marshal.OffsetOf(Arg, f.Name), size, t == typeof(int) || t == typeof(long) || t == typeof(short));
    }

    /// <summary>Writes the op's input values (in <see cref="In"/> order; each truncated to its field) into a zeroed argument.</summary>
    public unsafe void Pack(byte* arg, ReadOnlySpan<ulong> values)
    {
        if (values.Length != _in.Length) throw new ArgumentException($"{Request}: {_in.Length} inputs, {values.Length} given");
        new Span<byte>(arg, Size).Clear();
        for (int i = 0; i < _in.Length; i++) Write(arg, _in[i], values[i]);
    }

    /// <summary>R0..R2 as the op observes them after success (missing ones 0).</summary>
    public unsafe (long R0, long R1, long R2) Observe(byte* arg) =>
        (ReadOut(arg, 0), ReadOut(arg, 1), ReadOut(arg, 2));

    /// <summary>The created fd or handle after success.</summary>
    public unsafe long CreatedValue(byte* arg) => Read(arg, _created);

    private unsafe long ReadOut(byte* arg, int k) => k < _out.Length ? (long)((ulong)Read(arg, _out[k]) & Out[k].MaskValue) : 0;

    private static unsafe void Write(byte* arg, (int Offset, int Size, bool Signed) f, ulong v)
    {
        byte* p = arg + f.Offset;
        switch (f.Size)
        {
            case 1: *p = (byte)v; break;
            case 2: *(ushort*)p = (ushort)v; break;
            case 4: *(uint*)p = (uint)v; break;
            default: *(ulong*)p = v; break;
        }
    }

    private static unsafe long Read(byte* arg, (int Offset, int Size, bool Signed) f)
    {
        byte* p = arg + f.Offset;
        return f.Size switch
        {
            1 => *p,
            2 => f.Signed ? *(short*)p : *(ushort*)p,
            4 => f.Signed ? *(int*)p : *(uint*)p,
            _ => *(long*)p,
        };
    }

    public override string ToString() => Request;
}

/// <summary>Marks the reference model's semantics of a described ioctl (<see cref="IBufferTarget.Ioctl"/>), by request name:
/// a method <c>Outcome M(int fd, IoctlCall call)</c> of the model.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ModelOfAttribute(string request) : Attribute
{
    /// <summary>The request's C macro, as in <see cref="IoctlSpec.Request"/>.</summary>
    public string Request { get; } = request;
}

/// <summary>
/// A described ioctl with its values: what an op hands <see cref="IBufferTarget.Ioctl"/>. Inputs are numbers in
/// <see cref="IoctlSpec.In"/> order (handles already resolved to the target's own); a string argument is <paramref name="Text"/>.
/// </summary>
public readonly record struct IoctlCall(IoctlSpec Spec, ulong[] Values, string? Text = null);

/// <summary>
/// The ioctls the suite's ops make whose argument is packed and read from the description alone: the kernel adapter
/// issues them through <see cref="IoctlSpec.Pack"/> and <see cref="IoctlSpec.Observe"/>, the C reproducer prints them.
/// The rest (a QBUF that fills m.fd or m.userptr by memory type, CREATE_BUFS after G_FMT, a sized heap ABI, a string
/// name inside a struct) have hand-written forms in both, each beside the other's name.
/// </summary>
public static class Ioctls
{
    /// <summary>The buffer state flags QUERYBUF and DQBUF observations keep: MAPPED | QUEUED | DONE | PREPARED | IN_REQUEST.</summary>
    public const uint StateFlags = Uapi.V4L2_BUF_FLAG_MAPPED | Uapi.V4L2_BUF_FLAG_QUEUED | Uapi.V4L2_BUF_FLAG_DONE | Uapi.V4L2_BUF_FLAG_PREPARED
        | Uapi.V4L2_BUF_FLAG_IN_REQUEST;

    /// <summary>R0 = the count written back, R1 = capabilities.</summary>
    public static readonly IoctlSpec ReqBufs = new("VIDIOC_REQBUFS", typeof(v4l2_requestbuffers), "rb", IoctlResult.Values,
        ["count", "type", "memory"], [new("count"), new("capabilities")]);
    /// <summary>R0 = length, R1 = flags &amp; <see cref="StateFlags"/> (MAPPED|QUEUED|DONE|PREPARED|IN_REQUEST), R2 = memory.</summary>
    public static readonly IoctlSpec QueryBuf = new("VIDIOC_QUERYBUF", typeof(v4l2_buffer), "b", IoctlResult.Values,
        ["index", "type"], [new("length"), new("flags", "STATE_FLAGS", StateFlags), new("memory")]);
    /// <summary>Creates the exported dma-buf's fd.</summary>
    public static readonly IoctlSpec ExpBuf = new("VIDIOC_EXPBUF", typeof(v4l2_exportbuffer), "e", IoctlResult.NewFd,
        ["type", "index", "plane", "flags"], created: "fd");
    /// <summary>The flags DQBUF observations keep: <see cref="StateFlags"/> and LAST (the last buffer of a codec's drain, buffer.rst;
    /// vb2_dqbuf then makes every DQBUF of the capture queue fail with EPIPE).</summary>
    public const uint DQBufFlags = StateFlags | Uapi.V4L2_BUF_FLAG_LAST;
    /// <summary>R0 = index, R1 = flags &amp; <see cref="DQBufFlags"/> (MAPPED|QUEUED|DONE|PREPARED|IN_REQUEST|LAST).</summary>
    public static readonly IoctlSpec DQBuf = new("VIDIOC_DQBUF", typeof(v4l2_buffer), "b", IoctlResult.Values,
        ["type"], [new("index"), new("flags", "DQBUF_FLAGS", DQBufFlags)]);
    /// <summary>VIDIOC_ENCODER_CMD with cmd set, flags and data 0 (dev-encoder.rst, Drain): 0 or an errno.</summary>
    public static readonly IoctlSpec EncoderCmd = new("VIDIOC_ENCODER_CMD", typeof(v4l2_encoder_cmd), "ec", IoctlResult.Status, ["cmd"]);
    /// <summary>VIDIOC_TRY_ENCODER_CMD: the same command, checked and not executed (vidioc-encoder-cmd.rst).</summary>
    public static readonly IoctlSpec TryEncoderCmd = new("VIDIOC_TRY_ENCODER_CMD", typeof(v4l2_encoder_cmd), "ec", IoctlResult.Status, ["cmd"]);
    /// <summary>VIDIOC_DECODER_CMD with cmd set, flags and data 0 (dev-decoder.rst, Drain): 0 or an errno.</summary>
    public static readonly IoctlSpec DecoderCmd = new("VIDIOC_DECODER_CMD", typeof(v4l2_decoder_cmd), "dc", IoctlResult.Status, ["cmd"]);
    /// <summary>VIDIOC_TRY_DECODER_CMD: the same command, checked and not executed (vidioc-decoder-cmd.rst).</summary>
    public static readonly IoctlSpec TryDecoderCmd = new("VIDIOC_TRY_DECODER_CMD", typeof(v4l2_decoder_cmd), "dc", IoctlResult.Status, ["cmd"]);
    /// <summary>VIDIOC_SUBSCRIBE_EVENT of one event type, id and flags 0 (vidioc-subscribe-event.rst): 0 or an errno.</summary>
    public static readonly IoctlSpec SubscribeEvent = new("VIDIOC_SUBSCRIBE_EVENT", typeof(v4l2_event_subscription), "sub", IoctlResult.Status, ["type"]);
    /// <summary>VIDIOC_UNSUBSCRIBE_EVENT of one event type, or of every one with V4L2_EVENT_ALL: 0 or an errno.</summary>
    public static readonly IoctlSpec UnsubscribeEvent = new("VIDIOC_UNSUBSCRIBE_EVENT", typeof(v4l2_event_subscription), "sub", IoctlResult.Status, ["type"]);
    /// <summary>VIDIOC_DQEVENT (vidioc-dqevent.rst): R0 = the event's type, R1 = how many events are still pending after it.</summary>
    public static readonly IoctlSpec DQEvent = new("VIDIOC_DQEVENT", typeof(v4l2_event), "ev", IoctlResult.Values, [], [new("type"), new("pending")]);
    public static readonly IoctlSpec StreamOn = new("VIDIOC_STREAMON", typeof(int), "type", IoctlResult.Status, [""]);
    public static readonly IoctlSpec StreamOff = new("VIDIOC_STREAMOFF", typeof(int), "type", IoctlResult.Status, [""]);
    public static readonly IoctlSpec RemoveBufs = new("VIDIOC_REMOVE_BUFS", typeof(v4l2_remove_buffers), "rb", IoctlResult.Status,
        ["index", "count", "type"]);
    public static readonly IoctlSpec DmaBufSync = new("DMA_BUF_IOCTL_SYNC", typeof(dma_buf_sync), "s", IoctlResult.Status, ["flags"]);
    /// <summary>Creates the udmabuf's fd (the return value).</summary>
    public static readonly IoctlSpec UdmabufCreate = new("UDMABUF_CREATE", typeof(udmabuf_create), "c", IoctlResult.NewFdReturned,
        ["memfd", "flags", "offset", "size"]);
    /// <summary>Creates a GEM handle; R0 = the handle, R1 = the object's size.</summary>
    public static readonly IoctlSpec CreateDumb = new("DRM_IOCTL_MODE_CREATE_DUMB", typeof(drm_mode_create_dumb), "c", IoctlResult.NewHandle,
        ["width", "height", "bpp"], [new("handle"), new("size")], created: "handle");
    /// <summary>Creates the dma-buf's fd.</summary>
    public static readonly IoctlSpec PrimeHandleToFd = new("DRM_IOCTL_PRIME_HANDLE_TO_FD", typeof(drm_prime_handle), "p", IoctlResult.NewFd,
        ["handle", "flags", "fd"], created: "fd");
    /// <summary>Creates a GEM handle; R0 = the handle.</summary>
    public static readonly IoctlSpec PrimeFdToHandle = new("DRM_IOCTL_PRIME_FD_TO_HANDLE", typeof(drm_prime_handle), "p", IoctlResult.NewHandle,
        ["fd", "flags"], [new("handle")], created: "handle");
    public static readonly IoctlSpec GemClose = new("DRM_IOCTL_GEM_CLOSE", typeof(drm_gem_close), "c", IoctlResult.Status, ["handle"]);
    public static readonly IoctlSpec VgemFenceSignal = new("DRM_IOCTL_VGEM_FENCE_SIGNAL", typeof(drm_vgem_fence_signal), "s", IoctlResult.Status,
        ["fence", "flags"]);
    /// <summary>Creates a sync_file fd; R0..R2 from its FILE_INFO query (status, num_fences, name kind).</summary>
    public static readonly IoctlSpec ExportSyncFile = new("DMA_BUF_IOCTL_EXPORT_SYNC_FILE", typeof(dma_buf_export_sync_file), "e", IoctlResult.NewSyncFile,
        ["flags", "fd"], created: "fd");
    public static readonly IoctlSpec ImportSyncFile = new("DMA_BUF_IOCTL_IMPORT_SYNC_FILE", typeof(dma_buf_import_sync_file), "i", IoctlResult.Status,
        ["flags", "fd"]);
}
