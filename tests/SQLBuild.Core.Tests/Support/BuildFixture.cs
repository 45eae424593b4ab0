using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.Templates;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// The shop template (direct unless asked) in a <see cref="TestProject"/>, pointed at a real engine: as
/// New-SqbProject writes it on DuckDB (a file in the folder), or on the test PostgreSQL with a unique dev and
/// prod schema per project (<see cref="ProjectToml"/>), both dropped on dispose.
/// </summary>
internal sealed class BuildFixture : IDisposable
{
    public TestProject Folder { get; }
    public string Dir => Folder.Dir;
    public string Engine { get; }
    public string Schema { get; }
    public string ProdSchema { get; }

    public BuildFixture(string engine, string template = "direct")
    {
        Engine = engine;
        Folder = new TestProject("sqb-build-", engine);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        Schema = engine == "duckdb" ? "dev" : "t_" + suffix;
        ProdSchema = engine == "duckdb" ? "prod" : "p_" + suffix;
        Folder.WriteTemplate(template == "virtual" ? ProjectTemplateKind.Virtual : ProjectTemplateKind.Direct);
        if (engine == "postgres") Folder.WriteToml(new ProjectToml(engine, Schema) { ProdSchema = ProdSchema });
    }

    public void Write(string rel, string content) => Folder.Write(rel, content);

    public string Read(string rel) => Folder.Read(rel);

    public CompiledProject Compile(string? target = null) => Folder.Compile(target);

    public SqbBuildResult Build(BuildOptions? options = null, string? target = null) =>
        ProjectBuild.Build(Compile(target), options ?? new BuildOptions(), NullLog.Instance, CancellationToken.None);

    public IWarehouseSession Session(string? target = null) => Folder.Warehouse(target).OpenSession();

    public long Count(string relation, string? schema = null)
    {
        using var s = Session();
        return Convert.ToInt64(s.ExecuteScalar(s.Dialect.CountRows(new RelationName(schema ?? Schema, relation))));
    }

    public object? Scalar(string sql)
    {
        using var s = Session();
        return s.ExecuteScalar(new SqlStatement("TEST", "query", sql));
    }

    public CatalogRelation? Find(string name, string? schema = null)
    {
        using var s = Session();
        return s.ReadCatalog(new[] { schema ?? Schema }).Find(new RelationName(schema ?? Schema, name));
    }

    public void Dispose()
    {
        Folder.DropSchemas(_ => new[] { Schema, ProdSchema });
        Folder.Dispose();
    }
}
