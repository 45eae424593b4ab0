using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// PostgreSQL SQL (15+: MERGE). Identifiers are limited to 63 BYTES of UTF-8 (NAMEDATALEN - 1);
/// a longer name is refused (W002), never truncated as the server would. Parameters are <c>$n</c>.
/// Catalog reads go to pg_catalog with the schema list as one text[] parameter (<c>= ANY($1)</c>).
/// </summary>
public sealed class PostgresDialect : AnsiSqlDialect
{
    public static readonly PostgresDialect Instance = new();
    public const int MaxIdentifierBytes = 63;

    public override AdapterKind Kind => AdapterKind.Postgres;
    protected override string EngineName => "postgres";
    public override int MaxIdentifierLength => MaxIdentifierBytes;

    public override void ValidateIdentifier(string identifier, string what)
    {
        DialectText.ValidateCommon(identifier, what);
        var bytes = Encoding.UTF8.GetByteCount(identifier);
        if (bytes > MaxIdentifierBytes)
            throw DialectText.TooLong(identifier, what, bytes, "bytes", EngineName, MaxIdentifierBytes);
    }

    public override string TypeName(SeedColumnType type) => type switch
    {
        SeedColumnType.Integer => "BIGINT",
        SeedColumnType.Decimal => "NUMERIC",
        SeedColumnType.Boolean => "BOOLEAN",
        SeedColumnType.Date => "DATE",
        SeedColumnType.Timestamp => "TIMESTAMP",
        SeedColumnType.Text => "TEXT",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>PostgreSQL cannot change a view's columns in place: drop (no CASCADE) and create, in one transaction.</summary>
    public override IReadOnlyList<SqlStatement> ReplaceViewStatements(RelationName view, string selectSql) => new[]
    {
        DropViewIfExists(view),
        new SqlStatement("CREATE VIEW", view.ToString(), $"CREATE VIEW {Qualify(view)} AS\n{DialectText.TrimQuery(selectSql)}\n"),
    };

    public override bool SupportsMoveTable => true;

    public override SqlStatement MoveTable(RelationName table, string newSchema)
    {
        ValidateIdentifier(newSchema, "schema");
        return new("MOVE TABLE", table.ToString(), $"ALTER TABLE {Qualify(table)} SET SCHEMA {QuoteIdentifier(newSchema)}");
    }

    public override bool CreateTableAsCountsRows => true;

    public override bool BindsArrays => true;

    public override string UnnestRows(IReadOnlyList<(int Parameter, string TypeName)> columns) =>
        $"unnest({string.Join(", ", columns.Select(c => $"CAST({Parameter(c.Parameter)} AS {c.TypeName}[])"))})";

    public override string EqualsAny(int parameter, string typeName) => $"= ANY(CAST({Parameter(parameter)} AS {typeName}[]))";

    public override string UtcNow => "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')";

    public override string UtcNowPlus(int seconds) =>
        $"({UtcNow} + INTERVAL '{seconds.ToString(CultureInfo.InvariantCulture)} seconds')";

    public override string TypeName(ColumnFamily family, bool indexed) => family switch
    {
        ColumnFamily.Integer => "BIGINT",
        ColumnFamily.Text => "TEXT",
        ColumnFamily.Timestamp => "TIMESTAMP",
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, null),
    };

    /// <summary>PostgreSQL keeps names exactly as created (a quoted name keeps its case).</summary>
    public override StringComparer CatalogNameComparer => StringComparer.Ordinal;

    public override SqlStatement UniqueIndexes(string schema) => new("CATALOG", schema,
        "SELECT t.relname, i.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid " +
        "JOIN pg_catalog.pg_class t ON t.oid = x.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace " +
        "WHERE x.indisunique AND n.nspname = $1", new object?[] { schema });

    public override SqlStatement SchemasWithPrefix(string prefix) => new("CATALOG", prefix + "*",
        $"SELECT nspname FROM pg_catalog.pg_namespace WHERE left(nspname, {prefix.Length.ToString(CultureInfo.InvariantCulture)}) = $1 ORDER BY nspname DESC",
        new object?[] { prefix });

    public override bool SupportsAdvisoryLocks => true;

    /// <summary><c>pg_try_advisory_lock</c> of the resource's 64-bit id (<see cref="AdvisoryLockId"/>).</summary>
    public override SqlStatement TryAdvisoryLock(string resource) =>
        new("ADVISORY LOCK", resource, "SELECT pg_try_advisory_lock($1)", new object?[] { AdvisoryLockId(resource) });

