namespace Conformance.Reports;

/// <summary>POSIX shell quoting for the commands the suite prints, so each can be pasted as it is.</summary>
public static class Shell
{
    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or ':' or ',' or '=' or '+' or '@' or '%')
            ? s : "'" + s.Replace("'", "'\\''") + "'";

    public static string Join(IEnumerable<string> words) => string.Join(" ", words.Select(Quote));

    /// <summary>The words of a line <see cref="Join"/> made (single quotes only, as Quote writes them).</summary>
    public static IEnumerable<string> Words(string line)
    {
        var w = new System.Text.StringBuilder();
        bool quoted = false, any = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '\'' ) { quoted = !quoted; any = true; continue; }
            if (c == '\\' && !quoted && i + 1 < line.Length) { w.Append(line[++i]); any = true; continue; }
            if (c == ' ' && !quoted) { if (any) yield return w.ToString(); w.Clear(); any = false; continue; }
            w.Append(c); any = true;
        }
        if (any) yield return w.ToString();
    }
}
