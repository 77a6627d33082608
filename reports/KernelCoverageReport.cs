using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Conformance.Adapters.Kernel;

namespace Conformance.Reports;

/// <summary>
/// What <c>--kernel-coverage</c> reports (<see cref="FunctionCoverage"/>): the table printed after a run, the JSON written to
/// <c>kernel-coverage.json</c> and into <c>results.json</c> (<c>kernel_coverage</c>), read back as a baseline, and the
/// difference against one.
/// </summary>
public static class KernelCoverageReport
{
    /// <summary>The JSON's schema name; a baseline of another schema is refused.</summary>
    public const string Schema = "conformance-kernel-coverage/1";

    /// <summary>The table: per group, functions reached of those traceable, and the run's totals, time traced and events lost;
    /// then, where the report has them, its coverage over time (the seconds by which half, 90% and all of what it reached had
    /// been reached) and its ops per second, and per device's turn the functions it first reached and how soon.</summary>
    public static string Table(CoverageReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"kernel coverage: {r.Reached} of {r.Traceable} traceable functions of the buffer-sharing code reached ({Percent(r.Reached, r.Traceable)}), " +
            $"{r.Seconds:0} s traced on {r.Kernel}, {(r.LostEvents == 0 ? "no trace event lost" : $"{r.LostEvents} trace events LOST (a lower bound)")}");
        int width = Math.Max(5, r.Groups.Max(g => g.Name.Length));
        sb.AppendLine($"  {"group".PadRight(width)}  reached / traceable");
        foreach (var g in r.Groups)
            sb.AppendLine($"  {g.Name.PadRight(width)}  {g.Reached.Count,7} / {g.Traceable.Count,-9} {Percent(g.Reached.Count, g.Traceable.Count),4}");
        if (OverTime(r) is { } line) sb.AppendLine(line);
        var byTurn = r.ByTurn();
        if (byTurn.Count > 0)
        {
            sb.AppendLine("  by device (in its turn: functions first reached, and how soon 90% of them were):");
            int w = byTurn.Max(t => t.Turn.Device.Length);
            foreach (var (t, n, ninety) in byTurn)
                sb.AppendLine($"    {t.Device.PadRight(w)}  {n,4} in {t.To - t.From,6:0} s" + (ninety is { } s ? $", 90% by {s:0.#} s" : ""));
        }
        return sb.ToString().TrimEnd();
    }

    private static string Percent(int a, int b) => b == 0 ? "-" : $"{100 * a / b}%";

    /// <summary>"over time: half of it reached by 9 s, 90% by 160 s, all by 1320 s; 1,234,567 ops, 880 a second", or null
    /// where the report has no times.</summary>
    public static string? OverTime(CoverageReport r)
    {
        if (r.SecondsTo(0.5) is not { } half) return null;
        string ops = r.Ops is { } n && r.Seconds > 0 ? $"; {n:N0} ops, {n / r.Seconds:N0} a second" : "";
        return $"  over time: half of it reached by {half:0.#} s, 90% by {r.SecondsTo(0.9):0.#} s, all by {r.SecondsTo(1):0.#} s of {r.Seconds:0} s{ops}";
    }

    /// <summary>The report as JSON: kernel, seconds, lost_events, totals, and per group its counts, the functions reached
    /// and those never reached (each sorted); where known, the ops made while tracing (<c>ops</c>), the seconds by which half,
    /// 90% and all of what was reached had been reached (<c>reached_by_seconds</c>), per group when each function was first
    /// seen (<c>reached_at</c>, seconds), and each device's turn (<c>turns</c>: device, from_s, to_s, first_reached,
    /// ninety_percent_by_s, seconds into the turn).</summary>
    public static JsonObject Json(CoverageReport r)
    {
        var o = new JsonObject
        {
            ["schema"] = Schema,
            ["kernel"] = r.Kernel,
            ["seconds"] = r.Seconds,
            ["lost_events"] = r.LostEvents,
            ["traceable"] = r.Traceable,
            ["reached"] = r.Reached,
        };
        if (r.Ops is { } ops) o["ops"] = ops;
        if (r.SecondsTo(0.5) is { } half)
            o["reached_by_seconds"] = new JsonObject { ["50%"] = half, ["90%"] = r.SecondsTo(0.9), ["100%"] = r.SecondsTo(1) };
        if (r.Turns != null)
        {
            var byTurn = r.ByTurn();
            o["turns"] = new JsonArray(r.Turns.Select((t, i) =>
            {
                var j = new JsonObject { ["device"] = t.Device, ["from_s"] = t.From, ["to_s"] = t.To };
                if (byTurn.Count > i) { j["first_reached"] = byTurn[i].FirstReached; j["ninety_percent_by_s"] = byTurn[i].NinetyPercentBy; }
                return (JsonNode)j;
            }).ToArray());
        }
        o["groups"] = new JsonArray(r.Groups.Select(g =>
        {
            var j = new JsonObject
            {
                ["name"] = g.Name,
                ["traceable"] = g.Traceable.Count,
                ["reached"] = g.Reached.Count,
                ["reached_functions"] = new JsonArray(g.Reached.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray()),
                ["never_reached"] = new JsonArray(g.Never.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray()),
            };
            if (g.ReachedAt != null)
                j["reached_at"] = new JsonObject(g.Reached.Where(g.ReachedAt.ContainsKey).Select(f => KeyValuePair.Create(f, (JsonNode?)g.ReachedAt[f])));
            return (JsonNode)j;
        }).ToArray());
        return o;
    }

    /// <summary>Reads a kernel-coverage.json (or the kernel_coverage object of a results.json) back.</summary>
    /// <exception cref="InvalidDataException">Not such a file: the message says what is wrong.</exception>
    public static CoverageReport Load(string path)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"'{path}' is not JSON: {e.Message}"); }
        if (root?["kernel_coverage"] is JsonObject inner) root = inner;
        if (root is not JsonObject o || (string?)o["schema"] != Schema)
            throw new InvalidDataException($"'{path}' is not a kernel coverage file (schema {Schema}: kernel-coverage.json of a --kernel-coverage run)");
        try
        {
            var groups = o["groups"]!.AsArray().Select(g =>
            {
                var reached = g!["reached_functions"]!.AsArray().Select(f => (string)f!).ToList();
                var never = g["never_reached"]!.AsArray().Select(f => (string)f!).ToList();
                // (a file from before the times were kept has none)
                var at = g["reached_at"] is JsonObject times ? times.ToDictionary(kv => kv.Key, kv => (double)kv.Value!, StringComparer.Ordinal) : null;
                return new GroupCoverage((string)g["name"]!, reached.Concat(never).Order(StringComparer.Ordinal).ToList(), reached) { ReachedAt = at };
            }).ToList();
            var turns = o["turns"] is JsonArray ts ? ts.Select(t => new CoverageTurn((string)t!["device"]!, (double)t["from_s"]!, (double)t["to_s"]!)).ToList() : null;
            return new CoverageReport((string)o["kernel"]!, (double)o["seconds"]!, (long)o["lost_events"]!, groups) { Ops = o["ops"] is { } ops ? (long)ops : null, Turns = turns };
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidDataException($"'{path}' is a damaged kernel coverage file: {e.Message}");
        }
    }

    /// <summary>The difference against a baseline: per group present in either, the functions this run reached that the
    /// baseline did not, and those the baseline reached that this run did not (each sorted); groups where nothing moved
    /// are left out.</summary>
    public static IReadOnlyList<(string Group, IReadOnlyList<string> Gained, IReadOnlyList<string> Lost)> Diff(CoverageReport baseline, CoverageReport now)
    {
        var names = now.Groups.Select(g => g.Name).Concat(baseline.Groups.Select(g => g.Name)).Distinct().ToList();
        IReadOnlyList<string> Reached(CoverageReport r, string g) => r.Groups.FirstOrDefault(x => x.Name == g)?.Reached ?? [];
        return names.Select(g => (g, (IReadOnlyList<string>)Reached(now, g).Except(Reached(baseline, g)).Order(StringComparer.Ordinal).ToList(),
                (IReadOnlyList<string>)Reached(baseline, g).Except(Reached(now, g)).Order(StringComparer.Ordinal).ToList()))
            .Where(d => d.Item2.Count > 0 || d.Item3.Count > 0).ToList();
    }

    /// <summary>The difference as text: one line per group that moved, then the functions themselves.</summary>
    public static string DiffText(CoverageReport baseline, CoverageReport now, string baselinePath)
    {
        var d = Diff(baseline, now);
        var sb = new StringBuilder();
        sb.AppendLine($"kernel coverage against {baselinePath} ({baseline.Reached} of {baseline.Traceable} reached on {baseline.Kernel}): " +
            (d.Count == 0 ? "the same functions reached" : $"{d.Sum(x => x.Gained.Count)} newly reached, {d.Sum(x => x.Lost.Count)} no longer reached"));
        foreach (var (g, gained, lost) in d)
        {
            sb.AppendLine($"  {g}: +{gained.Count} -{lost.Count}");
            if (gained.Count > 0) sb.AppendLine($"    newly reached: {string.Join(", ", gained)}");
            if (lost.Count > 0) sb.AppendLine($"    no longer reached: {string.Join(", ", lost)}");
        }
        return sb.ToString().TrimEnd();
    }
}
