namespace SQLBuild.Core.Tests.Support;

/// <summary>A realistic project: a seed, sources, staging views, marts tables, an incremental with every
/// kind of audit, a generic audit and a data test.</summary>
internal static class ShopProject
{
    public const string Toml = """
        name = "shop"
        adapter = "duckdb"
        default_target = "dev"

        [settings]
        virtual_environments = true
        concurrency = 8
        changes_only = true

        [connections.local]
        database = "shop.duckdb"

        [connections.mem]
        database = ":memory:"

        [targets.dev]
        connection = "local"
        schema = "dev"

        [targets.dev.state]
        backend = "duckdb"
        schema = "sqb_state"
        allow_reset = true
        unsuffixed_virtual_env = "dev"

        [targets.dev.state.connection]
        database = "state.duckdb"

        [targets.prod]
        connection = "mem"
        schema = "prod"
        changes_only = false

        [janitor]
        max_checkpoints = 5
        retention_days = 7
        history_days = 14
        """;

    public const string CountryCodes =
        "code,name,active,joined,updated_at,rate\r\n" +
        "US,United States,true,2024-01-05,2024-01-05 10:00:00,1.5\r\n" +
        "DE,\"Germany, \"\"Federal\"\" Republic\",false,2023-12-31,2024-02-01T08:30:00.125,2\r\n";

    public const string Sources = """
        sources:
          - name: raw_orders
            schema: raw
            table: orders
          - name: raw_customers
            schema: raw
            database: lake
        """;

    public const string StgOrders = """
        -- staging: one row per order
        /* header below */

        MODEL (
          materialized view,
          tags [staging, daily],
          description 'orders, cleaned; it''s fine'
        );

        SELECT id AS order_id, customer_id, status, amount, updated_at
        FROM __source("raw_orders")
        """;

    public const string StgCustomers = """
        SELECT c.id AS customer_id, c.name, cc.name AS country
        FROM __source('raw_customers') c
        LEFT JOIN __seed("country_codes") cc ON cc.code = c.country_code
        """;

    public const string DimCustomers = """
        MODEL (materialized table, tags [finance]);
        select * from __ref("stg_customers")
        """;

    public const string FctOrders = """
        MODEL (
          materialized incremental,
          incremental_strategy merge,
          unique_key [order_id],
          cursor updated_at,
          tags [finance, daily],
          audits [
            not_null(order_id),
            unique(order_id, severity warn),
            accepted_values(status, values ['new', 'paid']),
            relationships(customer_id, to "dim_customers", field "customer_id"),
            expression_is_true("amount >= 0"),
            positive(amount, min_value 0, severity warn)
          ]
        );
        SELECT o.*, 'x;y' AS s -- __ref("not_a_ref")
        FROM __ref("stg_orders") o
        JOIN __ref( "dim_customers" ) d ON d.customer_id = o.customer_id
        WHERE o.updated_at > (SELECT max(updated_at) FROM __ref("stg_orders"));
        """;

    public const string PositiveAudit = """
        AUDIT (description 'column is at least @min_value');
        SELECT * FROM @relation WHERE @column < @min_value
        """;

    public const string OrdersTest = """
        SELECT o.order_id FROM __ref("fct_orders") o
        LEFT JOIN __ref("dim_customers") d USING (customer_id)
        WHERE d.customer_id IS NULL;
        """;

    public static Dictionary<string, string> Files() => new()
    {
        ["sqlbuild_project.toml"] = Toml,
        ["seeds/country_codes.csv"] = CountryCodes,
        ["sources/raw.yml"] = Sources,
        ["models/staging/stg_orders.sql"] = StgOrders,
        ["models/staging/stg_customers.sql"] = StgCustomers,
        ["models/marts/dim_customers.sql"] = DimCustomers,
        ["models/marts/fct_orders.sql"] = FctOrders,
        ["audits/positive.sql"] = PositiveAudit,
        ["tests/orders_have_customers.sql"] = OrdersTest,
    };
}
