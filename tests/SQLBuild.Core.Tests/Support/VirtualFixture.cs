using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Operations;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;
using SQLBuild.Core.Templates;
using Xunit;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// The virtual template project in a temp folder on a real engine, calling the core the way the
/// cmdlets do (ProjectCompiler.Compile -> StateStore.Open -> ...). DuckDB: a file in the folder
/// (and, with <c>separateState</c>, the state in a second DuckDB file). PostgreSQL (SQB_TEST_PG_*):
/// a unique target schema and a unique state schema per fixture, dropped afterwards.
/// The dev target's VDE is unsuffixed: its views live in <see cref="Schema"/> itself.
/// </summary>
internal sealed class VirtualFixture : IDisposable
{
    private readonly TestProject _folder;
    public string Dir => _folder.Dir;
    public string Engine { get; }
    public string Schema { get; }
    public string StateSchema { get; }
    public bool SeparateState { get; }
    public RecordingLog Log { get; } = new();

    public VirtualFixture(string engine, bool separateState = false)
    {
        Engine = engine;
        SeparateState = separateState;
        _folder = new TestProject("sqb-virtual-", engine);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        Schema = engine == "duckdb" ? "dev" : "v_" + suffix;
        StateSchema = engine == "duckdb" ? "sqlbuild_state" : "st_" + suffix;
        _folder.WriteTemplate(ProjectTemplateKind.Virtual);
        _folder.WriteToml(new ProjectToml(engine, Schema)
        {
            VirtualEnvironments = true,
            State = new StateToml(separateState ? "duckdb" : engine, StateSchema)
            {
                AllowReset = false,
                Database = separateState ? "state.duckdb" : null,
            },
        });
    }

    // ------------------------------------------------------------------ project files

    public void Write(string rel, string content) => _folder.Write(rel, content);

    public string Read(string rel) => _folder.Read(rel);

    public void Edit(string rel, Func<string, string> change)
    {
        var before = Read(rel);
        var after = change(before);
        Assert.NotEqual(before, after);
        Write(rel, after);
    }

    /// <summary>Adds a column to fct_orders (a query change that shows up as <c>+order_year ...</c> in a column diff).</summary>
    public void AddOrderYearToFctOrders() => Edit("models/marts/fct_orders.sql", s => s.Replace(
        "  COALESCE(SUM(p.amount), 0) AS amount\n", "  COALESCE(SUM(p.amount), 0) AS amount,\n  12 AS order_year\n"));

    // ------------------------------------------------------------------ the core, as the cmdlets call it

    public CompiledProject Compile(string? target = null) => _folder.Compile(target);
    public StateStore Store() => StateStore.Open(Compile(), Log);
    public SqbStateInfo Init() => new StateLifecycle(Store(), Log).Initialize();

    public SqbBuildResult Build(BuildOptions? options = null) =>
        ProjectBuild.Build(Compile(), options ?? new BuildOptions(), Log, CancellationToken.None);

    public SqbBuildResult Build(string environment, params string[] select) =>
        Build(new BuildOptions { Environment = environment, Select = select.Length == 0 ? null : select });

    public SqbPlan Plan(BuildOptions? options = null) => ProjectBuild.Plan(Compile(), options ?? new BuildOptions(), Log);

    public SqbPromotionResult Promote(string from, string to, Func<PromoteOptions, PromoteOptions>? tweak = null)
    {
        var o = new PromoteOptions { From = from, To = to };
        return new Promotion(Store(), Log).Promote(tweak?.Invoke(o) ?? o);
    }

    public SqbRestoreResult Restore(RestoreOptions? options = null) => new CheckpointRestore(Store(), Log).Restore(options ?? new RestoreOptions());
    public Inspection Inspect() => new(Store(), Log);
    public LockManager Locks() => new(Store(), Log);
    public IReadOnlyList<SqbOperation> Operations(string? type = null, string? status = null) =>
        new OperationQueries(Store(), Log).List(type: type, status: status);

    public IReadOnlyDictionary<string, NodeIdentity> Identities() => IdentityCalculator.Compute(Compile());
    public string Hash(string node) => Identities()[node].VersionHash;

    // ------------------------------------------------------------------ names

    public string PhysicalSchema => Schema + "__sqb_physical";
    public string LogicalSchema(string environment) => environment == "dev" ? Schema : $"{Schema}__{environment}";
    public RelationName Physical(string node, string? hash = null) => new(PhysicalSchema, $"{node}__v_{(hash ?? Hash(node))[..8]}");
    public static string Q(string schema, string name) => $"\"{schema}\".\"{name}\"";
    public static string Q(RelationName r) => Q(r.Schema, r.Name);
    public string View(string environment, string node) => Q(LogicalSchema(environment), node);
    public string StateTable(string table) => Q(StateSchema, table);

