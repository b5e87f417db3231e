import { gunzipSync, gzipSync } from 'node:zlib';
import { BatchWriteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { RolloutChunk } from '../core/plan-chunks.js';
import { dynamo } from '../shared/clients.js';
import { TransientError } from '../shared/errors.js';
import { type PlannedCustomerRecord, plannedCustomerRecord } from './customers.js';
import { getMany, parseItem, releaseKey, tableName, writeIf } from './table.js';

// The plan written in chunks (lambdas/core/plan-chunks.ts):
//   RELEASE#<v>#PLAN-CHUNK#<n> / PLAN-CHUNK   the customers of chunk n (gzipped JSON), and when it was written;
//                                              each chunk in a partition of its own
//   RELEASE#<v> / PLAN-CHUNKS                 how many chunks and customers: the plan is recorded in full
//   RELEASE#<v> / ROLLOUT-CHUNKS#<step>       the step's rollout chunks (first and last member id of each)

const planChunkKey = (release: string, chunk: number) => ({
  PK: `${releaseKey(release)}#PLAN-CHUNK#${chunk}`,
  SK: 'PLAN-CHUNK',
});
const manifestKey = (release: string) => ({ PK: releaseKey(release), SK: 'PLAN-CHUNKS' });
const rolloutChunksKey = (release: string, step: string) => ({
  PK: releaseKey(release),
  SK: `ROLLOUT-CHUNKS#${step}`,
});

const planChunkItem = z.looseObject({
  chunk: z.number(),
  customers: z.number(),
  plannedAt: z.string(),
  entries: z.instanceof(Uint8Array),
  writtenAt: z.string().optional(),
});
const manifestItem = z.looseObject({ chunks: z.number(), customers: z.number() });
const rolloutChunksItem = z.looseObject({
  chunks: z.array(z.looseObject({ first: z.string(), last: z.string() })),
});

export interface PlanChunk {
  chunk: number;
  /** When the plan was made: every customer's `planned` history entry carries it, so a rewrite is identical. */
  plannedAt: string;
  entries: PlannedCustomerRecord[];
  writtenAt?: string;
}

/** How many bytes a chunk's entries take in its item. */
export function planChunkBytes(entries: PlannedCustomerRecord[]): number {
  return compressed(entries).byteLength;
}

const compressed = (entries: PlannedCustomerRecord[]) => gzipSync(JSON.stringify(entries));

/** Records a chunk of the plan (a repeated planning run writes the same chunk again). */
export async function putPlanChunk(release: string, chunk: PlanChunk): Promise<number> {
  const entries = compressed(chunk.entries);
  await dynamo().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...planChunkKey(release, chunk.chunk),
        release,
        chunk: chunk.chunk,
        customers: chunk.entries.length,
        plannedAt: chunk.plannedAt,
        entries,
      },
    }),
  );
  return entries.byteLength;
}

export async function getPlanChunk(release: string, chunk: number): Promise<PlanChunk | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: planChunkKey(release, chunk) }),
  );
  if (!result.Item) return undefined;
  const item = parseItem(planChunkItem, result.Item);
  const entries: PlannedCustomerRecord[] = z
    .array(plannedCustomerRecord)
    .parse(JSON.parse(gunzipSync(item.entries).toString('utf8')));
  return { chunk: item.chunk, plannedAt: item.plannedAt, entries, writtenAt: item.writtenAt };
}

/** Claims a chunk's first write, once: false when an earlier run began writing it (it may have written some). */
export async function claimPlanChunkWrite(release: string, chunk: number, at: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: planChunkKey(release, chunk),
      UpdateExpression: 'SET startedAt = :at',
      ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(startedAt)',
      ExpressionAttributeValues: { ':at': at },
    }),
  );
}

/** Marks a chunk written, once: false when an earlier run marked it. */
export async function markPlanChunkWritten(release: string, chunk: number, at: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: planChunkKey(release, chunk),
      UpdateExpression: 'SET writtenAt = :at',
      ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(writtenAt)',
      ExpressionAttributeValues: { ':at': at },
    }),
  );
}

/** Written after every chunk: from then on a planning run returns these instead of planning again. */
export async function putPlanManifest(release: string, manifest: { chunks: number; customers: number }) {
  await dynamo().send(
    new PutCommand({ TableName: tableName(), Item: { ...manifestKey(release), release, ...manifest } }),
  );
}

export async function getPlanManifest(
  release: string,
): Promise<{ chunks: number; customers: number } | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: manifestKey(release) }),
  );
  if (!result.Item) return undefined;
  const { chunks, customers } = parseItem(manifestItem, result.Item);
  return { chunks, customers };
}

export async function putRolloutChunks(release: string, step: string, chunks: RolloutChunk[]): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...rolloutChunksKey(release, step), release, step, chunks },
    }),
  );
}

/** A step's rollout chunks; undefined for a release planned before steps had them. */
export async function getRolloutChunks(release: string, step: string): Promise<RolloutChunk[] | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: rolloutChunksKey(release, step) }),
  );
  if (!result.Item) return undefined;
  return parseItem(rolloutChunksItem, result.Item).chunks.map(({ first, last }) => ({ first, last }));
}

/**
 * Writes those of `items` the table has no item for yet (at any number: 25 a request, DynamoDB's limit),
 * so a repeated run rewrites nothing; returns how many it wrote.
 */
export async function putAbsent(items: ({ PK: string; SK: string } & Record<string, unknown>)[]) {
  const existing = new Set(
    (
      await getMany(
        items.map(({ PK, SK }) => ({ PK, SK })),
        ['PK', 'SK'],
      )
    ).map((item) => `${String(item.PK)}\n${String(item.SK)}`),
  );
  return putAll(items.filter((item) => !existing.has(`${item.PK}\n${item.SK}`)));
}

/** Writes `items` (any number: 25 a request, DynamoDB's limit) whether or not they exist; returns how many. */
export async function putAll(absent: Record<string, unknown>[]): Promise<number> {
  const batches: Record<string, unknown>[][] = [];
  for (let start = 0; start < absent.length; start += BATCH_WRITE_MAX_ITEMS)
    batches.push(absent.slice(start, start + BATCH_WRITE_MAX_ITEMS));
  const writer = async () => {
    for (let batch = batches.pop(); batch; batch = batches.pop()) await writeBatch(batch);
  };
  await Promise.all(Array.from({ length: BATCH_WRITE_CONCURRENCY }, writer));
  return absent.length;
}

async function writeBatch(items: Record<string, unknown>[]): Promise<void> {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    if (attempt >= BATCH_WRITE_MAX_ATTEMPTS)
      throw new TransientError(`${pending.length} item(s) stayed unprocessed after ${attempt} attempts`);
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    const result = await dynamo().send(new BatchWriteCommand({ RequestItems: { [tableName()]: pending } }));
    pending = (result.UnprocessedItems?.[tableName()] ?? []) as typeof pending;
  }
}

const BATCH_WRITE_MAX_ITEMS = 25;
const BATCH_WRITE_MAX_ATTEMPTS = 6;
const BATCH_WRITE_CONCURRENCY = 8;
