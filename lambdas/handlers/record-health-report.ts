import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { recordHealthReport } from '../application/health.js';
import { healthReported, inboundEnvelope } from '../events/contract.js';
import { InvalidTaskInputError } from '../shared/errors.js';

/** Bus target for `Health Reported`: keeps each report and counts it on its step, once however delivered. */
export async function handler(
  event: EventBridgeEvent<string, unknown>,
): Promise<{ recorded: boolean; counted: boolean }> {
  const envelope = inboundEnvelope.parse(event);
  const parsed = healthReported.safeParse(envelope.detail);
  if (!parsed.success)
    throw new InvalidTaskInputError(
      `Rejected Health Reported ${envelope.id}: ${z.prettifyError(parsed.error)}`,
    );
  const { counted } = await recordHealthReport(parsed.data);
  return { recorded: true, counted };
}
