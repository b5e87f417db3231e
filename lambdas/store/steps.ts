import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { acceptedHealthOf, NO_HEALTH_ISSUES, type StepHealth } from '../core/gates.js';
import { OUTCOME_STATES, type OutcomeState } from '../core/lifecycle.js';
import { dynamo } from '../shared/clients.js';
import { TransientError } from '../shared/errors.js';
import { customerPartition, hashOfCustomerId, queryEveryPartition } from './customer-partitions.js';
import { getMany, isConditionFailure, parseItem, releaseKey, tableName, writeIf } from './table.js';

const cappedIds = z.object({ count: z.number(), ids: z.array(z.string()) });
const stepHealth = z.object({
  criticalErrors: z.number(),
  customersWithCriticalErrors: cappedIds,
  customersWithSecurityFindings: cappedIds,
  customersDegraded: cappedIds,
  // Kept since gates judge support tickets; a step's health written before has none of them.
  customersWithMoreSupportTickets: cappedIds.default({ count: 0, ids: [] }),
  customersAffected: z.number(),
  worstLatencyChangePercent: z.number().default(0),
  worstSupportTicketIncreasePercent: z.number().default(0),
  reports: z.array(z.string()),
});

const stepRecord = z.looseObject({
  key: z.string(),
  total: z.number(),
  recorded: z.number(),
  deployed: z.number(),
  failed: z.number(),
  rejected: z.number(),
  deferred: z.number(),
  held: z.number(),
  cancelled: z.number().default(0),
  /** Customers a newer release took over before this one asked to deploy them (neither success nor failure). */
  superseded: z.number().default(0),
  /** Failures an operator accepted by resuming after the gate they failed; later gates do not count them. */
  acceptedFailed: z.number().default(0),
  /** The step's health an operator accepted the same way. */
  acceptedHealth: z
    .object({
      criticalErrors: z.number(),
      customersWithCriticalErrors: z.number(),
      customersWithSecurityFindings: z.number(),
      customersDegraded: z.number(),
      customersWithMoreSupportTickets: z.number().default(0),
      customersAffected: z.number(),
    })
    .optional(),
  /**
   * Deployed customers that sent at least one health report since their deployment was requested, each
   * counted once (countHealthEvidence): deployed minus this many have given a gate no evidence.
   */
  deployedWithHealthReport: z.number().default(0),
  /** Customers rolled back, and customers whose rollback failed, each counted once (the rollback workflow). */
  rolledBack: z.number().default(0),
  rollbackFailed: z.number().default(0),
  /** Deployed customers without a health report an operator accepted by resuming after their gate. */
  acceptedWithoutHealthReport: z.number().default(0),
  /** Rollbacks an operator accepted the same way. */
  acceptedRollbacks: z.number().default(0),
  /** Customers deploy one at a time (enterprise), each outcome gated before the next one deploys. */
  oneAtATime: z.boolean().default(false),
  /** When the release stops waiting for this step's outcomes (missing outcomes then fail its gate). */
  waitUntil: z.string().optional(),
  /** Each counter shard knows how many of the step's customers it counts (totalCounterShards). */
  shardsTotalled: z.boolean().default(false),
  /** New slots of one-at-a-time customers whose date moved, in the order they were taken. */
  reserved: z.array(z.object({ customerId: z.string(), at: z.string() })).default([]),
  waitToken: z.string().optional(),
  signalledAt: z.string().optional(),
  /** What its customers' health reports say, kept as they arrive (absent: nothing against a criterion). */
  health: stepHealth.optional(),
  /** Bumped by every change of `health`: a change applies only to the health it was computed from. */
  healthVersion: z.number().optional(),
  /** Deployed customers silent past the health sweep's threshold right now (markSilentOnStep). */
  silentCustomers: z.set(z.string()).optional(),
});
export type StepRecord = z.infer<typeof stepRecord>;

const stepKey = (release: string, key: string) => ({ PK: releaseKey(release), SK: `STEP#${key}` });