    public override SqlStatement ReleaseAdvisoryLock(string resource) =>
        new("ADVISORY UNLOCK", resource, "SELECT pg_advisory_unlock($1)", new object?[] { AdvisoryLockId(resource) });

    public override bool AdvisoryLockTaken(object? result) => result is true;

    public override SqlStatement? TryAdvisoryLocks(IReadOnlyList<string> resources) =>
        new("ADVISORY LOCK", $"{resources.Count} resource(s)",
            "SELECT u.i, pg_try_advisory_lock(u.k) FROM unnest(CAST($1 AS BIGINT[])) WITH ORDINALITY AS u(k, i) ORDER BY u.i",
            new object?[] { resources.Select(AdvisoryLockId).ToArray() });

    public override SqlStatement? ReleaseAdvisoryLocks(IReadOnlyList<string> resources) =>
        new("ADVISORY UNLOCK", $"{resources.Count} resource(s)",
            "SELECT count(*) FROM (SELECT pg_advisory_unlock(u.k) FROM unnest(CAST($1 AS BIGINT[])) AS u(k) OFFSET 0) AS d",
            new object?[] { resources.Select(AdvisoryLockId).ToArray() });

    /// <summary>
    /// Reads <c>pg_locks</c>: a granted advisory lock of this database on the resource's id, which PostgreSQL shows split
    /// into its high half (<c>classid</c>) and low half (<c>objid</c>), each as an unsigned 32-bit oid, with
    /// <c>objsubid</c> 1 for a bigint key.
    /// </summary>
    public override SqlStatement ProbeAdvisoryLock(string resource)
    {
        var id = unchecked((ulong)AdvisoryLockId(resource));
        return new("ADVISORY PROBE", resource,
            """
            SELECT CASE WHEN EXISTS (
                SELECT 1 FROM pg_catalog.pg_locks AS l
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = pg_catalog.current_database())
                  AND l.classid::bigint = $1 AND l.objid::bigint = $2) THEN 0 ELSE 1 END
            """, new object?[] { (long)(id >> 32), (long)(id & 0xFFFF_FFFFUL) });
    }

    public override SqlStatement? SessionsOfApplication(string applicationName) => new("CATALOG", "pg_stat_activity",
        """
        SELECT a.pid::bigint, a.usename::text, coalesce(a.state, '')::text, coalesce(a.query_start, a.backend_start), left(a.query, 200),
               CASE WHEN a.state IS DISTINCT FROM 'idle' THEN 1 ELSE 0 END
        FROM pg_catalog.pg_stat_activity AS a
        WHERE a.application_name = $1 AND a.backend_type = 'client backend' AND a.pid <> pg_catalog.pg_backend_pid()
        ORDER BY 1
        """, new object?[] { applicationName });

    /// <remarks>The sessions are chosen in a subquery fenced by <c>OFFSET 0</c>: with the filters and
    /// <c>pg_terminate_backend</c> in one WHERE clause the planner may call it before the filters, ending every session.</remarks>
    public override SqlStatement? EndSessionsOfApplication(string applicationName) => new("TERMINATE", applicationName,
        """
        SELECT d.pid::bigint
        FROM (SELECT a.pid
              FROM pg_catalog.pg_stat_activity AS a
              WHERE a.application_name = $1 AND a.backend_type = 'client backend' AND a.pid <> pg_catalog.pg_backend_pid()
              OFFSET 0) AS d
        WHERE pg_catalog.pg_terminate_backend(d.pid)
        ORDER BY 1
        """, new object?[] { applicationName });

