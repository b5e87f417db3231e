import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  CUSTOMER_STATES,
  type CustomerState,
  type HistoryEntry,
  plannedEntry,
  type Transition,
} from '../core/lifecycle.js';
import type { Contact, MaintenanceWindow, PlannedCustomer } from '../core/model.js';
import { ROLLBACK_TRIGGERS, type RollbackTrigger } from '../core/rollback.js';
import { dynamo } from '../shared/clients.js';
import { ReleaseStateError } from '../shared/errors.js';
import { forgetPendingApproval } from './approvals.js';
import {
  CUSTOMER_PARTITIONS,
  customerPartition,
  customerPartitionKey,
  customerPartitionOf,
  hashOfCustomerId,
  queryEveryPartition,
} from './customer-partitions.js';
import { parseReleaseHold, RELEASE_HOLD_FIELDS, type ReleaseHold, releaseMetaKey } from './releases.js';
import { SWEEP_INDEX } from './sweep-index.js';
import {
  getMany,
  isConditionFailure,
  parseItem,
  releaseKey,
  setClause,
  tableName,
  updateIf,
  writeIf,
} from './table.js';

const historyEntry = z.object({
  state: z.enum(CUSTOMER_STATES),
  at: z.string(),
  by: z.string(),
  reason: z.string().optional(),
});

const contact = z.looseObject({ name: z.string(), email: z.string() });

const customerRecord = z.looseObject({
  id: z.string(),
  name: z.string(),
  policy: z.enum(['demo', 'startup', 'standard', 'enterprise']),
  phase: z.enum(['demo', 'startup', 'standard', 'enterprise']),
  batch: z.number(),
  noticeAt: z.string().nullable(),
  deployAt: z.string().nullable(),
  approvalRequired: z.boolean(),
  deadlineAt: z.string(),
  timeZone: z.string(),
  unschedulableReason: z.string().optional(),
  stepKey: z.string(),
  window: z.custom<MaintenanceWindow>((value) => typeof value === 'object' && value !== null),
  contacts: z.array(contact),
  approvers: z.array(contact),
  /** Where the customer is in its lifecycle (core/lifecycle.ts) and how it got there. */
  state: z.enum(CUSTOMER_STATES),
  history: z.array(historyEntry),
  /** A halt of this one customer: sticky until resumed. */
  halt: z.looseObject({ id: z.string(), from: z.string(), reason: z.string(), by: z.string() }).optional(),
  noticeClaimedAt: z.string().optional(),
  noticeSentAt: z.string().optional(),
  /** The deployment instant the customer was last told of (its notice or an updated notice). */
  notifiedDeployAt: z.string().optional(),
  /**
   * Deployed outside its step's schedule (deploy-customers): who asked and when; forced (with the reason)
   * deploys at once, without notice wait, approval or window; otherwise `expectedAt` is the instant it was
   * expected to land when asked (its first window once the notice lead time has passed).
   */
  earlyDeployment: z
    .looseObject({
      requestedAt: z.string(),
      by: z.string(),
      force: z.boolean(),
      reason: z.string().optional(),
      expectedAt: z.string().optional(),
    })
    .optional(),
  /** The instant its rollout is now scheduled for (the plan's, or a later one after a halt or late approval). */
  scheduledAt: z.string().optional(),
  approvalRequestId: z.string().optional(),
  approvalEmailSentAt: z.string().optional(),
  approvalDecision: z.enum(['approved', 'rejected']).optional(),
  approvedBy: z.string().optional(),
  decidedAt: z.string().optional(),
  deploymentRequestedAt: z.string().optional(),
  deploymentToken: z.string().optional(),
  deploymentStatus: z.enum(['requested', 'succeeded', 'failed']).optional(),
  deploymentReason: z.string().optional(),
  deployedAt: z.string().optional(),
  outcomeReason: z.string().optional(),
  /** When its first health report since its deployment was requested arrived (the evidence gates need). */
  firstHealthReportAt: z.string().optional(),
  /** Why and when its rollback was asked for (with the requestRollback transition). */
  rollbackTrigger: z.enum(ROLLBACK_TRIGGERS).optional(),
  rollbackReason: z.string().optional(),
  rollbackRequestedAt: z.string().optional(),
  rollbackRequestedBy: z.string().optional(),
  rollbackApprovalRequestId: z.string().optional(),
  rollbackApprovalEmailSentAt: z.string().optional(),
  rollbackApprovedBy: z.string().optional(),
  /** The maintenance window the approved rollback runs in. */
  rollbackScheduledAt: z.string().optional(),
  /** When the platform was asked to roll it back (`Rollback Requested` published). */
  rollbackPublishedAt: z.string().optional(),
  rollbackToken: z.string().optional(),
  rollbackStatus: z.enum(['requested', 'succeeded', 'failed']).optional(),
  rollbackFailureReason: z.string().optional(),
  rolledBackAt: z.string().optional(),
  /** What the health reports after the rollback said (validation or monitoring). */
  rollbackHealth: z
    .looseObject({ checkedAt: z.string(), reports: z.number(), healthy: z.boolean(), summary: z.string() })
    .optional(),
  /** The latest health report's instant, for the health sweep's silence check. */
  lastHealthReportAt: z.string().optional(),
  /** The first trigger a health report fired, kept so the health sweep acts on it if nothing else did. */
  healthTrigger: z
    .looseObject({ trigger: z.enum(ROLLBACK_TRIGGERS), reason: z.string(), reportedAt: z.string() })
    .optional(),
  /** Since when the customer has been silent (no health report past the threshold); absent once it reports. */
  silentSince: z.string().optional(),
  /** Its health evidence is counted on its step (countHealthEvidence): later reports need not count it. */
  healthEvidenceCounted: z.boolean().optional(),
  /** Its partition of the health sweep's index, while it is watched (see SWEEP_INDEX). */
  sweepShard: z.string().optional(),
  /** The instant its silence counts from, or SWEEP_AT_ONCE: the sort key of the health sweep's index. */
  sweepAt: z.string().optional(),
  /** SWEEP_AT_ONCE while a trigger waits for the sweep or a rollback may need asking again. */
  sweepAtOnce: z.string().optional(),
});

