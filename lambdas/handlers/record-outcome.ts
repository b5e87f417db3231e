import { z } from 'zod';
import { now } from '../shared/clock.js';
import { causeOf } from '../shared/failure.js';
import { resumeIfStepComplete } from '../shared/step-completion.js';
import { taskHandler } from '../shared/task.js';
import { recordOutcome, requireCustomer } from '../store/release-store.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  outcome: z.enum(['deployed', 'failed', 'rejected', 'deferred', 'held']),
  reason: z.string().optional(),
  error: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/**
 * "Record outcome": a customer's rollout ends here. Counts it on its step once and, when it is the last
 * one, resumes the release execution waiting on the step.
 */
export const handler = taskHandler(input, async ({ release, customerId, outcome, reason, error }) => {
  const customer = await requireCustomer(release, customerId);
  await recordOutcome(release, customer, outcome, reason ?? causeOf(error), now());
  await resumeIfStepComplete(release, customer.stepKey);
  return { customerId, outcome };
});
