import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Contact, MaintenanceWindow, PlannedCustomer } from '../core/model.js';
import type { ReleaseSchedule } from '../core/rollout-shape.js';
import { dynamo } from '../shared/clients.js';
import { requiredEnv } from '../shared/env.js';
import { ReleaseStateError } from '../shared/errors.js';

// The one module that knows the table layout (single table, see README "Data model"). Reads are strongly
// consistent: a step's last outcome, read a moment after it was written, decides whether the release resumes.
//   RELEASE#<v> / META              the release: status, schedule, halt reason, report, once-markers
//   RELEASE#<v> / EMAILS            emails sent, by kind
//   RELEASE#<v> / CUSTOMER#<id>     one customer's plan entry and progress (GSI byStep: its workflow step)
//   RELEASE#<v> / STEP#<key>        a workflow step's counters and the token of the execution awaiting it
//   RELEASE#<v> / HEALTH#<id>#<at>  health reports
//   RELEASE#<v> / AUDIT#<what>      the latest record of each audited decision (gate, halt, approval)
//   APPROVAL#<id> / APPROVAL        an approval request: task token, approvers, decision

const tableName = () => requiredEnv('TABLE_NAME');
const releaseKey = (release: string) => `RELEASE#${release}`;
export const STEP_INDEX = 'byStep';

export type CustomerOutcome = 'deployed' | 'failed' | 'rejected' | 'deferred' | 'held';

export interface CustomerRecord extends PlannedCustomer {
  stepKey: string;
  window: MaintenanceWindow;
  contacts: Contact[];
  approvers: Contact[];
  noticeClaimedAt?: string;
  noticeSentAt?: string;
  approvalRequestId?: string;
  approvalEmailSentAt?: string;
  approvalDecision?: 'approved' | 'rejected';
  approvedBy?: string;
  decidedAt?: string;
  deploymentRequestedAt?: string;
  deploymentToken?: string;
  deploymentStatus?: 'requested' | 'succeeded' | 'failed';
  deploymentReason?: string;
  deployedAt?: string;
  outcome?: CustomerOutcome;
  outcomeReason?: string;
  outcomeCountedAt?: string;
}

export interface ReleaseRecord {
  release: string;
  status: 'planning' | 'running' | 'halted' | 'completed';
  schedule: ReleaseSchedule;
  haltReason?: string;
  report?: Record<string, unknown>;
}

export interface StepRecord {
  key: string;
  total: number;
  recorded: number;
  deployed: number;
  failed: number;
  rejected: number;
  deferred: number;
  held: number;
  waitToken?: string;
  signalledAt?: string;
}

/** Sends a conditional write; false when its condition did not hold (another run got there first). */
async function writeIf(command: PutCommand | UpdateCommand): Promise<boolean> {
  try {
    await dynamo().send(command as PutCommand);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

/** Creates the release record once; returns false when it already existed (a retried or repeated start). */
export async function createRelease(schedule: ReleaseSchedule): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: {
        PK: releaseKey(schedule.release),
        SK: 'META',
        release: schedule.release,
        status: 'planning',
        schedule,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function getRelease(release: string): Promise<ReleaseRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({
      ConsistentRead: true,
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: 'META' },
    }),
  );
  return result.Item as ReleaseRecord | undefined;
}

export async function setReleaseStatus(
  release: string,
  status: ReleaseRecord['status'],
  extra: Partial<Pick<ReleaseRecord, 'haltReason' | 'report'>> = {},
): Promise<void> {
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, unknown> = { ':status': status };
  const sets = ['#status = :status'];
  for (const [field, value] of Object.entries(extra)) {
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    sets.push(`#${field} = :${field}`);
  }
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: 'META' },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/** Writes a customer's plan entry unless it exists: re-running the planning never resets progress. */
export async function putCustomerIfAbsent(release: string, customer: CustomerRecord): Promise<void> {
  await writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: {
        PK: releaseKey(release),
        SK: `CUSTOMER#${customer.id}`,
        stepPK: `${releaseKey(release)}#STEP#${customer.stepKey}`,
        ...customer,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function putStepIfAbsent(release: string, key: string, total: number): Promise<void> {
  await writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: {
        PK: releaseKey(release),
        SK: `STEP#${key}`,
        key,
        total,
        recorded: 0,
        deployed: 0,
        failed: 0,
        rejected: 0,
        deferred: 0,
        held: 0,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function getCustomer(release: string, customerId: string): Promise<CustomerRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({
      ConsistentRead: true,
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: `CUSTOMER#${customerId}` },
    }),
  );
  return result.Item as CustomerRecord | undefined;
}

/** A customer of the release, or a ReleaseStateError when its plan has no customer by that id. */
export async function requireCustomer(release: string, customerId: string): Promise<CustomerRecord> {
  const customer = await getCustomer(release, customerId);
  if (!customer) throw new ReleaseStateError(`No customer ${customerId} in release ${release}`);
  return customer;
}

export async function getStep(release: string, key: string): Promise<StepRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({
      ConsistentRead: true,
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: `STEP#${key}` },
    }),
  );
  return result.Item as StepRecord | undefined;
}

