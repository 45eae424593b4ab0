using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// The SQL of the state store, in one dialect, generated from <see cref="StateSchema"/>: idempotent DDL
/// for initialization, and the small set of parameterized DML shapes the repositories use. Timestamps
/// come from the database's own clock in UTC, so lock expiry never depends on a client's clock.
/// </summary>
public sealed class StateSql
{
    public StateSql(SqlDialect dialect, string schema)
    {
        Dialect = dialect;
        Schema = schema;
        dialect.ValidateIdentifier(schema, "state schema");
    }

    public SqlDialect Dialect { get; }
    public string Schema { get; }
    private AdapterKind Kind => Dialect.Kind;

    public string Table(StateTable t) => Dialect.Qualify(new RelationName(Schema, t.Name));
    public string Table(string schema, StateTable t) => Dialect.Qualify(new RelationName(schema, t.Name));
    public string Col(string c) => Dialect.QuoteIdentifier(c);
    public string P(int i) => Dialect.Parameter(i);

    /// <summary>The database's current UTC time as a timestamp without time zone.</summary>
    public string Now => Kind switch
    {
        AdapterKind.Postgres => "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')",
        AdapterKind.SqlServer => "SYSUTCDATETIME()",
        _ => "CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP)",
    };

    /// <summary><see cref="Now"/> plus a whole number of seconds.</summary>
    public string NowPlus(int seconds) => Kind switch
    {
        AdapterKind.Postgres => $"({Now} + INTERVAL '{seconds} seconds')",
        AdapterKind.SqlServer => $"DATEADD(second, {seconds}, SYSUTCDATETIME())",
        _ => $"({Now} + INTERVAL {seconds} SECOND)",
    };

    public string TypeName(StateColumnType type, bool key) => (Kind, type) switch
    {
        (_, StateColumnType.Integer) => "BIGINT",
        (AdapterKind.SqlServer, StateColumnType.Text) => key ? "NVARCHAR(450)" : "NVARCHAR(MAX)",
        (AdapterKind.SqlServer, StateColumnType.Timestamp) => "DATETIME2(6)",
        (AdapterKind.DuckDb, StateColumnType.Text) => "VARCHAR",
        (_, StateColumnType.Text) => "TEXT",
        _ => "TIMESTAMP",
    };

    /// <summary>The type family a catalog type name belongs to (upstream's validation rule), or null.</summary>
    public static StateColumnType? Family(string dataType)
    {
        var t = dataType.ToLowerInvariant();
        if (t.Contains("int")) return StateColumnType.Integer;
        if (t.Contains("timestamp") || t.Contains("datetime")) return StateColumnType.Timestamp;
        if (t.Contains("text") || t.Contains("char") || t.Contains("string")) return StateColumnType.Text;
        return null;
    }

    // ------------------------------------------------------------------ DDL

    public SqlStatement CreateSchema() => Dialect.CreateSchemaIfNotExists(Schema);

    /// <summary>CREATE SCHEMA IF NOT EXISTS of another schema (a backup).</summary>
    public SqlStatement CreateSchema(string schema) => Dialect.CreateSchemaIfNotExists(schema);

    public SqlStatement CreateTable(StateTable t) => CreateTable(Schema, t);

    public SqlStatement CreateTable(string schema, StateTable t)
    {
        var cols = string.Join(", ", t.Columns.Select(c => $"{Col(c.Name)} {TypeName(c.Type, t.UniqueKey.Contains(c.Name))}"));
        var name = Table(schema, t);
        var sql = Kind == AdapterKind.SqlServer
            ? $"IF OBJECT_ID(N'{Lit(name)}', N'U') IS NULL CREATE TABLE {name} ({cols})"
            : $"CREATE TABLE IF NOT EXISTS {name} ({cols})";
        return new SqlStatement("CREATE TABLE", $"{schema}.{t.Name}", sql);
    }

    public SqlStatement AddColumn(StateTable t, StateColumn c)
    {
        var type = TypeName(c.Type, t.UniqueKey.Contains(c.Name));
        var sql = Kind == AdapterKind.SqlServer
            ? $"IF COL_LENGTH(N'{Lit(Table(t))}', N'{Lit(c.Name)}') IS NULL ALTER TABLE {Table(t)} ADD {Col(c.Name)} {type}"
            : $"ALTER TABLE {Table(t)} ADD COLUMN IF NOT EXISTS {Col(c.Name)} {type}";
        return new SqlStatement("ALTER TABLE", $"{Schema}.{t.Name}.{c.Name}", sql);
    }

    public SqlStatement CreateUniqueIndex(StateTable t) => CreateUniqueIndex(Schema, t);

