using System.Buffers.Binary;
using static Conformance.Adapters.Uapi;

namespace Conformance.Adapters;

/// <summary>One frame resolution of the coded streams the suite writes, in pixels (the stream's visible and coded size: both
/// multiples of 16, so no decoder pads them differently).</summary>
public readonly record struct StreamResolution(uint Width, uint Height)
{
    public override string ToString() => $"{Width}x{Height}";
}

/// <summary>
/// The coded frames the suite writes itself into a stateful decoder's OUTPUT buffers, so that the decoder's source change
/// (dev-decoder.rst, Initialization and Dynamic Resolution Change) can be certified without a stream file. Only the FWHT
/// bitstream (V4L2_PIX_FMT_FWHT, pixfmt-compressed.rst: "See the codec-fwht.h header for more details") is written: one
/// struct fwht_cframe_hdr (drivers/media/test-drivers/vicodec/codec-fwht.h: the 8-byte magic, then big-endian version, width,
/// height, flags, colorspace, xfer_func, ycbcr_enc, quantization and the size of the data that follows) and the frame's
/// YUV 4:2:0 planes stored uncompressed (V4L2_FWHT_FL_*_IS_UNCOMPRESSED), an I-frame, so each frame is exact, small to write
/// and decodes on its own. The C reproducer writes the same bytes.
/// </summary>
public static class Bitstream
{
    /// <summary>The resolutions a stream may switch between, by index (what <c>WriteFrame.Res</c> names): both at least
    /// vicodec's minimum (640x360: a header below it is invalid), small enough that a frame fits the default OUTPUT buffer of a 1280x720 stream, and of
    /// the same area, so that CAPTURE buffers allocated for one hold a frame of the other: a client that resumes after a
    /// resolution change without reallocating (dev-decoder.rst allows it where the buffers are large enough) never hands a
    /// decoder buffers smaller than its frames, which vicodec does not check, by a reading of its code (spec/notes/vicodec-drc-small-buffers.md).</summary>
    public static readonly StreamResolution[] Resolutions = [new(640, 480), new(768, 400)];

    /// <summary>sizeof(struct fwht_cframe_hdr), in bytes.</summary>
    public const int FwhtHeaderBytes = 44;

    /// <summary>The luma value every pixel of a written frame has (mid-grey; the chroma planes are 0x80, no colour).</summary>
    public const byte Luma = 0x5a;

    /// <summary>Whether the suite can write frames of this coded pixel format.</summary>
    public static bool Writes(uint codedFormat) => codedFormat == V4L2_PIX_FMT_FWHT;

    /// <summary>The bytes one frame of resolution index res takes: the header and its three planes.</summary>
    public static long FrameLength(int res) => FwhtHeaderBytes + PlanesBytes(Resolutions[res]);

    private static long PlanesBytes(StreamResolution r) => (long)r.Width * r.Height * 3 / 2;

    /// <summary>The header's flags: an uncompressed I-frame of three YUV components, chroma subsampled 2x2.</summary>
    public const uint FwhtFlags = V4L2_FWHT_FL_LUMA_IS_UNCOMPRESSED | V4L2_FWHT_FL_CB_IS_UNCOMPRESSED | V4L2_FWHT_FL_CR_IS_UNCOMPRESSED
        | V4L2_FWHT_FL_I_FRAME | (2u << (int)V4L2_FWHT_FL_COMPONENTS_NUM_OFFSET) | V4L2_FWHT_FL_PIXENC_YUV;

    /// <summary>Writes one frame of resolution index res at the start of dst (at least <see cref="FrameLength"/> bytes).</summary>
    public static void WriteFrame(Span<byte> dst, int res)
    {
        var r = Resolutions[res];
        long planes = PlanesBytes(r);
        var h = dst[..FwhtHeaderBytes];
        h.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(h[0..], 0x4f4f4f4f);   // FWHT_MAGIC1 and FWHT_MAGIC2, symmetric bytes
        BinaryPrimitives.WriteUInt32BigEndian(h[4..], 0xffffffff);
        BinaryPrimitives.WriteUInt32BigEndian(h[8..], V4L2_FWHT_VERSION);
        BinaryPrimitives.WriteUInt32BigEndian(h[12..], r.Width);
        BinaryPrimitives.WriteUInt32BigEndian(h[16..], r.Height);
        BinaryPrimitives.WriteUInt32BigEndian(h[20..], FwhtFlags);
        // colorspace, xfer_func, ycbcr_enc and quantization stay 0 (the defaults)
        BinaryPrimitives.WriteUInt32BigEndian(h[40..], (uint)planes);
        long luma = (long)r.Width * r.Height;
        dst.Slice(FwhtHeaderBytes, (int)luma).Fill(Luma);
        dst.Slice(FwhtHeaderBytes + (int)luma, (int)(planes - luma)).Fill(0x80);
    }
}
