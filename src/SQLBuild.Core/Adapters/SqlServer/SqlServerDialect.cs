using System.Globalization;
using System.Text;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// SQL Server (2017+) T-SQL. Identifiers are bracket-quoted and limited to 128 characters (sysname).
/// Parameters are <c>@p1</c>, <c>@p2</c>, ... DDL that cannot take parameters (<c>sp_rename</c>,
/// <c>EXEC(N'CREATE SCHEMA ..')</c>, <c>SCHEMA_ID(N'..')</c>) carries names as N'' literals with quotes doubled.
/// <para>
/// SQL Server has no <c>CREATE TABLE .. AS</c>. <see cref="CreateTableAs"/> emits
/// <c>[WITH ctes] SELECT * INTO t FROM (query) AS sqb_q [OPTION (..)]</c> after
/// <see cref="TSqlQueryShape"/> has lifted a leading CTE list out of the query and made a top-level
/// ORDER BY legal (<c>OFFSET 0 ROWS</c>). <see cref="CountQuery"/> and views use the same shaping.
/// Limitation, as for any SQL Server view: every column of the embedded query needs a distinct name.
/// </para>
/// </summary>
public sealed class SqlServerDialect : SqlDialect
{
    public static readonly SqlServerDialect Instance = new();
    public const int MaxIdentifierChars = 128;

    public override string TruncateTo(CursorGrain grain, string expression) =>
        $"DATETRUNC({EnumNames.Snake(grain)}, {expression})";

    public override AdapterKind Kind => AdapterKind.SqlServer;
    public override int MaxIdentifierLength => MaxIdentifierChars;

    public override void ValidateIdentifier(string identifier, string what)
    {
        DialectText.ValidateCommon(identifier, what);
        if (identifier.Length > MaxIdentifierChars)
            throw DialectText.TooLong(identifier, what, identifier.Length, "characters", "sqlserver", MaxIdentifierChars);
        // SQL Server ignores trailing blanks of a delimited identifier: [a ] names the same object as [a].
        if (char.IsWhiteSpace(identifier[^1]))
            throw DialectText.Invalid(identifier, what, "it ends with a blank, which SQL Server would drop");
    }

    public override string QuoteIdentifier(string identifier)
    {
        ValidateIdentifier(identifier, "identifier");
        return "[" + identifier.Replace("]", "]]") + "]";
    }

    public override string Parameter(int index)
    {
        if (index < 1) throw new ArgumentOutOfRangeException(nameof(index), "parameters are 1-based");
        return "@p" + index.ToString(CultureInfo.InvariantCulture);
    }

