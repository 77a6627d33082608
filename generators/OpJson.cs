using System.Collections.Immutable;
using System.Reflection;
using System.Text.Json.Nodes;
using Conformance.Adapters;

namespace Conformance.Generators;

/// <summary>A replay file that cannot be read back into ops: the message says where and why.</summary>
public sealed class OpFormatException(string message) : Exception(message);

/// <summary>
/// Ops as JSON, by reflection over each record's positional parameters, so a new op needs no change
/// here: {"op": "ReqBufs", "id": 0, "Fd": 1, "Type": 1, "Memory": 1, "Count": 2}. Handles are the
/// symbolic ids (0 none, -1 an fd number that is never open). An argument declared with a default value (one that only
/// some queues use, such as a multi-planar queue's plane) is left out while it holds that default and read back as the
/// default when absent, so files written before it existed still replay.
/// </summary>
public static class OpJson
{
    private static readonly Dictionary<string, Type> Types = typeof(Op).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(Op)) && !t.IsAbstract).ToDictionary(t => t.Name, StringComparer.Ordinal);

    private static ParameterInfo[] Parameters(Type t) =>
        t.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First().GetParameters();

    public static JsonObject ToJson(Op op)
    {
        var o = new JsonObject { ["op"] = op.GetType().Name, ["id"] = op.Id };
        if (op.Branch != 0) o["branch"] = op.Branch;   // only a parallel block's ops: files of sequential ones stay as they were
        if (op.Process != 0) o["process"] = op.Process;   // only a helper process's ops, likewise
        if (op.ReadOnlyArg) o["readOnlyArg"] = true;       // only a create whose argument lies in a read-only page, likewise
        if (op.FdTableFull) o["fdTableFull"] = true;       // only a create made with the fd table full, likewise
        foreach (var p in Parameters(op.GetType()))
        {
            var v = op.GetType().GetProperty(p.Name!)!.GetValue(op)!;
            if (p.HasDefaultValue && IsDefault(v, p)) continue;
            o[p.Name!] = Value(v);
        }
        return o;
    }

    private static bool IsDefault(object v, ParameterInfo p) => v switch
    {
        ImmutableArray<Var> a => a.IsDefaultOrEmpty,
        _ => Equals(v, p.DefaultValue ?? (p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null))
            || p.ParameterType.IsEnum && p.DefaultValue != null && Equals(v, Enum.ToObject(p.ParameterType, p.DefaultValue)),
    };

    private static JsonNode Value(object v) => v switch
    {
        ImmutableArray<Var> vars => new JsonArray(vars.Select(x => (JsonNode)JsonValue.Create(x.Id)).ToArray()),
        Var x => JsonValue.Create(x.Id),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        Enum e => JsonValue.Create(e.ToString()),
        ImmutableArray<ListItem> items => new JsonArray(items.Select(i => (JsonNode)new JsonObject
            { ["Memfd"] = i.Memfd.Id, ["Offset"] = i.Offset, ["Size"] = i.Size }).ToArray()),
        ulong u => JsonValue.Create(u),
        _ => JsonValue.Create(System.Convert.ToInt64(v)),
    };

    /// <summary>Reads one op; where names the step in error messages.</summary>
    public static Op FromJson(JsonNode? node, string where)
    {
        if (node is not JsonObject o) throw new OpFormatException($"{where}: not a JSON object");
        var name = Str(o, "op", where);
        if (!Types.TryGetValue(name, out var t)) throw new OpFormatException($"{where}: unknown op \"{name}\" (this suite knows {Types.Count} ops; was the file written by another version?)");
        var ps = Parameters(t);
        var args = new object?[ps.Length];
        for (int i = 0; i < ps.Length; i++)
        {
            var p = ps[i];
            if (!o.TryGetPropertyValue(p.Name!, out var v) || v == null)
            {
                if (p.HasDefaultValue) { args[i] = p.DefaultValue is null && p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : p.ParameterType.IsEnum ? Enum.ToObject(p.ParameterType, p.DefaultValue!) : p.DefaultValue; continue; }
                throw new OpFormatException($"{where}: {name} has no \"{p.Name}\"");
            }
            args[i] = Convert(v, p.ParameterType, $"{where}: {name}.{p.Name}");
        }
        var op = (Op)Activator.CreateInstance(t, args)!;
        var known = ps.Select(p => p.Name!).Append("op").Append("id").Append("branch").Append("process").Append("readOnlyArg").Append("fdTableFull").ToHashSet();
        var extra = o.Select(kv => kv.Key).FirstOrDefault(k => !known.Contains(k));
        if (extra != null) throw new OpFormatException($"{where}: {name} has an unknown field \"{extra}\"");
        bool readOnlyArg = o["readOnlyArg"] is { } ro && ReadOnlyArg(ro, op, $"{where}: {name}.readOnlyArg");
        return op with
        {
            Id = (int)Int(o["id"], $"{where}: id", 0, int.MaxValue),
            Branch = o["branch"] is { } b ? (int)Int(b, $"{where}: branch", 0, Op.MaxBranches) : 0,
            Process = o["process"] is { } pr ? (int)Int(pr, $"{where}: process", 0, op.RunsInAnyProcess ? Op.MaxProcess : 0) : 0,
            ReadOnlyArg = readOnlyArg,
            FdTableFull = o["fdTableFull"] is { } full && FdTableFull(full, op, readOnlyArg, $"{where}: {name}.fdTableFull"),
        };
    }

    private static bool ReadOnlyArg(JsonNode n, Op op, string where)
    {
        bool ro = (bool)Convert(n, typeof(bool), where);
        if (ro && !op.CopiesOutFd) throw new OpFormatException($"{where}: only an ioctl that writes the fd it creates into its argument takes a read-only one");
        return ro;
    }

    private static bool FdTableFull(JsonNode n, Op op, bool readOnlyArg, string where)
    {
        bool full = (bool)Convert(n, typeof(bool), where);
        if (full && !op.InstallsFd) throw new OpFormatException($"{where}: only an ioctl whose success is a new dma-buf or sync_file fd runs with the fd table full");
        if (full && readOnlyArg) throw new OpFormatException($"{where}: a step runs with the fd table full or with its argument read-only, not both");
        return full;
    }

    private static string Str(JsonObject o, string key, string where) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new OpFormatException($"{where}: \"{key}\" must be a string");

    private static long Int(JsonNode? n, string where, long min, long max)
    {
        // a parsed file holds JsonElements, a node built in memory holds the CLR number: read both through the text
        if (n is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number && long.TryParse(v.ToJsonString(), out var x) && x >= min && x <= max) return x;
        throw new OpFormatException($"{where}: expected a whole number from {min} to {max}, got {n?.ToJsonString() ?? "nothing"}");
    }

    private static object Convert(JsonNode n, Type t, string where)
    {
        if (t == typeof(Var)) return new Var((int)Int(n, where, -1, int.MaxValue));
        if (t == typeof(string)) return n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new OpFormatException($"{where}: expected a string");
        if (t == typeof(bool)) return n is JsonValue b && b.TryGetValue<bool>(out var x) ? x : throw new OpFormatException($"{where}: expected true or false");
        if (t.IsEnum)
            return n is JsonValue e && e.TryGetValue<string>(out var es) && Enum.TryParse(t, es, false, out var ev) && Enum.IsDefined(t, ev!)
                ? ev! : throw new OpFormatException($"{where}: expected one of {string.Join(", ", Enum.GetNames(t))}");
        if (t == typeof(ulong))
        {
            if (n is JsonValue u && u.GetValueKind() == System.Text.Json.JsonValueKind.Number && ulong.TryParse(u.ToJsonString(), out var ux)) return ux;
            throw new OpFormatException($"{where}: expected an unsigned 64-bit number");
        }
        if (t == typeof(ImmutableArray<Var>))
        {
            if (n is not JsonArray va) throw new OpFormatException($"{where}: expected an array of handles");
            return va.Select((item, k) => new Var((int)Int(item, $"{where}[{k}]", -1, int.MaxValue))).ToImmutableArray();
        }
        if (t == typeof(ImmutableArray<ListItem>))
        {
            if (n is not JsonArray a) throw new OpFormatException($"{where}: expected an array");
            return a.Select((item, k) => item is JsonObject io
                ? new ListItem(new Var((int)Int(io["Memfd"], $"{where}[{k}].Memfd", -1, int.MaxValue)), Int(io["Offset"], $"{where}[{k}].Offset", long.MinValue, long.MaxValue), Int(io["Size"], $"{where}[{k}].Size", long.MinValue, long.MaxValue))
                : throw new OpFormatException($"{where}[{k}]: expected an object")).ToImmutableArray();
        }
        var (min, max) = t == typeof(int) ? (int.MinValue, int.MaxValue) : t == typeof(uint) ? (0, uint.MaxValue) : t == typeof(short) ? (short.MinValue, short.MaxValue)
            : t == typeof(long) ? (long.MinValue, long.MaxValue) : throw new OpFormatException($"{where}: no JSON form for {t.Name}");
        return System.Convert.ChangeType(Int(n, where, min, max), t);
    }

    /// <summary>Every handle a step uses must be created by an earlier step: a replay file that breaks this was edited or truncated.</summary>
    public static void CheckHandles(IReadOnlyList<Op> ops)
    {
        var created = new HashSet<int>();
        var branchOf = new Dictionary<int, int>();   // handles created in the current parallel block, and by which branch
        var held = new HashSet<(int Process, int Id)>();  // which process ever held each handle (a fork's child: its parent's too)
        for (int i = 0; i < ops.Count; i++)
        {
            if (ops[i].Branch == 0) branchOf.Clear();
            foreach (var v in ops[i].Uses)
            {
                if (!created.Contains(v.Id)) throw new OpFormatException($"step {i + 1}: uses v{v.Id}, which no earlier step creates");
                if (branchOf.TryGetValue(v.Id, out var b) && b != ops[i].Branch)
                    throw new OpFormatException($"step {i + 1}: uses v{v.Id}, which another branch of its parallel block creates");
                if (!held.Contains((ops[i].Process, v.Id)))
                    throw new OpFormatException($"step {i + 1}: runs in P{ops[i].Process} but uses v{v.Id}, which that process never held");
            }
            if (ops[i].Creates) held.Add((ops[i].CreatesIn, ops[i].Id));
            if (ops[i] is Fork f) held.UnionWith(held.Where(h => h.Process == f.Process).Select(h => (f.To, h.Id)).ToList());
            if (ops[i].Branch != 0 && ops[i].Creates) branchOf[ops[i].Id] = ops[i].Branch;
            if (ops[i].Creates)
            {
                if (ops[i].Id <= 0 || !created.Add(ops[i].Id)) throw new OpFormatException($"step {i + 1}: creates a resource but its id {ops[i].Id} is not new and positive");
            }
        }
    }
}
