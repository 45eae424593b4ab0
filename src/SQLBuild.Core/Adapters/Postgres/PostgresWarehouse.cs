using Npgsql;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// PostgreSQL through Npgsql. The connection string comes from <see cref="ConnectionSettings.ConnectionString"/>
/// or from the keys host, port, user, dbname/database, sslmode, connect_timeout, command_timeout;
/// <see cref="ConnectionSettings.Password"/> (a credential) overrides the string's password.
/// Always: error detail off (row values stay out of messages); pooling on, except for dedicated sessions
/// (<see cref="SessionOptions.Dedicated"/>). Every session names itself <c>sqlbuild/&lt;operation id&gt;</c> and sets
/// <c>client_connection_check_interval</c> (PostgreSQL 14+), so a statement whose client died is cancelled by the
/// server within seconds instead of running on (and holding its locks) after a crash.
/// </summary>
internal sealed class PostgresWarehouse : IWarehouse
{
    /// <summary>Milliseconds between the server's checks that a client running a long statement is still there.</summary>
    public const int ClientCheckIntervalMs = 2000;

    private readonly string _connectionString;
    private readonly string _dedicatedConnectionString;
    private readonly ISqbLog _log;
    private readonly int _commandTimeout;

    public PostgresWarehouse(ConnectionSettings settings, ISqbLog log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _log = log ?? NullLog.Instance;
        Redaction.RegisterSecret(settings.Password);
        NpgsqlConnectionStringBuilder b;
        try
        {
            b = Build(settings);
            _commandTimeout = ConnectionValues.NonNegativeInt(settings.Get("command_timeout"), "command_timeout", settings) ?? 0;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw WarehouseErrors.ConnectionFailed(settings.ToString(), $"invalid connection settings: {Redaction.Redact(e.Message)}");
        }
        Redaction.RegisterSecret(b.Password);
        Description = $"postgres(host={b.Host}, port={b.Port}, database={b.Database}, user={b.Username})";
        _connectionString = b.ConnectionString;
        b.Pooling = false;
        _dedicatedConnectionString = b.ConnectionString;
    }

    public SqlDialect Dialect => PostgresDialect.Instance;
    public string Description { get; }

    private static NpgsqlConnectionStringBuilder Build(ConnectionSettings s)
    {
        var b = string.IsNullOrWhiteSpace(s.ConnectionString)
            ? new NpgsqlConnectionStringBuilder()
            : new NpgsqlConnectionStringBuilder(s.ConnectionString);
        if (s.Get("host") is { Length: > 0 } host) b.Host = host;
        if (ConnectionValues.NonNegativeInt(s.Get("port"), "port", s) is { } port) b.Port = port;
        if ((s.Get("user") ?? s.Get("username")) is { Length: > 0 } user) b.Username = user;
        if ((s.Get("dbname") ?? s.Get("database")) is { Length: > 0 } db) b.Database = db;
        if (s.Get("sslmode") is { Length: > 0 } ssl) b.SslMode = Enum.Parse<SslMode>(ssl.Replace("-", ""), ignoreCase: true);
        if (ConnectionValues.NonNegativeInt(s.Get("connect_timeout"), "connect_timeout", s) is { } timeout) b.Timeout = timeout;
        if (s.Password is not null) b.Password = s.Password;
        if (string.IsNullOrEmpty(b.Host)) b.Host = "localhost";
        b.Pooling = true;
        b.IncludeErrorDetail = false;
        b.PersistSecurityInfo = false;
        b.ApplicationName = SessionOptions.Default.ApplicationName;
        return b;
    }


    public IWarehouseSession OpenSession(SessionOptions? options = null)
    {
        options ??= SessionOptions.Default;
        var connection = new NpgsqlConnection(options.Dedicated ? _dedicatedConnectionString : _connectionString);
        try
        {
            connection.Open();
            // One round trip; a pooled connection is reset (DISCARD ALL) when it goes back to the pool.
            using var name = connection.CreateCommand();
            name.CommandText = connection.PostgreSqlVersion.Major >= 14
                ? "SELECT set_config('application_name', $1, false), set_config('client_connection_check_interval', $2, false)"
                : "SELECT set_config('application_name', $1, false), $2";
            name.Parameters.Add(new NpgsqlParameter { Value = options.ApplicationName });
            name.Parameters.Add(new NpgsqlParameter { Value = ClientCheckIntervalMs.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            name.ExecuteNonQuery();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or ArgumentException)
        {
            connection.Dispose();
            throw WarehouseErrors.ConnectionFailed(Description, e);
        }
        return new PostgresSession(connection, _log, _commandTimeout, options);
    }
}
