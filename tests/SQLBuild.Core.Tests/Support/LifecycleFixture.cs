using System.Globalization;
using System.Text;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// The template project built in direct mode on a real engine, then switched to virtual mode with its own
/// state schema (unique per test on PostgreSQL), ready to adopt. Reads the catalog and the state for
/// "nothing changed" comparisons, and drops every schema the test created.
/// </summary>
internal sealed class LifecycleFixture : IDisposable
{
    public static readonly string[] Seeds = { "raw_customers", "raw_orders", "raw_payments" };
    public static readonly string[] Views = { "stg_customers", "stg_orders", "stg_payments" };
    public static readonly string[] Tables = { "dim_customers", "fct_orders", "payments_log" };
    public static IEnumerable<string> AllNodes => Seeds.Concat(Views).Concat(Tables);

    public BuildFixture Project { get; }
    public string Engine => Project.Engine;
    public string Schema => Project.Schema;
    public string PhysicalSchema => Schema + "__sqb_physical";
    public string StateSchema { get; }

    public LifecycleFixture(string engine)
    {
        Project = new BuildFixture(engine);
        StateSchema = engine == "duckdb" ? "sqlbuild_state" : "st_" + Guid.NewGuid().ToString("N")[..8];
    }

    public bool AllowCopy => Engine == "duckdb";

    /// <summary>Direct build, then virtual mode with an initialized state store.</summary>
    public LifecycleFixture Prepare(bool unsuffixed = true, string? stateDatabase = null)
    {
        var r = Project.Build();
        if (r.Status != "succeeded") throw new InvalidOperationException("direct build failed: " + string.Join("; ", r.Nodes.Select(n => n.Error)));
        SwitchToVirtual(unsuffixed, stateDatabase);
        new StateLifecycle(Store(), NullLog.Instance).Initialize();
        return this;
    }

    /// <param name="stateDatabase">A separate DuckDB file for the state store (default: the warehouse's own connection).</param>
    public void SwitchToVirtual(bool unsuffixed = true, string? stateDatabase = null)
    {
        var state = new StateToml(stateDatabase is null ? Engine : "duckdb", StateSchema)
        {
            Unsuffixed = unsuffixed ? "dev" : null,
            Database = stateDatabase,
        };
        var toml = Project.Read("sqlbuild_project.toml").Replace("virtual_environments = false", "virtual_environments = true");
        Project.Write("sqlbuild_project.toml", toml + "\n" + state);
    }

    public void SetJanitor(int maxCheckpoints, int retentionDays) =>
        Project.Write("sqlbuild_project.toml", Project.Read("sqlbuild_project.toml") +
            $"\n[janitor]\nmax_checkpoints = {maxCheckpoints}\nretention_days = {retentionDays}\n");

    /// <summary>A relation where <paramref name="node"/>'s physical version belongs: adopt fails there (C281) after moving
    /// what comes before it. Returns the relation's name (in <see cref="PhysicalSchema"/>).</summary>
    public string BlockAdoptAt(string node)
    {
        var conflict = PhysicalName(node);
        Execute($"CREATE SCHEMA IF NOT EXISTS {QI(PhysicalSchema)}");
        Execute($"CREATE TABLE {Q(PhysicalSchema, conflict)} AS SELECT 1 AS not_orders");
        return conflict;
    }

    public StateStore Store() => StateStore.Open(Project.Compile(), NullLog.Instance);

    public SqbAdoptionResult Adopt(bool? allowCopy = null, string? confirmation = "adopt dev") =>
        new Adoption(Store(), NullLog.Instance).Adopt(new AdoptOptions { AllowCopy = allowCopy ?? AllowCopy, Confirmation = confirmation });

    public SqbDetachResult Detach(bool? allowCopy = null, string? confirmation = "detach dev") =>
        new Detachment(Store(), NullLog.Instance).Detach(new DetachOptions { AllowCopy = allowCopy ?? AllowCopy, Confirmation = confirmation });

    public SqbBuildResult Build(string? environment = null) => Project.Build(new BuildOptions { Environment = environment });

    public IReadOnlyList<SqbJanitorItem> Janitor(int? retentionDays = null, int? maxCheckpoints = null, int? historyDays = null) =>
        new Janitor(Store(), NullLog.Instance).Run(new JanitorOptions { RetentionDays = retentionDays, MaxCheckpoints = maxCheckpoints, HistoryDays = historyDays });

    public SqbOperation Operation(string id) => new OperationQueries(Store(), NullLog.Instance).List(id).Single();

    /// <summary>The newest operation of a type (each run has an id of its own).</summary>
    public SqbOperation LatestOperation(string type) =>
        new OperationQueries(Store(), NullLog.Instance).List(type: type).OrderBy(o => o.CreatedAt).ThenBy(o => o.Events.Count > 0 ? o.Events[^1].CreatedAt : o.CreatedAt).Last();

