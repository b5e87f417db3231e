import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambdas/shared/metric-names.js';
import { functionNameOf } from '../platform-names.js';
import { FUNCTION_BUNDLING } from './function-bundling.js';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Where the local rehearsal finds a function's source: the template carries it as resource metadata. */
export const HANDLER_ENTRY_METADATA = 'securewatch:handler-entry';
/** What the function does (its handler's name, e.g. `request-approval`): the local runtime keys on it. */
export const OPERATION_METADATA = 'securewatch:operation';

/** How every function logs (Powertools Logger, JSON), where its metrics go, and that it is traced. */
export const OBSERVABILITY_ENVIRONMENT = {
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_LOG_LEVEL: 'INFO',
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  POWERTOOLS_TRACE_ENABLED: 'true',
} as const;

export interface OrchestratorFunctionProps {
  /** Handler file under lambdas/handlers, without extension, e.g. `plan-release`. */
  readonly handler: string;
  readonly description: string;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  readonly environment?: Record<string, string>;
}

/** The one place that fixes function defaults: runtime, architecture, bundling, logs, tracing. */
export class OrchestratorFunction extends NodejsFunction {
  declare readonly role: iam.IRole;
  /** What the function does: its handler's name, e.g. `request-approval`. */
  readonly operation: string;

  constructor(scope: Construct, id: string, props: OrchestratorFunctionProps) {
    const entry = `lambdas/handlers/${props.handler}.ts`;
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs on every log group), the role writes to its own log group only.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      // A fixed name: release stacks find the function by it, without an export that would pin the platform.
      functionName: functionNameOf(props.handler),
      entry: path.join(PROJECT_ROOT, entry),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...OBSERVABILITY_ENVIRONMENT,
        ...props.environment,
      },
      role,
      logGroup,
      bundling: { ...FUNCTION_BUNDLING, forceDockerBundling: false },
    });
    this.operation = props.handler;
    const cfnFunction = this.node.defaultChild as lambda.CfnFunction;
    cfnFunction.addMetadata(HANDLER_ENTRY_METADATA, entry);
    cfnFunction.addMetadata(OPERATION_METADATA, props.handler);
  }
}
