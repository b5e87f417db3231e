import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  ENDED_WITHOUT_OUTCOME,
  STATUS_CHANGE_DETAIL_TYPE,
  STATUS_CHANGE_SOURCE,
} from '../lambdas/core/execution-status.js';
import type { Config } from '../lambdas/core/model.js';
import { rolloutShape } from '../lambdas/core/rollout-shape.js';
import { versionSlug } from '../lambdas/core/versions.js';
import { customerRolloutDefinition } from '../statemachines/customer-rollout.js';
import { releaseWorkflowDefinition } from '../statemachines/release-workflow.js';
import { acknowledgeNagFindings } from './constructs/nag.js';
import { type PlatformStack, RELEASE_STATE_MACHINE_PREFIX } from './platform-stack.js';

export interface ReleaseStackProps extends StackProps {
  /** The release, e.g. v1.1.0. */
  readonly version: string;
  readonly platform: PlatformStack;
  /** The policies the workflow's phases and batches are built from. */
  readonly config: Config;
}

/** What each state machine of a release is for, as resource metadata: the local runtime keys on it. */
export const STATE_MACHINE_ROLE_METADATA = 'securewatch:role';
export const STATE_MACHINE_ROLES = ['release', 'customer-rollout'] as const;
export type StateMachineRole = (typeof STATE_MACHINE_ROLES)[number];

/**
 * One release's state machines. A stack per version keeps a running release untouched when the next
 * release deploys a changed workflow.
 */
export class ReleaseStack extends Stack {
  readonly releaseStateMachine: sfn.StateMachine;
  readonly customerStateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: ReleaseStackProps) {
    super(scope, id, props);
    const name = `${RELEASE_STATE_MACHINE_PREFIX}${versionSlug(props.version)}`;
    const functions = props.platform.functions;

    // Each workflow's states get their own construct scope, so state names may repeat across them.
    this.customerStateMachine = this.stateMachine('CustomerRollout', {
      role: 'customer-rollout',
      stateMachineName: `${name}-customer`,
      comment: `SecureWatch ${props.version}: one customer's rollout (approval, window, deployment, outcome)`,
      definition: customerRolloutDefinition(new Construct(this, 'CustomerStates'), functions),
      timeout: Duration.days(75),
      logGroupId: 'CustomerRolloutLogs',
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
    new events.Rule(this, 'CustomerRolloutEnded', {
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
        new targets.LambdaFunction(props.platform.recordRolloutEnded, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    const stateMachineRoles = [this.customerStateMachine.role, this.releaseStateMachine.role];
    for (const role of stateMachineRoles)
      acknowledgeNagFindings(role, {
        id: 'AwsSolutions-IAM5',
        appliesTo: 'Resource::*',
        reason:
          'X-Ray tracing and CloudWatch Logs log delivery (CreateLogDelivery and the like) support no resource-level permissions.',
      });
    // cdk-nag names a platform function by the platform's export, which exists only once the app is prepared;
    // construct validations run then, before any check, so the acknowledgment is made there.
    this.node.addValidation({
      validate: () => {
        const qualifiedFunctions = Object.values(functions).map((fn) => ({
          id: 'AwsSolutions-IAM5',
          appliesTo: `Resource::${importedName(this.resolve(fn.functionArn))}:*`,
          reason:
            'LambdaInvoke grants each function it invokes together with its versions and aliases (`:*`).',
        }));
        for (const role of stateMachineRoles) acknowledgeNagFindings(role, ...qualifiedFunctions);
        return [];
      },
    });
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

/** The export a cross-stack reference imports, which is how cdk-nag prints it. */
function importedName(resolved: unknown): string {
  if (typeof resolved === 'object' && resolved !== null && 'Fn::ImportValue' in resolved)
    return String(resolved['Fn::ImportValue']);
  throw new Error(
    `Expected a platform function imported from the platform stack, got ${JSON.stringify(resolved)}`,
  );
}
