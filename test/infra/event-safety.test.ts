import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DETAIL_TYPES,
  FLEET_SOURCE,
  ORCHESTRATOR_SOURCE,
  PLATFORM_SOURCE,
} from '../../lambdas/events/contract.js';
import {
  type CfnValue,
  CUSTOMER_STATE_MACHINE,
  functionIdOf,
  RELEASE_STATE_MACHINE,
  synthesizeApp,
  synthesizePlatformAlone,
  TEST_SETTINGS,
  textOf,
} from './support/synth.js';

interface CfnTarget {
  Arn: CfnValue;
  RetryPolicy: unknown;
  DeadLetterConfig: { Arn: CfnValue };
}

interface CfnStatement {
  Effect: string;
  Condition: Partial<Record<'ArnEquals' | 'ArnLike' | 'Bool', Record<string, CfnValue>>>;
}

/** An alarm as the template holds it: the properties these tests read. */
interface CfnAlarm {
  Properties: {
    Namespace: string;
    MetricName: string;
    Dimensions: {
      Name: string;
      Value: Record<string, unknown> & { 'Fn::GetAtt'?: string[]; Ref?: string };
    }[];
    AlarmActions: CfnValue[];
  };
}

const ALARM_TOPIC = 'securewatch-release-alarms';
const EVENT_DEAD_LETTERS = 'securewatch-release-event-dead-letters';

/** The functions EventBridge invokes: a platform rule's or a release rule's target. */
const INVOKED_BY_EVENTS = [
  'record-deployment-result',
  'record-rollback-result',
  'record-health-report',
  'record-rollout-ended',
  'record-rollback-ended',
  'health-sweep',
];

const targetsOf = (template: Template) =>
  Object.values(template.findResources('AWS::Events::Rule')).flatMap(
    (rule) => rule.Properties.Targets as CfnTarget[],
  );

/** The logical id of the queue an alarm watches, when it watches a queue. */
const watchedQueueOf = (alarm: CfnAlarm): string | undefined =>
  alarm.Properties.Dimensions.find((dimension) => dimension.Name === 'QueueName')?.Value['Fn::GetAtt']?.[0];