export type CustomerRecord = z.infer<typeof customerRecord>;

/** What planning writes for a customer: its plan entry and what the workflow needs to reach it. */
export interface PlannedCustomerRecord extends PlannedCustomer {
  stepKey: string;
  window: MaintenanceWindow;
  contacts: Contact[];
  approvers: Contact[];
}

/** A PlannedCustomerRecord as stored (a chunk of the plan carries them). */
export const plannedCustomerRecord = customerRecord
  .pick({
    id: true,
    name: true,
    policy: true,
    phase: true,
    batch: true,
    noticeAt: true,
    deployAt: true,
    approvalRequired: true,
    deadlineAt: true,
    timeZone: true,
    unschedulableReason: true,
    stepKey: true,
    window: true,
    contacts: true,
    approvers: true,
  })
  .extend({ lateReason: z.string().optional() });

/** A customer's item: in the customer's partition of the release (customer-partitions.ts). */
export const customerKey = (release: string, customerId: string) => ({
  PK: customerPartition(release, customerId),
  SK: `CUSTOMER#${customerId}`,
});

// The health sweep's index (sparse: only items with both keys are in it). A deployed or rolling-back customer
// carries `sweepShard` (RELEASE#<v>#SWEEP#<n>, a hash of its id, so a 100,000-customer release is not one
// index partition) and `sweepAt`: the instant its silence counts from (its deployment, then its latest
// report), or SWEEP_AT_ONCE while a trigger a report fired waits for the sweep or a rollback may need asking
// again. The writes that happen anyway keep them: the deployment's and the rollback's transitions, the
// health report's one write. The sweep reads only the customers whose `sweepAt` is older than the silence
// threshold, and takes a customer out of the index when its rollback window has closed.
export const SWEEP_SHARDS = 4;
/** Sorts before every instant: due at every sweep. */
export const SWEEP_AT_ONCE = '0000';

const sweepShardOf = (release: string, shard: number) => `${releaseKey(release)}#SWEEP#${shard}`;
const sweepShardOfCustomer = (release: string, customerId: string) =>
  sweepShardOf(release, hashOfCustomerId(customerId) % SWEEP_SHARDS);

/** What a transition changes in the sweep's index: in on deployment, out once the rollback has ended. */
function sweepIndexChange(
  release: string,
  customerId: string,
  transition: Transition,
  cause: Cause,
  fields: Partial<CustomerRecord>,
): { sets: string[]; removes: string[]; values: Record<string, unknown> } {
  switch (transition.name) {
    case 'recordDeployed':
      // A trigger that fired before the deployment (sweepAtOnce) keeps it due at once.
      return {
        sets: ['sweepShard = :sweepShard', 'sweepAt = if_not_exists(sweepAtOnce, :sweepHeard)'],
        removes: [],
        values: {
          ':sweepShard': sweepShardOfCustomer(release, customerId),
          ':sweepHeard': fields.deployedAt ?? cause.at,
        },
      };
    case 'requestRollback':
      return {
        sets: ['sweepAt = :sweepAtOnce', 'sweepAtOnce = :sweepAtOnce'],
        removes: [],
        values: { ':sweepAtOnce': SWEEP_AT_ONCE },
      };
    case 'keepDeployed':
      return { sets: ['sweepAt = :sweepKept'], removes: ['sweepAtOnce'], values: { ':sweepKept': cause.at } };
    case 'recordRolledBack':
    case 'recordRollbackFailed':
      return { sets: [], removes: ['sweepShard', 'sweepAt', 'sweepAtOnce'], values: {} };
    default:
      return { sets: [], removes: [], values: {} };
  }
}

