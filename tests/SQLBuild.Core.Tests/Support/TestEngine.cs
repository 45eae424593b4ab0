using SQLBuild.Core.Project;
using Xunit;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// The engines the project fixtures run on, by the name the tests pass around: <c>"duckdb"</c> (a file in
/// the project folder) or <c>"postgres"</c> (the throwaway server build.ps1 -Task Test starts, reached through
/// SQB_TEST_PG_*; the tests skip when SQB_TEST_PG_HOST is not set).
/// </summary>
internal static class TestEngine
{
    public static bool PostgresAvailable => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SQB_TEST_PG_HOST"));

    public static void SkipUnlessAvailable(string engine) =>
        Skip.If(engine == "postgres" && !PostgresAvailable, "SQB_TEST_PG_HOST is not set: no PostgreSQL for this run");

    public static AdapterKind Adapter(string engine) => engine == "postgres" ? AdapterKind.Postgres : AdapterKind.DuckDb;

    /// <summary>
    /// The keys of a project's <c>[connections.local]</c>: the test PostgreSQL with every value (and the
    /// password) read through <c>${ENV:...}</c>, so no project file ever holds them; or DuckDB's <c>shop.duckdb</c>.
    /// </summary>
    public static string Connection(string engine) => engine == "postgres"
        ? $$"""
          host = "${ENV:SQB_TEST_PG_HOST}"
          port = {{Environment.GetEnvironmentVariable("SQB_TEST_PG_PORT") ?? "5432"}}
          user = "${ENV:SQB_TEST_PG_USER}"
          password = "${ENV:SQB_TEST_PG_PASSWORD}"
          dbname = "${ENV:SQB_TEST_PG_DATABASE}"
          """
        : "database = \"shop.duckdb\"";
}
