using System.Reflection;
using System.Runtime.Loader;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

public class WarehouseFactoryTests
{
    private static readonly string[] Drivers = { "Npgsql", "Microsoft.Data.SqlClient", "DuckDB.NET.Data", "DuckDB.NET.Bindings" };

    /// <summary>Loads SQLBuild.Core afresh in its own context, so we can see exactly which assemblies it pulls in.</summary>
    private sealed class IsolatedContext : AssemblyLoadContext
    {
        private readonly AssemblyDependencyResolver _resolver;
        public IsolatedContext(string mainAssemblyPath) : base("sqb-lazy-driver-test", isCollectible: true) =>
            _resolver = new AssemblyDependencyResolver(mainAssemblyPath);

        protected override Assembly? Load(AssemblyName name) =>
            _resolver.ResolveAssemblyToPath(name) is { } path ? LoadFromAssemblyPath(path) : null;

        public IReadOnlyList<string> Loaded(IEnumerable<string> names) =>
            Assemblies.Select(a => a.GetName().Name!).Where(names.Contains).OrderBy(n => n, StringComparer.Ordinal).ToList();
    }

    private static object Settings(Assembly core, AdapterKind kind, Dictionary<string, string> values, string? connectionString = null)
    {
        var adapterType = core.GetType("SQLBuild.Core.Project.AdapterKind", throwOnError: true)!;
        var settingsType = core.GetType("SQLBuild.Core.Project.ConnectionSettings", throwOnError: true)!;
        return Activator.CreateInstance(settingsType, "lazy", Enum.ToObject(adapterType, (int)kind),
            (IReadOnlyDictionary<string, string>)values, "pw-123", connectionString, Path.GetTempPath())!;
    }

    [Fact]
    public void Drivers_load_only_when_their_adapter_is_used()
    {
        var testAssembly = typeof(WarehouseFactoryTests).Assembly.Location;
        var context = new IsolatedContext(testAssembly);
        try
        {
            var core = context.LoadFromAssemblyPath(Path.Combine(Path.GetDirectoryName(testAssembly)!, "SQLBuild.Core.dll"));
            var factory = core.GetType("SQLBuild.Core.Adapters.WarehouseFactory", throwOnError: true)!;
            var adapterType = core.GetType("SQLBuild.Core.Project.AdapterKind", throwOnError: true)!;
            var log = core.GetType("SQLBuild.Core.Logging.NullLog", throwOnError: true)!.GetField("Instance")!.GetValue(null);
            var create = factory.GetMethod("Create")!;

            // Every dialect, and SQL from it: no driver at all.
            foreach (var kind in Enum.GetValues<AdapterKind>())
            {
                var dialect = factory.GetMethod("Dialect", new[] { adapterType })!.Invoke(null, new[] { Enum.ToObject(adapterType, (int)kind) })!;
                var quoted = (string)dialect.GetType().GetMethod("QuoteIdentifier")!.Invoke(dialect, new object[] { "x" })!;
                Assert.Contains("x", quoted);
            }
            // The dialect of one connection (DuckDB's knows its catalog from the file name) loads no driver either.
            var settingsType = core.GetType("SQLBuild.Core.Project.ConnectionSettings", throwOnError: true)!;
            var duckDialect = factory.GetMethod("Dialect", new[] { settingsType })!
                .Invoke(null, new[] { Settings(core, AdapterKind.DuckDb, new() { ["database"] = "jaffle.duckdb" }) })!;
            Assert.Equal("jaffle", duckDialect.GetType().GetProperty("Catalog")!.GetValue(duckDialect));
            Assert.Empty(context.Loaded(Drivers));

            // A DuckDB warehouse: DuckDB's assemblies at most, never the server drivers.
            create.Invoke(null, new[] { Settings(core, AdapterKind.DuckDb, new() { ["database"] = ":memory:" }), log });
            Assert.DoesNotContain("Npgsql", context.Loaded(Drivers));
            Assert.DoesNotContain("Microsoft.Data.SqlClient", context.Loaded(Drivers));

            // A PostgreSQL warehouse (no connection is opened): Npgsql, still no SqlClient.
            create.Invoke(null, new[] { Settings(core, AdapterKind.Postgres, new() { ["host"] = "localhost", ["dbname"] = "x" }), log });
            Assert.Contains("Npgsql", context.Loaded(Drivers));
            Assert.DoesNotContain("Microsoft.Data.SqlClient", context.Loaded(Drivers));
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void Create_opens_nothing_and_describes_the_connection_without_secrets()
    {
        var pg = WarehouseFactory.Create(new ConnectionSettings("p", AdapterKind.Postgres,
            new Dictionary<string, string> { ["host"] = "db.example", ["port"] = "6543", ["user"] = "etl", ["dbname"] = "dw" },
            "Sup3rSecret!", null, Path.GetTempPath()), NullLog.Instance);
        Assert.Equal("postgres(host=db.example, port=6543, database=dw, user=etl)", pg.Description);
        Assert.IsType<PostgresDialect>(pg.Dialect);

        var fromString = WarehouseFactory.Create(new ConnectionSettings("p", AdapterKind.Postgres, new Dictionary<string, string>(),
            null, "Host=h1;Database=d1;Username=u1;Password=Sup3rSecret!", Path.GetTempPath()), NullLog.Instance);
        Assert.Equal("postgres(host=h1, port=5432, database=d1, user=u1)", fromString.Description);

        var mssql = WarehouseFactory.Create(new ConnectionSettings("m", AdapterKind.SqlServer,
            new Dictionary<string, string> { ["server"] = "sql1", ["port"] = "1444", ["database"] = "dw", ["user"] = "sa", ["encrypt"] = "strict", ["trust_server_certificate"] = "false" },
            "Sup3rSecret!", null, Path.GetTempPath()), NullLog.Instance);
        Assert.Equal("sqlserver(server=sql1,1444, database=dw, user=sa)", mssql.Description);
        Assert.IsType<SqlServerDialect>(mssql.Dialect);

        foreach (var w in new[] { pg, fromString, mssql }) Assert.DoesNotContain("Sup3rSecret", w.Description);
    }

    [Fact]
    public void Invalid_connection_settings_are_W001_without_the_password()
    {
        var bad = new ConnectionSettings("p", AdapterKind.Postgres, new Dictionary<string, string> { ["port"] = "not-a-port" },
            "Sup3rSecret!", null, Path.GetTempPath());
        var ex = Assert.Throws<Errors.SqbException>(() => WarehouseFactory.Create(bad, NullLog.Instance));
        Assert.Equal(Errors.ErrorCodes.ConnectionFailed, ex.Code);
        Assert.Contains("'port'", ex.Message);

        var badString = new ConnectionSettings("p", AdapterKind.SqlServer, new Dictionary<string, string>(),
            null, "Server=x;Pasword=Sup3rSecret!;Nonsense=1", Path.GetTempPath());
        var ex2 = Assert.Throws<Errors.SqbException>(() => WarehouseFactory.Create(badString, NullLog.Instance));
        Assert.Equal(Errors.ErrorCodes.ConnectionFailed, ex2.Code);
        Assert.DoesNotContain("Sup3rSecret", ex2.Message);
    }
}
