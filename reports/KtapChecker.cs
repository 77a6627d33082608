namespace Conformance.Reports;

/// <summary>What the checker found: errors break the KTAP rules; warnings name unknown lines, which KTAP allows and parsers ignore.</summary>
public sealed record KtapDiagnosis(IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings, int UnknownLines)
{
    public bool Valid => Errors.Count == 0;
}

/// <summary>
/// A strict KTAP version 1 validator (Documentation/dev-tools/ktap.rst): version line first, plan right
/// after a level's version line, result lines numbered 1..N per level matching the plan, subtests indented
/// two spaces deeper and closed by the parent's result line at the parent's indentation, known directives
/// only, TIMEOUT and ERROR only on "not ok", and no "ok" parent over a failing subtest.
/// Messages start with the 1-based line number they concern.
/// </summary>
public static class KtapChecker
{
    public static readonly IReadOnlyList<string> Directives = ["SKIP", "TODO", "XFAIL", "TIMEOUT", "ERROR"];

    public static IReadOnlyList<string> Check(string text) => Diagnose(text).Errors;

    private enum Kind { Blank, Version, Plan, Result, Diagnostic, Unknown }

    /// <summary>A subtest closed by a shallower line, still waiting for its parent's result line.</summary>
    private sealed record Closed(int StartLine, bool Failed);

    /// <summary>One nesting level: the test whose subtests are being listed.</summary>
    private sealed class Level(int depth, int startLine)
    {
        public int Depth { get; } = depth;
        public int StartLine { get; } = startLine;
        public int? Plan { get; set; }
        public int PlanLine { get; set; }
        public bool PlanMissingReported { get; set; }
        public int Ran { get; set; }
        public int LastNumber { get; set; }
        public bool HadSubtest { get; set; }
        /// <summary>A result line at this level said "not ok" without SKIP, TODO or XFAIL.</summary>
        public bool Failed { get; set; }
        public Closed? Pending { get; set; }
    }

    public static KtapDiagnosis Diagnose(string text)
    {
        var errors = new List<string>();
        var warnings = new List<string>();
        int unknown = 0;
        bool missingVersionReported = false;
        var stack = new List<Level>();
        void Error(int line, string message) => errors.Add($"line {line}: {message}");

        void Close(Level l, int line)
        {
            if (l.Pending != null)
                Error(l.Pending.StartLine, $"subtest has no result line at its parent's indentation (ended by line {line})");
            if (l.Plan == null)
            {
                if (!l.PlanMissingReported) Error(l.StartLine, "test has no plan line (1..N) after its version line");
            }
            else if (l.Ran != l.Plan)
                Error(l.PlanLine, $"plan 1..{l.Plan} announces {l.Plan} test(s) but {l.Ran} ran");
        }

        // a line at a shallower indentation ends every deeper subtest; each then waits for its parent's result line
        void CloseTo(int depth, int line)
        {
            while (stack.Count - 1 > depth)
            {
                var l = stack[^1];
                stack.RemoveAt(stack.Count - 1);
                Close(l, line);
                stack[^1].Pending = new Closed(l.StartLine, l.Failed);
            }
        }

        var lines = text.Split('\n');
        for (int n = 1; n <= lines.Length; n++)
        {
            var raw = lines[n - 1].TrimEnd('\r');
            var (kind, spaces, tabbed, content) = Classify(raw);
            if (kind == Kind.Blank) continue;
            if (stack.Count == 0 && !(kind == Kind.Version && spaces == 0 && !tabbed) && !missingVersionReported)
            {
                Error(n, "KTAP output must start with a version line ('KTAP version 1') at column 0");
                missingVersionReported = true;
            }
            if (kind == Kind.Unknown)
            {
                unknown++;
                warnings.Add($"line {n}: unknown line (ignored): {Shorten(raw)}");
                continue;
            }
            if (stack.Count == 0)
            {
                // without a version line the rest is still checked, as if it had one
                stack.Add(new Level(0, n));
                if (kind == Kind.Version)
                {
                    if (!IsKnownVersion(content)) Error(n, $"unsupported version line '{content}' (expected 'KTAP version 1')");
                    continue;
                }
            }
            if (tabbed) { Error(n, "indentation must be spaces, not tabs"); continue; }
            if (spaces % 2 != 0) { Error(n, $"indentation of {spaces} spaces is not a whole number of levels (2 spaces each)"); continue; }
            int depth = spaces / 2, current = stack.Count - 1;

            if (kind == Kind.Version)
            {
                if (!IsKnownVersion(content)) Error(n, $"unsupported version line '{content}' (expected 'KTAP version 1')");
                if (depth == current + 1)
                {
                    var parent = stack[^1];
                    if (parent.Pending != null)
                        Error(parent.Pending.StartLine, $"subtest has no result line at its parent's indentation (next subtest starts at line {n})");
                    parent.Pending = null;
                    if (parent.Plan == null && !parent.PlanMissingReported)
                    {
                        Error(n, "subtest starts before its parent's plan line");
                        parent.PlanMissingReported = true;
                    }
                    parent.HadSubtest = true;
                    stack.Add(new Level(depth, n));
                }
                else if (depth > current + 1)
                    Error(n, $"subtest version line indented {depth - current} levels deeper than its parent (a subtest is 2 spaces deeper)");
                else
                {
                    CloseTo(depth, n);
                    Error(n, "version line inside a running test (a subtest's version line is indented 2 spaces deeper than its parent's lines)");
                }
                continue;
            }
            if (depth > current)
            {
                Error(n, $"indented {depth - current} level(s) deeper than the current test; only a subtest's version line starts a deeper level");
                continue;
            }
            CloseTo(depth, n);
            var level = stack[^1];
            switch (kind)
            {
                case Kind.Plan:
                    if (ParsePlan(content) is not { } plan) Error(n, $"malformed plan line '{content}' (expected 1..N)");
                    else if (level.Plan != null) Error(n, $"second plan line (the first is at line {level.PlanLine})");
                    else
                    {
                        if (level.Ran > 0 || level.HadSubtest || level.Pending != null)
                            Error(n, "plan line after results (the plan follows the version line)");
                        level.Plan = plan;
                        level.PlanLine = n;
                    }
                    break;
                case Kind.Result:
                    CheckResult(n, content, level, Error);
                    break;
            }
        }
        if (stack.Count == 0) Error(Math.Max(1, lines.Length), "no KTAP output: there is no version line");
        else
        {
            CloseTo(0, lines.Length);
            Close(stack[0], lines.Length);
        }
        return new KtapDiagnosis(errors, warnings, unknown);
    }

