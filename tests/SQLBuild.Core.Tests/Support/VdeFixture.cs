using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.Reconcile;
using SQLBuild.Core.State;
using SQLBuild.Core.Templates;
using Xunit;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// A virtual-mode project in a temp folder on a real engine, its state store initialized: the shop
/// template (or generated models) on a DuckDB file in the folder, or on the test PostgreSQL with a
/// unique target schema AND a unique state schema. Unsuffixed VDE: <c>dev</c>.
/// </summary>
internal sealed class VdeFixture : IDisposable
{
    private readonly TestProject _folder;
    public string Dir => _folder.Dir;
    public string Engine { get; }
    public string Schema { get; }
    public string StateSchema { get; }
    public string PhysicalSchema => Schema + "__sqb_physical";
    private readonly HashSet<string> _environments = new(StringComparer.Ordinal) { "dev" };

    /// <param name="models">Replaces the template's models, seeds, tests and audits with these model files (name -> SQL).</param>
    /// <param name="separateState">DuckDB only: keep state in its own file ([targets.dev.state.connection]).</param>
    public VdeFixture(string engine, IReadOnlyDictionary<string, string>? models = null, bool separateState = false, bool virtualMode = true)
    {
        Engine = engine;
        _folder = new TestProject("sqb-rec-", engine);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        Schema = engine == "duckdb" ? "dev" : "t_" + suffix;
        StateSchema = engine == "duckdb" ? "sqlbuild_state" : "st_" + suffix;
        if (models is null) _folder.WriteTemplate(ProjectTemplateKind.Virtual);
        else
            foreach (var (name, sql) in models) Write($"models/{name}.sql", sql);
        _folder.WriteToml(new ProjectToml(engine, Schema)
        {
            VirtualEnvironments = virtualMode,
            Concurrency = 2,
            State = new StateToml(engine, StateSchema) { Database = separateState ? "state.duckdb" : null },
        });
        if (virtualMode) new StateLifecycle(Store(), NullLog.Instance).Initialize();
    }

    /// <summary>N view models m_0001..m_N; every fifth reads the one before it.</summary>
    public static Dictionary<string, string> GeneratedModels(int count)
    {
        var models = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i <= count; i++)
        {
            var name = $"m_{i:D4}";
            models[name] = i % 5 == 0
                ? $"MODEL (materialized view);\nSELECT id + {i} AS id FROM __ref(\"m_{i - 1:D4}\")\n"
                : $"MODEL (materialized view);\nSELECT {i} AS id\n";
        }
        return models;
    }

    public void Write(string rel, string content) => _folder.Write(rel, content);

    public CompiledProject Compile() => _folder.Compile();

    public StateStore Store(ISqbLog? log = null) => StateStore.Open(Compile(), log ?? NullLog.Instance);

    public SqbBuildResult Build(string? environment = null, params string[] select) => Build(environment, changesOnly: false, select);

    /// <summary>A build that must succeed; <paramref name="changesOnly"/> builds only stale models and their descendants.</summary>
    public SqbBuildResult Build(string? environment, bool changesOnly, params string[] select)
    {
        if (environment is not null) _environments.Add(environment);
        var result = ProjectBuild.Build(Compile(),
            new BuildOptions { Environment = environment, Select = select.Length == 0 ? null : select, ChangesOnly = changesOnly },
            NullLog.Instance, CancellationToken.None);
        Assert.True(result.Status == "succeeded",
            "build failed: " + string.Join("; ", result.Nodes.Where(n => n.Error is not null).Select(n => $"{n.Name}: {n.Error}")));
        return result;
    }

    public IReadOnlyList<SqbReconcileFinding> Report(string? environment = null, string? model = null, ISqbLog? log = null) =>
        new Reconciler(Store(log), log ?? NullLog.Instance).Report(environment, model);

    public IReadOnlyList<ViewRepairOutcome> Repair(string? environment, params string[] names) =>
        new ViewRepair(Store(), NullLog.Instance).Repair(environment, names.Select(n => new ViewRepairRequest(n)).ToList());

    public SqbRepairResult Attach(string? environment, string model, string relation) =>
        new RefAttach(Store(), NullLog.Instance).Attach(environment, model, relation);

    public string LogicalSchema(string environment) => environment == "dev" ? Schema : $"{Schema}__{environment}";

    // ------------------------------------------------------------------ raw access (damage and checks)

    public IWarehouseSession Warehouse() => _folder.Warehouse().OpenSession();

    public IWarehouseSession State()
    {
        var store = Store();
        return store.OpenStateSession();
    }

    public string Q(string schema, string name)
    {
        using var s = Warehouse();
        return s.Dialect.Qualify(new RelationName(schema, name));
    }

    public void Exec(string sql, params object?[] parameters)
    {
        using var s = Warehouse();
        s.Execute(new SqlStatement("TEST", "damage", sql, parameters.Length == 0 ? null : parameters));
    }

    public void ExecState(string sql, params object?[] parameters)
    {
        using var s = State();
        s.Execute(new SqlStatement("TEST", "damage", sql, parameters.Length == 0 ? null : parameters));
    }

    public IReadOnlyList<object?[]> QueryState(string sql, params object?[] parameters)
    {
        using var s = State();
        return s.Query(new SqlStatement("TEST", "check", sql, parameters.Length == 0 ? null : parameters));
    }

    public string StateTable(string table)
    {
        using var s = State();
        return s.Dialect.Qualify(new RelationName(StateSchema, table));
    }

    public long Count(string schema, string relation)
    {
        using var s = Warehouse();
        return Convert.ToInt64(s.ExecuteScalar(s.Dialect.CountRows(new RelationName(schema, relation))));
    }

    public CatalogRelation? Find(string schema, string name)
    {
        using var s = Warehouse();
        return s.ReadCatalog(new[] { schema }).Find(new RelationName(schema, name));
    }

    public Dictionary<NodeKey, string> Refs(string environment = "dev")
    {
        using var s = State();
        return new StateRepository(s, Store().Sql).Refs(environment);
    }

    /// <summary>The physical relation a VDE's ref of <paramref name="node"/> points at.</summary>
    public RelationName PhysicalOf(string node, string environment = "dev", string nodeType = NodeTypes.Model)
    {
        var hash = Refs(environment)[new NodeKey(nodeType, node)];
        return new RelationName(PhysicalSchema, $"{node}__v_{hash[..8]}");
    }

    public void Dispose()
    {
        _folder.DropSchemas(_ => _environments.Select(LogicalSchema).Append(PhysicalSchema).Append(StateSchema));
        _folder.Dispose();
    }

    /// <summary>Registers a VDE whose logical schema Dispose must drop.</summary>
    public void Track(string environment) => _environments.Add(environment);
}