async function* queryAll(
  input: ConstructorParameters<typeof QueryCommand>[0],
): AsyncGenerator<Record<string, unknown>> {
  let startKey: Record<string, unknown> | undefined;
  do {
    // Base-table reads are strongly consistent (each one feeds a decision); an index cannot be.
    const consistent = input.IndexName === undefined;
    const page = await dynamo().send(
      new QueryCommand({ ...input, ConsistentRead: consistent, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) yield item;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

export async function listStepCustomers(release: string, key: string): Promise<CustomerRecord[]> {
  const customers: CustomerRecord[] = [];
  for await (const item of queryAll({
    TableName: tableName(),
    IndexName: STEP_INDEX,
    KeyConditionExpression: 'stepPK = :step',
    ExpressionAttributeValues: { ':step': `${releaseKey(release)}#STEP#${key}` },
  })) {
    customers.push(item as unknown as CustomerRecord);
  }
  return customers;
}

export async function listCustomers(release: string): Promise<CustomerRecord[]> {
  const customers: CustomerRecord[] = [];
  for await (const item of queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :release AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':release': releaseKey(release), ':prefix': 'CUSTOMER#' },
  })) {
    customers.push(item as unknown as CustomerRecord);
  }
  return customers;
}

/** Customers whose notice is due by `asOf` and not yet taken: at most `limit` of them (reading stops there). */
export async function listCustomersAwaitingNotice(
  release: string,
  asOf: string,
  limit: number,
): Promise<CustomerRecord[]> {
  const customers: CustomerRecord[] = [];
  for await (const item of queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :release AND begins_with(SK, :prefix)',
    FilterExpression: 'noticeAt <= :asOf AND attribute_not_exists(noticeClaimedAt)',
    ExpressionAttributeValues: { ':release': releaseKey(release), ':prefix': 'CUSTOMER#', ':asOf': asOf },
  })) {
    customers.push(item as unknown as CustomerRecord);
    if (customers.length >= limit) break;
  }
  return customers;
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
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: `CUSTOMER#${customerId}` },
      UpdateExpression: `SET ${entries.map(([field]) => `#${field} = :${field}`).join(', ')}`,
      ConditionExpression: `attribute_exists(PK) AND attribute_not_exists(#guard)`,
      ExpressionAttributeNames: {
        '#guard': guardField,
        ...Object.fromEntries(entries.map(([field]) => [`#${field}`, field])),
      },
      ExpressionAttributeValues: Object.fromEntries(entries.map(([field, value]) => [`:${field}`, value])),
    }),
  );
}

export async function updateCustomer(
  release: string,
  customerId: string,
  fields: Partial<CustomerRecord>,
  removeFields: (keyof CustomerRecord)[] = [],
): Promise<void> {
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
  const clauses = [];
  if (entries.length > 0) clauses.push(`SET ${entries.map(([field]) => `#${field} = :${field}`).join(', ')}`);
  if (removeFields.length > 0)
    clauses.push(`REMOVE ${removeFields.map((field) => `#${String(field)}`).join(', ')}`);
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: `CUSTOMER#${customerId}` },
      UpdateExpression: clauses.join(' '),
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: Object.fromEntries(
        [...entries.map(([field]) => field), ...removeFields.map(String)].map((field) => [
          `#${field}`,
          field,
        ]),
      ),
      ExpressionAttributeValues: entries.length
        ? Object.fromEntries(entries.map(([field, value]) => [`:${field}`, value]))
        : undefined,
    }),
  );
}

/**
 * Records a customer's final outcome once and counts it on its step once. The two writes are separate items
 * (dynalite has no transactions), so the customer carries `outcomeCountedAt`: a retry after a failed count
 * counts it then. Returns the step's counters after counting, or undefined when it was counted already.
 */
export async function recordOutcome(
  release: string,
  customer: Pick<CustomerRecord, 'id' | 'stepKey'>,
  outcome: CustomerOutcome,
  reason: string | undefined,
  at: string,
): Promise<StepRecord | undefined> {
  await claimCustomerField(release, customer.id, 'outcome', { outcome, outcomeReason: reason });
  const recorded = await getCustomer(release, customer.id);
  if (!recorded?.outcome || recorded.outcomeCountedAt) return undefined;
  const result = await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: `STEP#${customer.stepKey}` },
      UpdateExpression: 'ADD recorded :one, #outcome :one',
      ExpressionAttributeNames: { '#outcome': recorded.outcome },
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'ALL_NEW',
    }),
  );
  // A crash between the count and this mark would count the outcome twice on retry; that window is two
  // consecutive writes, where a lost count (the alternative) would stall the step until its timeout.
  await updateCustomer(release, customer.id, { outcomeCountedAt: at });
  return result.Attributes as StepRecord;
}

export async function setStepWaitToken(release: string, key: string, token: string): Promise<StepRecord> {
  const result = await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: `STEP#${key}` },
      UpdateExpression: 'SET waitToken = :token',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':token': token },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return result.Attributes as StepRecord;
}

