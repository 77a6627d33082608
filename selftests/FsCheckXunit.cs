using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Conformance.SelfTests;

/// <summary>
/// The thin FsCheck-to-xunit bridge (FsCheck.Xunit is not available here): runs a property with a
/// fixed, printed seed and turns a failure into an xunit failure that carries the shrunk counterexample.
/// </summary>
public static class PropertyCheck
{
    public static void Holds<T>(Arbitrary<T> arb, Func<T, bool> property, ITestOutputHelper? output = null, int maxTest = 100, ulong seed = 42)
    {
        var runner = new CapturingRunner();
        var config = Config.Quick.WithMaxTest(maxTest).WithRunner(runner).WithQuietOnSuccess(true)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed, 0x9E3779B97F4A7C15UL | 1), FSharpOption<int>.None)));
        T? lastFailing = default;
        bool failed = false;
        Check.One(config, Prop.ForAll(arb, (T x) =>
        {
            bool ok = property(x);
            if (!ok) { lastFailing = x; failed = true; }
            return ok;
        }));
        output?.WriteLine($"FsCheck seed {seed}, {maxTest} tests: {(failed ? "FAILED" : "passed")}");
        if (failed) throw new XunitException($"property failed (seed {seed}); shrunk counterexample:\n{lastFailing}");
    }

    private sealed class CapturingRunner : IRunner
    {
        public void OnStartFixture(Type t) { }
        public void OnArguments(int ntest, Microsoft.FSharp.Collections.FSharpList<object> args, FSharpFunc<int, FSharpFunc<Microsoft.FSharp.Collections.FSharpList<object>, string>> every) { }
        public void OnShrink(Microsoft.FSharp.Collections.FSharpList<object> args, FSharpFunc<Microsoft.FSharp.Collections.FSharpList<object>, string> everyShrink) { }
        public void OnFinished(string name, TestResult result) { }
    }
}
