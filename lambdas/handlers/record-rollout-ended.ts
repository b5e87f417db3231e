import { recordRolloutEnded } from '../application/rollouts.js';
import { executionEndedHandler } from '../shared/execution-ended.js';
import { logger } from '../shared/observability.js';

/**
 * Target of the rule on the customer state machine's "Execution Status Change" events: a rollout that
 * failed, timed out or was stopped ends its customer `failed` with the cause, and answers the release
 * execution waiting on the customer's step. Other statuses change nothing. Safe to deliver twice.
 */
export const handler = executionEndedHandler('rollout', async (ended) => {
  const recorded = await recordRolloutEnded({
    release: ended.release,
    customerId: ended.customerId,
    status: ended.status,
    failure: { Error: ended.error, Cause: ended.cause },
  });
  // The outcome the customer ended in: failed, or the one it already had.
  if (recorded.outcome === 'failed' && recorded.counted)
    logger.warn('Rollout ended without an outcome; the customer failed', { status: ended.status });
  else
    logger.info('Rollout status change dropped: the customer already had its outcome', {
      status: ended.status,
      outcome: recorded.outcome ?? null,
    });
  return { customerId: ended.customerId, outcome: recorded.outcome ?? null, counted: recorded.counted };
});
