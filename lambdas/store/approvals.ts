import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo } from '../shared/clients.js';
import { parseItem, releaseKey, tableName, writeIf } from './table.js';

const approvalRecord = z.looseObject({
  id: z.string(),
  release: z.string(),
  customerId: z.string(),
  /** What the review page shows; absent on requests stored before they were added. */
  customerName: z.string().optional(),
  deployAt: z.string().optional(),
  timeZone: z.string().optional(),
  /** What is asked: a deployment (absent, as before) or a rollback of the customer. */
  purpose: z.enum(['deployment', 'rollback']).optional(),
  /** Why the rollback is asked for, as the review page shows it. */
  reason: z.string().optional(),
  approvers: z.array(z.string()),
  expiresAt: z.string(),
  taskToken: z.string(),
  decision: z.enum(['approved', 'rejected']).optional(),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
});
export type ApprovalRecord = z.infer<typeof approvalRecord>;

const approvalKey = (id: string) => ({ PK: `APPROVAL#${id}`, SK: 'APPROVAL' });

export async function putApproval(approval: ApprovalRecord): Promise<void> {
  await dynamo().send(
    new PutCommand({ TableName: tableName(), Item: { ...approvalKey(approval.id), ...approval } }),
  );
}

export async function getApproval(id: string): Promise<ApprovalRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: approvalKey(id) }),
  );
  return result.Item ? parseItem(approvalRecord, result.Item) : undefined;
}

export async function setApprovalToken(id: string, taskToken: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: approvalKey(id),
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
      Key: approvalKey(id),
      UpdateExpression: 'SET decision = :decision, decidedBy = :by, decidedAt = :at',
      ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(decision)',
      ExpressionAttributeValues: { ':decision': decision, ':by': decidedBy, ':at': decidedAt },
    }),
  );
}

// The approvals asked and not decided yet, one small item each under the release: check-status lists them
// (with their age) in one query however large the fleet. Written when the approvers are asked, removed when
// the customer leaves `awaiting-approval` (whatever moved it: a decision, no decision in time, an abort) or,
// for a rollback's approval, when it is decided or the rollback ends.
const pendingApproval = z.object({
  customerId: z.string(),
  customerName: z.string(),
  stepKey: z.string(),
  purpose: z.enum(['deployment', 'rollback']),
  askedAt: z.string(),
  expiresAt: z.string(),
});
export type PendingApproval = z.infer<typeof pendingApproval>;

const PENDING_PREFIX = 'PENDING-APPROVAL#';
const pendingKey = (release: string, customerId: string) => ({
  PK: releaseKey(release),
  SK: `${PENDING_PREFIX}${customerId}`,
});

/** Records that the customer's approvers were asked; a repeated ask keeps the first one (its age). */
export async function notePendingApproval(release: string, pending: PendingApproval): Promise<void> {
  await writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { ...pendingKey(release, pending.customerId), ...pending },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function forgetPendingApproval(release: string, customerId: string): Promise<void> {
  await dynamo().send(new DeleteCommand({ TableName: tableName(), Key: pendingKey(release, customerId) }));
}

/**
 * The release's pending approvals, at most `limit` of them (in customer id order), in one request; `more`
 * says some were left out.
 */
export async function listPendingApprovals(
  release: string,
  limit: number,
): Promise<{ approvals: PendingApproval[]; more: boolean }> {
  const page = await dynamo().send(
    new QueryCommand({
      TableName: tableName(),
      ConsistentRead: true,
      KeyConditionExpression: 'PK = :release AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':release': releaseKey(release), ':prefix': PENDING_PREFIX },
      // One more than shown: whether some are left out, without a second request.
      Limit: limit + 1,
    }),
  );
  const items = page.Items ?? [];
  return {
    approvals: items.slice(0, limit).map((item) => parseItem(pendingApproval, item)),
    more: items.length > limit,
  };
}
