using System.Data.Common;
using DuckDB.NET.Data;
using SQLBuild.Core.Logging;

namespace SQLBuild.Core.Adapters;

internal sealed class DuckDbSession : DbWarehouseSession
{
    private readonly DuckDBConnection _connection;
    private readonly Action? _onClosed;

    /// <param name="onClosed">Runs once the connection is closed (the last one to close a file checkpoints it).</param>
    public DuckDbSession(DuckDBConnection connection, DuckDbDialect dialect, ISqbLog log, SessionOptions? options, Action? onClosed = null)
        : base(connection, dialect, log, commandTimeoutSeconds: 0, options)
    {
        _connection = connection;
        _onClosed = onClosed;
    }

    protected override void OnDispose()
    {
        if (_onClosed is null) return;
        try { _connection.Dispose(); }
        finally { _onClosed(); }
    }

    // DuckDB has no hard parameter limit; this keeps each statement's parse and bind cheap.
    protected override int MaxParametersPerStatement => 10_000;

    protected override void BindParameters(DbCommand command, IReadOnlyList<object?> parameters)
    {
        foreach (var value in parameters)
            command.Parameters.Add(new DuckDBParameter(value ?? DBNull.Value));
    }

    protected override WarehouseErrorClass Classify(Exception driverError)
    {
        if (driverError is not DuckDBException e) return WarehouseErrorClass.Other;
        var m = e.Message;
        if (e.ErrorType == DuckDB.NET.Native.DuckDBErrorType.Constraint &&
            (m.Contains("Duplicate key", StringComparison.OrdinalIgnoreCase) || m.Contains("unique", StringComparison.OrdinalIgnoreCase)))
            return WarehouseErrorClass.UniqueViolation;
        if (m.StartsWith("Catalog Error", StringComparison.Ordinal))
        {
            if (m.Contains("does not exist", StringComparison.Ordinal)) return WarehouseErrorClass.ObjectNotFound;
            if (m.Contains("already exists", StringComparison.Ordinal)) return WarehouseErrorClass.ObjectExists;
        }
        if (e.ErrorType == DuckDB.NET.Native.DuckDBErrorType.Transaction || m.Contains("Conflict", StringComparison.Ordinal))
            return WarehouseErrorClass.Busy;
        if (e.ErrorType == DuckDB.NET.Native.DuckDBErrorType.Connection) return WarehouseErrorClass.Connection;
        return WarehouseErrorClass.Other;
    }
}
