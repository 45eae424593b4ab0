using Microsoft.SqlServer.TransactSql.ScriptDom;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;
using Xunit;

namespace SQLBuild.Core.Tests.State;

/// <summary>
/// Every statement the state store can send, generated from the one table list. SQL Server cannot run
/// here, so each T-SQL statement is parsed with ScriptDom: a syntax slip fails this test.
/// </summary>
public class StateSqlTests
{
    private static IEnumerable<SqlStatement> AllStatements(StateSql sql)
    {
        var backup = sql.Schema + "__backup_20261125T120000000000Z";
        yield return sql.CreateSchema();
        foreach (var t in StateSchema.Tables)
        {
            yield return sql.CreateTable(t);
            yield return sql.CreateTable(backup, t);
            foreach (var c in t.Columns) yield return sql.AddColumn(t, c);
            if (t.UniqueKey.Count > 0)
            {
                yield return sql.CreateUniqueIndex(t);
                yield return sql.CreateUniqueIndex(backup, t);
            }
            yield return sql.DropTable(backup, t);
            yield return sql.CopyTable(sql.Schema, backup, t);
            yield return sql.Count(t);
            yield return sql.DeleteAll(t);
            yield return sql.Select(t, t.Columns.Select(c => c.Name).ToList(), Where.Equal(t.Columns[0].Name, "x"),
                new[] { Order.Desc(t.Columns[0].Name) });
            var values = t.Columns.Where(c => c.Type != StateColumnType.Timestamp).Select(c => (c.Name, (object?)"v")).ToList();
            var stamps = t.Columns.Where(c => c.Type == StateColumnType.Timestamp).Select(c => c.Name).ToArray();
            yield return sql.Insert(t, values, stamps);
            yield return sql.Update(t, new[] { Set.To(t.Columns[0].Name, 1) }, Where.Equal(t.Columns[^1].Name, 2));
            yield return sql.Delete(t, Where.In(t.Columns[0].Name, new object?[] { 1, 2, 3 }));
        }
        yield return sql.Insert(StateSchema.Locks, new[] { Set.To("lock_key", "k"), Set.ToNowPlus("expires_at", 600), Set.ToNow("created_at") });
        yield return sql.Clock();
        yield return sql.LockRows(null);
        yield return sql.LockRows("virtual_env:dev");
        yield return sql.Indexes(sql.Schema);
        yield return sql.SchemasLike(sql.Schema + "__backup_");
        yield return sql.DropSchema(backup);
        if (sql.Dialect.SupportsAdvisoryLocks)
        {
            yield return sql.Dialect.TryAdvisoryLock("sqlbuild:virtual_env:dev");
            yield return sql.Dialect.ReleaseAdvisoryLock("sqlbuild:virtual_env:dev");
        }
    }

    private static StateSql For(AdapterKind kind, string schema = "sqlbuild_state") => new(WarehouseFactory.Dialect(kind), schema);

    [Theory]
    [InlineData("sqlbuild_state")]
    [InlineData("st'ate]x")]
    public void Every_sql_server_state_statement_parses(string schema)
    {
        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        var count = 0;
        foreach (var s in AllStatements(For(AdapterKind.SqlServer, schema)))
        {
            parser.Parse(new StringReader(s.Sql), out var errors);
            Assert.True(errors.Count == 0,
                $"{s.Kind} {s.Target}: {string.Join("; ", errors.Select(e => $"line {e.Line} col {e.Column}: {e.Message}"))}\n{s.Sql}");
            count++;
        }
        Assert.True(count > 200, $"only {count} statements were generated");
    }