// A step's counters are not on its item but on STEP_COUNTER_SHARDS shard items, each in a partition of its
// own (RELEASE#<v>#SHARD#<n> / STEP#<key>); a customer is always counted on the same shard (a hash of its
// id), which keeps the set of customers it counted: the exactly-once guard of each count. So no single item
// (nor partition) takes every outcome and health report of a 9,000-customer step, and no set of ids grows
// past an item's 400 KB. Readers sum the shards into the step (getStep: one batched read). The write that
// completes the step is found without reading the step after every count: each shard learns how many of the
// step's customers it counts (totalCounterShards, when the release starts awaiting the step), and a count
// that completes its shard reads the summed step (recordOutcome). Before the shards are totalled, the read
// that awaiting the step makes afterwards sees every count written before it.
export const STEP_COUNTER_SHARDS = 16;

/** The counters kept on the shards, summed by readers (a step's own item may hold some, written before). */
const SHARDED_COUNTERS = [
  'recorded',
  ...OUTCOME_STATES,
  'deployedWithHealthReport',
  'rolledBack',
  'rollbackFailed',
] as const;

const shardPartition = (release: string, shard: number) => `${releaseKey(release)}#SHARD#${shard}`;
const shardKey = (release: string, key: string, shard: number) => ({
  PK: shardPartition(release, shard),
  SK: `STEP#${key}`,
});
const shardKeys = (release: string, key: string) =>
  Array.from({ length: STEP_COUNTER_SHARDS }, (_, shard) => shardKey(release, key, shard));

/** The counter shard of a customer (FNV-1a of its id): the same wherever and however often it is counted. */
export function counterShardOf(customerId: string): number {
  return hashOfCustomerId(customerId) % STEP_COUNTER_SHARDS;
}

/** A step item with its shards' counters added to its own. */
function withShardsSummed(
  step: Record<string, unknown>,
  shards: Record<string, unknown>[],
): Record<string, unknown> {
  const summed = { ...step };
  for (const counter of SHARDED_COUNTERS)
    summed[counter] = shards.reduce(
      (sum, shard) => sum + Number(shard[counter] ?? 0),
      Number(step[counter] ?? 0),
    );
  return summed;
}

/** The fields a step is read with: its record's, not the sets of ids kept as exactly-once guards. */
const STEP_FIELDS = ['PK', 'SK', ...Object.keys(stepRecord.shape)];

export interface StepPlan {
  total: number;
  oneAtATime: boolean;
  waitUntil: string;
}

export async function putStepIfAbsent(release: string, key: string, plan: StepPlan): Promise<void> {
  await writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...stepKey(release, key),
        key,
        ...plan,
        recorded: 0,
        deployed: 0,
        failed: 0,
        rejected: 0,
        deferred: 0,
        held: 0,
        cancelled: 0,
        superseded: 0,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/** The step with its counters summed over its shards, in one batched read. */
export async function getStep(release: string, key: string): Promise<StepRecord | undefined> {
  const items = await getMany([stepKey(release, key), ...shardKeys(release, key)], STEP_FIELDS);
  const step = items.find((item) => item.PK === releaseKey(release));
  if (!step) return undefined;
  return parseItem(
    stepRecord,
    withShardsSummed(
      step,
      items.filter((item) => item !== step),
    ),
  );
}

/** What a count leaves on the customer's shard: its outcomes so far, and how many it counts once totalled. */
export interface ShardCount {
  recorded: number;
  shardTotal?: number;
}

/**
 * Whether the step may be complete after a count: the shard it was written to has every outcome it counts,
 * or does not know how many it counts yet (the step is not awaited yet). Otherwise the step is not read.
 */
export const mayCompleteStep = (count: ShardCount): boolean =>
  count.shardTotal === undefined || count.recorded >= count.shardTotal;

/**
 * Tells each counter shard of the step how many of the step's customers it counts (its members, hashed),
 * then marks the step totalled. Safe to repeat: the same totals are written again.
 */
export async function totalCounterShards(release: string, key: string): Promise<void> {
  const totals = new Map<number, number>();
  for (const member of await listStepMembers(release, key)) {
    const shard = counterShardOf(member.id);
    totals.set(shard, (totals.get(shard) ?? 0) + 1);
  }
  for (const [shard, total] of totals)
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: shardKey(release, key, shard),
        UpdateExpression: 'SET shardTotal = :total',
        ExpressionAttributeValues: { ':total': total },
      }),
    );
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: stepKey(release, key),
      UpdateExpression: 'SET shardsTotalled = :yes',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':yes': true },
    }),
  );
}

