import { ArnFormat, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CUSTOMER_ROLLOUT_STATE_MACHINE_SUFFIX } from '../lambdas/core/early-deployment.js';
import {
  ENDED_WITHOUT_OUTCOME,
  STATUS_CHANGE_DETAIL_TYPE,
  STATUS_CHANGE_SOURCE,
} from '../lambdas/core/execution-status.js';
import type { Config } from '../lambdas/core/model.js';
import { ROLLBACK_EXECUTION_DAYS } from '../lambdas/core/rollback.js';
import { rolloutShape } from '../lambdas/core/rollout-shape.js';
import { versionSlug } from '../lambdas/core/versions.js';
import { customerRollbackDefinition } from '../statemachines/customer-rollback.js';
import { customerRolloutDefinition } from '../statemachines/customer-rollout.js';
import { releaseWorkflowDefinition } from '../statemachines/release-workflow.js';
import type { WorkflowFunctions } from '../statemachines/tasks.js';
import { Alarms, alarmTopicOf } from './constructs/alarms.js';
import { safeLambdaTarget } from './constructs/event-safety.js';
import { acknowledgeNagFindings } from './constructs/nag.js';
import {
  EVENT_DEAD_LETTERS_QUEUE,
  functionNameOf,
  RECORD_ROLLBACK_ENDED_HANDLER,
  RECORD_ROLLOUT_ENDED_HANDLER,
  RELEASE_RULE_PREFIX,
  WORKFLOW_HANDLERS,
} from './platform-names.js';
import { RELEASE_STATE_MACHINE_PREFIX } from './platform-stack.js';

export interface ReleaseStackProps extends StackProps {
  /** The release, e.g. v1.1.0. */
  readonly version: string;
  /** The policies the workflow's phases and batches are built from. */
  readonly config: Config;
}

/** What each state machine of a release is for, as resource metadata: the local runtime keys on it. */
export const STATE_MACHINE_ROLE_METADATA = 'securewatch:role';
export const STATE_MACHINE_ROLES = ['release', 'customer-rollout', 'customer-rollback'] as const;
export type StateMachineRole = (typeof STATE_MACHINE_ROLES)[number];

/**
 * One release's state machines. A stack per version keeps a running release untouched when the next
 * release deploys a changed workflow.
 */