/** Writes a customer's plan entry, in `planned`, unless it exists: re-running the planning resets nothing. */
export async function putCustomerIfAbsent(
  release: string,
  customer: PlannedCustomerRecord,
  at: string,
): Promise<void> {
  await writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: plannedCustomerItem(release, customer, at),
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/** A customer's item as planning writes it: its plan entry, in `planned`. */
export function plannedCustomerItem(release: string, customer: PlannedCustomerRecord, at: string) {
  return {
    ...customerKey(release, customer.id),
    ...customer,
    state: 'planned' as const,
    history: [plannedEntry(at)],
  };
}

export async function getCustomer(release: string, customerId: string): Promise<CustomerRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: customerKey(release, customerId) }),
  );
  return result.Item ? parseItem(customerRecord, result.Item) : undefined;
}

/**
 * The customer and what holds its release (status, pause, abort), in one strongly consistent request: the
 * two reads a rollout task makes before it acts. Each is undefined when absent.
 */
export async function getCustomerWithReleaseHold(
  release: string,
  customerId: string,
): Promise<{ customer: CustomerRecord | undefined; hold: ReleaseHold | undefined }> {
  const customerKeys = customerKey(release, customerId);
  // One projection for both items: every customer field and the release's hold, never its policies snapshot.
  const items = await getMany(
    [customerKeys, releaseMetaKey(release)],
    ['PK', 'SK', ...new Set([...Object.keys(customerRecord.shape), ...RELEASE_HOLD_FIELDS])],
  );
  const customerItem = items.find((item) => item.SK === customerKeys.SK);
  const metaItem = items.find((item) => item.SK === 'META');
  return {
    customer: customerItem ? parseItem(customerRecord, customerItem) : undefined,
    hold: metaItem ? parseReleaseHold(metaItem) : undefined,
  };
}

/** A customer of the release, or a ReleaseStateError when its plan has no customer by that id. */
export async function requireCustomer(release: string, customerId: string): Promise<CustomerRecord> {
  const customer = await getCustomer(release, customerId);
  if (!customer) throw new ReleaseStateError(`No customer ${customerId} in release ${release}`);
  return customer;
}

/** The release's customers, in id order. */
export async function* customersOf(release: string): AsyncGenerator<CustomerRecord> {
  for await (const item of queryEveryPartition(release, {
    TableName: tableName(),
    KeyConditionExpression: 'PK = :partition AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':prefix': 'CUSTOMER#' },
  }))
    yield parseItem(customerRecord, item);
}

/** The customers of one phase of the release (a filtered read of the release's customers). */
export async function* customersOfPhase(
  release: string,
  phase: CustomerRecord['phase'],
): AsyncGenerator<CustomerRecord> {
  for await (const item of queryEveryPartition(release, {
    TableName: tableName(),
    ConsistentRead: true,
    KeyConditionExpression: 'PK = :partition AND begins_with(SK, :prefix)',
    FilterExpression: '#phase = :phase',
    ExpressionAttributeNames: { '#phase': 'phase' },
    ExpressionAttributeValues: { ':prefix': 'CUSTOMER#', ':phase': phase },
  }))
    yield parseItem(customerRecord, item);
}

/** Every customer of the release, in id order. */
export async function listCustomers(release: string): Promise<CustomerRecord[]> {
  const customers: CustomerRecord[] = [];
  for await (const customer of customersOf(release)) customers.push(customer);
  return customers;
}

/**
 * Customers whose notice is due by `asOf` and not yet taken, at most `limit` of them, in partition order and
 * by id within a partition, starting after the customer `after` (from the first partition without it). The
 * cursor is a customer id: its partition follows from it. Each query reads from `after` on, a page at most
 * as large as the customers still wanted, and stops as soon as it has `limit`; so a loop that passes on the
 * last id it sent reads each customer about once instead of re-reading the partitions every run.
 */