/**
 * Adds one to each of `counters` on the customer's counter shard of the step and the customer to the shard's
 * set `counted`, in one write conditional on the customer not being in that set yet: concurrent or repeated
 * recordings of the same fact leave the counters as one would. The shard after counting, or undefined when
 * the customer was counted already.
 */
async function countCustomerOnce(
  release: string,
  key: string,
  counted: 'counted' | 'rollbacksCounted' | 'healthReporters',
  customerId: string,
  counters: string[],
): Promise<ShardCount | undefined> {
  const names = Object.fromEntries(counters.map((counter, index) => [`#c${index}`, counter]));
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: shardKey(release, key, counterShardOf(customerId)),
        UpdateExpression: `ADD #counted :customer, ${Object.keys(names)
          .map((name) => `${name} :one`)
          .join(', ')}`,
        ConditionExpression: 'NOT contains(#counted, :id)',
        ExpressionAttributeNames: { '#counted': counted, ...names },
        ExpressionAttributeValues: { ':customer': new Set([customerId]), ':id': customerId, ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const shard = result.Attributes ?? {};
    return {
      recorded: Number(shard.recorded ?? 0),
      ...(typeof shard.shardTotal === 'number' ? { shardTotal: shard.shardTotal } : {}),
    };
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/**
 * Counts a customer's outcome on its step exactly once (its shard keeps the set of customers it has
 * counted). Returns the shard after counting, or undefined when the customer was counted already.
 */
export function countOutcomeOnce(
  release: string,
  key: string,
  customerId: string,
  outcome: OutcomeState,
): Promise<ShardCount | undefined> {
  return countCustomerOnce(release, key, 'counted', customerId, ['recorded', outcome]);
}

/**
 * Counts a customer's rollback outcome on its step exactly once (its id joins the step's `rollbacksCounted`
 * in the same conditional write). The step's counters, or undefined when it was counted already.
 */
export function countRollbackOnce(
  release: string,
  key: string,
  customerId: string,
  outcome: 'rolledBack' | 'rollbackFailed',
): Promise<ShardCount | undefined> {
  return countCustomerOnce(release, key, 'rollbacksCounted', customerId, [outcome]);
}

/**
 * Counts a deployed customer that sent a health report since its deployment on its step, exactly once
 * (its id joins the shard's `healthReporters`). Called by whichever of the two facts (deployed, reported)
 * is recorded last, and by both when they race. What the count left on the customer's shard, or undefined
 * when it was counted already.
 */
export function countHealthEvidence(
  release: string,
  key: string,
  customerId: string,
): Promise<ShardCount | undefined> {
  return countCustomerOnce(release, key, 'healthReporters', customerId, ['deployedWithHealthReport']);
}

/** Deployed customers of the step without a health report since their deployment, less those accepted. */
export function unacceptedWithoutHealthReport(step: StepRecord): number {
  return Math.max(0, step.deployed - step.deployedWithHealthReport - step.acceptedWithoutHealthReport);
}

/** Customers of the step rolled back (or whose rollback failed), less those an operator accepted. */
export function unacceptedRollbacks(step: StepRecord): number {
  return Math.max(0, rollbacksOf(step) - step.acceptedRollbacks);
}

export const rollbacksOf = (step: StepRecord): number => step.rolledBack + step.rollbackFailed;

/** A step's health, as its gate reads it. */
export const healthOf = (step: StepRecord | undefined): StepHealth => step?.health ?? NO_HEALTH_ISSUES;

/**
 * Changes a step's health with `change` (which returns undefined when there is nothing to change), in one
 * write conditional on the health being the one `change` saw: a rival change in between makes it read and
 * compute again. So the report-by-report decisions (counted already? named already?) are exact under
 * concurrency. False when nothing changed or the release has no such step.
 */
export async function changeStepHealth(
  release: string,
  key: string,
  change: (health: StepHealth) => StepHealth | undefined,
): Promise<boolean> {
  for (let attempt = 0; attempt < HEALTH_WRITE_ATTEMPTS; attempt += 1) {
    const step = await getStep(release, key);
    if (!step) return false;
    const health = change(healthOf(step));
    if (!health) return false;
    const changed = await writeIf(
      new UpdateCommand({
        TableName: tableName(),
        Key: stepKey(release, key),
        UpdateExpression: 'SET health = :health, healthVersion = :next',
        ConditionExpression:
          step.healthVersion === undefined
            ? 'attribute_exists(PK) AND attribute_not_exists(healthVersion)'
            : 'attribute_exists(PK) AND healthVersion = :seen',
        ExpressionAttributeValues: {
          ':health': health,
          ':next': (step.healthVersion ?? 0) + 1,
          ...(step.healthVersion === undefined ? {} : { ':seen': step.healthVersion }),
        },
      }),
    );
    if (changed) return true;
  }
  throw new TransientError(
    `The health of step ${key} of release ${release} kept changing under ${HEALTH_WRITE_ATTEMPTS} attempts`,
  );
}

const HEALTH_WRITE_ATTEMPTS = 20;

// A step's health is kept in HEALTH_SHARDS items, RELEASE#<v> / STEP-HEALTH#<key>#<n>, each counting the
// reports of the customers whose id hashes to it: a wave of unhealthy reports from a 9,000-customer step
// spreads over that many items instead of queueing on one. Readers add the shards up (stepHealthShards);
// the step item's own `health` is what reports counted before the shards existed.
export const HEALTH_SHARDS = 8;

/** The shard of its step's health a customer's reports count on. */
export function healthShardOf(customerId: string): number {
  let hash = 0;
  for (let index = 0; index < customerId.length; index += 1)
    hash = (Math.imul(hash, 31) + customerId.charCodeAt(index)) >>> 0;
  return hash % HEALTH_SHARDS;
}

const healthShardKey = (release: string, key: string, shard: number) => ({
  PK: releaseKey(release),
  SK: `STEP-HEALTH#${key}#${shard}`,
});

const healthShard = z.object({
  SK: z.string(),
  health: stepHealth,
  healthVersion: z.number(),
  /** The shard's health an operator accepted by resuming past the step's failed gate. */
  accepted: stepRecord.shape.acceptedHealth,
});
export type HealthShard = z.infer<typeof healthShard>;

// What this process last read or wrote of each shard. A shard's health only grows (counts, named ids,
// worst figures, keys of counted reports), so a report that changes nothing in an older copy changes
// nothing in the stored one either and costs no request; a change is written against the copy's version
// and read again only when another writer got there first. Per client, like the release's policies.
const knownShards = new WeakMap<object, Map<string, { health: StepHealth; version: number }>>();

function knownShardsOfThisTable(): Map<string, { health: StepHealth; version: number }> {
  let known = knownShards.get(dynamo());
  if (!known) {
    known = new Map();
    knownShards.set(dynamo(), known);
  }
  return known;
}

/** Forgets the shards this process knows (a test that empties its table between cases). */
export function forgetKnownStepHealth(): void {
  knownShards.delete(dynamo());
}

/**
 * Changes the step's health shard of `customerId` with `change` (undefined: nothing to change), in one
 * write conditional on the shard's version, so report-by-report decisions (counted already? named
 * already?) stay exact under concurrency. True when it changed. Usually one request, none when the
 * process's copy of the shard shows the change is moot.
 */
export async function changeStepHealthShard(
  release: string,
  key: string,
  customerId: string,
  change: (health: StepHealth) => StepHealth | undefined,
): Promise<boolean> {
  const shard = healthShardOf(customerId);
  const itemKey = healthShardKey(release, key, shard);
  const known = knownShardsOfThisTable();
  const cacheKey = `${tableName()}|${itemKey.PK}|${itemKey.SK}`;
  let seen = known.get(cacheKey);
  // Health only grows: what changes nothing in an empty shard changes nothing in this one.
  if (!seen && !change(NO_HEALTH_ISSUES)) return false;
  for (let attempt = 0; attempt < HEALTH_WRITE_ATTEMPTS; attempt += 1) {
    if (!seen) {
      const result = await dynamo().send(
        new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: itemKey }),
      );
      seen = result.Item
        ? { health: parseItem(healthShard, result.Item).health, version: Number(result.Item.healthVersion) }
        : { health: NO_HEALTH_ISSUES, version: 0 };
      known.set(cacheKey, seen);
    }
    const health = change(seen.health);
    if (!health) return false;
    const changed = await writeIf(
      new UpdateCommand({
        TableName: tableName(),
        Key: itemKey,
        UpdateExpression: 'SET health = :health, healthVersion = :next',
        ConditionExpression:
          seen.version === 0 ? 'attribute_not_exists(healthVersion)' : 'healthVersion = :seen',
        ExpressionAttributeValues: {
          ':health': health,
          ':next': seen.version + 1,
          ...(seen.version === 0 ? {} : { ':seen': seen.version }),
        },
      }),
    );
    if (changed) {
      known.set(cacheKey, { health, version: seen.version + 1 });
      return true;
    }
    seen = undefined;
  }
  throw new TransientError(
    `The health of step ${key} of release ${release} kept changing under ${HEALTH_WRITE_ATTEMPTS} attempts`,
  );
}

