/** The `extract_window` relation every extract's SQL reads (its SQL text is in its folder: extracts/folders.ts). */
import type { MonthWindow } from '../../functions/core/month';

/**
 * The one-row `extract_window` relation the SQL files read, built from the month logic. Dates are
 * validated ISO strings from monthWindow(), so inlining them as literals is safe.
 */
export function extractWindowSql(window: MonthWindow): string {
  return `SELECT CAST('${window.month}' AS VARCHAR(7)) AS month,
    CAST('${window.windowStart}' AS DATE) AS window_start,
    CAST('${window.monthStart}' AS DATE) AS month_start,
    CAST('${window.windowEnd}' AS DATE) AS window_end`;
}
