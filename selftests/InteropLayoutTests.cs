using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Conformance.Adapters;
using Conformance.Adapters.Interop;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// The interop layer against the real uapi headers of the kernel the lab boots: a C program compiled
/// against them prints every struct size, field offset, request code and constant the suite uses, and
/// each must equal what the C# declarations produce.
/// </summary>
public class InteropLayoutTests
{
    [Fact]
    public void Every_struct_request_code_and_constant_matches_the_6_12_uapi_headers()
    {
        var mismatches = LayoutCheck.Run(LayoutCheck.InteropStructs(), LayoutCheck.InteropConstants());
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void The_check_fails_on_a_deliberately_broken_layout()
    {
        // v4l2_exportbuffer without its flags field, v4l2_requestbuffers with flags widened, and a
        // request code built with the wrong struct: each must be reported
        var mismatches = LayoutCheck.Run(
            [typeof(Broken.v4l2_exportbuffer), typeof(Broken.v4l2_requestbuffers)],
            [("VIDIOC_EXPBUF", (ulong)Ioc.IOWR<Broken.v4l2_exportbuffer>('V', 16))]);
        Assert.Contains(mismatches, m => m.StartsWith("sizeof(struct v4l2_exportbuffer)"));
        Assert.Contains(mismatches, m => m.StartsWith("offsetof(struct v4l2_exportbuffer, fd)"));
        Assert.Contains(mismatches, m => m.StartsWith("offsetof(struct v4l2_requestbuffers, flags)") || m.StartsWith("sizeof(struct v4l2_requestbuffers)"));
        Assert.Contains(mismatches, m => m.StartsWith("VIDIOC_EXPBUF"));
        Assert.DoesNotContain(mismatches, m => m.StartsWith("offsetof(struct v4l2_exportbuffer, plane)"));
    }

    private static class Broken
    {
        [StructLayout(LayoutKind.Sequential)]
        public unsafe struct v4l2_exportbuffer
        {
            public uint type, index, plane;
            public int fd;
            public fixed uint reserved[11];
        }

        [StructLayout(LayoutKind.Sequential)]
        public unsafe struct v4l2_requestbuffers
        {
            public uint count, type, memory, capabilities;
            public uint flags;
            public fixed byte reserved[3];
        }
    }
}

/// <summary>Compiles C against the uapi headers and compares; returns one line per mismatch.</summary>
public static class LayoutCheck
{
    public static IReadOnlyList<Type> InteropStructs() =>
        typeof(v4l2_buffer).Assembly.GetTypes().Where(t => t.GetCustomAttribute<UapiAttribute>() != null).ToList();

    /// <summary>Req's request codes and Uapi's constants (PAGE_SIZE is the machine's, not a header's).</summary>
    public static IReadOnlyList<(string Name, ulong Value)> InteropConstants()
    {
        var list = new List<(string, ulong)>();
        foreach (var f in typeof(Req).GetFields(BindingFlags.Public | BindingFlags.Static))
            if (f.Name != "UNKNOWN_b_7f") list.Add((f.Name, (ulong)(nuint)f.GetValue(null)!));
        foreach (var f in typeof(Uapi).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.Name != "PAGE_SIZE"))
            list.Add((f.Name, Convert.ToUInt64(f.GetValue(null) is int i ? (ulong)(uint)i : f.GetValue(null))));
        // every described ioctl's request code, wherever it is declared (Ioctls, or beside an op)
        foreach (var s in IoctlSpecs().Where(s => !list.Any(x => x.Item1 == s.Request))) list.Add((s.Request, (ulong)s.Code));
        return list;
    }

