/** How `npm start -- --engine spark` hands the --source URL to glue/etl.py: connection, TLS arguments, --extra-files. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { REPOSITORY_ROOT } from '../../extracts/folders';
import { GLUE_EXTRA_FILES, extractJobFiles } from '../../local/glue-spark/spark-jobs';
import { sparkSourceSettings } from '../../local/stand-ins/glue-spark-job';
import { CLIENT_ACTIVITY_FOLDER, LOAN_FOLDER } from '../support/engine-extracts';

let dir: string;
const savedPassword = process.env.PGPASSWORD;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'glue-spark-source-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  if (savedPassword === undefined) delete process.env.PGPASSWORD;
  else process.env.PGPASSWORD = savedPassword;
});

describe('extractJobFiles: what an extract\'s job gets with --extra-files', () => {
  it('the extract\'s definition and SQL, then the shared glue/ files, each base name once (Glue puts them in one folder)', () => {
    const loan = join(REPOSITORY_ROOT, 'extracts', 'loan-moving-average');
    expect(GLUE_EXTRA_FILES).toEqual([join(REPOSITORY_ROOT, 'glue', 'extract-layout.json'), join(REPOSITORY_ROOT, 'glue', 'rds-ca-bundle.pem')]);
    expect(extractJobFiles(LOAN_FOLDER)).toEqual([
      join(loan, 'extract.json'),
      join(loan, 'sql', 'branch_loans_3m.sql'),
      join(loan, 'sql', 'banks.sql'),
      join(loan, 'sql', 'rejected_loans.sql'),
      join(loan, 'sql', 'read_window.sql'),
      ...GLUE_EXTRA_FILES,
    ]);
    const client = extractJobFiles(CLIENT_ACTIVITY_FOLDER);
    expect(client.map((file) => basename(file))).toEqual(['extract.json', 'rows.sql', 'branches.sql', 'extract-layout.json', 'rds-ca-bundle.pem']);
    for (const files of [extractJobFiles(LOAN_FOLDER), client]) expect(new Set(files.map((f) => basename(f))).size).toBe(files.length);
  });
});

describe('sparkSourceSettings', () => {
  it('connects without TLS when the URL asks for none, with the job files of the deployed job', () => {
    delete process.env.PGPASSWORD;
    for (const url of ['postgres://reader:s3cret@db.local:6543/ods', 'postgres://reader:s3cret@db.local:6543/ods?sslmode=disable']) {
      expect(sparkSourceSettings(url)).toEqual({
        connection: { fullUrl: 'jdbc:postgresql://db.local:6543/ods', user: 'reader', password: 's3cret' },
        arguments: { '--ods_sslmode': 'disable' },
        extraFiles: GLUE_EXTRA_FILES,
      });
    }
  });

  it('takes PGPASSWORD for a password the URL leaves out, as node-postgres does', () => {
    process.env.PGPASSWORD = 'from-env';
    expect(sparkSourceSettings('postgres://reader@db.local/ods').connection.password).toBe('from-env');
    expect(sparkSourceSettings('postgres://reader:in-url@db.local/ods').connection.password).toBe('in-url');
  });

  it('verifies TLS against the URL\'s sslrootcert, passed to the job by its file name', async () => {
    const cert = join(dir, 'my-ca.pem');
    await writeFile(cert, '-----BEGIN CERTIFICATE-----\n');
    const settings = sparkSourceSettings(`postgres://reader@db.local/ods?sslmode=verify-full&sslrootcert=${encodeURIComponent(cert)}`);
    expect(settings.arguments).toEqual({ '--ods_sslmode': 'verify-full', '--ods_ssl_root_cert': 'my-ca.pem' });
    expect(settings.extraFiles).toEqual([...GLUE_EXTRA_FILES, cert]);
  });

  it.each([
    ['postgres://db.local/ods?sslmode=require', /sslmode=require: the Spark job connects with sslmode=verify-full/],
    ['postgres://db.local/ods?ssl=true', /ssl=true: the Spark job connects/],
    ['postgres://db.local/ods?sslmode=verify-full', /verify-full without sslrootcert/],
    ['postgres://db.local/ods?sslmode=verify-full&sslrootcert=/no/such/ca.pem', /sslrootcert \/no\/such\/ca.pem: no such file/],
  ])('refuses %s rather than read without the TLS it asks for', (url, message) => {
    expect(() => sparkSourceSettings(url)).toThrow(message);
  });
});
