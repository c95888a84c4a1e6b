'use strict';
/**
 * osls plugin (serverless.yml `plugins:`): puts the Glue jobs' files into the stage's scripts bucket
 * after every `deploy`, so `osls deploy` alone leaves runnable jobs: glue/ (the script and the
 * shared files every job takes) at the same paths, and each extract folder's files (its definition
 * and SQL) at `extracts/<id>/<file>`, where its job's --extra-files and ResolveRun read them. The
 * bucket comes from the stack's `ScriptsBucketName` output; the extract files from the same
 * generator as the jobs (scripts/serverless-extract-stack.js), so EXTRACTS_PATH adds its extracts
 * here too. `package` checks every file exists, so a missing file fails offline instead of at the
 * first monthly run. After uploading, every other key under extracts/ is deleted (and named in the
 * deploy's log): a removed extract's definition, or a file its folder no longer has, cannot then be
 * started or read by a run.
 *
 * Plain CommonJS: osls loads plugins with require(), before any TypeScript tooling.
 */
const { readFileSync, existsSync } = require('node:fs');
const { dirname, extname, join } = require('node:path');
const extractStack = require('./serverless-extract-stack.js');

/** The job script; the shared files and each extract's come from the generator. Keys = paths in the repository. */
const GLUE_SCRIPT = { path: 'glue/etl.py', key: 'glue/etl.py', contentType: 'text/x-python; charset=utf-8' };
const CONTENT_TYPES = {
  '.sql': 'application/sql; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.pem': 'application/x-pem-file',
};
const BUCKET_OUTPUT = 'ScriptsBucketName';
/** Where the extract folders go in the scripts bucket (functions/core/deployed-extracts.ts). */
const EXTRACTS_PREFIX = 'extracts/';

/** The script, the files every job shares and every extract's files (`source` in the repository → `key` in the bucket). */
async function allAssets() {
  const { glueAssets } = await extractStack.generate();
  return [
    GLUE_SCRIPT,
    ...glueAssets.map(({ source, key }) => ({ path: source, key, contentType: CONTENT_TYPES[extname(source)] ?? 'application/octet-stream' })),
  ];
}

/** osls's own CloudFormation client package, so the plugin needs no dependency of its own for it. */
function cloudFormationSdk() {
  const oslsDir = dirname(require.resolve('osls/package.json'));
  return require(require.resolve('@aws-sdk/client-cloudformation', { paths: [oslsDir] }));
}

class GlueAssetsPlugin {
  constructor(serverless, _options, utils = {}) {
    this.serverless = serverless;
    this.provider = serverless.getProvider('aws');
    this.log = utils.log ?? console;
    this.hooks = {
      'before:package:finalize': () => this.checkAssets(),
      'after:deploy:deploy': () => this.uploadAssets(),
    };
  }

  get serviceDir() {
    return this.serverless.serviceDir;
  }

  async checkAssets() {
    const assets = await allAssets();
    const missing = assets.filter((asset) => !existsSync(join(this.serviceDir, asset.path))).map((a) => a.path);
    if (missing.length > 0) {
      throw new this.serverless.classes.Error(`The Glue jobs need ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} missing`);
    }
    return assets;
  }

  async uploadAssets(clients = {}) {
    const assets = await this.checkAssets();
    const config = await this.provider.getAwsSdkV3Config();
    const bucket = await this.scriptsBucket(clients.cloudFormation ?? this.cloudFormationClient(config));
    const { S3Client, PutObjectCommand, ListObjectsV2Command, DeleteObjectCommand } = require('@aws-sdk/client-s3');
    const s3 = clients.s3 ?? new S3Client(config);
    for (const asset of assets) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: asset.key,
          Body: readFileSync(join(this.serviceDir, asset.path)),
          ContentType: asset.contentType,
          // S3 checks the bytes it stored against this; the bucket's default encryption applies.
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    }
    this.log.notice?.(`Glue job files uploaded to s3://${bucket}/glue/ and /extracts/ (${assets.length} files)`);

    // Uploaded first: a failed deploy of the new files leaves the old ones in place, never none.
    const uploaded = new Set(assets.map((a) => a.key));
    const stale = [];
    let ContinuationToken;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: EXTRACTS_PREFIX, ContinuationToken }));
      for (const { Key } of page.Contents ?? []) if (Key !== undefined && !uploaded.has(Key)) stale.push(Key);
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    for (const key of stale) {
      // The bucket is versioned: the delete marker ends the key; earlier versions stay recoverable.
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      this.log.notice?.(`Deleted s3://${bucket}/${key}: no extract folder has it any more`);
    }
    return { bucket, keys: assets.map((a) => a.key), deleted: stale };
  }

  cloudFormationClient(config) {
    const { CloudFormationClient } = cloudFormationSdk();
    return new CloudFormationClient(config);
  }

  async scriptsBucket(cloudFormation) {
    const { DescribeStacksCommand } = cloudFormationSdk();
    const stackName = this.provider.naming.getStackName();
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const output = Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === BUCKET_OUTPUT);
    if (!output?.OutputValue) {
      throw new this.serverless.classes.Error(`Stack ${stackName} has no ${BUCKET_OUTPUT} output, so the Glue job files were not uploaded`);
    }
    return output.OutputValue;
  }
}

module.exports = GlueAssetsPlugin;
