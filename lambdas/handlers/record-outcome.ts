import { z } from 'zod';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { ReleaseStateError } from '../shared/errors.js';
import { resumeWithSuccess } from '../shared/step-functions.js';
import { taskHandler } from '../shared/task.js';
import { claimStepSignal, getCustomer, getStep, recordOutcome } from '../store/release-store.js';
import { stepSummary } from './await-step.js';

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
  const customer = await getCustomer(release, customerId);
  if (!customer) throw new ReleaseStateError(`No customer ${customerId} in release ${release}`);
  const why = reason ?? error?.Cause ?? error?.Error;
  await recordOutcome(release, customer, outcome, why, now());
  const counters = await getStep(release, customer.stepKey);
  if (counters?.waitToken && counters.recorded >= counters.total) {
    // Resuming is idempotent (a token answers once); the event goes out once, to whoever claims it.
    await resumeWithSuccess(counters.waitToken, stepSummary(counters));
    if (!(await claimStepSignal(release, customer.stepKey, now()))) return { customerId, outcome };
    await publish([
      {
        detailType: DETAIL_TYPES.batchCompleted,
        detail: {
          schemaVersion: SCHEMA_VERSION,
          release,
          at: now(),
          batch: customer.stepKey,
          summary: stepSummary(counters),
        },
      },
    ]);
  }
  return { customerId, outcome };
});
