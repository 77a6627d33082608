using Conformance.Runner;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// The runs <c>--bench --instructions</c> counts under valgrind (<see cref="InstructionBench"/>), made here without it on this
/// machine's kernel: each way runs the memfd mix to its end (a call that fails throws), lockstep finds the model and the
/// kernel agree on every memfd call, and a malformed request is a usage error. CI runs the count itself (.ci/run).
/// </summary>
public class InstructionBenchTests
{
    [Theory]
    [InlineData("adapter")]
    [InlineData("records")]
    [InlineData("lockstep")]
    public void Each_counted_way_runs_the_memfd_mix_on_this_kernel(string way)
    {
        var said = new StringWriter();
        Assert.Equal(0, InstructionBench.Child($"{way}:3", said));
        Assert.Equal("", said.ToString());
    }

    [Theory]
    [InlineData("adapter")]
    [InlineData("adapter:0")]
    [InlineData("adapter:x")]
    [InlineData("nope:3")]
    public void A_malformed_request_is_a_usage_error(string spec) =>
        Assert.Throws<Program.UsageException>(() => InstructionBench.Child(spec, TextWriter.Null));
}
