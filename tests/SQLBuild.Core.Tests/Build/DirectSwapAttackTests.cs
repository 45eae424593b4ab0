using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Build;

/// <summary>
/// The direct-mode swap that drops a table whose columns changed and renames the new one in its place (PostgreSQL): it keeps
/// the grants a DBA made and never queues readers behind the drop for long; then a hostile DBA against it: odd grants, odd
/// role names, seeds, readers that hold or release their locks, views outside SQLBuild, row security, another owner, a stop.
/// </summary>
public sealed class DirectSwapAttackTests
{
    private static string Q(BuildFixture f, string name) => PostgresDialect.Instance.Qualify(new RelationName(f.Schema, name));

    private static string[] Columns(BuildFixture f, string name)
    {
        using var s = f.Session();
        return s.ColumnsOf(new RelationName(f.Schema, name)).Select(c => c.Name).ToArray();
    }

    private static string Errors(SqbBuildResult r) =>
        string.Join("; ", r.Nodes.Where(n => n.Error is not null).Select(n => $"{n.Name}: {n.Error}"));

    /// <summary>The table model <c>report</c> of <paramref name="select"/>, built: its quoted name and the options that build it alone.</summary>
    private static (string Target, BuildOptions Options) BuiltReport(BuildFixture f, string select)
    {
        var options = new BuildOptions { Select = new[] { "report" } };
        f.Write("models/report.sql", "MODEL (materialized table);\n" + select);
        Assert.Equal("succeeded", f.Build(options).Status);
        return (Q(f, "report"), options);
    }

    private static void NoStaging(BuildFixture f)
    {
        using var s = f.Session();
        Assert.DoesNotContain(s.ReadCatalog(new[] { f.Schema }, false).Relations, x => x.Name.Contains("sqb_staging"));
    }

    [SkippableFact]
    public void Public_grants_odd_role_names_and_a_column_grant_on_a_dropped_column_survive_a_column_change()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var (target, options) = BuiltReport(f, "SELECT 1 AS id, 'x' AS name, 3 AS gone");

        using var odd = new TestRole(() => f.Session(), "sqbt Odd\"Role");
        using var clerk = new TestRole(() => f.Session(), "sqbt_Clerk");
        odd.Exec($"GRANT USAGE ON SCHEMA {PostgresDialect.Instance.QuoteIdentifier(f.Schema)} TO {odd.Quoted}, {clerk.Quoted}");
        odd.Exec($"GRANT SELECT, INSERT ON {target} TO {odd.Quoted} WITH GRANT OPTION");
        odd.Exec($"GRANT SELECT ON {target} TO PUBLIC");
        odd.Exec($"GRANT UPDATE (name), SELECT (gone) ON {target} TO {clerk.Quoted}");