    public override string TypeName(SeedColumnType type) => type switch
    {
        SeedColumnType.Integer => "BIGINT",
        SeedColumnType.Decimal => "DECIMAL(38,10)",
        SeedColumnType.Boolean => "BIT",
        SeedColumnType.Date => "DATE",
        SeedColumnType.Timestamp => "DATETIME2(7)",
        SeedColumnType.Text => "NVARCHAR(MAX)",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static string N(string value) => DialectText.Literal(value, national: true);

    /// <summary>The multi-part name as sp_rename and OBJECT_ID parse it: [s].[t], inside an N'' literal.</summary>
    private string QualifiedLiteral(RelationName relation) => N(Qualify(relation));

    public override SqlStatement CreateSchemaIfNotExists(string schema)
    {
        ValidateIdentifier(schema, "schema");
        // CREATE SCHEMA must be alone in its batch, hence EXEC of a literal.
        return new("CREATE SCHEMA", schema,
            $"IF SCHEMA_ID({N(schema)}) IS NULL EXEC({N("CREATE SCHEMA " + QuoteIdentifier(schema))});");
    }

    public override SqlStatement DropSchemaIfExists(string schema)
    {
        ValidateIdentifier(schema, "schema");
        return new("DROP SCHEMA", schema, $"DROP SCHEMA IF EXISTS {QuoteIdentifier(schema)};");
    }

    public override SqlStatement CreateOrReplaceView(RelationName view, string selectSql)
    {
        var shape = TSqlQueryShape.Analyze(selectSql);
        var option = shape.Option.Length > 0 ? "\n" + shape.Option : "";
        return new("CREATE VIEW", view.ToString(), $"CREATE OR ALTER VIEW {Qualify(view)} AS\n{shape.Prefix}{shape.Body}{option}\n");
    }

    public override SqlStatement CreateTableAs(RelationName table, string selectSql)
    {
        var shape = TSqlQueryShape.Analyze(selectSql);
        var option = shape.Option.Length > 0 ? "\n" + shape.Option : "";
        return new("CREATE TABLE", table.ToString(),
            $"{shape.Prefix}SELECT * INTO {Qualify(table)} FROM (\n{shape.Body}\n) AS sqb_q{option};");
    }

    public override SqlStatement CreateTable(RelationName table, IReadOnlyList<SeedColumn> columns)
    {
        DialectText.RequireNonEmpty(columns, nameof(columns));
        var cols = string.Join(", ", columns.Select(c => $"{QuoteIdentifier(c.Name)} {TypeName(c.Type)} NULL"));
        return new("CREATE TABLE", table.ToString(), $"CREATE TABLE {Qualify(table)} ({cols});");
    }

    public override SqlStatement DropTableIfExists(RelationName table) =>
        new("DROP TABLE", table.ToString(), $"DROP TABLE IF EXISTS {Qualify(table)};");

    public override SqlStatement DropViewIfExists(RelationName view) =>
        new("DROP VIEW", view.ToString(), $"DROP VIEW IF EXISTS {Qualify(view)};");

    public override SqlStatement RenameTable(RelationName table, string newName)
    {
        ValidateIdentifier(newName, "new table name");
        // The new name is taken literally by sp_rename (no brackets), the old one is parsed as a multi-part name.
        return new("RENAME TABLE", table.ToString(),
            $"EXEC sys.sp_rename {QualifiedLiteral(table)}, {N(newName)}, N'OBJECT';");
    }

    public override bool SupportsMoveTable => true;

    public override SqlStatement MoveTable(RelationName table, string newSchema)
    {
        ValidateIdentifier(newSchema, "schema");
        return new("MOVE TABLE", table.ToString(), $"ALTER SCHEMA {QuoteIdentifier(newSchema)} TRANSFER {Qualify(table)};");
    }

    public override SqlStatement InsertFrom(RelationName target, RelationName source, IReadOnlyList<string> columns)
    {
        DialectText.RequireNonEmpty(columns, nameof(columns));
        var cols = ColumnList(columns);
        return new("INSERT", target.ToString(), $"INSERT INTO {Qualify(target)} ({cols})\nSELECT {cols} FROM {Qualify(source)};");
    }

    public override SqlStatement DeleteMatching(RelationName target, RelationName source, IReadOnlyList<string> keys)
    {
        DialectText.RequireNonEmpty(keys, nameof(keys));
        return new("DELETE", target.ToString(),
            $"DELETE sqb_t FROM {Qualify(target)} AS sqb_t\nWHERE EXISTS (SELECT 1 FROM {Qualify(source)} AS sqb_s WHERE {KeyMatch(keys)});");
    }

    public override SqlStatement Merge(RelationName target, RelationName source, IReadOnlyList<string> keys, IReadOnlyList<string> columns)
    {
        DialectText.RequireNonEmpty(keys, nameof(keys));
        DialectText.RequireNonEmpty(columns, nameof(columns));
        var sb = new StringBuilder();
        // HOLDLOCK: without it a concurrent MERGE can insert the same key twice.
        sb.Append("MERGE INTO ").Append(Qualify(target)).Append(" WITH (HOLDLOCK) AS sqb_t\nUSING ").Append(Qualify(source))
          .Append(" AS sqb_s\nON ").Append(KeyMatch(keys)).Append('\n');
        var updates = AnsiSqlDialect.NonKeyColumns(keys, columns);
        if (updates.Count > 0)
            sb.Append("WHEN MATCHED THEN UPDATE SET ")
              .Append(string.Join(", ", updates.Select(c => $"sqb_t.{QuoteIdentifier(c)} = sqb_s.{QuoteIdentifier(c)}"))).Append('\n');
        sb.Append("WHEN NOT MATCHED BY TARGET THEN INSERT (").Append(ColumnList(columns)).Append(") VALUES (")
          .Append(string.Join(", ", columns.Select(c => "sqb_s." + QuoteIdentifier(c)))).Append(");");
        return new("MERGE", target.ToString(), sb.ToString());
    }

    public override SqlStatement CountRows(RelationName relation) =>
        new("COUNT", relation.ToString(), $"SELECT {CountAll} FROM {Qualify(relation)};");

    public override SqlStatement CountQuery(string kind, string target, string selectSql, IReadOnlyList<object?>? parameters = null)
    {
        var shape = TSqlQueryShape.Analyze(selectSql);
        var option = shape.Option.Length > 0 ? "\n" + shape.Option : "";
        return new(kind, target, $"{shape.Prefix}SELECT {CountAll} FROM (\n{shape.Body}\n) AS sqb_q{option};", parameters);
    }

    public override SqlStatement MaxValue(RelationName relation, string column) =>
        new("MAX", relation.ToString(), $"SELECT MAX({QuoteIdentifier(column)}) FROM {Qualify(relation)};");

    /// <summary>"s.name IN (@p1, @p2, ...)" with one parameter per schema; "1 = 0" for none.</summary>
    private (string Predicate, IReadOnlyList<object?> Parameters) SchemaFilter(string column, IReadOnlyList<string> schemas)
    {
        if (schemas.Count == 0) return ("1 = 0", Array.Empty<object?>());
        if (schemas.Count > 2000) throw new ArgumentException("at most 2000 schemas per catalog read on SQL Server", nameof(schemas));
        var list = string.Join(", ", Enumerable.Range(1, schemas.Count).Select(Parameter));
        return ($"{column} IN ({list})", schemas.Cast<object?>().ToArray());
    }

    public override SqlStatement CatalogRelations(IReadOnlyList<string> schemas)
    {
        var (filter, ps) = SchemaFilter("s.name", schemas);
        return new("CATALOG RELATIONS", DialectText.SchemaListTarget(schemas), $"""
            SELECT s.name AS schema_name, o.name AS relation_name,
                   CASE WHEN o.type = 'V' THEN 'view' ELSE 'table' END AS kind,
                   m.definition AS view_definition
            FROM sys.objects AS o
            JOIN sys.schemas AS s ON s.schema_id = o.schema_id
            LEFT JOIN sys.sql_modules AS m ON m.object_id = o.object_id AND o.type = 'V'
            WHERE o.type IN ('U', 'V') AND {filter};
            """, ps);
    }

    public override SqlStatement CatalogSchemas(IReadOnlyList<string> schemas)
    {
        var (filter, ps) = SchemaFilter("s.name", schemas);
        return new("CATALOG SCHEMAS", DialectText.SchemaListTarget(schemas), $"""
            SELECT s.name AS schema_name
            FROM sys.schemas AS s
            WHERE {filter};
            """, ps);
    }

    public override SqlStatement RelationColumns(RelationName relation) => new(
        "CATALOG COLUMNS", relation.ToString(), $"""
            SELECT c.name AS column_name, TYPE_NAME(c.user_type_id) AS data_type,
                   CAST(ROW_NUMBER() OVER (ORDER BY c.column_id) AS int) AS ordinal
            FROM sys.columns AS c
            JOIN sys.objects AS o ON o.object_id = c.object_id
            JOIN sys.schemas AS s ON s.schema_id = o.schema_id
            WHERE s.name = {Parameter(1)} AND o.name = {Parameter(2)}
            ORDER BY c.column_id;
            """, new object?[] { relation.Schema, relation.Name });

    public override SqlStatement CatalogColumns(IReadOnlyList<string> schemas)
    {
        var (filter, ps) = SchemaFilter("s.name", schemas);
        return new("CATALOG COLUMNS", DialectText.SchemaListTarget(schemas), $"""
            SELECT s.name AS schema_name, o.name AS relation_name, c.name AS column_name,
                   CASE
                     WHEN t.name IN ('varchar', 'char', 'varbinary', 'binary')
                       THEN t.name + '(' + CASE WHEN c.max_length = -1 THEN 'max' ELSE CAST(c.max_length AS varchar(10)) END + ')'
                     WHEN t.name IN ('nvarchar', 'nchar')
                       THEN t.name + '(' + CASE WHEN c.max_length = -1 THEN 'max' ELSE CAST(c.max_length / 2 AS varchar(10)) END + ')'
                     WHEN t.name IN ('decimal', 'numeric')
                       THEN t.name + '(' + CAST(c.precision AS varchar(10)) + ',' + CAST(c.scale AS varchar(10)) + ')'
                     WHEN t.name IN ('datetime2', 'time', 'datetimeoffset')
                       THEN t.name + '(' + CAST(c.scale AS varchar(10)) + ')'
                     ELSE t.name
                   END AS data_type,
                   CAST(ROW_NUMBER() OVER (PARTITION BY c.object_id ORDER BY c.column_id) AS int) AS ordinal
            FROM sys.columns AS c
            JOIN sys.objects AS o ON o.object_id = c.object_id
            JOIN sys.schemas AS s ON s.schema_id = o.schema_id
            JOIN sys.types AS t ON t.user_type_id = c.user_type_id
            WHERE o.type IN ('U', 'V') AND {filter};
            """, ps);
    }

    public override string UtcNow => "SYSUTCDATETIME()";

    public override string UtcNowPlus(int seconds) =>
        $"DATEADD(second, {seconds.ToString(CultureInfo.InvariantCulture)}, {UtcNow})";

    /// <summary>An indexed text column is NVARCHAR(450): 900 bytes, SQL Server's cap on a clustered index key.</summary>
    public override string TypeName(ColumnFamily family, bool indexed) => family switch
    {
        ColumnFamily.Integer => "BIGINT",
        ColumnFamily.Text => indexed ? "NVARCHAR(450)" : "NVARCHAR(MAX)",
        ColumnFamily.Timestamp => "DATETIME2(6)",
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, null),
    };

