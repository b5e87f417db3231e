import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { UserFacingError } from '../core/errors.js';
import { versionSlug } from '../core/versions.js';
import { stepFunctions } from '../shared/clients.js';
import { requiredEnv } from '../shared/env.js';

export interface ReleaseStartInput {
  version: string;
  startAt: string;
}

export interface StartedRelease {
  executionArn: string;
  /** The execution already existed (an earlier start): nothing new was started. */
  alreadyStarted: boolean;
}

/** A release's state machine is named after its version (lib/release-stack.ts): `securewatch-release-v1-1-0`. */
export function releaseStateMachineArn(version: string): string {
  return `${requiredEnv('RELEASE_STATE_MACHINE_ARN_PREFIX')}${versionSlug(version)}`;
}

/** The release execution is named after the version too, so a second start finds the first. */
export function releaseExecutionArn(version: string): string {
  const machine = releaseStateMachineArn(version);
  return `${machine.replace(':stateMachine:', ':execution:')}:${versionSlug(version)}`;
}

/** The stack `cdk deploy` must have deployed before a release can start. */
export const releaseStackName = (version: string) => `SecureWatchRelease-${versionSlug(version)}`;

/**
 * Starts the release execution of `version`, once: an execution of that name (running or ended) is the
 * release already started, and nothing new starts.
 */
export async function startReleaseExecution(input: ReleaseStartInput): Promise<StartedRelease> {
  const executionArn = releaseExecutionArn(input.version);
  try {
    await stepFunctions().send(new DescribeExecutionCommand({ executionArn }));
    return { executionArn, alreadyStarted: true };
  } catch (error) {
    if ((error as Error).name !== 'ExecutionDoesNotExist') throw error;
  }
  try {
    const started = await stepFunctions().send(
      new StartExecutionCommand({
        stateMachineArn: releaseStateMachineArn(input.version),
        name: versionSlug(input.version),
        input: JSON.stringify(input),
      }),
    );
    return { executionArn: started.executionArn ?? executionArn, alreadyStarted: false };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'ExecutionAlreadyExists') return { executionArn, alreadyStarted: true };
    if (name === 'StateMachineDoesNotExist')
      throw new UserFacingError(
        `the release stack of ${input.version} is not deployed; deploy it first: npx cdk deploy -c version=${input.version} ${releaseStackName(input.version)}`,
      );
    throw error;
  }
}
