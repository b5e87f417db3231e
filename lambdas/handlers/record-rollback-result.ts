import type { EventBridgeEvent } from 'aws-lambda';
import { recordRollbackResult } from '../application/rollback-workflow.js';
import { DETAIL_TYPES, rollbackFailed, rollbackSucceeded } from '../events/contract.js';
import { parsePlatformAnswer } from '../events/platform-answer.js';
import { observeInvocation, operationOf } from '../shared/observability.js';

/**
 * Bus target for `Rollback Succeeded` / `Rollback Failed`: records the first answer for a customer and
 * resumes its rollback workflow. EventBridge delivers at least once; a repeated or late answer changes nothing.
 */
export function handler(
  event: EventBridgeEvent<string, unknown>,
  context?: unknown,
): Promise<{ recorded: boolean }> {
  return observeInvocation({ operation: operationOf(context) }, async () => {
    const { succeeded, ...answer } = parsePlatformAnswer(event, {
      succeededType: DETAIL_TYPES.rollbackSucceeded,
      succeeded: rollbackSucceeded,
      failed: rollbackFailed,
    });
    return recordRollbackResult({ ...answer, status: succeeded ? 'succeeded' : 'failed' });
  });
}
