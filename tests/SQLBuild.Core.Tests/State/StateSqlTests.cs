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
    private static IEnumerable<SqlStatement> AllStatements(StateSql q)
    {
        var backup = q.Schema + "__backup_20261125T120000000000Z";
        yield return q.CreateSchema();
        foreach (var t in StateSchema.Tables)
        {
            yield return q.CreateTable(t);
            yield return q.CreateTable(backup, t);
            foreach (var c in t.Columns) yield return q.AddColumn(t, c);
            if (t.UniqueKey.Count > 0)
            {
                yield return q.CreateUniqueIndex(t);
                yield return q.CreateUniqueIndex(backup, t);
            }
            yield return q.DropTable(backup, t);
            yield return q.CopyTable(q.Schema, backup, t);
            yield return q.Count(t);
            yield return q.DeleteAll(t);
            yield return q.Select(t, t.Columns.Select(c => c.Name).ToList(), Where.Equal(t.Columns[0].Name, "x"),
                new[] { Order.Desc(t.Columns[0].Name) });
            var values = t.Columns.Where(c => c.Type != StateColumnType.Timestamp).Select(c => (c.Name, (object?)"v")).ToList();
            var stamps = t.Columns.Where(c => c.Type == StateColumnType.Timestamp).Select(c => c.Name).ToArray();
            yield return q.Insert(t, values, stamps);
            yield return q.Update(t, new[] { Set.To(t.Columns[0].Name, 1) }, Where.Equal(t.Columns[^1].Name, 2));
            yield return q.Delete(t, Where.In(t.Columns[0].Name, new object?[] { 1, 2, 3 }));
        }
        yield return q.Insert(StateSchema.Locks, new[] { Set.To("lock_key", "k"), Set.ToNowPlus("expires_at", 600), Set.ToNow("created_at") });
        yield return q.Clock();
        yield return q.LockRows(null);
        yield return q.LockRows("virtual_env:dev");
        yield return q.Indexes(q.Schema);
        yield return q.SchemasLike(q.Schema + "__backup_");
        yield return q.DropSchema(backup);
        if (q.Dialect.SupportsAdvisoryLocks)
        {
            yield return q.Dialect.TryAdvisoryLock("sqlbuild:virtual_env:dev");
            yield return q.Dialect.ReleaseAdvisoryLock("sqlbuild:virtual_env:dev");
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
        var q = For(AdapterKind.SqlServer);
        var locks = q.CreateTable(StateSchema.Locks).Sql;
        Assert.Contains("[lock_key] NVARCHAR(450)", locks);
        Assert.Contains("[owner_id] NVARCHAR(MAX)", locks);
        Assert.Contains("[expires_at] DATETIME2(6)", locks);
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
