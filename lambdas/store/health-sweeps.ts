import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { ReleaseRecord } from './releases.js';
import { releaseKey, tableName, writeIf } from './table.js';

// When the health sweep must next read a release's customers, kept on the release's record (RELEASE#<v> /
// META, which the sweep reads anyway): a pass notes the earliest instant a watched customer can fall
// silent, and runs before then read no customer. Anything else the sweep acts on (a trigger waiting for a
// deployment, a rollback that may need starting again) asks for the next run to read them all (sweepSoon).

const metaKey = (release: string) => ({ PK: releaseKey(release), SK: 'META' });

const sweepFields = z.looseObject({
  /** No customer needs the sweep before this instant (absent: the next run reads them all). */
  healthSweepDueAt: z.string().optional(),
  /** Bumped by every sweepSoon, so a pass that began before one does not overwrite it. */
  healthSweepSoon: z.number().default(0),
});

export interface SweepMarker {
  dueAt?: string | undefined;
  soon: number;
}

/** The sweep's marker as `record` (the release's record, as read) carries it. */
export function sweepMarkerOf(record: ReleaseRecord): SweepMarker {
  const fields = sweepFields.parse(record);
  return { dueAt: fields.healthSweepDueAt, soon: fields.healthSweepSoon };
}

/**
 * Notes when the sweep must next read the release's customers, found by a pass that began when the marker
 * was `seen`: false (nothing written) when a sweepSoon came in since.
 */
export async function setSweepDue(release: string, seen: SweepMarker, dueAt: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: metaKey(release),
      UpdateExpression: 'SET healthSweepDueAt = :due',
      ConditionExpression:
        seen.soon === 0
          ? 'attribute_exists(PK) AND (attribute_not_exists(healthSweepSoon) OR healthSweepSoon = :zero)'
          : 'attribute_exists(PK) AND healthSweepSoon = :soon',
      ExpressionAttributeValues: {
        ':due': dueAt,
        ...(seen.soon === 0 ? { ':zero': 0 } : { ':soon': seen.soon }),
      },
    }),
  );
}

/** Asks the next health sweep to read every customer of the release (something may need it before it is due). */
export async function sweepSoon(release: string): Promise<void> {
  await writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: metaKey(release),
      UpdateExpression: 'REMOVE healthSweepDueAt ADD healthSweepSoon :one',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':one': 1 },
    }),
  );
}