/** The health shards of the steps `keys`, by step key, in one batched read (shards nothing counted on are absent). */
export async function stepHealthShards(release: string, keys: string[]): Promise<Map<string, HealthShard[]>> {
  const shards = new Map<string, HealthShard[]>(keys.map((key) => [key, []]));
  if (keys.length === 0) return shards;
  const items = await getMany(
    keys.flatMap((key) =>
      Array.from({ length: HEALTH_SHARDS }, (_, shard) => healthShardKey(release, key, shard)),
    ),
    ['SK', 'health', 'healthVersion', 'accepted'],
  );
  for (const item of items) {
    const shard = parseItem(healthShard, item);
    const key = shard.SK.slice('STEP-HEALTH#'.length, shard.SK.lastIndexOf('#'));
    shards.get(key)?.push(shard);
  }
  return shards;
}

/** A step's health as its counts and worsts, without the lists of customers and report keys. */
const HEALTH_COUNT_FIELDS = [
  ...[
    'criticalErrors',
    'customersAffected',
    'worstLatencyChangePercent',
    'worstSupportTicketIncreasePercent',
  ].map((field) => `health.${field}`),
  ...[
    'customersWithCriticalErrors',
    'customersWithSecurityFindings',
    'customersDegraded',
    'customersWithMoreSupportTickets',
  ].map((list) => `health.${list}.count`),
];

