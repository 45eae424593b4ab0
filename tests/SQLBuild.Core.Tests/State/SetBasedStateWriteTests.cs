using Microsoft.SqlServer.TransactSql.ScriptDom;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.State;

/// <summary>
/// State writes are set-based: a thousand refs, ref events or checkpoint refs take a handful of
/// statements, not one per row, and a shared version is recorded with one guarded INSERT. Runs on
/// DuckDB (a file) and PostgreSQL; the T-SQL shapes are checked with SQL Server's own parser.
/// </summary>
public class SetBasedStateWriteTests
{
    public static TheoryData<string> Engines() => new() { "duckdb", "postgres" };

    private sealed class Store : IDisposable
    {
        private readonly TempDuckDb? _file;
        private readonly IWarehouse _warehouse;
        public RecordingLog Log { get; } = new();
        public string Schema { get; } = TestDatabases.UniqueSchema("sqbst");
        public IWarehouseSession Session { get; }
        public StateSql Sql { get; }
        public StateRepository Repo { get; }

        public Store(string engine)
        {
            if (engine == "postgres")
            {
                Skip.IfNot(TestDatabases.HasPostgres, TestDatabases.NoPostgres);
                _warehouse = WarehouseFactory.Create(TestDatabases.Postgres(), Log);
            }
            else
            {
                _file = TestDatabases.NewDuckDbFile();
                _warehouse = _file.CreateWarehouse(Log);
            }
            Session = _warehouse.OpenSession();
            Sql = new StateSql(Session.Dialect, Schema);
            Session.Execute(Sql.CreateSchema());
            foreach (var t in StateSchema.Tables)
            {
                Session.Execute(Sql.CreateTable(t));
                if (t.UniqueKey.Count > 0) Session.Execute(Sql.CreateUniqueIndex(t));
            }
            Repo = new StateRepository(Session, Sql);
        }

        public long Count(StateTable t) => Convert.ToInt64(Session.ExecuteScalar(Sql.Count(t)));

        /// <summary>Statements sent to one state table since <paramref name="from"/> (the verbose log shows kind and target).</summary>
        public int Statements(int from, string kind, StateTable t) =>
            Log.Lines.Skip(from).Count(l => l == $"VERBOSE: {kind} {Schema}.{t.Name}");

        public void Dispose()
        {
            Session.Dispose();
            if (_file is not null) _file.Dispose();
            else TestDatabases.DropSchemas(_warehouse, Schema);
        }
    }

    private static Dictionary<NodeKey, string> Refs(int count, string version) =>
        Enumerable.Range(0, count).ToDictionary(i => i % 10 == 0 ? NodeKey.Seed($"s_{i:d4}") : NodeKey.Model($"m_{i:d4}"), _ => version);

