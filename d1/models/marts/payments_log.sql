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