const SHARD_COUNT_FIELDS = ['SK', ...HEALTH_COUNT_FIELDS];

/**
 * The health shards of the steps `keys`, by step key, counts only (their lists of ids are empty), in one
 * batched read of small items: what check-status reads.
 */
export async function stepHealthCounts(release: string, keys: string[]): Promise<Map<string, StepHealth[]>> {
  const shards = new Map<string, StepHealth[]>(keys.map((key) => [key, []]));
  if (keys.length === 0) return shards;
  const items = await getMany(
    keys.flatMap((key) =>
      Array.from({ length: HEALTH_SHARDS }, (_, shard) => healthShardKey(release, key, shard)),
    ),
    SHARD_COUNT_FIELDS,
  );
  for (const item of items) {
    const sk = String(item.SK);
    const health = withCountsOnly(item).health;
    shards.get(sk.slice('STEP-HEALTH#'.length, sk.lastIndexOf('#')))?.push(stepHealth.parse(health));
  }
  return shards;
}

/**
 * Records that an operator resumed past the step's failed gate, shard by shard: later gates judge only
 * what each shard counted since (healthSince reads each shard's lists in its own report order).
 */
export async function acceptStepHealthShards(release: string, key: string): Promise<void> {
  const shards = (await stepHealthShards(release, [key])).get(key) ?? [];
  await Promise.all(
    shards.map((shard) =>
      dynamo().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: { PK: releaseKey(release), SK: shard.SK },
          UpdateExpression: 'SET accepted = :accepted',
          ExpressionAttributeValues: { ':accepted': acceptedHealthOf(shard.health) },
        }),
      ),
    ),
  );
}

