import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { dynamo } from '../shared/clients.js';
import { parseItem, tableName, writeIf } from './table.js';

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
