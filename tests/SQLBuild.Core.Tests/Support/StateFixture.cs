using System.Globalization;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;
using SQLBuild.Core.Templates;
using Xunit;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// The virtual template project on a real engine, with its state store in the warehouse: a DuckDB file in a
/// temp folder, or the test PostgreSQL with a unique target schema AND a unique state schema per fixture
/// (so backups, <c>&lt;state&gt;__backup_*</c>, are unique too). Raw SQL here is only for damaging the
/// store for real and reading it back.
/// </summary>
internal sealed class StateFixture : IDisposable
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly TestProject _folder;

    public StateFixture(string engine, bool allowReset = false, bool virtualMode = true)
    {
        Engine = engine;
        _folder = new TestProject("sqb-state-", engine);
        Schema = engine == "duckdb" ? "dev" : "t_" + _suffix;
        StateSchemaName = engine == "duckdb" ? "sqlbuild_state" : "st_" + _suffix;
        _folder.WriteTemplate(ProjectTemplateKind.Virtual);
        _folder.WriteToml(new ProjectToml(engine, Schema)
        {
            VirtualEnvironments = virtualMode,
            Concurrency = 1,
            State = new StateToml(engine, StateSchemaName) { AllowReset = allowReset },
        });
    }

    public string Engine { get; }
    public string Dir => _folder.Dir;
    public string Schema { get; }
    public string StateSchemaName { get; }
    public RecordingLog Log { get; } = new();

    public void Write(string rel, string content) => _folder.Write(rel, content);

    public CompiledProject Compile() => _folder.Compile();
    public StateStore Store() => StateStore.Open(Compile(), Log);
    public StateLifecycle Lifecycle() => new(Store(), Log);

    /// <summary>Initializes the store and builds the dev VDE, so every kind of state row exists.</summary>
    public void InitializeAndBuild()
    {
        Lifecycle().Initialize();
        var result = Build();
        Assert.True(result.Failed == 0, $"the virtual build failed: {string.Join("; ", result.Nodes.Where(n => n.Error is not null).Select(n => $"{n.Name}: {n.Error}"))}");
    }

    public SqbBuildResult Build() => ProjectBuild.Build(Compile(), new BuildOptions(), NullLog.Instance, CancellationToken.None);

    public IWarehouseSession Session() => Store().StateWarehouse.OpenSession();

    public string Q(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";
    public string T(string table, string? schema = null) => $"{Q(schema ?? StateSchemaName)}.{Q(table)}";

    public void Exec(string sql)
    {
        using var s = Session();
        s.Execute(new SqlStatement("TEST", "damage", sql));
    }

    public long Count(string table, string? schema = null)
    {
        using var s = Session();
        return Convert.ToInt64(s.ExecuteScalar(new SqlStatement("TEST", "count", $"SELECT COUNT(*) FROM {T(table, schema)}")), CultureInfo.InvariantCulture);
    }

    /// <summary>Every row of a table as sorted text lines, for comparing a copy with its original.</summary>
    public List<string> Rows(string table, string? schema = null)
    {
        using var s = Session();
        return s.Query(new SqlStatement("TEST", "rows", $"SELECT * FROM {T(table, schema)}"))
            .Select(r => string.Join("|", r.Select(v => v switch
            {
                null or DBNull => "<null>",
                DateTime d => d.ToString("O", CultureInfo.InvariantCulture),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => v.ToString(),
            })))
            .OrderBy(x => x, StringComparer.Ordinal).ToList();
    }

    /// <summary>Every state table's rows, by table.</summary>
    public Dictionary<string, List<string>> Snapshot(string? schema = null) =>
        StateSchema.Tables.ToDictionary(t => t.Name, t => Rows(t.Name, schema));

    public List<string> Events(string? action = null)
    {
        using var s = Session();
        return s.Query(new SqlStatement("TEST", "events",
                $"SELECT {Q("action")}, {Q("backup_id")}, {Q("status")} FROM {T("state_migration_events")} ORDER BY {Q("event_id")}"))
            .Select(r => $"{r[0]}|{r[1]}|{r[2]}")
            .Where(e => action is null || e.StartsWith(action + "|", StringComparison.Ordinal)).ToList();
    }

    public bool SchemaExists(string schema)
    {
        using var s = Session();
        return s.ReadCatalog(new[] { schema }).Schemas.Contains(schema);
    }

    public List<string> BackupSchemas()
    {
        using var s = Session();
        return s.Query(Store().Sql.SchemasLike(StateSchemaName + "__backup_")).Select(r => (string)r[0]!).ToList();
    }

    /// <summary>Drops a backup schema for real (tables, then the schema; no CASCADE).</summary>
    public void DropBackup(string schema) => TestDatabases.DropSchemas(Store().StateWarehouse, schema);

    public void Dispose()
    {
        // Every schema with the fixture's suffix: target, physical, VDEs, state and its backups.
        _folder.DropSchemas(s => s.Query(new SqlStatement("TEST", "cleanup",
                "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE strpos(nspname, $1) > 0", new object?[] { _suffix }))
            .Select(r => (string)r[0]!));
        _folder.Dispose();
    }
}
