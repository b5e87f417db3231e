import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/** The functions the workflows call, by the role they play. */
export interface WorkflowFunctions {
  readonly planRelease: lambda.IFunction;
  readonly writePlanChunk: lambda.IFunction;
  readonly openRelease: lambda.IFunction;
  readonly sendNotices: lambda.IFunction;
  readonly startCustomerRollouts: lambda.IFunction;
  readonly awaitStep: lambda.IFunction;
  readonly evaluateGate: lambda.IFunction;
  readonly recordFailure: lambda.IFunction;
  readonly completeRelease: lambda.IFunction;
  readonly requestApproval: lambda.IFunction;
  readonly scheduleDeployment: lambda.IFunction;
  readonly requestDeployment: lambda.IFunction;
  readonly recordOutcome: lambda.IFunction;
  readonly parkRollout: lambda.IFunction;
  readonly awaitDecision: lambda.IFunction;
  readonly remindPaused: lambda.IFunction;
  readonly abortRelease: lambda.IFunction;
  readonly beginRollback: lambda.IFunction;
  readonly notifyRollback: lambda.IFunction;
  readonly scheduleRollback: lambda.IFunction;
  readonly requestPlatformRollback: lambda.IFunction;
  readonly recordRollbackOutcome: lambda.IFunction;
  readonly checkRollbackHealth: lambda.IFunction;
}

// Retry what a second attempt can fix (throttling, Lambda service hiccups); never a rejected input.
const TRANSIENT_ERRORS = [
  'Transient',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

function retryTransient(task: sfn.TaskStateBase): void {
  task.addRetry({
    errors: TRANSIENT_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 4,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
}

/** A Lambda task whose result is the function's own return value. */
export function invoke(
  scope: Construct,
  name: string,
  fn: lambda.IFunction,
  payload: Record<string, unknown>,
  options: { resultPath?: string | typeof sfn.JsonPath.DISCARD; timeout?: Duration; comment?: string } = {},
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, name, {
    lambdaFunction: fn,
    payload: sfn.TaskInput.fromObject({ ...payload, execution: sfn.JsonPath.executionId }),
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    resultPath: options.resultPath ?? sfn.JsonPath.DISCARD,
    taskTimeout: sfn.Timeout.duration(options.timeout ?? Duration.minutes(2)),
    comment: options.comment,
  });
  retryTransient(task);
  return task;
}

/** A callback task: the function stores the token and something else (a click, an event) resumes it. */
export function invokeAndWait(
  scope: Construct,
  name: string,
  fn: lambda.IFunction,
  payload: Record<string, unknown>,
  options: { resultPath: string | typeof sfn.JsonPath.DISCARD; timeout: sfn.Timeout; comment: string },
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, name, {
    lambdaFunction: fn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      ...payload,
      execution: sfn.JsonPath.executionId,
      taskToken: sfn.JsonPath.taskToken,
    }),
    retryOnServiceExceptions: false,
    resultPath: options.resultPath,
    taskTimeout: options.timeout,
    comment: options.comment,
  });
  retryTransient(task);
  return task;
}
