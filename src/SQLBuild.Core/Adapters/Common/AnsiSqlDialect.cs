using System.Text;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// What DuckDB and PostgreSQL share: double-quoted identifiers, <c>$n</c> parameters,
/// <c>CREATE OR REPLACE VIEW</c>, <c>CREATE TABLE .. AS</c>, <c>ALTER TABLE .. RENAME TO</c>, <c>MERGE</c>.
/// Every statement is generated with RESTRICT semantics (no CASCADE).
/// </summary>
public abstract class AnsiSqlDialect : SqlDialect
{
    private protected AnsiSqlDialect() { }

    /// <summary>Lowercase engine name used in messages ("postgres", "duckdb").</summary>
    protected abstract string EngineName { get; }

    public override string QuoteIdentifier(string identifier)
    {
        ValidateIdentifier(identifier, "identifier");
        return "\"" + identifier.Replace("\"", "\"\"") + "\"";
    }

    public override string Parameter(int index)
    {
        if (index < 1) throw new ArgumentOutOfRangeException(nameof(index), "parameters are 1-based");
        return "$" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public override SqlStatement CreateSchemaIfNotExists(string schema)
    {
        ValidateIdentifier(schema, "schema");
        return new("CREATE SCHEMA", schema, $"CREATE SCHEMA IF NOT EXISTS {QuoteIdentifier(schema)}");
    }

    public override SqlStatement DropSchemaIfExists(string schema)
    {
        ValidateIdentifier(schema, "schema");
        return new("DROP SCHEMA", schema, $"DROP SCHEMA IF EXISTS {QuoteIdentifier(schema)}");
    }

    public override SqlStatement CreateOrReplaceView(RelationName view, string selectSql) =>
        new("CREATE VIEW", view.ToString(), $"CREATE OR REPLACE VIEW {Qualify(view)} AS\n{DialectText.TrimQuery(selectSql)}\n");

    public override SqlStatement CreateTableAs(RelationName table, string selectSql) =>
        new("CREATE TABLE", table.ToString(), $"CREATE TABLE {Qualify(table)} AS\n{DialectText.TrimQuery(selectSql)}\n");

    public override SqlStatement CreateTable(RelationName table, IReadOnlyList<SeedColumn> columns)
    {
        DialectText.RequireNonEmpty(columns, nameof(columns));
        var cols = string.Join(", ", columns.Select(c => $"{QuoteIdentifier(c.Name)} {TypeName(c.Type)}"));
        return new("CREATE TABLE", table.ToString(), $"CREATE TABLE {Qualify(table)} ({cols})");
    }

    public override SqlStatement DropTableIfExists(RelationName table) =>
        new("DROP TABLE", table.ToString(), $"DROP TABLE IF EXISTS {Qualify(table)}");

    public override SqlStatement DropViewIfExists(RelationName view) =>
        new("DROP VIEW", view.ToString(), $"DROP VIEW IF EXISTS {Qualify(view)}");

    public override SqlStatement RenameTable(RelationName table, string newName)
    {
        ValidateIdentifier(newName, "new table name");
        return new("RENAME TABLE", table.ToString(), $"ALTER TABLE {Qualify(table)} RENAME TO {QuoteIdentifier(newName)}");
    }

    public override SqlStatement InsertFrom(RelationName target, RelationName source, IReadOnlyList<string> columns)
    {
        DialectText.RequireNonEmpty(columns, nameof(columns));
        var cols = ColumnList(columns);
        return new("INSERT", target.ToString(), $"INSERT INTO {Qualify(target)} ({cols})\nSELECT {cols} FROM {Qualify(source)}");
    }

    public override SqlStatement DeleteMatching(RelationName target, RelationName source, IReadOnlyList<string> keys)
    {
        DialectText.RequireNonEmpty(keys, nameof(keys));
        return new("DELETE", target.ToString(),
            $"DELETE FROM {Qualify(target)} AS sqb_t\nWHERE EXISTS (SELECT 1 FROM {Qualify(source)} AS sqb_s WHERE {KeyMatch(keys)})");
    }

    public override SqlStatement Merge(RelationName target, RelationName source, IReadOnlyList<string> keys, IReadOnlyList<string> columns)
    {
        DialectText.RequireNonEmpty(keys, nameof(keys));
        DialectText.RequireNonEmpty(columns, nameof(columns));
        var sb = new StringBuilder();
        sb.Append("MERGE INTO ").Append(Qualify(target)).Append(" AS sqb_t\nUSING ").Append(Qualify(source))
          .Append(" AS sqb_s\nON ").Append(KeyMatch(keys)).Append('\n');
        var updates = NonKeyColumns(keys, columns);
        if (updates.Count > 0)
            sb.Append("WHEN MATCHED THEN UPDATE SET ")
              .Append(string.Join(", ", updates.Select(c => $"{QuoteIdentifier(c)} = sqb_s.{QuoteIdentifier(c)}"))).Append('\n');
        sb.Append("WHEN NOT MATCHED THEN INSERT (").Append(ColumnList(columns)).Append(") VALUES (")
          .Append(string.Join(", ", columns.Select(c => "sqb_s." + QuoteIdentifier(c)))).Append(')');
        return new("MERGE", target.ToString(), sb.ToString());
    }

    public override SqlStatement CountRows(RelationName relation) =>
        new("COUNT", relation.ToString(), $"SELECT COUNT(*) FROM {Qualify(relation)}");

    public override SqlStatement CountQuery(string kind, string target, string selectSql, IReadOnlyList<object?>? parameters = null) =>
        new(kind, target, $"SELECT COUNT(*) FROM (\n{DialectText.TrimQuery(selectSql)}\n) AS sqb_q", parameters);

    public override SqlStatement MaxValue(RelationName relation, string column) =>
        new("MAX", relation.ToString(), $"SELECT MAX({QuoteIdentifier(column)}) FROM {Qualify(relation)}");

    public override SqlStatement CreateTableIfNotExists(RelationName table, IReadOnlyList<FamilyColumn> columns)
    {
        DialectText.RequireNonEmpty(columns, nameof(columns));
        var cols = string.Join(", ", columns.Select(c => $"{QuoteIdentifier(c.Name)} {TypeName(c.Family, c.Indexed)}"));
        return new("CREATE TABLE", table.ToString(), $"CREATE TABLE IF NOT EXISTS {Qualify(table)} ({cols})");
    }

    public override SqlStatement AddColumnIfNotExists(RelationName table, FamilyColumn column) =>
        new("ALTER TABLE", $"{table}.{column.Name}",
            $"ALTER TABLE {Qualify(table)} ADD COLUMN IF NOT EXISTS {QuoteIdentifier(column.Name)} {TypeName(column.Family, column.Indexed)}");

    public override SqlStatement CreateUniqueIndexIfNotExists(RelationName table, string index, IReadOnlyList<string> columns)
    {
        DialectText.RequireNonEmpty(columns, nameof(columns));
        return new("CREATE INDEX", $"{table.Schema}.{index}",
            $"CREATE UNIQUE INDEX IF NOT EXISTS {QuoteIdentifier(index)} ON {Qualify(table)} ({ColumnList(columns)})");
    }

    protected string ColumnList(IEnumerable<string> columns) => string.Join(", ", columns.Select(QuoteIdentifier));

    /// <summary>sqb_t.k1 = sqb_s.k1 AND ... (plain equality: a NULL key never matches, as in dbt and SQLMesh).</summary>
    protected string KeyMatch(IReadOnlyList<string> keys) =>
        string.Join(" AND ", keys.Select(k => $"sqb_t.{QuoteIdentifier(k)} = sqb_s.{QuoteIdentifier(k)}"));

    internal static List<string> NonKeyColumns(IReadOnlyList<string> keys, IReadOnlyList<string> columns)
    {
        var keySet = new HashSet<string>(keys, StringComparer.Ordinal);
        return columns.Where(c => !keySet.Contains(c)).ToList();
    }
}
