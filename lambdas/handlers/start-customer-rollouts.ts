import * as z from 'zod';
import { secondsUntil } from '../application/control.js';
import { startCustomerRollout } from '../application/customer-rollouts.js';
import { recordOutcome, stepWaitSeconds } from '../application/outcomes.js';
import { chunkNumbers } from '../core/plan-chunks.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { logger } from '../shared/observability.js';
import { taskHandler } from '../shared/task.js';
import { getRolloutChunks } from '../store/plan-chunks.js';
import { listStepMembers, listStepMembersBetween, type StepMember } from '../store/steps.js';

const input = z.strictObject({
  release: z.string(),
  step: z.string(),
  customerStateMachineArn: z.string().startsWith('arn:'),
  /** One rollout chunk of the step, from the Map; absent, the step's first chunk (and the others listed). */
  chunk: z.int().min(0).optional(),
});

const START_CONCURRENCY = 10;

/**
 * "Start customer rollouts": one child execution per customer of a chunk of the step, each named after its
 * customer. Called for the step, it starts the step's first chunk and lists the others (`moreChunks`) for
 * the Map that starts them in parallel, one invocation each. The members are read strongly consistent;
 * every one of them ends with an execution (started now or found running for that customer) or recorded
 * `failed` with the reason, never skipped.
 */
export const handler = taskHandler(input, async ({ release, step, customerStateMachineArn, chunk }) => {
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
        const result = await startRollout(release, member, customerStateMachineArn);
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
  // The release waits for the step's outcomes until its customers are past their deadline.
  return {
    ...counts,
    moreChunks: chunkNumbers(chunks?.length ?? 0, 1),
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
