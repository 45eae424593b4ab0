using System.Text;
using System.Text.RegularExpressions;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Templates;

public enum ProjectTemplateKind { Direct, Virtual }

/// <summary>
/// The project <c>New-SqbProject</c> writes: seeds, staging views, mart tables, one incremental,
/// built-in and generic audits, and a data test. Its SQL is portable across DuckDB, PostgreSQL and
/// SQL Server.
/// </summary>
public static class ProjectTemplates
{
    private static readonly Regex NameRule = new("^[a-z][a-z0-9_]*$", RegexOptions.Compiled);

    /// <summary>A project name derived from a folder name (<c>My-Shop</c> -> <c>my_shop</c>).</summary>
    public static string NameFromFolder(string folder)
    {
        var n = Regex.Replace(folder.ToLowerInvariant(), "[^a-z0-9_]+", "_").Trim('_');
        if (n.Length == 0 || !char.IsLetter(n[0])) n = "project_" + n;
        return n;
    }

    /// <summary>The files of a template, as relative path -> content.</summary>
    public static IReadOnlyDictionary<string, string> Files(string name, ProjectTemplateKind template, AdapterKind adapter)
    {
        if (!NameRule.IsMatch(name))
            throw new SqbException(ErrorCodes.ConfigInvalid, "InvalidProjectName",
                $"project name '{name}' must match ^[a-z][a-z0-9_]*$", SqbErrorKind.InvalidArgument, name);
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["sqlbuild_project.toml"] = ProjectToml(name, template, adapter),
            [".gitignore"] = "sqlbuild_local.toml\n*.duckdb\n*.duckdb.wal\n*.duckdb.sqb-open\n",
            ["seeds/raw_customers.csv"] = Customers,
            ["seeds/raw_orders.csv"] = Orders,
            ["seeds/raw_payments.csv"] = Payments,
            ["models/staging/stg_customers.sql"] = StgCustomers,
            ["models/staging/stg_orders.sql"] = StgOrders,
            ["models/staging/stg_payments.sql"] = StgPayments,
            ["models/marts/fct_orders.sql"] = FctOrders,
            ["models/marts/dim_customers.sql"] = DimCustomers,
            ["models/marts/payments_log.sql"] = PaymentsLog,
            ["audits/non_negative.sql"] = NonNegative,
            ["tests/order_amounts_match_payments.sql"] = AmountsTest,
        };
        return files;
    }

    /// <summary>Writes the template into <paramref name="directory"/> (created when missing). Refuses a
    /// folder that already holds a project unless <paramref name="force"/>. Returns the written paths.</summary>
    public static IReadOnlyList<string> Write(string directory, string name, ProjectTemplateKind template, AdapterKind adapter, bool force)
    {
        var files = Files(name, template, adapter);
        if (!force && File.Exists(System.IO.Path.Combine(directory, "sqlbuild_project.toml")))
            throw new SqbException(ErrorCodes.ConfigInvalid, "ProjectExists",
                $"'{directory}' already holds sqlbuild_project.toml", SqbErrorKind.InvalidOperation, directory,
                "Choose an empty folder, or use -Force to overwrite the template files.");
        var written = new List<string>();
        foreach (var (rel, content) in files)
        {
            var full = System.IO.Path.Combine(directory, rel.Replace('/', System.IO.Path.DirectorySeparatorChar));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content.ReplaceLineEndings("\n"), new UTF8Encoding(false));
            written.Add(full);
        }
        return written;
    }

    private static string ProjectToml(string name, ProjectTemplateKind template, AdapterKind adapter)
    {
        var sb = new StringBuilder();
        var adapterName = adapter switch { AdapterKind.Postgres => "postgres", AdapterKind.SqlServer => "sqlserver", _ => "duckdb" };
        sb.Append($"name = \"{name}\"\nadapter = \"{adapterName}\"\ndefault_target = \"dev\"\n\n");
        sb.Append("[settings]\n");
        sb.Append($"virtual_environments = {(template == ProjectTemplateKind.Virtual ? "true" : "false")}\n");
        sb.Append("concurrency = 4\n\n");
        sb.Append("[connections.local]\n");
        sb.Append(adapter switch
        {
            AdapterKind.Postgres =>
                "host = \"localhost\"\nport = 5432\nuser = \"postgres\"\npassword = \"${ENV:SQB_PG_PASSWORD}\"\n" +
                $"dbname = \"{name}\"\n",
            AdapterKind.SqlServer =>
                "server = \"localhost\"\n" + $"database = \"{name}\"\n" +
                "user = \"sa\"\npassword = \"${ENV:SQB_SQL_PASSWORD}\"\nencrypt = true\ntrust_server_certificate = true\n",
            _ => $"database = \"{name}.duckdb\"\n",
        });
        foreach (var target in new[] { "dev", "prod" })
        {
            sb.Append($"\n[targets.{target}]\nconnection = \"local\"\nschema = \"{target}\"\n");
            if (template == ProjectTemplateKind.Virtual)
                // Each target keeps its own state store (upstream: per-target state); both share one file here.
                sb.Append($"\n[targets.{target}.state]\nbackend = \"{adapterName}\"\nschema = \"{(target == "dev" ? "sqlbuild_state" : "sqlbuild_state_" + target)}\"\n" +
                          $"allow_reset = false\nunsuffixed_virtual_env = \"{target}\"\n");
        }
        return sb.ToString();
    }

    private const string Customers = """
id,first_name,last_name,email,signup_date
1,Ada,Lovelace,ada@example.com,2024-01-03
2,Grace,Hopper,grace@example.com,2024-01-11
3,Edsger,Dijkstra,edsger@example.com,2024-02-02
4,Barbara,Liskov,barbara@example.com,2024-02-15
5,Donald,Knuth,donald@example.com,2024-03-01
6,Frances,Allen,frances@example.com,2024-03-09
7,Ken,Thompson,ken@example.com,2024-03-20
8,Margaret,Hamilton,margaret@example.com,2024-04-04

""";

    private const string Orders = """
id,customer_id,order_date,status
101,1,2024-04-01,completed
102,1,2024-04-09,completed
103,2,2024-04-10,shipped
104,3,2024-04-12,completed
105,3,2024-04-18,returned
106,4,2024-04-20,placed
107,5,2024-04-21,completed
108,5,2024-04-25,shipped
109,6,2024-05-02,completed
110,7,2024-05-03,placed
111,8,2024-05-05,completed
112,8,2024-05-06,completed

""";

    private const string Payments = """
id,order_id,payment_method,amount,paid_at
1001,101,card,35.50,2024-04-01 10:15:00
1002,102,card,12.00,2024-04-09 09:01:00
1003,102,voucher,5.00,2024-04-09 09:02:00
1004,103,bank_transfer,80.25,2024-04-11 16:40:00
1005,104,card,19.99,2024-04-12 12:00:00
1006,105,card,42.00,2024-04-18 18:30:00
1007,107,card,7.50,2024-04-21 08:45:00
1008,108,voucher,60.00,2024-04-25 20:10:00
1009,109,card,23.10,2024-05-02 11:11:00
1010,111,bank_transfer,99.00,2024-05-05 14:00:00
1011,112,card,15.75,2024-05-06 19:20:00

""";

    private const string StgCustomers = """
MODEL (
  materialized view,
  tags [staging],
  audits [not_null(customer_id), unique(customer_id)]
);
SELECT
  id AS customer_id,
  first_name,
  last_name,
  email,
  signup_date
FROM __seed("raw_customers")

""";

    private const string StgOrders = """
MODEL (
  materialized view,
  tags [staging],
  audits [
    not_null(order_id),
    accepted_values(status, values ['placed', 'shipped', 'completed', 'returned'])
  ]
);
SELECT
  id AS order_id,
  customer_id,
  order_date,
  status
FROM __seed("raw_orders")

""";

    private const string StgPayments = """
MODEL (
  materialized view,
  tags [staging],
  audits [not_null(payment_id), non_negative(amount)]
);
SELECT
  id AS payment_id,
  order_id,
  payment_method,
  amount,
  paid_at
FROM __seed("raw_payments")

""";

    private const string FctOrders = """
MODEL (
  materialized table,
  tags [marts, finance],
  description 'One row per order with the amount paid for it.',
  audits [
    not_null(order_id),
    unique(order_id),
    relationships(customer_id, to "stg_customers", field "customer_id"),
    expression_is_true("amount >= 0")
  ]
);
SELECT
  o.order_id,
  o.customer_id,
  o.order_date,
  o.status,
  COALESCE(SUM(p.amount), 0) AS amount
FROM __ref("stg_orders") AS o
LEFT JOIN __ref("stg_payments") AS p ON p.order_id = o.order_id
GROUP BY o.order_id, o.customer_id, o.order_date, o.status

""";

    private const string DimCustomers = """
MODEL (
  materialized table,
  tags [marts],
  audits [unique(customer_id), not_null(email, severity warn)]
);
SELECT
  c.customer_id,
  c.first_name,
  c.last_name,
  c.email,
  COUNT(o.order_id) AS order_count,
  COALESCE(SUM(o.amount), 0) AS lifetime_value
FROM __ref("stg_customers") AS c
LEFT JOIN __ref("fct_orders") AS o ON o.customer_id = c.customer_id
GROUP BY c.customer_id, c.first_name, c.last_name, c.email

""";

    private const string PaymentsLog = """
MODEL (
  materialized incremental,
  incremental_strategy merge,
  unique_key payment_id,
  cursor paid_at,
  tags [finance],
  audits [unique(payment_id)]
);
SELECT
  payment_id,
  order_id,
  payment_method,
  amount,
  paid_at
FROM __ref("stg_payments")

""";

    private const string NonNegative = """
-- Generic audit: rows whose @column is negative.
SELECT * FROM @relation WHERE @column < 0

""";

    private const string AmountsTest = """
-- Every payment ends up on its order: returns the orders whose amount disagrees.
SELECT o.order_id
FROM __ref("fct_orders") AS o
JOIN (
  SELECT order_id, SUM(amount) AS paid
  FROM __ref("stg_payments")
  GROUP BY order_id
) AS p ON p.order_id = o.order_id
WHERE o.amount <> p.paid

""";
}
