using System.Reflection;
using System.Runtime.ExceptionServices;
using Conformance.Adapters;

namespace Conformance.SelfTests;

/// <summary>
/// The tests' stand-in targets: an <see cref="IBufferTarget"/> that forwards every call to another object (a model, or one
/// of two) after a hook of its own (a delay, a count, a throw), or answers it itself (<see cref="Answers"/>). <see cref="Make"/>
/// creates one; <see cref="Invoke"/> asks the subclass where a call goes (<see cref="Route"/>) and forwards it, an exception
/// the call threw rethrown as itself, with its stack, not wrapped in reflection's <see cref="TargetInvocationException"/>.
/// </summary>
public abstract class ForwardingProxy<TSelf> : DispatchProxy where TSelf : ForwardingProxy<TSelf>
{
    /// <summary>A new proxy of this kind: the target the code under test is handed, and the proxy itself to set up and read.</summary>
    public static (IBufferTarget Target, TSelf Proxy) Make()
    {
        var target = Create<IBufferTarget, TSelf>();
        return (target, (TSelf)(object)target);
    }

    /// <summary>Where call <paramref name="m"/> with <paramref name="args"/> goes: the subclass's hook, run before the call
    /// (a delay, a count, a throw), gives the object it is forwarded to.</summary>
    protected abstract object Route(MethodInfo m, object?[]? args);

    /// <summary>Whether the proxy answers call <paramref name="m"/> itself, with <paramref name="result"/>, instead of
    /// forwarding it (none does unless a subclass says so).</summary>
    protected virtual bool Answers(MethodInfo m, object?[]? args, out object? result)
    {
        result = null;
        return false;
    }

    protected sealed override object? Invoke(MethodInfo? m, object?[]? args)
    {
        if (Answers(m!, args, out var result)) return result;
        var to = Route(m!, args);
        try { return m!.Invoke(to, args); }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
