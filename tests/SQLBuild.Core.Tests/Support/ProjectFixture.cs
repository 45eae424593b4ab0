using System.Net;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using Xunit;

namespace SQLBuild.Core.Tests.Support;

/// <summary>A project laid out in a fresh temp folder (a <see cref="TestProject"/>) from path -> content; deleted on dispose.</summary>
public sealed class ProjectFixture : IDisposable
{
    public const string MinimalToml = """
        name = "shop"
        adapter = "duckdb"
        default_target = "dev"

        [connections.local]
        database = "shop.duckdb"

        [targets.dev]
        connection = "local"
        schema = "dev"
        """;

    private readonly TestProject _folder = new("sqb-compiler-", uniqueLength: 32);

    public ProjectFixture(IReadOnlyDictionary<string, string>? files = null, bool withDefaultConfig = true)
    {
        if (withDefaultConfig && (files is null || !files.ContainsKey("sqlbuild_project.toml")))
            Write("sqlbuild_project.toml", MinimalToml);
        if (files is not null)
            foreach (var (path, content) in files) Write(path, content);
    }

    public string Dir => _folder.Dir;

    /// <summary>Writes the file exactly as given: line endings are part of what the compiler tests read.</summary>
    public ProjectFixture Write(string relativePath, string content)
    {
        _folder.WriteExact(relativePath, content);
        return this;
    }

    public ProjectFixture WriteBytes(string relativePath, byte[] content)
    {
        _folder.WriteBytes(relativePath, content);
        return this;
    }

    public CompiledProject Compile(string? target = null, NetworkCredential? credential = null) => _folder.Compile(target, credential);

    /// <summary>Compiles and returns the error, failing the test when compilation succeeds.</summary>
    public SqbException Fails(string? target = null, NetworkCredential? credential = null) =>
        Assert.Throws<SqbException>(() => ProjectCompiler.Compile(Dir, target, credential));

    /// <summary>Every file the folder holds, to prove compilation wrote nothing.</summary>
    public IReadOnlyList<string> AllFiles() =>
        Directory.EnumerateFileSystemEntries(Dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();

    public void Dispose() => _folder.Dispose();

    public static ProjectFixture With(params (string Path, string Content)[] files) =>
        new(files.ToDictionary(f => f.Path, f => f.Content));
}

internal static class ErrorAssert
{
    /// <summary>Asserts code, kind and that the message starts with <paramref name="prefix"/> and contains each fragment.</summary>
    public static void Is(SqbException ex, string code, string prefix, params string[] fragments)
    {
        Assert.Equal(code, ex.Code);
        Assert.StartsWith(prefix, ex.Message);
        foreach (var f in fragments) Assert.Contains(f, ex.Message);
    }
}
