using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// Everything engine-specific about SQL text: quoting, limits, DDL and DML shapes, catalog queries.
/// Pure: generates <see cref="SqlStatement"/>s, never touches a connection, so every statement can be
/// unit-tested (and, for SQL Server, parsed with ScriptDom).
/// Every identifier passes through <see cref="QuoteIdentifier"/>, which validates it and refuses
/// a name longer than <see cref="MaxIdentifierLength"/> (W002) instead of truncating.
/// No statement ever uses CASCADE.
/// </summary>
public abstract class SqlDialect
{
    public abstract AdapterKind Kind { get; }

    /// <summary>PostgreSQL 63 (bytes, UTF-8), SQL Server 128 (characters), DuckDB: no practical limit.</summary>
    public abstract int MaxIdentifierLength { get; }

    /// <summary>Validates (non-empty, no control characters, within the length limit) and quotes.</summary>
    public abstract string QuoteIdentifier(string identifier);

    /// <summary>Throws W002 when <paramref name="identifier"/> exceeds the limit, W003 when it is not a usable identifier.
    /// <paramref name="what"/> names it in the message ("physical relation name", "schema", ...).</summary>
    public abstract void ValidateIdentifier(string identifier, string what);

    /// <summary><c>SELECT * FROM relation</c>: the body of every logical view, and of a table copied whole.</summary>
    public string SelectAll(RelationName relation) => $"SELECT * FROM {Qualify(relation)}";

    /// <summary>The relation as the engine must name it in a statement: <c>"schema"."name"</c> (DuckDB adds its catalog
    /// where a two-part name would be ambiguous, see <see cref="DuckDbDialect"/>).</summary>
    public virtual string Qualify(RelationName relation) =>
        QuoteIdentifier(relation.Schema) + "." + QuoteIdentifier(relation.Name);

    /// <summary>Placeholder for the 1-based positional parameter <paramref name="index"/>.</summary>
    public abstract string Parameter(int index);

    /// <summary>Database type name for a seed column type.</summary>
    public abstract string TypeName(SeedColumnType type);

    public abstract SqlStatement CreateSchemaIfNotExists(string schema);
    public abstract SqlStatement CreateOrReplaceView(RelationName view, string selectSql);
    public abstract SqlStatement CreateTableAs(RelationName table, string selectSql);
    public abstract SqlStatement CreateTable(RelationName table, IReadOnlyList<SeedColumn> columns);
    public abstract SqlStatement DropTableIfExists(RelationName table);
    public abstract SqlStatement DropViewIfExists(RelationName view);
    /// <summary>Renames within the same schema.</summary>
    public abstract SqlStatement RenameTable(RelationName table, string newName);
    /// <summary>INSERT INTO target (cols) SELECT cols FROM source.</summary>
    public abstract SqlStatement InsertFrom(RelationName target, RelationName source, IReadOnlyList<string> columns);
    /// <summary>DELETE FROM target WHERE the key columns match a row of source.</summary>
    public abstract SqlStatement DeleteMatching(RelationName target, RelationName source, IReadOnlyList<string> keys);
    /// <summary>Upsert source into target on keys: update the other columns, insert new rows.</summary>
    public abstract SqlStatement Merge(RelationName target, RelationName source, IReadOnlyList<string> keys, IReadOnlyList<string> columns);
    /// <summary>SELECT COUNT(*) FROM relation.</summary>
    public abstract SqlStatement CountRows(RelationName relation);
    /// <summary>SELECT COUNT(*) FROM (selectSql) AS q — the failing-row count of an audit or data test.</summary>
    public abstract SqlStatement CountQuery(string kind, string target, string selectSql, IReadOnlyList<object?>? parameters = null);
    /// <summary>SELECT MAX(column) FROM relation.</summary>
    public abstract SqlStatement MaxValue(RelationName relation, string column);

