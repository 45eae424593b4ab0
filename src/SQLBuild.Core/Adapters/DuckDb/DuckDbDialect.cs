using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// DuckDB SQL. Identifiers have no practical length limit. Parameters are <c>$n</c> (bound
/// positionally by DuckDB.NET). Catalog reads use <c>duckdb_tables()</c> / <c>duckdb_views()</c> /
/// <c>duckdb_columns()</c> of the current database, non-internal only; the schema list is one LIST parameter.
/// <para>
/// Names. DuckDB reads a two-part name <c>a.b</c> as schema.relation or as catalog.relation, and refuses it
/// (<c>Ambiguous reference to catalog or schema "a"</c>) when a catalog and a schema are both called <c>a</c>. The
/// catalog of a database file is named after the file (<c>jaffle.duckdb</c> is <c>jaffle</c>), and the system
/// catalogs are <c>system</c> and <c>temp</c>: a target, physical or state schema of such a name made every statement
/// on it fail. A dialect made for a database (<see cref="DuckDbDatabase.Dialect"/>) knows its <see cref="Catalog"/> and
/// names a relation in such a schema with three parts, <c>"jaffle"."jaffle"."orders"</c>; every other relation keeps
/// its two-part name, so a view's stored definition does not name the file it was made in.
/// </para>
/// </summary>
public sealed class DuckDbDialect : AnsiSqlDialect
{
    /// <summary>The dialect without a database: two-part names only (SQL generation and its tests).</summary>
    public static readonly DuckDbDialect Instance = new(null);

    /// <param name="catalog">The catalog name of the database the statements run in (null: unknown).</param>
    public DuckDbDialect(string? catalog) => Catalog = catalog;

    /// <summary>The catalog of the database this dialect writes for; null for <see cref="Instance"/>.</summary>
    public string? Catalog { get; }

    /// <summary>Whether a two-part name in <paramref name="schema"/> could also read as a catalog's (case-insensitively, as DuckDB compares).</summary>
    public bool SchemaNamesCatalog(string schema) =>
        Catalog is not null && (string.Equals(schema, Catalog, StringComparison.OrdinalIgnoreCase) ||
                                string.Equals(schema, "system", StringComparison.OrdinalIgnoreCase) ||
                                string.Equals(schema, "temp", StringComparison.OrdinalIgnoreCase));

    public override string Qualify(RelationName relation) =>
        SchemaNamesCatalog(relation.Schema) ? QuoteIdentifier(Catalog!) + "." + base.Qualify(relation) : base.Qualify(relation);

    public override AdapterKind Kind => AdapterKind.DuckDb;
    protected override string EngineName => "duckdb";
    public override int MaxIdentifierLength => int.MaxValue;

    public override void ValidateIdentifier(string identifier, string what) => DialectText.ValidateCommon(identifier, what);

    public override string TypeName(SeedColumnType type) => type switch
    {
        SeedColumnType.Integer => "BIGINT",
        SeedColumnType.Decimal => "DECIMAL(38,10)",
        SeedColumnType.Boolean => "BOOLEAN",
        SeedColumnType.Date => "DATE",
        SeedColumnType.Timestamp => "TIMESTAMP",
        SeedColumnType.Text => "VARCHAR",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public override string UtcNow => "CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP)";

    public override string UtcNowPlus(int seconds) =>
        $"({UtcNow} + INTERVAL {seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} SECOND)";

    public override string TypeName(ColumnFamily family, bool indexed) => family switch
    {
        ColumnFamily.Integer => "BIGINT",
        ColumnFamily.Text => "VARCHAR",
        ColumnFamily.Timestamp => "TIMESTAMP",
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, null),
    };

    /// <summary>DuckDB resolves identifiers without case: a name read back from its catalog matches whatever case it was asked in.</summary>
    public override StringComparer CatalogNameComparer => StringComparer.OrdinalIgnoreCase;

    public override SqlStatement UniqueIndexes(string schema) => new("CATALOG", schema,
        "SELECT table_name, index_name FROM duckdb_indexes() WHERE is_unique AND database_name = current_database() AND schema_name = $1",
        new object?[] { schema });

    public override SqlStatement SchemasWithPrefix(string prefix) => new("CATALOG", prefix + "*",
        $"SELECT DISTINCT schema_name FROM duckdb_schemas() WHERE database_name = current_database() AND left(schema_name, {prefix.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)}) = $1 " +
        "ORDER BY schema_name DESC", new object?[] { prefix });

    // DuckDB.NET binds a List<string> as VARCHAR[] (a string[] is not bound as a list).
    private static IReadOnlyList<object?> SchemaParameter(IReadOnlyList<string> schemas) => new object?[] { schemas.ToList() };

