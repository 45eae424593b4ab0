using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.Templates;
using Xunit;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// A template project in a temp folder, pointed at a real engine: a DuckDB file in the folder, or the
/// test PostgreSQL (SQB_TEST_PG_*, password through ${ENV:...}) with a unique schema per project.
/// </summary>
internal sealed class BuildFixture : IDisposable
{
    public string Dir { get; }
    public string Engine { get; }
    public string Schema { get; }
    public string ProdSchema { get; }

    public BuildFixture(string engine, string template = "direct")
    {
        Engine = engine;
        Dir = Path.Combine(Path.GetTempPath(), "sqb-build-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Dir);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        Schema = engine == "duckdb" ? "dev" : "t_" + suffix;
        ProdSchema = engine == "duckdb" ? "prod" : "p_" + suffix;
        var adapter = engine == "postgres" ? AdapterKind.Postgres : AdapterKind.DuckDb;
        foreach (var (rel, content) in ProjectTemplates.Files("shop",
                     template == "virtual" ? ProjectTemplateKind.Virtual : ProjectTemplateKind.Direct, adapter))
            Write(rel, content);
        if (engine == "postgres")
        {
            Write("sqlbuild_project.toml", $$"""
                name = "shop"
                adapter = "postgres"
                default_target = "dev"

                [settings]
                virtual_environments = false
                concurrency = 4

                [connections.local]
                host = "${ENV:SQB_TEST_PG_HOST}"
                port = {{Environment.GetEnvironmentVariable("SQB_TEST_PG_PORT")}}
                user = "${ENV:SQB_TEST_PG_USER}"
                password = "${ENV:SQB_TEST_PG_PASSWORD}"
                dbname = "${ENV:SQB_TEST_PG_DATABASE}"

                [targets.dev]
                connection = "local"
                schema = "{{Schema}}"

                [targets.prod]
                connection = "local"
                schema = "{{ProdSchema}}"
                """);
        }
    }

    public static bool PostgresAvailable => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SQB_TEST_PG_HOST"));

    public static void SkipUnlessAvailable(string engine) =>
        Skip.If(engine == "postgres" && !PostgresAvailable, "SQB_TEST_PG_HOST is not set: no PostgreSQL for this run");

    public void Write(string rel, string content)
    {
        var full = Path.Combine(Dir, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content.ReplaceLineEndings("\n"));
    }

    public string Read(string rel) => File.ReadAllText(Path.Combine(Dir, rel));

    public CompiledProject Compile(string? target = null) => ProjectCompiler.Compile(Dir, target);

    public SqbBuildResult Build(BuildOptions? options = null, string? target = null) =>
        Builds.Build(Compile(target), options ?? new BuildOptions(), NullLog.Instance, CancellationToken.None);

    public IWarehouseSession Session(string? target = null)
    {
        var project = Compile(target);
        return WarehouseFactory.Create(project.Config.ActiveTarget.Connection, NullLog.Instance).OpenSession();
    }

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
        if (Engine == "postgres" && PostgresAvailable)
        {
            try
            {
                using var s = Session();
                foreach (var schema in new[] { Schema, ProdSchema })
                {
                    var catalog = s.ReadCatalog(new[] { schema });
                    foreach (var r in catalog.Relations.Where(r => r.Kind == RelationKind.View))
                        s.Execute(s.Dialect.DropViewIfExists(r.Relation));
                    foreach (var r in catalog.Relations.Where(r => r.Kind == RelationKind.Table))
                        s.Execute(s.Dialect.DropTableIfExists(r.Relation));
                    s.Execute(new SqlStatement("DROP SCHEMA", schema, $"DROP SCHEMA IF EXISTS {s.Dialect.QuoteIdentifier(schema)}"));
                }
            }
            catch { /* best effort cleanup */ }
        }
        try { Directory.Delete(Dir, recursive: true); } catch { }
    }
}
