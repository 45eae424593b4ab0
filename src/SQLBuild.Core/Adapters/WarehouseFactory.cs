using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

public static class WarehouseFactory
{
    /// <summary>Creates the warehouse for a connection. Drivers load on first use, not at module import.</summary>
    public static IWarehouse Create(ConnectionSettings settings, ISqbLog log) => throw new NotImplementedException();

    /// <summary>The dialect alone, for SQL generation without a connection.</summary>
    public static SqlDialect Dialect(AdapterKind kind) => throw new NotImplementedException();
}
