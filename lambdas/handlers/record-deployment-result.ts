import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { isOutcome } from '../core/lifecycle.js';
import {
  DETAIL_TYPES,
  deploymentFailed,
  deploymentSucceeded,
  inboundEnvelope,
  parseCorrelationId,
} from '../events/contract.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { answerDeploymentWait } from '../shared/task-answers.js';
import { getCustomer, recordDeploymentResult } from '../store/customers.js';

/**
 * Bus target for `Deployment Succeeded` / `Deployment Failed`: records the first answer for a customer
 * and resumes its rollout. EventBridge delivers at least once; a repeated or late answer changes nothing.
 */
export async function handler(event: EventBridgeEvent<string, unknown>): Promise<{ recorded: boolean }> {
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
  const target = parseCorrelationId(detail.correlationId);
  if (!target || target.customerId !== detail.customerId) {
    throw new InvalidTaskInputError(
      `Rejected ${envelope.id}: correlationId ${detail.correlationId} does not name ${detail.customerId}`,
    );
  }
  const customer = await getCustomer(target.release, target.customerId);
  // No token: never requested. An outcome: the rollout already ended (e.g. the report came too late).
  if (!customer?.deploymentToken || isOutcome(customer.state)) return { recorded: false };
  const status = succeeded ? 'succeeded' : 'failed';
  const reason = detail.reason ?? 'deployment failed';
  const first = await recordDeploymentResult(target.release, target.customerId, {
    deploymentStatus: status,
    deployedAt: succeeded ? detail.completedAt : undefined,
    deploymentReason: succeeded ? undefined : reason,
  });
  // A redelivered answer resumes again (harmless), in case the first delivery failed after recording.
  if (!first && customer.deploymentStatus !== status) return { recorded: false };
  await answerDeploymentWait(customer.deploymentToken, {
    deploymentStatus: status,
    deployedAt: detail.completedAt,
    deploymentReason: reason,
  });
  return { recorded: first };
}