export async function listCustomersAwaitingNotice(
  release: string,
  asOf: string,
  limit: number,
  after?: string,
): Promise<CustomerRecord[]> {
  const customers: CustomerRecord[] = [];
  const first = after === undefined ? 0 : customerPartitionOf(after);
  for (let partition = first; partition < CUSTOMER_PARTITIONS; partition += 1) {
    let startKey: Record<string, unknown> | undefined =
      after !== undefined && partition === first ? customerKey(release, after) : undefined;
    do {
      const page = await dynamo().send(
        new QueryCommand({
          TableName: tableName(),
          ConsistentRead: true,
          KeyConditionExpression: 'PK = :partition AND begins_with(SK, :prefix)',
          // Only customers still planned, and not halted on their own: a notice tells a date. A customer
          // deployed early is told its early date by the request (or deploys at once, forced).
          FilterExpression:
            'noticeAt <= :asOf AND attribute_not_exists(noticeClaimedAt) AND attribute_not_exists(halt) AND attribute_not_exists(earlyDeployment) AND #state = :planned',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':partition': customerPartitionKey(release, partition),
            ':prefix': 'CUSTOMER#',
            ':asOf': asOf,
            ':planned': 'planned',
          },
          // Limit bounds the items a page reads (before the filter): no more than are still wanted, so a run
          // reads little past the last customer it returns.
          Limit: limit - customers.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        customers.push(parseItem(customerRecord, item));
        if (customers.length >= limit) return customers;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
  return customers;
}

export interface Cause {
  at: string;
  by: string;
  reason?: string;
}

export type TransitionResult =
  | { applied: true; customer: CustomerRecord }
  | { applied: false; customer: CustomerRecord | undefined };

/**
 * Applies a lifecycle transition in one conditional write: only from one of its `from` states, appending
 * the history entry and setting `fields` with it. When the customer is elsewhere (a retry, a duplicate, a
 * race lost), nothing changes and the customer as it is now is returned (one more read).
 */
export async function applyTransition(
  release: string,
  customerId: string,
  transition: Transition,
  cause: Cause,
  fields: Partial<CustomerRecord> = {},
  remove: (keyof CustomerRecord)[] = [],
): Promise<TransitionResult> {
  const entry: HistoryEntry = { state: transition.to, at: cause.at, by: cause.by };
  if (cause.reason) entry.reason = cause.reason;
  const { sets, names, values } = setClause({ ...fields, state: transition.to });
  const removals = remove.map((field, index) => {
    names[`#r${index}`] = String(field);
    return `#r${index}`;
  });
  const from = Object.fromEntries(transition.from.map((state, index) => [`:from${index}`, state]));
  const sweep = sweepIndexChange(release, customerId, transition, cause, fields);
  removals.push(...sweep.removes);
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: customerKey(release, customerId),
        UpdateExpression: `SET ${[...sets, ...sweep.sets, '#history = list_append(#history, :entry)'].join(', ')}${
          removals.length ? ` REMOVE ${removals.join(', ')}` : ''
        }`,
        ConditionExpression: `#state IN (${Object.keys(from).join(', ')})`,
        ExpressionAttributeNames: { ...names, '#state': 'state', '#history': 'history' },
        ExpressionAttributeValues: { ...values, ...sweep.values, ...from, ':entry': [entry] },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const customer = parseItem(customerRecord, result.Attributes ?? {});
    if (leftAPendingApproval(customer)) await forgetPendingApproval(release, customerId);
    return { applied: true, customer };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return { applied: false, customer: await getCustomer(release, customerId) };
  }
}

/**
 * Whether the transition just applied took the customer away from an approval still asked: out of
 * `awaiting-approval` (approved, rejected, deferred, cancelled, …), or out of a rollback whose approval was
 * asked. The entry before the one just appended is the state it left (notes repeat the current state).
 */
function leftAPendingApproval(customer: CustomerRecord): boolean {
  const left = customer.history.at(-2)?.state;
  if (left === customer.state) return false;
  return (
    left === 'awaiting-approval' ||
    (left === 'rolling-back' && customer.rollbackApprovalRequestId !== undefined)
  );
}

/**
 * Sets fields on a customer only if `guardField` is not set yet. Returns false when another run got there
 * first: the caller then skips the side effect (an email, an event) it was about to repeat.
 */
export async function claimCustomerField(
  release: string,
  customerId: string,
  guardField: keyof CustomerRecord,
  fields: Partial<CustomerRecord>,
): Promise<boolean> {
  const { sets, names, values } = setClause(fields);
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: customerKey(release, customerId),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#guard)',
      ExpressionAttributeNames: { ...names, '#guard': String(guardField) },
      ExpressionAttributeValues: values,
    }),
  );
}