describe('no event lost', () => {
  let platform: Template;
  let release: Template;

  beforeAll(() => {
    ({ platform, release } = synthesizeApp({ bundle: false, settings: TEST_SETTINGS }));
  });

  describe('every EventBridge target', () => {
    it('is retried for up to a day, then kept in the encrypted dead-letter queue', () => {
      const targets = [...targetsOf(platform), ...targetsOf(release)];
      const deadLetters = Object.keys(
        platform.findResources('AWS::SQS::Queue', { Properties: { QueueName: EVENT_DEAD_LETTERS } }),
      );

      // The platform's deployment results, rollback results and health reports, the health sweep's schedule;
      // the release stack's ended customer rollouts and rollbacks.
      expect(targets).toHaveLength(6);
      expect(deadLetters).toHaveLength(1);
      for (const target of targets) {
        expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86_400 });
        expect(textOf(target.DeadLetterConfig.Arn)).toMatch(
          new RegExp(`^\\$\\{GetAtt:${deadLetters[0]}\\.Arn\\}$|:sqs:.*:${EVENT_DEAD_LETTERS}$`),
        );
      }
    });

    it('may send to the dead letters, from the platform’s rules and from every release stack’s rules', () => {
      const [policy] = Object.values(platform.findResources('AWS::SQS::QueuePolicy')).filter((each) =>
        JSON.stringify(each).includes('events.amazonaws.com'),
      );
      const sourceArns = ((policy?.Properties.PolicyDocument.Statement ?? []) as CfnStatement[])
        .filter((statement) => statement.Effect === 'Allow')
        .map((statement) =>
          textOf(
            statement.Condition.ArnEquals?.['aws:SourceArn'] ??
              statement.Condition.ArnLike?.['aws:SourceArn'] ??
              '',
          ),
        );

      expect(sourceArns).toEqual(
        expect.arrayContaining([expect.stringMatching(/:rule\/securewatch-release-\*$/)]),
      );
      // The platform's deployment results, rollback results, health reports and health sweep; the release stacks.
      expect(sourceArns).toHaveLength(5);
    });

    it.each(['record-rollout-ended', 'record-rollback-ended'])(
      'lets every release stack’s rule invoke %s, so a release stack grants nothing itself',
      (handler) => {
        platform.hasResourceProperties('AWS::Lambda::Permission', {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': [functionIdOf(platform, handler), 'Arn'] },
          Principal: 'events.amazonaws.com',
          SourceArn: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
        });
        release.resourceCountIs('AWS::Lambda::Permission', 0);
      },
    );
  });

  describe('dead-letter queues', () => {
    it('are all encrypted, reachable over TLS only, and keep messages 14 days for a redrive', () => {
      const queues = Object.entries(platform.findResources('AWS::SQS::Queue'));
      const policies = Object.values(platform.findResources('AWS::SQS::QueuePolicy'));

      expect(queues.length).toBeGreaterThanOrEqual(3);
      for (const [id, queue] of queues) {
        expect(queue.Properties).toMatchObject({
          SqsManagedSseEnabled: true,
          MessageRetentionPeriod: 1_209_600,
        });
        const policy = policies.find((each) => JSON.stringify(each.Properties.Queues).includes(id));
        expect(JSON.stringify(policy?.Properties.PolicyDocument), id).toContain(
          '"aws:SecureTransport":"false"',
        );
      }
    });
  });

  describe('a function EventBridge invokes asynchronously', () => {
    it.each(INVOKED_BY_EVENTS)(
      '(%s) sends an event it failed on after two retries to the on-failure queue',
      (handler) => {
        const configs = Object.values(platform.findResources('AWS::Lambda::EventInvokeConfig')).filter(
          (config) => config.Properties.FunctionName.Ref === functionIdOf(platform, handler),
        );

        expect(configs).toHaveLength(1);
        expect(configs[0]?.Properties).toMatchObject({
          MaximumRetryAttempts: 2,
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } } },
        });
        const queue = configs[0]?.Properties.DestinationConfig.OnFailure.Destination['Fn::GetAtt'][0];
        expect(platform.findResources('AWS::SQS::Queue')[queue]).toBeDefined();
      },
    );

    it('is exactly a rule’s target: no other function is invoked asynchronously', () => {
      platform.resourceCountIs('AWS::Lambda::EventInvokeConfig', INVOKED_BY_EVENTS.length);
    });
  });

  describe('the release bus', () => {
    it('archives every contract event for 30 days, for replay', () => {
      const [bus] = Object.keys(platform.findResources('AWS::Events::EventBus'));

      platform.hasResourceProperties('AWS::Events::Archive', {
        SourceArn: { 'Fn::GetAtt': [bus, 'Arn'] },
        RetentionDays: 30,
        EventPattern: { source: [ORCHESTRATOR_SOURCE, PLATFORM_SOURCE, FLEET_SOURCE] },
      });
    });

    it.each([
      [
        PLATFORM_SOURCE,
        [
          DETAIL_TYPES.deploymentSucceeded,
          DETAIL_TYPES.deploymentFailed,
          DETAIL_TYPES.rollbackSucceeded,
          DETAIL_TYPES.rollbackFailed,
        ],
      ],
      [FLEET_SOURCE, [DETAIL_TYPES.healthReported]],
    ])(
      'lets the producer accounts put %s events of the inbound types %j, and nothing else',
      (source, types) => {
        const policies = Object.values(platform.findResources('AWS::Events::EventBusPolicy')).filter(
          (policy) => policy.Properties.Statement.Condition.StringEquals['events:source'] === source,
        );

        expect(policies).toHaveLength(1);
        const statement = policies[0]?.Properties.Statement;
        expect(statement.Action).toBe('events:PutEvents');
        expect(statement.Condition.StringEquals['events:detail-type']).toEqual(types);
        const principals = [statement.Principal.AWS]
          .flat()
          .map((principal: unknown) => JSON.stringify(principal));
        expect(principals).toEqual(
          TEST_SETTINGS.producerAccounts.map((account) => expect.stringContaining(account)),
        );
      },
    );

    it('admits no other account when config/account.json names no producer', () => {
      const alone = synthesizePlatformAlone({
        bundle: false,
        settings: { ...TEST_SETTINGS, producerAccounts: [] },
      });

      alone.resourceCountIs('AWS::Events::EventBusPolicy', 0);
    });
  });

  describe('alarms', () => {
    const alarmsOf = (template: Template) =>
      Object.values(template.findResources('AWS::CloudWatch::Alarm')) as CfnAlarm[];

    it('notify the alarm topic, which emails the configured alarm contact', () => {
      const [topic] = Object.keys(
        platform.findResources('AWS::SNS::Topic', { Properties: { TopicName: ALARM_TOPIC } }),
      );

      platform.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: TEST_SETTINGS.alarmEmail,
        TopicArn: { Ref: topic },
      });
      for (const alarm of alarmsOf(platform)) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      // A release stack finds the topic by its fixed name.
      for (const alarm of alarmsOf(release))
        expect(alarm.Properties.AlarmActions.map(textOf)).toEqual([
          expect.stringMatching(new RegExp(`:sns:.*:${ALARM_TOPIC}$`)),
        ]);
    });

    it('fire on the first message in each dead-letter queue', () => {
      // Every queue but the email queue itself, whose failures go to its own dead-letter queue.
      const queues = Object.entries(platform.findResources('AWS::SQS::Queue'))
        .filter(([, queue]) => !queue.Properties?.RedrivePolicy)
        .map(([id]) => id);
      const watched = alarmsOf(platform)
        .filter((alarm) => alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')
        .map((alarm) => {
          expect(alarm.Properties).toMatchObject({
            Threshold: 1,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          });
          return watchedQueueOf(alarm);
        });

      expect(watched.sort()).toEqual(queues.sort());
    });

    it.each([RELEASE_STATE_MACHINE, CUSTOMER_STATE_MACHINE])(
      'fire on a failed or timed-out execution of %s',
      (name) => {
        const [machine] = Object.keys(
          release.findResources('AWS::StepFunctions::StateMachine', {
            Properties: { StateMachineName: name },
          }),
        );
        const metrics = alarmsOf(release)
          .filter((alarm) => alarm.Properties.Dimensions?.[0]?.Value?.Ref === machine)
          .map((alarm) => alarm.Properties.MetricName);

        expect(metrics.sort()).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
      },
    );

    it('fire when a release is paused or halted: it parks awaiting a decision by calling await-decision', () => {
      const awaiting = alarmsOf(platform).filter(
        (alarm) =>
          alarm.Properties.Namespace === 'AWS/Lambda' &&
          alarm.Properties.MetricName === 'Invocations' &&
          alarm.Properties.Dimensions[0]?.Value.Ref === functionIdOf(platform, 'await-decision'),
      );

      expect(awaiting).toHaveLength(1);
      expect(awaiting[0]?.Properties).toMatchObject({ Threshold: 1, TreatMissingData: 'notBreaching' });
    });
  });
});
