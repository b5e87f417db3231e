import { App } from 'aws-cdk-lib';
import NodeEvaluator from 'cfn-resolver-lib';
import { versionSlug } from '../lambdas/core/versions.js';
import { buildApp } from '../lib/app.js';
import { HANDLER_ENTRY_METADATA, OPERATION_METADATA } from '../lib/constructs/orchestrator-function.js';
import {
  STATE_MACHINE_ROLE_METADATA,
  STATE_MACHINE_ROLES,
  type StateMachineRole,
} from '../lib/release-stack.js';
import type { CloudFormationTemplate } from './template-types.js';

export type { StateMachineRole };

/**
 * The operations (`securewatch:operation` metadata of a function) the local runtime gives a meaning of
 * its own: asking approvers holds simulated time, awaiting a decision parks the release, and the rest
 * are reported as they happen. The template must have each, once.
 */
export const OPERATIONS = {
  requestApproval: 'request-approval',
  awaitDecision: 'await-decision',
  recordOutcome: 'record-outcome',
  sendNotices: 'send-notices',
  evaluateGate: 'evaluate-gate',
  recordRolloutEnded: 'record-rollout-ended',
  recordRollbackOutcome: 'record-rollback-outcome',
} as const;

/** A callback task as the runtime meets it: which kind of execution runs it, which function it invokes. */
export interface CallbackCall {
  execution: { stateMachineRole: StateMachineRole };
  functionArn: string;
}

/** Asking approvers (simulated time stands still while a person decides): it invokes request-approval. */
export function asksApprovers(cloud: ResolvedCloud, task: CallbackCall): boolean {
  return task.functionArn === cloud.operations.get(OPERATIONS.requestApproval);
}

/** Parking the release until an operator decides: a release task that invokes await-decision. */
export function parksRelease(cloud: ResolvedCloud, task: CallbackCall): boolean {
  return (
    task.execution.stateMachineRole === 'release' &&
    task.functionArn === cloud.operations.get(OPERATIONS.awaitDecision)
  );
}

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

export interface SynthesizedRelease {
  platform: CloudFormationTemplate;
  release: CloudFormationTemplate;
}

/**
 * Synthesizes the same CDK app `cdk deploy` deploys, in-process. Bundling is skipped (the rehearsal runs
 * handler sources directly) and so is the built-in template validation; the templates are otherwise identical.
 */
export function synthesizeRelease(version: string | undefined, outdir: string): SynthesizedRelease {
  const context = { 'aws:cdk:bundling-stacks': [], ...(version ? { version } : {}) };
  // aws-cdk-lib's built-in template validation (a WebAssembly module: ~160 MiB, over a second) is for
  // `cdk synth`, which keeps it; the rehearsal runs the same app's templates without it.
  const assembly = buildApp(new App({ outdir, context, builtinCloudFormationValidation: false })).synth();
  return {
    platform: assembly.getStackByName('SecureWatchPlatform').template as CloudFormationTemplate,
    // Without a version, the platform alone (the local stack before any release is deployed to it).
    release: version
      ? (assembly.getStackByName(`SecureWatchRelease-${versionSlug(version)}`)
          .template as CloudFormationTemplate)
      : { Parameters: {}, Resources: {} },
  };
}

/** What each resource is called locally: its physical name, or a name derived from its logical id. */
export interface LocalNames {
  tables: Record<string, string>;
  approvalApiUrl: string;
  /** What a secret's GenerateSecretString generates (the approval signing key). */
  signingKey: string;
  /** Where queue URLs point (the local AWS endpoint). @default http://127.0.0.1 */
  queueBaseUrl?: string;
}

export interface LocalFunction {
  logicalId: string;
  arn: string;
  entry: string;
  /** What the function does, from its `securewatch:operation` metadata (e.g. `request-approval`). */
  operation: string;
  environment: Record<string, string>;
}

export interface LocalStateMachine {
  logicalId: string;
  /** From its `securewatch:role` metadata. */
  role: StateMachineRole;
  name: string;
  arn: string;
  definition: Record<string, unknown>;
}

export interface LocalRule {
  logicalId: string;
  busName: string;
  pattern: Record<string, unknown>;
  targetArns: string[];
}

/** A scheduled rule (`ScheduleExpression: rate(...)`): its targets are invoked every `everyMs` of simulated time. */
export interface LocalSchedule {
  logicalId: string;
  everyMs: number;
  targetArns: string[];
}