    public SqlStatement CreateUniqueIndex(string schema, StateTable t)
    {
        var cols = string.Join(", ", t.UniqueKey.Select(Col));
        var name = Table(schema, t);
        var sql = Kind == AdapterKind.SqlServer
            ? $"IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'{Lit(t.IndexName)}' AND object_id = OBJECT_ID(N'{Lit(name)}')) " +
              $"CREATE UNIQUE INDEX {Col(t.IndexName)} ON {name} ({cols})"
            : $"CREATE UNIQUE INDEX IF NOT EXISTS {Col(t.IndexName)} ON {name} ({cols})";
        return new SqlStatement("CREATE INDEX", $"{schema}.{t.IndexName}", sql);
    }

    public SqlStatement DropTable(string schema, StateTable t) => Dialect.DropTableIfExists(new RelationName(schema, t.Name));

    /// <summary>CREATE TABLE backup.t AS SELECT * FROM live.t (and the reverse for restore).</summary>
    public SqlStatement CopyTable(string fromSchema, string toSchema, StateTable t) =>
        Dialect.CreateTableAs(new RelationName(toSchema, t.Name), $"SELECT * FROM {Table(fromSchema, t)}");

    /// <summary>Existing unique indexes of the state tables: rows (table_name, index_name).</summary>
    public SqlStatement Indexes(string schema) => Kind switch
    {
        AdapterKind.Postgres => new("CATALOG", schema,
            "SELECT t.relname, i.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid " +
            "JOIN pg_catalog.pg_class t ON t.oid = x.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace " +
            $"WHERE x.indisunique AND n.nspname = {P(1)}", new object?[] { schema }),
        AdapterKind.SqlServer => new("CATALOG", schema,
            "SELECT o.name, i.name FROM sys.indexes i JOIN sys.objects o ON o.object_id = i.object_id " +
            $"JOIN sys.schemas s ON s.schema_id = o.schema_id WHERE i.is_unique = 1 AND s.name = {P(1)}", new object?[] { schema }),
        _ => new("CATALOG", schema,
            $"SELECT table_name, index_name FROM duckdb_indexes() WHERE is_unique AND database_name = current_database() AND schema_name = {P(1)}",
            new object?[] { schema }),
    };

    /// <summary>Schemas whose name starts with a prefix (backups): rows (schema_name).</summary>
    public SqlStatement SchemasLike(string prefix) => Kind switch
    {
        AdapterKind.Postgres => new("CATALOG", prefix + "*",
            $"SELECT nspname FROM pg_catalog.pg_namespace WHERE left(nspname, {prefix.Length}) = {P(1)} ORDER BY nspname DESC", new object?[] { prefix }),
        AdapterKind.SqlServer => new("CATALOG", prefix + "*",
            $"SELECT name FROM sys.schemas WHERE LEFT(name, {prefix.Length}) = {P(1)} ORDER BY name DESC", new object?[] { prefix }),
        _ => new("CATALOG", prefix + "*",
            $"SELECT DISTINCT schema_name FROM duckdb_schemas() WHERE database_name = current_database() AND left(schema_name, {prefix.Length}) = {P(1)} " +
            "ORDER BY schema_name DESC", new object?[] { prefix }),
    };

    // ------------------------------------------------------------------ backups

    /// <summary>The prefix of every backup schema of this state schema: <c>&lt;schema&gt;__backup_</c>.</summary>
    public string BackupPrefix => Schema + "__backup_";

    /// <summary>The backup schema of a backup id, validated by the dialect (W002 when too long, never truncated).</summary>
    public string BackupSchema(string backupId)
    {
        var schema = BackupPrefix + backupId;
        Dialect.ValidateIdentifier(schema, "state backup schema");
        return schema;
    }

    /// <summary>
    /// Exact row counts of several tables in ONE statement: rows (ordinal, count), the ordinal being the
    /// position in <paramref name="tables"/>.
    /// </summary>
    public SqlStatement CountRows(IReadOnlyList<RelationName> tables)
    {
        if (tables.Count == 0) throw new ArgumentException("no tables to count", nameof(tables));
        var count = Kind == AdapterKind.SqlServer ? "COUNT_BIG(*)" : "COUNT(*)";
        var sql = string.Join("\nUNION ALL\n", tables.Select((t, i) =>
            $"SELECT {i.ToString(System.Globalization.CultureInfo.InvariantCulture)} AS sqb_ordinal, {count} AS sqb_rows FROM {Dialect.Qualify(t)}"));
        return new SqlStatement("COUNT", string.Join(", ", tables.Select(t => t.Schema).Distinct()), sql);
    }

    /// <summary>DELETE FROM schema.t WHERE column = value (removes one operation's own rows from a backup).</summary>
    public SqlStatement DeleteWhere(string schema, StateTable t, string column, object? value) =>
        new("DELETE", $"{schema}.{t.Name}", $"DELETE FROM {Table(schema, t)} WHERE {Col(column)} = {P(1)}", new[] { value });

