using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>A schema-qualified relation name, unquoted. Quoting is the dialect's job.</summary>
public sealed record RelationName(string Schema, string Name)
{
    public override string ToString() => $"{Schema}.{Name}";
}

public enum RelationKind { Table, View }

/// <summary>
/// One relation as the warehouse catalog reports it. For a view, what it reads: the relations its stored dependencies
/// name (<see cref="ViewReads"/>, where the engine keeps them: PostgreSQL), else its definition's text
/// (<see cref="ViewDefinition"/>: DuckDB keeps no dependencies, SQL Server's text is cheap to read).
/// </summary>
public sealed record CatalogRelation(string Schema, string Name, RelationKind Kind, string? ViewDefinition,
    IReadOnlyList<RelationName>? ViewReads = null)
{
    public RelationName Relation => new(Schema, Name);

    /// <summary>Whether this is a view that reads <paramref name="relation"/>: by the engine's dependency record where
    /// there is one; else by its definition naming the relation (its unique versioned name and its schema).</summary>
    public bool Reads(RelationName relation)
    {
        if (Kind != RelationKind.View) return false;
        if (ViewReads is { } reads) return reads.Contains(relation);
        return ViewDefinition is { } def &&
               def.Contains(relation.Name, StringComparison.OrdinalIgnoreCase) &&
               def.Contains(relation.Schema, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether this is a view that reads anything in <paramref name="schema"/> (as <see cref="Reads"/> decides).</summary>
    public bool ReadsFrom(string schema)
    {
        if (Kind != RelationKind.View) return false;
        if (ViewReads is { } reads) return reads.Any(r => string.Equals(r.Schema, schema, StringComparison.Ordinal));
        return ViewDefinition is { } def && def.Contains(schema, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether this is a view that reads a relation named <paramref name="name"/> in any schema.</summary>
    public bool ReadsRelationNamed(string name)
    {
        if (Kind != RelationKind.View) return false;
        if (ViewReads is { } reads) return reads.Any(r => string.Equals(r.Name, name, StringComparison.Ordinal));
        return ViewDefinition is { } def && def.Contains(name, StringComparison.OrdinalIgnoreCase);
    }
}

public sealed record CatalogColumn(string Schema, string Relation, string Name, string DataType, int Ordinal);

/// <summary>
/// What one set-based catalog read saw: every table and view in the asked schemas (and, when asked,
/// their columns). Lookups are exact on the names as stored.
/// </summary>
public sealed class CatalogSnapshot
{
    private readonly Dictionary<RelationName, CatalogRelation> _relations;
    private readonly Dictionary<RelationName, List<CatalogColumn>> _columns;

    public CatalogSnapshot(IEnumerable<string> existingSchemas, IEnumerable<CatalogRelation> relations,
        IEnumerable<CatalogColumn>? columns = null)
    {
        Schemas = new HashSet<string>(existingSchemas, StringComparer.Ordinal);
        _relations = new Dictionary<RelationName, CatalogRelation>();
        foreach (var r in relations) _relations[r.Relation] = r;
        _columns = new Dictionary<RelationName, List<CatalogColumn>>();
        foreach (var c in columns ?? Array.Empty<CatalogColumn>())
        {
            var key = new RelationName(c.Schema, c.Relation);
            if (!_columns.TryGetValue(key, out var list)) _columns[key] = list = new List<CatalogColumn>();
            list.Add(c);
        }
        foreach (var list in _columns.Values) list.Sort((a, b) => a.Ordinal.CompareTo(b.Ordinal));
    }

    /// <summary>The asked schemas that exist.</summary>
    public IReadOnlySet<string> Schemas { get; }
    public IReadOnlyCollection<CatalogRelation> Relations => _relations.Values;

    public CatalogRelation? Find(RelationName name) => _relations.TryGetValue(name, out var r) ? r : null;
    public bool Exists(RelationName name) => _relations.ContainsKey(name);

    public IReadOnlyList<CatalogColumn> ColumnsOf(RelationName name) =>
        _columns.TryGetValue(name, out var list) ? list : Array.Empty<CatalogColumn>();
}

/// <summary>
/// One SQL statement with what the verbose log shows of it: <see cref="Kind"/> ("CREATE VIEW",
/// "DROP TABLE", "AUDIT", ...) and <see cref="Target"/> (the relation it touches). Values travel in
/// <see cref="Parameters"/> (positional, matching <see cref="SqlDialect.Parameter"/> placeholders),
/// never inside <see cref="Sql"/>.
/// </summary>
public sealed record SqlStatement(string Kind, string Target, string Sql, IReadOnlyList<object?>? Parameters = null)
{
    public override string ToString() => $"{Kind} {Target}";
}

public interface IWarehouseTransaction : IDisposable
{
    void Commit();
    void Rollback();
}

/// <summary>
/// One open connection. Not thread-safe: each parallel worker opens its own session.
/// While a transaction from <see cref="BeginTransaction"/> is open, every statement of the session runs in it.
/// Driver errors surface as <see cref="Errors.SqbException"/> (W0xx) with the statement kind and target,
/// the driver's message redacted, never the connection string.
/// </summary>
public interface IWarehouseSession : IDisposable
{
    SqlDialect Dialect { get; }
    /// <summary>The session's <see cref="SessionOptions.Cancellation"/>: what a caller that waits between statements (a retry)
    /// waits on, so that a stop ends the wait too.</summary>
    CancellationToken Cancellation => CancellationToken.None;
    int Execute(SqlStatement statement);
    object? ExecuteScalar(SqlStatement statement);
    IReadOnlyList<object?[]> Query(SqlStatement statement);

    /// <summary>
    /// Runs <paramref name="statements"/> in order, in ONE round trip where the engine takes a batch (PostgreSQL:
    /// one <c>NpgsqlBatch</c>); elsewhere one after the other. Inside an open transaction they join it; without one, the
    /// batch is all or nothing where it is one round trip (PostgreSQL runs it as one implicit transaction). The verbose
    /// log shows <c>BATCH &lt;n&gt;</c> and then each statement's kind and target; the first failing statement is named
    /// in the error. Returns the rows each statement affected.
    /// </summary>
    IReadOnlyList<int> ExecuteBatch(IReadOnlyList<SqlStatement> statements);

    /// <summary>
    /// <see cref="ExecuteBatch"/> with <paramref name="query"/> after the statements, in the same round trip where the engine
    /// takes a batch: for a read that depends on what the statements just made (the columns of a table just created).
    /// Returns the rows each statement affected and the query's rows. Logged and failing as <see cref="ExecuteBatch"/>.
    /// </summary>
    (IReadOnlyList<int> Affected, IReadOnlyList<object?[]> Rows) ExecuteBatchThenQuery(IReadOnlyList<SqlStatement> statements, SqlStatement query);

    /// <summary>Whether <see cref="ExecuteBatch"/> outside a transaction runs its statements as ONE transaction, all or nothing
    /// (PostgreSQL: one round trip, one implicit transaction). Elsewhere a batch that must be atomic needs a transaction of
    /// its own (<see cref="SessionExtensions.ExecuteAtomically"/>).</summary>
    bool BatchesAreAtomic { get; }

    IWarehouseTransaction BeginTransaction();

    /// <summary>Reads the catalog of the given schemas with one set-based query (plus one for columns
    /// when <paramref name="includeColumns"/>), never one query per relation. Without
    /// <paramref name="viewDefinitions"/> a view's definition may be left out (cheaper where the engine
    /// deparses it); existence and kind are always there.</summary>
    CatalogSnapshot ReadCatalog(IReadOnlyCollection<string> schemas, bool includeColumns = false, bool viewDefinitions = true);

    /// <summary>The relations among <paramref name="names"/> that exist in <paramref name="schema"/> (kind, no view
    /// definitions or columns), in one query that finds them by name: for a caller that needs a known set of relations
    /// out of a schema that may hold many more. The snapshot's <see cref="CatalogSnapshot.Schemas"/> is not read (empty).</summary>
    CatalogSnapshot ReadCatalogNamed(string schema, IReadOnlyCollection<string> names);

    /// <summary>Inserts rows with parameterized, batched statements (seeds).</summary>
    void InsertRows(RelationName table, IReadOnlyList<string> columns, IReadOnlyList<object?[]> rows);
}

/// <summary>How a session is opened: whose work it does, and how its statements end.</summary>
public sealed record SessionOptions
{
    public static readonly SessionOptions Default = new();

    /// <summary>The operation the session works for. The server shows the session as <c>sqlbuild/&lt;operation id&gt;</c>
    /// (PostgreSQL <c>application_name</c>, SQL Server <c>Application Name</c>), so a DBA can see and end our work,
    /// and a later run can find what a crashed one left running. Null: plain <c>sqlbuild</c>.</summary>
    public string? OperationId { get; init; }

    /// <summary>A connection of its own that is closed, never returned to a pool, when the session ends: for
    /// sessions that hold session-level locks (a lease's advisory lock, a version latch), so the lock ends with them.</summary>
    public bool Dedicated { get; init; }

    /// <summary>When cancelled, the running statement is cancelled on the server and the call throws
    /// <see cref="OperationCanceledException"/>; no further statement starts.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Seconds a statement may run (0 = no limit); null: the connection's <c>command_timeout</c>.</summary>
    public int? CommandTimeoutSeconds { get; init; }

    /// <summary>The name the server shows for a session of this operation.</summary>
    public string ApplicationName => OperationId is null ? "sqlbuild" : "sqlbuild/" + OperationId;
}

/// <summary>A configured warehouse (one connection setting) that opens sessions.</summary>
public interface IWarehouse
{
    SqlDialect Dialect { get; }
    /// <summary>Safe to print: adapter and non-secret keys.</summary>
    string Description { get; }
    IWarehouseSession OpenSession(SessionOptions? options = null);
}