    public override SqlStatement CatalogRelations(IReadOnlyList<string> schemas) => new(
        "CATALOG RELATIONS", DialectText.SchemaListTarget(schemas),
        """
        SELECT schema_name, table_name AS relation_name, 'table' AS kind, CAST(NULL AS VARCHAR) AS view_definition
        FROM duckdb_tables()
        WHERE database_name = current_database() AND NOT internal AND list_contains($1, schema_name)
        UNION ALL
        SELECT schema_name, view_name, 'view', sql
        FROM duckdb_views()
        WHERE database_name = current_database() AND NOT internal AND list_contains($1, schema_name)
        """, SchemaParameter(schemas));

    // DuckDB binds a view's names when it is queried and keeps no dependencies: the stored definition is what a view reads.
    // A name found in a definition that means something else only keeps a relation longer, never drops one early.
    public override SqlStatement ViewsReading(string schema, IReadOnlyList<string> names) => new(
        "CATALOG VIEW DEPENDENCIES", schema,
        """
        SELECT DISTINCT v.schema_name AS view_schema, v.view_name, $1 AS relation_schema, r.relation_name
        FROM duckdb_views() AS v, (SELECT unnest($2) AS relation_name) AS r
        WHERE v.database_name = current_database() AND NOT v.internal
          AND contains(lower(v.sql), lower(r.relation_name))
          AND NOT (v.schema_name = $1 AND v.view_name = r.relation_name)
        """, new object?[] { schema, names.ToList() });

    public override SqlStatement CatalogSchemas(IReadOnlyList<string> schemas) => new(
        "CATALOG SCHEMAS", DialectText.SchemaListTarget(schemas),
        """
        SELECT schema_name
        FROM duckdb_schemas()
        WHERE database_name = current_database() AND list_contains($1, schema_name)
        """, SchemaParameter(schemas));

    public override SqlStatement RelationColumns(RelationName relation) => new(
        "CATALOG COLUMNS", relation.ToString(),
        """
        SELECT column_name, data_type, CAST(column_index AS INTEGER) AS ordinal
        FROM duckdb_columns()
        WHERE database_name = current_database() AND schema_name = $1 AND table_name = $2
        ORDER BY column_index
        """, new object?[] { relation.Schema, relation.Name });

    public override SqlStatement CatalogColumns(IReadOnlyList<string> schemas) => new(
        "CATALOG COLUMNS", DialectText.SchemaListTarget(schemas),
        """
        SELECT schema_name, table_name AS relation_name, column_name, data_type, CAST(column_index AS INTEGER) AS ordinal
        FROM duckdb_columns()
        WHERE database_name = current_database() AND NOT internal AND list_contains($1, schema_name)
        """, SchemaParameter(schemas));

    /// <summary>Every index of the current database with the statement that creates it (DuckDB only):
    /// rows (schema_name, table_name, index_name, sql).</summary>
    public SqlStatement Indexes() => new(
        "CATALOG INDEXES", "database",
        """
        SELECT schema_name, table_name, index_name, sql
        FROM duckdb_indexes()
        WHERE database_name = current_database() AND sql IS NOT NULL
        ORDER BY schema_name, table_name, index_name
        """);

    /// <summary>Every table of the current database that has an index, with the statement that creates it
    /// (DuckDB only): rows (schema_name, table_name, sql). A table another one references by a foreign key is left
    /// out: DuckDB cannot drop it.</summary>
    public SqlStatement IndexedTables() => new(
        "CATALOG TABLES", "database",
        """
        SELECT t.schema_name, t.table_name, t.sql
        FROM duckdb_tables() t
        WHERE t.database_name = current_database() AND NOT t.temporary AND EXISTS (
            SELECT 1 FROM duckdb_indexes() i
            WHERE i.database_name = t.database_name AND i.schema_name = t.schema_name AND i.table_name = t.table_name)
        AND NOT EXISTS (
            SELECT 1 FROM duckdb_constraints() c
            WHERE c.database_name = t.database_name AND c.constraint_type = 'FOREIGN KEY' AND c.referenced_table = t.table_name)
        ORDER BY t.schema_name, t.table_name
        """);

    /// <summary>The DuckDB library's version, e.g. <c>v1.5.6</c>.</summary>
    public static SqlStatement Version() => new("VERSION", "duckdb", "SELECT version()");

    public SqlStatement DropIndex(string schema, string index) =>
        new("DROP INDEX", $"{schema}.{index}", $"DROP INDEX {Qualify(new RelationName(schema, index))}");

    public override bool WritersConflictInsteadOfWaiting => true;
}
