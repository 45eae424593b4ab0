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
