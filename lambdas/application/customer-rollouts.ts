import { createHash } from 'node:crypto';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { versionSlug } from '../core/versions.js';
import { stepFunctions } from '../shared/clients.js';
import { classifyAwsError, TransientError } from '../shared/errors.js';

const MAX_EXECUTION_NAME = 80;

/**
 * A customer's execution name: the release and the customer id, readable in the console. Names are unique
 * per state machine, which makes starting a rollout idempotent; an id too long to fit is shortened with a
 * hash of the whole name, so two customers never share one.
 */
export function customerExecutionName(release: string, customerId: string): string {
  const name = `${versionSlug(release)}-${customerId}`.replace(/[^A-Za-z0-9-_]/g, '-');
  if (name.length <= MAX_EXECUTION_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  return `${name.slice(0, MAX_EXECUTION_NAME - hash.length - 1)}-${hash}`;
}

/** What a customer's rollout execution starts with (the step's start, or an early deployment). */
export interface RolloutInput {
  release: string;
  customerId: string;
  approvalRequired: boolean;
  deployable: boolean;
  approvalTimeoutSeconds: number;
  /** Set when it was started outside its step's schedule: who asked, and whether forced. */
  early?: { by: string; force: boolean };
}

export type RolloutStart =
  | { kind: 'started' }
  /** The customer's rollout was started before (by its step, an early deployment or a retry). */
  | { kind: 'found' }
  | { kind: 'not-started'; reason: string };

function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/**
 * Starts the customer's rollout execution, named after the customer, so it runs once whoever starts it: a
 * second start (the step after an early deployment, a retry) finds the execution for this customer. A
 * transient failure is thrown to be retried; any other is `not-started` with the reason.
 */
export async function startCustomerRollout(
  stateMachineArn: string,
  input: RolloutInput,
): Promise<RolloutStart> {
  const name = customerExecutionName(input.release, input.customerId);
  try {
    await stepFunctions().send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    );
    return { kind: 'started' };
  } catch (error) {
    if ((error as Error).name !== 'ExecutionAlreadyExists') {
      const classified = classifyAwsError(error);
      if (classified instanceof TransientError) throw classified;
      return { kind: 'not-started', reason: `its rollout could not be started: ${(error as Error).message}` };
    }
  }
  // A name taken by anything but this customer's rollout is no proof that it ran.
  return (await rolloutStarted(stateMachineArn, input.release, input.customerId))
    ? { kind: 'found' }
    : { kind: 'not-started', reason: `execution name ${name} is taken by another rollout` };
}

/** Whether the customer's rollout execution exists (running or ended) on the state machine. */
export async function rolloutStarted(
  stateMachineArn: string,
  release: string,
  customerId: string,
): Promise<boolean> {
  const executionArn = executionArnOf(stateMachineArn, customerExecutionName(release, customerId));
  try {
    const existing = await stepFunctions().send(new DescribeExecutionCommand({ executionArn }));
    const existingInput = JSON.parse(existing.input ?? '{}') as { release?: string; customerId?: string };
    return existingInput.release === release && existingInput.customerId === customerId;
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return false;
    throw classifyAwsError(error);
  }
}
