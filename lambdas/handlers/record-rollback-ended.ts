import { recordRollbackOutcome } from '../application/rollback-workflow.js';
import { executionEndedHandler } from '../shared/execution-ended.js';
import { logger } from '../shared/observability.js';

/**
 * Target of the rule on the rollback state machine's "Execution Status Change" events: a rollback that
 * failed, timed out or was stopped before recording its end records the customer's rollback failed (the
 * release pauses, the escalation contacts are paged). A rollback that recorded its end changes nothing
 * here. Safe to deliver twice.
 */
export const handler = executionEndedHandler('rollback', async (ended) => {
  const why = [ended.error, ended.cause].filter(Boolean).join(': ');
  const recorded = await recordRollbackOutcome(
    ended.release,
    ended.customerId,
    'rollback-failed',
    `its rollback execution ${ended.status.toLowerCase()}${why ? `: ${why}` : ''}`,
  );
  if (recorded.counted)
    logger.warn('Rollback ended without recording its end; recorded failed', { status: ended.status });
  return { customerId: ended.customerId, state: recorded.state, counted: recorded.counted };
});
