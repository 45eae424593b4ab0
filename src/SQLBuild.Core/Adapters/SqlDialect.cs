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

    /// <summary>Whether <see cref="CreateTableAs"/> reports the rows it wrote as its affected rows (PostgreSQL's
    /// <c>SELECT n</c> tag), so no COUNT(*) needs to follow it.</summary>
    public virtual bool CreateTableAsCountsRows => false;
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

    /// <summary>One query over the given schemas returning rows (schema_name, relation_name, kind 'table'|'view', view_definition),
    /// and, where the engine records what a view reads, two more: read_schemas and read_names, parallel text arrays of the
    /// relations each view depends on (NULL for a table). Existing schemas come from <see cref="CatalogSchemas"/>.</summary>
    public abstract SqlStatement CatalogRelations(IReadOnlyList<string> schemas);
    /// <summary>As <see cref="CatalogRelations(IReadOnlyList{string})"/>; with <paramref name="viewDefinitions"/> false
    /// the view_definition column may be NULL, where an engine spends real time producing it (PostgreSQL deparses each view).</summary>
    public virtual SqlStatement CatalogRelations(IReadOnlyList<string> schemas, bool viewDefinitions) => CatalogRelations(schemas);
    /// <summary>As <see cref="CatalogRelations(IReadOnlyList{string})"/> for one schema, where only the relations named
    /// <paramref name="names"/> are needed (the caller filters: an engine may return more). PostgreSQL finds them through
    /// the name index instead of scanning every relation of the database, which a warehouse of many models makes slow.</summary>
    public virtual SqlStatement CatalogRelationsNamed(string schema, IReadOnlyList<string> names) => CatalogRelations(new[] { schema }, viewDefinitions: false);
    /// <summary>One query returning (schema_name) for those of the given schemas that exist.</summary>
    public abstract SqlStatement CatalogSchemas(IReadOnlyList<string> schemas);
    /// <summary>One query returning (schema_name, relation_name, column_name, data_type, ordinal).</summary>
    public abstract SqlStatement CatalogColumns(IReadOnlyList<string> schemas);
    /// <summary>Columns of ONE relation: rows (column_name, data_type, ordinal), ordered. For the few
    /// places that need one relation's shape while other workers change the same schema (a schema-wide
    /// catalog read may then trip over a relation dropped mid-scan).</summary>
    public abstract SqlStatement RelationColumns(RelationName relation);

    /// <summary>The columns of several relations in ONE query: rows (schema, relation, column, type, ordinal). Null where the
    /// dialect has no such form (then one <see cref="RelationColumns"/> each).</summary>
    public virtual SqlStatement? RelationsColumns(IReadOnlyList<RelationName> relations) => null;

    /// <summary>
    /// ONE query over the whole database: every view, in any schema, that reads one of the relations <paramref name="names"/>
    /// of <paramref name="schema"/>, with the relation it reads: rows (view_schema, view_name, relation_schema, relation_name).
    /// PostgreSQL and SQL Server answer from their dependency catalogs (<c>pg_depend</c>/<c>pg_rewrite</c>,
    /// <c>sys.sql_expression_dependencies</c>); DuckDB records no view dependencies, so there a view reads a relation when its
    /// definition names it. Direct reads only: a caller that needs views on views follows the pairs.
    /// </summary>
    public abstract SqlStatement ViewsReading(string schema, IReadOnlyList<string> names);

    /// <summary>True where a view is bound to the relation it reads (PostgreSQL): such a relation cannot be
    /// dropped while views read it, so a rebuild must replace its rows in place instead of swapping tables.</summary>
    public virtual bool ViewsBindToRelations => Kind == AdapterKind.Postgres;

    /// <summary>
    /// Where views bind to relations (<see cref="ViewsBindToRelations"/>): one query over (view, target) pairs returning
    /// (view_schema, view_name) of each existing view whose columns (name, type and collation, in order) are not a prefix of its
    /// target's, i.e. the views a CREATE OR REPLACE cannot repoint. The columns are compared on the server: a switch of
    /// 10,000 views transfers 10,000 names, not every column of two schemas. Null where views do not bind.
    /// </summary>
    public virtual SqlStatement? ViewsNotPrefixOf(IReadOnlyList<(RelationName View, RelationName Target)> pairs) => null;

    /// <summary>True where two transactions writing one row conflict at once instead of one waiting for the other
    /// (DuckDB's optimistic concurrency): a row lock cannot be used to fence, only a read (see <c>LockLease.Fence</c>).</summary>
    public virtual bool WritersConflictInsteadOfWaiting => false;

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
    /// <summary>Whether a parameter may carry an array that a statement unnests into rows (PostgreSQL): then one state
    /// statement writes or matches any number of rows (<see cref="UnnestRows"/>), with no limit on parameters.</summary>
    public virtual bool BindsArrays => false;

    /// <summary>A row source of the arrays bound at the given placeholders, each cast to an array of its type, zipped
    /// into rows (only where <see cref="BindsArrays"/>).</summary>
    public virtual string UnnestRows(IReadOnlyList<(int Parameter, string TypeName)> columns) =>
        throw new NotSupportedException($"{GetType().Name} does not bind arrays");

    /// <summary><c>= ANY</c> of the array bound at <paramref name="parameter"/> (only where <see cref="BindsArrays"/>).</summary>
    public virtual string EqualsAny(int parameter, string typeName) =>
        throw new NotSupportedException($"{GetType().Name} does not bind arrays");

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

    /// <summary>Tries many session-level locks in ONE statement, without waiting: rows (ordinal in <paramref name="resources"/>
    /// from 1, taken as <see cref="AdvisoryLockTaken"/> reads it). Null where the engine has no such form (then one
    /// <see cref="TryAdvisoryLock"/> each).</summary>
    public virtual SqlStatement? TryAdvisoryLocks(IReadOnlyList<string> resources) => null;

    /// <summary>Gives back many locks taken by <see cref="TryAdvisoryLocks"/> in ONE statement; null: one
    /// <see cref="ReleaseAdvisoryLock"/> each.</summary>
    public virtual SqlStatement? ReleaseAdvisoryLocks(IReadOnlyList<string> resources) => null;

    /// <summary>Whether the value <see cref="TryAdvisoryLock"/> returned means the lock was taken.</summary>
    public virtual bool AdvisoryLockTaken(object? result) =>
        throw new NotSupportedException($"{Kind} has no session-level advisory locks");

    /// <summary>
    /// Whether any session holds the session-level lock of <paramref name="resource"/>, read without taking it (PostgreSQL
    /// <c>pg_locks</c>, SQL Server <c>APPLOCK_TEST</c>): one value, 1 when the lock is free (<see cref="AdvisoryLockIsFree"/>).
    /// Read-only, so a probe never makes a concurrent <see cref="TryAdvisoryLock"/> fail.
    /// </summary>
    public virtual SqlStatement ProbeAdvisoryLock(string resource) =>
        throw new NotSupportedException($"{Kind} has no session-level advisory locks");

    /// <summary>Whether the value <see cref="ProbeAdvisoryLock"/> returned means no session holds the lock.</summary>
    public bool AdvisoryLockIsFree(object? result) => Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture) == 1;

    // ---- Server sessions of an operation (named sqlbuild/<operation id>, see SessionOptions.ApplicationName). ----

    /// <summary>
    /// The sessions, other than the caller's, that the server shows under <paramref name="applicationName"/>: rows
    /// (session id, user, state, since, query text, busy 0|1), busy meaning running a statement or inside a transaction.
    /// One catalog query (PostgreSQL <c>pg_stat_activity</c>, SQL Server <c>sys.dm_exec_sessions</c>). Null where the
    /// engine has no server sessions (DuckDB runs in the process).
    /// </summary>
    public virtual SqlStatement? SessionsOfApplication(string applicationName) => null;

    /// <summary>Ends every session, other than the caller's, that the server shows under <paramref name="applicationName"/>
    /// (PostgreSQL <c>pg_terminate_backend</c>, SQL Server <c>KILL</c>): rows (session id) of those it ended. Null where the
    /// engine has no server sessions.</summary>
    public virtual SqlStatement? EndSessionsOfApplication(string applicationName) => null;

    // ---- Privileges (SPEC §10.1): read before a relation is dropped and created again, granted again after. ----

    /// <summary>Whether relations carry privileges (PostgreSQL ACLs, SQL Server permissions). DuckDB has no GRANT at all:
    /// there is nothing to read or to give back.</summary>
    public virtual bool HasPrivileges => false;

    /// <summary>
    /// ONE query over every relation named in <paramref name="relations"/> or whose catalog id (PostgreSQL oid, SQL Server
    /// object_id) is in <paramref name="ids"/>, returning the rows <see cref="PrivilegeSnapshot.FromRows"/> reads: each
    /// relation, and every privilege granted (or denied) on it and on its columns, PUBLIC's included; the owner's rights
    /// are implicit and not listed. With <paramref name="allColumns"/> also every column's name (what a relation has),
    /// else only the columns that carry privileges. A relation that does not exist gives no row. Throws where
    /// <see cref="HasPrivileges"/> is false.
    /// </summary>
    public virtual SqlStatement RelationPrivileges(IReadOnlyCollection<RelationName> relations, IReadOnlyCollection<long> ids, bool allColumns) =>
        throw new NotSupportedException($"{Kind} has no privileges on relations");

    /// <summary>The privilege keywords a relation of <paramref name="kind"/> can carry (a keyword the catalog reports and this
    /// set lacks is never put into SQL).</summary>
    protected virtual IReadOnlySet<string> RelationPrivilegeKeywords(RelationKind kind) => EmptyKeywords;

    /// <summary>The privileges an owner holds on a relation of <paramref name="kind"/> that plain grants can give another role
    /// (PostgreSQL: every table privilege); empty where ownership is not per relation in practice (SQL Server: the schema's).
    /// A relation dropped and created by another role gives them to the old owner, so it keeps reading what it owned.</summary>
    public virtual IReadOnlyCollection<string> OwnerRights(RelationKind kind) => Array.Empty<string>();

    /// <summary>The privilege keywords a column can carry.</summary>
    protected virtual IReadOnlySet<string> ColumnPrivilegeKeywords => EmptyKeywords;

    private static readonly IReadOnlySet<string> EmptyKeywords = new HashSet<string>();

    /// <summary>Whether <paramref name="privilege"/> can be granted on a relation of <paramref name="kind"/> (or on its column).</summary>
    public bool CanGrant(RelationPrivilege privilege, RelationKind kind) =>
        (!privilege.Denied || HasDeny) && (privilege.Column is null ? RelationPrivilegeKeywords(kind) : ColumnPrivilegeKeywords).Contains(privilege.Privilege);

    /// <summary>How a GRANT names the relation (PostgreSQL <c>TABLE "s"."v"</c>, which views take too).</summary>
    protected virtual string GrantObject(RelationName relation) => "TABLE " + Qualify(relation);

    /// <summary>How a GRANT names every role: PostgreSQL's keyword <c>PUBLIC</c> (no role can have that name).</summary>
    protected virtual string PublicGrantee => "PUBLIC";

    /// <summary>Whether the engine has DENY (SQL Server); PostgreSQL has none, and never reports a denied privilege.</summary>
    protected virtual bool HasDeny => false;

    /// <summary>What ends a GRANT (SQL Server: <c>;</c>).</summary>
    protected virtual string GrantEnd => "";

    /// <summary>
    /// The statements that give <paramref name="privileges"/> on <paramref name="relation"/>: one per grantee, grant option
    /// and level (the whole relation, or its columns), GRANTs before DENYs so that a deny still wins, for example
    /// <c>GRANT SELECT, UPDATE ON TABLE "s"."v" TO "bi_reader" WITH GRANT OPTION</c> and
    /// <c>GRANT SELECT ("a", "b"), UPDATE ("a") ON TABLE "s"."v" TO PUBLIC</c>. Grantees and columns are quoted
    /// identifiers; every privilege must pass <see cref="CanGrant"/> for some kind of relation.
    /// </summary>
    public IReadOnlyList<SqlStatement> Grant(RelationName relation, IReadOnlyList<RelationPrivilege> privileges)
    {
        if (!HasPrivileges) throw new NotSupportedException($"{Kind} has no privileges on relations");
        var statements = new List<SqlStatement>();
        var groups = privileges.GroupBy(p => (p.Denied, p.Grantee, p.Grantable, Columns: p.Column is not null))
            .OrderBy(g => g.Key.Denied).ThenBy(g => g.Key.Grantee is null ? "" : g.Key.Grantee, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Grantable).ThenBy(g => g.Key.Columns);
        foreach (var group in groups)
        {
            var items = group.GroupBy(p => Keyword(p, group.Key.Columns)).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => group.Key.Columns
                    ? $"{g.Key} ({string.Join(", ", g.Select(p => p.Column!).Distinct().Order(StringComparer.Ordinal).Select(QuoteIdentifier))})"
                    : g.Key);
            var verb = group.Key.Denied ? "DENY" : "GRANT";
            var to = group.Key.Grantee is null ? PublicGrantee : QuoteIdentifier(group.Key.Grantee);
            var option = group.Key.Grantable && !group.Key.Denied ? " WITH GRANT OPTION" : "";
            statements.Add(new SqlStatement(verb, relation.ToString(),
                $"{verb} {string.Join(", ", items)} ON {GrantObject(relation)} TO {to}{option}{GrantEnd}"));
        }
        return statements;
    }

    private string Keyword(RelationPrivilege privilege, bool column)
    {
        var known = column ? ColumnPrivilegeKeywords.Contains(privilege.Privilege)
            : RelationPrivilegeKeywords(RelationKind.Table).Contains(privilege.Privilege) || RelationPrivilegeKeywords(RelationKind.View).Contains(privilege.Privilege);
        if (!known) throw new ArgumentException($"'{privilege.Privilege}' is not a privilege {Kind} grants on a {(column ? "column" : "relation")}", nameof(privilege));
        if (privilege.Denied && !HasDeny) throw new ArgumentException($"{Kind} has no DENY", nameof(privilege));
        return privilege.Privilege;
    }

    // ---- Switch transactions: short lock waits, and who is in the way. ----

    /// <summary>Bounds how long statements of the open transaction wait for a lock (PostgreSQL <c>SET LOCAL lock_timeout</c>,
    /// SQL Server <c>SET LOCK_TIMEOUT</c>), so a switch never queues readers behind it for long; null where the engine
    /// does not wait for locks (DuckDB: a conflict fails at once).</summary>
    public virtual SqlStatement? SetLockTimeout(int milliseconds) => null;

    /// <summary>Puts the lock wait back to the engine's default after a transaction that set it, where the setting outlives
    /// the transaction (SQL Server); null where it ended with it.</summary>
    public virtual SqlStatement? ResetLockTimeout() => null;

    /// <summary>
    /// Sessions other than the caller's that hold a lock on any of <paramref name="relations"/>: rows (session id, user,
    /// application, state, since, query text). One catalog query, for naming what blocked a switch. Null where the
    /// engine cannot tell.
    /// </summary>
    public virtual SqlStatement? SessionsLocking(IReadOnlyList<RelationName> relations) => null;

    /// <summary>The views (schema, name) that depend on <paramref name="relation"/> and keep it from being dropped; null where
    /// the engine cannot tell.</summary>
    public virtual SqlStatement? DependentViews(RelationName relation) => null;

    /// <summary>One row (row-level security enabled, the names of the relation's policies comma-separated or null) for a relation
    /// whose rows readers may see only in part: what a table dropped and created again would not carry. Null where the engine
    /// has no such thing or binds it to the table (SQL Server's schema-bound security policies refuse the drop).</summary>
    public virtual SqlStatement? RowSecurity(RelationName relation) => null;
}
