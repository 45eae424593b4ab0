using Microsoft.SqlServer.TransactSql.ScriptDom;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;
using Xunit;

namespace SQLBuild.Core.Tests.State;

/// <summary>The lifecycle's SQL (StateSql): T-SQL parses with SQL Server's own parser (no SQL Server runs here),
/// and backup schema names are validated, never truncated.</summary>
public sealed class StateLifecycleSqlTests
{
    private static IEnumerable<SqlStatement> LifecycleStatements(StateSql sql)
    {
        var backup = sql.BackupSchema(Ids.NewBackupId());
        yield return sql.CreateSchema(backup);
        yield return sql.SchemasLike(sql.BackupPrefix);
        yield return sql.Indexes(sql.Schema);
        yield return sql.CountRows(StateSchema.Tables.Select(t => new RelationName(backup, t.Name)).ToList());
        foreach (var t in StateSchema.Tables)
        {
            yield return sql.CopyTable(sql.Schema, backup, t);
            yield return sql.CopyTable(backup, sql.Schema, t);
            yield return sql.DropTable(sql.Schema, t);
            yield return sql.DeleteAll(sql.Schema, t);
            if (t.UniqueKey.Count > 0) yield return sql.CreateUniqueIndex(sql.Schema, t);
        }
        yield return sql.Delete(backup, StateSchema.Operations, Where.Equal("operation_id", "state_migrate:x"));
        yield return sql.CreateTable(StateSchema.StateMigrationEvents);
    }

    [Theory]
    [InlineData("sqlbuild_state")]
    [InlineData("it's]odd")]
    public void Every_lifecycle_statement_parses_as_tsql(string schema)
    {
        var sql = new StateSql(SqlServerDialect.Instance, schema);
        var statements = LifecycleStatements(sql).ToList();
        Assert.True(statements.Count > 50);
        foreach (var s in statements)
        {
            var parser = new TSql160Parser(initialQuotedIdentifiers: true);
            parser.Parse(new StringReader(s.Sql), out var errors);
            Assert.True(errors.Count == 0, $"{s}: {string.Join("; ", errors.Select(e => e.Message))}\n{s.Sql}");
        }
    }

    [Fact]
    public void Row_counts_of_many_tables_are_one_statement_with_ordinals()
    {
        var sql = new StateSql(PostgresDialect.Instance, "st");
        var s = sql.CountRows(new[] { new RelationName("a", "t1"), new RelationName("b", "t2") });
        Assert.Equal("SELECT 0 AS sqb_ordinal, COUNT(*) AS sqb_rows FROM \"a\".\"t1\"\nUNION ALL\nSELECT 1 AS sqb_ordinal, COUNT(*) AS sqb_rows FROM \"b\".\"t2\"", s.Sql);
    }

    [Fact]
    public void A_backup_schema_name_too_long_for_postgres_is_refused_not_truncated()
    {
        var sql = new StateSql(PostgresDialect.Instance, new string('s', 40));
        var ex = Assert.Throws<SqbException>(() => sql.BackupSchema(Ids.NewBackupId()));
        Assert.Equal("W002", ex.Code);
        Assert.Equal(new string('s', 10) + "__backup_20250102T030405000006Z",
            new StateSql(PostgresDialect.Instance, new string('s', 10)).BackupSchema("20250102T030405000006Z"));
    }

    [Fact]
    public void Backup_ids_are_utc_timestamps_in_upstreams_format()
    {
        var id = Ids.NewBackupId();
        Assert.Matches(@"^\d{8}T\d{12}Z$", id);
        Assert.Equal(DateTimeKind.Utc, Ids.BackupTime(id)!.Value.Kind);
        Assert.Equal(new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(60), Ids.BackupTime("20250102T030405000006Z"));
        Assert.Null(Ids.BackupTime("manual"));
    }

    [Fact]
    public void Type_families_follow_upstream()
    {
        Assert.Equal(StateColumnType.Integer, StateSql.Family("bigint"));
        Assert.Equal(StateColumnType.Integer, StateSql.Family("INTEGER"));
        Assert.Equal(StateColumnType.Text, StateSql.Family("character varying(20)"));
        Assert.Equal(StateColumnType.Text, StateSql.Family("VARCHAR"));
        Assert.Equal(StateColumnType.Text, StateSql.Family("nvarchar"));
        Assert.Equal(StateColumnType.Timestamp, StateSql.Family("timestamp without time zone"));
        Assert.Equal(StateColumnType.Timestamp, StateSql.Family("datetime2"));
        Assert.Null(StateSql.Family("boolean"));
    }
}