    /// <summary>DELETE FROM schema.t (every row).</summary>
    public SqlStatement DeleteAll(string schema, StateTable t) => Dialect.DeleteAll(new RelationName(schema, t.Name));

    public SqlStatement DropSchema(string schema) => new("DROP SCHEMA", schema,
        $"DROP SCHEMA {Dialect.QuoteIdentifier(schema)}");

    // ------------------------------------------------------------------ DML

    /// <summary>INSERT of one row; columns named in <paramref name="nowColumns"/> take the database clock.</summary>
    public SqlStatement Insert(StateTable t, IReadOnlyList<(string Column, object? Value)> values, params string[] nowColumns) =>
        InsertWith(t, values, nowColumns.Select(c => (c, Now)).ToArray());

    /// <summary>INSERT of one row whose <paramref name="expressions"/> columns take SQL expressions built by this class (clock arithmetic).</summary>
    public SqlStatement InsertWith(StateTable t, IReadOnlyList<(string Column, object? Value)> values, IReadOnlyList<(string Column, string Expression)> expressions)
    {
        var cols = values.Select(v => Col(v.Column)).Concat(expressions.Select(e => Col(e.Column)));
        var vals = values.Select((_, i) => P(i + 1)).Concat(expressions.Select(e => e.Expression));
        return new SqlStatement("INSERT", $"{Schema}.{t.Name}",
            $"INSERT INTO {Table(t)} ({string.Join(", ", cols)}) VALUES ({string.Join(", ", vals)})",
            values.Select(v => v.Value).ToArray());
    }

    /// <summary>Most rows one statement carries (SQL Server's VALUES limit) and most parameters (under SQL Server's 2100).</summary>
    public const int MaxRowsPerStatement = 1000;
    private const int MaxParametersPerStatement = 2000;

    /// <summary>A placeholder cast to its state column's type: in a multi-row VALUES list or a SELECT list an
    /// untyped parameter (NULL) cannot take its type from the target column.</summary>
    private string Typed(StateTable t, string column, int index) =>
        $"CAST({P(index)} AS {TypeName(t.Column(column).Type, t.UniqueKey.Contains(column))})";

    /// <summary>
    /// Multi-row INSERTs of <paramref name="rows"/> (values in <paramref name="columns"/> order), as few
    /// statements as the engines' limits allow; <paramref name="nowColumns"/> take the database clock.
    /// One round trip per thousand rows instead of one per row.
    /// </summary>
    public IEnumerable<SqlStatement> InsertMany(StateTable t, IReadOnlyList<string> columns, IReadOnlyList<object?[]> rows, params string[] nowColumns)
    {
        if (rows.Count == 0) yield break;
        var perStatement = Math.Max(1, Math.Min(MaxRowsPerStatement, MaxParametersPerStatement / Math.Max(1, columns.Count)));
        var head = $"INSERT INTO {Table(t)} ({string.Join(", ", columns.Concat(nowColumns).Select(Col))}) VALUES ";
        var now = string.Concat(nowColumns.Select(_ => ", " + Now));
        for (var start = 0; start < rows.Count; start += perStatement)
        {
            var count = Math.Min(perStatement, rows.Count - start);
            var sql = new System.Text.StringBuilder(head);
            var values = new List<object?>(count * columns.Count);
            for (var r = 0; r < count; r++)
            {
                var row = rows[start + r];
                if (row.Length != columns.Count) throw new ArgumentException($"row {start + r + 1} has {row.Length} values for {columns.Count} columns", nameof(rows));
                sql.Append(r == 0 ? "(" : ", (");
                for (var c = 0; c < columns.Count; c++)
                {
                    values.Add(row[c]);
                    sql.Append(c == 0 ? "" : ", ").Append(Typed(t, columns[c], values.Count));
                }
                sql.Append(now).Append(')');
            }
            yield return new SqlStatement("INSERT", $"{Schema}.{t.Name}", sql.ToString(), values);
        }
    }

    /// <summary>
    /// INSERT of one row unless a row with the same unique key exists: one statement
    /// (<c>INSERT .. SELECT .. WHERE NOT EXISTS</c>) instead of a read and a write. Every unique-key
    /// column must be among <paramref name="values"/>.
    /// </summary>
    public SqlStatement InsertIfAbsent(StateTable t, IReadOnlyList<(string Column, object? Value)> values, params string[] nowColumns)
    {
        var index = values.Select((v, i) => (v.Column, i)).ToDictionary(x => x.Column, x => x.i + 1, StringComparer.Ordinal);
        var cols = values.Select(v => Col(v.Column)).Concat(nowColumns.Select(Col));
        var select = values.Select((v, i) => Typed(t, v.Column, i + 1)).Concat(nowColumns.Select(_ => Now));
        var key = string.Join(" AND ", t.UniqueKey.Select(k => $"{Col(k)} = {Typed(t, k, index[k])}"));
        return new SqlStatement("INSERT", $"{Schema}.{t.Name}",
            $"INSERT INTO {Table(t)} ({string.Join(", ", cols)}) SELECT {string.Join(", ", select)} " +
            $"WHERE NOT EXISTS (SELECT 1 FROM {Table(t)} WHERE {key})",
            values.Select(v => v.Value).ToArray());
    }