export interface LocalQueueDefinition {
  logicalId: string;
  arn: string;
  url: string;
  visibilityTimeoutSeconds: number;
  /** From its redrive policy: after this many receives a message moves to the dead-letter queue. */
  redrive?: { deadLetterArn: string; maxReceiveCount: number };
}

/** A Lambda function fed by a queue (`AWS::Lambda::EventSourceMapping`). */
export interface LocalQueueConsumer {
  logicalId: string;
  queueArn: string;
  functionArn: string;
  batchSize: number;
  reportsBatchItemFailures: boolean;
}

/** A Secrets Manager secret, with the value it is created with (its generated part from LocalNames). */
export interface LocalSecretDefinition {
  logicalId: string;
  name: string;
  arn: string;
  secretString: string;
}

export interface ResolvedCloud {
  functions: Map<string, LocalFunction>;
  /** Function ARN by operation. */
  operations: Map<string, string>;
  stateMachines: Map<string, LocalStateMachine>;
  /** State machine ARN by role. */
  roles: Map<StateMachineRole, string>;
  rules: LocalRule[];
  schedules: LocalSchedule[];
  approvalRoutes: { routeKey: string; functionArn: string }[];
  queues: LocalQueueDefinition[];
  queueConsumers: LocalQueueConsumer[];
  secrets: LocalSecretDefinition[];
}

/** A function's local ARN, by its fixed name (or, without one, its logical id). */
export const functionArn = (name: string) =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
export const queueArn = (logicalId: string) => `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}`;
export const queueUrl = (logicalId: string, names: LocalNames) =>
  `${names.queueBaseUrl ?? 'http://127.0.0.1'}/${LOCAL_ACCOUNT}/${logicalId}`;
export const secretArn = (name: string) =>
  `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${name}`;
export const stateMachineArn = (name: string) =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;

/**
 * Resolves both templates' intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::ImportValue, ...) to local
 * names with cfn-resolver-lib, and reads out what the rehearsal runs: functions, state machines, rules, routes.
 */
