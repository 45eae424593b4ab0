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