    /// <summary>The 64-bit advisory lock id of a resource name: the first 8 bytes of its UTF-8 SHA-256.</summary>
    public static long AdvisoryLockId(string resource) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(resource)), 0);

    private static IReadOnlyList<object?> SchemaParameter(IReadOnlyList<string> schemas) => new object?[] { schemas.ToArray() };

    // Materialized views (relkind m) are reported as tables: they are not views SQLBuild can
    // replace, and "a table stands where the view belongs" is the accurate finding for them.
    public override SqlStatement CatalogRelations(IReadOnlyList<string> schemas) => CatalogRelations(schemas, viewDefinitions: true);

    // What a view reads comes from its rewrite rule's dependencies (pg_depend), never from pg_get_viewdef: deparsing took
    // 0.3 to 1 s per 10,000 views and is not MVCC-safe, while the dependencies are exact (a name in a comment or a string
    // literal is not a read) and cost a few index lookups a view. The definition column stays NULL.
    public override SqlStatement CatalogRelations(IReadOnlyList<string> schemas, bool viewDefinitions) => new(
        "CATALOG RELATIONS", DialectText.SchemaListTarget(schemas),
        viewDefinitions
            ? """
              SELECT n.nspname::text AS schema_name, c.relname::text AS relation_name,
                     CASE WHEN c.relkind = 'v' THEN 'view' ELSE 'table' END AS kind,
                     CAST(NULL AS text) AS view_definition, reads.read_schemas, reads.read_names
              FROM pg_catalog.pg_class AS c
              JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
              LEFT JOIN LATERAL (
                  SELECT COALESCE(array_agg(rn.nspname::text ORDER BY rn.nspname, r.relname), '{}') AS read_schemas,
                         COALESCE(array_agg(r.relname::text ORDER BY rn.nspname, r.relname), '{}') AS read_names
                  FROM (SELECT DISTINCT d.refobjid
                        FROM pg_catalog.pg_rewrite AS w
                        JOIN pg_catalog.pg_depend AS d
                          ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
                         AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> c.oid
                        WHERE w.ev_class = c.oid) AS x
                  JOIN pg_catalog.pg_class AS r ON r.oid = x.refobjid
                  JOIN pg_catalog.pg_namespace AS rn ON rn.oid = r.relnamespace
              ) AS reads ON c.relkind = 'v'
              WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm')
              """
            : """
              SELECT n.nspname::text AS schema_name, c.relname::text AS relation_name,
                     CASE WHEN c.relkind = 'v' THEN 'view' ELSE 'table' END AS kind,
                     CAST(NULL AS text) AS view_definition
              FROM pg_catalog.pg_class AS c
              JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm')
              """, SchemaParameter(schemas));

    public override SqlStatement CatalogRelationsNamed(string schema, IReadOnlyList<string> names) => new(
        "CATALOG RELATIONS", schema,
        """
        SELECT n.nspname::text AS schema_name, c.relname::text AS relation_name,
               CASE WHEN c.relkind = 'v' THEN 'view' ELSE 'table' END AS kind, CAST(NULL AS text) AS view_definition
        FROM unnest($2::text[]) AS w(relname)
        JOIN pg_catalog.pg_namespace AS n ON n.nspname = $1
        JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid AND c.relname = w.relname
        WHERE c.relkind IN ('r', 'p', 'v', 'm')
        """, new object?[] { schema, names.ToArray() });

    public override SqlStatement? ViewsNotPrefixOf(IReadOnlyList<(RelationName View, RelationName Target)> pairs) => new(
        "CATALOG COLUMNS", $"{pairs.Count} view(s)",
        """
        WITH pair AS (
            SELECT vc.oid AS view_oid, tc.oid AS target_oid, p.vs, p.vn
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS p(vs, vn, ts, tn)
            JOIN pg_catalog.pg_namespace AS vns ON vns.nspname = p.vs
            JOIN pg_catalog.pg_class AS vc ON vc.relnamespace = vns.oid AND vc.relname = p.vn
            JOIN pg_catalog.pg_namespace AS tns ON tns.nspname = p.ts
            JOIN pg_catalog.pg_class AS tc ON tc.relnamespace = tns.oid AND tc.relname = p.tn
        ), cols AS (
            SELECT pair.vs, pair.vn,
                   ARRAY(SELECT a.attname::text || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) || ' ' || a.attcollation::text
                         FROM pg_catalog.pg_attribute AS a
                         WHERE a.attrelid = pair.view_oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS view_columns,
                   ARRAY(SELECT a.attname::text || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) || ' ' || a.attcollation::text
                         FROM pg_catalog.pg_attribute AS a
                         WHERE a.attrelid = pair.target_oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS target_columns
            FROM pair
        )
        SELECT vs, vn FROM cols
        WHERE cardinality(view_columns) > cardinality(target_columns)
           OR view_columns IS DISTINCT FROM target_columns[1:cardinality(view_columns)]
        """, new object?[]
        {
            pairs.Select(p => p.View.Schema).ToArray(), pairs.Select(p => p.View.Name).ToArray(),
            pairs.Select(p => p.Target.Schema).ToArray(), pairs.Select(p => p.Target.Name).ToArray(),
        });

    // A view's rewrite rule depends on every relation (and column) it reads; DISTINCT folds the column rows.
    public override SqlStatement ViewsReading(string schema, IReadOnlyList<string> names) => new(
        "CATALOG VIEW DEPENDENCIES", schema,
        """
        SELECT DISTINCT vn.nspname::text AS view_schema, v.relname::text AS view_name, rn.nspname::text AS relation_schema, r.relname::text AS relation_name
        FROM pg_catalog.pg_depend AS d
        JOIN pg_catalog.pg_rewrite AS w ON w.oid = d.objid
        JOIN pg_catalog.pg_class AS v ON v.oid = w.ev_class
        JOIN pg_catalog.pg_namespace AS vn ON vn.oid = v.relnamespace
        JOIN pg_catalog.pg_class AS r ON r.oid = d.refobjid
        JOIN pg_catalog.pg_namespace AS rn ON rn.oid = r.relnamespace
        WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
          AND v.oid <> r.oid AND rn.nspname = $1 AND r.relname = ANY($2::text[])
        """, new object?[] { schema, names.ToArray() });

    public override SqlStatement CatalogSchemas(IReadOnlyList<string> schemas) => new(
        "CATALOG SCHEMAS", DialectText.SchemaListTarget(schemas),
        """
        SELECT n.nspname::text AS schema_name
        FROM pg_catalog.pg_namespace AS n
        WHERE n.nspname = ANY($1::text[])
        """, SchemaParameter(schemas));

    public override SqlStatement CatalogColumns(IReadOnlyList<string> schemas) => new(
        "CATALOG COLUMNS", DialectText.SchemaListTarget(schemas),
        """
        SELECT n.nspname::text AS schema_name, c.relname::text AS relation_name, a.attname::text AS column_name,
               pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type,
               CAST(row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum) AS integer) AS ordinal
        FROM pg_catalog.pg_attribute AS a
        JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm')
          AND a.attnum > 0 AND NOT a.attisdropped
        """, SchemaParameter(schemas));

    public override SqlStatement RelationColumns(RelationName relation) => new(
        "CATALOG COLUMNS", relation.ToString(),
        """
        SELECT a.attname::text AS column_name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type,
               CAST(row_number() OVER (ORDER BY a.attnum) AS integer) AS ordinal
        FROM pg_catalog.pg_attribute AS a
        JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """, new object?[] { relation.Schema, relation.Name });

    public override SqlStatement? RelationsColumns(IReadOnlyList<RelationName> relations) => new(
        "CATALOG COLUMNS", string.Join(", ", relations),
        """
        SELECT n.nspname::text, c.relname::text, a.attname::text AS column_name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type,
               CAST(row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum) AS integer) AS ordinal
        FROM unnest(CAST($1 AS text[]), CAST($2 AS text[])) AS w(s, r)
        JOIN pg_catalog.pg_namespace AS n ON n.nspname = w.s
        JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid AND c.relname = w.r
        JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid
        WHERE a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, 2, a.attnum
        """, new object?[] { relations.Select(r => r.Schema).ToArray(), relations.Select(r => r.Name).ToArray() });

    /// <summary>Column names and types of one table, for typed seed inserts. Parameter: the quoted qualified name.</summary>
    internal SqlStatement TableColumnTypes(RelationName table) => new(
        "CATALOG COLUMNS", table.ToString(),
        """
        SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = pg_catalog.to_regclass($1)::oid AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """, new object?[] { Qualify(table) });

    public override bool HasPrivileges => true;

    // Every table privilege can be granted on a view too (PostgreSQL keeps one ACL shape for both); MAINTAIN is 17+.
    private static readonly IReadOnlySet<string> TablePrivileges =
        new HashSet<string>(StringComparer.Ordinal) { "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN" };
    private static readonly IReadOnlySet<string> ColumnPrivileges =
        new HashSet<string>(StringComparer.Ordinal) { "SELECT", "INSERT", "UPDATE", "REFERENCES" };

    protected override IReadOnlySet<string> RelationPrivilegeKeywords(RelationKind kind) => TablePrivileges;
    // Not MAINTAIN: PostgreSQL 17's, which older servers refuse.
    public override IReadOnlyCollection<string> OwnerRights(RelationKind kind) => OwnerTableRights;
    private static readonly string[] OwnerTableRights = { "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER" };
    protected override IReadOnlySet<string> ColumnPrivilegeKeywords => ColumnPrivileges;

    /// <summary>
    /// The relations by name (two parallel text[]: schemas, names) or by oid (bigint[]): the entries of each relation's
    /// and each column's ACL but the owner's (an owner's rights are implicit, as on SQL Server; a NULL ACL holds nothing
    /// else), grantee 0 being PUBLIC; with <paramref name="allColumns"/> a row for every column.
    /// </summary>
    public override SqlStatement RelationPrivileges(IReadOnlyCollection<RelationName> relations, IReadOnlyCollection<long> ids, bool allColumns) => new(
        "CATALOG PRIVILEGES", DialectText.RelationListTarget(relations),
        $"""
        WITH wanted AS (
            SELECT c.oid
            FROM unnest($1::text[], $2::text[]) AS w(schema_name, relation_name)
            JOIN pg_catalog.pg_namespace AS n ON n.nspname = w.schema_name
            JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid AND c.relname = w.relation_name
            UNION
            SELECT CAST(i AS oid) FROM unnest($3::bigint[]) AS i
        ), rel AS (
            SELECT c.oid, n.nspname::text AS schema_name, c.relname::text AS relation_name,
                   CASE WHEN c.relkind = 'v' THEN 'view' ELSE 'table' END AS kind,
                   c.relowner, pg_catalog.pg_get_userbyid(c.relowner)::text AS owner, c.relacl
            FROM wanted
            JOIN pg_catalog.pg_class AS c ON c.oid = wanted.oid
            JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
        )
        SELECT r.oid::bigint, r.schema_name, r.relation_name, r.kind, r.owner, CAST(NULL AS text),
               CASE WHEN a.grantee <> 0 THEN pg_catalog.pg_get_userbyid(a.grantee)::text END, coalesce(a.grantee = 0, false),
               a.privilege_type, coalesce(a.is_grantable, false), false, current_user::text
        FROM rel AS r
        LEFT JOIN LATERAL (SELECT * FROM pg_catalog.aclexplode(r.relacl) AS x WHERE x.grantee <> r.relowner) AS a ON true
        UNION ALL
        SELECT r.oid::bigint, r.schema_name, r.relation_name, r.kind, r.owner, t.attname::text,
               CASE WHEN a.grantee <> 0 THEN pg_catalog.pg_get_userbyid(a.grantee)::text END, coalesce(a.grantee = 0, false),
               a.privilege_type, coalesce(a.is_grantable, false), false, current_user::text
        FROM rel AS r
        JOIN pg_catalog.pg_attribute AS t ON t.attrelid = r.oid AND t.attnum > 0 AND NOT t.attisdropped{(allColumns ? "" : " AND t.attacl IS NOT NULL")}
        {(allColumns ? "LEFT JOIN" : "JOIN")} LATERAL (SELECT * FROM pg_catalog.aclexplode(t.attacl) AS x WHERE x.grantee <> r.relowner) AS a ON true
        """, new object?[] { relations.Select(r => r.Schema).ToArray(), relations.Select(r => r.Name).ToArray(), ids.ToArray() });

    public override SqlStatement? SetLockTimeout(int milliseconds) =>
        new("SET", "lock_timeout", $"SET LOCAL lock_timeout = '{milliseconds.ToString(CultureInfo.InvariantCulture)}ms'");

    public override SqlStatement? SessionsLocking(IReadOnlyList<RelationName> relations) => new("CATALOG", "pg_locks",
        """
        SELECT DISTINCT a.pid::bigint, a.usename::text, a.application_name::text, a.state::text, coalesce(a.xact_start, a.query_start),
               left(a.query, 200)
        FROM pg_catalog.pg_locks AS l
        JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
        JOIN pg_catalog.pg_class AS c ON c.oid = l.relation
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE l.granted AND l.locktype = 'relation' AND a.pid <> pg_catalog.pg_backend_pid()
          AND (n.nspname || '.' || c.relname) = ANY($1)
        ORDER BY 1
        """, new object?[] { relations.Select(r => r.Schema + "." + r.Name).Distinct().ToArray() });

    public override SqlStatement? RowSecurity(RelationName relation) => new("CATALOG", relation.ToString(),
        """
        SELECT c.relrowsecurity, string_agg(p.polname::text, ', ' ORDER BY p.polname)
        FROM pg_catalog.pg_class AS c
        LEFT JOIN pg_catalog.pg_policy AS p ON p.polrelid = c.oid
        WHERE c.oid = $1::regclass
        GROUP BY c.relrowsecurity
        """, new object?[] { Qualify(relation) });

    public override SqlStatement? DependentViews(RelationName relation) => new("CATALOG", relation.ToString(),
        """
        SELECT DISTINCT vn.nspname::text, v.relname::text
        FROM pg_catalog.pg_depend AS d
        JOIN pg_catalog.pg_rewrite AS r ON r.oid = d.objid
        JOIN pg_catalog.pg_class AS v ON v.oid = r.ev_class
        JOIN pg_catalog.pg_namespace AS vn ON vn.oid = v.relnamespace
        WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
          AND d.refobjid = $1::regclass AND v.oid <> d.refobjid
        ORDER BY 1, 2
        """, new object?[] { Qualify(relation) });
}
