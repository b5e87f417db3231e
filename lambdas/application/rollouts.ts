import type { EndedStatus } from '../core/execution-status.js';
import type { OutcomeState } from '../core/lifecycle.js';
import { type CaughtError, describeFailure } from '../shared/failure.js';
import { recordOutcome } from './outcomes.js';

const WHAT_HAPPENED: Record<EndedStatus, string> = {
  FAILED: 'its rollout execution failed',
  TIMED_OUT: 'its rollout execution timed out',
  ABORTED: 'its rollout execution was stopped',
};

/**
 * A customer's rollout execution ended (failed, timed out or stopped) without recording an outcome: the
 * customer ends `failed` with the cause, counted on its step once, and the release execution waiting on
 * the step resumes when this was its last customer. A customer that already has an outcome keeps it (and
 * it is counted, should the execution have died between recording and counting), so a late, repeated or
 * redelivered status change changes nothing more.
 */
export async function recordRolloutEnded(ended: {
  release: string;
  customerId: string;
  status: EndedStatus;
  failure?: CaughtError;
}): Promise<{ outcome: OutcomeState | undefined; counted: boolean }> {
  const detail = describeFailure(ended.failure);
  const reason = detail ? `${WHAT_HAPPENED[ended.status]}: ${detail}` : WHAT_HAPPENED[ended.status];
  return recordOutcome(ended.release, ended.customerId, 'failed', { by: 'rollout status change', reason });
}
