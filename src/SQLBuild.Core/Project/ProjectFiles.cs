using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Text;

namespace SQLBuild.Core.Project;

/// <summary>
/// The project's files on disk: which ones a folder holds, their text, and reading many of them at once. A compile of
/// 10,000 models is mostly opening and decoding small files, so this reads each one in a single call into a shared
/// buffer (no stream, no lock, no per-file buffers to collect) and spreads the files over the machine's cores.
/// </summary>
internal static class ProjectFiles
{
    /// <summary>Project files under <paramref name="folder"/> with one of the extensions, sorted by relative path;
    /// hidden files and folders (".name") are skipped.</summary>
    public static List<(string Full, string Relative)> Under(string dir, string folder, bool recursive, params string[] extensions)
    {
        var root = Path.Combine(dir, folder);
        if (!Directory.Exists(root)) return new();
        var files = new List<(string Full, string Relative)>();
        foreach (var full in Directory.EnumerateFiles(root, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly))
        {
            if (!HasExtension(full, extensions)) continue;
            var relative = Path.GetRelativePath(dir, full).Replace('\\', '/');
            if (IsHidden(relative)) continue;
            files.Add((full, relative));
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Relative, b.Relative));
        return files;
    }

    /// <summary>
    /// A file's text with <c>\r\n</c> read as <c>\n</c>. The encoding is found as <see cref="File.ReadAllText(string)"/>
    /// finds it: a UTF-8, UTF-16 or UTF-32 byte order mark, else UTF-8 (an invalid byte reads as U+FFFD).
    /// </summary>
    public static string ReadText(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = RandomAccess.GetLength(handle);
        if (length > int.MaxValue) throw new IOException($"'{path}' is too large to be a project file ({length:N0} bytes)");
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, (int)length));
        try
        {
            var read = 0;
            while (read < length)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read);
                if (n == 0) break;
                read += n;
            }
            var text = Decode(buffer.AsSpan(0, read));
            return text.Contains('\r') ? text.Replace("\r\n", "\n") : text;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Runs <paramref name="read"/> on every file, in parallel, and returns the results in the files' order. A file
    /// whose read throws gets its exception back in <see cref="Loaded{T}.Error"/> (to be thrown in file order by the
    /// caller, so the first broken file is the one reported, as in a sequential read).
    /// </summary>
    public static Loaded<T>[] ReadAll<T>(IReadOnlyList<(string Full, string Relative)> files, Func<string, string, T> read)
    {
        var results = new Loaded<T>[files.Count];
        void One(int i)
        {
            try { results[i] = new Loaded<T>(read(files[i].Full, files[i].Relative), null); }
            catch (Exception e) { results[i] = new Loaded<T>(default, ExceptionDispatchInfo.Capture(e)); }
        }
        if (files.Count < 64 || Environment.ProcessorCount == 1)
            for (var i = 0; i < files.Count; i++) One(i);
        else
            Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, One);
        return results;
    }

    /// <summary>One file's result, or what went wrong reading it.</summary>
    public readonly record struct Loaded<T>(T? Value, ExceptionDispatchInfo? Error)
    {
        /// <summary>The value, or the file's exception rethrown with its original stack.</summary>
        public T Get()
        {
            Error?.Throw();
            return Value!;
        }
    }

    private static string Decode(ReadOnlySpan<byte> bytes)
    {
        // The byte order marks StreamReader (and so File.ReadAllText) detects; UTF-32 LE before UTF-16 LE.
        if (bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF) return Encoding.UTF8.GetString(bytes[3..]);
        if (bytes.Length >= 4 && bytes[0] == 0xFF && bytes[1] == 0xFE && bytes[2] == 0 && bytes[3] == 0) return Encoding.UTF32.GetString(bytes[4..]);
        if (bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE) return Encoding.Unicode.GetString(bytes[2..]);
        if (bytes.Length >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF) return Encoding.BigEndianUnicode.GetString(bytes[2..]);
        if (bytes.Length >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0xFE && bytes[3] == 0xFF)
            return new UTF32Encoding(bigEndian: true, byteOrderMark: true).GetString(bytes[4..]);
        return Encoding.UTF8.GetString(bytes);
    }

    private static bool HasExtension(string path, string[] extensions)
    {
        foreach (var e in extensions)
            if (path.EndsWith(e, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static bool IsHidden(string relative)
    {
        if (relative.StartsWith('.')) return true;
        return relative.Contains("/.", StringComparison.Ordinal);
    }
}
