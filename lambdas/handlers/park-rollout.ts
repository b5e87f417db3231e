import { z } from 'zod';
import { holdOf, rolloutResumption } from '../application/control.js';
import { TRANSITIONS } from '../core/lifecycle.js';
import { now } from '../shared/clock.js';
import { WORKFLOW_ERRORS } from '../shared/errors.js';
import { resumeWithFailure, resumeWithSuccess } from '../shared/step-functions.js';
import { taskHandler } from '../shared/task.js';
import { applyTransition, parkRollout, requireCustomer, unparkRollout } from '../store/customers.js';
import { requireRelease } from '../store/releases.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  taskToken: z.string().min(1),
});

/**
 * "… postponed · halted, awaiting decision" (callback): a halt stopped this customer's rollout before it
 * deployed or asked. The customer stays where it is (postponed, never failed) until a resume answers with
 * success (the rollout looks for its next window) or an abort with `Release.Aborted` (it ends cancelled).
 */
export const handler = taskHandler(input, async ({ release, customerId, taskToken }) => {
  const customer = await requireCustomer(release, customerId);
  const record = await requireRelease(release);
  const hold = holdOf(record, customer);
  await applyTransition(release, customerId, TRANSITIONS.postpone, {
    at: now(),
    by: 'halt',
    reason: hold.kind === 'none' ? 'halted' : hold.reason,
  });
  await parkRollout(release, { customerId, token: taskToken, since: now() });
  // Decided while this was being parked: answer at once, as the decision would have.
  const latest = holdOf(await requireRelease(release), await requireCustomer(release, customerId));
  if (latest.kind === 'none' && (await unparkRollout(release, customerId, taskToken)))
    await resumeWithSuccess(taskToken, rolloutResumption(customer));
  if (latest.kind === 'aborted' && (await unparkRollout(release, customerId, taskToken)))
    await resumeWithFailure(taskToken, WORKFLOW_ERRORS.aborted, latest.reason);
  return { parked: true };
});
