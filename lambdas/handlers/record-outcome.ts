import * as z from 'zod';
import { recordOutcome } from '../application/outcomes.js';
import { OUTCOME_STATES } from '../core/lifecycle.js';
import { causeOf } from '../shared/failure.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  outcome: z.enum(OUTCOME_STATES),
  reason: z.string().optional(),
  error: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/**
 * "Record outcome": a customer's rollout ends here. Moves the customer to its outcome and counts it on its
 * step, once; the last one of the step resumes the release execution waiting on it.
 */
export const handler = taskHandler(input, async ({ release, customerId, outcome, reason, error }) => {
  const recorded = await recordOutcome(release, customerId, outcome, {
    by: 'customer rollout',
    reason: reason ?? causeOf(error),
  });
  // The outcome the customer ended in: the one asked for, or the one it had already ended in.
  return { customerId, outcome: recorded.outcome ?? null, counted: recorded.counted };
});