export function resolveCloud(templates: SynthesizedRelease, names: LocalNames): ResolvedCloud {
  const pseudo = {
    'AWS::Region': LOCAL_REGION,
    'AWS::Partition': 'aws',
    'AWS::AccountId': LOCAL_ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const platformParameters = {
    RefResolvers: { ...pseudo, ...refsOf(templates.platform, names) },
    'Fn::GetAttResolvers': getAttsOf(templates.platform, names),
  };
  const platform = new NodeEvaluator(templates.platform, platformParameters).evaluateNodes();
  const exports: Record<string, unknown> = {};
  for (const [outputId, output] of Object.entries(templates.platform.Outputs ?? {})) {
    const exportName = output.Export?.Name;
    if (typeof exportName === 'string')
      exports[exportName] = (platform.Outputs?.[outputId] as { Value?: unknown } | undefined)?.Value;
  }
  const release = new NodeEvaluator(templates.release, {
    RefResolvers: { ...pseudo, ...refsOf(templates.release, names) },
    'Fn::GetAttResolvers': getAttsOf(templates.release, names),
    'Fn::ImportValueResolvers': exports,
  }).evaluateNodes();

  const resources = { ...platform.Resources, ...release.Resources } as Record<string, ResolvedResource>;
  const original = { ...templates.platform.Resources, ...templates.release.Resources };
  const cloud: ResolvedCloud = {
    functions: new Map(),
    operations: new Map(),
    stateMachines: new Map(),
    roles: new Map(),
    rules: [],
    schedules: [],
    approvalRoutes: [],
    queues: [],
    queueConsumers: [],
    secrets: [],
  };

  for (const [logicalId, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::Lambda::Function') {
      const metadata = original[logicalId]?.Metadata ?? {};
      const entry = metadata[HANDLER_ENTRY_METADATA];
      if (typeof entry !== 'string') continue; // CDK's own helper functions (e.g. log retention) do not run locally
      const operation = metadata[OPERATION_METADATA];
      if (typeof operation !== 'string' || operation === '')
        throw new Error(`Function ${logicalId} has no ${OPERATION_METADATA} metadata in its template`);
      if (cloud.operations.has(operation))
        throw new Error(`Two functions perform the operation ${operation}; the local runtime needs one`);
      const arn = functionArn(String(props.FunctionName ?? logicalId));
      cloud.operations.set(operation, arn);
      const variables = ((props.Environment as { Variables?: Record<string, unknown> })?.Variables ??
        {}) as Record<string, unknown>;
      cloud.functions.set(arn, {
        logicalId,
        arn,
        entry,
        operation,
        environment: Object.fromEntries(
          Object.entries(variables).map(([key, value]) => [
            key,
            refuseDynamicReference(logicalId, key, value),
          ]),
        ),
      });
    }
    if (resource.Type === 'AWS::SecretsManager::Secret') {
      const name = String(props.Name ?? logicalId);
      cloud.secrets.push({
        logicalId,
        name,
        arn: secretArn(name),
        secretString: initialSecretString(props, names),
      });
    }
    if (resource.Type === 'AWS::StepFunctions::StateMachine') {
      const name = String(props.StateMachineName);
      const role = original[logicalId]?.Metadata?.[STATE_MACHINE_ROLE_METADATA];
      if (!STATE_MACHINE_ROLES.includes(role as StateMachineRole))
        throw new Error(
          `State machine ${logicalId} needs ${STATE_MACHINE_ROLE_METADATA} metadata, one of ${STATE_MACHINE_ROLES.join(', ')}; found ${JSON.stringify(role)}`,
        );
      if (cloud.roles.has(role as StateMachineRole))
        throw new Error(`Two state machines have the role ${String(role)}; the local runtime needs one`);
      cloud.roles.set(role as StateMachineRole, stateMachineArn(name));
      cloud.stateMachines.set(stateMachineArn(name), {
        logicalId,
        role: role as StateMachineRole,
        name,
        arn: stateMachineArn(name),
        definition: JSON.parse(String(props.DefinitionString)) as Record<string, unknown>,
      });
    }
    if (resource.Type === 'AWS::Events::Rule' && props.ScheduleExpression !== undefined) {
      const targets = (props.Targets as { Arn: string }[] | undefined) ?? [];
      cloud.schedules.push({
        logicalId,
        everyMs: rateMs(String(props.ScheduleExpression), logicalId),
        targetArns: targets.map((target) => target.Arn),
      });
    } else if (resource.Type === 'AWS::Events::Rule') {
      const targets = (props.Targets as { Arn: string }[] | undefined) ?? [];
      cloud.rules.push({
        logicalId,
        // A rule without a bus is on the account's default bus (where AWS services report, e.g. Step Functions).
        busName: String(props.EventBusName ?? 'default'),
        pattern: props.EventPattern as Record<string, unknown>,
        targetArns: targets.map((target) => target.Arn),
      });
    }
    if (resource.Type === 'AWS::ApiGatewayV2::Route') {
      // Targets read `integrations/<Ref integration>`, and a Ref resolves to the logical id here.
      const integration = resources[String(props.Target).replace(/^integrations\//, '')];
      cloud.approvalRoutes.push({
        routeKey: String(props.RouteKey),
        functionArn: String(integration?.Properties?.IntegrationUri),
      });
    }
    if (resource.Type === 'AWS::SQS::Queue') {
      const redrive = props.RedrivePolicy as
        | { deadLetterTargetArn?: string; maxReceiveCount?: number }
        | undefined;
      cloud.queues.push({
        logicalId,
        arn: queueArn(logicalId),
        url: queueUrl(logicalId, names),
        visibilityTimeoutSeconds: Number(props.VisibilityTimeout ?? 30),
        ...(redrive?.deadLetterTargetArn
          ? {
              redrive: {
                deadLetterArn: String(redrive.deadLetterTargetArn),
                maxReceiveCount: Number(redrive.maxReceiveCount ?? 1),
              },
            }
          : {}),
      });
    }
    if (resource.Type === 'AWS::Lambda::EventSourceMapping') {
      // FunctionName is a Ref to the function: its name.
      const name = String(props.FunctionName);
      cloud.queueConsumers.push({
        logicalId,
        queueArn: String(props.EventSourceArn),
        functionArn: name.startsWith('arn:') ? name : functionArn(name),
        // SQS's default batch size.
        batchSize: Number(props.BatchSize ?? 10),
        reportsBatchItemFailures: ((props.FunctionResponseTypes as string[] | undefined) ?? []).includes(
          'ReportBatchItemFailures',
        ),
      });
    }
  }
  for (const operation of Object.values(OPERATIONS))
    if (!cloud.operations.has(operation))
      throw new Error(
        `No function in the templates performs ${operation}, which the local runtime relies on`,
      );
  // The platform alone (no release deployed yet) has no state machine; a release stack has every role.
  const releaseDeployed = Object.keys(templates.release.Resources ?? {}).length > 0;
  for (const role of STATE_MACHINE_ROLES)
    if (releaseDeployed && !cloud.roles.has(role))
      throw new Error(`No state machine in the templates has the role ${role}`);
  return cloud;
}

const RATE_UNITS_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The period of `rate(5 minutes)`, `rate(1 hour)`, `rate(2 days)`; a cron expression does not run locally. */
export function rateMs(expression: string, logicalId: string): number {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (!rate?.[1] || !rate[2])
    throw new Error(
      `Rule ${logicalId} is scheduled by ${JSON.stringify(expression)}; the local runtime runs rate(N minutes|hours|days) only`,
    );
  return Number(rate[1]) * (RATE_UNITS_MS[rate[2]] ?? 0);
}

interface ResolvedResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

function refsOf(template: CloudFormationTemplate, names: LocalNames): Record<string, string> {
  const refs: Record<string, string> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
        refs[logicalId] = names.tables[logicalId] ?? logicalId;
        break;
      case 'AWS::Events::EventBus':
        refs[logicalId] = String(props.Name);
        break;
      case 'AWS::StepFunctions::StateMachine':
        refs[logicalId] = stateMachineArn(String(props.StateMachineName));
        break;
      case 'AWS::SQS::Queue':
        refs[logicalId] = queueUrl(logicalId, names);
        break;
      case 'AWS::SecretsManager::Secret':
        refs[logicalId] = secretArn(String(props.Name ?? logicalId));
        break;
      case 'AWS::Lambda::Function':
        // A function's Ref is its name: its fixed name, or (without one) the logical id here.
        refs[logicalId] = String(props.FunctionName ?? logicalId);
        break;
      default:
        refs[logicalId] = logicalId;
    }
  }
  return refs;
}

function getAttsOf(
  template: CloudFormationTemplate,
  names: LocalNames,
): Record<string, Record<string, string>> {
  const atts: Record<string, Record<string, string>> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    // Roles, log groups and the like are referenced in IAM policies only, which do not run locally.
    atts[logicalId] = { Arn: `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}` };
    if (resource.Type === 'AWS::Lambda::Function')
      atts[logicalId] = { Arn: functionArn(String(resource.Properties?.FunctionName ?? logicalId)) };
    if (resource.Type === 'AWS::DynamoDB::Table') {
      atts[logicalId] = {
        Arn: `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${names.tables[logicalId]}`,
      };
    }
    if (resource.Type === 'AWS::Events::EventBus') {
      const name = String(resource.Properties?.Name);
      atts[logicalId] = {
        Arn: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${name}`,
        Name: name,
      };
    }
    if (resource.Type === 'AWS::SQS::Queue') {
      atts[logicalId] = {
        Arn: queueArn(logicalId),
        QueueName: logicalId,
        QueueUrl: queueUrl(logicalId, names),
      };
    }
    if (resource.Type === 'AWS::ApiGatewayV2::Api') atts[logicalId] = { ApiEndpoint: names.approvalApiUrl };
    if (resource.Type === 'AWS::StepFunctions::StateMachine') {
      const name = String(resource.Properties?.StateMachineName);
      atts[logicalId] = { Name: name, Arn: stateMachineArn(name) };
    }
  }
  return atts;
}

/** A secret resolved into an environment at deploy time would sit in plain text in the function's configuration. */
function refuseDynamicReference(logicalId: string, variable: string, value: unknown): string {
  const text = String(value);
  if (/\{\{resolve:secretsmanager:/.test(text))
    throw new Error(
      `Function ${logicalId} gets a secret in its environment (${variable}); give it the secret's ARN and read the value at run time`,
    );
  return text;
}

/** The value CloudFormation would create: SecretString, or GenerateSecretString with `names.signingKey` generated. */
function initialSecretString(props: Record<string, unknown>, names: LocalNames): string {
  if (typeof props.SecretString === 'string') return props.SecretString;
  const generate = (props.GenerateSecretString ?? {}) as {
    SecretStringTemplate?: string;
    GenerateStringKey?: string;
  };
  if (generate.SecretStringTemplate === undefined || generate.GenerateStringKey === undefined)
    return names.signingKey;
  return JSON.stringify({
    ...(JSON.parse(generate.SecretStringTemplate) as Record<string, unknown>),
    [generate.GenerateStringKey]: names.signingKey,
  });
}