    public IReadOnlyList<SqbOperation> Operations(string type) => new OperationQueries(Store(), NullLog.Instance).List(type: type);

    public IReadOnlyDictionary<string, NodeIdentity> Identities() => IdentityCalculator.Compute(Project.Compile());

    public string PhysicalName(string node) => $"{node}__v_{Identities()[node].VersionHash[..8]}";

    public IWarehouseSession Session() => Project.Session();

    public void Execute(string sql)
    {
        using var s = Session();
        s.Execute(new SqlStatement("TEST", "setup", sql));
    }

    public SqlDialect Dialect => Engine == "postgres" ? PostgresDialect.Instance : DuckDbDialect.Instance;

    public string Q(string schema, string name) => Dialect.Qualify(new RelationName(schema, name));

    public string QI(string identifier) => Dialect.QuoteIdentifier(identifier);

    public CatalogRelation? Find(string schema, string name)
    {
        using var s = Session();
        return s.ReadCatalog(new[] { schema }).Find(new RelationName(schema, name));
    }

    public IReadOnlyList<CatalogRelation> Relations(string schema)
    {
        using var s = Session();
        return s.ReadCatalog(new[] { schema }).Relations.OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Every row of a relation, as sorted text: equal for equal contents whatever the relation kind.</summary>
    public string Rows(string schema, string name)
    {
        using var s = Session();
        var rows = s.Query(new SqlStatement("TEST", name, $"SELECT * FROM {s.Dialect.Qualify(new RelationName(schema, name))}"));
        return string.Join("\n", rows.Select(Line).OrderBy(l => l, StringComparer.Ordinal));
    }

    public Dictionary<string, string> AllRows() => AllNodes.ToDictionary(n => n, n => Rows(Schema, n));

    public long Count(string table, string? where = null, params object?[] parameters)
    {
        using var s = Session();
        var sql = $"SELECT COUNT(*) FROM {s.Dialect.Qualify(new RelationName(StateSchema, table))}" + (where is null ? "" : " WHERE " + where);
        return Convert.ToInt64(s.ExecuteScalar(new SqlStatement("TEST", table, sql, parameters)), CultureInfo.InvariantCulture);
    }

    public string? EnvironmentStatus(string name = "dev")
    {
        using var s = Session();
        return new StateRepository(s, new StateSql(s.Dialect, StateSchema)).Environment(name)?.Status;
    }

    public Dictionary<NodeKey, string> Refs(string name = "dev")
    {
        using var s = Session();
        return new StateRepository(s, new StateSql(s.Dialect, StateSchema)).Refs(name);
    }

    /// <summary>
    /// The catalog (relations, kinds, view text, columns) of every schema this project uses, and every row of
    /// every table in them, state included: two equal snapshots mean nothing was changed.
    /// </summary>
    public string Snapshot()
    {
        using var s = Session();
        var schemas = SchemaNames(s);
        var catalog = s.ReadCatalog(schemas, includeColumns: true);
        var sb = new StringBuilder();
        sb.AppendLine("schemas: " + string.Join(", ", catalog.Schemas.OrderBy(x => x, StringComparer.Ordinal)));
        foreach (var r in catalog.Relations.OrderBy(r => r.Schema, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal))
        {
            sb.Append(r.Schema).Append('.').Append(r.Name).Append(' ').Append(r.Kind).Append(' ').AppendLine(r.ViewDefinition);
            foreach (var c in catalog.ColumnsOf(r.Relation)) sb.Append("  ").Append(c.Name).Append(' ').AppendLine(c.DataType);
            if (r.Kind != RelationKind.Table) continue;
            var rows = s.Query(new SqlStatement("TEST", r.Name, $"SELECT * FROM {s.Dialect.Qualify(r.Relation)}"));
            foreach (var line in rows.Select(Line).OrderBy(l => l, StringComparer.Ordinal)) sb.Append("  | ").AppendLine(line);
        }
        return sb.ToString();
    }

    private List<string> SchemaNames(IWarehouseSession s)
    {
        var prefixes = new[] { Schema, StateSchema };
        var sql = Engine == "postgres"
            ? "SELECT nspname FROM pg_catalog.pg_namespace"
            : "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()";
        return s.Query(new SqlStatement("TEST", "schemas", sql)).Select(r => Convert.ToString(r[0])!)
            .Where(n => prefixes.Any(p => n == p || n.StartsWith(p + "__", StringComparison.Ordinal))).ToList();
    }

    private static string Line(object?[] row) =>
        string.Join("|", row.Select(v => v switch
        {
            null or DBNull => "null",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => v.ToString(),
        }));

    public void Dispose()
    {
        // Logical and backup schemas first, then the physical one, then state and target (views read tables).
        Project.Folder.DropSchemas(s => SchemaNames(s).OrderByDescending(n => n.Length));
        Project.Dispose();
    }
}
