using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Adapters;

/// <summary>Engine-neutral class of a failed statement, so callers can react without driver types.</summary>
public enum WarehouseErrorClass
{
    Other,
    /// <summary>A unique or primary key constraint refused a row (PostgreSQL 23505, SQL Server 2627/2601, DuckDB duplicate key).</summary>
    UniqueViolation,
    /// <summary>A relation or schema the statement names does not exist.</summary>
    ObjectNotFound,
    /// <summary>The object to create already exists.</summary>
    ObjectExists,
    /// <summary>Deadlock, serialization or write-write conflict: a retry may succeed.</summary>
    Busy,
    /// <summary>A statement gave up waiting for a lock another session holds (PostgreSQL 55P03, SQL Server 1222).</summary>
    LockTimeout,
    /// <summary>The connection broke while the statement ran.</summary>
    Connection,
    /// <summary>A relation cannot be dropped because other objects (a view, a foreign key) depend on it (PostgreSQL 2BP01).</summary>
    DependentObjects,
}

/// <summary>
/// Reads the <see cref="WarehouseErrorClass"/> that a session attaches to the <see cref="SqbException"/>
/// it throws for a failed statement (W010), e.g. to tell "lock row already taken" from other failures.
/// </summary>
public static class WarehouseErrors
{
    internal const string DataKey = "SQLBuild.WarehouseErrorClass";

    public static WarehouseErrorClass Classify(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
            if (e.Data.Contains(DataKey) && e.Data[DataKey] is WarehouseErrorClass c) return c;
        return WarehouseErrorClass.Other;
    }

    public static bool IsUniqueViolation(Exception exception) => Classify(exception) == WarehouseErrorClass.UniqueViolation;

    internal static SqbErrorKind KindOf(WarehouseErrorClass c) => c switch
    {
        WarehouseErrorClass.UniqueViolation => SqbErrorKind.WriteError,
        WarehouseErrorClass.ObjectNotFound => SqbErrorKind.ObjectNotFound,
        WarehouseErrorClass.ObjectExists => SqbErrorKind.WriteError,
        WarehouseErrorClass.Busy or WarehouseErrorClass.LockTimeout => SqbErrorKind.ResourceBusy,
        WarehouseErrorClass.Connection => SqbErrorKind.ConnectionError,
        _ => SqbErrorKind.InvalidOperation,
    };

    internal static SqbException SqlFailed(SqlStatement statement, Exception driverError, WarehouseErrorClass errorClass,
        string? driverMessage = null)
    {
        var ex = new SqbException(ErrorCodes.SqlFailed, "SqlFailed",
            $"{statement.Kind} {statement.Target} failed: {Redaction.Redact(driverMessage ?? driverError.Message)}",
            KindOf(errorClass), statement.Target, null, driverError);
        ex.Data[DataKey] = errorClass;
        return ex;
    }

    internal static SqbException ConnectionFailed(string description, Exception driverError) =>
        new(ErrorCodes.ConnectionFailed, "ConnectionFailed",
            $"cannot connect to {description}: {Redaction.Redact(driverError.Message)}",
            SqbErrorKind.ConnectionError, description,
            "check the connection settings (host, port, database, user, password) and that the server is reachable",
            driverError);

    internal static SqbException ConnectionFailed(string description, string reason) =>
        new(ErrorCodes.ConnectionFailed, "ConnectionFailed", $"cannot connect to {description}: {reason}",
            SqbErrorKind.ConnectionError, description, "check the connection settings");
}
