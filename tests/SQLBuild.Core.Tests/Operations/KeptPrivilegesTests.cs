using Microsoft.SqlServer.TransactSql.ScriptDom;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Operations;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Operations;

/// <summary>
/// What <see cref="KeptPrivileges"/> grants again from the privileges read before and after a switch transaction's body,
/// at unit level: SQL Server cannot run here, so its moves (<c>ALTER SCHEMA .. TRANSFER</c> drops every permission) are
/// covered with snapshots as its catalog query returns them, and every generated statement is parsed with ScriptDom.
/// The same rules on the real PostgreSQL: <see cref="GrantTests"/>.
/// </summary>
public sealed class KeptPrivilegesTests
{
    private static readonly SqlServerDialect Ms = SqlServerDialect.Instance;
    private static readonly RelationName Logical = new("dev", "orders");
    private static readonly RelationName Physical = new("dev__sqb_physical", "orders__v_0123abcd");
    private static readonly string[] Columns = { "order_id", "status", "amount" };

    private static PrivilegeSnapshot Snapshot(params PrivilegedRelation[] relations) =>
        new(relations, StringComparer.OrdinalIgnoreCase, currentUser: "sqb_deployer");

    private static PrivilegedRelation Rel(long id, RelationName name, RelationKind kind, params RelationPrivilege[] privileges) =>
        new(id, name, kind, "dbo", Columns, privileges);

    private static IReadOnlyList<string> Grants(PrivilegeSnapshot before, PrivilegeSnapshot after, RecordingLog? log = null)
    {
        var statements = KeptPrivileges.Grants(Ms, before, after, log ?? new RecordingLog());
        foreach (var s in statements) Parse(s.Sql);
        return statements.Select(s => s.Sql).ToList();
    }

    private static void Parse(string sql)
    {
        new TSql160Parser(initialQuotedIdentifiers: true).Parse(new StringReader(sql), out var errors);
        Assert.True(errors.Count == 0, $"{string.Join("; ", errors.Select(e => e.Message))}\n{sql}");
    }

    private static readonly RelationPrivilege[] DbaGrants =
    {
        new(null, "bi_reader", "SELECT", false),
        new(null, "bi_admin", "SELECT", true),
        new("amount", "clerk", "SELECT", false),
        new(null, "intern", "DELETE", false, Denied: true),
    };

    [Fact]
    public void SqlServer_adopt_gives_the_view_at_the_tables_name_and_the_transferred_table_the_tables_permissions()
    {
        // Before: the plain table dev.orders. After: a view at that name (a new object) and the same table (object 10),
        // moved by ALTER SCHEMA .. TRANSFER and renamed: SQL Server dropped every permission on it.
        var before = Snapshot(Rel(10, Logical, RelationKind.Table, DbaGrants));
        var after = Snapshot(Rel(11, Logical, RelationKind.View), Rel(10, Physical, RelationKind.Table));

        var expected = new[]
        {
            "GRANT SELECT ON OBJECT::[{0}].[{1}] TO [bi_admin] WITH GRANT OPTION;",
            "GRANT SELECT ON OBJECT::[{0}].[{1}] TO [bi_reader];",
            "GRANT SELECT ([amount]) ON OBJECT::[{0}].[{1}] TO [clerk];",
            "DENY DELETE ON OBJECT::[{0}].[{1}] TO [intern];",
        };
        var grants = Grants(before, after);
        Assert.Equal(expected.Select(e => string.Format(e, Physical.Schema, Physical.Name))
            .Concat(expected.Select(e => string.Format(e, Logical.Schema, Logical.Name))).Order(StringComparer.Ordinal),
            grants.Order(StringComparer.Ordinal));
        // Per relation, the DENY comes after the GRANTs, so it still wins.
        Assert.All(new[] { Logical, Physical }, r =>
        {
            var mine = grants.Where(g => g.Contains($"[{r.Name}]", StringComparison.Ordinal)).ToList();
            Assert.StartsWith("DENY", mine[^1], StringComparison.Ordinal);
        });
    }

