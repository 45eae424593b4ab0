using Microsoft.Data.SqlClient;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// SQL Server through Microsoft.Data.SqlClient. The connection string comes from
/// <see cref="ConnectionSettings.ConnectionString"/> or from server, port, database, user, encrypt,
/// trust_server_certificate, connect_timeout, command_timeout; <see cref="ConnectionSettings.Password"/> overrides.
/// Without a user, integrated security is used. Each session runs with XACT_ABORT ON, so an error
/// inside a transaction dooms the whole transaction, as in PostgreSQL.
/// </summary>
internal sealed class SqlServerWarehouse : IWarehouse
{
    private readonly string _connectionString;
    private readonly ISqbLog _log;
    private readonly int _commandTimeout;

    public SqlServerWarehouse(ConnectionSettings settings, ISqbLog log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _log = log ?? NullLog.Instance;
        Redaction.RegisterSecret(settings.Password);
        SqlConnectionStringBuilder b;
        try
        {
            b = Build(settings);
            _commandTimeout = ConnectionValues.NonNegativeInt(settings.Get("command_timeout"), "command_timeout", settings) ?? 0;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw WarehouseErrors.ConnectionFailed(settings.ToString(), $"invalid connection settings: {Redaction.Redact(e.Message)}");
        }
        Redaction.RegisterSecret(b.Password);
        var user = b.IntegratedSecurity ? "integrated" : b.UserID;
        Description = $"sqlserver(server={b.DataSource}, database={b.InitialCatalog}, user={user})";
        _connectionString = b.ConnectionString;
    }

    public SqlDialect Dialect => SqlServerDialect.Instance;
    public string Description { get; }

    private static SqlConnectionStringBuilder Build(ConnectionSettings s)
    {
        var b = string.IsNullOrWhiteSpace(s.ConnectionString)
            ? new SqlConnectionStringBuilder()
            : new SqlConnectionStringBuilder(s.ConnectionString);
        var server = s.Get("server") ?? s.Get("host");
        if (!string.IsNullOrEmpty(server))
            b.DataSource = s.Get("port") is { Length: > 0 } port ? $"{server},{ConnectionValues.NonNegativeInt(port, "port", s)}" : server;
        if (s.Get("database") is { Length: > 0 } db) b.InitialCatalog = db;
        if (s.Get("user") is { Length: > 0 } user)
        {
            b.UserID = user;
            b.IntegratedSecurity = false;
        }
        if (s.Password is not null) b.Password = s.Password;
        if (string.IsNullOrEmpty(b.UserID) && string.IsNullOrWhiteSpace(s.ConnectionString)) b.IntegratedSecurity = true;
        if (s.Get("encrypt") is { Length: > 0 } encrypt) b.Encrypt = SqlConnectionEncryptOption.Parse(encrypt);
        if (s.Get("trust_server_certificate") is { Length: > 0 } trust)
            b.TrustServerCertificate = bool.Parse(trust);
        if (ConnectionValues.NonNegativeInt(s.Get("connect_timeout"), "connect_timeout", s) is { } timeout) b.ConnectTimeout = timeout;
        b.Pooling = true;
        b.PersistSecurityInfo = false;
        if (string.IsNullOrEmpty(b.ApplicationName) || b.ApplicationName == "Framework Microsoft SqlClient Data Provider")
            b.ApplicationName = "SQLBuild";
        return b;
    }


    public IWarehouseSession OpenSession()
    {
        var connection = new SqlConnection(_connectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SET XACT_ABORT ON;";
            command.ExecuteNonQuery();
        }
        catch (Exception e) when (e is SqlException or TimeoutException or InvalidOperationException or ArgumentException or PlatformNotSupportedException)
        {
            connection.Dispose();
            throw WarehouseErrors.ConnectionFailed(Description, e);
        }
        return new SqlServerSession(connection, _log, _commandTimeout);
    }
}
