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
            return Parse(File.ReadLines(Path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return -1; }
    }

    /// <summary>The count in bufinfo's summary line "Total N objects, M bytes" (each buffer also has its own
    /// "Total N devices attached" line, which must not be taken for it); -1 if there is none.</summary>
    public static int Parse(IEnumerable<string> lines)
    {
        int count = -1;
        foreach (var line in lines)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 3 && parts[0] == "Total" && parts[2].StartsWith("objects", StringComparison.Ordinal) && int.TryParse(parts[1], out var n))
                count = n;
        }
        return count;
    }

    /// <summary>Why <see cref="LiveCount"/> is -1, for the report.</summary>
    public static string WhyUnreadable() =>
        !Directory.Exists("/sys/kernel/debug/dma_buf") ? $"{Path} does not exist (mount debugfs at /sys/kernel/debug as root)" : $"{Path} is not readable (needs root)";
}