export async function setStepWaitToken(release: string, key: string, token: string): Promise<StepRecord> {
  const result = await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: stepKey(release, key),
      UpdateExpression: 'SET waitToken = :token',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':token': token },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return parseItem(stepRecord, result.Attributes ?? {});
}

/**
 * Takes a moved one-at-a-time customer's new slot, if no other slot was taken since `step` was read
 * (optimistic: the caller rereads and recomputes when this returns false).
 */
export async function reserveSlot(
  release: string,
  step: StepRecord,
  slot: { customerId: string; at: string },
): Promise<boolean> {
  const taken = step.reserved.length;
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: stepKey(release, step.key),
      UpdateExpression: taken === 0 ? 'SET reserved = :slot' : 'SET reserved = list_append(reserved, :slot)',
      ConditionExpression: taken === 0 ? 'attribute_not_exists(reserved)' : 'size(reserved) = :taken',
      ExpressionAttributeValues: { ':slot': [slot], ...(taken === 0 ? {} : { ':taken': taken }) },
    }),
  );
}

/** Records that an operator resumed past the step's failed gate: later gates leave out what it saw. */
export async function acceptGate(release: string, key: string): Promise<void> {
  const step = await getStep(release, key);
  if (!step) return;
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: stepKey(release, key),
      UpdateExpression:
        'SET acceptedFailed = :failed, acceptedHealth = :health, acceptedWithoutHealthReport = :silent, acceptedRollbacks = :rollbacks',
      ExpressionAttributeValues: {
        ':failed': step.failed,
        ':health': acceptedHealthOf(healthOf(step)),
        ':silent': Math.max(0, step.deployed - step.deployedWithHealthReport),
        ':rollbacks': rollbacksOf(step),
      },
    }),
  );
}

/** Marks a complete step as signalled once, so `Batch Completed` is published by exactly one caller. */
export async function claimStepSignal(release: string, key: string, at: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: stepKey(release, key),
      UpdateExpression: 'SET signalledAt = :at',
      // Complete is judged by the caller on the summed counters (the step's item does not hold them).
      ConditionExpression: 'attribute_exists(waitToken) AND attribute_not_exists(signalledAt)',
      ExpressionAttributeValues: { ':at': at },
    }),
  );
}

export async function releaseStepSignal(release: string, key: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: stepKey(release, key),
      UpdateExpression: 'REMOVE signalledAt',
    }),
  );
}

// A step's members, one small item each under the release, so starting a step reads them with a strongly
// consistent query (a secondary index cannot be read consistently on AWS).
const stepMember = z.object({
  id: z.string(),
  deployAt: z.string().nullable(),
  approvalRequired: z.boolean(),
  deadlineAt: z.string(),
});
export type StepMember = z.infer<typeof stepMember>;

const memberPrefix = (key: string) => `STEP#${key}#CUSTOMER#`;
const memberKey = (release: string, key: string, customerId: string) => ({
  PK: customerPartition(release, customerId),
  SK: `${memberPrefix(key)}${customerId}`,
});

