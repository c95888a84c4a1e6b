/**
 * The Glue stand-in's Spark engine (`npm start -- --engine spark`): each job run is glue/etl.py on
 * the local Spark of local/glue-spark, with the arguments and JDBC connection the deployed job gets.
 * Spark stages to a local folder (its S3 connectors would need the AWS SDK on the class path); once
 * the run succeeds, every file it wrote there is uploaded under the run's real S3 staging prefix,
 * same relative keys, same bytes, so publishing reads what it reads on AWS. The local Spark starts
 * with the first job run and stops with the stack.
 */
import { createReadStream, createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { GLUE_EXTRA_FILES, extractFolderFiles, jdbcConnectionOf, startSparkJobs, type JdbcConnection, type SparkJobs } from '../glue-spark/spark-jobs';
import type { ExtractJob } from './glue';
import { S3StagingSink } from './s3-staging-sink';

/** The Glue connection the local job reads the ODS through (the deployed job's `--connection_name`). */
export const LOCAL_CONNECTION_NAME = 'local-ods';

/** The job itself failed: its message is the job run's ErrorMessage, as Glue reports it. */
export class JobRunFailure extends Error {}

export interface SparkJobEngineOptions {
  /** The ODS: postgres:// URL of a real PostgreSQL server. */
  readonly sourceUrl: string;
  readonly s3: S3Client;
  /** The local Spark's log (its stderr, and etl.py's), appended to. */
  readonly logPath: string;
  /** A job run stages under `<stagingRoot>/<jobRunId>/` until it is uploaded, then that folder goes. */
  readonly stagingRoot: string;
}

export interface SparkJobEngine {
  /** Runs glue/etl.py as `job` with the run's arguments; the staging lands under s3://bucket/prefix/ on success. */
  run(
    jobRunId: string,
    job: ExtractJob,
    args: Readonly<Record<string, string>>,
    staging: { readonly bucket: string; readonly prefix: string },
  ): Promise<void>;
  close(): Promise<void>;
}

/** How the Spark job reaches the ODS of `sourceUrl`: the connection, the job's TLS arguments and its --extra-files. */
export interface SparkSourceSettings {
  readonly connection: JdbcConnection;
  readonly arguments: Readonly<Record<string, string>>;
  /** The shared files of every job, and the CA file when TLS is verified (the extract's own come first: extractJobFiles). */
  readonly extraFiles: readonly string[];
}

/**
 * The job verifies TLS (sslmode=verify-full against a CA file) or goes without (disable); a URL that
 * asks for TLS any other way is refused rather than silently read without it. Like node-postgres,
 * PGPASSWORD stands in for a password the URL leaves out.
 */
export function sparkSourceSettings(sourceUrl: string): SparkSourceSettings {
  const url = new URL(sourceUrl);
  const login = jdbcConnectionOf(sourceUrl);
  const connection = { ...login, password: login.password || process.env.PGPASSWORD || '' };
  const sslmode = url.searchParams.get('sslmode');
  const ssl = url.searchParams.get('ssl');
  if (sslmode === 'disable' || (sslmode === null && (ssl === null || ssl === '0' || ssl === 'false'))) {
    return { connection, arguments: { '--ods_sslmode': 'disable' }, extraFiles: GLUE_EXTRA_FILES };
  }
  const supported = 'the Spark job connects with sslmode=verify-full and sslrootcert=<CA file>, or without TLS (sslmode=disable)';
  if (sslmode !== 'verify-full') throw new Error(`${sslmode === null ? `ssl=${ssl}` : `sslmode=${sslmode}`}: ${supported}`);
  const rootCert = url.searchParams.get('sslrootcert');
  if (!rootCert) throw new Error(`sslmode=verify-full without sslrootcert: ${supported}`);
  const certPath = resolve(rootCert);
  if (!existsSync(certPath)) throw new Error(`sslrootcert ${rootCert}: no such file`);
  return {
    connection,
    arguments: { '--ods_sslmode': 'verify-full', '--ods_ssl_root_cert': basename(certPath) },
    // Last, so it is the one in the job's working directory even if it shares a name with the job's own files.
    extraFiles: [...GLUE_EXTRA_FILES, certPath],
  };
}

export function sparkJobEngine(options: SparkJobEngineOptions): SparkJobEngine {
  const source = sparkSourceSettings(options.sourceUrl);
  let started: Promise<{ jobs: SparkJobs; log: WriteStream }> | undefined;
  const start = async () => {
    await mkdir(dirname(options.logPath), { recursive: true });
    const log = createWriteStream(options.logPath, { flags: 'a' });
    try {
      return { jobs: await startSparkJobs({ log, ownProcessGroup: true }), log };
    } catch (error) {
      log.end();
      throw error;
    }
  };

  return {
    async run(jobRunId, job, args, staging) {
      const folder = join(options.stagingRoot, jobRunId);
      await rm(folder, { recursive: true, force: true });
      try {
        const { jobs, log } = await (started ??= start());
        log.write(`\n== ${new Date().toISOString()} job run ${jobRunId} of ${job.name}: ${args['--month']}, run ${args['--run_id']}, staging ${folder}\n`);
        const result = await jobs.run({
          // The deployed job's DefaultArguments (and the --JOB_NAME Glue adds), then the run's own.
          arguments: {
            '--JOB_NAME': job.name,
            '--connection_name': LOCAL_CONNECTION_NAME,
            ...source.arguments,
            ...args,
            '--staging_path': `file://${folder}/`,
          },
          connections: { [LOCAL_CONNECTION_NAME]: source.connection },
          // The job's --extra-files: its extract's folder, then the shared files (and the CA file, last).
          extraFiles: [...extractFolderFiles(job.extract), ...source.extraFiles],
        });
        if (result.status === 'FAILED') throw new JobRunFailure(result.error ?? 'the Spark job failed');
        await uploadStagedFolder(folder, new S3StagingSink(options.s3, staging.bucket, staging.prefix));
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    },
    async close() {
      const running = await started?.catch(() => undefined);
      if (!running) return;
      await running.jobs.close();
      await new Promise<void>((done) => running.log.end(done));
    },
  };
}

/**
 * Uploads every file under `folder` with its path as the relative key: `_SUCCESS`, empty parts and
 * all, except Hadoop's checksum files (`.<name>.crc`), which only its local file system writes.
 * Returns the keys.
 */
export async function uploadStagedFolder(folder: string, sink: S3StagingSink): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const keys = entries
    .filter((entry) => entry.isFile() && !(entry.name.startsWith('.') && entry.name.endsWith('.crc')))
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
  for (const key of keys) await sink.putObject(key, createReadStream(join(folder, ...key.split('/'))));
  return keys;
}