    [Fact]
    public void SqlServer_detach_gives_the_table_moved_back_under_the_views_name_both_the_views_and_its_own_permissions()
    {
        var before = Snapshot(
            Rel(11, Logical, RelationKind.View, new RelationPrivilege(null, "bi_reader", "SELECT", false)),
            Rel(10, Physical, RelationKind.Table, new RelationPrivilege(null, "bi_reader", "SELECT", true), new RelationPrivilege(null, "etl", "INSERT", false)));
        var after = Snapshot(Rel(10, Logical, RelationKind.Table));   // the view is gone; the table moved into its place

        Assert.Equal(new[]
        {
            "GRANT SELECT ON OBJECT::[dev].[orders] TO [bi_reader] WITH GRANT OPTION;",   // the stronger of the two
            "GRANT INSERT ON OBJECT::[dev].[orders] TO [etl];",
        }, Grants(before, after));
    }

    [Fact]
    public void Nothing_is_granted_for_a_relation_replaced_in_place_or_dropped_for_good_or_holding_its_privileges_already()
    {
        var privilege = new RelationPrivilege(null, "bi_reader", "SELECT", false);
        var before = Snapshot(Rel(11, Logical, RelationKind.View, privilege), Rel(12, new RelationName("dev", "gone"), RelationKind.View, privilege));
        // CREATE OR ALTER VIEW keeps the object (and its permissions): the same id at the same name is not touched,
        // even when a DBA revoked something meanwhile.
        Assert.Empty(Grants(before, Snapshot(Rel(11, Logical, RelationKind.View))));
        // A recreated relation that already holds the privilege (default privileges, say) gets nothing.
        Assert.Empty(Grants(before, Snapshot(Rel(13, Logical, RelationKind.View, privilege))));
        // Held without the grant option where the old one had it: granted again with it.
        var withOption = Snapshot(Rel(11, Logical, RelationKind.View, privilege with { Grantable = true }));
        Assert.Equal(new[] { "GRANT SELECT ON OBJECT::[dev].[orders] TO [bi_reader] WITH GRANT OPTION;" },
            Grants(withOption, Snapshot(Rel(13, Logical, RelationKind.View, privilege))));
    }

