import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSigningKeys } from '../../lambdas/core/signing-keys.js';
import { APPROVAL_SIGNING_SECRET_NAME } from '../../lib/platform-names.js';
import { type CfnValue, functionIdOf, synthesizeApp, textOf } from './support/synth.js';

interface PolicyStatement {
  Action: string | string[];
  Resource: CfnValue | CfnValue[];
}

/** Every statement of every IAM policy in the stack, with the policy's logical id. */
function statementsOf(template: Template): { policy: string; statement: PolicyStatement }[] {
  return Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([policy, resource]) =>
    (resource.Properties.PolicyDocument.Statement as PolicyStatement[]).map((statement) => ({
      policy,
      statement,
    })),
  );
}

const listOf = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function statementsGranting(template: Template, action: string) {
  return statementsOf(template).filter(({ statement }) => listOf(statement.Action).includes(action));
}

/** Every statement of the IAM policies on the role of the function built from `lambdas/handlers/<handler>.ts`. */
function statementsOfFunction(template: Template, handler: string): PolicyStatement[] {
  const fn = template.findResources('AWS::Lambda::Function')[functionIdOf(template, handler)];
  const [role] = (fn?.Properties.Role['Fn::GetAtt'] ?? []) as string[];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => (policy.Properties.Roles as { Ref?: string }[]).some((each) => each.Ref === role))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as PolicyStatement[]);
}

type Capability =
  | 'readsTable'
  | 'writesTable'
  | 'publishes'
  | 'emails'
  | 'sendsThroughSes'
  | 'readsSendQuota'
  | 'consumesEmailQueue'
  | 'answersTasks'
  | 'startsExecutions'
  | 'startsRollbacks'
  | 'readsExecutions'
  | 'keepsFailedInvocations'
  | 'readsSigningKeys';

const TABLE_WRITES = /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)$/;

/** What an action lets a function do; an action outside the known grants names itself, and so fails. */
function capabilityOf(action: string): Capability | 'traces' | 'logs' | 'queueMetadata' | string {
  if (TABLE_WRITES.test(action)) return 'writesTable';
  if (action.startsWith('dynamodb:')) return 'readsTable';
  if (action === 'events:PutEvents') return 'publishes';
  if (action === 'sqs:SendMessage') return 'emails';
  // CDK grants these with sending to a queue and with reading from it alike.
  if (action === 'sqs:GetQueueAttributes' || action === 'sqs:GetQueueUrl') return 'queueMetadata';
  if (/^ses:Send(Raw)?Email$/.test(action)) return 'sendsThroughSes';
  if (action === 'ses:GetAccount') return 'readsSendQuota';
  if (/^sqs:(ReceiveMessage|ChangeMessageVisibility|DeleteMessage)$/.test(action))
    return 'consumesEmailQueue';
  if (/^states:SendTask(Success|Failure)$/.test(action)) return 'answersTasks';
  if (action === 'states:StartExecution') return 'startsExecutions';
  if (action === 'states:DescribeExecution') return 'readsExecutions';
  if (/^sqs:(SendMessage|GetQueueAttributes|GetQueueUrl)$/.test(action)) return 'keepsFailedInvocations';
  if (action === 'secretsmanager:GetSecretValue' || action === 'secretsmanager:DescribeSecret')
    return 'readsSigningKeys';
  if (action.startsWith('xray:')) return 'traces';
  if (action === 'logs:CreateLogStream' || action === 'logs:PutLogEvents') return 'logs';
  return action;
}

