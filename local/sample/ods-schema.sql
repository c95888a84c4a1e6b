-- The Operational Data Store's source model (contract section 1), as the sample and tests create it.
-- Names are unquoted, so PostgreSQL folds them to lower case. Nullability is left as the ODS has it:
-- the extract must cope with NULLs, so the sample does not forbid them.
CREATE TABLE bank (
  idbank int PRIMARY KEY,
  name varchar(100),
  capitalization int
);

CREATE TABLE branch (
  idbranch int PRIMARY KEY,
  bank_idbank int REFERENCES bank (idbank),
  address varchar(255)
);

CREATE TABLE worker (
  idworker int PRIMARY KEY,
  name varchar(50),
  surname varchar(50),
  branch_idbranch int REFERENCES branch (idbranch),
  position varchar(100)
);

CREATE TABLE client (
  idclient int PRIMARY KEY,
  name varchar(50),
  surname varchar(50),
  branch_idbranch int REFERENCES branch (idbranch)
);

-- One account per client.
CREATE TABLE account (
  idaccount int PRIMARY KEY,
  balance int,
  client_idclient int UNIQUE REFERENCES client (idclient),
  open_date date
);

CREATE TABLE loans (
  idloan int PRIMARY KEY,
  amount int,
  account_idaccount int REFERENCES account (idaccount),
  loan_date date
);

-- The extract reads one 3-month window of loans; this index is what lets it skip the rest of the
-- table. The production ODS should have it too (docs/decisions.md).
CREATE INDEX loans_loan_date_idx ON loans (loan_date);
