import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ALARM_TOPIC_NAME } from '../platform-names.js';
import { DeadLetterQueue } from './event-safety.js';

/**
 * The topic every alarm notifies, subscribed by the account's alarm email. It has a fixed name so that
 * release stacks notify it without an export. Encrypted with a key CloudWatch may use.
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;
  /** Notifications SNS could not deliver to the alarm email. */
  readonly undelivered: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: { alarmEmail: string }) {
    super(scope, id);
    const key = new kms.Key(this, 'Key', {
      description: 'Encrypts the SecureWatch release alarm topic',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to an encrypted topic only when the key lets CloudWatch use it.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: ALARM_TOPIC_NAME,
      displayName: 'SecureWatch release alarms',
      masterKey: key,
      enforceSSL: true,
    });
    this.undelivered = new DeadLetterQueue(this, 'Undelivered');
    this.topic.addSubscription(
      new subscriptions.EmailSubscription(props.alarmEmail, { deadLetterQueue: this.undelivered }),
    );
  }
}

/** The alarm topic as a release stack finds it: by its fixed name. */
export function alarmTopicOf(scope: Construct): sns.ITopic {
  const stack = Stack.of(scope);
  return sns.Topic.fromTopicArn(
    scope,
    'AlarmTopic',
    stack.formatArn({ service: 'sns', resource: ALARM_TOPIC_NAME }),
  );
}

/** Alarms that fire on the first occurrence and notify the alarm topic. */
export class Alarms extends Construct {
  private readonly action: cloudwatchActions.SnsAction;

  constructor(scope: Construct, id: string, topic: sns.ITopic) {
    super(scope, id);
    this.action = new cloudwatchActions.SnsAction(topic);
  }

  /** Something waits in a dead-letter queue: an event or an invocation that needs a redrive. */
  deadLetters(id: string, queue: sqs.IQueue, what: string): cloudwatch.Alarm {
    return this.onAny(
      id,
      queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      `${what}: messages wait in the dead-letter queue; inspect them and redrive (README, "No event lost")`,
    );
  }

  /** Executions of the state machine that failed or timed out. */
  executionsEnded(id: string, stateMachine: sfn.StateMachine, what: string): cloudwatch.Alarm[] {
    return [
      this.onAny(
        `${id}Failed`,
        stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
        `${what}: an execution failed`,
      ),
      this.onAny(
        `${id}TimedOut`,
        stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
        `${what}: an execution timed out`,
      ),
    ];
  }

  /** Fires when the metric is at least 1 in a period; no data is no alarm. */
  onAny(id: string, metric: cloudwatch.IMetric, description: string): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      alarmDescription: description,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    return alarm;
  }
}
