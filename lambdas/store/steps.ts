import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { acceptedHealthOf, NO_HEALTH_ISSUES, type StepHealth } from '../core/gates.js';
import type { OutcomeState } from '../core/lifecycle.js';
import { dynamo } from '../shared/clients.js';
import { TransientError } from '../shared/errors.js';
import { getMany, isConditionFailure, parseItem, queryAll, releaseKey, tableName, writeIf } from './table.js';

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
   * counted once (countHealthEvidenceOnce): deployed minus this many have given a gate no evidence.
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

export async function getStep(release: string, key: string): Promise<StepRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: stepKey(release, key) }),
  );
  return result.Item ? parseItem(stepRecord, result.Item) : undefined;
}

/**
 * Adds one to each of `counters` on the step and the customer to the step's set `counted`, in one write
 * conditional on the customer not being in that set yet: concurrent or repeated recordings of the same fact
 * leave the counters as one would. The counters after counting, or undefined when the customer was counted
 * already.
 */
async function countCustomerOnce(
  release: string,
  key: string,
  counted: 'counted' | 'rollbacksCounted' | 'healthReporters',
  customerId: string,
  counters: string[],
): Promise<StepRecord | undefined> {
  const names = Object.fromEntries(counters.map((counter, index) => [`#c${index}`, counter]));
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: stepKey(release, key),
        UpdateExpression: `ADD #counted :customer, ${Object.keys(names)
          .map((name) => `${name} :one`)
          .join(', ')}`,
        ConditionExpression: 'attribute_exists(PK) AND NOT contains(#counted, :id)',
        ExpressionAttributeNames: { '#counted': counted, ...names },
        ExpressionAttributeValues: { ':customer': new Set([customerId]), ':id': customerId, ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return parseItem(stepRecord, result.Attributes ?? {});
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/**
 * Counts a customer's outcome on its step exactly once (the step keeps the set of customers it has
 * counted). Returns the counters after counting, or undefined when the customer was counted already.
 */
export function countOutcomeOnce(
  release: string,
  key: string,
  customerId: string,
  outcome: OutcomeState,
): Promise<StepRecord | undefined> {
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
): Promise<StepRecord | undefined> {
  return countCustomerOnce(release, key, 'rollbacksCounted', customerId, [outcome]);
}

/**
 * Counts a deployed customer that sent a health report since its deployment on its step, exactly once
 * (its id joins the step's `healthReporters`). Called by whichever of the two facts (deployed, reported)
 * is recorded last, and by both when they race. True when this call counted it.
 */
export async function countHealthEvidenceOnce(
  release: string,
  key: string,
  customerId: string,
): Promise<boolean> {
  return (
    (await countCustomerOnce(release, key, 'healthReporters', customerId, ['deployedWithHealthReport'])) !==
    undefined
  );
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

/** Marks a step as signalled once, so `Batch Completed` is published by exactly one caller. */
export async function claimStepSignal(release: string, key: string, at: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: stepKey(release, key),
      UpdateExpression: 'SET signalledAt = :at',
      ConditionExpression:
        'attribute_exists(waitToken) AND attribute_not_exists(signalledAt) AND recorded >= #total',
      ExpressionAttributeNames: { '#total': 'total' },
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

const memberKey = (release: string, key: string, customerId: string) => ({
  PK: releaseKey(release),
  SK: `STEP#${key}#CUSTOMER#${customerId}`,
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

export const stepMemberKey = memberKey;

/** The step's members with ids from `first` to `last` (both included), in id order: one rollout chunk. */
export async function listStepMembersBetween(
  release: string,
  key: string,
  first: string,
  last: string,
): Promise<StepMember[]> {
  const members: StepMember[] = [];
  for await (const item of queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :release AND SK BETWEEN :first AND :last',
    ExpressionAttributeValues: {
      ':release': releaseKey(release),
      ':first': memberKey(release, key, first).SK,
      ':last': memberKey(release, key, last).SK,
    },
  })) {
    members.push(parseItem(stepMember, item));
  }
  return members;
}

export async function listStepMembers(release: string, key: string): Promise<StepMember[]> {
  const members: StepMember[] = [];
  for await (const item of queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :release AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':release': releaseKey(release), ':prefix': `STEP#${key}#CUSTOMER#` },
  })) {
    members.push(parseItem(stepMember, item));
  }
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
  ].map((field) => `health.${field}.count`),
];

/**
 * The steps `keys` of the release, in one batched read whatever the number of customers (absent ones left
 * out). Their health carries counts only: the lists of customer ids are empty.
 */
export async function getStepsForStatus(release: string, keys: string[]): Promise<StepRecord[]> {
  if (keys.length === 0) return [];
  const items = await getMany(
    keys.map((key) => stepKey(release, key)),
    STEP_STATUS_FIELDS,
  );
  return items.map((item) => parseItem(stepRecord, withCountsOnly(item)));
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