    /// <summary>One query over the given schemas returning rows (schema_name, relation_name, kind 'table'|'view', view_definition).
    /// Existing schemas come from <see cref="CatalogSchemas"/>.</summary>
    public abstract SqlStatement CatalogRelations(IReadOnlyList<string> schemas);
    /// <summary>As <see cref="CatalogRelations(IReadOnlyList{string})"/>; with <paramref name="viewDefinitions"/> false
    /// the view_definition column may be NULL, where an engine spends real time producing it (PostgreSQL deparses each view).</summary>
    public virtual SqlStatement CatalogRelations(IReadOnlyList<string> schemas, bool viewDefinitions) => CatalogRelations(schemas);
    /// <summary>One query returning (schema_name) for those of the given schemas that exist.</summary>
    public abstract SqlStatement CatalogSchemas(IReadOnlyList<string> schemas);
    /// <summary>One query returning (schema_name, relation_name, column_name, data_type, ordinal).</summary>
    public abstract SqlStatement CatalogColumns(IReadOnlyList<string> schemas);
    /// <summary>Columns of ONE relation: rows (column_name, data_type, ordinal), ordered. For the few
    /// places that need one relation's shape while other workers change the same schema (a schema-wide
    /// catalog read may then trip over a relation dropped mid-scan).</summary>
    public abstract SqlStatement RelationColumns(RelationName relation);

    /// <summary>True where a view is bound to the relation it reads (PostgreSQL): such a relation cannot be
    /// dropped while views read it, so a rebuild must replace its rows in place instead of swapping tables.</summary>
    public virtual bool ViewsBindToRelations => Kind == AdapterKind.Postgres;

    /// <summary>DELETE FROM table (transactional everywhere, unlike TRUNCATE on some engines).</summary>
    public virtual SqlStatement DeleteAll(RelationName table) =>
        new("DELETE", table.ToString(), $"DELETE FROM {Qualify(table)}");

    /// <summary>The rows of <paramref name="selectSql"/> newer than the target's current maximum cursor
    /// (all rows while the target is empty); with a <paramref name="grain"/>, the rows from the start of the grain the
    /// maximum falls in (the last hour, day, ... again).</summary>
    public virtual string IncrementalDelta(string selectSql, string cursor, RelationName target, CursorGrain? grain = null)
    {
        var c = QuoteIdentifier(cursor);
        var bound = grain is { } g
            ? $">= (SELECT {TruncateTo(g, $"MAX({c})")} FROM {Qualify(target)})"
            : $"> (SELECT MAX({c}) FROM {Qualify(target)})";
        // The user's query may end in a -- comment: keep it on its own lines.
        return $"SELECT * FROM (\n{selectSql}\n) AS sqb_src WHERE sqb_src.{c} {bound} " +
               $"OR NOT EXISTS (SELECT 1 FROM {Qualify(target)} WHERE {c} IS NOT NULL)";
    }

    /// <summary>A timestamp expression truncated to the start of its <paramref name="grain"/> (<c>date_trunc</c>;
    /// SQL Server 2022 <c>DATETRUNC</c>).</summary>
    public virtual string TruncateTo(CursorGrain grain, string expression) =>
        $"date_trunc('{EnumNames.Snake(grain)}', {expression})";

    // ---- Additive members (adapters branch). Virtual, so existing subclasses keep compiling. ----

    /// <summary>
    /// The statements that replace a view whose column list may have changed, to run in one transaction.
    /// DuckDB and SQL Server replace in place (<see cref="CreateOrReplaceView"/>). PostgreSQL's
    /// <c>CREATE OR REPLACE VIEW</c> refuses to drop, rename or retype columns, so it drops the view
    /// (never CASCADE: a dependent object makes it fail instead) and creates it again.
    /// </summary>
    public virtual IReadOnlyList<SqlStatement> ReplaceViewStatements(RelationName view, string selectSql) =>
        new[] { CreateOrReplaceView(view, selectSql) };

    /// <summary><c>DROP SCHEMA IF EXISTS</c>, never CASCADE: fails while the schema still holds relations.</summary>
    public virtual SqlStatement DropSchemaIfExists(string schema) =>
        throw new NotSupportedException($"{Kind} dialect cannot drop schemas");

    /// <summary>Whether <see cref="MoveTable"/> moves a table to another schema natively (DuckDB cannot: copy instead).</summary>
    public virtual bool SupportsMoveTable => false;

    /// <summary>Moves a table to another schema keeping its name (PostgreSQL <c>ALTER TABLE .. SET SCHEMA</c>,
    /// SQL Server <c>ALTER SCHEMA .. TRANSFER</c>). Throws <see cref="NotSupportedException"/> when
    /// <see cref="SupportsMoveTable"/> is false.</summary>
    public virtual SqlStatement MoveTable(RelationName table, string newSchema) =>
        throw new NotSupportedException($"{Kind} cannot move a table to another schema; copy it instead");