/** Sets `field` to `to` only while it still holds `expected` (absent when undefined); false otherwise. */
export async function swapCustomerField(
  release: string,
  customerId: string,
  field: keyof CustomerRecord,
  expected: string | undefined,
  to: string,
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: customerKey(release, customerId),
      UpdateExpression: 'SET #field = :to',
      ConditionExpression:
        expected === undefined
          ? 'attribute_exists(PK) AND attribute_not_exists(#field)'
          : '#field = :expected',
      ExpressionAttributeNames: { '#field': String(field) },
      ExpressionAttributeValues:
        expected === undefined ? { ':to': to } : { ':to': to, ':expected': expected },
    }),
  );
}

export async function updateCustomer(
  release: string,
  customerId: string,
  fields: Partial<CustomerRecord>,
  removeFields: (keyof CustomerRecord)[] = [],
): Promise<void> {
  const { sets, names, values } = setClause(fields);
  const clauses = [];
  if (sets.length > 0) clauses.push(`SET ${sets.join(', ')}`);
  if (removeFields.length > 0) {
    const removals = removeFields.map((field, index) => {
      names[`#r${index}`] = String(field);
      return `#r${index}`;
    });
    clauses.push(`REMOVE ${removals.join(', ')}`);
  }
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: customerKey(release, customerId),
      UpdateExpression: clauses.join(' '),
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: sets.length ? values : undefined,
    }),
  );
}

/**
 * Records the platform's first answer to a requested deployment, only while a rollout waits for it (its
 * token is stored): the customer after the write, or undefined when it was not the first.
 */
export function recordDeploymentResult(
  release: string,
  customerId: string,
  result: { deploymentStatus: 'succeeded' | 'failed'; deployedAt?: string; deploymentReason?: string },
): Promise<CustomerRecord | undefined> {
  return recordFirstAnswer(release, customerId, 'deploymentStatus', 'deployment-requested', result, [
    'deploymentToken',
  ]);
}

/**
 * Stores the token of the rollout task now waiting for the customer's deployment report and returns the
 * customer as it is after that write (what a report recorded before it says), or undefined when absent.
 */
export async function setDeploymentToken(
  release: string,
  customerId: string,
  taskToken: string,
): Promise<CustomerRecord | undefined> {
  return updateIf(customerRecord, {
    TableName: tableName(),
    Key: customerKey(release, customerId),
    UpdateExpression: 'SET deploymentToken = :token',
    ConditionExpression: 'attribute_exists(PK)',
    ExpressionAttributeValues: { ':token': taskToken },
  });
}

/**
 * Deployed customers of these steps that sent no health report since their deployment, at most `limit`
 * of them: one filtered query over the release's customers, run only when a gate already knows from its
 * counters that some are missing.
 */
export async function deployedWithoutHealthReport(
  release: string,
  stepKeys: string[],
  deployedStates: readonly string[],
  limit: number,
): Promise<string[]> {
  if (stepKeys.length === 0 || limit <= 0) return [];
  const steps = Object.fromEntries(stepKeys.map((key, index) => [`:step${index}`, key]));
  const states = Object.fromEntries(deployedStates.map((state, index) => [`:state${index}`, state]));
  const ids: string[] = [];
  for await (const item of queryEveryPartition(release, {
    TableName: tableName(),
    KeyConditionExpression: 'PK = :partition AND begins_with(SK, :prefix)',
    FilterExpression: `#stepKey IN (${Object.keys(steps).join(', ')}) AND #state IN (${Object.keys(states).join(', ')}) AND attribute_not_exists(firstHealthReportAt)`,
    ExpressionAttributeNames: { '#stepKey': 'stepKey', '#state': 'state' },
    ExpressionAttributeValues: {
      ':prefix': 'CUSTOMER#',
      ...steps,
      ...states,
    },
    ProjectionExpression: 'id',
  })) {
    ids.push(String(item.id));
    if (ids.length >= limit) break;
  }
  return ids;
}

// Customer rollouts parked by a halt: their tokens, one item each, so a resume finds them without reading
// every customer of the release.
const parkedKey = (release: string, customerId: string) => ({
  PK: customerPartition(release, customerId),
  SK: `PARKED#${customerId}`,
});

const parkedRollout = z.object({ customerId: z.string(), token: z.string(), since: z.string() });
export type ParkedRollout = z.infer<typeof parkedRollout>;

export async function parkRollout(release: string, parked: ParkedRollout): Promise<void> {
  await dynamo().send(
    new PutCommand({ TableName: tableName(), Item: { ...parkedKey(release, parked.customerId), ...parked } }),
  );
}