    [SkippableTheory]
    [MemberData(nameof(Engines))]
    public void Replacing_2500_refs_takes_a_handful_of_statements_and_records_every_change(string engine)
    {
        using var store = new Store(engine);
        var mark = store.Log.Lines.Count;
        var first = store.Repo.ReplaceRefs("dev", Refs(2500, "v1"), "build:1");
        Assert.Equal(2500, first.Count);
        Assert.Equal(2500, store.Count(StateSchema.NodeRefs));
        Assert.Equal(2500, store.Count(StateSchema.RefEvents));
        // Five values a ref row (with its audit signature), at most 2,000 parameters a statement: seven statements.
        Assert.InRange(store.Statements(mark, "INSERT", StateSchema.NodeRefs), 1, 7);
        // Seven values a row, at most 2,000 parameters a statement (SQL Server's limit): nine statements.
        Assert.InRange(store.Statements(mark, "INSERT", StateSchema.RefEvents), 1, 10);

        // Change every second ref, drop 100, add 50: deletes and inserts stay batched.
        var next = Refs(2500, "v1");
        foreach (var k in next.Keys.Where((_, i) => i % 2 == 0).ToList()) next[k] = "v2";
        foreach (var k in next.Keys.Take(100).ToList()) next.Remove(k);
        for (var i = 0; i < 50; i++) next[NodeKey.Model($"new_{i:d2}")] = "v3";
        mark = store.Log.Lines.Count;
        var changes = store.Repo.ReplaceRefs("dev", next, "promote:2");
        Assert.InRange(store.Statements(mark, "DELETE", StateSchema.NodeRefs), 1, 6);
        Assert.InRange(store.Statements(mark, "INSERT", StateSchema.NodeRefs), 1, 7);
        Assert.Equal(next.Count, store.Count(StateSchema.NodeRefs));
        Assert.Equal(2500 + changes.Count, store.Count(StateSchema.RefEvents));
        Assert.Equal(next.OrderBy(r => r.Key.NodeName, StringComparer.Ordinal).Select(r => (r.Key, r.Value)),
            store.Repo.Refs("dev").OrderBy(r => r.Key.NodeName, StringComparer.Ordinal).Select(r => (r.Key, r.Value)));
        Assert.Equal(100, changes.Count(c => c.New is null));
        Assert.Equal(50, changes.Count(c => c.Previous is null));
        // A removed ref's event keeps NULL as the new version (an all-NULL column in a multi-row VALUES list).
        var removed = store.Session.Query(store.Sql.Select(StateSchema.RefEvents, new[] { "node_name" },
            Where.IsNull("new_version_hash") & Where.Equal("operation_id", "promote:2")));
        Assert.Equal(100, removed.Count);
    }

    [SkippableTheory]
    [MemberData(nameof(Engines))]
    public void A_checkpoint_of_2500_refs_is_written_in_a_handful_of_statements(string engine)
    {
        using var store = new Store(engine);
        var refs = Refs(2500, "v1");
        var mark = store.Log.Lines.Count;
        var id = store.Repo.CreateCheckpoint("dev", refs);
        Assert.InRange(store.Statements(mark, "INSERT", StateSchema.CheckpointRefs), 1, 7);
        var read = store.Repo.CheckpointRefs(new[] { id })[id];
        Assert.Equal(refs.OrderBy(r => r.Key.NodeName, StringComparer.Ordinal), read.OrderBy(r => r.Key.NodeName, StringComparer.Ordinal));
    }

    [SkippableTheory]
    [MemberData(nameof(Engines))]
    public void A_shared_version_is_recorded_once_with_one_statement_per_call(string engine)
    {
        using var store = new Store(engine);
        var mark = store.Log.Lines.Count;
        var row = new PhysicalRelationRow(NodeTypes.Model, "m", "abc", null, "dev__sqb_physical", "m__v_abc", "view");
        store.Repo.InsertPhysicalRelation(row);
        store.Repo.InsertPhysicalRelation(row);
        store.Repo.InsertModelVersion(new ModelVersionRow("m", "abc", "l", "SELECT 1", "{}", "ready"));
        store.Repo.InsertModelVersion(new ModelVersionRow("m", "abc", "l", "SELECT 1", "{}", "ready"));
        store.Repo.InsertSeedVersion("s", "def", "c");
        store.Repo.InsertSeedVersion("s", "def", "c");
        store.Repo.InsertAncestry("m", "abc", "old", "copy");
        store.Repo.InsertAncestry("m", "abc", "old", "copy");
        Assert.Equal(2, store.Statements(mark, "INSERT", StateSchema.PhysicalRelations));
        Assert.Equal(0, store.Statements(mark, "SELECT", StateSchema.PhysicalRelations));
        Assert.Equal(1, store.Count(StateSchema.PhysicalRelations));
        Assert.Equal(1, store.Count(StateSchema.ModelVersions));
        Assert.Equal(1, store.Count(StateSchema.SeedVersions));
        Assert.Equal(1, store.Count(StateSchema.PhysicalRelationAncestry));
        var stored = Assert.Single(store.Repo.PhysicalRelations());
        Assert.Null(stored.DatabaseName);
        Assert.Equal("m__v_abc", stored.RelationName);
    }

