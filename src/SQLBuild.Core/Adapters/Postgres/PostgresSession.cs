using System.Data.Common;
using Npgsql;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;

namespace SQLBuild.Core.Adapters;

internal sealed class PostgresSession : DbWarehouseSession
{
    private readonly NpgsqlConnection _npgsql;

    public PostgresSession(NpgsqlConnection connection, ISqbLog log, int commandTimeoutSeconds, SessionOptions? options)
        : base(connection, PostgresDialect.Instance, log, commandTimeoutSeconds, options)
    {
        _npgsql = connection;
        _npgsql.Notice += OnNotice;
    }

    private void OnNotice(object sender, NpgsqlNoticeEventArgs e) =>
        Log.Verbose($"postgres {e.Notice.Severity.ToLowerInvariant()}: {Redaction.Redact(e.Notice.MessageText)}");

    // The wire protocol counts parameters in an unsigned 16-bit field.
    protected override int MaxParametersPerStatement => 65_535;

    protected override void BindParameters(DbCommand command, IReadOnlyList<object?> parameters)
    {
        // Unnamed parameters: Npgsql binds them positionally to $1, $2, ...
        foreach (var value in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
    }

    // NpgsqlBatch: the statements go in one round trip (and run as one implicit transaction outside an explicit one).
    protected override bool SendsBatches => true;

    // RecordsAffected leaves out a SELECT tag; CREATE TABLE AS reports its rows as "SELECT n".
    protected override int RowsOf(DbBatchCommand command) => (int)Math.Min(int.MaxValue, ((NpgsqlBatchCommand)command).Rows);

    protected override void BindParameters(DbBatchCommand command, IReadOnlyList<object?> parameters)
    {
        foreach (var value in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
    }

    /// <summary>
    /// Casts each placeholder to its column's type: in a multi-row VALUES list PostgreSQL resolves
    /// a column whose parameters are all NULL (untyped) to text, which then cannot be assigned to a
    /// bigint or date column. One catalog query per call, not per chunk.
    /// </summary>
    protected override Func<int, int, string> PreparePlaceholders(RelationName table, IReadOnlyList<string> columns)
    {
        var types = Query(((PostgresDialect)Dialect).TableColumnTypes(table))
            .ToDictionary(r => (string)r[0]!, r => (string)r[1]!, StringComparer.Ordinal);
        var casts = columns.Select(c => types.TryGetValue(c, out var t) ? "::" + t : "").ToArray();
        return (index, column) => Dialect.Parameter(index) + casts[column];
    }

    // PostgresException.Message appends "POSITION: n" and similar fields on extra lines; the code and text say it all.
    protected override string DriverMessage(Exception driverError) =>
        driverError is PostgresException pg ? $"{pg.SqlState}: {pg.MessageText}" : driverError.Message;

    // pg_get_viewdef / format_type look a relation up by OID outside the query's snapshot: a concurrent
    // DROP between the scan and the call fails with XX000 "could not open relation with OID n".
    protected override bool IsConcurrentDdlRace(Exception driverError) =>
        driverError is PostgresException { SqlState: "XX000" } pg &&
        pg.MessageText.StartsWith("could not open relation with OID", StringComparison.Ordinal);

    protected override WarehouseErrorClass Classify(Exception driverError)
    {
        if (driverError is PostgresException pg)
        {
            var state = pg.SqlState;
            return state switch
            {
                "23505" => WarehouseErrorClass.UniqueViolation,
                "42P01" or "3F000" or "42704" => WarehouseErrorClass.ObjectNotFound,
                "42P07" or "42P06" or "42710" => WarehouseErrorClass.ObjectExists,
                "55P03" => WarehouseErrorClass.LockTimeout,
                "2BP01" => WarehouseErrorClass.DependentObjects,
                "40001" or "40P01" or "55006" => WarehouseErrorClass.Busy,
                _ when state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("57P", StringComparison.Ordinal)
                    => WarehouseErrorClass.Connection,
                _ => WarehouseErrorClass.Other,
            };
        }
        if (driverError is NpgsqlException { InnerException: IOException or System.Net.Sockets.SocketException } || driverError is NpgsqlException { IsTransient: true })
            return WarehouseErrorClass.Connection;
        // A command on a connection that broke earlier (the server ended it) fails without a server error.
        if (_npgsql.FullState.HasFlag(System.Data.ConnectionState.Broken) || _npgsql.FullState == System.Data.ConnectionState.Closed)
            return WarehouseErrorClass.Connection;
        return WarehouseErrorClass.Other;
    }

    protected override void OnDispose() => _npgsql.Notice -= OnNotice;
}
