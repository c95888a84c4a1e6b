-- What the extract reads of loans, account and client (contract section 3: only what the month
-- references), run by PostgreSQL, where the rows are: both engines push it down as is, in their one
-- snapshot, and the numbers are still computed only by branch_loans_3m.sql and rejected_loans.sql.
--
-- One row per loan with loan_date in the window or NULL (those are reported every month), carrying
-- the key and columns of the account and client it references, found here so that only referenced
-- rows travel. Each engine rebuilds loans, account and client from these rows
-- (glue/source-model.json, "windowRead"): loans from every row; account and client as the distinct
-- resolved keys with their columns. So:
-- * account_idaccount is the account found (NULL when the loan's reference is NULL or dangling), and
--   client_idclient the account's client found: a dangling reference and a NULL one are both
--   "unresolved" to the SQL that counts, so the reasons stay exactly what they were.
-- * A NULL-date loan is in no window and rejected first as null_loan_date, so its account is not
--   looked up: what is read does not grow with the history's NULL-date loans.
-- * LEFT joins: an unresolved loan is still read, to be counted by reason.
-- Reads the relation extract_window (the drivers define it, as for the other files) and the ODS
-- tables by their unqualified names (the drivers set search_path to the model's schema).
SELECT
  l.amount,
  a.idaccount AS account_idaccount,
  l.loan_date,
  c.idclient AS client_idclient,
  c.branch_idbranch
FROM loans l
CROSS JOIN extract_window w
LEFT JOIN account a ON a.idaccount = l.account_idaccount AND l.loan_date IS NOT NULL
LEFT JOIN client c ON c.idclient = a.client_idclient
WHERE l.loan_date IS NULL
   OR (l.loan_date >= w.window_start AND l.loan_date < w.window_end)
