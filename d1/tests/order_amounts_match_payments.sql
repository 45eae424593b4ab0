-- Every payment ends up on its order: returns the orders whose amount disagrees.
SELECT o.order_id
FROM __ref("fct_orders") AS o
JOIN (
  SELECT order_id, SUM(amount) AS paid
  FROM __ref("stg_payments")
  GROUP BY order_id
) AS p ON p.order_id = o.order_id
WHERE o.amount <> p.paid
