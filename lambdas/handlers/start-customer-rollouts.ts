import * as z from 'zod';
import { secondsUntil } from '../application/control.js';
import { startCustomerRollout } from '../application/customer-rollouts.js';
import { recordOutcome, stepWaitSeconds } from '../application/outcomes.js';
import { logger } from '../shared/observability.js';
import { taskHandler } from '../shared/task.js';
import { listStepMembers, type StepMember } from '../store/steps.js';

const input = z.strictObject({
  release: z.string(),
  step: z.string(),
  customerStateMachineArn: z.string().startsWith('arn:'),
});

const START_CONCURRENCY = 10;

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
  const start = await startCustomerRollout(stateMachineArn, {
    release,
    customerId: member.id,
    approvalRequired: member.approvalRequired,
    deployable: member.deployAt !== null,
    approvalTimeoutSeconds: secondsUntil(member.deadlineAt),
  });
  if (start.kind === 'not-started') return failToStart(release, member, start.reason);
  return start.kind;
}

async function failToStart(release: string, member: StepMember, reason: string): Promise<'failed'> {
  await recordOutcome(release, member.id, 'failed', { by: 'start-customer-rollouts', reason });
  return 'failed';
}