    [Theory]
    [InlineData(AdapterKind.DuckDb)]
    [InlineData(AdapterKind.Postgres)]
    [InlineData(AdapterKind.SqlServer)]
    public void State_sql_never_cascades_and_keeps_values_in_parameters(AdapterKind kind)
    {
        foreach (var s in AllStatements(For(kind)))
        {
            Assert.DoesNotContain("CASCADE", s.Sql, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("'v'", s.Sql);
            Assert.DoesNotContain("virtual_env:dev", s.Sql);
        }
    }

    [Fact]
    public void Key_text_columns_are_indexable_on_sql_server_and_others_unbounded()
    {
        var sql = For(AdapterKind.SqlServer);
        var locks = sql.CreateTable(StateSchema.Locks).Sql;
        Assert.Contains("[lock_key] NVARCHAR(450)", locks);
        Assert.Contains("[owner_id] NVARCHAR(MAX)", locks);
        Assert.Contains("[expires_at] DATETIME2(6)", locks);
    }

    [Fact]
    public void Typed_predicates_quote_columns_and_number_parameters_in_text_order()
    {
        var sql = For(AdapterKind.Postgres, "st");
        var renew = sql.Update(StateSchema.Locks, new[] { Set.To("owner_host", "h"), Set.ToNowPlus("expires_at", 600), Set.ToNow("updated_at") },
            Where.Equal("lock_key", "k") & Where.Equal("owner_id", "o") & Where.AtMost("expires_at", StateValue.NowPlus(-5)));
        Assert.Equal("UPDATE \"st\".\"locks\" SET \"owner_host\" = $1, " +
                     "\"expires_at\" = ((CURRENT_TIMESTAMP AT TIME ZONE 'UTC') + INTERVAL '600 seconds'), \"updated_at\" = (CURRENT_TIMESTAMP AT TIME ZONE 'UTC') " +
                     "WHERE \"lock_key\" = $2 AND \"owner_id\" = $3 AND \"expires_at\" <= ((CURRENT_TIMESTAMP AT TIME ZONE 'UTC') + INTERVAL '-5 seconds')",
            renew.Sql);
        Assert.Equal(new object?[] { "h", "k", "o" }, renew.Parameters);

        var refs = sql.Delete(StateSchema.NodeRefs, Where.Equal("virtual_environment_name", "dev") & Where.In("node_name", new object?[] { "a", "b" }));
        Assert.Equal("DELETE FROM \"st\".\"virtual_environment_node_refs\" WHERE \"virtual_environment_name\" = $1 AND \"node_name\" IN ($2, $3)", refs.Sql);
        Assert.Equal(new object?[] { "dev", "a", "b" }, refs.Parameters);
        Assert.Equal("DELETE FROM \"st\".\"virtual_environment_checkpoints\" WHERE 1 = 0",
            sql.Delete(StateSchema.Checkpoints, Where.In("checkpoint_id", Array.Empty<object?>())).Sql);

        var removed = sql.Select(StateSchema.RefEvents, new[] { "node_name" }, Where.IsNull("new_version_hash"),
            new[] { Order.Desc("created_at"), Order.Asc("event_id") });
        Assert.Equal("SELECT \"node_name\" FROM \"st\".\"virtual_environment_ref_events\" WHERE \"new_version_hash\" IS NULL " +
                     "ORDER BY \"created_at\" DESC, \"event_id\"", removed.Sql);
        Assert.Empty(removed.Parameters!);
        Assert.Null(sql.Select(StateSchema.Locks, new[] { "lock_key" }).Parameters);
    }

    [Fact]
    public void A_column_the_table_does_not_have_is_refused_before_any_sql_is_written()
    {
        var sql = For(AdapterKind.SqlServer);
        Assert.Throws<ArgumentException>(() => sql.Select(StateSchema.Locks, new[] { "lock_key" }, Where.Equal("lock_key; DROP TABLE x", 1)));
        Assert.Throws<ArgumentException>(() => sql.Update(StateSchema.Locks, new[] { Set.ToNow("no_such_column") }, Where.Equal("lock_key", "k")));
        Assert.Throws<ArgumentException>(() => sql.Select(StateSchema.Locks, new[] { "lock_key" }, orderBy: new[] { Order.Asc("checkpoint_id") }));
    }

    [Theory]
    [InlineData("integer", StateColumnType.Integer)]
    [InlineData("bigint", StateColumnType.Integer)]
    [InlineData("BIGINT", StateColumnType.Integer)]
    [InlineData("character varying", StateColumnType.Text)]
    [InlineData("nvarchar", StateColumnType.Text)]
    [InlineData("VARCHAR", StateColumnType.Text)]
    [InlineData("timestamp without time zone", StateColumnType.Timestamp)]
    [InlineData("datetime2", StateColumnType.Timestamp)]
    [InlineData("TIMESTAMP", StateColumnType.Timestamp)]
    public void Type_families_follow_upstream(string type, StateColumnType family) =>
        Assert.Equal(family, StateSql.Family(type));

    [Fact]
    public void One_table_list_matches_spec_section_5()
    {
        Assert.Equal(new[]
        {
            "state_versions", "state_migration_events", "model_versions", "seed_versions", "physical_relations",
            "physical_relation_ancestry", "virtual_environments", "virtual_environment_node_refs", "virtual_environment_checkpoints",
            "virtual_environment_checkpoint_refs", "virtual_environment_ref_events", "locks", "state_operations",
            "state_operation_events", "reconcile_events",
        }, StateSchema.Tables.Select(t => t.Name));
        Assert.Equal(new[] { "artifact_type", "artifact_name", "version_hash" }, StateSchema.PhysicalRelations.UniqueKey);
        Assert.Equal(new[] { "virtual_environment_name", "node_type", "node_name" }, StateSchema.NodeRefs.UniqueKey);
    }
}
