using System.Data.Common;
using System.Text;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// The part of a session every ADO.NET driver shares: command execution with the session's open
/// transaction, verbose logging of kind and target, error translation, batched parameterized inserts.
/// Only System.Data.Common types appear here, so loading it never loads a driver.
/// </summary>
internal abstract class DbWarehouseSession : IWarehouseSession
{
    private readonly DbConnection _connection;
    private Transaction? _transaction;
    private bool _disposed;

    private readonly CancellationToken _cancel;

    protected DbWarehouseSession(DbConnection connection, SqlDialect dialect, ISqbLog log, int commandTimeoutSeconds, SessionOptions? options)
    {
        _connection = connection;
        Dialect = dialect;
        Log = log;
        options ??= SessionOptions.Default;
        CommandTimeoutSeconds = options.CommandTimeoutSeconds ?? commandTimeoutSeconds;
        _cancel = options.Cancellation;
    }

    public SqlDialect Dialect { get; }
    public CancellationToken Cancellation => _cancel;
    protected ISqbLog Log { get; }
    protected int CommandTimeoutSeconds { get; }
    protected DbConnection Connection => _connection;

    /// <summary>Most parameters one statement may carry (SQL Server 2100, PostgreSQL 65535).</summary>
    protected abstract int MaxParametersPerStatement { get; }
    /// <summary>Most rows one INSERT .. VALUES may carry (SQL Server 1000).</summary>
    protected virtual int MaxRowsPerInsert => 1000;

    protected abstract void BindParameters(DbCommand command, IReadOnlyList<object?> parameters);
    protected abstract WarehouseErrorClass Classify(Exception driverError);
    /// <summary>The driver's message as users should read it (redacted by the caller).</summary>
    protected virtual string DriverMessage(Exception driverError) => driverError.Message;

    private SqbException Failed(SqlStatement statement, Exception e) =>
        WarehouseErrors.SqlFailed(statement, e, Classify(e), DriverMessage(e));

    /// <summary>Whether <paramref name="e"/> came from the driver or the server (wrapped as W010) rather than from a bug.
    /// InvalidOperationException counts: drivers use it for a broken connection or a transaction the server already ended.</summary>
    protected virtual bool IsDriverError(Exception e) =>
        e is DbException or InvalidCastException or NotSupportedException or TimeoutException or OverflowException or InvalidOperationException;

    public int Execute(SqlStatement statement) => Run(statement, c => c.ExecuteNonQuery());

    public object? ExecuteScalar(SqlStatement statement) => Run(statement, c =>
    {
        var value = c.ExecuteScalar();
        return value is DBNull ? null : value;
    });

    public IReadOnlyList<object?[]> Query(SqlStatement statement) => Run(statement, c =>
    {
        using var reader = c.ExecuteReader();
        return (IReadOnlyList<object?[]>)ReadRows(reader);
    });

    /// <summary>Whether <see cref="ExecuteBatch"/> sends one ADO.NET <see cref="DbBatch"/> (one round trip); otherwise it runs the
    /// statements one after the other (an in-process engine has no round trip to save).</summary>
    protected virtual bool SendsBatches => false;

    /// <summary>A batch the driver sends in one round trip runs as one implicit transaction; one statement after another does not.</summary>
    public bool BatchesAreAtomic => SendsBatches;

    /// <summary>Binds positional parameters to one command of a batch (engines with <see cref="SendsBatches"/>).</summary>
    protected virtual void BindParameters(DbBatchCommand command, IReadOnlyList<object?> parameters) =>
        throw new NotSupportedException("this engine does not send batches");

    /// <summary>The rows one command of a batch wrote or returned (a CREATE TABLE AS: the rows it wrote).</summary>
    protected virtual int RowsOf(DbBatchCommand command) => Math.Max(0, command.RecordsAffected);

    public IReadOnlyList<int> ExecuteBatch(IReadOnlyList<SqlStatement> statements)
    {
        ArgumentNullException.ThrowIfNull(statements);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (statements.Count == 0) return Array.Empty<int>();
        if (statements.Count == 1 || !SendsBatches) return statements.Select(Execute).ToList();
        return SendBatch(statements, null).Affected;
    }

    public (IReadOnlyList<int> Affected, IReadOnlyList<object?[]> Rows) ExecuteBatchThenQuery(IReadOnlyList<SqlStatement> statements, SqlStatement query)
    {
        ArgumentNullException.ThrowIfNull(statements);
        ArgumentNullException.ThrowIfNull(query);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (statements.Count == 0 || !SendsBatches) return (ExecuteBatch(statements), Query(query));
        var sent = SendBatch(statements.Append(query).ToList(), statements.Count);
        return (sent.Affected.Take(statements.Count).ToList(), sent.Rows);
    }

