import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod';
import { dynamo } from '../shared/clients.js';
import { requiredEnv } from '../shared/env.js';
import { ReleaseStateError, TransientError } from '../shared/errors.js';

// The one table (see README "Data model"), one module per aggregate beside this file:
//   releases.ts   RELEASE#<v> / META                     status, schedule, halts, pause, decision token
//                 RELEASES / <v>                         the registry of releases (halt --all finds them)
//   steps.ts      RELEASE#<v> / STEP#<key>               total, wait token, health, what was accepted
//                 RELEASE#<v>#SHARD#<n> / STEP#<key>     a counter shard: the counts of its customers (a hash
//                                                        of the id) and the sets of those it counted
//                 RELEASE#<v>#CUSTOMERS#<n> / STEP#<key>#CUSTOMER#<id> the step's members, in the customer's
//                                                        partition (customer-partitions.ts)
//                 RELEASE#<v> / STEP-HEALTH#<key>#<n>    the step's health, in HEALTH_SHARDS shards
//   customers.ts  RELEASE#<v>#CUSTOMERS#<n> / CUSTOMER#<id> plan entry, lifecycle state and history, progress
//                 RELEASE#<v>#CUSTOMERS#<n> / PARKED#<id>   the token of a customer rollout parked by a halt
//   approvals.ts  APPROVAL#<id> / APPROVAL               task token, approvers, decision
//                 RELEASE#<v> / PENDING-APPROVAL#<id>    an approval asked and not decided (check-status)
//   deployment-claims.ts DEPLOYMENT#<customerId> / CLAIM  the release deploying it now, newest version deployed
//   audit.ts      RELEASE#<v> / AUDIT#<what>, EMAILS, HEALTH-REFUSED (counts by reason)
//                 RELEASE#<v>#CUSTOMERS#<n> / HEALTH#<id>#<at> a report of a customer rolling back
//                 RELEASE#<v>#SHARD#<n> / EMAILS         an email counter shard (emails sent by kind)
//                 HEALTH-REFUSED / UNKNOWN-RELEASE       refused reports of releases that do not exist
//   checklists.ts RELEASE#<v> / CHECKLIST#TICK#<item>     a pre-release checklist item's tick (by, at, evidence)
//                 RELEASE#<v> / CHECKLIST#OVERRIDE        a start with items open (by, reason, at, open items)
//   versions.ts   VERSIONS / <v>                         a registered version (notes path, by, at, git tag)
//                 RELEASE#<v> / START                    who started or scheduled the release, for when
// Reads are strongly consistent and parsed with zod: a record that does not match is a clear error, never
// a silently wrong cast.

export const tableName = () => requiredEnv('TABLE_NAME');
export const releaseKey = (release: string) => `RELEASE#${release}`;

/** Sends a conditional write; false when its condition did not hold (another run got there first). */
export async function writeIf(command: PutCommand | UpdateCommand): Promise<boolean> {
  try {
    await dynamo().send(command as PutCommand);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/**
 * Sends a conditional update that returns the item after it (`ReturnValues: 'ALL_NEW'`), parsed with
 * `schema`; undefined when its condition did not hold.
 */
export async function updateIf<Schema extends z.ZodType>(
  schema: Schema,
  input: Omit<UpdateCommand['input'], 'ReturnValues'>,
): Promise<z.infer<Schema> | undefined> {
  try {
    const result = await dynamo().send(new UpdateCommand({ ...input, ReturnValues: 'ALL_NEW' }));
    return parseItem(schema, result.Attributes ?? {});
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

export async function* queryAll(
  input: ConstructorParameters<typeof QueryCommand>[0],
): AsyncGenerator<Record<string, unknown>> {
  for await (const page of queryPages(input)) yield* page.Items ?? [];
}

/** Every page of a strongly consistent query (with `Select: 'COUNT'`, each page's `Count` only). */
export async function* queryPages(
  input: ConstructorParameters<typeof QueryCommand>[0],
): AsyncGenerator<QueryCommandOutput> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo().send(
      new QueryCommand({ ...input, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    yield page;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** Parses a stored item; a mismatch names the item and the field instead of failing later, elsewhere. */
export function parseItem<Schema extends z.ZodType>(
  schema: Schema,
  item: Record<string, unknown>,
): z.infer<Schema> {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(item)'}: ${issue.message}`,
  );
  throw new ReleaseStateError(
    `Stored item ${String(item.PK)} / ${String(item.SK)} is malformed: ${problems.join('; ')}`,
  );
}

/** `SET #a = :a, #b = :b` with its names and values, for the defined entries of `fields`. */
export function setClause(fields: Record<string, unknown>, prefix = 'f') {
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
  return {
    sets: entries.map((_, index) => `#${prefix}${index} = :${prefix}${index}`),
    names: Object.fromEntries(entries.map(([field], index) => [`#${prefix}${index}`, field])),
    values: Object.fromEntries(entries.map(([, value], index) => [`:${prefix}${index}`, value])),
  };
}

/**
 * Reads the items at `keys` (any number: 100 a request, the SDK's limit), strongly consistent, with only
 * `fields` when given (a projection; a field may be a path, `health.criticalErrors`; names are aliased, so reserved
 * words are fine). Keys the table has no item for are left
 * out; keys DynamoDB leaves unprocessed (throttling) are asked again.
 */
export async function getMany(
  keys: { PK: string; SK: string }[],
  fields?: readonly string[],
): Promise<Record<string, unknown>[]> {
  // A field may be a path into a map (`health.criticalErrors`): each segment gets its own name.
  const names: Record<string, string> = {};
  const paths = (fields ?? []).map((field) =>
    field
      .split('.')
      .map((segment) => {
        const alias = `#p${Object.keys(names).length}`;
        names[alias] = segment;
        return alias;
      })
      .join('.'),
  );
  // No fields: whole items.
  const projection = fields
    ? { ProjectionExpression: paths.join(', '), ExpressionAttributeNames: names }
    : {};
  const items: Record<string, unknown>[] = [];
  for (let start = 0; start < keys.length; start += BATCH_GET_MAX_KEYS) {
    let pending: Record<string, unknown>[] | undefined = keys.slice(start, start + BATCH_GET_MAX_KEYS);
    for (let attempt = 0; pending?.length; attempt += 1) {
      if (attempt >= BATCH_GET_MAX_ATTEMPTS)
        throw new TransientError(`${pending.length} item(s) stayed unprocessed after ${attempt} attempts`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const result: BatchGetCommandOutput = await dynamo().send(
        new BatchGetCommand({
          RequestItems: { [tableName()]: { Keys: pending, ConsistentRead: true, ...projection } },
        }),
      );
      items.push(...(result.Responses?.[tableName()] ?? []));
      pending = result.UnprocessedKeys?.[tableName()]?.Keys;
    }
  }
  return items;
}

const BATCH_GET_MAX_KEYS = 100;
const BATCH_GET_MAX_ATTEMPTS = 5;