/** The rollouts parked by a halt, the longest parked first (then by customer id): first parked, first answered. */
export async function listParkedRollouts(release: string): Promise<ParkedRollout[]> {
  const parked: ParkedRollout[] = [];
  for await (const item of queryEveryPartition(release, {
    TableName: tableName(),
    KeyConditionExpression: 'PK = :partition AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':prefix': 'PARKED#' },
  }))
    parked.push(parseItem(parkedRollout, item));
  return parked.sort(
    (a, b) => Date.parse(a.since) - Date.parse(b.since) || a.customerId.localeCompare(b.customerId, 'en'),
  );
}

/** Forgets a parked rollout, only if it is still parked with `token` (not re-parked meanwhile). */
export async function unparkRollout(release: string, customerId: string, token: string): Promise<boolean> {
  return writeIf(
    new DeleteCommand({
      TableName: tableName(),
      Key: parkedKey(release, customerId),
      ConditionExpression: '#token = :token',
      ExpressionAttributeNames: { '#token': 'token' },
      ExpressionAttributeValues: { ':token': token },
    }) as never,
  );
}

/**
 * Appends a note to a customer's history without changing its state (a refused rollback, a silence), only
 * while the customer is still in `state`, setting and removing `fields` with it; false when it moved on or
 * `guard` holds (when given: a condition the note must not repeat under, e.g. a field already set).
 */
export async function noteInHistory(
  release: string,
  customerId: string,
  state: CustomerRecord['state'],
  cause: Cause,
  change: {
    set?: Partial<CustomerRecord>;
    remove?: (keyof CustomerRecord)[];
    onlyIf?: 'set' | 'absent';
    guardField?: keyof CustomerRecord;
  } = {},
): Promise<boolean> {
  const entry: HistoryEntry = { state, at: cause.at, by: cause.by };
  if (cause.reason) entry.reason = cause.reason;
  const { sets, names, values } = setClause(change.set ?? {});
  const removals = (change.remove ?? []).map((field, index) => {
    names[`#r${index}`] = String(field);
    return `#r${index}`;
  });
  const conditions = ['#state = :state'];
  if (change.guardField) {
    names['#guard'] = String(change.guardField);
    conditions.push(change.onlyIf === 'set' ? 'attribute_exists(#guard)' : 'attribute_not_exists(#guard)');
  }
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: customerKey(release, customerId),
      UpdateExpression: `SET ${[...sets, '#history = list_append(#history, :entry)'].join(', ')}${
        removals.length ? ` REMOVE ${removals.join(', ')}` : ''
      }`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: { ...names, '#state': 'state', '#history': 'history' },
      ExpressionAttributeValues: { ...values, ':state': state, ':entry': [entry] },
    }),
  );
}

/**
 * Keeps a health report on its customer in one conditional write, the customer as it is after it: the
 * report's instant for the health sweep, the first report since the deployment was requested (the evidence
 * a gate needs) and the first trigger a report fired. The write happens only for a report in scope and
 * later than the last one kept: the customer exists and its deployment was requested at or before the
 * report, which `requested` gives either as `notAfter` (the report's instant as the store writes instants,
 * compared as text) or as `exactly` (the request's instant as read from the customer). Undefined when the
 * condition did not hold: the caller reads the customer to know why. Being a write to the customer's
 * item, it is ordered with its lifecycle transitions: of a report and the `recordDeployed` transition
 * racing, the later write sees the other, so one of them counts the evidence.
 */
export async function noteLatestHealthReport(
  release: string,
  customerId: string,
  reportedAt: string,
  requested: { notAfter: string } | { exactly: string },
  fired?: { trigger: RollbackTrigger; reason: string },
): Promise<CustomerRecord | undefined> {
  return updateIf(customerRecord, {
    TableName: tableName(),
    Key: customerKey(release, customerId),
    UpdateExpression: `SET lastHealthReportAt = :at, firstHealthReportAt = if_not_exists(firstHealthReportAt, :at), ${
      fired
        ? 'healthTrigger = if_not_exists(healthTrigger, :fired), sweepAt = :sweepAtOnce, sweepAtOnce = :sweepAtOnce'
        : 'sweepAt = if_not_exists(sweepAtOnce, :sweepHeard)'
    }`,
    ConditionExpression: `attribute_exists(PK) AND ${
      'notAfter' in requested ? 'deploymentRequestedAt <= :requested' : 'deploymentRequestedAt = :requested'
    } AND (attribute_not_exists(lastHealthReportAt) OR lastHealthReportAt < :at)`,
    ExpressionAttributeValues: {
      ':at': reportedAt,
      ':requested': 'notAfter' in requested ? requested.notAfter : requested.exactly,
      ...(fired
        ? { ':fired': { ...fired, reportedAt }, ':sweepAtOnce': SWEEP_AT_ONCE }
        : { ':sweepHeard': new Date(reportedAt).toISOString() }),
    },
  });
}

