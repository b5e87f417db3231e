import { PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  type ChecklistItemId,
  type ChecklistTick,
  type ChecklistTicks,
  isChecklistItemId,
} from '../core/checklist.js';
import { parseItem, queryAll, releaseKey, tableName, writeIf } from './table.js';

// A release's pre-release checklist: one item per tick (RELEASE#<v> / CHECKLIST#TICK#<item>) and the
// override of an operator who started the release with items open (RELEASE#<v> / CHECKLIST#OVERRIDE).
// Both are written once: a tick or an override is never changed afterwards. One query reads them all.

const PREFIX = 'CHECKLIST#';
const TICK_PREFIX = `${PREFIX}TICK#`;
const OVERRIDE_KEY = `${PREFIX}OVERRIDE`;

const tickRecord = z.object({
  item: z.string(),
  by: z.string(),
  at: z.string(),
  evidence: z.string().optional(),
});

const overrideRecord = z.object({
  by: z.string(),
  reason: z.string(),
  at: z.string(),
  /** The items that were open when the operator overrode the checklist. */
  openItems: z.array(z.string()),
});
export type ChecklistOverride = z.infer<typeof overrideRecord>;

export interface StoredChecklist {
  ticks: ChecklistTicks;
  override?: ChecklistOverride;
}

/** Ticks one item unless it is ticked; false when it was (the first tick stays). */
export async function putTickIfAbsent(
  release: string,
  item: ChecklistItemId,
  tick: ChecklistTick,
): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { PK: releaseKey(release), SK: `${TICK_PREFIX}${item}`, item, ...tick },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/** Records the override unless one is recorded; false when one was (the first stays). */
export async function putOverrideIfAbsent(release: string, override: ChecklistOverride): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { PK: releaseKey(release), SK: OVERRIDE_KEY, ...override },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function getChecklist(release: string): Promise<StoredChecklist> {
  const checklist: StoredChecklist = { ticks: {} };
  for await (const item of queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :release AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':release': releaseKey(release), ':prefix': PREFIX },
  })) {
    if (item.SK === OVERRIDE_KEY) {
      checklist.override = parseItem(overrideRecord, item);
      continue;
    }
    const { item: id, ...tick } = parseItem(tickRecord, item);
    // An item the document no longer has is kept in the table but not shown.
    if (isChecklistItemId(id)) checklist.ticks[id] = tick;
  }
  return checklist;
}
