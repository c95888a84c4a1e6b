import { GetCommand, PutCommand, UpdateCommand, type GetCommandInput, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../../functions/commons/clients/dynamodb';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import { definitionKey, deployedExtracts } from '../../functions/core/deployed-extracts';
import { notifyStatusChange, type CaughtFailureEvent, type ExecutionStatusChangeEvent, type NoticeResult } from '../../functions/core/notify-failure';
import type { MonthRecord } from '../../functions/core/run-ledger';
import { MemoryStore } from '../support/memory-object-store';
import { LEDGER_TABLE, useLedgerTable } from '../support/ledger-table';
import { captureLogs, lambdaContext, recordedEvent } from './lambda-harness';

const TOPIC = 'arn:aws:sns:af-south-1:123456789012:monthly-loan-extract-test-alerts';
const table = useLedgerTable();
const sns = mockClient(SNSClient);
const s3 = mockClient(S3Client);
const LOAN = 'loan-moving-average';
const SCRIPTS = 'monthly-loan-extract-test-scripts';
const LOAN_JSON = readFileSync(join(__dirname, '..', '..', 'extracts', LOAN, 'extract.json'), 'utf8');
let ledger: DynamoDbRunLedger;
beforeAll(() => {
  ledger = table.ledger;
});
let handler: (event: CaughtFailureEvent | ExecutionStatusChangeEvent, context: typeof lambdaContext) => Promise<NoticeResult | { ignored: string }>;

beforeAll(async () => {
  Object.assign(process.env, {
    RUN_LEDGER_TABLE: LEDGER_TABLE,
    ALERT_TOPIC_ARN: TOPIC,
    STAGE: 'test',
    AWS_REGION: 'af-south-1',
    EXTRACT_BUCKET: 'monthly-loan-extract-test-extracts',
    EXTRACT_DEFINITIONS_BUCKET: SCRIPTS,
  });
  ({ handler } = await import('../../functions/notify-failure'));
});

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  // The scripts bucket holds the loan extract's definition, as deployed.
  s3.reset();
  s3.on(HeadObjectCommand).rejects(Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
  s3.on(HeadObjectCommand, { Bucket: SCRIPTS, Key: definitionKey(LOAN) }).resolves({ ContentLength: LOAN_JSON.length });
  s3.on(GetObjectCommand, { Bucket: SCRIPTS, Key: definitionKey(LOAN) }).callsFake(() => ({ Body: Readable.from([Buffer.from(LOAN_JSON)]) }));
});
afterAll(() => s3.restore());

const caught = () => recordedEvent<CaughtFailureEvent>('notify-failure.json');
const caughtBadInput = () => recordedEvent<CaughtFailureEvent>('notify-failure-invalid-input.json');
const timedOut = () => recordedEvent<ExecutionStatusChangeEvent>('execution-status-timed-out.json');
const failedStatus = () => recordedEvent<ExecutionStatusChangeEvent>('execution-status-failed.json');
const EXECUTION = caught().executionArn;
const OTHER = EXECUTION.replace(/:[^:]+$/, ':someone-else');
const monthItem = async () => (await table.item(`extract#${LOAN}#month#2024-03`)) as unknown as MonthRecord;

async function invoke(event: CaughtFailureEvent | ExecutionStatusChangeEvent) {
  const logs = captureLogs();
  try {
    return await handler(event, lambdaContext);
  } finally {
    logs.restore();
  }
}

async function holdMarch(executionArn: string, force = false) {
  await ledger.take({
    extract: LOAN,
    month: '2024-03',
    executionArn,
    runId: executionArn.split(':').pop()!,
    force,
    now: new Date('2024-03-31T22:00:01Z'),
    leaseExpiresAt: new Date('2024-04-01T04:00:01Z'),
  });
}

function emails(): { Subject?: string; Message?: string; TopicArn?: string; MessageAttributes?: unknown }[] {
  return sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
}