/**
 * Keeps what an earlier (or the same, redelivered) health report adds to its customer: the mark of the
 * first report and the first trigger fired, while the deployment request it was judged against is still
 * the customer's (`requestedAt`). The customer after the write; undefined when the request changed.
 */
export async function noteEarlierHealthReport(
  release: string,
  customerId: string,
  reportedAt: string,
  requestedAt: string,
  fired?: { trigger: RollbackTrigger; reason: string },
): Promise<CustomerRecord | undefined> {
  return updateIf(customerRecord, {
    TableName: tableName(),
    Key: customerKey(release, customerId),
    UpdateExpression: `SET firstHealthReportAt = if_not_exists(firstHealthReportAt, :at)${
      fired
        ? ', healthTrigger = if_not_exists(healthTrigger, :fired), sweepAt = :sweepAtOnce, sweepAtOnce = :sweepAtOnce'
        : ''
    }`,
    ConditionExpression: 'attribute_exists(PK) AND deploymentRequestedAt = :requested',
    ExpressionAttributeValues: {
      ':at': reportedAt,
      ':requested': requestedAt,
      ...(fired ? { ':fired': { ...fired, reportedAt }, ':sweepAtOnce': SWEEP_AT_ONCE } : {}),
    },
  });
}

/** Notes on the customer that its health evidence is counted on its step, so its next reports skip it. */
export async function markHealthEvidenceCounted(release: string, customerId: string): Promise<void> {
  await writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: customerKey(release, customerId),
      UpdateExpression: 'SET healthEvidenceCounted = :counted',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':counted': true },
    }),
  );
}

/** What the health sweep reads of a customer: its state and what it needs to judge it, not its history. */
const watchedCustomer = customerRecord.pick({
  id: true,
  policy: true,
  stepKey: true,
  state: true,
  deployedAt: true,
  lastHealthReportAt: true,
  healthTrigger: true,
  silentSince: true,
  rollbackTrigger: true,
  rollbackReason: true,
  sweepAt: true,
  sweepAtOnce: true,
});
export type WatchedCustomer = z.infer<typeof watchedCustomer>;

/**
 * The customers of the release the health sweep must look at now: in its index with `sweepAt` before
 * `before` (heard from last before then, or due at once), each re-read strongly consistent (the index is
 * eventually consistent: a customer it has not caught up with is found by the next sweep, one it shows out
 * of date is re-read as it is). Customers reporting on time are not read.
 */
export async function customersDueForSweep(release: string, before: string): Promise<WatchedCustomer[]> {
  const keys: { PK: string; SK: string }[] = [];
  for (let shard = 0; shard < SWEEP_SHARDS; shard += 1) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo().send(
        new QueryCommand({
          TableName: tableName(),
          IndexName: SWEEP_INDEX,
          KeyConditionExpression: 'sweepShard = :shard AND sweepAt < :before',
          ExpressionAttributeValues: { ':shard': sweepShardOf(release, shard), ':before': before },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) keys.push({ PK: String(item.PK), SK: String(item.SK) });
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
  if (keys.length === 0) return [];
  const items = await getMany(keys, Object.keys(watchedCustomer.shape));
  return items.map((item) => parseItem(watchedCustomer, item));
}

/**
 * Moves the customer's place in the sweep's index (`to`: the instant its silence counts from, or out of the
 * index when undefined; a trigger no longer waiting when `clearAtOnce`), only if its `sweepAt` is still
 * `seen`: a report or transition in between already moved it. False when it was not.
 */
export async function moveInSweepIndex(
  release: string,
  customerId: string,
  seen: string,
  to: string | undefined,
  clearAtOnce = false,
): Promise<boolean> {
  const removes =
    to === undefined ? ['sweepShard', 'sweepAt', 'sweepAtOnce'] : clearAtOnce ? ['sweepAtOnce'] : [];
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: customerKey(release, customerId),
      UpdateExpression:
        `${to === undefined ? '' : 'SET sweepAt = :to '}${removes.length ? `REMOVE ${removes.join(', ')}` : ''}`.trim(),
      ConditionExpression: 'sweepAt = :seen',
      ExpressionAttributeValues: { ':seen': seen, ...(to === undefined ? {} : { ':to': to }) },
    }),
  );
}

