import { createHash } from 'node:crypto';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { chunkNumbers } from '../core/plan-chunks.js';
import { versionSlug } from '../core/versions.js';
import { stepFunctions } from '../shared/clients.js';
import { classifyAwsError, InvalidTaskInputError, TransientError } from '../shared/errors.js';
import { logger } from '../shared/observability.js';
import { getRolloutChunks } from '../store/plan-chunks.js';
import { listStepMembers, listStepMembersBetween, type StepMember } from '../store/steps.js';
import { secondsUntil } from './control.js';
import { recordOutcome, stepWaitSeconds } from './outcomes.js';

const MAX_EXECUTION_NAME = 80;
const START_CONCURRENCY = 10;

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

export interface StepRolloutsStarted {
  customers: number;
  started: number;
  found: number;
  failed: number;
}

/**
 * One rollout execution per customer of a chunk of the step. Given no chunk, starts the step's first chunk
 * and lists the others (`moreChunks`) for the Map that starts them in parallel, with how long the release
 * waits for the step's outcomes (until its customers are past their deadline). The members are read
 * strongly consistent; every one of them ends with an execution (started now or found running for that
 * customer) or recorded `failed` with the reason, never skipped.
 */
export async function startStepRollouts(
  release: string,
  step: string,
  stateMachineArn: string,
  chunk?: number,
): Promise<StepRolloutsStarted | (StepRolloutsStarted & { moreChunks: number[]; waitSeconds: number })> {
  const chunks = await getRolloutChunks(release, step);
  const index = chunk ?? 0;
  const bounds = chunks?.[index];
  if (chunks && chunk !== undefined && !bounds)
    throw new InvalidTaskInputError(`Step ${step} of ${release} has no rollout chunk ${chunk}`);
  // A release planned before steps had rollout chunks starts the whole step here.
  const members = bounds
    ? await listStepMembersBetween(release, step, bounds.first, bounds.last)
    : chunks
      ? []
      : await listStepMembers(release, step);
  let started = 0;
  let found = 0;
  let failed = 0;
  for (let start = 0; start < members.length; start += START_CONCURRENCY) {
    await Promise.all(
      members.slice(start, start + START_CONCURRENCY).map(async (member) => {
        const result = await startMemberRollout(release, member, stateMachineArn);
        if (result === 'started') started += 1;
        else if (result === 'found') found += 1;
        else failed += 1;
      }),
    );
  }
  logger.info('Customer rollouts started', {
    chunk: index,
    customers: members.length,
    started,
    found,
    failed,
  });
  const counts = { customers: members.length, started, found, failed };
  if (chunk !== undefined) return counts;
  return {
    ...counts,
    moreChunks: chunkNumbers(chunks?.length ?? 0, 1),
    waitSeconds: await stepWaitSeconds(release, step),
  };
}

/** A member of the step whose rollout cannot be started is recorded `failed` with the reason. */
async function startMemberRollout(
  release: string,
  member: StepMember,
  stateMachineArn: string,
): Promise<'started' | 'found' | 'failed'> {
  const start = await startCustomerRollout(stateMachineArn, {
    release,
    customerId: member.id,
    approvalRequired: member.approvalRequired,
    deployable: member.deployAt !== null,
    approvalTimeoutSeconds: secondsUntil(member.deadlineAt),
  });
  if (start.kind !== 'not-started') return start.kind;
  await recordOutcome(release, member.id, 'failed', { by: 'start-customer-rollouts', reason: start.reason });
  return 'failed';
}