describe('a failure caught in the state machine', () => {
  it('emails support once with the step, the readable cause and the re-run input, and marks the month FAILED', async () => {
    await holdMarch(EXECUTION);
    const result = await invoke(caught());

    expect(result).toEqual({
      extract: LOAN,
      month: '2024-03',
      failedStep: 'GetExtractJobState',
      error: 'ExtractJobFailed',
      cause:
        'Glue job monthly-loan-extract-prod run jr_5b0e6c1c3f4d2a1b9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d ended FAILED: ' +
        'An error occurred while calling o112.jdbc. Connection refused',
      emailed: true,
    });
    expect(emails()).toHaveLength(1);
    const [email] = emails();
    expect(email).toMatchObject({
      TopicArn: TOPIC,
      Subject: '[test] loan-moving-average 2024-03 failed at GetExtractJobState: ExtractJobFailed',
      // What each extract's recipients' subscription filter policy matches.
      MessageAttributes: { extract: { DataType: 'String', StringValue: LOAN } },
    });
    expect(email!.Message).toContain('Cause:        Glue job monthly-loan-extract-prod run jr_5b0e');
    expect(email!.Message).toContain(`https://af-south-1.console.aws.amazon.com/states/home?region=af-south-1#/v2/executions/details/${EXECUTION}`);
    expect(email!.Message).toContain('\n    {"extract":"loan-moving-average","month":"2024-03"}\n');
    expect(email!.Message).toContain('Ledger:       loan-moving-average 2024-03 is marked FAILED; it can be re-run now.');
    expect(await monthItem()).toMatchObject({
      status: 'FAILED',
      lastError: { executionArn: EXECUTION, failedStep: 'GetExtractJobState', error: 'ExtractJobFailed' },
    });
  });

  it('the FAILED status-change event that follows sends no second email', async () => {
    await holdMarch(EXECUTION);
    await invoke(caught());
    const afterCatch = (await monthItem());

    await expect(invoke(failedStatus())).resolves.toMatchObject({ emailed: false });
    expect(emails()).toHaveLength(1);
    expect(await monthItem()).toEqual(afterCatch);
  });

  it('counts the failed run once (RunFailed, with the month and step as EMF metadata), on the notice that emailed', async () => {
    await holdMarch(EXECUTION);
    const runFailedLines = async (event: CaughtFailureEvent | ExecutionStatusChangeEvent) => {
      const logs = captureLogs();
      try {
        await handler(event, lambdaContext);
      } finally {
        logs.restore();
      }
      return logs.lines.filter((line) => '_aws' in line && 'RunFailed' in line);
    };
    expect(await runFailedLines(caught())).toEqual([
      expect.objectContaining({ RunFailed: 1, extract: LOAN, month: '2024-03', outcome: 'FAILED', failedStep: 'GetExtractJobState', handler: 'NotifyFailure' }),
    ]);
    expect(await runFailedLines(failedStatus())).toEqual([]);
  });

  it('a retried NotifyFailure does not email twice but still ends the execution with the original error', async () => {
    await holdMarch(EXECUTION);
    await invoke(caught());
    await expect(invoke(caught())).resolves.toMatchObject({ error: 'ExtractJobFailed', emailed: false });
    expect(emails()).toHaveLength(1);
  });

  it('a forced run that failed is re-run with force', async () => {
    await holdMarch(EXECUTION, true);
    const event = caught();
    const state = event.state as { run: { force: boolean } };
    state.run.force = true;
    await invoke(event);
    expect(emails()[0]!.Message).toContain('\n    {"extract":"loan-moving-average","month":"2024-03","force":true}\n');
  });

  it('never marks FAILED a month another execution holds (it lost the lease)', async () => {
    await holdMarch(OTHER);
    const before = (await monthItem());
    await invoke(caught());
    expect(await monthItem()).toEqual(before);
    expect(emails()[0]!.Message).toContain(`Ledger:       loan-moving-average 2024-03 was not marked: the ledger shows it RUNNING by ${OTHER}.`);
  });

  it('bad input: emails without a month or re-run input, and returns the clean InvalidInput cause for the Fail state', async () => {
    const result = await invoke(caughtBadInput());
    expect(result).toEqual({
      extract: LOAN,
      month: null,
      failedStep: 'ResolveRun',
      error: 'InvalidInput',
      cause: 'month: "2024-13" has month 13; months run from 01 to 12',
      emailed: true,
    });
    expect(emails()[0]!.Subject).toBe('[test] loan-moving-average (no month) failed at ResolveRun: InvalidInput');
    expect(emails()[0]!.Message).toContain('Fix the input and start a new execution');
    expect(await monthItem()).toBeUndefined();
  });

  it('bad input naming an extract: the email names it and goes to its recipients; naming none usable, it goes to support only', async () => {
    const event = caughtBadInput();
    await invoke({ ...event, executionInput: { extract: 'client-activity', month: '2024-13' } });
    expect(emails()[0]).toMatchObject({
      Subject: '[test] client-activity (no month) failed at ResolveRun: InvalidInput',
      MessageAttributes: { extract: { DataType: 'String', StringValue: 'client-activity' } },
    });
    const other = { ...event, executionArn: `${event.executionArn}-2`, executionName: `${event.executionName}-2` };
    await expect(invoke({ ...other, executionInput: { extract: 'Client Activity' } })).resolves.toMatchObject({ extract: null, month: null, emailed: true });
    expect(emails()[1]!.Subject).toBe('[test] (no extract) (no month) failed at ResolveRun: InvalidInput');
    expect(emails()[1]).not.toHaveProperty('MessageAttributes');
  });

  it('when SNS fails the invocation fails and the notice is released, so the status-change event still emails', async () => {
    await holdMarch(EXECUTION);
    sns.on(PublishCommand).rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' }));
    await expect(invoke(caught())).rejects.toMatchObject({ name: 'ThrottledException' });
    expect(((await table.item(`notice#${EXECUTION}`)) !== undefined)).toBe(false);

    await expect(invoke(failedStatus())).resolves.toMatchObject({ emailed: true });
    expect(emails()).toHaveLength(2);
    expect(emails()[1]!.Subject).toBe('[test] loan-moving-average 2024-03 failed: ExtractJobFailed');
  });

  it('still emails when the ledger cannot be updated, saying so', async () => {
    await holdMarch(EXECUTION);
    // The handler's own client refuses updates; its other calls reach the table.
    const handlerDdb = mockClient(dynamoDocumentClient);
    try {
      handlerDdb.on(UpdateCommand).rejects(Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' }));
      handlerDdb.on(GetCommand).callsFake((input: GetCommandInput) => table.client.send(new GetCommand(input)));
      handlerDdb.on(PutCommand).callsFake((input: PutCommandInput) => table.client.send(new PutCommand(input)));
      await expect(invoke(caught())).resolves.toMatchObject({ emailed: true });
    } finally {
      handlerDdb.restore();
    }
    expect(emails()[0]!.Message).toContain('Ledger:       could not be updated (Requested resource not found)');
    expect(await monthItem()).toMatchObject({ status: 'RUNNING', executionArn: EXECUTION });
  });
});

describe('executions that time out or are aborted (status-change events)', () => {
  it('a timed-out execution emails once and frees its month at once', async () => {
    await holdMarch(EXECUTION);
    await expect(invoke(timedOut())).resolves.toMatchObject({ extract: LOAN, month: '2024-03', error: 'States.Timeout', emailed: true });
    await expect(invoke(timedOut())).resolves.toMatchObject({ emailed: false }); // EventBridge delivers at least once

    expect(emails()).toHaveLength(1);
    expect(emails()[0]!.Subject).toBe('[test] loan-moving-average 2024-03 timed out: States.Timeout');
    expect(emails()[0]!.Message).toContain("Cause:        the execution ran longer than the state machine's TimeoutSeconds and was stopped");
    expect(await monthItem()).toMatchObject({ status: 'FAILED', lastError: { failedStep: '(execution TIMED_OUT)', error: 'States.Timeout' } });
  });

  it('an aborted execution that did not hold its month emails but leaves the holder alone', async () => {
    await holdMarch(OTHER);
    const before = (await monthItem());
    const event = timedOut();
    const aborted = { ...event, detail: { ...event.detail, status: 'ABORTED', input: '{"month":"2024-03"}' } };
    await expect(invoke(aborted)).resolves.toMatchObject({ error: 'ExecutionAborted', emailed: true });
    expect(emails()[0]!.Subject).toBe('[test] loan-moving-average 2024-03 was aborted: ExecutionAborted');
    expect(await monthItem()).toEqual(before);
  });

  it("an execution of an extract that is not deployed: no month can be resolved, so none is marked; the email names the extract", async () => {
    const event = timedOut();
    const gone = { ...event, detail: { ...event.detail, input: '{"extract":"retired-extract"}' } };
    await expect(invoke(gone)).resolves.toMatchObject({ extract: 'retired-extract', month: null, emailed: true });
    expect(emails()[0]!.Subject).toBe('[test] retired-extract (no month) timed out: States.Timeout');
  });

  it('ignores statuses that are not failures', async () => {
    const event = timedOut();
    await expect(invoke({ ...event, detail: { ...event.detail, status: 'SUCCEEDED' } })).resolves.toEqual({ ignored: 'status SUCCEEDED needs no email' });
    expect(emails()).toHaveLength(0);
    expect(await table.item(`notice#${event.detail.executionArn}`)).toBeUndefined();
  });
});

function scriptsWithLoan(): MemoryStore {
  const scripts = new MemoryStore(false);
  scripts.seed(definitionKey(LOAN), LOAN_JSON);
  return scripts;
}

describe('an execution that died mid-publish (a publish Lambda that timed out or whose sandbox died)', () => {
  const FILE = 'extracts/bank_name=A/year=2024/month=03/A_20240331.csv';
  const NEW_FILE = 'extracts/bank_name=B/year=2024/month=03/B_20240331.csv';
  const MANIFEST = 'extracts/_manifests/year=2024/month=03/manifest.json';

  it('is rolled back to the month\'s previous files before the month is marked FAILED, and the email says so', async () => {
    const store = new MemoryStore();
    store.seed(FILE, 'last month run\'s file\n');
    store.seed(MANIFEST, '{"runId":"exec-0"}\n');
    const [file, manifest] = [(await store.head(FILE))!.versionId!, (await store.head(MANIFEST))!.versionId!];
    await holdMarch(EXECUTION, true);
    await ledger.beginPublish(
      LOAN,
      '2024-03',
      {
        runId: EXECUTION.split(':').pop()!,
        executionArn: EXECUTION,
        manifestKey: MANIFEST,
        startedAt: '2024-04-01T02:00:00.000Z',
        keys: [
          { key: FILE, previousVersionId: file },
          { key: NEW_FILE, previousVersionId: null },
          { key: MANIFEST, previousVersionId: manifest },
        ],
      },
      new Date('2024-04-01T02:00:00Z'),
    );
    store.seed(FILE, 'half of the dead run\'s publish\n');
    store.seed(NEW_FILE, 'a file the dead run created\n');
    const sent: { subject: string; body: string }[] = [];

    const result = await notifyStatusChange(timedOut(), {
      ledger,
      store,
      alerts: { send: async (subject, body) => void sent.push({ subject, body }) },
      stage: 'test',
      region: 'af-south-1',
      extracts: deployedExtracts(scriptsWithLoan()),
      now: new Date('2024-04-01T03:00:05Z'),
    });

    expect(result).toMatchObject({ emailed: true });
    expect(store.text(FILE)).toBe('last month run\'s file\n');
    expect(store.text(NEW_FILE)).toBeUndefined();
    expect(store.text(MANIFEST)).toBe('{"runId":"exec-0"}\n');
    expect(sent[0]!.body).toContain(
      `Files:        The unfinished publish of run ${EXECUTION.split(':').pop()} was rolled back: 1 file(s) restored to their previous version, 1 removed`,
    );
    expect(await monthItem()).toMatchObject({ status: 'FAILED' });
    expect((await monthItem()).publishing).toBeUndefined();
  });
});

