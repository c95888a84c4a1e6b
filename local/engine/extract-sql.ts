/** The two SQL files of glue/sql, as every engine runs them, and the window relation they read. */
import type { MonthWindow } from '../../functions/core/month';
import { readGlueSql } from './source-model';

/** The numbers of contract section 2: one row per branch, bank_id first. */
export const BRANCH_LOANS_SQL = readGlueSql('branch_loans_3m.sql');
/** Loans not counted, by reason. */
export const REJECTED_LOANS_SQL = readGlueSql('rejected_loans.sql');

/**
 * The one-row `extract_window` relation both SQL files read, built from the month logic. Dates are
 * validated ISO strings from monthWindow(), so inlining them as literals is safe.
 */
export function extractWindowSql(window: MonthWindow): string {
  return `SELECT CAST('${window.month}' AS VARCHAR(7)) AS month,
    CAST('${window.windowStart}' AS DATE) AS window_start,
    CAST('${window.monthStart}' AS DATE) AS month_start,
    CAST('${window.windowEnd}' AS DATE) AS window_end`;
}
