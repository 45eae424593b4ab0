using System.Globalization;
using System.Text;
using SQLBuild.Core.Adapters;

namespace SQLBuild.Core.State;

/// <summary>
/// The SQL of the state store, generated from <see cref="StateSchema"/>: idempotent DDL for
/// initialization, and the small set of parameterized DML shapes the repositories use. Callers name
/// columns and values (<see cref="Where"/>, <see cref="Set"/>, <see cref="Order"/>); only this class
/// writes SQL text, quoting every identifier and binding every value as a parameter. What differs
/// between engines (the UTC clock, type names, DDL guards, catalog reads) comes from the
/// <see cref="SqlDialect"/>, so no statement here depends on which engine it is.
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

    private static RelationName Relation(string schema, StateTable t) => new(schema, t.Name);
    private string Table(string schema, StateTable t) => Dialect.Qualify(Relation(schema, t));
    private string Table(StateTable t) => Table(Schema, t);
    private string Target(string schema, StateTable t) => $"{schema}.{t.Name}";

    /// <summary>A column of <paramref name="t"/>, quoted; a name the table does not have is a bug, refused here.</summary>
    private string Col(StateTable t, string column) =>
        t.Columns.Any(c => c.Name == column)
            ? Dialect.QuoteIdentifier(column)
            : throw new ArgumentException($"state table {t.Name} has no column {column}", nameof(column));

    private static ColumnFamily FamilyOf(StateColumnType type) => type switch
    {
        StateColumnType.Integer => ColumnFamily.Integer,
        StateColumnType.Text => ColumnFamily.Text,
        StateColumnType.Timestamp => ColumnFamily.Timestamp,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static FamilyColumn Definition(StateTable t, StateColumn c) =>
        new(c.Name, FamilyOf(c.Type), t.UniqueKey.Contains(c.Name));

    private string TypeName(StateTable t, string column) => Dialect.TypeName(FamilyOf(t.Column(column).Type), t.UniqueKey.Contains(column));

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

    public SqlStatement CreateTable(string schema, StateTable t) =>
        Dialect.CreateTableIfNotExists(Relation(schema, t), t.Columns.Select(c => Definition(t, c)).ToList());

    public SqlStatement AddColumn(StateTable t, StateColumn c) => Dialect.AddColumnIfNotExists(Relation(Schema, t), Definition(t, c));

    public SqlStatement CreateUniqueIndex(StateTable t) => CreateUniqueIndex(Schema, t);

    public SqlStatement CreateUniqueIndex(string schema, StateTable t) =>
        Dialect.CreateUniqueIndexIfNotExists(Relation(schema, t), t.IndexName, t.UniqueKey);

    public SqlStatement DropTable(string schema, StateTable t) => Dialect.DropTableIfExists(Relation(schema, t));

    /// <summary>CREATE TABLE backup.t AS SELECT * FROM live.t (and the reverse for restore).</summary>
    public SqlStatement CopyTable(string fromSchema, string toSchema, StateTable t) =>
        Dialect.CreateTableAs(Relation(toSchema, t), Dialect.SelectAll(Relation(fromSchema, t)));

    /// <summary>Existing unique indexes of the state tables: rows (table_name, index_name).</summary>
    public SqlStatement Indexes(string schema) => Dialect.UniqueIndexes(schema);

    /// <summary>Schemas whose name starts with a prefix (backups): rows (schema_name), descending.</summary>
    public SqlStatement SchemasLike(string prefix) => Dialect.SchemasWithPrefix(prefix);

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
    public SqlStatement CountRows(IReadOnlyList<RelationName> tables) => Dialect.CountRowsOfEach(tables);

    /// <summary>DELETE FROM schema.t (every row).</summary>
    public SqlStatement DeleteAll(string schema, StateTable t) => Dialect.DeleteAll(Relation(schema, t));

    public SqlStatement DropSchema(string schema) => new("DROP SCHEMA", schema,
        $"DROP SCHEMA {Dialect.QuoteIdentifier(schema)}");

    // ------------------------------------------------------------------ DML

    /// <summary>The positional parameters of one statement, numbered in the order the SQL text names them.</summary>
    private sealed class Parameters
    {
        private readonly SqlDialect _dialect;
        public Parameters(SqlDialect dialect) => _dialect = dialect;
        public List<object?> Values { get; } = new();

        public string Add(object? value)
        {
            Values.Add(value);
            return _dialect.Parameter(Values.Count);
        }

        /// <summary>Binds a value and returns its position (for an array the dialect casts).</summary>
        public int AddIndex(object? value)
        {
            Values.Add(value);
            return Values.Count;
        }
    }

    private string Render(StateValue value, Parameters parameters) => value switch
    {
        StateValue.Parameter p => parameters.Add(p.Value),
        StateValue.Clock { Seconds: 0 } => Dialect.UtcNow,
        StateValue.Clock c => Dialect.UtcNowPlus(c.Seconds),
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    private string Render(StateTable t, Where where, Parameters parameters) => where switch
    {
        Where.ColumnCompare c => $"{Col(t, c.Column)} {Operator(c.Operator)} {Render(c.Value, parameters)}",
        Where.ColumnIn { Values.Count: 0 } => "1 = 0",
        Where.ColumnIn i when Dialect.BindsArrays && i.Values.Count > ArrayInThreshold && t.Column(i.Column).Type == StateColumnType.Text
                              && i.Values.All(v => v is string) =>
            $"{Col(t, i.Column)} {Dialect.EqualsAny(parameters.AddIndex(i.Values.Cast<string>().ToArray()), TypeName(t, i.Column))}",
        Where.ColumnIn i => $"{Col(t, i.Column)} IN ({string.Join(", ", i.Values.Select(parameters.Add))})",
        Where.ColumnNotIn { Values.Count: 0 } => "1 = 1",
        Where.ColumnNotIn n => $"({Col(t, n.Column)} IS NULL OR {Col(t, n.Column)} NOT IN ({string.Join(", ", n.Values.Select(parameters.Add))}))",
        Where.ColumnIsNull n => $"{Col(t, n.Column)} IS NULL",
        Where.AllOf all => string.Join(" AND ", all.Parts.Select(p => Render(t, p, parameters))),
        _ => throw new ArgumentOutOfRangeException(nameof(where), where, null),
    };

    private static string Operator(Where.Comparison comparison) => comparison switch
    {
        Where.Comparison.Equal => "=",
        Where.Comparison.AtMost => "<=",
        Where.Comparison.After => ">",
        Where.Comparison.AtLeast => ">=",
        _ => throw new ArgumentOutOfRangeException(nameof(comparison), comparison, null),
    };

    private string OrderBy(StateTable t, IReadOnlyList<Order>? orderBy) =>
        orderBy is null || orderBy.Count == 0 ? "" :
        " ORDER BY " + string.Join(", ", orderBy.Select(o => Col(t, o.Column) + (o.Descending ? " DESC" : "")));

    /// <summary>INSERT of one row; columns named in <paramref name="nowColumns"/> take the database clock.</summary>
    public SqlStatement Insert(StateTable t, IReadOnlyList<(string Column, object? Value)> values, params string[] nowColumns) =>
        Insert(t, values.Select(v => Set.To(v.Column, v.Value)).Concat(nowColumns.Select(Set.ToNow)).ToList());

    /// <summary>INSERT of one row, each column taking a value or the database clock (an expiry: clock plus seconds).</summary>
    public SqlStatement Insert(StateTable t, IReadOnlyList<Set> values)
    {
        var parameters = new Parameters(Dialect);
        var rendered = values.Select(v => Render(v.Value, parameters)).ToList();
        return new SqlStatement("INSERT", Target(Schema, t),
            $"INSERT INTO {Table(t)} ({string.Join(", ", values.Select(v => Col(t, v.Column)))}) VALUES ({string.Join(", ", rendered)})",
            parameters.Values);
    }

    /// <summary>Most rows one statement carries (SQL Server's VALUES limit) and most parameters (under SQL Server's 2100).</summary>
    public const int MaxRowsPerStatement = 1000;
    private const int MaxParametersPerStatement = 2000;

    /// <summary>A placeholder cast to its state column's type: in a multi-row VALUES list or a SELECT list an
    /// untyped parameter (NULL) cannot take its type from the target column.</summary>
    private string Typed(StateTable t, string column, int index) =>
        $"CAST({Dialect.Parameter(index)} AS {TypeName(t, column)})";

    /// <summary>
    /// Multi-row INSERTs of <paramref name="rows"/> (values in <paramref name="columns"/> order), as few
    /// statements as the engines' limits allow; <paramref name="nowColumns"/> take the database clock.
    /// One round trip per thousand rows instead of one per row.
    /// </summary>
    public IEnumerable<SqlStatement> InsertMany(StateTable t, IReadOnlyList<string> columns, IReadOnlyList<object?[]> rows, params string[] nowColumns)
    {
        if (rows.Count == 0) yield break;
        if (AsArrays(t, columns))
        {
            var (source, arrays) = Rows(t, columns, rows, arrays: true);
            yield return new SqlStatement("INSERT", Target(Schema, t),
                $"INSERT INTO {Table(t)} ({string.Join(", ", columns.Concat(nowColumns).Select(c => Col(t, c)))}) " +
                $"SELECT {string.Join(", ", columns.Select(c => "v." + Col(t, c)).Concat(nowColumns.Select(_ => Dialect.UtcNow)))} FROM {source}", arrays);
            yield break;
        }
        var perStatement = Math.Max(1, Math.Min(MaxRowsPerStatement, MaxParametersPerStatement / Math.Max(1, columns.Count)));
        var head = $"INSERT INTO {Table(t)} ({string.Join(", ", columns.Concat(nowColumns).Select(c => Col(t, c)))}) VALUES ";
        var now = string.Concat(nowColumns.Select(_ => ", " + Dialect.UtcNow));
        for (var start = 0; start < rows.Count; start += perStatement)
        {
            var count = Math.Min(perStatement, rows.Count - start);
            var sql = new StringBuilder(head);
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
            yield return new SqlStatement("INSERT", Target(Schema, t), sql.ToString(), values);
        }
    }

    /// <summary>An IN list longer than this binds one array where the dialect can (<see cref="SqlDialect.BindsArrays"/>).</summary>
    private const int ArrayInThreshold = 20;

    /// <summary>Most values one IN list carries: any number where they travel as one array, else a statement's limit.</summary>
    public int MaxInValues => Dialect.BindsArrays ? int.MaxValue : MaxRowsPerStatement;

    /// <summary>Whether <paramref name="rows"/> can travel as one array per column (<see cref="SqlDialect.BindsArrays"/>): text and
    /// integer columns only (a timestamp's kind would decide its meaning).</summary>
    private bool AsArrays(StateTable t, IReadOnlyList<string> columns) =>
        Dialect.BindsArrays && columns.All(c => t.Column(c).Type is StateColumnType.Text or StateColumnType.Integer);

    private static object ColumnArray(StateTable t, string column, IReadOnlyList<object?[]> rows, int index) => t.Column(column).Type switch
    {
        StateColumnType.Integer => rows.Select(r => r[index] is null ? (long?)null : Convert.ToInt64(r[index], CultureInfo.InvariantCulture)).ToArray(),
        _ => rows.Select(r => r[index] is null ? null : Convert.ToString(r[index], CultureInfo.InvariantCulture)).ToArray(),
    };

    /// <summary>The rows as one statement's row source <c>v</c> with the columns' names: unnested arrays (one parameter per
    /// column), or a VALUES list.</summary>
    private (string Source, List<object?> Values) Rows(StateTable t, IReadOnlyList<string> columns, IReadOnlyList<object?[]> rows, bool arrays)
    {
        for (var r = 0; r < rows.Count; r++)
            if (rows[r].Length != columns.Count) throw new ArgumentException($"row {r + 1} has {rows[r].Length} values for {columns.Count} columns", nameof(rows));
        var names = string.Join(", ", columns.Select(c => Col(t, c)));
        var values = new List<object?>();
        if (arrays)
        {
            for (var c = 0; c < columns.Count; c++) values.Add(ColumnArray(t, columns[c], rows, c));
            return ($"{Dialect.UnnestRows(columns.Select((c, i) => (i + 1, TypeName(t, c))).ToList())} AS v ({names})", values);
        }
        var sql = new StringBuilder("(VALUES ");
        for (var r = 0; r < rows.Count; r++)
        {
            sql.Append(r == 0 ? "(" : ", (");
            for (var c = 0; c < columns.Count; c++)
            {
                values.Add(rows[r][c]);
                sql.Append(c == 0 ? "" : ", ").Append(Typed(t, columns[c], values.Count));
            }
            sql.Append(')');
        }
        return (sql.Append($") AS v ({names})").ToString(), values);
    }

    /// <summary>
    /// INSERT of many rows, each unless a row with the same unique key exists (the set-based form of
    /// <see cref="InsertIfAbsent"/>): ONE statement per table where arrays bind (PostgreSQL, any number of rows), else as few
    /// as the engine's limits allow. Every unique-key column must be among <paramref name="columns"/>; the rows must not
    /// repeat a key.
    /// </summary>
    public IEnumerable<SqlStatement> InsertManyIfAbsent(StateTable t, IReadOnlyList<string> columns, IReadOnlyList<object?[]> rows, params string[] nowColumns)
    {
        if (rows.Count == 0) yield break;
        var arrays = AsArrays(t, columns);
        var perStatement = arrays ? rows.Count : Math.Max(1, Math.Min(MaxRowsPerStatement, MaxParametersPerStatement / Math.Max(1, columns.Count)));
        var insert = $"INSERT INTO {Table(t)} ({string.Join(", ", columns.Concat(nowColumns).Select(c => Col(t, c)))}) " +
                     $"SELECT {string.Join(", ", columns.Select(c => "v." + Col(t, c)).Concat(nowColumns.Select(_ => Dialect.UtcNow)))} FROM ";
        var key = string.Join(" AND ", t.UniqueKey.Select(k => $"s.{Col(t, k)} = v.{Col(t, k)}"));
        for (var start = 0; start < rows.Count; start += perStatement)
        {
            var chunk = rows.Skip(start).Take(perStatement).ToList();
            var (source, values) = Rows(t, columns, chunk, arrays);
            yield return new SqlStatement("INSERT", Target(Schema, t),
                $"{insert}{source} WHERE NOT EXISTS (SELECT 1 FROM {Table(t)} s WHERE {key})", values);
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
        var cols = values.Select(v => Col(t, v.Column)).Concat(nowColumns.Select(c => Col(t, c)));
        var select = values.Select((v, i) => Typed(t, v.Column, i + 1)).Concat(nowColumns.Select(_ => Dialect.UtcNow));
        var key = string.Join(" AND ", t.UniqueKey.Select(k => $"{Col(t, k)} = {Typed(t, k, index[k])}"));
        return new SqlStatement("INSERT", Target(Schema, t),
            $"INSERT INTO {Table(t)} ({string.Join(", ", cols)}) SELECT {string.Join(", ", select)} " +
            $"WHERE NOT EXISTS (SELECT 1 FROM {Table(t)} WHERE {key})",
            values.Select(v => v.Value).ToArray());
    }

    /// <summary>SELECT columns FROM t [WHERE ...] [ORDER BY ...].</summary>
    public SqlStatement Select(StateTable t, IReadOnlyList<string> columns, Where? where = null, IReadOnlyList<Order>? orderBy = null)
    {
        var parameters = new Parameters(Dialect);
        var condition = where is null ? "" : " WHERE " + Render(t, where, parameters);
        return new("SELECT", Target(Schema, t),
            $"SELECT {string.Join(", ", columns.Select(c => Col(t, c)))} FROM {Table(t)}{condition}{OrderBy(t, orderBy)}",
            where is null ? null : parameters.Values);
    }

    /// <summary>DELETE FROM t WHERE ...</summary>
    public SqlStatement Delete(StateTable t, Where where) => Delete(Schema, t, where);

    /// <summary>DELETE FROM schema.t WHERE ... (another schema: a backup's own rows of one operation).</summary>
    public SqlStatement Delete(string schema, StateTable t, Where where)
    {
        var parameters = new Parameters(Dialect);
        var condition = Render(t, where, parameters);
        return new("DELETE", Target(schema, t), $"DELETE FROM {Table(schema, t)} WHERE {condition}", parameters.Values);
    }

    /// <summary>UPDATE t SET ... WHERE ...; the SET list's parameters come first.</summary>
    public SqlStatement Update(StateTable t, IReadOnlyList<Set> set, Where where)
    {
        var parameters = new Parameters(Dialect);
        var assignments = string.Join(", ", set.Select(assignment => $"{Col(t, assignment.Column)} = {Render(assignment.Value, parameters)}"));
        var condition = Render(t, where, parameters);
        return new("UPDATE", Target(Schema, t), $"UPDATE {Table(t)} SET {assignments} WHERE {condition}", parameters.Values);
    }

    public SqlStatement Count(StateTable t) => Count(Schema, t);

    public SqlStatement Count(string schema, StateTable t) =>
        new("SELECT", Target(schema, t), $"SELECT COUNT(*) FROM {Table(schema, t)}");

    /// <summary>SELECT COUNT(*) FROM t WHERE ...</summary>
    public SqlStatement Count(StateTable t, Where where)
    {
        var parameters = new Parameters(Dialect);
        var condition = Render(t, where, parameters);
        return new("SELECT", Target(Schema, t), $"SELECT COUNT(*) FROM {Table(t)} WHERE {condition}", parameters.Values);
    }

    /// <summary>The database's current UTC time (one value), for decisions judged by the database clock.</summary>
    public SqlStatement Clock() => new("SELECT", "clock", $"SELECT {Dialect.UtcNow}");

    public SqlStatement DeleteAll(StateTable t) =>
        new("DELETE", Target(Schema, t), $"DELETE FROM {Table(t)}");

    /// <summary>Lock rows (all, or one key) with an is-expired flag and the time, both by the database clock:
    /// (lock_key, owner_id, owner_host, owner_pid, operation_id, created_at, expires_at, expired 0|1, updated_at, now).</summary>
    public SqlStatement LockRows(string? key)
    {
        var t = StateSchema.Locks;
        var parameters = new Parameters(Dialect);
        var expired = $"CASE WHEN {Render(t, Where.AtMost("expires_at", StateValue.Now), parameters)} THEN 1 ELSE 0 END";
        var columns = new[] { "lock_key", "owner_id", "owner_host", "owner_pid", "operation_id", "created_at", "expires_at" }.Select(c => Col(t, c));
        var condition = key is null ? "" : " WHERE " + Render(t, Where.Equal("lock_key", key), parameters);
        return new SqlStatement("SELECT", Target(Schema, t),
            $"SELECT {string.Join(", ", columns)}, {expired}, {Col(t, "updated_at")}, {Dialect.UtcNow} FROM {Table(t)}{condition}" +
            OrderBy(t, new[] { Order.Asc("lock_key") }),
            key is null ? null : parameters.Values);
    }
}
