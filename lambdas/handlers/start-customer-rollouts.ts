import { createHash } from 'node:crypto';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { secondsUntil } from '../application/control.js';
import { recordOutcome, stepWaitSeconds } from '../application/outcomes.js';
import { versionSlug } from '../core/versions.js';
import { stepFunctions } from '../shared/clients.js';
import { classifyAwsError, TransientError } from '../shared/errors.js';
import { logger } from '../shared/observability.js';
import { taskHandler } from '../shared/task.js';
import { listStepMembers, type StepMember } from '../store/steps.js';

const input = z.strictObject({
  release: z.string(),
  step: z.string(),
  customerStateMachineArn: z.string().startsWith('arn:'),
});

const START_CONCURRENCY = 10;
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

/**
 * "Start customer rollouts": one child execution per customer of the step, each named after its customer.
 * The step's members are read strongly consistent; every one of them ends with an execution (started now
 * or found running for that customer) or recorded `failed` with the reason, never skipped.
 */
export const handler = taskHandler(input, async ({ release, step, customerStateMachineArn }) => {
  const members = await listStepMembers(release, step);
  let started = 0;
  let found = 0;
  let failed = 0;
  for (let index = 0; index < members.length; index += START_CONCURRENCY) {
    const chunk = members.slice(index, index + START_CONCURRENCY);
    await Promise.all(
      chunk.map(async (member) => {
        const result = await startRollout(release, member, customerStateMachineArn);
        if (result === 'started') started += 1;
        else if (result === 'found') found += 1;
        else failed += 1;
      }),
    );
  }
  logger.info('Customer rollouts started', { customers: members.length, started, found, failed });
  // The release waits for the step's outcomes until its customers are past their deadline.
  return {
    customers: members.length,
    started,
    found,
    failed,
    waitSeconds: await stepWaitSeconds(release, step),
  };
});

async function startRollout(
  release: string,
  member: StepMember,
  stateMachineArn: string,
): Promise<'started' | 'found' | 'failed'> {
  const name = customerExecutionName(release, member.id);
  try {
    await stepFunctions().send(
      new StartExecutionCommand({
        stateMachineArn,
        name,
        input: JSON.stringify({
          release,
          customerId: member.id,
          approvalRequired: member.approvalRequired,
          deployable: member.deployAt !== null,
          approvalTimeoutSeconds: secondsUntil(member.deadlineAt),
        }),
      }),
    );
    return 'started';
  } catch (error) {
    if ((error as Error).name !== 'ExecutionAlreadyExists') {
      const classified = classifyAwsError(error);
      if (classified instanceof TransientError) throw classified;
      return failToStart(release, member, `its rollout could not be started: ${(error as Error).message}`);
    }
  }
  // A retried start finds the execution it started; a name taken by anything else is no proof.
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  const existing = await stepFunctions().send(new DescribeExecutionCommand({ executionArn }));
  const existingInput = JSON.parse(existing.input ?? '{}') as { release?: string; customerId?: string };
  if (existingInput.release === release && existingInput.customerId === member.id) return 'found';
  return failToStart(release, member, `execution name ${name} is taken by another rollout`);
}

async function failToStart(release: string, member: StepMember, reason: string): Promise<'failed'> {
  await recordOutcome(release, member.id, 'failed', { by: 'start-customer-rollouts', reason });
  return 'failed';
}
