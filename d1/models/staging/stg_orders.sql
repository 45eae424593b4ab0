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
