/**
 * Where published files live in the extract bucket (contract section 3). The one definition of
 * these keys: publishing, the manifest, tests and the local runner all take them from here.
 */
import type { MonthWindow } from './month';

export const EXTRACTS_PREFIX = 'extracts/';
/** The analysts' Parquet copy of each published file (resources/analytics.yml reads it with Athena). */
export const ANALYTICS_PREFIX = 'analytics/';

export type KeyMonth = Pick<MonthWindow, 'year' | 'monthOfYear' | 'fileDate'>;

const FILE_SAFE = /^[A-Za-z0-9]+$/;

/** `extracts/bank_name=<Bank>/year=<YYYY>/month=<MM>/<Bank>_<YYYYMMDD>.csv`; `fileBankName` comes from bank-naming. */
export function extractFileKey(fileBankName: string, month: KeyMonth): string {
  return bankMonthKey(EXTRACTS_PREFIX, fileBankName, month, 'csv');
}

/** `analytics/bank_name=<Bank>/year=<YYYY>/month=<MM>/<Bank>_<YYYYMMDD>.parquet`: the same rows, as Parquet. */
export function analyticsFileKey(fileBankName: string, month: KeyMonth): string {
  return bankMonthKey(ANALYTICS_PREFIX, fileBankName, month, 'parquet');
}

/** The file-safe bank name in a key `extractFileKey` made (`extracts/bank_name=<Bank>/…` → `<Bank>`). */
export function fileBankNameOfKey(key: string): string {
  const match = /(?:^|\/)bank_name=([A-Za-z0-9]+)\//.exec(key);
  if (!match) throw new Error(`${key} is not a published file's key (no bank_name=<Bank>/)`);
  return match[1]!;
}

function bankMonthKey(prefix: string, fileBankName: string, month: KeyMonth, extension: string): string {
  // A guard, not validation: callers pass names from fileSafeBankName, and a bad one must never reach S3.
  if (!FILE_SAFE.test(fileBankName)) {
    throw new Error(`"${fileBankName}" is not a file-safe bank name (A-Z a-z 0-9 only)`);
  }
  return `${prefix}bank_name=${fileBankName}/year=${month.year}/month=${month.monthOfYear}/${fileBankName}_${month.fileDate}.${extension}`;
}

/** Where every month's manifest lives. */
export const MANIFESTS_PREFIX = `${EXTRACTS_PREFIX}_manifests/`;

/** `extracts/_manifests/year=<YYYY>/month=<MM>/manifest.json` */
export function manifestKey(month: KeyMonth): string {
  return `${MANIFESTS_PREFIX}year=${month.year}/month=${month.monthOfYear}/manifest.json`;
}