    private static List<object?[]> ReadRows(DbDataReader reader)
    {
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Sends <paramref name="statements"/> as one batch; with <paramref name="rowsOf"/> (the index of its last statement, the
    /// only one that returns rows), that statement's rows.</summary>
    private (IReadOnlyList<int> Affected, IReadOnlyList<object?[]> Rows) SendBatch(IReadOnlyList<SqlStatement> statements, int? rowsOf)
    {
        Log.Verbose($"BATCH {statements.Count}");
        using var batch = _connection.CreateBatch();
        batch.Timeout = CommandTimeoutSeconds;
        batch.Transaction = _transaction?.DbTransaction;
        foreach (var statement in statements)
        {
            ArgumentNullException.ThrowIfNull(statement);
            Log.Verbose($"{statement.Kind} {statement.Target}");
            var command = batch.CreateBatchCommand();
            command.CommandText = statement.Sql;
            if (statement.Parameters is { Count: > 0 } ps) BindParameters(command, ps);
            batch.BatchCommands.Add(command);
        }
        _cancel.ThrowIfCancellationRequested();
        // One round trip: one statement boundary.
        Faults.KillPoints.Statement();
        using var cancelling = _cancel.CanBeCanceled ? _cancel.Register(() => CancelQuietly(batch)) : default;
        try
        {
            IReadOnlyList<object?[]> rows = Array.Empty<object?[]>();
            if (rowsOf is not null)
            {
                // Drivers differ on whether a statement without rows has a result of its own: the query's rows are those of
                // the last result with columns (it is the last statement, and the only one that returns any).
                using var reader = batch.ExecuteReader();
                do
                {
                    if (reader.FieldCount > 0) rows = ReadRows(reader);
                } while (reader.NextResult());
            }
            else batch.ExecuteNonQuery();
            return (batch.BatchCommands.Cast<DbBatchCommand>().Select(RowsOf).ToList(), rows);
        }
        catch (Exception e) when (_cancel.IsCancellationRequested && e is not OperationCanceledException)
        {
            throw new OperationCanceledException($"BATCH of {statements.Count} was cancelled", e, _cancel);
        }
        catch (Exception e) when (IsDriverError(e))
        {
            // The statement the server refused, where the driver says which (the batch stopped there; nothing after it ran);
            // otherwise the batch, with the kinds it held (the driver's message names the object).
            var at = e is DbException { BatchCommand: { } failed } ? batch.BatchCommands.IndexOf(failed) : -1;
            throw Failed(at >= 0 ? statements[at] : new SqlStatement("BATCH",
                $"of {statements.Count} ({string.Join(", ", statements.GroupBy(s => s.Kind).Select(g => $"{g.Count()} {g.Key}"))})", ""), e);
        }
    }

    private void CancelQuietly(DbBatch batch)
    {
        try { batch.Cancel(); }
        catch (Exception e) { Log.Verbose($"could not cancel the running batch: {Redaction.Redact(e.Message)}"); }
    }

    protected T Run<T>(SqlStatement statement, Func<DbCommand, T> action)
    {
        ArgumentNullException.ThrowIfNull(statement);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Log.Verbose($"{statement.Kind} {statement.Target}");
        using var command = _connection.CreateCommand();
        command.CommandText = statement.Sql;
        command.CommandTimeout = CommandTimeoutSeconds;
        command.Transaction = _transaction?.DbTransaction;
        if (statement.Parameters is { Count: > 0 } ps) BindParameters(command, ps);
        _cancel.ThrowIfCancellationRequested();
        Faults.KillPoints.Statement();
        // Ctrl+C (or a lost lease) cancels the statement on the server, not only the wait for it.
        using var cancelling = _cancel.CanBeCanceled ? _cancel.Register(() => CancelQuietly(command)) : default;
        try
        {
            return action(command);
        }
        catch (Exception e) when (_cancel.IsCancellationRequested && e is not OperationCanceledException)
        {
            throw new OperationCanceledException($"{statement.Kind} {statement.Target} was cancelled", e, _cancel);
        }
        catch (Exception e) when (IsDriverError(e))
        {
            throw Failed(statement, e);
        }
    }

    private void CancelQuietly(DbCommand command)
    {
        try { command.Cancel(); }
        catch (Exception e) { Log.Verbose($"could not cancel the running statement: {Redaction.Redact(e.Message)}"); }
    }

    public IWarehouseTransaction BeginTransaction()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_transaction is not null) throw new InvalidOperationException("a transaction is already open on this session");
        var statement = new SqlStatement("BEGIN", "transaction", "BEGIN");
        Log.Verbose("BEGIN transaction");
        try
        {
            _transaction = new Transaction(this, _connection.BeginTransaction());
        }
        catch (Exception e) when (IsDriverError(e))
        {
            throw Failed(statement, e);
        }
        return _transaction;
    }