    /// <summary>Every <see cref="IoctlSpec"/> the suite declares: Ioctls' and those beside an op record.</summary>
    public static IReadOnlyList<IoctlSpec> IoctlSpecs() =>
        typeof(Ioctls).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Concat(typeof(Conformance.Generators.Op).Assembly.GetTypes().SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static)))
            .Where(f => f.FieldType == typeof(IoctlSpec)).Select(f => (IoctlSpec)f.GetValue(null)!).Distinct().ToList();

    public static List<string> Run(IEnumerable<Type> structs, IEnumerable<(string Name, ulong Value)> constants)
    {
        var expect = new List<(string Expr, string Label, ulong Value)>();
        foreach (var t in structs)
        {
            string c = t.Name == "timeval" ? "struct timeval" : $"struct {t.Name}";
            expect.Add(($"sizeof({c})", $"sizeof({c})", (ulong)SizeOf(t)));
            foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                string path = f.GetCustomAttribute<CNameAttribute>()?.Path ?? f.Name;
                expect.Add(($"offsetof({c}, {path})", $"offsetof({c}, {path})", (ulong)Marshal.OffsetOf(t, f.Name)));
            }
        }
        foreach (var (name, value) in constants) expect.Add(($"(unsigned long long)({name})", name, value));

        var dir = Directory.CreateTempSubdirectory("conformance-layout");
        try
        {
            var include = Path.Combine(dir.FullName, "include");
            UapiHeaders.Install(include);
            var src = new StringBuilder("#define _GNU_SOURCE\n#include <stddef.h>\n#include <stdio.h>\n#include <fcntl.h>\n#include <sys/mman.h>\n#include <poll.h>\n#include <sys/time.h>\n#include <sys/stat.h>\n#include <unistd.h>\n");
            // every header lab/uapi-include.sh installs (the ones the suite's C programs use)
            foreach (var h in Directory.GetFiles(include, "*.h", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(include, f)).Order(StringComparer.Ordinal))
                src.Append($"#include <{h}>\n");
            src.Append("int main(void) {\n");
            foreach (var (expr, _, _) in expect) src.Append($"  printf(\"%llu\\n\", (unsigned long long)({expr}));\n");
            src.Append("  return 0;\n}\n");
            File.WriteAllText(Path.Combine(dir.FullName, "layout.c"), src.ToString());
            var exe = Path.Combine(dir.FullName, "layout");
            var (rc, _, err) = Exec("gcc", $"-Wall -Werror -I{dir.FullName}/include -o {exe} {dir.FullName}/layout.c");
            if (rc != 0) return [$"the C layout program did not compile:\n{err}"];
            var (rc2, output, err2) = Exec(exe, "");
            if (rc2 != 0) return [$"the C layout program failed: {err2}"];
            var got = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ulong.Parse).ToArray();
            var mismatches = new List<string>();
            for (int i = 0; i < expect.Count; i++)
                if (got[i] != expect[i].Value)
                    mismatches.Add($"{expect[i].Label}: C says {got[i]} (0x{got[i]:x}), C# says {expect[i].Value} (0x{expect[i].Value:x})");
            return mismatches;
        }
        finally { dir.Delete(true); }
    }

    private static int SizeOf(Type t) => (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!;

    internal static (int, string, string) Exec(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var outTask = p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, outTask.Result, err);
    }
}

/// <summary>The lab kernel's uapi headers ($CONFORMANCE_UAPI, else what lab/fetch-kernel.sh fetches), sanitised by lab/uapi-include.sh.</summary>
public static class UapiHeaders
{
    /// <summary>The headers the suite's C programs use, made as `make headers_install` makes them, into dir (lab/uapi-include.sh).</summary>
    public static void Install(string dir)
    {
        var (rc, _, err) = LayoutCheck.Exec("bash", $"{Path.Combine(Repo.Root, "lab", "uapi-include.sh")} {dir}");
        if (rc != 0)
            throw new InvalidOperationException("this test compiles C against the lab kernel's uapi headers, which lab/uapi-include.sh fetches once " +
                "with the lab kernel (apt and the network, about 220 MB into ~/.cache/conformance-lab; or set CONFORMANCE_UAPI to a kernel's " +
                $"include/uapi) and could not get here (exit {rc}): {err.Trim()}");
    }
}

public static class Repo
{
    public static readonly string Root = Find();
    private static string Find()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "Conformance.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("cannot find the repository root");
    }
}