    [Fact]
    public void The_owner_and_the_deployer_get_nothing_and_what_the_new_relation_cannot_carry_is_left_out_with_a_warning()
    {
        var before = Snapshot(new PrivilegedRelation(10, Logical, RelationKind.Table, "dba_owner", Columns, new RelationPrivilege[]
        {
            new(null, "dbo", "SELECT", false),                       // the new owner: it holds everything (SQL Server refuses the grant)
            new(null, "SQB_DEPLOYER", "ALTER", false),               // the role that runs SQLBuild (names compare as the catalog does)
            new(null, "cdc_reader", "VIEW CHANGE TRACKING", false),  // for tables only
            new("region", "clerk", "SELECT", false),                 // a column the view does not have
            new("Amount", "clerk", "SELECT", false),                 // a column it has (case as the catalog compares)
        }));
        var log = new RecordingLog();
        var grants = Grants(before, Snapshot(Rel(11, Logical, RelationKind.View)), log);

        Assert.Equal(new[] { "GRANT SELECT ([Amount]) ON OBJECT::[dev].[orders] TO [clerk];" }, grants);
        Assert.Contains(log.Lines, l => l.StartsWith("WARNING: ", StringComparison.Ordinal) && l.Contains("VIEW CHANGE TRACKING to cdc_reader", StringComparison.Ordinal) &&
                                        l.Contains("a view cannot carry it", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.StartsWith("WARNING: ", StringComparison.Ordinal) && l.Contains("SELECT (region) to clerk", StringComparison.Ordinal) &&
                                        l.Contains("no column region", StringComparison.Ordinal));
        // The old owner is named: the new view belongs to the schema owner, and dba_owner lost an owner's rights.
        Assert.Contains(log.Lines, l => l.StartsWith("WARNING: dev.orders was owned by dba_owner", StringComparison.Ordinal));
    }

    [Fact]
    public void PostgreSQL_gives_back_grants_on_a_recreated_view_and_nothing_for_a_moved_table_which_keeps_its_acl()
    {
        // As the catalog query reports them: the owner's (implicit) rights are not listed.
        var acl = new RelationPrivilege[] { new(null, "bi_reader", "SELECT", false), new(null, null, "SELECT", false) };
        var before = new PrivilegeSnapshot(new[] { new PrivilegedRelation(10, Logical, RelationKind.Table, "postgres", Columns, acl) }, StringComparer.Ordinal, "postgres");
        var after = new PrivilegeSnapshot(new[]
        {
            new PrivilegedRelation(11, Logical, RelationKind.View, "postgres", Columns, Array.Empty<RelationPrivilege>()),
            new PrivilegedRelation(10, Physical, RelationKind.Table, "postgres", Columns, acl),   // ALTER TABLE .. SET SCHEMA keeps the ACL
        }, StringComparer.Ordinal, "postgres");

        var grants = KeptPrivileges.Grants(PostgresDialect.Instance, before, after, new RecordingLog()).Select(s => s.Sql);
        Assert.Equal(new[] { "GRANT SELECT ON TABLE \"dev\".\"orders\" TO PUBLIC", "GRANT SELECT ON TABLE \"dev\".\"orders\" TO \"bi_reader\"" }, grants);
    }

    [Fact]
    public void The_snapshot_reads_the_catalog_rows_of_either_engine()
    {
        var rows = new List<object?[]>
        {
            // PostgreSQL shape: booleans; SQL Server shape: 0/1 integers. A null privilege only says the relation or column exists.
            new object?[] { 10L, "dev", "orders", "view", "postgres", null, "bi_reader", false, "SELECT", true, false, "postgres" },
            new object?[] { 10L, "dev", "orders", "view", "postgres", null, null, true, "SELECT", false, false, "postgres" },
            new object?[] { 10L, "dev", "orders", "view", "postgres", "amount", null, 0, null, 0, 0, "postgres" },
            new object?[] { 10L, "dev", "orders", "view", "postgres", "status", "clerk", 0, "UPDATE", 0, 1, "postgres" },
            new object?[] { 12L, "dev", "empty", "table", "postgres", null, null, 0, null, 0, 0, "postgres" },
        };
        var snapshot = PrivilegeSnapshot.FromRows(rows, StringComparer.Ordinal);
        Assert.Equal("postgres", snapshot.CurrentUser);
        var orders = snapshot.Find(Logical)!;
        Assert.Equal((10L, RelationKind.View, "postgres"), (orders.Id, orders.Kind, orders.Owner));
        Assert.Equal(new[] { "amount", "status" }, orders.Columns.Order(StringComparer.Ordinal));
        Assert.Equal(new[]
        {
            new RelationPrivilege(null, "bi_reader", "SELECT", true), new RelationPrivilege(null, null, "SELECT", false),
            new RelationPrivilege("status", "clerk", "UPDATE", false, Denied: true),
        }, orders.Privileges);
        var empty = snapshot.FindById(12)!;
        Assert.Equal(RelationKind.Table, empty.Kind);
        Assert.Empty(empty.Privileges);
        Assert.Null(snapshot.Find(new RelationName("dev", "ORDERS")));   // PostgreSQL compares names exactly
    }

    [Fact]
    public void DuckDb_keeps_nothing_because_it_has_no_privileges()
    {
        using var warehouse = TestDatabases.NewDuckDbFile();
        using var session = warehouse.CreateWarehouse().OpenSession();
        Assert.Null(KeptPrivileges.Capture(session, new[] { Logical, Physical }));
    }
}
