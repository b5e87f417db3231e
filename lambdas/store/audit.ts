import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo } from '../shared/clients.js';
import { customerPartition } from './customer-partitions.js';
import { getMany, parseItem, queryAll, releaseKey, tableName, writeIf } from './table.js';

const auditItem = z.looseObject({ at: z.string(), what: z.string() });
/** A counter item: its counts by name (kind of email, reason of refusal), beside its key. */
const countsItem = z.looseObject({ PK: z.string(), SK: z.string() }).catchall(z.number());
const healthReportItem = z.looseObject({ customerId: z.string(), reportedAt: z.string() });
const healthEvidenceItem = healthReportItem.extend({
  criticalErrors: z.number().default(0),
  securityFindings: z.number().default(0),
  latencyChangePercent: z.number().default(0),
});
const gateAuditItem = z.looseObject({
  SK: z.string(),
  passed: z.boolean().optional(),
  reason: z.string().optional(),
  at: z.string().optional(),
});

/** A counter item's counts, its key left out. */
function countsOf(item: Record<string, unknown>): Record<string, number> {
  const { PK: _pk, SK: _sk, ...counts } = parseItem(countsItem, item);
  return counts;
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

/** The audit record of `what` (e.g. `gate#standard_1`), as last written; undefined when there is none. */
export async function getAudit(release: string, what: string): Promise<Record<string, unknown> | undefined> {
  const result = await dynamo().send(
    new GetCommand({
      ConsistentRead: true,
      TableName: tableName(),
      Key: { PK: releaseKey(release), SK: `AUDIT#${what}` },
    }),
  );
  return result.Item && parseItem(auditItem, result.Item);
}

// The emails sent are counted on EMAIL_COUNTER_SHARDS items, each in a partition of its own
// (RELEASE#<v>#SHARD#<n> / EMAILS), a count on one picked at random: no single item takes every notice of
// the release. Readers sum them, with the release's own EMAILS item (written before).
export const EMAIL_COUNTER_SHARDS = 8;

const emailsKeys = (release: string) => [
  { PK: releaseKey(release), SK: 'EMAILS' },
  ...Array.from({ length: EMAIL_COUNTER_SHARDS }, (_, shard) => ({
    PK: `${releaseKey(release)}#SHARD#${shard}`,
    SK: 'EMAILS',
  })),
];

export async function countEmail(release: string, kind: string, count = 1): Promise<void> {
  const shard = 1 + Math.floor(Math.random() * EMAIL_COUNTER_SHARDS);
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: emailsKeys(release)[shard],
      UpdateExpression: 'ADD #kind :count',
      ExpressionAttributeNames: { '#kind': kind },
      ExpressionAttributeValues: { ':count': count },
    }),
  );
}

/** The emails sent, by kind, summed over the counters (one batched read). */
export async function emailCounts(release: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const item of await getMany(emailsKeys(release)))
    for (const [kind, count] of Object.entries(countsOf(item))) counts[kind] = (counts[kind] ?? 0) + count;
  return counts;
}

export async function putHealthReport(
  release: string,
  report: Record<string, unknown> & { customerId: string; reportedAt: string },
): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        PK: customerPartition(release, report.customerId),
        SK: `HEALTH#${report.customerId}#${report.reportedAt}`,
        ...report,
      },
    }),
  );
}

const refusedHealthReportsKey = (release: string | undefined) =>
  release === undefined
    ? { PK: 'HEALTH-REFUSED', SK: 'UNKNOWN-RELEASE' }
    : { PK: releaseKey(release), SK: 'HEALTH-REFUSED' };

/**
 * Counts a refused health report by reason: on its release, or, for a release that does not exist, on one
 * item for all of them (no partition is made for a release nobody planned).
 */
export async function countRefusedHealthReport(release: string | undefined, reason: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: refusedHealthReportsKey(release),
      UpdateExpression: 'ADD #reason :one',
      ExpressionAttributeNames: { '#reason': reason },
      ExpressionAttributeValues: { ':one': 1 },
    }),
  );
}

/** The refused health reports counted by reason: of `release`, or of releases that do not exist. */
export async function refusedHealthReportCounts(
  release: string | undefined,
): Promise<Record<string, number>> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: refusedHealthReportsKey(release) }),
  );
  return result.Item ? countsOf(result.Item) : {};
}

/**
 * Records an event in the audit trail only the first time (a conditional write on its key): false when it
 * was recorded already, so the caller skips the side effect it was about to repeat (an email).
 */
export async function auditOnce(
  release: string,
  at: string,
  what: string,
  detail: Record<string, unknown>,
): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { PK: releaseKey(release), SK: `AUDIT#${what}`, at, what, ...detail },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/** Takes an audit record back (its side effect failed), so a retry records it and tries again. */
export async function forgetAudit(release: string, what: string): Promise<void> {
  await dynamo().send(
    new DeleteCommand({ TableName: tableName(), Key: { PK: releaseKey(release), SK: `AUDIT#${what}` } }),
  );
}

/** A customer's health reports of the release reported at or after `since`, in time order. */
export async function healthReportsSince(
  release: string,
  customerId: string,
  since: string,
): Promise<
  { reportedAt: string; criticalErrors: number; securityFindings: number; latencyChangePercent: number }[]
> {
  const reports = [];
  // Compared as instants: timestamps may be written with or without milliseconds.
  for await (const item of queryAll({
    TableName: tableName(),
    ConsistentRead: true,
    KeyConditionExpression: 'PK = :partition AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: {
      ':partition': customerPartition(release, customerId),
      ':prefix': `HEALTH#${customerId}#`,
    },
  })) {
    const { reportedAt, criticalErrors, securityFindings, latencyChangePercent } = parseItem(
      healthEvidenceItem,
      item,
    );
    if (Date.parse(reportedAt) >= Date.parse(since))
      reports.push({ reportedAt, criticalErrors, securityFindings, latencyChangePercent });
  }
  return reports;
}

/**
 * The latest record of each gate named (a step key or a phase name) that has run, by name: passed, its
 * reason and when, in one batched read (not the customers the records name).
 */
export async function latestGates(
  release: string,
  names: string[],
): Promise<Map<string, { passed: boolean; reason: string; at: string }>> {
  const items = await getMany(
    names.map((name) => ({ PK: releaseKey(release), SK: `AUDIT#gate#${name}` })),
    ['SK', 'passed', 'reason', 'at'],
  );
  return new Map(
    items.map((item) => {
      const { SK, passed, reason, at } = parseItem(gateAuditItem, item);
      return [
        SK.slice('AUDIT#gate#'.length),
        { passed: passed === true, reason: reason ?? '', at: at ?? '' },
      ];
    }),
  );
}
