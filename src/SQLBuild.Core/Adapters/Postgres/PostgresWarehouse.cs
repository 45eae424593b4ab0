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
/// server within seconds instead of running on (and holding its locks) after a crash, and <c>idle_session_timeout = 0</c>
/// (PostgreSQL 14+), so a server or role that ends idle sessions does not end ours while they wait for a long model.
/// A pooled connection the server closed meanwhile is replaced once when it is opened.
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
        for (var attempt = 1; ; attempt++)
        {
            var connection = new NpgsqlConnection(options.Dedicated ? _dedicatedConnectionString : _connectionString);
            var opened = false;
            try
            {
                connection.Open();
                opened = true;
                Prepare(connection, options);
                return new PostgresSession(connection, _log, _commandTimeout, options);
            }
            // A pooled connection the server closed while it sat in the pool (idle_session_timeout: the pool's reset put the
            // server's value back; a restart; a pooler) is handed out dead, and its first command finds that out. Nothing
            // ran yet, so opening again is safe: once, after clearing the pool, so the retry gets a new connection rather
            // than another dead one from the same pool.
            catch (Exception e) when (opened && attempt == 1 && !options.Dedicated && ClosedByServer(connection, e))
            {
                _log.Verbose($"a pooled connection to {Description} had been closed by the server ({Redaction.Redact(e.Message)}); opening a new one");
                NpgsqlConnection.ClearPool(connection);
                connection.Dispose();
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or ArgumentException)
            {
                connection.Dispose();
                throw WarehouseErrors.ConnectionFailed(Description, e);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Names the session, and on PostgreSQL 14+ sets <c>client_connection_check_interval</c> (a statement whose client died
    /// is cancelled) and <c>idle_session_timeout = 0</c>: our sessions sit idle on purpose while a model runs elsewhere (the
    /// lease, whose session lock is the lease; the journal), and a server or role that ends idle sessions must not end
    /// them. One round trip; a pooled connection is reset (DISCARD ALL) when it goes back to the pool.
    /// </summary>
    private static void Prepare(NpgsqlConnection connection, SessionOptions options)
    {
        using var name = connection.CreateCommand();
        name.CommandText = connection.PostgreSqlVersion.Major >= 14
            ? "SELECT set_config('application_name', $1, false), set_config('client_connection_check_interval', $2, false), " +
              "set_config('idle_session_timeout', '0', false)"
            : "SELECT set_config('application_name', $1, false), $2";
        name.Parameters.Add(new NpgsqlParameter { Value = options.ApplicationName });
        name.Parameters.Add(new NpgsqlParameter { Value = ClientCheckIntervalMs.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        name.ExecuteNonQuery();
    }

    /// <summary>The connection is gone: the server ended it (57P01 admin shutdown, 57P05 idle session timeout, ...), or
    /// the socket broke.</summary>
    private static bool ClosedByServer(NpgsqlConnection connection, Exception e) =>
        e is PostgresException { SqlState: var state } && (state.StartsWith("57P", StringComparison.Ordinal) || state.StartsWith("08", StringComparison.Ordinal))
        || e is NpgsqlException { IsTransient: true } or NpgsqlException { InnerException: IOException or System.Net.Sockets.SocketException }
        || connection.FullState.HasFlag(System.Data.ConnectionState.Broken);
}
