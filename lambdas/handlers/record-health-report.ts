import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { type HealthReportResult, recordHealthReport } from '../application/health.js';
import { healthReported, inboundEnvelope } from '../events/contract.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { addLogKeys, observeInvocation, operationOf } from '../shared/observability.js';

/**
 * Bus target for `Health Reported`: keeps each report and counts it on its step, once however delivered. A
 * report out of scope is refused without an error (a retry would refuse it again); a malformed one throws.
 */
export function handler(
  event: EventBridgeEvent<string, unknown>,
  context?: unknown,
): Promise<HealthReportResult> {
  return observeInvocation({ operation: operationOf(context) }, () => record(event));
}

async function record(event: EventBridgeEvent<string, unknown>): Promise<HealthReportResult> {
  const envelope = inboundEnvelope.parse(event);
  const parsed = healthReported.safeParse(envelope.detail);
  if (!parsed.success)
    throw new InvalidTaskInputError(
      `Rejected Health Reported ${envelope.id}: ${z.prettifyError(parsed.error)}`,
    );
  addLogKeys({ release: parsed.data.version, customer: parsed.data.customerId });
  return recordHealthReport(parsed.data);
}
