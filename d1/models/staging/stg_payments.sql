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
