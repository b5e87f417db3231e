import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { queue } from '../shared/clients.js';
import { requiredEnv } from '../shared/env.js';
import type { Message } from './messages.js';

// Every email goes through one queue (EMAIL_QUEUE_URL) to one sender (handlers/send-email.ts), which paces
// to the account's SES quota. "Sent" here means accepted by the queue: callers claim, enqueue, then count,
// and give the claim back when enqueueing fails, so each email is enqueued at most once per claim. Each
// queued email carries an id of its own, and the sender claims that id before calling SES, so a message
// the queue delivers twice (or an enqueue the SDK retried) is sent once.

/** SES takes at most 50 destinations per message. */
export const MAX_DESTINATIONS = 50;
/** SQS takes at most 10 messages per SendMessageBatch. */
export const MAX_BATCH_ENTRIES = 10;
/** SQS takes at most 256 KiB per message and per batch; kept under it with room for attributes. */
const MAX_BATCH_BYTES = 240 * 1024;

export const queuedEmailSchema = z.strictObject({
  id: z.string().min(1).max(80),
  to: z.array(z.string().min(3).max(320)).min(1).max(MAX_DESTINATIONS),
  message: z.strictObject({ subject: z.string(), text: z.string(), html: z.string() }),
});
export type QueuedEmail = z.infer<typeof queuedEmailSchema>;

export interface OutgoingEmail {
  to: string[];
  message: Message;
}

/** Queues one email (to at most 50 recipients per SES message; more are split). */
export async function sendEmail(to: string[], message: Message): Promise<void> {
  await sendEmails([{ to, message }]);
}

/** Queues many emails in as few SQS calls as the limits allow (10 messages, 256 KiB per call). */
export async function sendEmails(emails: OutgoingEmail[]): Promise<void> {
  const bodies = emails.flatMap(toQueuedEmails).map((queued) => JSON.stringify(queued));
  const queueUrl = requiredEnv('EMAIL_QUEUE_URL');
  if (bodies.length === 1) {
    await queue().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: bodies[0] }));
    return;
  }
  for (const batch of batches(bodies)) {
    const result = await queue().send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((body, index) => ({ Id: String(index), MessageBody: body })),
      }),
    );
    const failed = result.Failed ?? [];
    if (failed.length > 0)
      throw new Error(
        `The email queue refused ${failed.length} of ${batch.length} emails: ${failed
          .map((entry) => `${entry.Code}: ${entry.Message}`)
          .join('; ')}`,
      );
  }
}

function toQueuedEmails({ to, message }: OutgoingEmail): QueuedEmail[] {
  if (to.length === 0) return [];
  const queued: QueuedEmail[] = [];
  for (let start = 0; start < to.length; start += MAX_DESTINATIONS)
    queued.push({ id: randomUUID(), to: to.slice(start, start + MAX_DESTINATIONS), message });
  return queued;
}

function* batches(bodies: string[]): Generator<string[]> {
  let batch: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body);
    if (batch.length === MAX_BATCH_ENTRIES || (batch.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(body);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
