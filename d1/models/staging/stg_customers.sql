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