/** Marks a step as signalled once, so the awaiting execution is resumed by exactly one caller. */
export async function claimStepSignal(release: string, key: string, at: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: `STEP#${key}` },
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
      Key: { PK: releaseKey(release), SK: `STEP#${key}` },
      UpdateExpression: 'REMOVE signalledAt',
    }),
  );
}

export async function countEmail(release: string, kind: string, count = 1): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: 'EMAILS' },
      UpdateExpression: 'ADD #kind :count',
      ExpressionAttributeNames: { '#kind': kind },
      ExpressionAttributeValues: { ':count': count },
    }),
  );
}

export async function emailCounts(release: string): Promise<Record<string, number>> {
  const result = await dynamo().send(
    new GetCommand({
      ConsistentRead: true,
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: 'EMAILS' },
    }),
  );
  const { PK: _pk, SK: _sk, ...counts } = result.Item ?? {};
  return counts as Record<string, number>;
}

export async function putHealthReport(
  release: string,
  report: Record<string, unknown> & { customerId: string; reportedAt: string },
): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: tableName(),
      Item: { PK: releaseKey(release), SK: `HEALTH#${report.customerId}#${report.reportedAt}`, ...report },
    }),
  );
}

export async function listHealthReports(release: string): Promise<Record<string, unknown>[]> {
  const reports: Record<string, unknown>[] = [];
  for await (const item of queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :release AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':release': releaseKey(release), ':prefix': 'HEALTH#' },
  })) {
    reports.push(item);
  }
  return reports;
}

export async function audit(
  release: string,
  at: string,
  what: string,
  detail: Record<string, unknown>,
): Promise<void> {
  // The key carries the event itself, so recording the same event twice writes the same item.
  await dynamo().send(
    new PutCommand({
      TableName: tableName(),
      Item: { PK: releaseKey(release), SK: `AUDIT#${what}`, at, what, ...detail },
    }),
  );
}

export interface ApprovalRecord {
  id: string;
  release: string;
  customerId: string;
  /** What the review page shows; absent on requests stored before they were added. */
  customerName?: string;
  deployAt?: string;
  timeZone?: string;
  approvers: string[];
  expiresAt: string;
  taskToken: string;
  decision?: 'approved' | 'rejected';
  decidedBy?: string;
  decidedAt?: string;
}

export async function putApproval(approval: ApprovalRecord): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: tableName(),
      Item: { PK: `APPROVAL#${approval.id}`, SK: 'APPROVAL', ...approval },
    }),
  );
}

export async function getApproval(id: string): Promise<ApprovalRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({
      ConsistentRead: true,
      TableName: tableName(),
      Key: { PK: `APPROVAL#${id}`, SK: 'APPROVAL' },
    }),
  );
  return result.Item as ApprovalRecord | undefined;
}

export async function setApprovalToken(id: string, taskToken: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: `APPROVAL#${id}`, SK: 'APPROVAL' },
      UpdateExpression: 'SET taskToken = :token',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':token': taskToken },
    }),
  );
}

/** Records a decision once; false when the request was already decided (a second click). */
export async function decideApproval(
  id: string,
  decision: 'approved' | 'rejected',
  decidedBy: string,
  decidedAt: string,
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: `APPROVAL#${id}`, SK: 'APPROVAL' },
      UpdateExpression: 'SET decision = :decision, decidedBy = :by, decidedAt = :at',
      ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(decision)',
      ExpressionAttributeValues: { ':decision': decision, ':by': decidedBy, ':at': decidedAt },
    }),
  );
}

/** Sets a marker on the release record unless it is set; false when another run already set it. */
export async function claimReleaseMarker(release: string, marker: string, at: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: 'META' },
      UpdateExpression: 'SET #marker = :at',
      ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#marker)',
      ExpressionAttributeNames: { '#marker': marker },
      ExpressionAttributeValues: { ':at': at },
    }),
  );
}

export async function releaseReleaseMarker(release: string, marker: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: 'META' },
      UpdateExpression: 'REMOVE #marker',
      ExpressionAttributeNames: { '#marker': marker },
    }),
  );
}

/** Records the platform's first answer to a requested deployment; false when it was not the first. */
export async function recordDeploymentResult(
  release: string,
  customerId: string,
  result: { deploymentStatus: 'succeeded' | 'failed'; deployedAt?: string; deploymentReason?: string },
): Promise<boolean> {
  const entries = Object.entries(result).filter(([, value]) => value !== undefined);
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: `CUSTOMER#${customerId}` },
      UpdateExpression: `SET ${entries.map(([field]) => `#${field} = :${field}`).join(', ')}`,
      ConditionExpression: '#deploymentStatus = :requested AND attribute_not_exists(#outcome)',
      ExpressionAttributeNames: {
        ...Object.fromEntries(entries.map(([field]) => [`#${field}`, field])),
        '#deploymentStatus': 'deploymentStatus',
        '#outcome': 'outcome',
      },
      ExpressionAttributeValues: {
        ...Object.fromEntries(entries.map(([field, value]) => [`:${field}`, value])),
        ':requested': 'requested',
      },
    }),
  );
}