    // ---- Bookkeeping tables (the state store): the database clock, idempotent DDL, catalog reads, session locks. ----

    /// <summary>The database's current UTC time as a timestamp without time zone: an SQL expression, so
    /// every timestamp (and every expiry decision) follows one clock, never a client's.</summary>
    public abstract string UtcNow { get; }

    /// <summary><see cref="UtcNow"/> plus a whole number of seconds (an SQL expression).</summary>
    public abstract string UtcNowPlus(int seconds);

    /// <summary>Database type name of a bookkeeping column family; <paramref name="indexed"/> bounds a text
    /// column where the engine caps the size of an index key.</summary>
    public abstract string TypeName(ColumnFamily family, bool indexed);

    /// <summary>CREATE TABLE unless a table of that name exists (an existing table is left as it is).</summary>
    public abstract SqlStatement CreateTableIfNotExists(RelationName table, IReadOnlyList<FamilyColumn> columns);

    /// <summary>ALTER TABLE .. ADD a column unless the table has it.</summary>
    public abstract SqlStatement AddColumnIfNotExists(RelationName table, FamilyColumn column);

    /// <summary>CREATE UNIQUE INDEX <paramref name="index"/> ON table (columns) unless the table has an index of that name.</summary>
    public abstract SqlStatement CreateUniqueIndexIfNotExists(RelationName table, string index, IReadOnlyList<string> columns);

    /// <summary>The unique indexes of the tables of one schema: rows (table_name, index_name).</summary>
    public abstract SqlStatement UniqueIndexes(string schema);

    /// <summary>The schemas whose name starts with <paramref name="prefix"/>: rows (schema_name), newest name first (descending).</summary>
    public abstract SqlStatement SchemasWithPrefix(string prefix);

    /// <summary>How the catalog compares the names it holds (a table or index name read back from it).</summary>
    public abstract StringComparer CatalogNameComparer { get; }

    /// <summary>The exact row-count aggregate of a SELECT list (wide enough for any table).</summary>
    protected virtual string CountAll => "COUNT(*)";

    /// <summary>
    /// Exact row counts of several tables in ONE statement: rows (ordinal, count), the ordinal being the
    /// position in <paramref name="tables"/>.
    /// </summary>
    public SqlStatement CountRowsOfEach(IReadOnlyList<RelationName> tables)
    {
        if (tables.Count == 0) throw new ArgumentException("no tables to count", nameof(tables));
        var sql = string.Join("\nUNION ALL\n", tables.Select((t, i) =>
            $"SELECT {i.ToString(System.Globalization.CultureInfo.InvariantCulture)} AS sqb_ordinal, {CountAll} AS sqb_rows FROM {Qualify(t)}"));
        return new SqlStatement("COUNT", string.Join(", ", tables.Select(t => t.Schema).Distinct()), sql);
    }

    /// <summary>Whether the engine has session-level advisory locks (PostgreSQL advisory locks, SQL Server applocks);
    /// DuckDB has none. <see cref="TryAdvisoryLock"/> and <see cref="ReleaseAdvisoryLock"/> throw without them.</summary>
    public virtual bool SupportsAdvisoryLocks => false;

    /// <summary>Tries the exclusive session-level lock of <paramref name="resource"/> without waiting: one value,
    /// which <see cref="AdvisoryLockTaken"/> reads. The lock ends with the session at the latest.</summary>
    public virtual SqlStatement TryAdvisoryLock(string resource) =>
        throw new NotSupportedException($"{Kind} has no session-level advisory locks");

    /// <summary>Gives back a session-level lock taken by <see cref="TryAdvisoryLock"/>.</summary>
    public virtual SqlStatement ReleaseAdvisoryLock(string resource) =>
        throw new NotSupportedException($"{Kind} has no session-level advisory locks");

    /// <summary>Whether the value <see cref="TryAdvisoryLock"/> returned means the lock was taken.</summary>
    public virtual bool AdvisoryLockTaken(object? result) =>
        throw new NotSupportedException($"{Kind} has no session-level advisory locks");
}
