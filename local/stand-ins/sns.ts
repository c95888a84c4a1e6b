/**
 * The SNS stand-in: `Publish` to the alert topic becomes one email file in the outbox, which is
 * what data-support would receive. It speaks the SNS Query protocol the AWS SDK uses, so the
 * NotifyFailure handler runs unchanged.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomically } from '../atomic-file';
import { listenOnLoopback, type LoopbackServer } from './loopback-server';

export interface SnsStandInOptions {
  readonly topicArn: string;
  /** Who the topic's email subscription reaches, for the `To:` line. */
  readonly subscriber: string;
  readonly outboxDir: string;
}

export async function startSnsStandIn(options: SnsStandInOptions): Promise<LoopbackServer> {
  await mkdir(options.outboxDir, { recursive: true });
  return listenOnLoopback(async (_request, body, response) => {
    const form = new URLSearchParams(body.toString('utf8'));
    const action = form.get('Action');
    if (action !== 'Publish') return queryError(response, 400, 'InvalidAction', `the local SNS stand-in only supports Publish, not ${action}`);
    if (form.get('TopicArn') !== options.topicArn) {
      return queryError(response, 404, 'NotFound', `Topic does not exist: ${form.get('TopicArn')}`);
    }
    const subject = form.get('Subject');
    // SNS's own rules for an email subject; a handler that breaks them must fail here as on AWS.
    if (subject !== null && (subject.length === 0 || subject.length > 100 || !/^[\x20-\x7e]*$/.test(subject))) {
      return queryError(response, 400, 'InvalidParameter', 'Invalid parameter: Subject');
    }
    const messageId = randomUUID();
    const sentAt = new Date();
    await writeEmail(options, messageId, sentAt, subject ?? '', form.get('Message') ?? '');
    response.writeHead(200, { 'content-type': 'text/xml' });
    response.end(
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult>` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  });
}

/** One RFC 5322 message per publish, named so that `ls` lists them in the order they were sent. */
async function writeEmail(options: SnsStandInOptions, messageId: string, sentAt: Date, subject: string, message: string): Promise<void> {
  const text = [
    `From: AWS Notifications <no-reply@sns.amazonaws.com>`,
    `To: ${options.subscriber}`,
    `Subject: ${subject}`,
    `Date: ${sentAt.toUTCString()}`,
    `Message-ID: <${messageId}@sns.local>`,
    `X-SNS-Topic-Arn: ${options.topicArn}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    message,
    '',
  ].join('\r\n');
  const name = `${sentAt.toISOString().replace(/[:.]/g, '-')}-${messageId}.eml`;
  await writeFileAtomically(join(options.outboxDir, name), text);
}

function queryError(response: import('node:http').ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, { 'content-type': 'text/xml' });
  response.end(
    `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
