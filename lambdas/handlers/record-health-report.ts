import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { healthReported, inboundEnvelope } from '../events/contract.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { putHealthReport } from '../store/audit.js';

/** Bus target for `Health Reported`: keeps each report under the release it is about (idempotent by key). */
export async function handler(event: EventBridgeEvent<string, unknown>): Promise<{ recorded: boolean }> {
  const envelope = inboundEnvelope.parse(event);
  const parsed = healthReported.safeParse(envelope.detail);
  if (!parsed.success)
    throw new InvalidTaskInputError(
      `Rejected Health Reported ${envelope.id}: ${z.prettifyError(parsed.error)}`,
    );
  await putHealthReport(parsed.data.version, parsed.data);
  return { recorded: true };
}
