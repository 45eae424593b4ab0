using System.Runtime.CompilerServices;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

public static class WarehouseFactory
{
    /// <summary>Creates the warehouse for a connection. Drivers load on first use, not at module import:
    /// each adapter is constructed in its own non-inlined method, so compiling this one touches no driver type.
    /// Nothing connects until <see cref="IWarehouse.OpenSession"/>.</summary>
    public static IWarehouse Create(ConnectionSettings settings, ISqbLog log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        log ??= NullLog.Instance;
        return settings.Adapter switch
        {
            AdapterKind.DuckDb => CreateDuckDb(settings, log),
            AdapterKind.Postgres => CreatePostgres(settings, log),
            AdapterKind.SqlServer => CreateSqlServer(settings, log),
            _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Adapter, "unknown adapter"),
        };
    }

    /// <summary>The dialect alone, for SQL generation without a connection. Never loads a driver.</summary>
    public static SqlDialect Dialect(AdapterKind kind) => kind switch
    {
        AdapterKind.DuckDb => DuckDbDialect.Instance,
        AdapterKind.Postgres => PostgresDialect.Instance,
        AdapterKind.SqlServer => SqlServerDialect.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown adapter"),
    };

    /// <summary>The dialect of one connection, for SQL generation without a connection: on DuckDB it knows the
    /// database's catalog name (see <see cref="DuckDbDialect"/>). Never loads a driver.</summary>
    public static SqlDialect Dialect(ConnectionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Adapter == AdapterKind.DuckDb ? DuckDbDatabase.Dialect(settings) : Dialect(settings.Adapter);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IWarehouse CreateDuckDb(ConnectionSettings settings, ISqbLog log) => new DuckDbWarehouse(settings, log);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IWarehouse CreatePostgres(ConnectionSettings settings, ISqbLog log) => new PostgresWarehouse(settings, log);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IWarehouse CreateSqlServer(ConnectionSettings settings, ISqbLog log) => new SqlServerWarehouse(settings, log);
}
