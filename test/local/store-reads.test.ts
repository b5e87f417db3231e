import { gzipSync } from 'node:zlib';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamo, resetClients } from '../../lambdas/shared/clients.js';
import { countEmail, emailCounts, latestGates } from '../../lambdas/store/audit.js';
import { getPlanChunk } from '../../lambdas/store/plan-chunks.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startReleaseTable, TABLE_NAME } from './support/release-table.js';

// The audit trail's and the plan's reads parse what they read: an item that is not what the store wrote is
// refused, naming the item and the field, instead of a wrong count or customer further on.

let database: LocalDynamoDb;

beforeAll(async () => {
  database = await startReleaseTable();
});
afterAll(async () => {
  resetClients();
  await database.stop();
});

const put = (item: Record<string, unknown>) =>
  dynamo().send(new PutCommand({ TableName: TABLE_NAME, Item: item }));

describe('the store’s reads', () => {
  it('sum the emails sent by kind over every counter', async () => {
    await countEmail('v3.1.0', 'notice');
    await countEmail('v3.1.0', 'notice', 2);
    await countEmail('v3.1.0', 'halt');

    expect(await emailCounts('v3.1.0')).toEqual({ notice: 3, halt: 1 });
  });

  it('refuse an email counter holding text, naming the item and the field', async () => {
    await put({ PK: 'RELEASE#v3.2.0', SK: 'EMAILS', notice: 'three' });

    await expect(emailCounts('v3.2.0')).rejects.toThrow(/RELEASE#v3\.2\.0 \/ EMAILS is malformed: notice/);
  });

  it('read a gate’s latest record as the gate wrote it', async () => {
    await put({
      PK: 'RELEASE#v3.3.0',
      SK: 'AUDIT#gate#standard_1',
      at: '2027-03-14T06:00:00Z',
      what: 'gate#standard_1',
      passed: false,
      reason: '2 customers failed',
    });

    const gates = await latestGates('v3.3.0', ['standard_1', 'standard_2']);

    expect([...gates]).toEqual([
      ['standard_1', { passed: false, reason: '2 customers failed', at: '2027-03-14T06:00:00Z' }],
    ]);
  });

  it('refuse a plan chunk whose customer has no step', async () => {
    const entry = { id: 'acme-corporation', name: 'Acme Corporation', policy: 'standard' };
    await put({
      PK: 'RELEASE#v3.4.0#PLAN-CHUNK#0',
      SK: 'PLAN-CHUNK',
      chunk: 0,
      customers: 1,
      plannedAt: '2027-03-01T09:00:00Z',
      entries: gzipSync(JSON.stringify([entry])),
    });

    await expect(getPlanChunk('v3.4.0', 0)).rejects.toThrow(/stepKey/);
  });
});
