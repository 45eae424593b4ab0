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

    /// <summary>An unqualified name in a view resolves in the view's own schema. At most 2000 names per statement.</summary>
    public override SqlStatement ViewsReading(string schema, IReadOnlyList<string> names)
    {
        if (names.Count == 0) throw new ArgumentException("no relations to look up", nameof(names));
        if (names.Count > 2000) throw new ArgumentException("at most 2000 relations per dependency read on SQL Server", nameof(names));
        var list = string.Join(", ", Enumerable.Range(2, names.Count).Select(Parameter));
        return new("CATALOG VIEW DEPENDENCIES", schema, $"""
            SELECT DISTINCT vs.name AS view_schema, v.name AS view_name,
                   COALESCE(d.referenced_schema_name, vs.name) AS relation_schema, d.referenced_entity_name AS relation_name
            FROM sys.sql_expression_dependencies AS d
            JOIN sys.views AS v ON v.object_id = d.referencing_id
            JOIN sys.schemas AS vs ON vs.schema_id = v.schema_id
            WHERE d.referenced_server_name IS NULL
              AND (d.referenced_database_name IS NULL OR d.referenced_database_name = DB_NAME())
              AND COALESCE(d.referenced_schema_name, vs.name) = @p1
              AND d.referenced_entity_name IN ({list});
            """, new object?[] { schema }.Concat(names).ToArray());
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

    /// <summary><c>APPLOCK_TEST</c> (for the same principal sp_getapplock uses by default): 1 when the session lock could
    /// be granted now, that is when no other session holds it.</summary>
    public override SqlStatement ProbeAdvisoryLock(string resource) => new("APPLOCK TEST", resource,
        "SELECT APPLOCK_TEST('public', @p1, 'Exclusive', 'Session')", new object?[] { resource });

    public override SqlStatement? SessionsOfApplication(string applicationName) => new("CATALOG", "sys.dm_exec_sessions",
        "SELECT CAST(s.session_id AS bigint), s.login_name, s.status, s.last_request_start_time, LEFT(t.text, 200), " +
        "CASE WHEN s.open_transaction_count > 0 OR EXISTS (SELECT 1 FROM sys.dm_exec_requests AS r WHERE r.session_id = s.session_id) " +
        "THEN 1 ELSE 0 END FROM sys.dm_exec_sessions AS s LEFT JOIN sys.dm_exec_connections AS c ON c.session_id = s.session_id " +
        "OUTER APPLY sys.dm_exec_sql_text(c.most_recent_sql_handle) AS t " +
        "WHERE s.program_name = @p1 AND s.is_user_process = 1 AND s.session_id <> @@SPID ORDER BY 1", new object?[] { applicationName });

    /// <summary>KILL takes a literal session id: the ids are collected, then killed by one dynamic batch of
    /// <c>KILL &lt;n&gt;</c> (numbers only), and returned.</summary>
    public override SqlStatement? EndSessionsOfApplication(string applicationName) => new("KILL", applicationName,
        "DECLARE @ended TABLE (session_id int PRIMARY KEY); " +
        "INSERT INTO @ended (session_id) SELECT s.session_id FROM sys.dm_exec_sessions AS s " +
        "WHERE s.program_name = @p1 AND s.is_user_process = 1 AND s.session_id <> @@SPID; " +
        "DECLARE @kill nvarchar(max) = (SELECT STRING_AGG(CONCAT(N'KILL ', session_id), N'; ') FROM @ended); " +
        "IF @kill IS NOT NULL EXEC (@kill); " +
        "SELECT CAST(session_id AS bigint) FROM @ended ORDER BY 1", new object?[] { applicationName });

    public override bool HasPrivileges => true;

    // Object permissions on tables and views (sys.database_permissions, class 1); VIEW CHANGE TRACKING is for tables only.
    private static readonly IReadOnlySet<string> ViewPermissions = new HashSet<string>(StringComparer.Ordinal)
        { "SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES", "ALTER", "CONTROL", "TAKE OWNERSHIP", "VIEW DEFINITION" };
    private static readonly IReadOnlySet<string> TablePermissions = new HashSet<string>(ViewPermissions, StringComparer.Ordinal) { "VIEW CHANGE TRACKING" };
    private static readonly IReadOnlySet<string> ColumnPermissions = new HashSet<string>(StringComparer.Ordinal) { "SELECT", "UPDATE", "REFERENCES" };

    protected override IReadOnlySet<string> RelationPrivilegeKeywords(RelationKind kind) => kind == RelationKind.View ? ViewPermissions : TablePermissions;
    protected override IReadOnlySet<string> ColumnPrivilegeKeywords => ColumnPermissions;
    protected override string GrantObject(RelationName relation) => "OBJECT::" + Qualify(relation);
    /// <summary>In SQL Server every user is a member of the database role <c>public</c>.</summary>
    protected override string PublicGrantee => "[public]";
    protected override string GrantEnd => ";";
    protected override bool HasDeny => true;

    private const string EveryColumn = """

            UNION ALL
            SELECT CAST(r.object_id AS bigint), r.schema_name, r.relation_name, r.kind, r.owner, c.name, NULL, 0, NULL, 0, 0, USER_NAME()
            FROM rel AS r
            JOIN sys.columns AS c ON c.object_id = r.object_id
            """;

    /// <summary>
    /// The relations by name (<c>@p1</c>: a JSON array of <c>{"s": schema, "n": name}</c>) or by object_id (<c>@p2</c>: a JSON
    /// array of numbers), two parameters however many relations (SQL Server takes at most 2,100). Permissions of states
    /// G (grant), W (with grant option) and D (deny), on the object or a column; principal 0 is <c>public</c>. An owner's
    /// rights are implicit and not listed. With <paramref name="allColumns"/> a row for every column.
    /// </summary>
    public override SqlStatement RelationPrivileges(IReadOnlyCollection<RelationName> relations, IReadOnlyCollection<long> ids, bool allColumns) => new(
        "CATALOG PRIVILEGES", DialectText.RelationListTarget(relations), $"""
            WITH wanted AS (
                SELECT o.object_id
                FROM OPENJSON(@p1) WITH (schema_name sysname '$.s', relation_name sysname '$.n') AS w
                JOIN sys.schemas AS s ON s.name = w.schema_name
                JOIN sys.objects AS o ON o.schema_id = s.schema_id AND o.name = w.relation_name
                UNION
                SELECT CAST(i.value AS int) FROM OPENJSON(@p2) AS i
            ), rel AS (
                SELECT o.object_id, s.name AS schema_name, o.name AS relation_name,
                       CASE WHEN o.type = 'V' THEN 'view' ELSE 'table' END AS kind,
                       USER_NAME(COALESCE(o.principal_id, s.principal_id)) AS owner
                FROM wanted
                JOIN sys.objects AS o ON o.object_id = wanted.object_id
                JOIN sys.schemas AS s ON s.schema_id = o.schema_id
                WHERE o.type IN ('U', 'V')
            )
            SELECT CAST(r.object_id AS bigint), r.schema_name, r.relation_name, r.kind, r.owner, c.name,
                   CASE WHEN p.grantee_principal_id <> 0 THEN pr.name END, CASE WHEN p.grantee_principal_id = 0 THEN 1 ELSE 0 END,
                   p.permission_name, CASE WHEN p.state = 'W' THEN 1 ELSE 0 END, CASE WHEN p.state = 'D' THEN 1 ELSE 0 END, USER_NAME()
            FROM rel AS r
            LEFT JOIN sys.database_permissions AS p ON p.class = 1 AND p.major_id = r.object_id AND p.state IN ('G', 'W', 'D')
            LEFT JOIN sys.database_principals AS pr ON pr.principal_id = p.grantee_principal_id
            LEFT JOIN sys.columns AS c ON c.object_id = r.object_id AND c.column_id = p.minor_id{(allColumns ? EveryColumn : "")};
            """, new object?[]
        {
            System.Text.Json.JsonSerializer.Serialize(relations.Select(r => new Dictionary<string, string> { ["s"] = r.Schema, ["n"] = r.Name })),
            System.Text.Json.JsonSerializer.Serialize(ids),
        });

    private string ColumnList(IEnumerable<string> columns) => string.Join(", ", columns.Select(QuoteIdentifier));

    private string KeyMatch(IReadOnlyList<string> keys) =>
        string.Join(" AND ", keys.Select(k => $"sqb_t.{QuoteIdentifier(k)} = sqb_s.{QuoteIdentifier(k)}"));

    /// <remarks>Session-scoped on SQL Server; a pooled connection's reset (sp_reset_connection) puts it back.</remarks>
    public override SqlStatement? SetLockTimeout(int milliseconds) =>
        new("SET", "LOCK_TIMEOUT", $"SET LOCK_TIMEOUT {milliseconds.ToString(CultureInfo.InvariantCulture)}");

    public override SqlStatement? ResetLockTimeout() => new("SET", "LOCK_TIMEOUT", "SET LOCK_TIMEOUT -1");

    public override SqlStatement? SessionsLocking(IReadOnlyList<RelationName> relations)
    {
        var names = relations.Select(r => QuoteIdentifier(r.Schema) + "." + QuoteIdentifier(r.Name)).Distinct().ToList();
        var placeholders = string.Join(", ", names.Select((_, i) => $"OBJECT_ID({Parameter(i + 1)})"));
        return new("CATALOG", "sys.dm_tran_locks",
            "SELECT DISTINCT CAST(s.session_id AS bigint), s.login_name, s.program_name, s.status, s.last_request_start_time, " +
            "LEFT(t.text, 200) FROM sys.dm_tran_locks AS l JOIN sys.dm_exec_sessions AS s ON s.session_id = l.request_session_id " +
            "LEFT JOIN sys.dm_exec_connections AS c ON c.session_id = s.session_id " +
            "OUTER APPLY sys.dm_exec_sql_text(c.most_recent_sql_handle) AS t " +
            $"WHERE l.request_status = 'GRANT' AND l.resource_type = 'OBJECT' AND s.session_id <> @@SPID AND l.resource_associated_entity_id IN ({placeholders}) " +
            "ORDER BY 1", names.Cast<object?>().ToArray());
    }
}
