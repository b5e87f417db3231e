import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { InvalidTaskInputError } from '../shared/errors.js';
import { addLogKeys } from '../shared/observability.js';
import { inboundEnvelope, parseCorrelationId } from './contract.js';

/** What every platform answer (a deployment's or a rollback's result) carries. */
interface AnswerDetail {
  correlationId: string;
  customerId: string;
  completedAt: string;
  reason?: string;
  /** Rollback answers name the release too; it must be the one the correlation id names. */
  release?: string;
}

export interface PlatformAnswer {
  succeeded: boolean;
  release: string;
  customerId: string;
  completedAt: string;
  reason?: string;
}

/**
 * Parses a platform answer (`… Succeeded` / `… Failed`) against its contract schemas and checks that its
 * correlation id names the same customer (and release). Anything else is refused with the reason.
 */
export function parsePlatformAnswer(
  event: EventBridgeEvent<string, unknown>,
  answers: { succeededType: string; succeeded: z.ZodType<AnswerDetail>; failed: z.ZodType<AnswerDetail> },
): PlatformAnswer {
  const envelope = inboundEnvelope.parse(event);
  const succeeded = envelope['detail-type'] === answers.succeededType;
  const parsed = (succeeded ? answers.succeeded : answers.failed).safeParse(envelope.detail);
  if (!parsed.success) {
    throw new InvalidTaskInputError(
      `Rejected ${envelope['detail-type']} ${envelope.id}: ${z.prettifyError(parsed.error)}`,
    );
  }
  const detail = parsed.data;
  addLogKeys({ customer: detail.customerId });
  const target = parseCorrelationId(detail.correlationId);
  const releaseNamed = detail.release === undefined || target?.release === detail.release;
  if (!target || target.customerId !== detail.customerId || !releaseNamed) {
    const whose = detail.release ? `${detail.customerId} of ${detail.release}` : detail.customerId;
    throw new InvalidTaskInputError(
      `Rejected ${envelope.id}: correlationId ${detail.correlationId} does not name ${whose}`,
    );
  }
  addLogKeys({ release: target.release });
  return {
    succeeded,
    release: target.release,
    customerId: target.customerId,
    completedAt: detail.completedAt,
    reason: detail.reason,
  };
}
