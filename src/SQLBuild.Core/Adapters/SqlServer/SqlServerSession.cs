using System.Data;
using System.Data.Common;
using Microsoft.Data.SqlClient;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;

namespace SQLBuild.Core.Adapters;

internal sealed class SqlServerSession : DbWarehouseSession
{
    private readonly SqlConnection _sql;

    public SqlServerSession(SqlConnection connection, ISqbLog log, int commandTimeoutSeconds, SessionOptions? options)
        : base(connection, SqlServerDialect.Instance, log, commandTimeoutSeconds, options)
    {
        _sql = connection;
        _sql.InfoMessage += OnInfoMessage;
    }

    private void OnInfoMessage(object sender, SqlInfoMessageEventArgs e)
    {
        foreach (SqlError error in e.Errors)
            Log.Verbose($"sqlserver message: {Redaction.Redact(error.Message)}");
    }

    // 2100 is SQL Server's hard limit per request; keep a margin.
    protected override int MaxParametersPerStatement => 2_000;
    // A table value constructor takes at most 1000 rows.
    protected override int MaxRowsPerInsert => 1_000;

    protected override void BindParameters(DbCommand command, IReadOnlyList<object?> parameters)
    {
        for (var i = 0; i < parameters.Count; i++)
        {
            var p = new SqlParameter { ParameterName = SqlServerDialect.Instance.Parameter(i + 1) };
            switch (parameters[i])
            {
                case null:
                    p.Value = DBNull.Value;
                    break;
                case DateTime dt:
                    // The default mapping is the old datetime type (3 ms, from year 1753).
                    p.SqlDbType = SqlDbType.DateTime2;
                    p.Value = dt;
                    break;
                case DateOnly d:
                    p.SqlDbType = SqlDbType.Date;
                    p.Value = d;
                    break;
                case string s:
                    p.SqlDbType = SqlDbType.NVarChar;
                    p.Size = s.Length > 4000 ? -1 : 4000;
                    p.Value = s;
                    break;
                case var v:
                    p.Value = v;
                    break;
            }
            command.Parameters.Add(p);
        }
    }

    protected override WarehouseErrorClass Classify(Exception driverError)
    {
        if (driverError is not SqlException e) return WarehouseErrorClass.Other;
        return e.Number switch
        {
            2627 or 2601 => WarehouseErrorClass.UniqueViolation,
            208 or 15151 or 2702 or 3701 or 15007 => WarehouseErrorClass.ObjectNotFound,
            2714 or 2759 => WarehouseErrorClass.ObjectExists,
            1222 => WarehouseErrorClass.LockTimeout,
            1205 or -2 => WarehouseErrorClass.Busy,
            -1 or 233 or 10053 or 10054 or 10060 => WarehouseErrorClass.Connection,
            _ => WarehouseErrorClass.Other,
        };
    }

    protected override void OnDispose() => _sql.InfoMessage -= OnInfoMessage;
}