    /// <summary>SELECT columns FROM t [WHERE ...] [ORDER BY ...]; <paramref name="where"/> uses <see cref="P"/> placeholders.</summary>
    public SqlStatement Select(StateTable t, IReadOnlyList<string> columns, string? where = null, IReadOnlyList<object?>? parameters = null, string? orderBy = null) =>
        new("SELECT", $"{Schema}.{t.Name}",
            $"SELECT {string.Join(", ", columns.Select(Col))} FROM {Table(t)}" +
            (where is null ? "" : " WHERE " + where) + (orderBy is null ? "" : " ORDER BY " + orderBy),
            parameters);

    public SqlStatement Delete(StateTable t, string where, IReadOnlyList<object?> parameters) =>
        new("DELETE", $"{Schema}.{t.Name}", $"DELETE FROM {Table(t)} WHERE {where}", parameters);

    public SqlStatement Update(StateTable t, string set, string where, IReadOnlyList<object?> parameters) =>
        new("UPDATE", $"{Schema}.{t.Name}", $"UPDATE {Table(t)} SET {set} WHERE {where}", parameters);

    public SqlStatement Count(StateTable t) => Count(Schema, t);

    public SqlStatement Count(string schema, StateTable t) =>
        new("SELECT", $"{schema}.{t.Name}", $"SELECT COUNT(*) FROM {Table(schema, t)}");

    /// <summary>The database's current UTC time (one value), for decisions judged by the database clock.</summary>
    public SqlStatement Clock() => new("SELECT", "clock", $"SELECT {Now}");

    public SqlStatement DeleteAll(StateTable t) =>
        new("DELETE", $"{Schema}.{t.Name}", $"DELETE FROM {Table(t)}");

    /// <summary>Lock rows (all, or one key) with an is-expired flag judged by the database clock:
    /// (lock_key, owner_id, owner_host, owner_pid, operation_id, created_at, expires_at, expired 0|1).</summary>
    public SqlStatement LockRows(string? key)
    {
        var expired = $"CASE WHEN {Col("expires_at")} <= {Now} THEN 1 ELSE 0 END";
        var sql = $"SELECT {Col("lock_key")}, {Col("owner_id")}, {Col("owner_host")}, {Col("owner_pid")}, {Col("operation_id")}, " +
                  $"{Col("created_at")}, {Col("expires_at")}, {expired} FROM {Table(StateSchema.Locks)}" +
                  (key is null ? "" : $" WHERE {Col("lock_key")} = {P(1)}") + $" ORDER BY {Col("lock_key")}";
        return new SqlStatement("SELECT", $"{Schema}.locks", sql, key is null ? null : new object?[] { key });
    }

    /// <summary>Try the session-level advisory lock of <paramref name="resource"/> without waiting; returns one
    /// boolean-ish value (true / non-negative = taken). Null where the engine has none (DuckDB).</summary>
    public SqlStatement? TryAdvisoryLock(string resource, long id) => Kind switch
    {
        AdapterKind.Postgres => new("ADVISORY LOCK", resource, $"SELECT pg_try_advisory_lock({P(1)})", new object?[] { id }),
        AdapterKind.SqlServer => new("APPLOCK", resource,
            $"DECLARE @r int; EXEC @r = sp_getapplock @Resource = {P(1)}, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; SELECT @r",
            new object?[] { resource }),
        _ => null,
    };

    public SqlStatement? ReleaseAdvisoryLock(string resource, long id) => Kind switch
    {
        AdapterKind.Postgres => new("ADVISORY UNLOCK", resource, $"SELECT pg_advisory_unlock({P(1)})", new object?[] { id }),
        AdapterKind.SqlServer => new("APPLOCK RELEASE", resource,
            $"EXEC sp_releaseapplock @Resource = {P(1)}, @LockOwner = 'Session'", new object?[] { resource }),
        _ => null,
    };

    /// <summary>A predicate <c>col IN (params)</c> for a list of values starting at parameter <paramref name="first"/>.</summary>
    public string In(string column, int first, int count) =>
        count == 0 ? "1 = 0" : $"{Col(column)} IN ({string.Join(", ", Enumerable.Range(first, count).Select(P))})";

    private static string Lit(string s) => s.Replace("'", "''");
}