    public override SqlStatement CreateTableIfNotExists(RelationName table, IReadOnlyList<FamilyColumn> columns)
    {
        DialectText.RequireNonEmpty(columns, nameof(columns));
        var cols = string.Join(", ", columns.Select(c => $"{QuoteIdentifier(c.Name)} {TypeName(c.Family, c.Indexed)}"));
        return new("CREATE TABLE", table.ToString(),
            $"IF OBJECT_ID({QualifiedLiteral(table)}, N'U') IS NULL CREATE TABLE {Qualify(table)} ({cols})");
    }

    public override SqlStatement AddColumnIfNotExists(RelationName table, FamilyColumn column)
    {
        var quoted = QuoteIdentifier(column.Name); // validates before the name goes into a literal
        return new("ALTER TABLE", $"{table}.{column.Name}",
            $"IF COL_LENGTH({QualifiedLiteral(table)}, {N(column.Name)}) IS NULL " +
            $"ALTER TABLE {Qualify(table)} ADD {quoted} {TypeName(column.Family, column.Indexed)}");
    }

    public override SqlStatement CreateUniqueIndexIfNotExists(RelationName table, string index, IReadOnlyList<string> columns)
    {
        DialectText.RequireNonEmpty(columns, nameof(columns));
        var quoted = QuoteIdentifier(index); // validates before the name goes into a literal
        return new("CREATE INDEX", $"{table.Schema}.{index}",
            $"IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = {N(index)} AND object_id = OBJECT_ID({QualifiedLiteral(table)})) " +
            $"CREATE UNIQUE INDEX {quoted} ON {Qualify(table)} ({ColumnList(columns)})");
    }

