-- The one definition of the extract's numbers (contract section 2). Run as is by Spark SQL on AWS
-- Glue, by DuckDB locally and by PostgreSQL in tests, so it keeps to what all three accept.
--
-- Reads the relations bank, branch, client, account, loans (the ODS tables; loans may be cut to the
-- window) and extract_window, one row made by the driver from the month logic:
--   month (YYYY-MM), window_start (first day of M-2), month_start (first day of M),
--   window_end (first day of M+1, exclusive).
-- Returns one row per branch of every bank, bank_id first (drivers partition files by it and drop it).
--
-- Why it is written this way:
-- * Calendar-month bounds, not window functions over rows: a month without loans counts as 0 and the
--   average always divides by 3 (ROWS BETWEEN 2 PRECEDING silently skips gap months).
-- * Integer sums as BIGINT: three months of INT amounts pass 2^31.
-- * No floating point: DuckDB turns decimal division into DOUBLE, so the average is computed in
--   integer cents. round_half_away_from_zero(100 * s / 3) = div(200 * s + 3, 6) for s >= 0 (and the
--   mirror for s < 0), with div truncating toward zero. div() is built into Spark and PostgreSQL; the
--   local engine defines it for DuckDB as a // b.
-- * A loan with NULL amount or loan_date, or whose account, client, branch or bank does not resolve,
--   is not counted: inner joins drop it here, and rejected_loans.sql counts it by reason.
WITH window_loans AS (
  SELECT
    c.branch_idbranch AS branch_id,
    CAST(l.amount AS BIGINT) AS amount,
    CASE WHEN l.loan_date >= w.month_start THEN 1 ELSE 0 END AS in_month
  FROM loans l
  CROSS JOIN extract_window w
  JOIN account a ON a.idaccount = l.account_idaccount
  JOIN client c ON c.idclient = a.client_idclient
  WHERE l.loan_date >= w.window_start
    AND l.loan_date < w.window_end
    AND l.amount IS NOT NULL
),
branch_totals AS (
  SELECT
    branch_id,
    CAST(SUM(in_month) AS BIGINT) AS loan_count,
    CAST(SUM(in_month * amount) AS BIGINT) AS loan_amount,
    CAST(COUNT(*) AS BIGINT) AS loan_count_3m,
    CAST(SUM(amount) AS BIGINT) AS loan_amount_3m
  FROM window_loans
  GROUP BY branch_id
),
branch_rows AS (
  SELECT
    b.idbank AS bank_id,
    b.name AS bank_name,
    br.idbranch AS branch_id,
    br.address AS branch_address,
    w.month AS month,
    COALESCE(t.loan_count, CAST(0 AS BIGINT)) AS loan_count,
    COALESCE(t.loan_amount, CAST(0 AS BIGINT)) AS loan_amount,
    COALESCE(t.loan_count_3m, CAST(0 AS BIGINT)) AS loan_count_3m,
    COALESCE(t.loan_amount_3m, CAST(0 AS BIGINT)) AS loan_amount_3m
  FROM bank b
  JOIN branch br ON br.bank_idbank = b.idbank
  CROSS JOIN extract_window w
  LEFT JOIN branch_totals t ON t.branch_id = br.idbranch
)
SELECT
  bank_id,
  bank_name,
  branch_id,
  branch_address,
  month,
  loan_count,
  loan_amount,
  loan_count_3m,
  loan_amount_3m,
  CAST(
    CAST(
      div(CASE WHEN loan_amount_3m >= 0 THEN 200 * loan_amount_3m + 3 ELSE 200 * loan_amount_3m - 3 END, 6)
      AS DECIMAL(20, 0)
    ) * 0.01
    AS DECIMAL(20, 2)
  ) AS moving_avg_3m
FROM branch_rows
ORDER BY bank_id, branch_id
