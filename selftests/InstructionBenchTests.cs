using Conformance.Runner;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// The runs <c>--bench --instructions</c> counts under valgrind (<see cref="InstructionBench"/>), made here without it: each
/// way on this machine's kernel runs the memfd mix to its end (a call that fails throws), lockstep finds the model and the
/// kernel agree on every memfd call, each way on the model runs the lab's heap or video mix to its end and lockstep finds no
/// divergence there, and a malformed request is a usage error. CI runs the count itself (.ci/run).
/// </summary>
public class InstructionBenchTests
{
    [Theory]
    [InlineData("adapter")]
    [InlineData("records")]
    [InlineData("lockstep")]
    [InlineData("heap-records")]
    [InlineData("heap-lockstep")]
    [InlineData("video-records")]
    [InlineData("video-lockstep")]
    [InlineData("generation")]
    public void Each_counted_way_runs_its_mix_to_the_end(string way)
    {
        var said = new StringWriter();
        Assert.Equal(0, InstructionBench.Child($"{way}:3", said));
        Assert.Equal("", said.ToString());
    }

    /// <summary>The generation way counted in a window (<see cref="InstructionBench.WindowVariable"/>) whose library cannot be
    /// loaded: a usage error before any sequence is made.</summary>
    [Fact]
    public void A_window_library_that_cannot_be_loaded_is_a_usage_error()
    {
        Environment.SetEnvironmentVariable(InstructionBench.WindowVariable, "/nonexistent/libcount-window.so");
        try { Assert.Throws<Program.UsageException>(() => InstructionBench.Child("generation:1", TextWriter.Null)); }
        finally { Environment.SetEnvironmentVariable(InstructionBench.WindowVariable, null); }
    }

    [Theory]
    [InlineData("adapter")]
    [InlineData("adapter:0")]
    [InlineData("adapter:x")]
    [InlineData("nope:3")]
    [InlineData("heap-nope:3")]
    public void A_malformed_request_is_a_usage_error(string spec) =>
        Assert.Throws<Program.UsageException>(() => InstructionBench.Child(spec, TextWriter.Null));
}
