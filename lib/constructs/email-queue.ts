import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as ses from 'aws-cdk-lib/aws-ses';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeNagFindings } from './nag.js';
import { OrchestratorFunction } from './orchestrator-function.js';

export interface EmailQueueProps {
  /** Where the sender claims each queued email before sending it (at most once per email). */
  readonly table: dynamodb.ITable;
  readonly senderIdentity: ses.EmailIdentity;
  readonly configurationSet: ses.ConfigurationSet;
  /** The functions' common environment; the sender reads SENDER_EMAIL, SES_MAX_SEND_RATE, TABLE_NAME. */
  readonly environment: Record<string, string>;
}

/** Queued emails the sender may still be working on when SQS gives them to it again: none is lost early. */
const MAX_RECEIVE_COUNT = 20;
const SENDER_TIMEOUT = Duration.minutes(2);
export const EMAIL_BATCH_SIZE = 10;
/**
 * Senders at once. SQS's event source runs at least 2 at a time; a reserved concurrency below that would
 * throttle it, and every throttled batch counts as a receive towards the DLQ. Each sender paces to its share.
 */
export const EMAIL_SENDERS = 2;

/**
 * Every email goes through one encrypted queue to `EMAIL_SENDERS` senders (reserved concurrency and the
 * event source's maximum concurrency alike) that pace together to the account's SES quota; what it cannot send ends in a DLQ, from which it can be redriven to the queue.
 */
export class EmailQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly sender: OrchestratorFunction;

  constructor(scope: Construct, id: string, props: EmailQueueProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeNagFindings(this.deadLetterQueue, {
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is itself the email queue’s dead-letter queue; an operator redrives what lands here.',
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Six times the sender's timeout, as AWS advises for a queue whose function may be throttled.
      visibilityTimeout: Duration.seconds(SENDER_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    this.sender = new OrchestratorFunction(this, 'SendEmail', {
      handler: 'send-email',
      description: 'Sends queued emails through SES, paced to the account quota, once each',
      timeout: SENDER_TIMEOUT,
      environment: { ...props.environment, EMAIL_SENDERS: String(EMAIL_SENDERS) },
    });
    // Never more senders than their shares of the pace add up to; never a throttled batch.
    (this.sender.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = EMAIL_SENDERS;
    this.sender.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: EMAIL_BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: EMAIL_SENDERS,
      }),
    );
    props.table.grant(this.sender, 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    props.senderIdentity.grantSendEmail(this.sender);
    // With a configuration set named in the request, SES also authorizes the send against the set.
    this.sender.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [
          Stack.of(this).formatArn({
            service: 'ses',
            resource: 'configuration-set',
            resourceName: props.configurationSet.configurationSetName,
          }),
        ],
      }),
    );
    this.sender.addToRolePolicy(new iam.PolicyStatement({ actions: ['ses:GetAccount'], resources: ['*'] }));
    this.sender.addEnvironment('SES_CONFIGURATION_SET', props.configurationSet.configurationSetName);
    acknowledgeNagFindings(
      this.sender,
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'The sender is invoked by its queue only (never asynchronously): an email it cannot send returns to the queue, whose dead-letter queue keeps it.',
      },
      {
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          'An SQS event source keeps failed messages in the queue’s own redrive policy (its dead-letter queue); on-failure destinations apply to stream sources.',
      },
    );
    acknowledgeNagFindings(this.sender.role, {
      id: 'AwsSolutions-IAM5',
      appliesTo: 'Resource::*',
      reason:
        'ses:GetAccount (the send quota) and X-Ray PutTraceSegments / PutTelemetryRecords support no resource-level permissions.',
    });
  }

  /** Lets `fn` queue emails (sendEmail) and tells it where. */
  grantEnqueue(fn: OrchestratorFunction): void {
    this.queue.grantSendMessages(fn);
    fn.addEnvironment('EMAIL_QUEUE_URL', this.queue.queueUrl);
  }
}
