import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo } from '../shared/clients.js';
import { parseItem, releaseKey, tableName, writeIf } from './table.js';

// The version registry (VERSIONS / <v>): each version `create-tag` registered, its release notes and who
// created it; and the request that started (or scheduled the start of) a release (RELEASE#<v> / START),
// kept apart from the release record, which the release execution itself creates when it plans.

const versionRecord = z.object({
  version: z.string(),
  notesPath: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  /** The annotated git tag, when `create-tag --git` made one. */
  gitTag: z.object({ commit: z.string(), by: z.string(), at: z.string() }).optional(),
});
export type VersionRecord = z.infer<typeof versionRecord>;

const startRequest = z.object({
  by: z.string(),
  /** When the request was made. */
  at: z.string(),
  /** When the release starts (its day 0). */
  startAt: z.string(),
  /** True when the start was scheduled for `startAt` rather than started at once. */
  scheduled: z.boolean(),
});
export type StartRequest = z.infer<typeof startRequest>;

const versionKey = (version: string) => ({ PK: 'VERSIONS', SK: version });
const startKey = (version: string) => ({ PK: releaseKey(version), SK: 'START' });

/** Registers a version unless it is registered; false when it was (the record is left as it is). */
export async function putVersionIfAbsent(record: VersionRecord): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { ...versionKey(record.version), ...record },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function getVersion(version: string): Promise<VersionRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: versionKey(version) }),
  );
  return result.Item ? parseItem(versionRecord, result.Item) : undefined;
}

export async function setGitTag(
  version: string,
  gitTag: NonNullable<VersionRecord['gitTag']>,
): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: versionKey(version),
      UpdateExpression: 'SET gitTag = :tag',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':tag': gitTag },
    }),
  );
}

/** Records the start request unless one is recorded; false when one was (the first stays). */
export async function putStartRequestIfAbsent(version: string, request: StartRequest): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { ...startKey(version), ...request },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function getStartRequest(version: string): Promise<StartRequest | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: startKey(version) }),
  );
  return result.Item ? parseItem(startRequest, result.Item) : undefined;
}
