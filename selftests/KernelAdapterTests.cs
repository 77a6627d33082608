using Conformance.Adapters.Kernel;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>Parts of the kernel adapter that can be checked off the kernel; the adapter itself runs in the lab VM (.ci/run).</summary>
public class KernelAdapterTests
{
    [Fact]
    public void Bufinfo_count_is_the_summary_line_not_a_per_buffer_attachment_total()
    {
        // the shape of 6.12's dma_buf_debug_show, from the lab VM with one leaked buffer
        string[] bufinfo =
        [
            "", "Dma-buf Objects:", "size    \tflags   \tmode    \tcount   \texp_name\tino     \tname",
            "00004096\t00000002\t00080005\t00000001\tconformance_heap\t00000004\t<none>",
            "\tAttached Devices:", "Total 0 devices attached", "", "", "Total 1 objects, 4096 bytes",
        ];
        Assert.Equal(1, BufInfo.Parse(bufinfo));
        Assert.Equal(-1, BufInfo.Parse(["", "Dma-buf Objects:"]));
    }
}
