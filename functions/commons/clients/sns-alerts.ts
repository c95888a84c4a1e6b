/**
 * Failure emails through the alerts SNS topic. The support address subscribes to every message; each
 * extract's recipients subscribe with the filter policy {"extract": ["<id>"]}, matched against the
 * message attribute `extract` set here.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { AlertAttributes, AlertSender } from '../../core/notify-failure';

export class SnsAlertSender implements AlertSender {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async send(subject: string, body: string, attributes: AlertAttributes = {}): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subject,
        Message: body,
        ...(attributes.extract === undefined ? {} : { MessageAttributes: { extract: { DataType: 'String', StringValue: attributes.extract } } }),
      }),
    );
  }
}
