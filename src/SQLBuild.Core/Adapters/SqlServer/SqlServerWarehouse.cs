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
/// inside a transaction dooms the whole transaction, as in PostgreSQL. The Application Name of every session is
/// <c>sqlbuild/&lt;operation id&gt;</c> (<c>sys.dm_exec_sessions.program_name</c>); dedicated sessions are not pooled.
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
        b.ApplicationName = SessionOptions.Default.ApplicationName;
        return b;
    }


    /// <summary>The connection string of a session: its Application Name names the operation (a pool per operation),
    /// and a dedicated session is not pooled.</summary>
    internal string ConnectionStringFor(SessionOptions options)
    {
        if (options.OperationId is null && !options.Dedicated) return _connectionString;
        var b = new SqlConnectionStringBuilder(_connectionString) { ApplicationName = options.ApplicationName };
        if (options.Dedicated) b.Pooling = false;
        return b.ConnectionString;
    }

    public IWarehouseSession OpenSession(SessionOptions? options = null)
    {
        options ??= SessionOptions.Default;
        var connection = new SqlConnection(ConnectionStringFor(options));
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
        return new SqlServerSession(connection, _log, _commandTimeout, options);
    }
}