export class ReleaseStack extends Stack {
  readonly releaseStateMachine: sfn.StateMachine;
  readonly customerStateMachine: sfn.StateMachine;
  readonly rollbackStateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: ReleaseStackProps) {
    super(scope, id, props);
    const name = `${RELEASE_STATE_MACHINE_PREFIX}${versionSlug(props.version)}`;
    const functions = platformFunctions(this);
    const platform = new Construct(this, 'Platform');

    // Each workflow's states get their own construct scope, so state names may repeat across them.
    this.customerStateMachine = this.stateMachine('CustomerRollout', {
      role: 'customer-rollout',
      stateMachineName: `${name}${CUSTOMER_ROLLOUT_STATE_MACHINE_SUFFIX}`,
      comment: `SecureWatch ${props.version}: one customer's rollout (approval, window, deployment, outcome)`,
      definition: customerRolloutDefinition(new Construct(this, 'CustomerStates'), functions),
      timeout: Duration.days(75),
      logGroupId: 'CustomerRolloutLogs',
    });
    this.rollbackStateMachine = this.stateMachine('CustomerRollback', {
      role: 'customer-rollback',
      stateMachineName: `${name}-rollback`,
      comment: `SecureWatch ${props.version}: one customer's rollback, by its policy's process`,
      definition: customerRollbackDefinition(new Construct(this, 'RollbackStates'), functions),
      timeout: Duration.days(ROLLBACK_EXECUTION_DAYS),
      logGroupId: 'CustomerRollbackLogs',
    });
    this.releaseStateMachine = this.stateMachine('ReleaseStateMachine', {
      role: 'release',
      stateMachineName: name,
      comment: `SecureWatch ${props.version}: the whole release, phase by phase`,
      definition: releaseWorkflowDefinition(new Construct(this, 'ReleaseStates'), {
        functions,
        phases: rolloutShape(props.config),
        customerStateMachineArn: this.customerStateMachine.stateMachineArn,
      }),
      timeout: Duration.days(120),
      logGroupId: 'ReleaseLogs',
    });

    // A rollout that fails, times out or is stopped answers nobody by itself: Step Functions reports it on
    // the account's default bus, and this rule has its customer recorded failed and its step answered.
    const eventDeadLetters = sqs.Queue.fromQueueArn(
      platform,
      'EventDeadLetters',
      this.formatArn({ service: 'sqs', resource: EVENT_DEAD_LETTERS_QUEUE }),
    );
    new events.Rule(this, 'CustomerRolloutEnded', {
      ruleName: `${RELEASE_RULE_PREFIX}${versionSlug(props.version)}-rollout-ended`,
      description: `SecureWatch ${props.version}: a customer rollout failed, timed out or was stopped`,
      eventPattern: {
        source: [STATUS_CHANGE_SOURCE],
        detailType: [STATUS_CHANGE_DETAIL_TYPE],
        detail: {
          stateMachineArn: [this.customerStateMachine.stateMachineArn],
          status: [...ENDED_WITHOUT_OUTCOME],
        },
      },
      targets: [
        safeLambdaTarget({
          handler: importedFunction(platform, RECORD_ROLLOUT_ENDED_HANDLER),
          deadLetterQueue: eventDeadLetters,
        }),
      ],
    });
    // Likewise a rollback that fails, times out or is stopped before recording its end: its customer's
    // rollback is recorded failed (the release pauses, the escalation contacts are paged).
    new events.Rule(this, 'CustomerRollbackEnded', {
      ruleName: `${RELEASE_RULE_PREFIX}${versionSlug(props.version)}-rollback-ended`,
      description: `SecureWatch ${props.version}: a customer rollback failed, timed out or was stopped`,
      eventPattern: {
        source: [STATUS_CHANGE_SOURCE],
        detailType: [STATUS_CHANGE_DETAIL_TYPE],
        detail: {
          stateMachineArn: [this.rollbackStateMachine.stateMachineArn],
          status: [...ENDED_WITHOUT_OUTCOME],
        },
      },
      targets: [
        safeLambdaTarget({
          handler: importedFunction(platform, RECORD_ROLLBACK_ENDED_HANDLER),
          deadLetterQueue: eventDeadLetters,
        }),
      ],
    });

    const alarms = new Alarms(this, 'Alarms', alarmTopicOf(platform));
    alarms.executionsEnded('Release', this.releaseStateMachine, `SecureWatch ${props.version} release`);
    alarms.executionsEnded(
      'CustomerRollouts',
      this.customerStateMachine,
      `SecureWatch ${props.version} customer rollout`,
    );

    alarms.executionsEnded(
      'CustomerRollbacks',
      this.rollbackStateMachine,
      `SecureWatch ${props.version} customer rollback`,
    );

    const stateMachineRoles = [
      this.customerStateMachine.role,
      this.releaseStateMachine.role,
      this.rollbackStateMachine.role,
    ];
    for (const role of stateMachineRoles)
      acknowledgeNagFindings(role, {
        id: 'AwsSolutions-IAM5',
        appliesTo: 'Resource::*',
        reason:
          'X-Ray tracing and CloudWatch Logs log delivery (CreateLogDelivery and the like) support no resource-level permissions.',
      });
    const qualifiedFunctions = Object.values(WORKFLOW_HANDLERS).map((handler) => ({
      id: 'AwsSolutions-IAM5',
      appliesTo: `Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:${functionNameOf(handler)}:*`,
      reason: 'LambdaInvoke grants each function it invokes together with its versions and aliases (`:*`).',
    }));
    for (const role of stateMachineRoles) acknowledgeNagFindings(role, ...qualifiedFunctions);
  }

  /** A state machine with the defaults both workflows share: tracing, and logs of their own. */
  private stateMachine(
    id: string,
    options: {
      role: StateMachineRole;
      stateMachineName: string;
      comment: string;
      definition: sfn.IChainable;
      timeout: Duration;
      logGroupId: string;
    },
  ): sfn.StateMachine {
    const stateMachine = new sfn.StateMachine(this, id, {
      stateMachineName: options.stateMachineName,
      comment: options.comment,
      definitionBody: sfn.DefinitionBody.fromChainable(options.definition),
      timeout: options.timeout,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, options.logGroupId, {
          retention: logs.RetentionDays.ONE_YEAR,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
        level: sfn.LogLevel.ALL,
        // Execution data carries callback task tokens (Payload.taskToken): no secret in a log line.
        includeExecutionData: false,
      },
    });
    (stateMachine.node.defaultChild as sfn.CfnStateMachine).addMetadata(
      STATE_MACHINE_ROLE_METADATA,
      options.role,
    );
    return stateMachine;
  }
}

/** The platform function built from `lambdas/handlers/<handler>.ts`, found by its fixed name. */
function importedFunction(scope: Construct, handler: string): lambda.IFunction {
  const stack = Stack.of(scope);
  return lambda.Function.fromFunctionAttributes(scope, handler, {
    functionArn: stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: functionNameOf(handler),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
    // The platform stack grants invocation itself (to rules and state machines named with the release prefix).
    skipPermissions: true,
  });
}

/** The functions the workflows invoke, as the platform stack names them. */
function platformFunctions(scope: Construct): WorkflowFunctions {
  const platform = new Construct(scope, 'PlatformFunctions');
  return Object.fromEntries(
    Object.entries(WORKFLOW_HANDLERS).map(([role, handler]) => [role, importedFunction(platform, handler)]),
  ) as unknown as WorkflowFunctions;
}
