using System.Collections.Immutable;
using System.Text.Json;
using Conformance.Adapters;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Reports;
using Conformance.Spec;

namespace Conformance.Runner;

/// <summary>
/// --merge DIR...: joins the results folders of a sharded run (each written with --shard I/N, the same seed, options and
/// suite version) into that run's results, as if one machine had run every batch: KTAP, JSON, JUnit, the certificate and the
/// counterexamples, in --out. Per device and property the shards' sequences add up; per invariant the checks add up and the
/// verdict is the worst a shard gave (FAIL over KNOWN over SKIP over PASS; NOT EXERCISED only where no shard checked it). Two
/// shards that found the same invariant failing under one property found one bug: the counterexample kept is the one from the
/// earlier batch (the one the unsharded run meets first), with its replay file and C reproducer.
/// </summary>
/// <remarks>Each folder's results.json (format <see cref="JsonReport.SchemaVersion"/>) and replay files are read back; a
/// folder that is not a shard of the same run is one usage line (exit 2). A shard missing makes the run incomplete: the
/// results say which, and the exit status is 1.</remarks>
public static class Merge
{
    /// <summary>One shard's results folder, read and checked.</summary>
    private sealed record ShardDir(string Dir, JsonDocument Doc, Shard Shard)
    {
        public JsonElement Root => Doc.RootElement;
        public JsonElement Run => Root.GetProperty("run");
        public IEnumerable<JsonElement> Units => Root.GetProperty("units").EnumerateArray();
    }

    public static int Run(Program.Cli cli, Catalog catalog, TextWriter output)
    {
        var shards = cli.Merge.Select(Read).OrderBy(s => s.Shard.Index).ToList();
        try
        {
            Check(shards, cli);
            int count = shards[0].Shard.Count;
            var present = shards.Select(s => s.Shard.Index).ToList();
            var missing = Enumerable.Range(1, count).Except(present).ToList();
            var merged = new MergedShards(count, present, missing);
            var seed = shards[0].Run.GetProperty("seed").GetUInt64();
            var kernel = shards[0].Root.GetProperty("kernel").GetString();

            var folder = OutputFolder.Begin(cli.OutDir);
            var units = new List<UnitResult>();
            try
            {
                output.WriteLine($"# merging shard{(present.Count == 1 ? "" : "s")} {string.Join(", ", present)} of {count} (seed {seed}): {string.Join(", ", shards.Select(s => Counterexamples.Display(s.Dir)))}");
                foreach (var name in shards.SelectMany(s => s.Units).Select(u => u.GetProperty("name").GetString()!).Distinct())
                {
                    var parts = shards.SelectMany(s => s.Units.Where(u => u.GetProperty("name").GetString() == name).Select(u => (Shard: s, Unit: u))).ToList();
                    var unit = MergeUnit(parts, catalog, cli.Known, kernel, folder.Staging, output);
                    output.WriteLine();
                    if (unit.Result != null)
                    {
                        Results.Print(unit, catalog, output);
                        Results.WriteJUnit(unit, catalog, folder.Staging, output);
                    }
                    else output.WriteLine($"SKIP          {unit.Device ?? unit.Name}: {unit.SkipReason}");
                    units.Add(unit);
                }
                bool regressed = Results.WriteRun(units, catalog, folder.Staging, output, kernel, cli.Baseline, merged: merged);
                folder.Finish();
                var results = units.Where(u => u.Result != null).Select(u => u.Result!).ToList();
                output.WriteLine();
                if (missing.Count > 0)
                    output.WriteLine($"# INCOMPLETE: shard{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing)} of {count} missing: {(missing.Count == 1 ? "its" : "their")} batches did not run, so this run certifies only part of what it was given: exit 1");
                if (results.Count == 0 || Program.Cli.NothingJudged(results) is { } nothing)
                {
                    output.WriteLine("# nothing was judged: every shard skipped every device or invariant, so this run certifies nothing: exit 1");
                    return 1;
                }
                bool leaked = units.Any(u => u.Leak != null);
                return regressed || missing.Count > 0 ? 1 : cli.ExitStatus(results, leaked);
            }
            catch
            {
                folder.Finish();
                throw;
            }
        }
        finally
        {
            foreach (var s in shards) s.Doc.Dispose();
        }
    }