/** The capabilities the function's role grants, X-Ray tracing and logging (which every function has) aside. */
function capabilitiesOf(template: Template, handler: string): string[] {
  const capabilities = statementsOfFunction(template, handler).flatMap(({ Action, Resource }) =>
    listOf(Action).map((action) => {
      // Sending to a queue is emailing when the queue is the email queue, else keeping a failed invocation.
      if (action === 'sqs:SendMessage' && !JSON.stringify(Resource).includes('EmailQueue'))
        return 'keepsFailedInvocations';
      // Starting executions of the rollback state machines only.
      if (
        action === 'states:StartExecution' &&
        listOf(Resource).map(textOf).join() === ROLLBACK_STATE_MACHINES_ARN
      )
        return 'startsRollbacks';
      return capabilityOf(action);
    }),
  );
  return [...new Set(capabilities)]
    .filter((capability) => !['traces', 'logs', 'queueMetadata'].includes(capability))
    .sort();
}

const SENDERS = [
  'send-notices',
  'record-failure',
  'complete-release',
  'request-approval',
  'schedule-deployment',
  'evaluate-gate',
  'remind-paused',
  'abort-release',
  'notify-rollback',
  'record-rollback-outcome',
  'record-rollback-ended',
  // A refused rollback is told to the release manager.
  'record-health-report',
  'health-sweep',
];

const READ_WRITE: Capability[] = ['readsTable', 'writesTable'];

/** What each handler calls, read from lambdas/handlers: its role must grant exactly this. */
const NEEDS: [handler: string, needs: Capability[]][] = [
  ['plan-release', READ_WRITE],
  ['write-plan-chunk', READ_WRITE],
  // Taking customers over from an older release ends their rollouts' waits and resumes its completed steps.
  ['open-release', [...READ_WRITE, 'publishes', 'answersTasks']],
  ['send-notices', [...READ_WRITE, 'emails']],
  // Starting includes checking that a name already taken is the same customer's rollout.
  [
    'start-customer-rollouts',
    [...READ_WRITE, 'answersTasks', 'publishes', 'startsExecutions', 'readsExecutions'],
  ],
  ['await-step', [...READ_WRITE, 'answersTasks', 'publishes']],
  ['evaluate-gate', [...READ_WRITE, 'emails']],
  ['record-failure', [...READ_WRITE, 'emails', 'publishes']],
  ['complete-release', [...READ_WRITE, 'emails', 'publishes']],
  ['request-approval', [...READ_WRITE, 'emails', 'answersTasks', 'readsSigningKeys']],
  ['schedule-deployment', [...READ_WRITE, 'emails']],
  ['park-rollout', [...READ_WRITE, 'answersTasks']],
  ['await-decision', [...READ_WRITE, 'answersTasks']],
  ['remind-paused', [...READ_WRITE, 'emails']],
  ['abort-release', [...READ_WRITE, 'answersTasks', 'emails', 'publishes']],
  ['request-deployment', [...READ_WRITE, 'publishes', 'answersTasks']],
  ['record-outcome', [...READ_WRITE, 'answersTasks', 'publishes']],
  // The rollback workflow's tasks: only the one that asks the platform publishes and is answered.
  ['begin-rollback', READ_WRITE],
  ['notify-rollback', [...READ_WRITE, 'emails']],
  ['schedule-rollback', READ_WRITE],
  ['request-platform-rollback', [...READ_WRITE, 'publishes', 'answersTasks']],
  ['record-rollback-outcome', [...READ_WRITE, 'emails']],
  ['check-rollback-health', READ_WRITE],
  // An execution's input names its customer; it is read from the execution when the event leaves it out.
  // EventBridge invokes the rule targets asynchronously: what fails after Lambda's retries goes to a queue.
  [
    'record-rollout-ended',
    [...READ_WRITE, 'answersTasks', 'publishes', 'readsExecutions', 'keepsFailedInvocations'],
  ],
  ['handle-approval', [...READ_WRITE, 'answersTasks', 'readsSigningKeys']],
  ['record-rollback-ended', [...READ_WRITE, 'emails', 'readsExecutions', 'keepsFailedInvocations']],
  ['record-deployment-result', [...READ_WRITE, 'answersTasks', 'keepsFailedInvocations']],
  ['record-rollback-result', [...READ_WRITE, 'answersTasks', 'keepsFailedInvocations']],
  // A report that fires a rollback trigger starts the rollback, or tells the release manager it was refused.
  ['record-health-report', [...READ_WRITE, 'emails', 'startsRollbacks', 'keepsFailedInvocations']],
  ['health-sweep', [...READ_WRITE, 'emails', 'startsRollbacks', 'keepsFailedInvocations']],
  // The email queue's sender claims each email (put) and gives a refused one back (delete).
  ['send-email', ['writesTable', 'consumesEmailQueue', 'sendsThroughSes', 'readsSendQuota']],
];

