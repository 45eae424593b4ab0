using SQLBuild.Core.Adapters;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// A PostgreSQL role of one test's own (roles belong to the whole cluster, so the name is unique: the prefix and 12 hex
/// digits), created NOLOGIN on a session of the test's warehouse. Asks what the role may do as the server sees it
/// (<c>has_table_privilege</c> with the role's name), reads a relation as the role (<c>SET LOCAL ROLE</c> in a transaction
/// that is rolled back), and on dispose revokes whatever was granted to it (<c>DROP OWNED BY</c>) and drops it.
/// </summary>
internal sealed class TestRole : IDisposable
{
    private readonly Func<IWarehouseSession> _open;

    public TestRole(Func<IWarehouseSession> open, string prefix = "sqbt_reader")
    {
        _open = open;
        Name = prefix + "_" + Guid.NewGuid().ToString("N")[..12];
        Exec($"CREATE ROLE {Quoted} NOLOGIN");
    }

    public string Name { get; }
    public string Quoted => PostgresDialect.Instance.QuoteIdentifier(Name);

    /// <summary>Whether the role holds <paramref name="privilege"/> on a relation (given quoted and qualified), as the server decides it.</summary>
    public bool Has(string qualified, string privilege = "SELECT") =>
        Query("SELECT has_table_privilege($1, $2, $3)", Name, qualified, privilege)[0][0] is true;

    /// <summary>Whether the role holds <paramref name="privilege"/> on one column of a relation.</summary>
    public bool HasColumn(string qualified, string column, string privilege = "SELECT") =>
        Query("SELECT has_column_privilege($1, $2, $3, $4)", Name, qualified, column, privilege)[0][0] is true;

    /// <summary>Runs <paramref name="sql"/> as the role (nothing it does is kept) and returns the first value of its first row.</summary>
    public object? ScalarAs(string sql)
    {
        using var session = _open();
        using var tx = session.BeginTransaction();
        session.Execute(new SqlStatement("TEST", "role", $"SET LOCAL ROLE {Quoted}"));
        var value = session.ExecuteScalar(new SqlStatement("TEST", "as role", sql));
        tx.Rollback();
        return value;
    }

    public long CountAs(string qualified) => Convert.ToInt64(ScalarAs($"SELECT COUNT(*) FROM {qualified}"));

    public void Exec(string sql)
    {
        using var session = _open();
        session.Execute(new SqlStatement("TEST", "role", sql));
    }

    /// <summary>
    /// Every privilege on a relation and its columns as sorted lines <c>grantee[(column)] PRIVILEGE[*]</c> (<c>*</c>: with
    /// grant option; <c>PUBLIC</c> for every role), the owner's own included; the grantor is left out (a re-grant is made
    /// by the owner). Equal lists mean the same roles may do the same things.
    /// </summary>
    public static IReadOnlyList<string> Privileges(IWarehouseSession session, string qualified) => session.Query(new SqlStatement("TEST", "acl", """
        SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END || ' ' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
        FROM pg_class AS c CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) AS a
        WHERE c.oid = $1::regclass
        UNION ALL
        SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END || '(' || t.attname || ') ' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
        FROM pg_attribute AS t CROSS JOIN LATERAL aclexplode(t.attacl) AS a
        WHERE t.attrelid = $1::regclass AND t.attnum > 0 AND NOT t.attisdropped
        ORDER BY 1
        """, new object?[] { qualified })).Select(r => (string)r[0]!).ToList();

    /// <summary>The relation's oid: a new one means the relation was dropped and created again.</summary>
    public static long Oid(IWarehouseSession session, string qualified) =>
        Convert.ToInt64(session.ExecuteScalar(new SqlStatement("TEST", "oid", "SELECT $1::regclass::oid::bigint", new object?[] { qualified })));

    private IReadOnlyList<object?[]> Query(string sql, params object?[] parameters)
    {
        using var session = _open();
        return session.Query(new SqlStatement("TEST", "role", sql, parameters));
    }

    public void Dispose()
    {
        try
        {
            Exec($"DROP OWNED BY {Quoted}");
            Exec($"DROP ROLE IF EXISTS {Quoted}");
        }
        catch (Exception)
        {
            // cleanup only
        }
    }
}
