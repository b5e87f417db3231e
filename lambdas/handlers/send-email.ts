import type { SQSBatchResponse } from 'aws-lambda';
import * as z from 'zod';
import { deliverQueuedEmails } from '../email/sender.js';
import { logger, observeInvocation, operationOf } from '../shared/observability.js';

const sqsEvent = z.object({
  Records: z.array(z.object({ messageId: z.string().min(1), body: z.string() })),
});

/**
 * The email queue's one consumer: sends each queued email through SES, paced to the account's quota,
 * once per email however often the queue delivers it. What it could not send goes back to the queue
 * (partial batch response) and, after the queue's receive limit, to its DLQ.
 */
export function handler(
  event: unknown,
  context?: { getRemainingTimeInMillis?: () => number },
): Promise<SQSBatchResponse> {
  return observeInvocation({ operation: operationOf(context) }, () => send(event, context));
}

async function send(
  event: unknown,
  context?: { getRemainingTimeInMillis?: () => number },
): Promise<SQSBatchResponse> {
  const parsed = sqsEvent.safeParse(event);
  if (!parsed.success)
    throw new Error(`send-email takes SQS events (Records with messageId and body): ${parsed.error.message}`);
  const remaining = context?.getRemainingTimeInMillis;
  const { sent, duplicates, failedMessageIds } = await deliverQueuedEmails(
    parsed.data.Records,
    remaining ? { remainingMs: () => remaining.call(context) } : {},
  );
  logger.info('Email batch delivered', { sent, duplicates, retried: failedMessageIds.length });
  return { batchItemFailures: failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
}