    private static ShardDir Read(string dir)
    {
        var file = Path.Combine(dir, "results.json");
        if (File.Exists(dir)) throw new Program.UsageException($"--merge {dir}: a file, not a results folder");
        if (!Directory.Exists(dir)) throw new Program.UsageException($"--merge {dir}: no such folder");
        if (!File.Exists(file)) throw new Program.UsageException($"--merge {dir}: no results.json in it (not a results folder of this suite)");
        JsonDocument doc;
        try { doc = RegressionDiff.Load(file); }
        catch (InvalidDataException e) { throw new Program.UsageException($"--merge: {e.Message}"); }
        try
        {
            var root = doc.RootElement;
            var schema = root.GetProperty("schema").GetString();
            if (schema != JsonReport.SchemaVersion)
                throw new Program.UsageException($"--merge {dir}: its results.json is {schema}; this suite writes and merges {JsonReport.SchemaVersion} (results of another version of the suite)");
            var text = root.TryGetProperty("run", out var run) && run.TryGetProperty("shard", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : null;
            if (text == null)
                throw new Program.UsageException($"--merge {dir}: a whole run (written without --shard), not a shard: there is nothing to merge it with");
            if (Shard.Parse(text, out _) is not { } shard)
                throw new Program.UsageException($"--merge {dir}: run.shard '{text}' in its results.json is not I/N");
            return new ShardDir(Path.GetFullPath(dir).TrimEnd('/'), doc, shard);
        }
        catch
        {
            doc.Dispose();
            throw;
        }
    }

    /// <summary>The shards are of one run: the same N, each shard once, the same seed, budget, length, kernel and suite version;
    /// and --out is none of them (a run replaces its results folder as a whole).</summary>
    private static void Check(IReadOnlyList<ShardDir> shards, Program.Cli cli)
    {
        var first = shards[0];
        foreach (var s in shards.Skip(1))
        {
            if (s.Shard.Count != first.Shard.Count)
                throw new Program.UsageException($"--merge: {s.Dir} is shard {s.Shard} and {first.Dir} shard {first.Shard}: shards of one run share their N");
            if (shards.Count(x => x.Shard.Index == s.Shard.Index) > 1)
                throw new Program.UsageException($"--merge: shard {s.Shard} is given twice ({string.Join(", ", shards.Where(x => x.Shard.Index == s.Shard.Index).Select(x => x.Dir))})");
            foreach (var field in new[] { "seed", "sequences", "time_budget_seconds", "max_length" })
                if (s.Run.GetProperty(field).GetRawText() != first.Run.GetProperty(field).GetRawText())
                    throw new Program.UsageException($"--merge: {s.Dir} ran with {field} {s.Run.GetProperty(field).GetRawText()} and {first.Dir} with {first.Run.GetProperty(field).GetRawText()}: shards of one run share their options");
            foreach (var field in new[] { "kernel", "suite_version" })
                if (s.Root.GetProperty(field).GetRawText() != first.Root.GetProperty(field).GetRawText())
                    throw new Program.UsageException($"--merge: {s.Dir} has {field} {s.Root.GetProperty(field).GetRawText()} and {first.Dir} {first.Root.GetProperty(field).GetRawText()}: shards of one run certify one kernel with one suite");
        }
        var outDir = Path.GetFullPath(cli.OutDir).TrimEnd('/');
        if (shards.FirstOrDefault(s => s.Dir == outDir) is { } clash)
            throw new Program.UsageException($"--out {cli.OutDir} is one of the shards merged ({clash.Dir}): name another folder for the merged results");
    }

    /// <summary>One device's (or the model's) results over the shards that ran it, its counterexamples copied under outDir.</summary>
    private static UnitResult MergeUnit(IReadOnlyList<(ShardDir Shard, JsonElement Unit)> parts, Catalog catalog, KnownIssueList known, string? kernel, string outDir,
        TextWriter output)
    {
        var head = parts[0].Unit;
        string name = head.GetProperty("name").GetString()!;
        string? device = head.GetProperty("device").GetString();
        var ran = parts.Where(p => p.Unit.GetProperty("target").ValueKind == JsonValueKind.String).ToList();
        var notes = parts.SelectMany(p => p.Unit.GetProperty("notes").EnumerateArray().Select(n => n.GetString()!)).Distinct().ToList();
        foreach (var (s, u) in parts.Except(ran))
            notes.Add($"shard {s.Shard} skipped it: {u.GetProperty("skip_reason").GetString()}");
        if (ran.Count == 0)
            return new UnitResult(name, device, null, head.GetProperty("skip_reason").GetString(), _ => null, _ => "") { Notes = notes };

        var first = ran[0].Unit;
        var run = ran[0].Shard.Run;
        ulong seed = run.GetProperty("seed").GetUInt64();
        var opt = new RunOptions
        {
            Seed = seed,
            Sequences = run.GetProperty("sequences") is { ValueKind: JsonValueKind.Number } count ? (int)count.GetUInt64() : 0,
            Budget = run.GetProperty("time_budget_seconds") is { ValueKind: JsonValueKind.Number } b ? TimeSpan.FromSeconds(b.GetDouble()) : null,
            MaxLength = (int)run.GetProperty("max_length").GetUInt64(),
        };
        string target = first.GetProperty("target").GetString()!, profileName = first.GetProperty("profile").GetString()!;
        var profile = TargetProfile.BuiltIn.FirstOrDefault(p => p.Name == profileName && !target.StartsWith("kernel", StringComparison.Ordinal))
            ?? new TargetProfile(profileName, kernel ?? "", [], [], null, 0);

        // findings: per property and invariant the one from the earliest batch, with its files
        var files = new Dictionary<Finding, CounterexampleFiles>(ReferenceEqualityComparer.Instance);
        var commands = new Dictionary<Finding, string>(ReferenceEqualityComparer.Instance);
        var properties = new List<PropertyResult>();
        var propertyNames = ran.SelectMany(p => p.Unit.GetProperty("properties").EnumerateArray().Select(x => x.GetProperty("name").GetString()!)).Distinct()
            .OrderBy(x => Properties.Properties.All.ToList().FindIndex(p => p.Name == x)).ToList();
        foreach (var propName in propertyNames)
        {
            var property = Properties.Properties.All.FirstOrDefault(p => p.Name == propName)
                ?? throw new Program.UsageException($"--merge: property '{propName}' in {ran[0].Shard.Dir}/results.json is not one this suite has");
            var runs = ran.SelectMany(p => p.Unit.GetProperty("properties").EnumerateArray().Where(x => x.GetProperty("name").GetString() == propName).Select(x => (p.Shard, Json: x))).ToList();
            var findings = new List<Finding>();
            foreach (var group in runs.SelectMany(r => r.Json.GetProperty("failures").EnumerateArray().Select(f => (r.Shard, Json: f)))
                         .GroupBy(f => f.Json.GetProperty("invariant").GetString()!))
            {
                // as in the run (Engine.Run): the parallel property runs lockstep's judgement, so a rule lockstep found broken is
                // that bug again there, not a race; a shard whose own lockstep batches missed it reported it under parallel too
                if (property.Name == "parallel" && properties.Any(p => p.Property.Name == "lockstep" && p.Findings.Any(l => l.Failure.InvariantId == group.Key)))
                    continue;
                var chosen = group.OrderBy(f => Engine.BatchIndex(seed, f.Json.GetProperty("replay_seed").GetUInt64()))
                    .ThenBy(f => f.Json.GetProperty("shrunk_steps").GetInt32()).First();
                if (group.Count() > 1)
                    output.WriteLine($"# {device ?? name}: {group.Key} by {propName} was found by shards {string.Join(", ", group.Select(g => g.Shard.Shard))}: kept shard {chosen.Shard.Shard}'s, from the earliest batch");
                var (finding, copied) = ReadFinding(chosen.Shard, chosen.Json, property, known, outDir);
                findings.Add(finding);
                files[finding] = copied;
                commands[finding] = chosen.Json.GetProperty("replay_command").GetString()!;
            }
            properties.Add(new PropertyResult(property, runs.Sum(r => r.Json.GetProperty("sequences").GetInt32()), findings,
                TimeSpan.FromSeconds(runs.Sum(r => r.Json.GetProperty("elapsed_seconds").GetDouble()))));
        }

        // invariants: the checks add up, the verdict is the worst a shard gave
        var exercise = new Exercise { Ops = ran.Sum(p => p.Unit.GetProperty("ops").GetInt64()), Sequences = ran.Sum(p => p.Unit.GetProperty("sequences").GetInt64()) };
        var invariants = new List<InvariantResult>();
        var byId = ran.SelectMany(p => p.Unit.GetProperty("invariants").EnumerateArray()).GroupBy(i => i.GetProperty("id").GetString()!);
        var allFindings = properties.SelectMany(p => p.Findings).ToList();
        foreach (var g in byId)
        {
            if (!catalog.Contains(g.Key)) throw new Program.UsageException($"--merge: invariant {g.Key} in {ran[0].Shard.Dir}/results.json is not in this suite's catalog");
            long n = g.Sum(i => i.GetProperty("checked").GetInt64());
            exercise.Hit(g.Key, n);
            var statuses = g.Select(i => i.GetProperty("status").GetString()!).ToList();
            string? Reasons(string status) => g.Where(i => i.GetProperty("status").GetString() == status).Select(i => i.GetProperty("reason").GetString()).OfType<string>()
                .Distinct().ToList() is { Count: > 0 } rs ? string.Join(" | ", rs) : null;
            var inv = catalog[g.Key];
            invariants.Add(statuses.Contains("fail") ? new InvariantResult(inv, Verdict.Fail, n, allFindings.Any(f => f.Failure.InvariantId == g.Key) ? null : Reasons("fail"))
                : statuses.Contains("known") ? new InvariantResult(inv, Verdict.Known, n, Reasons("known"))
                {
                    Known = g.SelectMany(i => i.GetProperty("known").EnumerateArray().Select(k => k.GetString()!)).Distinct().Select(id => Known(known, id, ran[0].Shard)).ToList(),
                }
                : statuses.Contains("skip") ? new InvariantResult(inv, Verdict.Skip, n, Reasons("skip"))
                : n > 0 ? new InvariantResult(inv, Verdict.Pass, n, null)
                : new InvariantResult(inv, Verdict.NotExercised, 0, Reasons("not_exercised")));
        }

        var tally = new DomainTally();
        foreach (var d in ran.SelectMany(p => p.Unit.GetProperty("domains").EnumerateArray()))
        {
            var domain = Domains.All.FirstOrDefault(x => x.Name == d.GetProperty("name").GetString());
            if (domain == null) continue;   // (the version check makes this impossible; a stray domain adds nothing)
            foreach (var v in d.GetProperty("values").EnumerateArray())
                if (domain.Entries.ToList().FindIndex(e => e.Label == v.GetProperty("value").GetString()) is var i and >= 0)
                    tally.Add(domain, i, v.GetProperty("generated").GetInt64());
        }
        var elapsed = TimeSpan.FromSeconds(ran.Sum(p => p.Unit.GetProperty("elapsed_seconds").GetDouble()));
        // the shards' timed system calls, summed where every shard timed them (a kernel run's; the model's are null)
        static double? Timed(JsonElement unit, string key) =>
            unit.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        var calls = ran.Select(p => Timed(p.Unit, "system_calls")).ToList();
        var callSeconds = ran.Select(p => Timed(p.Unit, "system_call_seconds")).ToList();
        Conformance.Adapters.Interop.SyscallTime? syscalls = calls.Count > 0 && calls.All(c => c != null) && callSeconds.All(c => c != null)
            ? new((long)calls.Sum()!.Value, callSeconds.Sum()!.Value, 0) : null;
        var result = new SuiteResult(target, profile, opt, properties, invariants, exercise, elapsed) { Domains = tally, Syscalls = syscalls };
        var leaks = ran.Select(p => p.Unit.GetProperty("leak").GetString()).OfType<string>().ToList();
        return new UnitResult(name, device, result, null, f => files.GetValueOrDefault(f), f => commands.GetValueOrDefault(f) ?? "")
        {
            Notes = notes, Leak = leaks.Count > 0 ? string.Join(" | ", leaks) : null,
        };
    }

    /// <summary>A finding read back: its numbers from results.json, its steps from its replay file; both files copied under outDir.</summary>
    private static (Finding Finding, CounterexampleFiles Files) ReadFinding(ShardDir shard, JsonElement f, IConformanceProperty property, KnownIssueList known, string outDir)
    {
        string Local(string? shown, string what)
        {
            int at = shown?.IndexOf("counterexamples/", StringComparison.Ordinal) ?? -1;
            var path = at >= 0 ? Path.Combine(shard.Dir, shown![at..]) : null;
            if (path == null || !File.Exists(path))
                throw new Program.UsageException($"--merge {shard.Dir}: the {what} of {f.GetProperty("invariant").GetString()} ({shown ?? "none"}) is not in the folder: merge the shard's whole results folder");
            return path;
        }
        var replayPath = Local(f.GetProperty("replay_file").GetString(), "replay file");
        var cPath = Local(f.GetProperty("reproducer").GetString(), "C reproducer");
        ReplayFile rf;
        try { rf = ReplayFile.Parse(File.ReadAllText(replayPath)); }
        catch (ReplayFormatException e) { throw new Program.UsageException($"corrupt replay file: {replayPath}: {e.Message}"); }

        int step = f.GetProperty("step") is { ValueKind: JsonValueKind.Number } s ? s.GetInt32() - 1 : -1;
        var allowed = f.GetProperty("allowed").GetString();
        var steps = rf.Steps.Select((e, i) => new Step(e.Op, e.Actual, null, i == step ? allowed : null, e.Cited)).ToImmutableArray();
        var failure = new Failure(rf.Property, f.GetProperty("invariant").GetString()!, step, steps, f.GetProperty("expected").GetString()!,
            f.GetProperty("actual").GetString()!, f.GetProperty("detail").GetString());
        var finding = new Finding(property, failure, null, f.GetProperty("shrinks").GetInt32(), f.GetProperty("replay_seed").GetUInt64(),
            f.GetProperty("replay_sequences").GetInt32(), f.GetProperty("found_after").GetInt32())
        {
            Reproduced = f.GetProperty("reproduced").GetInt32(), ReproRuns = f.GetProperty("repro_runs").GetInt32(),
            Known = f.GetProperty("known") is { ValueKind: JsonValueKind.Object } k ? Known(known, k.GetProperty("id").GetString()!, shard) : null,
            AlreadyFailing = rf.AlreadyFailing, DriverReloaded = f.GetProperty("driver_reloaded").GetBoolean(),
            JoinedHistory = f.GetProperty("joined_history").GetInt32(), OriginalSteps = f.GetProperty("original_steps").GetInt32(),
        };
        // the same place under the merged folder: counterexamples/UNIT/NAME.replay.json and .c
        string Copy(string from)
        {
            var to = Path.Combine(outDir, Path.GetRelativePath(shard.Dir, from));
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(from, to, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new Program.UsageException($"cannot write the merged counterexample to '{to}': {e.Message}");
            }
            return Counterexamples.Display(to);
        }
        return (finding, new CounterexampleFiles(Copy(replayPath), Copy(cPath)));
    }

    /// <summary>A known issue a shard named, from the suite's list or --expectations.</summary>
    private static KnownIssue Known(KnownIssueList known, string id, ShardDir shard) =>
        known.Issues.FirstOrDefault(i => i.Id == id)
        ?? throw new Program.UsageException($"--merge {shard.Dir}: its results name known issue '{id}', which is neither the suite's nor in --expectations: give the lab's --expectations file");
}
