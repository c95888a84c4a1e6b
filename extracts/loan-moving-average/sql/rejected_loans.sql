-- Loans the extract does not count, by reason (contract section 1), for the run's manifest.
-- Same relations as branch_loans_3m.sql. A loan is counted under its first failing reason, in the
-- order below; loans outside the window are not looked at, except that a NULL loan_date puts a loan
-- in no month at all, so those are reported by every run.
SELECT reason, CAST(COUNT(*) AS BIGINT) AS row_count
FROM (
  SELECT
    CASE
      WHEN l.loan_date IS NULL THEN 'null_loan_date'
      WHEN l.amount IS NULL THEN 'null_amount'
      WHEN a.idaccount IS NULL THEN 'unresolved_account'
      WHEN c.idclient IS NULL THEN 'unresolved_client'
      WHEN br.idbranch IS NULL THEN 'unresolved_branch'
      WHEN b.idbank IS NULL THEN 'unresolved_bank'
    END AS reason
  FROM loans l
  CROSS JOIN extract_window w
  LEFT JOIN account a ON a.idaccount = l.account_idaccount
  LEFT JOIN client c ON c.idclient = a.client_idclient
  LEFT JOIN branch br ON br.idbranch = c.branch_idbranch
  LEFT JOIN bank b ON b.idbank = br.bank_idbank
  WHERE l.loan_date IS NULL
     OR (l.loan_date >= w.window_start AND l.loan_date < w.window_end)
) classified
WHERE reason IS NOT NULL
GROUP BY reason
ORDER BY reason