// Step Functions state machine ARNs separate the resource type from the name with a colon.
const RELEASE_STATE_MACHINES_ARN =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholders test/infra/support/synth.ts writes for tokens
  'arn:${Ref:AWS::Partition}:states:${Ref:AWS::Region}:${Ref:AWS::AccountId}:stateMachine:securewatch-release-*';
const ROLLBACK_STATE_MACHINES_ARN =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholders test/infra/support/synth.ts writes for tokens
  'arn:${Ref:AWS::Partition}:states:${Ref:AWS::Region}:${Ref:AWS::AccountId}:stateMachine:securewatch-release-*-rollback';

describe('the platform stack', () => {
  let platform: Template;

  // Bundles the 19 functions for real, as `cdk synth` does.
  beforeAll(() => {
    platform = synthesizeApp({ bundle: true }).platform;
  });

  describe('release table', () => {
    it('is keyed by PK and SK', () => {
      platform.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
      });
    });

    it('is billed on demand', () => {
      platform.hasResourceProperties('AWS::DynamoDB::Table', { BillingMode: 'PAY_PER_REQUEST' });
    });

    it('keeps point-in-time recovery on', () => {
      platform.hasResourceProperties('AWS::DynamoDB::Table', {
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
    });

    it('lets DynamoDB delete items past their timeToLive (the email sender’s claims)', () => {
      platform.hasResourceProperties('AWS::DynamoDB::Table', {
        TimeToLiveSpecification: { AttributeName: 'timeToLive', Enabled: true },
      });
    });

    it('is encrypted at rest', () => {
      platform.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true } });
    });

    it('has one secondary index, the health sweep’s: the customers it may need, by shard and the instant they were last heard from, keys only', () => {
      // A step's members and everything else are read strongly consistent from the table itself.
      const [table] = Object.values(platform.findResources('AWS::DynamoDB::Table'));
      expect(table?.Properties?.GlobalSecondaryIndexes).toEqual([
        {
          IndexName: 'SweepIndex',
          KeySchema: [
            { AttributeName: 'sweepShard', KeyType: 'HASH' },
            { AttributeName: 'sweepAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ]);
      expect(table?.Properties?.AttributeDefinitions).toEqual(
        expect.arrayContaining([
          { AttributeName: 'sweepShard', AttributeType: 'S' },
          { AttributeName: 'sweepAt', AttributeType: 'S' },
        ]),
      );
    });

    it('survives the deletion of the stack', () => {
      platform.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });
  });

  describe('functions', () => {
    it('are the thirty-one orchestrator functions (thirty tasks and the email queue’s sender)', () => {
      platform.resourceCountIs('AWS::Lambda::Function', 31);
    });

    it('all run on nodejs24.x', () => {
      platform.allResourcesProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x' });
    });

    it('all have an explicit timeout within Lambda’s 15 minutes', () => {
      const timeouts = Object.values(platform.findResources('AWS::Lambda::Function')).map(
        (fn) => fn.Properties.Timeout,
      );

      expect(timeouts.every((seconds) => Number.isInteger(seconds) && seconds > 0 && seconds <= 900)).toBe(
        true,
      );
    });

    it('are all traced with X-Ray', () => {
      platform.allResourcesProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
    });

    it.each(NEEDS.map(([handler]) => handler))('let %s write logs to its own log group only', (handler) => {
      const fn = platform.findResources('AWS::Lambda::Function')[functionIdOf(platform, handler)];
      const logResources = statementsOfFunction(platform, handler)
        .filter(({ Action }) => listOf(Action).some((action) => action.startsWith('logs:')))
        .flatMap(({ Resource }) => listOf(Resource));

      expect(logResources).toEqual([{ 'Fn::GetAtt': [fn?.Properties.LoggingConfig.LogGroup.Ref, 'Arn'] }]);
    });

    it('have roles without managed policies such as AWSLambdaBasicExecutionRole', () => {
      const managed = Object.values(platform.findResources('AWS::IAM::Role')).flatMap(
        (role) => role.Properties.ManagedPolicyArns ?? [],
      );

      expect(managed).toEqual([]);
    });
  });

  describe('permissions', () => {
    it('grant no DynamoDB, EventBridge or Step Functions action on every resource', () => {
      const wildcards = statementsOf(platform).filter(
        ({ statement }) =>
          listOf(statement.Resource).includes('*') &&
          listOf(statement.Action).some((action) => /^(dynamodb|events|states):/.test(action)),
      );

      expect(wildcards).toEqual([]);
    });

    it('cover each of the thirty-one functions', () => {
      expect(NEEDS).toHaveLength(31);
    });

    it.each(NEEDS)('grant %s only %j', (handler, needs) => {
      expect(capabilitiesOf(platform, handler)).toEqual([...needs].sort());
    });

    it('let park-rollout and await-decision only park and answer: no email, event or execution', () => {
      for (const handler of ['park-rollout', 'await-decision']) {
        const actions = statementsOfFunction(platform, handler).flatMap(({ Action }) => listOf(Action));

        expect(actions).toContain('states:SendTaskSuccess');
        for (const action of ['ses:SendEmail', 'events:PutEvents', 'states:StartExecution'])
          expect(actions, handler).not.toContain(action);
      }
    });

    it('let only the email queue’s sender call SES', () => {
      const policies = statementsGranting(platform, 'ses:SendEmail').map(({ policy }) => policy);

      expect(policies.length).toBeGreaterThan(0);
      for (const policy of policies) expect(policy).toMatch(/^EmailQueueSendEmail/);
    });

    it('send email from the sender identity through the configuration set only', () => {
      const resources = statementsGranting(platform, 'ses:SendEmail').flatMap(({ statement }) =>
        listOf(statement.Resource).map(textOf),
      );

      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources)
        expect(resource).toMatch(
          /:(identity\/\$\{Ref:SenderIdentity|configuration-set\/\$\{Ref:EmailConfiguration)/,
        );
    });

    it('publish to the release bus only', () => {
      const busId = Object.keys(platform.findResources('AWS::Events::EventBus'))[0];
      const resources = statementsGranting(platform, 'events:PutEvents').flatMap(({ statement }) =>
        listOf(statement.Resource).map(textOf),
      );

      expect(new Set(resources)).toEqual(new Set([`\${GetAtt:${busId}.Arn}`]));
    });

    it('let only the customer-rollout starter and the scheduled release start start executions, and the rollback requesters rollbacks only', () => {
      const granted = statementsGranting(platform, 'states:StartExecution').map(({ policy, statement }) => [
        policy.replace(/RoleDefaultPolicy.*$/, ''),
        listOf(statement.Resource).map(textOf),
      ]);

      expect(granted.sort()).toEqual(
        [
          ['StartCustomerRollouts', [RELEASE_STATE_MACHINES_ARN]],
          ['ReleaseStartScheduler', [RELEASE_STATE_MACHINES_ARN]],
          ['RecordHealthReport', [ROLLBACK_STATE_MACHINES_ARN]],
          ['HealthSweep', [ROLLBACK_STATE_MACHINES_ARN]],
        ].sort(),
      );
    });

    it('tell the functions where a release’s rollback state machine is: its ARN up to the version', () => {
      const fn = platform.findResources('AWS::Lambda::Function')[functionIdOf(platform, 'health-sweep')];

      expect(textOf(fn?.Properties.Environment.Variables.RELEASE_STATE_MACHINE_ARN_PREFIX)).toBe(
        RELEASE_STATE_MACHINES_ARN.replace(/\*$/, ''),
      );
    });

    it('read executions of securewatch-release-* state machines only', () => {
      const resources = statementsGranting(platform, 'states:DescribeExecution').flatMap(({ statement }) =>
        listOf(statement.Resource).map(textOf),
      );

      expect(new Set(resources)).toEqual(
        new Set([RELEASE_STATE_MACHINES_ARN.replace(':stateMachine:', ':execution:')]),
      );
    });

    it('answer task tokens of securewatch-release-* state machines only', () => {
      const resources = statementsGranting(platform, 'states:SendTaskSuccess').flatMap(({ statement }) =>
        listOf(statement.Resource).map(textOf),
      );

      expect(new Set(resources)).toEqual(new Set([RELEASE_STATE_MACHINES_ARN]));
    });
  });

  describe('release bus', () => {
    it('is named securewatch-releases', () => {
      platform.hasResourceProperties('AWS::Events::EventBus', { Name: 'securewatch-releases' });
    });

    it('brings Deployment Succeeded and Failed from the platform to record-deployment-result', () => {
      platform.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['securewatch.platform'],
          'detail-type': ['Deployment Succeeded', 'Deployment Failed'],
        },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [functionIdOf(platform, 'record-deployment-result'), 'Arn'] },
          }),
        ],
      });
    });

    it('brings Health Reported from the fleet to record-health-report', () => {
      platform.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { source: ['securewatch.fleet'], 'detail-type': ['Health Reported'] },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [functionIdOf(platform, 'record-health-report'), 'Arn'] },
          }),
        ],
      });
    });

    it('runs the health sweep at the configured rate, keeping what it could not deliver in the dead letters', () => {
      platform.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(6 hours)',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [functionIdOf(platform, 'health-sweep'), 'Arn'] },
            DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }),
          }),
        ],
      });
    });

    it('retries a failed delivery for up to 24 hours', () => {
      platform.allResourcesProperties('AWS::Events::Rule', {
        Targets: [Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumEventAgeInSeconds: 86_400 }) })],
      });
    });
  });

  describe('email', () => {
    const configurationSetId = () => Object.keys(platform.findResources('AWS::SES::ConfigurationSet'))[0];

    it('goes through one configuration set that requires TLS and records reputation metrics', () => {
      platform.resourceCountIs('AWS::SES::ConfigurationSet', 1);
      platform.hasResourceProperties('AWS::SES::ConfigurationSet', {
        DeliveryOptions: { TlsPolicy: 'REQUIRE' },
        ReputationOptions: { ReputationMetricsEnabled: true },
      });
    });

    it('stops sending to addresses that bounced or complained', () => {
      platform.hasResourceProperties('AWS::SES::ConfigurationSet', {
        SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
      });
    });

    it('is the sender identity’s default configuration set', () => {
      platform.hasResourceProperties('AWS::SES::EmailIdentity', {
        ConfigurationSetAttributes: { ConfigurationSetName: { Ref: configurationSetId() } },
      });
    });

    const queueId = () => {
      const queues = platform.findResources('AWS::SQS::Queue', {
        Properties: { RedrivePolicy: Match.anyValue() },
      });
      return Object.keys(queues)[0] ?? '';
    };
    const environmentOf = (handler: string) =>
      platform.findResources('AWS::Lambda::Function')[functionIdOf(platform, handler)]?.Properties.Environment
        .Variables as Record<string, unknown>;

    it.each(SENDERS)('is queued by %s on the email queue', (handler) => {
      expect(environmentOf(handler).EMAIL_QUEUE_URL).toEqual({ Ref: queueId() });
    });

    it('is sent by one function, send-email, through the configuration set', () => {
      const configured = NEEDS.map(([handler]) => handler).filter(
        (handler) => environmentOf(handler).SES_CONFIGURATION_SET !== undefined,
      );

      expect(configured).toEqual(['send-email']);
      expect(environmentOf('send-email').SES_CONFIGURATION_SET).toEqual({ Ref: configurationSetId() });
    });

    it('is queued only by the functions that email', () => {
      const queueing = NEEDS.map(([handler]) => handler).filter(
        (handler) => environmentOf(handler).EMAIL_QUEUE_URL !== undefined,
      );

      expect(queueing.sort()).toEqual([...SENDERS].sort());
    });

    it('waits on one encrypted queue whose failures go to an encrypted dead-letter queue', () => {
      const [dlqId] = Object.keys(platform.findResources('AWS::SQS::Queue')).filter((id) =>
        id.startsWith('EmailQueueDeadLetters'),
      );
      platform.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 20 },
      });
      platform.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
        RedrivePolicy: Match.absent(),
      });
    });

    it('accepts only TLS on both queues', () => {
      const policies = Object.entries(platform.findResources('AWS::SQS::QueuePolicy'))
        .filter(([id]) => id.startsWith('EmailQueue'))
        .map(([, policy]) => policy);
      const denials = policies.flatMap((policy) =>
        (policy.Properties.PolicyDocument.Statement as { Effect: string; Condition?: unknown }[]).filter(
          (statement) =>
            statement.Effect === 'Deny' &&
            JSON.stringify(statement.Condition) ===
              JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
        ),
      );

      expect(denials).toHaveLength(2);
    });

    it('feeds the queue to send-email in batches of 10, reporting failed items, to two senders that are never throttled', () => {
      const senderId = functionIdOf(platform, 'send-email');
      platform.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queueId(), 'Arn'] },
        FunctionName: { Ref: senderId },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 2 },
      });
      expect(
        platform.findResources('AWS::Lambda::Function')[senderId]?.Properties.ReservedConcurrentExecutions,
      ).toBe(2);
      expect(environmentOf('send-email').EMAIL_SENDERS).toBe('2');
    });

    it('keeps a queued email invisible for six times the sender’s timeout while it is being sent', () => {
      const sender = platform.findResources('AWS::Lambda::Function')[functionIdOf(platform, 'send-email')];
      platform.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: Match.anyValue(),
        VisibilityTimeout: (sender?.Properties.Timeout as number) * 6,
      });
    });

    it('is given the configured send rate, its cap on the SES quota', () => {
      expect(environmentOf('send-email').SES_MAX_SEND_RATE).toMatch(/^\d+(\.\d+)?$/);
    });
  });

  describe('approval API', () => {
    it.each(['GET', 'POST'])('routes %s /approvals/{id}', (method) => {
      platform.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `${method} /approvals/{id}` });
    });

    it('throttles requests to 10 per second, bursts to 20', () => {
      platform.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      });
    });

    it('logs every request to a log group kept for a year', () => {
      const [logGroup] = Object.keys(
        platform.findResources('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 } }),
      );

      platform.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [logGroup, 'Arn'] }, Format: Match.anyValue() },
      });
    });

    it('logs the route, never the path or query string that carry the link’s id and signatures', () => {
      const [stage] = Object.values(platform.findResources('AWS::ApiGatewayV2::Stage'));
      const format = String(stage?.Properties.AccessLogSettings.Format);

      expect(format).toContain('$context.routeKey');
      expect(format).toContain('$context.requestId');
      expect(format).not.toMatch(/\$context\.(path|resourcePath)|querystring/i);
    });

    it('hands approval requests to handle-approval', () => {
      platform.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: { 'Fn::GetAtt': [functionIdOf(platform, 'handle-approval'), 'Arn'] },
      });
    });
  });

  describe('approval signing keys', () => {
    const SIGNERS = ['request-approval', 'handle-approval'];
    const secretId = () => Object.keys(platform.findResources('AWS::SecretsManager::Secret'))[0] ?? '';

    it('are one secret, under the name the rotation command uses', () => {
      platform.resourceCountIs('AWS::SecretsManager::Secret', 1);
      platform.hasResourceProperties('AWS::SecretsManager::Secret', { Name: APPROVAL_SIGNING_SECRET_NAME });
    });

    it('are generated in the shape the functions read: {"current": 64 letters and digits}', () => {
      const [secret] = Object.values(platform.findResources('AWS::SecretsManager::Secret'));
      const generate = secret?.Properties.GenerateSecretString;
      // What CloudFormation stores: the template with the generated string under the key.
      const created = {
        ...JSON.parse(generate.SecretStringTemplate),
        [generate.GenerateStringKey]: 'x'.repeat(generate.PasswordLength),
      };

      expect(parseSigningKeys(created)).toEqual({ current: 'x'.repeat(64) });
      expect(generate).toMatchObject({ PasswordLength: 64, ExcludePunctuation: true });
    });

    it('are in no function’s environment, neither as a value nor as a deploy-time reference', () => {
      for (const fn of Object.values(platform.findResources('AWS::Lambda::Function'))) {
        const environment = JSON.stringify(fn.Properties.Environment ?? {});
        expect(environment).not.toContain('{{resolve:');
        expect(environment).not.toMatch(/SIGNING_KEY/);
      }
    });

    it('are found by request-approval and handle-approval from the secret’s ARN in their environment', () => {
      for (const handler of SIGNERS) {
        const fn = platform.findResources('AWS::Lambda::Function')[functionIdOf(platform, handler)];
        expect(fn?.Properties.Environment.Variables.APPROVAL_SIGNING_SECRET_ID).toEqual({ Ref: secretId() });
      }
    });

    it('may be read by request-approval and handle-approval only, and they may read no other secret', () => {
      const readers = NEEDS.map(([handler]) => handler).filter((handler) =>
        capabilitiesOf(platform, handler).includes('readsSigningKeys'),
      );
      const grants = statementsOf(platform).filter(({ statement }) =>
        listOf(statement.Action).some((action) => action.startsWith('secretsmanager:')),
      );

      expect(readers.sort()).toEqual([...SIGNERS].sort());
      expect(grants).toHaveLength(SIGNERS.length);
      for (const { statement } of grants) {
        expect(listOf(statement.Action).sort()).toEqual([
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
        ]);
        expect(statement.Resource).toEqual({ Ref: secretId() });
      }
      platform.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
    });
  });

  describe('what the CLI needs to find', () => {
    it.each(['TableName', 'EventBusName', 'ApprovalApiUrl'])('is output as %s', (name) => {
      platform.hasOutput(name, { Value: Match.anyValue() });
    });

    it.each(['TableName', 'EventBusName', 'ApprovalApiUrl'])('is kept in SSM as %s', (name) => {
      platform.hasResourceProperties('AWS::SSM::Parameter', {
        Name: `/securewatch/release-orchestrator/${name}`,
        Type: 'String',
      });
    });

    it('keeps the commands’ environment in one SSM parameter: names and URLs, never a secret value', () => {
      const parameters = platform.findResources('AWS::SSM::Parameter', {
        Properties: { Name: '/securewatch/release-orchestrator/CommandEnvironment' },
      });
      const [parameter] = Object.values(parameters);
      const value = JSON.stringify(parameter?.Properties?.Value);
      for (const name of [
        'TABLE_NAME',
        'EVENT_BUS_NAME',
        'EMAIL_QUEUE_URL',
        'APPROVAL_BASE_URL',
        'APPROVAL_SIGNING_SECRET_ID',
        'RELEASE_STATE_MACHINE_ARN_PREFIX',
        'RELEASE_START_ROLE_ARN',
      ])
        expect(value).toContain(name);
      expect(value).not.toMatch(/SecretString|GenerateSecretString|resolve:secretsmanager/);
    });

    it('lets EventBridge Scheduler start release executions, and nothing else', () => {
      platform.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })],
        }),
      });
    });
  });
});
