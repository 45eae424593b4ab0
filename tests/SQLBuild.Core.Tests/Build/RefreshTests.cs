using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Build;

/// <summary>
/// Virtual builds on a production schedule (issue 10, SPEC 4.2): a default build re-runs tables and incrementals into
/// their current versions, <c>-ChangesOnly</c> keeps the fast path (plus <c>run_despite_unchanged</c>), a failed refresh
/// keeps the old data, and changed audits run against the bound version. A source table <c>raw_&lt;id&gt;.events</c>
/// feeds a table model and an append incremental; rows arrive between builds, as they do overnight.
/// </summary>
public sealed class RefreshTests
{
    public static IEnumerable<object[]> Engines() => new[] { new object[] { "duckdb" }, new object[] { "postgres" } };

    private static Project Use(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        return new Project(engine);
    }

    private static string Q(string name) => Project.Q(name);
    private static SqbNodeResult Node(SqbBuildResult r, string name) => Project.Node(r, name);

    [SkippableTheory, MemberData(nameof(Engines))]
    public void New_source_rows_reach_a_table_and_an_incremental_through_a_default_build_in_their_versions(string engine)
    {
        using var t = Use(engine);
        Assert.Equal("succeeded", t.Build().Status);
        var physical = t.PhysicalCount();
        Assert.Equal(3, t.Count(t.View("dev"), "events_table"));
        Assert.Equal(3, t.Count(t.View("dev"), "events_log"));

        t.Arrive(4, 5);
        // -ChangesOnly: nothing is stale, so nothing runs; the warehouse keeps yesterday's rows.
        var quick = t.Build(changesOnly: true);
        Assert.Equal("succeeded", quick.Status);
        Assert.Empty(quick.Nodes);
        Assert.Equal(3, t.Count(t.View("dev"), "events_table"));

        // The nightly default build: both refreshed in their current versions, no new physical relation.
        var nightly = t.Build();
        Assert.Equal("succeeded", nightly.Status);
        Assert.Equal("refresh", Node(nightly, "events_table").Action);
        Assert.Equal("refresh", Node(nightly, "events_log").Action);
        Assert.Equal("unchanged", Node(nightly, "event_kinds").Action);
        Assert.Equal(5, t.Count(t.View("dev"), "events_table"));
        Assert.Equal(5, t.Count(t.View("dev"), "events_log"));
        Assert.Equal(3, t.Count(t.View("dev"), "event_kinds"));   // the view reads the refreshed table
        Assert.Equal(physical, t.PhysicalCount());
        Assert.Null(nightly.CheckpointId);
        // The journal names what the build did.
        var op = new OperationQueries(t.Store(), NullLog.Instance).List(nightly.OperationId).Single();
        Assert.Contains("refreshed 2", op.Events[^1].Message);

        // Every VDE sharing the versions sees the new data at once.
        Assert.Equal("succeeded", t.Build("pr_1", changesOnly: true).Status);
        t.Arrive(6);
        Assert.Equal("succeeded", t.Build().Status);
        Assert.Equal(6, t.Count(t.View("pr_1"), "events_table"));
        Assert.Equal(6, t.Count(t.View("pr_1"), "events_log"));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void Run_despite_unchanged_makes_an_unchanged_table_eligible_for_a_changes_only_build(string engine)
    {
        using var t = Use(engine);
        t._folder.Write("models/events_table.sql", """
            MODEL (materialized table, audits [not_null(id)], run_despite_unchanged "always");
            SELECT id, kind FROM __source("events")
            """);
        Assert.Equal("succeeded", t.Build().Status);
        t.Arrive(4);

        var plan = ProjectBuild.Plan(t._folder.Compile(), new BuildOptions { ChangesOnly = true }, NullLog.Instance);
        var step = plan.Steps.Single(s => s.Action != "unchanged");
        Assert.Equal(("events_table", "refresh", "run_despite_unchanged \"always\""), (step.Name, step.Action, step.Reason));
        var r = t.Build(changesOnly: true);
        Assert.Equal("refresh", Node(r, "events_table").Action);
        Assert.DoesNotContain(r.Nodes, n => n.Name == "events_log");
        Assert.Equal(4, t.Count(t.View("dev"), "events_table"));

        // "24h": refreshed a moment ago, so not due.
        t._folder.Write("models/events_table.sql", """
            MODEL (materialized table, audits [not_null(id)], run_despite_unchanged "24h");
            SELECT id, kind FROM __source("events")
            """);
        Assert.All(ProjectBuild.Plan(t._folder.Compile(), new BuildOptions { ChangesOnly = true }, NullLog.Instance).Steps, s => Assert.Equal("unchanged", s.Action));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_refresh_whose_not_null_audit_fails_keeps_the_old_rows_and_fails_the_node(string engine)
    {
        using var t = Use(engine);
        Assert.Equal("succeeded", t.Build().Status);
        t.Exec($"INSERT INTO {Q(t._raw)}.{Q("events")} VALUES (NULL, 'bad')");

        var r = t.Build();
        Assert.Equal("failed", r.Status);
        var node = Node(r, "events_table");
        Assert.Equal(SqbNodeStatus.Failed, node.Status);
        Assert.Equal("B002.AuditFailed", node.ErrorCode);
        Assert.Contains("the version keeps its data", node.Error);
        Assert.Equal(3, t.Count(t.View("dev"), "events_table"));   // yesterday's rows, still complete
        Assert.Empty(new LockManager(t.Store(), NullLog.Instance).List());
    }

    [SkippableFact]
    public void A_source_column_renamed_only_in_case_fails_the_refresh_as_a_shape_change_and_the_version_keeps_its_columns()
    {
        // PostgreSQL's quoted names are case-sensitive: "Kind" is another column than kind. A refresh once compared names
        // ignoring case, let this through, and swapped a table with another column name into the version (where its views
        // were there, the drop failed on them instead, with a dependency error in place of the shape error).
        using var t = Use("postgres");
        t._folder.Write("models/events_all.sql", """
            MODEL (materialized table);
            SELECT * FROM __source("events")
            """);
        Assert.Equal("succeeded", t.Build().Status);
        var version = Node(t.Build(), "events_all").Relation!;
        t.Exec($"ALTER TABLE {Q(t._raw)}.{Q("events")} RENAME COLUMN kind TO {Q("Kind")}");
        t.Arrive(4);

        foreach (var dropView in new[] { false, true })
        {
            // Also with the logical view gone (a DBA dropped it): nothing then stops a swap that replaces the table.
            if (dropView) t.Exec($"DROP VIEW {Q(t.View("dev"))}.{Q("events_all")}");
            var node = Node(t.Build(), "events_all");
            Assert.Equal(SqbNodeStatus.Failed, node.Status);
            Assert.Equal("B006.RefreshChangesShape", node.ErrorCode);
            Assert.Contains("the version keeps its data", node.Error);
            using var s = t._folder.Warehouse().OpenSession();
            var parts = version.Split('.');
            Assert.Equal(new[] { "id", "kind" }, s.ColumnsOf(new RelationName(parts[0], parts[1])).Select(c => c.Name));
            Assert.Equal(3L, Convert.ToInt64(s.ExecuteScalar(new SqlStatement("TEST", "count", $"SELECT COUNT(*) FROM {Q(parts[0])}.{Q(parts[1])}"))));
        }
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void An_audit_added_in_a_pr_environment_fails_there_and_dev_stays_whole(string engine)
    {
        using var t = Use(engine);
        Assert.Equal("succeeded", t.Build().Status);
        // An audit that 2 of the 3 rows break, on the (unchanged) view: not part of the version hash.
        t._folder.Write("models/event_kinds.sql", """
            MODEL (materialized view, audits [expression_is_true("kind = 'b'")]);
            SELECT DISTINCT kind FROM __ref("events_table")
            """);
        var plan = ProjectBuild.Plan(t._folder.Compile(), new BuildOptions { Environment = "pr_1", ChangesOnly = true }, NullLog.Instance);
        var step = plan.Steps.Single(s => s.Name == "event_kinds");
        Assert.Equal(("audit", "audits changed"), (step.Action, step.Reason));

        var r = t.Build("pr_1", changesOnly: true);
        Assert.Equal("failed", r.Status);
        Assert.Equal(("audit", SqbNodeStatus.Failed), (Node(r, "event_kinds").Action, Node(r, "event_kinds").Status));
        // pr_1 stays working, without event_kinds; dev is whole and untouched.
        Assert.Equal("active", r.EnvironmentStatus);
        using (var s = t.Store().OpenStateSession())
        {
            var repo = new StateRepository(s, t.Store().Sql);
            Assert.DoesNotContain(NodeKey.Model("event_kinds"), repo.Refs("pr_1").Keys);
            Assert.Contains(NodeKey.Model("event_kinds"), repo.Refs("dev").Keys);
            Assert.Equal("finalized", repo.Environment("dev")!.Status);
        }
        Assert.Equal(2, t.Count(t.View("dev"), "event_kinds"));
        // Fixed, the audit passes in pr_1 and the ref is written with it.
        t._folder.Write("models/event_kinds.sql", """
            MODEL (materialized view, audits [expression_is_true("kind IN ('a', 'b')")]);
            SELECT DISTINCT kind FROM __ref("events_table")
            """);
        var fixedRun = t.Build("pr_1", changesOnly: true);
        Assert.Equal("succeeded", fixedRun.Status);
        Assert.Equal("finalized", fixedRun.EnvironmentStatus);
        Assert.All(ProjectBuild.Plan(t._folder.Compile(), new BuildOptions { Environment = "pr_1", ChangesOnly = true }, NullLog.Instance).Steps,
            s => Assert.Equal("unchanged", s.Action));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void Two_environments_refreshing_one_shared_version_at_once_take_turns_and_end_with_the_same_data(string engine)
    {
        using var t = Use(engine);
        Assert.Equal("succeeded", t.Build().Status);
        Assert.Equal("succeeded", t.Build("pr_1", changesOnly: true).Status);
        t.Arrive(4, 5, 6);

        var dev = Task.Run(() => t.Build());
        var pr = Task.Run(() => t.Build("pr_1"));
        Assert.Equal("succeeded", dev.GetAwaiter().GetResult().Status);
        Assert.Equal("succeeded", pr.GetAwaiter().GetResult().Status);
        Assert.Equal(6, t.Count(t.View("dev"), "events_table"));
        Assert.Equal(6, t.Count(t.View("pr_1"), "events_table"));
        // The append incremental took the new rows once per refresh that saw them: the second refresh found nothing
        // newer than its cursor, so both environments read the same six rows.
        Assert.Equal(6, t.Count(t.View("dev"), "events_log"));
        Assert.Equal(6, t.Count(t.View("pr_1"), "events_log"));
    }

    /// <summary>The project: a source, a table, an append incremental and a view on the table; state initialized.</summary>
    private sealed class Project : IDisposable
    {
        public readonly TestProject _folder;
        public readonly string _engine;
        public readonly string _schema;
        public readonly string _raw;
        public readonly string _state;

        public Project(string engine)
        {
            _engine = engine;
            _folder = new TestProject("sqb-refresh-", engine);
            var id = Guid.NewGuid().ToString("N")[..8];
            _schema = engine == "duckdb" ? "dev" : "r_" + id;
            _raw = engine == "duckdb" ? "raw" : "raw_" + id;
            _state = engine == "duckdb" ? "sqlbuild_state" : "rs_" + id;
            _folder.WriteToml(new ProjectToml(engine, _schema) { VirtualEnvironments = true, Concurrency = 2, State = new StateToml(engine, _state) });
            _folder.Write("sources/raw.yml", $"sources:\n  - name: events\n    schema: {_raw}\n    table: events\n");
            _folder.Write("models/events_table.sql", """
                MODEL (materialized table, audits [not_null(id)]);
                SELECT id, kind FROM __source("events")
                """);
            _folder.Write("models/events_log.sql", """
                MODEL (materialized incremental, incremental_strategy append, cursor id);
                SELECT id, kind FROM __source("events")
                """);
            _folder.Write("models/event_kinds.sql", """
                MODEL (materialized view);
                SELECT DISTINCT kind FROM __ref("events_table")
                """);
            Exec($"CREATE SCHEMA IF NOT EXISTS {Q(_raw)}");
            Exec($"CREATE TABLE {Q(_raw)}.{Q("events")} (id INTEGER, kind VARCHAR(20))");
            Exec($"INSERT INTO {Q(_raw)}.{Q("events")} VALUES (1, 'a'), (2, 'b'), (3, 'a')");
            new StateLifecycle(Store(), NullLog.Instance).Initialize();
        }

        public static string Q(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";
        public StateStore Store() => StateStore.Open(_folder.Compile(), NullLog.Instance);
        public void Exec(string sql)
        {
            using var s = _folder.Warehouse().OpenSession();
            s.Execute(new SqlStatement("TEST", "exec", sql));
        }
        public long Count(string schema, string relation)
        {
            using var s = _folder.Warehouse().OpenSession();
            return Convert.ToInt64(s.ExecuteScalar(new SqlStatement("TEST", "count", $"SELECT COUNT(*) FROM {Q(schema)}.{Q(relation)}")));
        }
        public string View(string environment) => environment == "dev" ? _schema : $"{_schema}__{environment}";
        public int PhysicalCount()
        {
            using var s = _folder.Warehouse().OpenSession();
            return s.ReadCatalog(new[] { _schema + "__sqb_physical" }, viewDefinitions: false).Relations.Count;
        }
        public SqbBuildResult Build(string? environment = null, bool changesOnly = false) =>
            ProjectBuild.Build(_folder.Compile(), new BuildOptions { Environment = environment, ChangesOnly = changesOnly }, NullLog.Instance, CancellationToken.None);
        public static SqbNodeResult Node(SqbBuildResult r, string name) => r.Nodes.Single(n => n.Name == name);
        public void Arrive(params int[] ids) =>
            Exec($"INSERT INTO {Q(_raw)}.{Q("events")} VALUES " + string.Join(", ", ids.Select(i => $"({i}, 'c')")));

        public void Dispose()
        {
            if (_schema.Length > 0)
                _folder.DropSchemas(s => s.Query(new SqlStatement("TEST", "schemas",
                        "SELECT nspname FROM pg_catalog.pg_namespace WHERE left(nspname, $1) = $2 OR nspname = $3 OR left(nspname, $4) = $5",
                        new object?[] { _schema.Length, _schema, _raw, _state.Length, _state }))
                    .Select(r => (string)r[0]!));
            _folder.Dispose();
        }
    }
}
