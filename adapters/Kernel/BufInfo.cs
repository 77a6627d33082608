namespace Conformance.Adapters.Kernel;

/// <summary>The kernel's list of live dma-bufs (debugfs dma_buf/bufinfo), used to see leaks.</summary>
public static class BufInfo
{
    public const string Path = "/sys/kernel/debug/dma_buf/bufinfo";

    /// <summary>Number of live dma-bufs system-wide, or -1 when bufinfo cannot be read (no debugfs, not root).</summary>
    public static int LiveCount()
    {
        try
        {
            // the last line reads "Total N objects, M bytes"
            foreach (var line in File.ReadLines(Path))
                if (line.StartsWith("Total ", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length > 1 && int.TryParse(parts[1], out var n) ? n : -1;
                }
            return -1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return -1; }
    }

    /// <summary>Why <see cref="LiveCount"/> is -1, for the report.</summary>
    public static string WhyUnreadable() =>
        !Directory.Exists("/sys/kernel/debug/dma_buf") ? $"{Path} does not exist (mount debugfs at /sys/kernel/debug as root)" : $"{Path} is not readable (needs root)";
}
