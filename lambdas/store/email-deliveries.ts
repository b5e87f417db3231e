import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../shared/clients.js';
import { tableName, writeIf } from './table.js';

// EMAIL#<id> / DELIVERY: the sender's claim on one queued email, written before SES is called, so an
// email the queue delivers twice is sent once.

const keyOf = (emailId: string) => ({ PK: `EMAIL#${emailId}`, SK: 'DELIVERY' });

/**
 * A claim outlives every redelivery of its email: the queue keeps a message 14 days, its dead-letter queue
 * 14 more. DynamoDB then deletes the claim by its `timeToLive` (epoch seconds).
 */
export const EMAIL_CLAIM_DAYS = 30;

const epochSecondsAfterDays = (at: string, days: number) =>
  Math.floor(Date.parse(at) / 1000) + days * 24 * 60 * 60;

/** Claims the sending of a queued email; false when it was claimed (sent, or being sent) before. */
export function claimEmailDelivery(emailId: string, at: string): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { ...keyOf(emailId), claimedAt: at, timeToLive: epochSecondsAfterDays(at, EMAIL_CLAIM_DAYS) },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/** Gives the claim back after SES refused the email, so its next delivery tries again. */
export async function releaseEmailDelivery(emailId: string): Promise<void> {
  await dynamo().send(new DeleteCommand({ TableName: tableName(), Key: keyOf(emailId) }));
}
