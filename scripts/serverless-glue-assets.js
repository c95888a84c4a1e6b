'use strict';
/**
 * osls plugin (serverless.yml `plugins:`): puts the Glue job's files from glue/ into the stage's
 * scripts bucket after every `deploy`, so `osls deploy` alone leaves a runnable job. The bucket
 * comes from the stack's `ScriptsBucketName` output; the files are the ones the job definition
 * names (resources/glue.yml: the script and its --extra-files). `package` checks they exist, so a
 * missing file fails offline instead of at the first monthly run.
 *
 * Plain CommonJS: osls loads plugins with require(), before any TypeScript tooling.
 */
const { readFileSync, existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

/** Keys in the scripts bucket = paths in the repository. */
const GLUE_ASSETS = [
  { path: 'glue/etl.py', contentType: 'text/x-python; charset=utf-8' },
  { path: 'glue/sql/branch_loans_3m.sql', contentType: 'application/sql; charset=utf-8' },
  { path: 'glue/sql/rejected_loans.sql', contentType: 'application/sql; charset=utf-8' },
  { path: 'glue/sql/read_window.sql', contentType: 'application/sql; charset=utf-8' },
  { path: 'glue/source-model.json', contentType: 'application/json; charset=utf-8' },
  { path: 'glue/extract-layout.json', contentType: 'application/json; charset=utf-8' },
  { path: 'glue/rds-ca-bundle.pem', contentType: 'application/x-pem-file' },
];
const BUCKET_OUTPUT = 'ScriptsBucketName';

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

  checkAssets() {
    const missing = GLUE_ASSETS.filter((asset) => !existsSync(join(this.serviceDir, asset.path))).map((a) => a.path);
    if (missing.length > 0) {
      throw new this.serverless.classes.Error(`The Glue job needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} missing`);
    }
  }

  async uploadAssets(clients = {}) {
    this.checkAssets();
    const config = await this.provider.getAwsSdkV3Config();
    const bucket = await this.scriptsBucket(clients.cloudFormation ?? this.cloudFormationClient(config));
    const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');
    const s3 = clients.s3 ?? new S3Client(config);
    for (const asset of GLUE_ASSETS) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: asset.path,
          Body: readFileSync(join(this.serviceDir, asset.path)),
          ContentType: asset.contentType,
          // S3 checks the bytes it stored against this; the bucket's default encryption applies.
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    }
    this.log.notice?.(`Glue job files uploaded to s3://${bucket}/glue/ (${GLUE_ASSETS.length} files)`);
    return { bucket, keys: GLUE_ASSETS.map((a) => a.path) };
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

GlueAssetsPlugin.GLUE_ASSETS = GLUE_ASSETS;
module.exports = GlueAssetsPlugin;
