using System.Net;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.Templates;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// The folder of a test project, in the temp directory and deleted on dispose: the one way the fixtures
/// write a project (the shop template for an engine, model files, a <see cref="ProjectToml"/>), compile
/// it and reach its warehouse. On PostgreSQL a fixture names the schemas it created in
/// <see cref="DropSchemas"/>, before it disposes the folder.
/// </summary>
internal sealed class TestProject : IDisposable
{
    /// <param name="prefix">The folder name is the prefix and <paramref name="uniqueLength"/> hex digits of a new GUID.</param>
    public TestProject(string prefix, string engine = "duckdb", int uniqueLength = 10)
    {
        Engine = engine;
        Dir = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..uniqueLength]);
        Directory.CreateDirectory(Dir);
    }

    public string Dir { get; }
    public string Engine { get; }

    /// <summary>Writes a file with "\n" line endings, as New-SqbProject does, whatever the checkout's line endings.</summary>
    public void Write(string rel, string content) => WriteExact(rel, content.ReplaceLineEndings("\n"));

    /// <summary>Writes a file exactly as given (line endings included).</summary>
    public void WriteExact(string rel, string content) => File.WriteAllText(Prepare(rel), content);

    public void WriteBytes(string rel, byte[] content) => File.WriteAllBytes(Prepare(rel), content);

    public string Read(string rel) => File.ReadAllText(Path.Combine(Dir, rel));

    /// <summary>The <c>shop</c> template New-SqbProject writes for this engine (its toml included).</summary>
    public void WriteTemplate(ProjectTemplateKind kind)
    {
        foreach (var (rel, content) in ProjectTemplates.Files("shop", kind, TestEngine.Adapter(Engine))) Write(rel, content);
    }

    public void WriteToml(ProjectToml toml) => Write("sqlbuild_project.toml", toml.ToString());

    public CompiledProject Compile(string? target = null, NetworkCredential? credential = null) =>
        ProjectCompiler.Compile(Dir, target, credential);

    /// <summary>The warehouse of the target's connection (the active target unless given).</summary>
    public IWarehouse Warehouse(string? target = null, ISqbLog? log = null) =>
        WarehouseFactory.Create(Compile(target).Config.ActiveTarget.Connection, log ?? NullLog.Instance);

    /// <summary>
    /// Best effort, on PostgreSQL only: drops the schemas <paramref name="schemas"/> names (read in one
    /// session of the warehouse) with <see cref="TestDatabases.DropSchemas"/>. A DuckDB file goes with the folder.
    /// </summary>
    public void DropSchemas(Func<IWarehouseSession, IEnumerable<string>> schemas)
    {
        if (Engine != "postgres" || !TestEngine.PostgresAvailable) return;
        try
        {
            var warehouse = Warehouse();
            string[] names;
            using (var s = warehouse.OpenSession()) names = schemas(s).ToArray();
            TestDatabases.DropSchemas(warehouse, names);
        }
        catch { /* best effort cleanup */ }
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch { }
    }

    private string Prepare(string rel)
    {
        var full = Path.Combine(Dir, rel.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return full;
    }
}
