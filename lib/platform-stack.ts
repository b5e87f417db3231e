import { Arn, ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { bundledConfig } from '../lambdas/core/config.js';
import { ROLLBACK_STATE_MACHINE_SUFFIX } from '../lambdas/core/rollback.js';
import {
  DETAIL_TYPES,
  FLEET_SOURCE,
  ORCHESTRATOR_SOURCE,
  PLATFORM_SOURCE,
} from '../lambdas/events/contract.js';
import { SWEEP_AT_ATTRIBUTE, SWEEP_INDEX, SWEEP_SHARD_ATTRIBUTE } from '../lambdas/store/sweep-index.js';
import type { WorkflowFunctions } from '../statemachines/tasks.js';
import { Alarms, AlarmTopic } from './constructs/alarms.js';
import { OrchestratorDashboard } from './constructs/dashboard.js';
import { EmailQueue } from './constructs/email-queue.js';
import {
  DeadLetterQueue,
  keepFailedInvocations,
  ReleaseBusSafety,
  safeLambdaTarget,
} from './constructs/event-safety.js';
import { acknowledgeNagFindings } from './constructs/nag.js';
import { OrchestratorFunction } from './constructs/orchestrator-function.js';
import {
  APPROVAL_SIGNING_SECRET_NAME,
  COMMAND_ENVIRONMENT_PARAMETER,
  EVENT_DEAD_LETTERS_QUEUE,
  FAILED_INVOCATIONS_QUEUE,
  RECORD_ROLLBACK_ENDED_HANDLER,
  RECORD_ROLLOUT_ENDED_HANDLER,
  RELEASE_RULE_PREFIX,
} from './platform-names.js';

/** Every release state machine is named with this prefix; the platform's functions may drive only those. */
export const RELEASE_STATE_MACHINE_PREFIX = 'securewatch-release-';
export const PARAMETER_PREFIX = '/securewatch/release-orchestrator';

export interface PlatformStackProps extends StackProps {
  /** The verified SES identity the emails come from. */
  readonly senderEmail: string;
  /** Who hears about halts and completions, comma-separated. @default none */
  readonly escalationEmails?: string;
  /** SES messages per second (sandbox: 1). @default 1 */
  readonly sesMaxSendRate?: number;
  /** Accounts whose environments put Deployment Succeeded/Failed and Health Reported on the bus. @default none */
  readonly producerAccounts?: readonly string[];
  /** Who receives the alarms. */
  readonly alarmEmail: string;
  /** Minutes between health sweeps. @default the bundled config's healthSweep.rateMinutes */
  readonly healthSweepRateMinutes?: number;
}

/**
 * What one function may do besides run: each handler is granted only what it calls. The common
 * environment stays on every function (the local rehearsal merges it); permissions do not.
 */
interface FunctionAccess {
  /** @default 30 seconds */
  readonly timeout?: Duration;
  /** The release table and its indexes: read only, or read and write. */
  readonly table: 'read' | 'readWrite';
  /** events:PutEvents on the release bus. */
  readonly publishes?: boolean;
  /** sqs:SendMessage on the email queue, whose sender sends through SES. */
  readonly emails?: boolean;
  /** states:SendTaskSuccess / SendTaskFailure on the release state machines' task tokens. */
  readonly answersTasks?: boolean;
  /** states:StartExecution on the release state machines. */
  readonly startsExecutions?: boolean;
  /** states:StartExecution on the release stacks' rollback state machines only. */
  readonly startsRollbacks?: boolean;
  /** states:DescribeExecution on the release state machines' executions. */
  readonly readsExecutions?: boolean;
  /** Invoked asynchronously by EventBridge (else synchronously, by Step Functions or API Gateway). */
  readonly invokedByEvents?: boolean;
}

/**
 * Deployed once: the table, the functions, the approval API, the release bus and its rules, and the SES
 * identity. Release stacks (one per version) hold the state machines and use these functions.
 */
export class PlatformStack extends Stack {
  readonly table: dynamodb.Table;
  readonly bus: events.EventBus;
  readonly functions: WorkflowFunctions;
  /** Target of each release stack's rule on its customer rollouts' "Execution Status Change" events. */
  readonly recordRolloutEnded: OrchestratorFunction;
  readonly approvalApi: apigwv2.HttpApi;
  readonly emailQueue: EmailQueue;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);

    this.table = new dynamodb.Table(this, 'ReleaseTable', {
      partitionKey: { name: 'PK', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'SK', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Items that only serve a while (the email sender's claims) carry their end here.
      timeToLiveAttribute: 'timeToLive',
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The health sweep's index, sparse: only deployed and rolling-back customers carry its keys, and the sweep
    // asks it for the ones heard from too long ago (lambdas/store/customers.ts, SWEEP_INDEX). Keys only: the
    // sweep re-reads each customer it finds, strongly consistent.
    this.table.addGlobalSecondaryIndex({
      indexName: SWEEP_INDEX,
      partitionKey: { name: SWEEP_SHARD_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      sortKey: { name: SWEEP_AT_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    const tableIndexes = `Resource::<${this.getLogicalId(this.table.node.defaultChild as dynamodb.CfnTable)}.Arn>/index/*`;
    /** A role granted the table's data is granted its indexes too (CDK's grant): the sweep index only. */
    const acknowledgeTableIndexes = (role: iam.IRole) =>
      acknowledgeNagFindings(role, {
        id: 'AwsSolutions-IAM5',
        appliesTo: tableIndexes,
        reason:
          'The table has one secondary index, the health sweep’s sparse SweepIndex; a grant of the table’s data covers its indexes by name pattern.',
      });

    this.bus = new events.EventBus(this, 'ReleaseBus', { eventBusName: 'securewatch-releases' });
    const emailConfiguration = new ses.ConfigurationSet(this, 'EmailConfiguration', {
      configurationSetName: 'securewatch-release-email',
      reputationMetrics: true,
      // A bounced or complaining address stops receiving mail from the account, protecting its reputation.
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
    });
    const senderIdentity = new ses.EmailIdentity(this, 'SenderIdentity', {
      identity: ses.Identity.email(props.senderEmail),
      configurationSet: emailConfiguration,
    });
    const signingKey = new secretsmanager.Secret(this, 'ApprovalSigningKey', {
      secretName: APPROVAL_SIGNING_SECRET_NAME,
      description: 'HMAC keys of approval links: {"current": signs, "previous": still verifies}',
      // The shape lambdas/core/signing-keys.ts reads; `previous` appears at the first rotation.
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'current',
        passwordLength: 64,
        excludePunctuation: true,
      },
    });
    acknowledgeNagFindings(signingKey, {
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotated by the operator with `npm run rotate-signing-key`, which keeps the replaced key as `previous` so links already emailed still verify (README, "Rotating the approval signing key"); an automatic schedule could retire a key while its links are still valid.',
    });

    this.approvalApi = new apigwv2.HttpApi(this, 'ApprovalApi', {
      description: 'Approval links emailed to enterprise approvers',
      createDefaultStage: false,
    });
    this.approvalApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 10, burstLimit: 20 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(
          new logs.LogGroup(this, 'ApprovalApiAccessLogs', {
            retention: logs.RetentionDays.ONE_YEAR,
            removalPolicy: RemovalPolicy.RETAIN,
          }),
        ),
        // The route key, not the path: the path names the approval request, and its query string carries signatures.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const releaseStateMachineArnPrefix = Arn.format(
      {
        service: 'states',
        resource: 'stateMachine',
        resourceName: RELEASE_STATE_MACHINE_PREFIX,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      this,
    );
    const common = {
      TABLE_NAME: this.table.tableName,
      // A release's rollback state machine is `<this><versionSlug>-rollback` (lambdas/core/rollback.ts).
      RELEASE_STATE_MACHINE_ARN_PREFIX: releaseStateMachineArnPrefix,
      EVENT_BUS_NAME: this.bus.eventBusName,
      SENDER_EMAIL: props.senderEmail,
      SES_MAX_SEND_RATE: String(props.sesMaxSendRate ?? 1),
      ESCALATION_EMAILS: props.escalationEmails ?? '',
    };
    this.emailQueue = new EmailQueue(this, 'EmailQueue', {
      table: this.table,
      senderIdentity,
      configurationSet: emailConfiguration,
      environment: common,
    });
    const releaseStateMachines = Arn.format(
      {
        service: 'states',
        resource: 'stateMachine',
        resourceName: `${RELEASE_STATE_MACHINE_PREFIX}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      this,
    );
    const rollbackStateMachines = `${releaseStateMachineArnPrefix}*${ROLLBACK_STATE_MACHINE_SUFFIX}`;
    const releaseExecutions = this.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${RELEASE_STATE_MACHINE_PREFIX}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const taskCallbacks = ['states:SendTaskSuccess', 'states:SendTaskFailure'];
    acknowledgeTableIndexes(this.emailQueue.sender.role);
    const acknowledgeRoleFindings = (created: OrchestratorFunction, access: FunctionAccess) => {
      acknowledgeTableIndexes(created.role);
      acknowledgeNagFindings(created.role, {
        id: 'AwsSolutions-IAM5',
        appliesTo: 'Resource::*',
        reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.',
      });
      if (access.answersTasks || access.startsExecutions)
        acknowledgeNagFindings(created.role, {
          id: 'AwsSolutions-IAM5',
          appliesTo: `Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${RELEASE_STATE_MACHINE_PREFIX}*`,
          reason:
            'Release state machines are deployed later, one stack per version, so the platform names them by their securewatch-release- prefix.',
        });
      if (access.startsRollbacks)
        acknowledgeNagFindings(created.role, {
          id: 'AwsSolutions-IAM5',
          appliesTo: `Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${RELEASE_STATE_MACHINE_PREFIX}*${ROLLBACK_STATE_MACHINE_SUFFIX}`,
          reason:
            'Each release stack deploys its own rollback state machine later, named after its version: the platform names them by prefix and suffix.',
        });
      if (access.startsExecutions || access.readsExecutions)
        acknowledgeNagFindings(created.role, {
          id: 'AwsSolutions-IAM5',
          appliesTo: `Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${RELEASE_STATE_MACHINE_PREFIX}*`,
          reason:
            'Customer rollout executions are named at run time (release and customer), under the release state machines’ prefix.',
        });
    };
    const fn = (id: string, handler: string, description: string, access: FunctionAccess) => {
      const created = new OrchestratorFunction(this, id, {
        handler,
        description,
        timeout: access.timeout,
        environment: common,
      });
      if (access.table === 'readWrite') this.table.grantReadWriteData(created);
      else this.table.grantReadData(created);
      if (access.publishes) this.bus.grantPutEventsTo(created);
      if (access.emails) this.emailQueue.grantEnqueue(created);
      if (access.answersTasks)
        created.addToRolePolicy(
          new iam.PolicyStatement({ actions: taskCallbacks, resources: [releaseStateMachines] }),
        );
      if (access.startsExecutions)
        created.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [releaseStateMachines] }),
        );
      if (access.startsRollbacks)
        created.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [rollbackStateMachines] }),
        );
      if (access.readsExecutions)
        created.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [releaseExecutions] }),
        );
      acknowledgeRoleFindings(created, access);
      if (!access.invokedByEvents)
        acknowledgeNagFindings(created, {
          id: 'Serverless-LambdaDLQ',
          reason:
            'Invoked synchronously (by Step Functions or API Gateway), which sees the error and retries: a DLQ would never receive anything.',
        });
      return created;
    };

    const startCustomerRollouts = fn(
      'StartCustomerRollouts',
      'start-customer-rollouts',
      'Starts one customer-rollout execution per customer of a step',
      {
        timeout: Duration.minutes(10),
        table: 'readWrite',
        startsExecutions: true,
        // A name already taken is checked: is it this customer's rollout, started by an earlier attempt?
        readsExecutions: true,
        answersTasks: true,
        publishes: true,
      },
    );

    const requestApproval = fn(
      'RequestApproval',
      'request-approval',
      'Emails signed approval links to approvers',
      { table: 'readWrite', emails: true, answersTasks: true },
    );
    const handleApproval = fn(
      'HandleApproval',
      'handle-approval',
      'Serves approval pages and records decisions',
      { table: 'readWrite', answersTasks: true },
    );
    for (const approvalFunction of [requestApproval, handleApproval]) {
      // The secret's ARN only: the keys are read at run time, and only these two functions may read them.
      approvalFunction.addEnvironment('APPROVAL_SIGNING_SECRET_ID', signingKey.secretArn);
      signingKey.grantRead(approvalFunction);
      approvalFunction.addEnvironment('APPROVAL_BASE_URL', this.approvalApi.apiEndpoint);
    }
    const approvalIntegration = new HttpLambdaIntegration('ApprovalIntegration', handleApproval);
    const approvalRoutes = this.approvalApi.addRoutes({
      path: '/approvals/{id}',
      methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST],
      integration: approvalIntegration,
    });
    for (const route of approvalRoutes)
      acknowledgeNagFindings(route, {
        id: 'AwsSolutions-APIG4',
        reason:
          'Approvers are outside the account: each link is authorized by handle-approval, which checks an HMAC over the opaque request id, action, approver and expiry, and that the approver is on the request.',
      });

    this.functions = {
      planRelease: fn('PlanRelease', 'plan-release', 'Plans a release and records the plan in chunks', {
        timeout: Duration.minutes(5),
        table: 'readWrite',
      }),
      writePlanChunk: fn(
        'WritePlanChunk',
        'write-plan-chunk',
        "Writes one chunk of a release plan's customers",
        { timeout: Duration.minutes(2), table: 'readWrite' },
      ),
      // Opening a newer release ends the waits of the older releases' customers it takes over.
      openRelease: fn('OpenRelease', 'open-release', 'Takes over customers, runs and announces a release', {
        timeout: Duration.minutes(5),
        table: 'readWrite',
        publishes: true,
        answersTasks: true,
      }),
      sendNotices: fn('SendNotices', 'send-notices', 'Sends due advance notices, once per customer', {
        timeout: Duration.minutes(10),
        table: 'readWrite',
        emails: true,
      }),
      startCustomerRollouts,
      awaitStep: fn(
        'AwaitStep',
        'await-step',
        'Parks a release until every customer of a step has an outcome',
        { table: 'readWrite', answersTasks: true, publishes: true },
      ),
      evaluateGate: fn(
        'EvaluateGate',
        'evaluate-gate',
        'Checks a step or phase against its success criteria; a failed gate pauses the release',
        { table: 'readWrite', emails: true },
      ),
      recordFailure: fn(
        'RecordFailure',
        'record-failure',
        'Records why the release failed and tells the escalation contacts',
        {
          table: 'readWrite',
          emails: true,
          publishes: true,
        },
      ),
      completeRelease: fn('CompleteRelease', 'complete-release', 'Computes and sends the release report', {
        timeout: Duration.minutes(5),
        table: 'readWrite',
        emails: true,
        publishes: true,
      }),
      requestApproval,
      scheduleDeployment: fn(
        'ScheduleDeployment',
        'schedule-deployment',
        'Finds the maintenance window to deploy in; tells a customer its new date',
        { table: 'readWrite', emails: true },
      ),
      parkRollout: fn('ParkRollout', 'park-rollout', 'Parks a customer rollout while a halt holds it', {
        table: 'readWrite',
        answersTasks: true,
      }),
      awaitDecision: fn('AwaitDecision', 'await-decision', 'Parks a release awaiting an operator decision', {
        table: 'readWrite',
        answersTasks: true,
      }),
      remindPaused: fn(
        'RemindPaused',
        'remind-paused',
        'Reminds the escalation contacts of a pause awaiting a decision',
        { table: 'readWrite', emails: true },
      ),
      abortRelease: fn(
        'AbortRelease',
        'abort-release',
        'Ends a release as aborted: cancels customers not yet deployed and tells them',
        {
          timeout: Duration.minutes(10),
          table: 'readWrite',
          emails: true,
          answersTasks: true,
          publishes: true,
        },
      ),
      requestDeployment: fn(
        'RequestDeployment',
        'request-deployment',
        'Publishes Deployment Requested, once',
        { table: 'readWrite', publishes: true, answersTasks: true },
      ),
      beginRollback: fn(
        'BeginRollback',
        'begin-rollback',
        'Begins a customer rollback and reads its policy process',
        { table: 'readWrite' },
      ),
      notifyRollback: fn(
        'NotifyRollback',
        'notify-rollback',
        'Tells a customer (and for incident reports the escalation contacts) of its rollback, once',
        { table: 'readWrite', emails: true },
      ),
      scheduleRollback: fn(
        'ScheduleRollback',
        'schedule-rollback',
        'Finds the maintenance window an approved rollback runs in',
        { table: 'readWrite' },
      ),
      requestPlatformRollback: fn(
        'RequestPlatformRollback',
        'request-platform-rollback',
        'Publishes Rollback Requested, once',
        { table: 'readWrite', publishes: true, answersTasks: true },
      ),
      recordRollbackOutcome: fn(
        'RecordRollbackOutcome',
        'record-rollback-outcome',
        'Records how a customer rollback ended; a failed one pauses the release and pages escalation',
        { table: 'readWrite', emails: true },
      ),
      checkRollbackHealth: fn(
        'CheckRollbackHealth',
        'check-rollback-health',
        'Reads the health reports since a customer rollback',
        { table: 'readWrite' },
      ),
      recordOutcome: fn(
        'RecordOutcome',
        'record-outcome',
        'Records a customer outcome and resumes its step',
        {
          table: 'readWrite',
          answersTasks: true,
          publishes: true,
        },
      ),
    };

    const eventDeadLetters = new DeadLetterQueue(this, 'EventDeadLetters', {
      queueName: EVENT_DEAD_LETTERS_QUEUE,
    });
    const failedInvocations = new DeadLetterQueue(this, 'FailedInvocations', {
      queueName: FAILED_INVOCATIONS_QUEUE,
    });

    this.recordRolloutEnded = fn(
      'RecordRolloutEnded',
      RECORD_ROLLOUT_ENDED_HANDLER,
      'Records a customer failed when its rollout execution fails, times out or is stopped',
      // The execution's input names the customer; read from the execution when the event leaves it out.
      {
        table: 'readWrite',
        answersTasks: true,
        publishes: true,
        readsExecutions: true,
        invokedByEvents: true,
      },
    );
    // Release stacks (deployed later, one per version) own the rules that invoke it and send to the dead letters.
    const recordRollbackEnded = fn(
      'RecordRollbackEnded',
      RECORD_ROLLBACK_ENDED_HANDLER,
      'Records a customer rollback failed when its execution fails, times out or is stopped',
      { table: 'readWrite', emails: true, readsExecutions: true, invokedByEvents: true },
    );
    const releaseRules = this.formatArn({
      service: 'events',
      resource: 'rule',
      resourceName: `${RELEASE_RULE_PREFIX}*`,
    });
    for (const ruleTarget of [this.recordRolloutEnded, recordRollbackEnded])
      ruleTarget.addPermission('ReleaseRulesInvoke', {
        principal: new iam.ServicePrincipal('events.amazonaws.com'),
        sourceArn: releaseRules,
      });
    eventDeadLetters.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [eventDeadLetters.queueArn],
        conditions: { ArnLike: { 'aws:SourceArn': releaseRules } },
      }),
    );

    const recordDeploymentResult = fn(
      'RecordDeploymentResult',
      'record-deployment-result',
      'Records Deployment Succeeded / Failed from the platform',
      { table: 'readWrite', answersTasks: true, invokedByEvents: true },
    );
    const deploymentResults = [DETAIL_TYPES.deploymentSucceeded, DETAIL_TYPES.deploymentFailed];
    this.routeEvents(
      'DeploymentResults',
      'The platform reports deployment results',
      recordDeploymentResult,
      {
        source: [PLATFORM_SOURCE],
        detailType: deploymentResults,
      },
      eventDeadLetters,
    );
    const recordRollbackResult = fn(
      'RecordRollbackResult',
      'record-rollback-result',
      'Records Rollback Succeeded / Failed from the platform',
      { table: 'readWrite', answersTasks: true, invokedByEvents: true },
    );
    const rollbackResults = [DETAIL_TYPES.rollbackSucceeded, DETAIL_TYPES.rollbackFailed];
    this.routeEvents(
      'RollbackResults',
      'The platform reports rollback results',
      recordRollbackResult,
      { source: [PLATFORM_SOURCE], detailType: rollbackResults },
      eventDeadLetters,
    );
    const recordHealthReport = fn(
      'RecordHealthReport',
      'record-health-report',
      'Records Health Reported events; a report that fires a rollback trigger requests the rollback',
      { table: 'readWrite', invokedByEvents: true, startsRollbacks: true, emails: true },
    );
    this.routeEvents(
      'HealthReports',
      'Customer environments report their health',
      recordHealthReport,
      {
        source: [FLEET_SOURCE],
        detailType: [DETAIL_TYPES.healthReported],
      },
      eventDeadLetters,
    );
    const healthSweep = fn(
      'HealthSweep',
      'health-sweep',
      'Re-evaluates deployed customers on a schedule: requests due rollbacks, flags customers gone silent',
      {
        timeout: Duration.minutes(10),
        table: 'readWrite',
        invokedByEvents: true,
        startsRollbacks: true,
        emails: true,
      },
    );
    new events.Rule(this, 'HealthSweepSchedule', {
      description: 'Runs the health sweep (config healthSweep.rateMinutes)',
      schedule: events.Schedule.rate(
        Duration.minutes(props.healthSweepRateMinutes ?? bundledConfig().release.healthSweep.rateMinutes),
      ),
      targets: [safeLambdaTarget({ handler: healthSweep, deadLetterQueue: eventDeadLetters })],
    });
    for (const invokedByEvents of [
      this.recordRolloutEnded,
      recordRollbackEnded,
      recordDeploymentResult,
      recordRollbackResult,
      recordHealthReport,
      healthSweep,
    ])
      keepFailedInvocations(invokedByEvents, failedInvocations);

    new ReleaseBusSafety(this, 'ReleaseBusSafety', {
      bus: this.bus,
      sources: [ORCHESTRATOR_SOURCE, PLATFORM_SOURCE, FLEET_SOURCE],
      producerAccounts: props.producerAccounts ?? [],
      inbound: {
        [PLATFORM_SOURCE]: [...deploymentResults, ...rollbackResults],
        [FLEET_SOURCE]: [DETAIL_TYPES.healthReported],
      },
    });

    const alarmTopic = new AlarmTopic(this, 'AlarmTopic', props);
    const alarms = new Alarms(this, 'Alarms', alarmTopic.topic);
    alarms.deadLetters(
      'AlarmDeliveryAlarm',
      alarmTopic.undelivered,
      'An alarm notification could not be delivered',
    );
    alarms.deadLetters(
      'EmailDeadLettersAlarm',
      this.emailQueue.deadLetterQueue,
      'Emails could not be sent after 20 attempts',
    );
    alarms.deadLetters(
      'EventDeadLettersAlarm',
      eventDeadLetters,
      'EventBridge could not deliver a release event',
    );
    alarms.deadLetters(
      'FailedInvocationsAlarm',
      failedInvocations,
      'A handler failed on a release event after Lambda’s retries',
    );
    alarms.onAny(
      'ReleaseAwaitingDecision',
      this.functions.awaitDecision.metricInvocations({ period: Duration.minutes(5), statistic: 'Sum' }),
      'A release is paused or halted, awaiting an operator decision (resume or abort)',
    );

    new OrchestratorDashboard(this, 'Dashboard', {
      functions: this.node
        .findAll()
        .filter((construct): construct is OrchestratorFunction => construct instanceof OrchestratorFunction),
      deadLetterQueues: {
        'emails not sent': this.emailQueue.deadLetterQueue,
        'release events not delivered': eventDeadLetters,
        'failed handler invocations': failedInvocations,
        'alarm notifications not delivered': alarmTopic.undelivered,
      },
      releaseStateMachinePrefix: RELEASE_STATE_MACHINE_PREFIX,
    });

    // `start-phase --at` starts a release later through EventBridge Scheduler, which assumes this role.
    const releaseStarter = new iam.Role(this, 'ReleaseStartSchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Lets EventBridge Scheduler start a release execution at the time start-phase --at gave',
    });
    releaseStarter.addToPolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [releaseStateMachines] }),
    );
    acknowledgeNagFindings(releaseStarter, {
      id: 'AwsSolutions-IAM5',
      appliesTo: `Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${RELEASE_STATE_MACHINE_PREFIX}*`,
      reason: 'A release state machine is deployed per release, after this stack; all share the prefix.',
    });
    // What the release manager commands need to call the same operations the functions do: one parameter,
    // read once per command (cli/target.ts). Names and URLs only, never a secret.
    const commandEnvironment: Record<string, string> = {
      ...common,
      EMAIL_QUEUE_URL: this.emailQueue.queue.queueUrl,
      APPROVAL_BASE_URL: this.approvalApi.apiEndpoint,
      APPROVAL_SIGNING_SECRET_ID: signingKey.secretArn,
      RELEASE_START_ROLE_ARN: releaseStarter.roleArn,
    };
    new ssm.StringParameter(this, 'CommandEnvironmentParameter', {
      parameterName: COMMAND_ENVIRONMENT_PARAMETER,
      description: 'The release manager commands read their environment here (JSON)',
      stringValue: Stack.of(this).toJsonString(commandEnvironment),
    });

    const outputs: Record<string, string> = {
      TableName: this.table.tableName,
      EventBusName: this.bus.eventBusName,
      ApprovalApiUrl: this.approvalApi.apiEndpoint,
    };
    for (const [name, value] of Object.entries(outputs)) {
      new CfnOutput(this, name, { value });
      new ssm.StringParameter(this, `${name}Parameter`, {
        parameterName: `${PARAMETER_PREFIX}/${name}`,
        stringValue: value,
      });
    }
  }

  /**
   * A rule on the release bus; EventBridge retries a failing target for up to a day, as the contract says,
   * then keeps the event in the dead letters.
   */
  private routeEvents(
    id: string,
    description: string,
    handler: OrchestratorFunction,
    eventPattern: events.EventPattern,
    deadLetterQueue: DeadLetterQueue,
  ) {
    new events.Rule(this, id, {
      eventBus: this.bus,
      description,
      eventPattern,
      targets: [safeLambdaTarget({ handler, deadLetterQueue })],
    });
  }
}
