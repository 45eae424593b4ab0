using System.Text.RegularExpressions;

namespace SQLBuild.PowerShell.Completion;

/// <summary>
/// Fast reads of a project folder for completion: file names and a light scan of headers and TOML,
/// without compiling the project (a project with a compile error still completes). Never throws.
/// </summary>
internal static class ProjectFiles
{
    private static readonly Regex Target = new(@"^\s*\[\s*targets\s*\.\s*(?:""([^""]+)""|([A-Za-z_][A-Za-z0-9_]*))\s*\]", RegexOptions.Multiline | RegexOptions.CultureInvariant);
    private static readonly Regex DefaultTarget = new(@"^\s*(?:default_target|target)\s*=\s*[""']([^""']+)[""']", RegexOptions.Multiline | RegexOptions.CultureInvariant);
    private static readonly Regex Header = new(@"\A(?:\s|--[^\n]*\n|/\*.*?\*/)*MODEL\s*\((?<body>.*?)\)\s*;", RegexOptions.Singleline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    private static readonly Regex Tags = new(@"\btags\s*[\[(](?<list>[^\])]*)[\])]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    private static readonly Regex Name = new(@"^[a-z][a-z0-9_]*$", RegexOptions.CultureInvariant);

    /// <summary>Models: every models/**/*.sql, as (name, relative path), in path order.</summary>
    public static IReadOnlyList<(string Name, string Path)> Models(string dir) => Files(dir, "models", true, ".sql");

    public static IReadOnlyList<(string Name, string Path)> Seeds(string dir) => Files(dir, "seeds", false, ".csv");

    public static IReadOnlyList<(string Name, string Path)> Tests(string dir) => Files(dir, "tests", false, ".sql");

    /// <summary>Target names of sqlbuild_project.toml and sqlbuild_local.toml; the description says which is the default.</summary>
    public static IReadOnlyList<(string Name, string? Description)> Targets(string dir)
    {
        var names = new List<string>();
        string? @default = null;
        foreach (var file in new[] { "sqlbuild_project.toml", "sqlbuild_local.toml" })
        {
            var text = Read(System.IO.Path.Combine(dir, file));
            if (text is null) continue;
            foreach (Match m in Target.Matches(text))
            {
                var n = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
                if (!names.Contains(n, StringComparer.Ordinal)) names.Add(n);
            }
            foreach (Match m in DefaultTarget.Matches(text)) @default = m.Groups[1].Value;   // local `target` wins
        }
        return names.Select(n => (n, n == @default ? (string?)$"{n} (default)" : null)).ToList();
    }

    /// <summary>Tags used in model headers, sorted.</summary>
    public static IReadOnlyList<string> ModelTags(string dir)
    {
        var tags = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (_, path) in Models(dir))
        {
            var text = ReadHead(System.IO.Path.Combine(dir, path));
            if (text is null) continue;
            var header = Header.Match(text);
            if (!header.Success) continue;
            foreach (Match t in Tags.Matches(header.Groups["body"].Value))
                foreach (var tag in t.Groups["list"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    var clean = tag.Trim('\'', '"', ' ');
                    if (clean.Length > 0) tags.Add(clean);
                }
        }
        return tags.ToList();
    }

    /// <summary>Folders and files under models/ as selector paths (models, models/marts, models/marts/x.sql).</summary>
    public static IReadOnlyList<string> ModelPaths(string dir)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        var models = Models(dir);
        if (models.Count > 0) result.Add("models");
        foreach (var (_, path) in models)
        {
            var parts = path.Split('/');
            for (int i = 2; i < parts.Length; i++) result.Add(string.Join('/', parts.Take(i)));
            result.Add(path);
        }
        return result.ToList();
    }

    private static List<(string Name, string Path)> Files(string dir, string folder, bool recursive, string extension)
    {
        var root = System.IO.Path.Combine(dir, folder);
        try
        {
            if (!Directory.Exists(root)) return new();
            return Directory.EnumerateFiles(root, "*" + extension, recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
                .Select(f => System.IO.Path.GetRelativePath(dir, f).Replace('\\', '/'))
                .Where(r => r.EndsWith(extension, StringComparison.OrdinalIgnoreCase) && !r.Split('/').Any(p => p.StartsWith('.')))
                .Select(r => (Name: System.IO.Path.GetFileNameWithoutExtension(r), Path: r))
                .Where(x => Name.IsMatch(x.Name))
                .OrderBy(x => x.Path, StringComparer.Ordinal)
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            return new();
        }
    }

    private static string? Read(string path)
    {
        try { return File.Exists(path) ? File.ReadAllText(path) : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The first 8 KB of a file: enough for a MODEL header.</summary>
    private static string? ReadHead(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            var buffer = new char[8192];
            var n = reader.ReadBlock(buffer, 0, buffer.Length);
            return new string(buffer, 0, n);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