    public CatalogSnapshot ReadCatalog(IReadOnlyCollection<string> schemas, bool includeColumns = false, bool viewDefinitions = true)
    {
        ArgumentNullException.ThrowIfNull(schemas);
        var list = schemas.Distinct(StringComparer.Ordinal).ToList();
        if (list.Count == 0) return new CatalogSnapshot(Array.Empty<string>(), Array.Empty<CatalogRelation>());
        // A relation dropped by another session while the catalog is read can fail the read (PostgreSQL's
        // pg_get_viewdef is not MVCC-safe). Parallel workers and concurrent builds do exactly that, so such a
        // read is retried; inside a transaction it cannot be (the error aborted the transaction).
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return ReadCatalogOnce(list, includeColumns, viewDefinitions);
            }
            catch (SqbException e) when (_transaction is null && attempt < 10 && e.InnerException is { } driver && IsConcurrentDdlRace(driver))
            {
                Log.Verbose($"catalog read raced a concurrent drop; retrying ({attempt})");
                Thread.Sleep(10 * attempt);
                // Npgsql closes the connection after this internal error; the session has no open transaction, so
                // a fresh connection is equivalent (sessions that hold session-level locks never read the catalog).
                if (_connection.State != System.Data.ConnectionState.Open)
                {
                    try
                    {
                        _connection.Close();
                        _connection.Open();
                    }
                    catch (Exception reopen) when (IsDriverError(reopen))
                    {
                        // Report the catalog error, not the reconnect's.
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
                    }
                }
            }
        }
    }

    public CatalogSnapshot ReadCatalogNamed(string schema, IReadOnlyCollection<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var wanted = names.ToHashSet(StringComparer.Ordinal);
        if (wanted.Count == 0) return new CatalogSnapshot(Array.Empty<string>(), Array.Empty<CatalogRelation>());
        var relations = Query(Dialect.CatalogRelationsNamed(schema, wanted.ToList()))
            .Where(r => string.Equals((string)r[0]!, schema, StringComparison.Ordinal) && wanted.Contains((string)r[1]!))
            .Select(r => new CatalogRelation((string)r[0]!, (string)r[1]!,
                string.Equals((string)r[2]!, "view", StringComparison.Ordinal) ? RelationKind.View : RelationKind.Table, null))
            .ToList();
        return new CatalogSnapshot(Array.Empty<string>(), relations);
    }

    /// <summary>Whether a catalog read failed only because a relation it saw was dropped meanwhile.</summary>
    protected virtual bool IsConcurrentDdlRace(Exception driverError) => false;

    private CatalogSnapshot ReadCatalogOnce(List<string> list, bool includeColumns, bool viewDefinitions)
    {

        var existing = Query(Dialect.CatalogSchemas(list)).Select(r => (string)r[0]!).ToList();
        var relations = Query(Dialect.CatalogRelations(list, viewDefinitions)).Select(r => new CatalogRelation(
            (string)r[0]!, (string)r[1]!,
            string.Equals((string)r[2]!, "view", StringComparison.Ordinal) ? RelationKind.View : RelationKind.Table,
            r[3] as string, r.Length > 5 ? ViewReads(r[4], r[5]) : null)).ToList();
        List<CatalogColumn>? columns = null;
        if (includeColumns)
            columns = Query(Dialect.CatalogColumns(list)).Select(r => new CatalogColumn(
                (string)r[0]!, (string)r[1]!, (string)r[2]!, (string)r[3]!, Convert.ToInt32(r[4], System.Globalization.CultureInfo.InvariantCulture))).ToList();
        return new CatalogSnapshot(existing, relations, columns);
    }

    /// <summary>The relations a view reads, from the two parallel name arrays of a dialect that reads its dependencies.</summary>
    private static IReadOnlyList<RelationName>? ViewReads(object? schemas, object? names) =>
        schemas is string[] s && names is string[] n ? s.Zip(n, (schema, name) => new RelationName(schema, name)).ToArray()
        : schemas is null or DBNull && names is null or DBNull ? null : Array.Empty<RelationName>();

    /// <summary>Text of the placeholder for one value; PostgreSQL adds a cast to the column type.</summary>
    protected virtual Func<int, int, string> PreparePlaceholders(RelationName table, IReadOnlyList<string> columns) =>
        (parameterIndex, _) => Dialect.Parameter(parameterIndex);

    public void InsertRows(RelationName table, IReadOnlyList<string> columns, IReadOnlyList<object?[]> rows)
    {
        ArgumentNullException.ThrowIfNull(table);
        DialectText.RequireNonEmpty(columns, nameof(columns));
        ArgumentNullException.ThrowIfNull(rows);
        for (var r = 0; r < rows.Count; r++)
            if (rows[r] is null || rows[r].Length != columns.Count)
                throw new ArgumentException($"row {r + 1} has {rows[r]?.Length ?? 0} values for {columns.Count} columns", nameof(rows));
        if (rows.Count == 0) return;

        var head = $"INSERT INTO {Dialect.Qualify(table)} ({string.Join(", ", columns.Select(Dialect.QuoteIdentifier))}) VALUES ";
        var placeholder = PreparePlaceholders(table, columns);
        var rowsPerStatement = Math.Max(1, Math.Min(MaxRowsPerInsert, MaxParametersPerStatement / columns.Count));

        // Several statements: all or nothing. Inside the caller's transaction they simply join it.
        using var own = _transaction is null && rows.Count > rowsPerStatement ? BeginTransaction() : null;
        for (var start = 0; start < rows.Count; start += rowsPerStatement)
        {
            var count = Math.Min(rowsPerStatement, rows.Count - start);
            var sql = new StringBuilder(head);
            var values = new List<object?>(count * columns.Count);
            for (var r = 0; r < count; r++)
            {
                sql.Append(r == 0 ? "(" : ", (");
                var row = rows[start + r];
                for (var c = 0; c < columns.Count; c++)
                {
                    if (c > 0) sql.Append(", ");
                    values.Add(row[c]);
                    sql.Append(placeholder(values.Count, c));
                }
                sql.Append(')');
            }
            Run(new SqlStatement("INSERT", table.ToString(), sql.ToString(), values), cmd => cmd.ExecuteNonQuery());
        }
        own?.Commit();
    }

    protected virtual void OnDispose() { }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { _transaction?.Dispose(); }
        finally
        {
            OnDispose();
            _connection.Dispose();
        }
    }

    private sealed class Transaction : IWarehouseTransaction
    {
        private readonly DbWarehouseSession _session;
        private bool _done;

        public Transaction(DbWarehouseSession session, DbTransaction transaction)
        {
            _session = session;
            DbTransaction = transaction;
        }

        public DbTransaction DbTransaction { get; }

        public void Commit()
        {
            if (_done) throw new InvalidOperationException("the transaction has already been committed or rolled back");
            _session.Log.Verbose("COMMIT transaction");
            Faults.KillPoints.Statement();
            try
            {
                DbTransaction.Commit();
            }
            catch (Exception e) when (_session.IsDriverError(e))
            {
                // A failed commit leaves nothing to roll back; the session stays usable.
                Finish();
                throw _session.Failed(new SqlStatement("COMMIT", "transaction", "COMMIT"), e);
            }
            Finish();
        }

        public void Rollback()
        {
            if (_done) return;
            _session.Log.Verbose("ROLLBACK transaction");
            try
            {
                DbTransaction.Rollback();
            }
            catch (InvalidOperationException)
            {
                // The server already ended it (SQL Server XACT_ABORT, broken connection): nothing left to undo.
            }
            catch (Exception e) when (_session.IsDriverError(e))
            {
                Finish();
                throw _session.Failed(new SqlStatement("ROLLBACK", "transaction", "ROLLBACK"), e);
            }
            Finish();
        }

        private void Finish()
        {
            _done = true;
            DbTransaction.Dispose();
            if (ReferenceEquals(_session._transaction, this)) _session._transaction = null;
        }

        public void Dispose()
        {
            if (_done) return;
            try { Rollback(); }
            catch (Exception)
            {
                // Disposing must not throw; a failed rollback leaves nothing to keep.
                if (!_done) Finish();
            }
        }
    }
}
