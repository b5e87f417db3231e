import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { dynamo } from '../shared/clients.js';
import { parseItem, releaseKey, tableName, writeIf } from './table.js';

// When the health sweep must next read a release's customers: RELEASE#<v> / HEALTH-SWEEP. A full pass
// computes the earliest instant any watched customer can fall silent; runs before then read this one item
// instead of every customer. Anything else the sweep acts on (a trigger waiting for a deployment, a
// rollback that may need starting again) asks for the next run to read them all (sweepSoon).

const sweepKey = (release: string) => ({ PK: releaseKey(release), SK: 'HEALTH-SWEEP' });

const sweepRecord = z.looseObject({
  /** No customer needs the sweep before this instant (absent: the next run reads them all). */
  nextSweepAt: z.string().optional(),
  /** Bumped by every sweepSoon, so a pass that began before one does not overwrite it. */
  soon: z.number().default(0),
});
export type SweepRecord = z.infer<typeof sweepRecord>;

export async function getSweep(release: string): Promise<SweepRecord> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: sweepKey(release) }),
  );
  return parseItem(sweepRecord, result.Item ?? {});
}

/**
 * Notes when the sweep must next read the release's customers, found by a pass that began when the record
 * was `seen`: false (nothing written) when a sweepSoon came in since.
 */
export async function setNextSweep(
  release: string,
  seen: SweepRecord,
  nextSweepAt: string,
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: sweepKey(release),
      UpdateExpression: 'SET nextSweepAt = :next',
      ConditionExpression: seen.soon === 0 ? '(attribute_not_exists(soon) OR soon = :zero)' : 'soon = :soon',
      ExpressionAttributeValues: {
        ':next': nextSweepAt,
        ...(seen.soon === 0 ? { ':zero': 0 } : { ':soon': seen.soon }),
      },
    }),
  );
}

/** Asks the next health sweep to read every customer of the release (something may need it before it is due). */
export async function sweepSoon(release: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: sweepKey(release),
      UpdateExpression: 'REMOVE nextSweepAt ADD soon :one',
      ExpressionAttributeValues: { ':one': 1 },
    }),
  );
}