    public static readonly string[] Seeds = { "raw_customers", "raw_orders", "raw_payments" };
    public static readonly string[] Models = { "stg_customers", "stg_orders", "stg_payments", "fct_orders", "dim_customers", "payments_log" };
    public static readonly string[] Nodes = Seeds.Concat(Models).ToArray();

    // ------------------------------------------------------------------ the warehouse and the state, read directly

    public IWarehouseSession Warehouse() => _folder.Warehouse(log: Log).OpenSession();

    public IWarehouseSession StateSession() => Store().OpenStateSession();

    public object? Scalar(string sql)
    {
        using var s = Warehouse();
        return s.ExecuteScalar(new SqlStatement("TEST", "query", sql));
    }

    public long Long(string sql) => Convert.ToInt64(Scalar(sql));
    public decimal Dec(string sql) => Convert.ToDecimal(Scalar(sql));
    public long CountOf(string qualified) => Long($"SELECT COUNT(*) FROM {qualified}");

    public void Exec(string sql)
    {
        using var s = Warehouse();
        s.Execute(new SqlStatement("TEST", "exec", sql));
    }

    public IReadOnlyList<object?[]> StateQuery(string sql, params object?[] parameters)
    {
        using var s = StateSession();
        return s.Query(new SqlStatement("TEST", "state", sql, parameters));
    }

    public int StateExec(string sql, params object?[] parameters)
    {
        using var s = StateSession();
        return s.Execute(new SqlStatement("TEST", "state", sql, parameters));
    }

    public long StateCount(string table, string? where = null, params object?[] parameters) =>
        Convert.ToInt64(StateQuery($"SELECT COUNT(*) FROM {StateTable(table)}" + (where is null ? "" : " WHERE " + where), parameters)[0][0]);

    public Dictionary<NodeKey, string> Refs(string environment)
    {
        using var s = StateSession();
        return new StateRepository(s, Store().Sql).Refs(environment);
    }

    public EnvironmentRow? EnvironmentRow(string environment)
    {
        using var s = StateSession();
        return new StateRepository(s, Store().Sql).Environment(environment);
    }

    public IReadOnlyList<CheckpointRow> Checkpoints(string environment)
    {
        using var s = StateSession();
        return new StateRepository(s, Store().Sql).Checkpoints(environment);
    }

    public CatalogSnapshot Catalog(params string[] schemas)
    {
        using var s = Warehouse();
        return s.ReadCatalog(schemas, includeColumns: true);
    }

    /// <summary>The definition of every logical view of an environment, by name: what its readers see.</summary>
    public IReadOnlyDictionary<string, string?> ViewDefinitions(string environment) =>
        Catalog(LogicalSchema(environment)).Relations.Where(r => r.Kind == RelationKind.View)
            .ToDictionary(r => r.Name, r => r.ViewDefinition, StringComparer.Ordinal);

    /// <summary>PostgreSQL: statements still running on the server for sessions named like <paramref name="applicationName"/>.</summary>
    public long ActiveStatementsOf(string applicationName)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long active;
        // A cancelled statement ends on the server a moment after the client's cancel request.
        do
        {
            active = Long($"SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '{applicationName.Replace("'", "''")}' AND state = 'active' AND pid <> pg_backend_pid()");
            if (active == 0) break;
            Thread.Sleep(100);
        } while (clock.Elapsed < TimeSpan.FromSeconds(5));
        return active;
    }

    /// <summary>Every relation in the physical schema.</summary>
    public IReadOnlyList<CatalogRelation> PhysicalRelations() => Catalog(PhysicalSchema).Relations.OrderBy(r => r.Name, StringComparer.Ordinal).ToList();

    /// <summary>The physical relation a logical view reads (by the versioned name in its definition).</summary>
    public void AssertViewReads(string environment, string node, RelationName physical)
    {
        var view = Catalog(LogicalSchema(environment)).Find(new RelationName(LogicalSchema(environment), node));
        Assert.NotNull(view);
        Assert.Equal(RelationKind.View, view!.Kind);
        Assert.True(view.Reads(physical), $"{view.Relation} should read {physical}: {view.ViewDefinition}");
    }

    public void Dispose()
    {
        // The target schema and every schema named after it (physical, VDEs), the state schema and its backups.
        _folder.DropSchemas(s => s.Query(new SqlStatement("TEST", "schemas",
                "SELECT nspname FROM pg_catalog.pg_namespace WHERE left(nspname, $1) = $2 OR left(nspname, $3) = $4",
                new object?[] { Schema.Length, Schema, StateSchema.Length, StateSchema }))
            .Select(r => (string)r[0]!));
        _folder.Dispose();
    }
}