    private static void CheckResult(int n, string content, Level level, Action<int, string> error)
    {
        bool ok = !content.StartsWith("not ok", StringComparison.Ordinal);
        var rest = content[(ok ? 2 : 6)..];
        if (level.Plan == null && !level.PlanMissingReported)
        {
            error(n, "result line before the plan line");
            level.PlanMissingReported = true;
        }
        if (!rest.StartsWith(' ') || rest.Length < 2 || !char.IsAsciiDigit(rest[1]))
        {
            error(n, $"malformed result line '{content}': expected '{(ok ? "ok" : "not ok")} <number> [<description>][ # [<directive>] [<diagnostic data>]]'");
            return;
        }
        int end = 1;
        while (end < rest.Length && char.IsAsciiDigit(rest[end])) end++;
        var digits = rest[1..end];
        rest = rest[end..];
        if (rest.Length > 0 && rest[0] != ' ')
        {
            error(n, $"test number '{digits}{rest.Split(' ')[0]}' is not a decimal number");
            return;
        }
        if (digits.Length > 1 && digits[0] == '0') error(n, $"test number '{digits}' has a leading zero");
        int number = int.TryParse(digits, out var v) ? v : int.MaxValue;
        if (number != level.LastNumber + 1)
            error(n, $"test number {digits} out of order: expected {level.LastNumber + 1} (numbers start at 1 and increase by 1 per level)");

        string? directive = null;
        int hash = rest.IndexOf('#');
        if (hash >= 0)
        {
            if (hash > 0 && rest[hash - 1] != ' ')
                error(n, "'#' inside the description (a description cannot contain '#'; ' # ' starts a directive)");
            var after = rest[(hash + 1)..].TrimStart();
            var word = after.Split(' ', 2)[0];
            if (Directives.Contains(word)) directive = word;
            else if (Directives.Contains(word.ToUpperInvariant())) error(n, $"directive '{word}' must be written {word.ToUpperInvariant()}");
            else if (word.Length > 1 && word.All(c => c is >= 'A' and <= 'Z' or '_'))
                error(n, $"unknown directive '{word}' (known: {string.Join(", ", Directives)})");
            // anything else after '#' is diagnostic data (e.g. "rcode=0"), which KTAP allows without a directive
        }
        if (ok && directive is "TIMEOUT" or "ERROR")
            error(n, $"{directive} is for tests that did not complete: the result must be 'not ok'");

        if (level.Pending is { } sub)
        {
            if (ok && directive != "SKIP" && sub.Failed)
                error(n, $"'ok' parent over a failing subtest (subtest at line {sub.StartLine} has a 'not ok' result)");
            level.Pending = null;
        }
        level.Ran++;
        level.LastNumber = number;
        if (!ok && directive is not ("SKIP" or "TODO" or "XFAIL")) level.Failed = true;
    }

    private static (Kind Kind, int Spaces, bool Tabbed, string Content) Classify(string line)
    {
        int i = 0;
        bool tabbed = false;
        while (i < line.Length && (line[i] == ' ' || line[i] == '\t')) { tabbed |= line[i] == '\t'; i++; }
        var content = line[i..].TrimEnd();
        int spaces = i;
        if (content.Length == 0) return (Kind.Blank, spaces, tabbed, content);
        Kind kind =
            content.StartsWith("KTAP version", StringComparison.Ordinal) || content.StartsWith("TAP version", StringComparison.Ordinal) ? Kind.Version
            : content[0] == '#' ? Kind.Diagnostic
            : content == "ok" || content.StartsWith("ok ", StringComparison.Ordinal) || content == "not ok" || content.StartsWith("not ok ", StringComparison.Ordinal) ? Kind.Result
            : LooksLikePlan(content) ? Kind.Plan
            : Kind.Unknown;
        return (kind, spaces, tabbed, content);
    }

    private static bool IsKnownVersion(string content) => content is "KTAP version 1" or "TAP version 13" or "TAP version 14";

    private static bool LooksLikePlan(string content)
    {
        int i = 0;
        while (i < content.Length && char.IsAsciiDigit(content[i])) i++;
        return i > 0 && content.AsSpan(i).StartsWith("..");
    }

    /// <summary>"1..N", optionally followed by " # ..." (a skip reason for 1..0).</summary>
    private static int? ParsePlan(string content)
    {
        if (!content.StartsWith("1..", StringComparison.Ordinal)) return null;
        int i = 3;
        while (i < content.Length && char.IsAsciiDigit(content[i])) i++;
        if (i == 3 || (i - 3 > 1 && content[3] == '0')) return null;
        if (i < content.Length && !content.AsSpan(i).StartsWith(" #")) return null;
        return int.TryParse(content.AsSpan(3, i - 3), out var n) ? n : null;
    }

    private static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
