import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { recordRollbackResult } from '../application/rollback-workflow.js';
import {
  DETAIL_TYPES,
  inboundEnvelope,
  parseCorrelationId,
  rollbackFailed,
  rollbackSucceeded,
} from '../events/contract.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { addLogKeys, observeInvocation, operationOf } from '../shared/observability.js';

/**
 * Bus target for `Rollback Succeeded` / `Rollback Failed`: records the first answer for a customer and
 * resumes its rollback workflow. EventBridge delivers at least once; a repeated or late answer changes nothing.
 */
export function handler(
  event: EventBridgeEvent<string, unknown>,
  context?: unknown,
): Promise<{ recorded: boolean }> {
  return observeInvocation({ operation: operationOf(context) }, () => record(event));
}

async function record(event: EventBridgeEvent<string, unknown>): Promise<{ recorded: boolean }> {
  const envelope = inboundEnvelope.parse(event);
  const succeeded = envelope['detail-type'] === DETAIL_TYPES.rollbackSucceeded;
  const parsed = succeeded
    ? rollbackSucceeded.safeParse(envelope.detail)
    : rollbackFailed.safeParse(envelope.detail);
  if (!parsed.success) {
    throw new InvalidTaskInputError(
      `Rejected ${envelope['detail-type']} ${envelope.id}: ${z.prettifyError(parsed.error)}`,
    );
  }
  const detail: {
    correlationId: string;
    customerId: string;
    release: string;
    completedAt: string;
    reason?: string;
  } = parsed.data;
  const target = parseCorrelationId(detail.correlationId);
  if (!target || target.customerId !== detail.customerId || target.release !== detail.release) {
    throw new InvalidTaskInputError(
      `Rejected ${envelope.id}: correlationId ${detail.correlationId} does not name ${detail.customerId} of ${detail.release}`,
    );
  }
  addLogKeys({ release: target.release, customer: target.customerId });
  return recordRollbackResult({
    release: target.release,
    customerId: target.customerId,
    status: succeeded ? 'succeeded' : 'failed',
    completedAt: detail.completedAt,
    reason: detail.reason,
  });
}
