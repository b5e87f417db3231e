import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { recordDeploymentResult } from '../application/deployments.js';
import {
  DETAIL_TYPES,
  deploymentFailed,
  deploymentSucceeded,
  inboundEnvelope,
  parseCorrelationId,
} from '../events/contract.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { addLogKeys, observeInvocation, operationOf } from '../shared/observability.js';

/**
 * Bus target for `Deployment Succeeded` / `Deployment Failed`: records the first answer for a customer
 * and resumes its rollout. EventBridge delivers at least once; a repeated or late answer changes nothing.
 */
export function handler(
  event: EventBridgeEvent<string, unknown>,
  context?: unknown,
): Promise<{ recorded: boolean }> {
  return observeInvocation({ operation: operationOf(context) }, () => record(event));
}

async function record(event: EventBridgeEvent<string, unknown>): Promise<{ recorded: boolean }> {
  const envelope = inboundEnvelope.parse(event);
  const succeeded = envelope['detail-type'] === DETAIL_TYPES.deploymentSucceeded;
  const parsed = succeeded
    ? deploymentSucceeded.safeParse(envelope.detail)
    : deploymentFailed.safeParse(envelope.detail);
  if (!parsed.success) {
    throw new InvalidTaskInputError(
      `Rejected ${envelope['detail-type']} ${envelope.id}: ${z.prettifyError(parsed.error)}`,
    );
  }
  const detail: { correlationId: string; customerId: string; completedAt: string; reason?: string } =
    parsed.data;
  addLogKeys({ customer: detail.customerId });
  const target = parseCorrelationId(detail.correlationId);
  if (!target || target.customerId !== detail.customerId) {
    throw new InvalidTaskInputError(
      `Rejected ${envelope.id}: correlationId ${detail.correlationId} does not name ${detail.customerId}`,
    );
  }
  addLogKeys({ release: target.release });
  return recordDeploymentResult({
    release: target.release,
    customerId: target.customerId,
    status: succeeded ? 'succeeded' : 'failed',
    completedAt: detail.completedAt,
    reason: detail.reason,
  });
}