    [SkippableTheory]
    [MemberData(nameof(Engines))]
    public void Recording_3000_versions_at_once_skips_the_recorded_ones_in_as_few_statements_as_the_engine_allows(string engine)
    {
        using var store = new Store(engine);
        ModelVersionRow Version(int i) => new($"m_{i:d4}", "abc", "l", $"SELECT {i}", "{}", "ready");
        PhysicalRelationRow Relation(int i) => new(NodeTypes.Model, $"m_{i:d4}", "abc", null, "dev__sqb_physical", $"m_{i:d4}__v_abc", "view");
        store.Repo.InsertModelVersion(Version(7));
        store.Repo.InsertPhysicalRelation(Relation(7));
        var mark = store.Log.Lines.Count;
        store.Session.ExecuteBatch(store.Repo.RecordModelVersions(Enumerable.Range(0, 3000).Select(Version).ToList(),
            Enumerable.Range(0, 3000).Select(Relation).ToList()).ToList());
        Assert.Equal(3000, store.Count(StateSchema.ModelVersions));
        Assert.Equal(3000, store.Count(StateSchema.PhysicalRelations));
        // PostgreSQL binds one array a column: one statement a table at any size. Elsewhere, under 2,000 parameters a statement.
        var (versions, relations) = (store.Statements(mark, "INSERT", StateSchema.ModelVersions), store.Statements(mark, "INSERT", StateSchema.PhysicalRelations));
        if (engine == "postgres") Assert.Equal((1, 1), (versions, relations));
        else Assert.Equal((10, 11), (versions, relations));
        Assert.Equal(3000, store.Repo.Tracked(Enumerable.Range(0, 3000).Select(i => (NodeKey.Model($"m_{i:d4}"), "abc")).ToList()).Count);
        Assert.Empty(store.Repo.Tracked(new[] { (NodeKey.Model("m_0001"), "other"), (NodeKey.Seed("m_0001"), "abc") }));
    }

    [Fact]
    public void The_set_based_shapes_parse_as_tsql()
    {
        var sql = new StateSql(SqlServerDialect.Instance, "sqlbuild_state");
        var statements = sql.InsertMany(StateSchema.RefEvents,
                new[] { "event_id", "virtual_environment_name", "node_type", "node_name", "previous_version_hash", "new_version_hash", "operation_id" },
                Enumerable.Range(0, 700).Select(i => new object?[] { $"e{i}", "dev", "model", $"m{i}", null, "h", "op" }).ToList(), "created_at")
            .ToList();
        // SQL Server allows 2,100 parameters and 1,000 rows per VALUES list.
        Assert.True(statements.Count >= 3);
        Assert.All(statements, s => Assert.InRange(s.Parameters!.Count, 1, 2000));
        Assert.Equal(700 * 7, statements.Sum(s => s.Parameters!.Count));
        statements.AddRange(sql.InsertManyIfAbsent(StateSchema.PhysicalRelations, new[] { "artifact_type", "artifact_name", "version_hash", "database_name", "schema_name", "relation_name", "relation_type" },
            Enumerable.Range(0, 300).Select(i => new object?[] { "model", $"m{i}", "h", null, "s", $"r{i}", "view" }).ToList(), "created_at", "updated_at"));
        statements.Add(sql.InsertIfAbsent(StateSchema.PhysicalRelations, new (string, object?)[]
        {
            ("artifact_type", "model"), ("artifact_name", "m"), ("version_hash", "h"), ("database_name", null),
            ("schema_name", "s"), ("relation_name", "r"), ("relation_type", "view"),
        }, "created_at", "updated_at"));
        foreach (var s in statements)
        {
            var parser = new TSql160Parser(initialQuotedIdentifiers: true);
            parser.Parse(new StringReader(s.Sql), out var errors);
            Assert.True(errors.Count == 0, $"{string.Join("; ", errors.Select(e => e.Message))}\n{s.Sql[..Math.Min(400, s.Sql.Length)]}");
        }
    }
}