/**
 * The customers of a release in one of `states` (read strongly consistent), with only the fields the health
 * sweep judges them by: the sweep runs often, and a customer's history grows with the release.
 */
export async function* customersIn(
  release: string,
  states: readonly CustomerRecord['state'][],
): AsyncGenerator<WatchedCustomer> {
  const fields = Object.keys(watchedCustomer.shape);
  const names = Object.fromEntries(fields.map((field, index) => [`#f${index}`, field]));
  const wanted = Object.fromEntries(states.map((state, index) => [`:s${index}`, state]));
  for await (const item of queryEveryPartition(release, {
    TableName: tableName(),
    ConsistentRead: true,
    KeyConditionExpression: 'PK = :partition AND begins_with(SK, :prefix)',
    FilterExpression: `#state IN (${Object.keys(wanted).join(', ')})`,
    ProjectionExpression: Object.keys(names).join(', '),
    ExpressionAttributeNames: { ...names, '#state': 'state' },
    ExpressionAttributeValues: { ':prefix': 'CUSTOMER#', ...wanted },
  }))
    yield parseItem(watchedCustomer, item);
}

/**
 * Appends a line to the history of a customer being rolled back (an approval, a window, the request to
 * the platform) and sets `fields`, once: only while it is `rolling-back` and `guardField` is not set yet.
 * False when it was not (a retry, a duplicate): the caller skips what it would repeat.
 */
export async function noteRollback(
  release: string,
  customerId: string,
  guardField: keyof CustomerRecord,
  fields: Partial<CustomerRecord>,
  cause: Cause,
): Promise<boolean> {
  const entry: HistoryEntry = { state: 'rolling-back', at: cause.at, by: cause.by };
  if (cause.reason) entry.reason = cause.reason;
  const { sets, names, values } = setClause(fields);
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: customerKey(release, customerId),
      UpdateExpression: `SET ${[...sets, '#history = list_append(#history, :entry)'].join(', ')}`,
      ConditionExpression: '#state = :rollingBack AND attribute_not_exists(#guard)',
      ExpressionAttributeNames: {
        ...names,
        '#state': 'state',
        '#history': 'history',
        '#guard': String(guardField),
      },
      ExpressionAttributeValues: { ...values, ':rollingBack': 'rolling-back', ':entry': [entry] },
    }),
  );
}

/** Records the platform's first answer to a requested rollback; false when it was not the first. */
export function recordRollbackResult(
  release: string,
  customerId: string,
  result: { rollbackStatus: 'succeeded' | 'failed'; rolledBackAt?: string; rollbackFailureReason?: string },
): Promise<boolean> {
  return recordFirstAnswer(release, customerId, 'rollbackStatus', 'rolling-back', result).then(
    (customer) => customer !== undefined,
  );
}

/**
 * Writes the platform's answer only while the request is still unanswered (`statusField` = requested) and
 * the customer still waits for it (`waitingIn`), and holds each of `present`: the first answer wins, a
 * repeated or late one is refused. The customer after the write, or undefined when refused.
 */
async function recordFirstAnswer(
  release: string,
  customerId: string,
  statusField: 'deploymentStatus' | 'rollbackStatus',
  waitingIn: CustomerState,
  answer: Record<string, unknown>,
  present: (keyof CustomerRecord)[] = [],
): Promise<CustomerRecord | undefined> {
  const { sets, names, values } = setClause(answer);
  const required = present.map((field, index) => {
    names[`#present${index}`] = String(field);
    return ` AND attribute_exists(#present${index})`;
  });
  return updateIf(customerRecord, {
    TableName: tableName(),
    Key: customerKey(release, customerId),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: `#status = :requested AND #state = :waitingIn${required.join('')}`,
    ExpressionAttributeNames: { ...names, '#status': statusField, '#state': 'state' },
    ExpressionAttributeValues: { ...values, ':requested': 'requested', ':waitingIn': waitingIn },
  });
}

/**
 * The id and name of every customer of the release (a projected query: two short fields each), for
 * resolving the names an operator types. Not for anything that must not grow with the fleet.
 */
export async function customerNamesOf(release: string): Promise<{ id: string; name: string }[]> {
  const names: { id: string; name: string }[] = [];
  for await (const item of queryEveryPartition(release, {
    TableName: tableName(),
    KeyConditionExpression: 'PK = :partition AND begins_with(SK, :prefix)',
    ProjectionExpression: '#id, #name',
    ExpressionAttributeNames: { '#id': 'id', '#name': 'name' },
    ExpressionAttributeValues: { ':prefix': 'CUSTOMER#' },
  }))
    names.push({ id: String(item.id), name: String(item.name) });
  return names;
}