        f.Write("models/report.sql", "MODEL (materialized table);\nSELECT 1 AS id, 'x' AS name, 2 AS amount");
        var r = f.Build(options);
        Assert.True(r.Status == "succeeded", Errors(r));
        Assert.Equal(new[] { "id", "name", "amount" }, Columns(f, "report"));
        Assert.True(odd.Has(target, "SELECT WITH GRANT OPTION"));
        Assert.True(odd.Has(target, "INSERT WITH GRANT OPTION"));
        Assert.True(clerk.HasColumn(target, "name", "UPDATE"));
        Assert.False(clerk.HasColumn(target, "amount", "UPDATE"));
        using (var s = f.Session())
            Assert.Contains("PUBLIC SELECT", TestRole.Privileges(s, target));
        Assert.Equal(1L, clerk.CountAs(target));   // through PUBLIC
        NoStaging(f);
    }

    [SkippableFact]
    public void A_seed_whose_columns_change_keeps_its_grants()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var target = Q(f, "codes");
        var options = new BuildOptions { Select = new[] { "codes" } };
        f.Write("seeds/codes.csv", "code,label\n1,a\n2,b\n");
        Assert.Equal("succeeded", f.Build(options).Status);

        using var reader = new TestRole(() => f.Session(), "sqbt_codes");
        reader.Exec($"GRANT USAGE ON SCHEMA {PostgresDialect.Instance.QuoteIdentifier(f.Schema)} TO {reader.Quoted}");
        reader.Exec($"GRANT SELECT ON {target} TO {reader.Quoted}");
        reader.Exec($"GRANT SELECT (label) ON {target} TO {reader.Quoted}");

        f.Write("seeds/codes.csv", "code,label,rank\n1,a,1\n2,b,2\n3,c,3\n");
        var r = f.Build(options);
        Assert.True(r.Status == "succeeded", Errors(r));
        Assert.Equal(new[] { "code", "label", "rank" }, Columns(f, "codes"));
        Assert.Equal(3L, reader.CountAs(target));
        Assert.True(reader.HasColumn(target, "label"));
        NoStaging(f);
    }

    [SkippableFact]
    public void A_view_outside_sqlbuild_on_the_table_fails_the_node_with_a_clear_error_and_leaves_the_old_table()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var (target, options) = BuiltReport(f, "SELECT 1 AS id, 'x' AS name");
        using var reader = new TestRole(() => f.Session(), "sqbt_dep");
        reader.Exec($"GRANT SELECT ON {target} TO {reader.Quoted}");
        var dependent = Q(f, "dba_view");
        reader.Exec($"CREATE VIEW {dependent} AS SELECT id FROM {target}");

        f.Write("models/report.sql", "MODEL (materialized table);\nSELECT 1 AS id, 'x' AS name, 2 AS amount");
        var r = f.Build(options);
        var node = r.Nodes.Single(n => n.Name == "report");
        Assert.Equal("failed", r.Status);
        Assert.Equal($"replacing {f.Schema}.report: its columns changed, so the old table must be dropped, but view {f.Schema}.dba_view " +
                     "depends on it; the old table was left untouched", node.Error);
        Assert.Equal(new[] { "id", "name" }, Columns(f, "report"));
        Assert.Equal(1, f.Count("report"));
        Assert.True(reader.Has(target));
        NoStaging(f);
    }

    [SkippableFact]
    public void A_model_that_turns_from_view_to_table_under_a_dbas_view_fails_naming_it_and_leaves_the_old_view()
    {
        // The same refusal when the relation that must go is the model's old view (its materialization changed), worded for
        // a view: its columns did not change, a view stands where the table goes.
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var options = new BuildOptions { Select = new[] { "report" } };
        f.Write("models/report.sql", "MODEL (materialized view);\nSELECT 1 AS id, 'x' AS name");
        Assert.Equal("succeeded", f.Build(options).Status);
        var target = Q(f, "report");
        using var reader = new TestRole(() => f.Session(), "sqbt_dep");
        reader.Exec($"GRANT SELECT ON {target} TO {reader.Quoted}");
        reader.Exec($"CREATE VIEW {Q(f, "dba_view")} AS SELECT id FROM {target}");

        f.Write("models/report.sql", "MODEL (materialized table);\nSELECT 1 AS id, 'x' AS name");
        var r = f.Build(options);
        Assert.Equal("failed", r.Status);
        Assert.Equal($"replacing {f.Schema}.report: a view stands at its name, so it must be dropped, but view {f.Schema}.dba_view " +
                     "depends on it; the old view was left untouched", r.Nodes.Single(n => n.Name == "report").Error);
        using (var s = f.Session())
            Assert.Equal(RelationKind.View, s.ReadCatalog(new[] { f.Schema }, false).Relations.Single(x => x.Name == "report").Kind);
        Assert.True(reader.Has(target));
        NoStaging(f);
    }

    [SkippableFact]
    public void A_reader_that_lets_go_during_the_retries_lets_the_build_succeed()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var (target, options) = BuiltReport(f, "SELECT 1 AS id, 'x' AS name");
        using var reader = new TestRole(() => f.Session(), "sqbt_rel");
        reader.Exec($"GRANT SELECT ON {target} TO {reader.Quoted}");

        using var holder = f.Session();
        var hold = holder.BeginTransaction();
        holder.ExecuteScalar(new SqlStatement("TEST", "report", $"SELECT COUNT(*) FROM {target}"));
        f.Write("models/report.sql", "MODEL (materialized table);\nSELECT 1 AS id, 'x' AS name, 2 AS amount");
        var build = Task.Run(() => f.Build(options));
        // Let go once the build has waited for the lock at least once (its session shows as waiting for a lock).
        using (var watch = f.Session())
        {
            for (var i = 0; i < 200; i++)
            {
                var waiting = Convert.ToInt64(watch.ExecuteScalar(new SqlStatement("TEST", "wait",
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name LIKE 'sqlbuild%'")));
                if (waiting > 0) break;
                Thread.Sleep(50);
            }
        }
        hold.Rollback();
        hold.Dispose();
        Assert.True(build.Wait(TimeSpan.FromSeconds(60)));
        var r = build.Result;
        Assert.True(r.Status == "succeeded", Errors(r));
        Assert.Equal(new[] { "id", "name", "amount" }, Columns(f, "report"));
        Assert.True(reader.Has(target));
        NoStaging(f);
    }

    [SkippableFact]
    public void A_stop_while_the_swap_waits_for_a_reader_ends_the_build_and_leaves_the_old_table_with_its_grants()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var (target, options) = BuiltReport(f, "SELECT 1 AS id, 'x' AS name");
        using var reader = new TestRole(() => f.Session(), "sqbt_stop");
        reader.Exec($"GRANT SELECT ON {target} TO {reader.Quoted}");

        using var holder = f.Session();
        using var hold = holder.BeginTransaction();
        holder.ExecuteScalar(new SqlStatement("TEST", "report", $"SELECT COUNT(*) FROM {target}"));
        f.Write("models/report.sql", "MODEL (materialized table);\nSELECT 1 AS id, 'x' AS name, 2 AS amount");
        using var stop = new CancellationTokenSource();
        var log = new RecordingLog();
        var build = Task.Run(() => ProjectBuild.Build(f.Compile(), options, log, stop.Token));
        // Stop during a wait between tries: after the first lock timeout was reported.
        for (var i = 0; i < 400 && !log.Lines.Any(l => l.Contains("retrying")); i++) Thread.Sleep(25);
        Assert.Contains(log.Lines, l => l.Contains("retrying (1/3)"));
        stop.Cancel();
        // The stop ends the build while the reader still holds its lock.
        var ended = ((IAsyncResult)build).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(30));
        hold.Rollback();
        Assert.True(ended, "the build did not end on the stop while the reader held its lock");
        Assert.True(build.IsCanceled || build.Exception?.InnerException is OperationCanceledException, $"{build.Status}: {build.Exception}");
        // The build stopped: it did not go on to retry after the stop.
        Assert.DoesNotContain(log.Lines, l => l.Contains("retrying (2/3)") || l.Contains("retrying (3/3)"));
        Assert.Equal(new[] { "id", "name" }, Columns(f, "report"));
        Assert.True(reader.Has(target));
    }

    [SkippableFact]
    public void Four_models_swapped_at_once_with_many_grantees_keep_every_grant()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var names = new[] { "m1", "m2", "m3", "m4" };
        var options = new BuildOptions { Select = names, Concurrency = 4 };
        foreach (var n in names) f.Write($"models/{n}.sql", "MODEL (materialized table);\nSELECT 1 AS id");
        Assert.Equal("succeeded", f.Build(options).Status);
        var roles = Enumerable.Range(0, 6).Select(i => new TestRole(() => f.Session(), $"sqbt_Many{i}")).ToList();
        try
        {
            var list = string.Join(", ", roles.Select(r => r.Quoted));
            foreach (var n in names) roles[0].Exec($"GRANT SELECT ON {Q(f, n)} TO {list}");
            foreach (var n in names) f.Write($"models/{n}.sql", "MODEL (materialized table);\nSELECT 1 AS id, 2 AS more");
            var r = f.Build(options);
            Assert.True(r.Status == "succeeded", Errors(r));
            foreach (var n in names)
            {
                Assert.Equal(new[] { "id", "more" }, Columns(f, n));
                Assert.All(roles, role => Assert.True(role.Has(Q(f, n)), $"{role.Name} lost SELECT on {n}"));
            }
        }
        finally
        {
            foreach (var role in roles) role.Dispose();
        }
    }

    [SkippableFact]
    public void A_table_a_dba_gave_to_another_owner_keeps_its_grants_and_the_build_says_who_owned_it()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var (target, options) = BuiltReport(f, "SELECT 1 AS id, 'x' AS name");
        using var owner = new TestRole(() => f.Session(), "sqbt_Owner");
        using var reader = new TestRole(() => f.Session(), "sqbt_own_reader");
        owner.Exec($"GRANT USAGE, CREATE ON SCHEMA {PostgresDialect.Instance.QuoteIdentifier(f.Schema)} TO {owner.Quoted}, {reader.Quoted}");
        owner.Exec($"ALTER TABLE {target} OWNER TO {owner.Quoted}");
        owner.Exec($"GRANT SELECT ON {target} TO {reader.Quoted}");

        f.Write("models/report.sql", "MODEL (materialized table);\nSELECT 1 AS id, 'x' AS name, 2 AS amount");
        var log = new RecordingLog();
        var r = ProjectBuild.Build(f.Compile(), options, log, CancellationToken.None);
        Assert.True(r.Status == "succeeded", Errors(r));
        Assert.True(reader.Has(target));
        Assert.Contains(log.Lines, l => l.StartsWith("WARNING: ") && l.Contains($"was owned by {owner.Name}"));
        // The old owner keeps what an owner may do with the rows (as grants: ownership is the build role's now).
        Assert.True(owner.Has(target, "SELECT WITH GRANT OPTION"));
        Assert.True(owner.Has(target, "DELETE"));
        Assert.Equal(1L, owner.CountAs(target));
        NoStaging(f);
    }

    [SkippableFact]
    public void A_table_with_row_level_security_is_not_swapped_for_one_that_would_show_every_row_to_its_readers()
    {
        // The grants are given again, but policies are not: a reader limited to its own rows would read them all.
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var (target, options) = BuiltReport(f, "SELECT 1 AS id, 'x' AS name UNION ALL SELECT 2, 'y'");
        using var reader = new TestRole(() => f.Session(), "sqbt_rls");
        reader.Exec($"GRANT USAGE ON SCHEMA {PostgresDialect.Instance.QuoteIdentifier(f.Schema)} TO {reader.Quoted}");
        reader.Exec($"GRANT SELECT ON {target} TO {reader.Quoted}");
        reader.Exec($"ALTER TABLE {target} ENABLE ROW LEVEL SECURITY");
        reader.Exec($"CREATE POLICY only_x ON {target} FOR SELECT TO {reader.Quoted} USING (name = 'x')");
        Assert.Equal(1L, reader.CountAs(target));

        f.Write("models/report.sql", "MODEL (materialized table);\nSELECT 1 AS id, 'x' AS name, 2 AS amount UNION ALL SELECT 2, 'y', 3");
        var r = f.Build(options);
        var node = r.Nodes.Single(n => n.Name == "report");
        Assert.Equal("failed", r.Status);
        Assert.Equal($"replacing {f.Schema}.report: its columns changed, so the old table must be dropped, but it has row-level security " +
                     "(policies: only_x) that the new table would not have; the old table was left untouched", node.Error);
        Assert.Equal(new[] { "id", "name" }, Columns(f, "report"));
        Assert.Equal(1L, reader.CountAs(target));
        NoStaging(f);
    }

    [SkippableFact]
    public void Four_swaps_at_once_behind_one_reader_each_fail_with_L002_naming_it_and_keep_their_tables()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var names = new[] { "m1", "m2", "m3", "m4" };
        var options = new BuildOptions { Select = names, Concurrency = 4 };
        foreach (var n in names) f.Write($"models/{n}.sql", "MODEL (materialized table);\nSELECT 1 AS id");
        Assert.Equal("succeeded", f.Build(options).Status);

        using var holder = f.Session();
        using var hold = holder.BeginTransaction();
        foreach (var n in names) holder.ExecuteScalar(new SqlStatement("TEST", n, $"SELECT COUNT(*) FROM {Q(f, n)}"));
        var pid = Convert.ToInt64(holder.ExecuteScalar(new SqlStatement("TEST", "pid", "SELECT pg_backend_pid()")));
        foreach (var n in names) f.Write($"models/{n}.sql", "MODEL (materialized table);\nSELECT 1 AS id, 2 AS more");
        var r = f.Build(options);
        hold.Rollback();
        Assert.Equal("failed", r.Status);
        foreach (var n in names)
        {
            var node = r.Nodes.Single(x => x.Name == n);
            Assert.Equal("L002.SwitchBlocked", node.ErrorCode);
            Assert.Contains($"replacing {f.Schema}.{n} could not take its locks within 4 tries of 2000 ms; held by session {pid} (", node.Error);
            Assert.Equal(new[] { "id" }, Columns(f, n));
        }
        NoStaging(f);
    }

    [SkippableFact]
    public void A_direct_rebuild_that_changes_a_tables_columns_keeps_the_grants_a_dba_made_on_it()
    {
        // New columns cannot be filled in place: the old table is dropped and the new one renamed to its name. What a DBA
        // granted on it (a report role's SELECT, a column grant, one with the grant option) must not go with the old table.
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var (target, options) = BuiltReport(f, "SELECT 1 AS id, 'x' AS name");

        using var reader = new TestRole(() => f.Session(), "sqbt_report_reader");
        using var clerk = new TestRole(() => f.Session(), "sqbt_report_clerk");
        reader.Exec($"GRANT USAGE ON SCHEMA {PostgresDialect.Instance.QuoteIdentifier(f.Schema)} TO {reader.Quoted}, {clerk.Quoted}");
        reader.Exec($"GRANT SELECT ON {target} TO {reader.Quoted} WITH GRANT OPTION");
        reader.Exec($"GRANT SELECT (id) ON {target} TO {clerk.Quoted}");
        long Oid() { using var s = f.Session(); return TestRole.Oid(s, target); }
        var before = Oid();

        f.Write("models/report.sql", "MODEL (materialized table);\nSELECT 1 AS id, 'x' AS name, 2 AS amount");
        var r = f.Build(options);
        Assert.True(r.Status == "succeeded", Errors(r));
        Assert.NotEqual(before, Oid());   // really dropped and created again
        Assert.Equal(new[] { "id", "name", "amount" }, Columns(f, "report"));
        Assert.True(reader.Has(target, "SELECT WITH GRANT OPTION"));
        Assert.Equal(1L, reader.CountAs(target));
        Assert.True(clerk.HasColumn(target, "id"));
        Assert.False(clerk.Has(target));
    }

    [SkippableFact]
    public void A_direct_rebuild_that_must_drop_a_table_a_reader_holds_fails_with_L002_naming_it_and_never_queues_other_readers_for_long()
    {
        // DROP TABLE needs an exclusive lock: behind a long report it would wait without end, and every reader that comes
        // after would queue behind the drop. The drop waits a bounded time and is retried; the last failure names the
        // reader, the old table stays with its rows, and readers who come meanwhile get their rows.
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var (target, options) = BuiltReport(f, "SELECT 1 AS id, 'x' AS name");

        using var holder = f.Session();
        using var hold = holder.BeginTransaction();
        Assert.Equal(1L, Convert.ToInt64(holder.ExecuteScalar(new SqlStatement("TEST", "report", $"SELECT COUNT(*) FROM {target}"))));
        var holderPid = Convert.ToInt64(holder.ExecuteScalar(new SqlStatement("TEST", "pid", "SELECT pg_backend_pid()")));

        f.Write("models/report.sql", "MODEL (materialized table);\nSELECT 1 AS id, 'x' AS name, 2 AS amount");
        var build = Task.Run(() => f.Build(options));
        // A reader that comes while the build waits: it may wait behind the drop's request for one lock timeout, not more.
        Thread.Sleep(500);
        using (var later = f.Session())
        {
            using var tx = later.BeginTransaction();
            later.Execute(new SqlStatement("TEST", "timeout", "SET LOCAL statement_timeout = '8s'"));
            Assert.Equal(1L, Convert.ToInt64(later.ExecuteScalar(new SqlStatement("TEST", "report", $"SELECT COUNT(*) FROM {target}"))));
        }
        var ended = build.Wait(TimeSpan.FromSeconds(60));
        if (!ended) hold.Rollback();   // let the build end before the test fails
        Assert.True(ended, "the build still waits for the reader's lock after a minute");
        var r = build.Result;
        var node = r.Nodes.Single(n => n.Name == "report");
        Assert.Equal("failed", r.Status);
        Assert.Equal("L002.SwitchBlocked", node.ErrorCode);
        Assert.Contains($"replacing {f.Schema}.report could not take its locks within 4 tries of 2000 ms; held by session {holderPid} (", node.Error);
        Assert.Equal(new[] { "id", "name" }, Columns(f, "report"));
        Assert.Equal(1, f.Count("report"));
        NoStaging(f);

        hold.Rollback();
        r = f.Build(options);
        Assert.True(r.Status == "succeeded", Errors(r));
        Assert.Equal(new[] { "id", "name", "amount" }, Columns(f, "report"));
    }
}
