import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeNagFindings } from './nag.js';

/** How long a dead letter waits to be redriven: SQS's longest retention. */
const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * An encrypted, TLS-only queue that keeps what could not be delivered or handled, for redrive. It is the
 * last stop itself, so it has no dead-letter queue of its own.
 */
export class DeadLetterQueue extends sqs.Queue {
  constructor(scope: Construct, id: string, props: { queueName?: string } = {}) {
    super(scope, id, {
      queueName: props.queueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    acknowledgeNagFindings(
      this,
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself a dead-letter queue (of an EventBridge target, a Lambda on-failure destination or an SNS subscription).',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This queue is itself a dead-letter queue; what lands here is redriven by an operator.',
      },
    );
  }
}

export interface SafeLambdaTargetProps {
  /** The function EventBridge invokes, asynchronously. */
  readonly handler: lambda.IFunction;
  /** Where events EventBridge could not deliver go. */
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * An EventBridge target that loses nothing: EventBridge retries delivery for up to a day, then keeps the
 * event in the dead-letter queue. (The function's own errors go to its on-failure destination.)
 */
export function safeLambdaTarget({
  handler,
  deadLetterQueue,
}: SafeLambdaTargetProps): targets.LambdaFunction {
  return new targets.LambdaFunction(handler, {
    retryAttempts: 8,
    maxEventAge: Duration.hours(24),
    deadLetterQueue,
  });
}

/**
 * A function EventBridge invokes asynchronously: Lambda retries a failing invocation twice, then sends the
 * event, with the error, to the on-failure queue.
 */
export function keepFailedInvocations(handler: lambda.Function, onFailure: sqs.IQueue): void {
  acknowledgeNagFindings(handler, {
    id: 'Serverless-LambdaDLQ',
    reason:
      'Failed asynchronous invocations go to an on-failure destination (an SQS queue), which carries the error too and supersedes a DLQ.',
  });
  handler.configureAsyncInvoke({
    retryAttempts: 2,
    maxEventAge: Duration.hours(6),
    onFailure: new destinations.SqsDestination(onFailure),
  });
}

export interface ReleaseBusSafetyProps {
  readonly bus: events.EventBus;
  /** The sources whose events are archived for replay. */
  readonly sources: string[];
  /** Accounts whose environments put the inbound events. */
  readonly producerAccounts: readonly string[];
  /** What producers may put: source → detail types. */
  readonly inbound: Record<string, string[]>;
}

/** Days the bus archive keeps every event for replay. */
export const ARCHIVE_RETENTION_DAYS = 30;

/**
 * The release bus's archive (every contract event, kept 30 days for replay) and its resource policy (the
 * configured producer accounts may put the inbound detail types, nothing else).
 */
export class ReleaseBusSafety extends Construct {
  readonly archive: events.Archive;

  constructor(scope: Construct, id: string, props: ReleaseBusSafetyProps) {
    super(scope, id);
    this.archive = new events.Archive(this, 'Archive', {
      sourceEventBus: props.bus,
      archiveName: `${props.bus.eventBusName}-archive`,
      description: 'Every release event, for replay after a failed delivery or handler',
      eventPattern: { source: props.sources },
      retention: Duration.days(ARCHIVE_RETENTION_DAYS),
    });
    if (props.producerAccounts.length === 0) return;
    for (const [source, detailTypes] of Object.entries(props.inbound)) {
      const statementId = `producers-${source.replace(/[^a-zA-Z0-9-_]/g, '-')}`;
      new events.CfnEventBusPolicy(this, statementId, {
        eventBusName: props.bus.eventBusName,
        statementId,
        statement: new iam.PolicyStatement({
          sid: statementId,
          principals: props.producerAccounts.map((account) => new iam.AccountPrincipal(account)),
          actions: ['events:PutEvents'],
          resources: [props.bus.eventBusArn],
          conditions: { StringEquals: { 'events:source': source, 'events:detail-type': detailTypes } },
        }).toStatementJson(),
      });
    }
  }
}