    public override SqlStatement UniqueIndexes(string schema) => new("CATALOG", schema,
        "SELECT o.name, i.name FROM sys.indexes i JOIN sys.objects o ON o.object_id = i.object_id " +
        "JOIN sys.schemas s ON s.schema_id = o.schema_id WHERE i.is_unique = 1 AND s.name = @p1", new object?[] { schema });

    public override SqlStatement SchemasWithPrefix(string prefix) => new("CATALOG", prefix + "*",
        $"SELECT name FROM sys.schemas WHERE LEFT(name, {prefix.Length.ToString(CultureInfo.InvariantCulture)}) = @p1 ORDER BY name DESC",
        new object?[] { prefix });

    /// <summary>Under the default collation SQL Server compares names without case.</summary>
    public override StringComparer CatalogNameComparer => StringComparer.OrdinalIgnoreCase;

    protected override string CountAll => "COUNT_BIG(*)";

    public override bool SupportsAdvisoryLocks => true;

    /// <summary><c>sp_getapplock</c> owned by the session, not waiting; returns its result code.</summary>
    public override SqlStatement TryAdvisoryLock(string resource) => new("APPLOCK", resource,
        "DECLARE @r int; EXEC @r = sp_getapplock @Resource = @p1, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; SELECT @r",
        new object?[] { resource });

    public override SqlStatement ReleaseAdvisoryLock(string resource) => new("APPLOCK RELEASE", resource,
        "EXEC sp_releaseapplock @Resource = @p1, @LockOwner = 'Session'", new object?[] { resource });

    /// <summary>sp_getapplock returns 0 or 1 when granted, a negative code otherwise.</summary>
    public override bool AdvisoryLockTaken(object? result) => Convert.ToInt64(result, CultureInfo.InvariantCulture) >= 0;

    private string ColumnList(IEnumerable<string> columns) => string.Join(", ", columns.Select(QuoteIdentifier));

    private string KeyMatch(IReadOnlyList<string> keys) =>
        string.Join(" AND ", keys.Select(k => $"sqb_t.{QuoteIdentifier(k)} = sqb_s.{QuoteIdentifier(k)}"));
}