export async function putStepMember(release: string, key: string, member: StepMember): Promise<void> {
  await dynamo().send(new PutCommand({ TableName: tableName(), Item: stepMemberItem(release, key, member) }));
}

/** A step member's item: what starting its rollout needs. */
export function stepMemberItem(release: string, key: string, member: StepMember) {
  return {
    ...memberKey(release, key, member.id),
    id: member.id,
    deployAt: member.deployAt,
    approvalRequired: member.approvalRequired,
    deadlineAt: member.deadlineAt,
  };
}

/** The step's members with ids from `first` to `last` (both included), in id order: one rollout chunk. */
export function listStepMembersBetween(
  release: string,
  key: string,
  first: string,
  last: string,
): Promise<StepMember[]> {
  return membersWhere(release, 'SK BETWEEN :first AND :last', {
    ':first': `${memberPrefix(key)}${first}`,
    ':last': `${memberPrefix(key)}${last}`,
  });
}

/** The step's members, in id order. */
export function listStepMembers(release: string, key: string): Promise<StepMember[]> {
  return membersWhere(release, 'begins_with(SK, :prefix)', { ':prefix': memberPrefix(key) });
}

/** The step members whose sort key matches `condition`, from every customer partition, in id order. */
async function membersWhere(
  release: string,
  condition: string,
  values: Record<string, string>,
): Promise<StepMember[]> {
  const members: StepMember[] = [];
  for await (const item of queryEveryPartition(release, {
    TableName: tableName(),
    KeyConditionExpression: `PK = :partition AND ${condition}`,
    ExpressionAttributeValues: values,
  }))
    members.push(parseItem(stepMember, item));
  return members;
}

/**
 * Counts a customer silent on its step (no health report past the sweep's threshold), or no longer: a set
 * of ids, so repeating either changes nothing. Gates read `silentCustomers`.
 */
export async function markSilentOnStep(
  release: string,
  key: string,
  customerId: string,
  silent: boolean,
): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: stepKey(release, key),
      UpdateExpression: `${silent ? 'ADD' : 'DELETE'} silentCustomers :customer`,
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':customer': new Set([customerId]) },
    }),
  );
}

/**
 * What check-status reads of a step: its counters, the counts of its health, what was accepted, its wait
 * and reserved slots; not what grows with its customers (the sets of ids kept as exactly-once guards, the
 * ids named in its health, the keys of the reports counted) nor its wait token.
 */
const STEP_STATUS_FIELDS = [
  'PK',
  'SK',
  ...Object.keys(stepRecord.shape).filter(
    (field) => !['waitToken', 'silentCustomers', 'health'].includes(field),
  ),
  ...HEALTH_COUNT_FIELDS,
];

/**
 * The steps `keys` of the release, in one batched read whatever the number of customers (absent ones left
 * out). Their health carries counts only: the lists of customer ids are empty.
 */
export async function getStepsForStatus(release: string, keys: string[]): Promise<StepRecord[]> {
  if (keys.length === 0) return [];
  const items = await getMany(
    keys.flatMap((key) => [stepKey(release, key), ...shardKeys(release, key)]),
    STEP_STATUS_FIELDS,
  );
  const steps = items.filter((item) => item.PK === releaseKey(release));
  return steps.map((step) =>
    parseItem(
      stepRecord,
      withCountsOnly(
        withShardsSummed(
          step,
          items.filter((item) => item.SK === step.SK && item !== step),
        ),
      ),
    ),
  );
}

function withCountsOnly(item: Record<string, unknown>): Record<string, unknown> {
  const health = item.health as Record<string, unknown> | undefined;
  if (!health) return item;
  const counted = Object.fromEntries(
    Object.entries(health).map(([field, value]) =>
      typeof value === 'object' && value !== null ? [field, { ...value, ids: [] }] : [field, value],
    ),
  );
  return { ...item, health: { ...counted, reports: [] } };
}
