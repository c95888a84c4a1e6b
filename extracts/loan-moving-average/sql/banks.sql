-- Every bank gets a file each month, a header-only one when it has no branch: the entities the
-- extract is split by, as (id, name). Same relations as branch_loans_3m.sql.
SELECT idbank AS id, COALESCE(name, '') AS name FROM bank ORDER BY idbank
