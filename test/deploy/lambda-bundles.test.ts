/**
 * Each Lambda is packaged on its own by `osls package` (serverless-esbuild, package.individually):
 * one small zip holding its handler bundled with what it imports, the AWS SDK clients included.
 * The sizes are printed, so a change that bloats a bundle shows in the test output.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageStack, type PackagedStack } from './cloudformation';

const MAX_ZIP_BYTES = 1024 * 1024;
const HANDLERS: Record<string, string> = {
  resolveRun: 'functions/resolve-run.js',
  startCrawler: 'functions/start-crawler.js',
  getCrawlerState: 'functions/get-crawler-state.js',
  startExtractJob: 'functions/start-extract-job.js',
  getExtractJobState: 'functions/get-extract-job-state.js',
  publishExtracts: 'functions/publish-extracts.js',
  completeRun: 'functions/complete-run.js',
  notifyFailure: 'functions/notify-failure.js',
  checkMissedMonth: 'functions/check-missed-month.js',
};

let stack: PackagedStack;

beforeAll(async () => {
  stack = await packageStack('prod');
});
afterAll(async () => {
  await stack?.remove();
});

/** File names in a zip, from its central directory (no unzip tool needed). */
function zipEntries(path: string): string[] {
  const zip = readFileSync(path);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    names.push(zip.toString('utf8', offset + 46, offset + 46 + nameLength));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

describe('Lambda bundles', () => {
  it('packages each function into its own zip, under 1 MB, holding only its bundled handler', () => {
    const sizes: Record<string, string> = {};
    for (const [key, handler] of Object.entries(HANDLERS)) {
      const zip = join(stack.dir, `${key}.zip`);
      const bytes = statSync(zip).size;
      sizes[key] = `${(bytes / 1024).toFixed(0)} KiB zipped`;
      expect({ key, entries: zipEntries(zip) }).toEqual({ key, entries: [handler] });
      expect({ key, bytes: bytes < MAX_ZIP_BYTES }).toEqual({ key, bytes: true });
    }
    console.log(`Lambda bundle sizes (limit ${MAX_ZIP_BYTES / 1024} KiB):\n${Object.entries(sizes).map(([k, v]) => `  ${k.padEnd(20)} ${v}`).join('\n')}`);
  });

  it('points each function at its own zip in the template', () => {
    for (const key of Object.keys(HANDLERS)) {
      const logical = `${key[0]!.toUpperCase()}${key.slice(1)}LambdaFunction`;
      const code = (stack.template.Resources[logical]?.Properties?.Code ?? {}) as { S3Key?: string };
      expect({ key, s3Key: code.S3Key }).toEqual({ key, s3Key: expect.stringMatching(new RegExp(`/${key}\\.zip$`)) });
    }
  });
});
