import type { EventBridgeEvent } from 'aws-lambda';
import { recordDeploymentResult } from '../application/deployments.js';
import { DETAIL_TYPES, deploymentFailed, deploymentSucceeded } from '../events/contract.js';
import { parsePlatformAnswer } from '../events/platform-answer.js';
import { observeInvocation, operationOf } from '../shared/observability.js';

/**
 * Bus target for `Deployment Succeeded` / `Deployment Failed`: records the first answer for a customer
 * and resumes its rollout. EventBridge delivers at least once; a repeated or late answer changes nothing.
 */
export function handler(
  event: EventBridgeEvent<string, unknown>,
  context?: unknown,
): Promise<{ recorded: boolean }> {
  return observeInvocation({ operation: operationOf(context) }, async () => {
    const { succeeded, ...answer } = parsePlatformAnswer(event, {
      succeededType: DETAIL_TYPES.deploymentSucceeded,
      succeeded: deploymentSucceeded,
      failed: deploymentFailed,
    });
    return recordDeploymentResult({ ...answer, status: succeeded ? 'succeeded' : 'failed' });
  });
}
