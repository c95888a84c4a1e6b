/** Failure emails through the alerts SNS topic (the support address subscribes to it). */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { AlertSender } from '../../core/notify-failure';

export class SnsAlertSender implements AlertSender {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async send(subject: string, body: string): Promise<void> {
    await this.client.send(new PublishCommand({ TopicArn: this.topicArn, Subject: subject, Message: body }));
  }
}
