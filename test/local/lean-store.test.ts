import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordHealthReport } from '../../lambdas/application/health.js';
import { sendDueNotices } from '../../lambdas/application/notices.js';
import { combineHealth } from '../../lambdas/core/gates.js';
import { type HealthReported, SCHEMA_VERSION } from '../../lambdas/events/contract.js';
import { dynamo, resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { updateCustomer } from '../../lambdas/store/customers.js';
import { stepHealthShards } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startReleaseTable } from './support/release-table.js';
import { runningReleaseWithStandardStep } from './support/standard-step.js';

// What notices and health reports cost the store, measured on dynalite: the notice loop reads on from its
// cursor, and a health report counts once on its step however often and however concurrently it arrives.

const RACERS = 20;
const emailQueue = mockClient(SQSClient);
let database: LocalDynamoDb;
let itemsRead = 0;
let releaseNumber = 0;

beforeAll(async () => {
  database = await startReleaseTable({
    SENDER_EMAIL: 'releases@securewatch.example.com',
    EMAIL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/securewatch-email',
  });
  emailQueue.on(SendMessageCommand).resolves({ MessageId: 'queued' });
  emailQueue.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommand['input']) => ({
    Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: 'queued' })),
    Failed: [],
  }));
  // Every item a query reads counts, whether or not its filter keeps it (that is what DynamoDB bills).
  dynamo().middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      itemsRead += (result.output as { ScannedCount?: number } | undefined)?.ScannedCount ?? 0;
      return result;
    },
    { step: 'initialize', name: 'countItemsRead' },
  );
});

afterAll(async () => {
  resetClients();
  emailQueue.restore();
  await database.stop();
});

/** A running release whose customers, all standard in step standard_1, were planned and noticed as given. */
async function givenARelease(customers: { id: string; noticeAt: string }[]): Promise<string> {
  releaseNumber += 1;
  const release = `v1.${releaseNumber}.0`;
  await runningReleaseWithStandardStep(release, customers);
  return release;
}

describe('the notice loop', () => {
  it('sends each due notice once and reads each customer about once, however many runs it takes', async () => {
    const AS_OF = '2027-03-05T09:00:00Z';
    const customers = Array.from({ length: 30 }, (_, index) => ({
      id: `customer-${String(index).padStart(2, '0')}`,
      noticeAt: index % 5 === 4 ? '2027-03-06T09:00:00Z' : AS_OF,
    }));
    const release = await givenARelease(customers);
    emailQueue.resetHistory();
    itemsRead = 0;

    let runs = 0;
    let cursor: string | null = null;
    do {
      const run = await sendDueNotices(release, AS_OF, 5, cursor);
      cursor = run.cursor;
      runs += 1;
      if (!run.remaining) break;
    } while (runs < 100);

    const bodies = [
      ...emailQueue.commandCalls(SendMessageCommand).map((call) => call.args[0].input.MessageBody),
      ...emailQueue
        .commandCalls(SendMessageBatchCommand)
        .flatMap((call) => (call.args[0].input.Entries ?? []).map((entry) => entry.MessageBody)),
    ];
    const noticed = bodies.map((body) => JSON.parse(body ?? '{}').to).sort();
    expect(noticed).toEqual(
      customers.filter((_, index) => index % 5 !== 4).map(({ id }) => [`ops@${id}.example.com`]),
    );
    expect(runs).toBe(5);
    // Re-reading from the first customer every run would read 5 × 30 = 150.
    expect(itemsRead).toBeGreaterThanOrEqual(customers.length);
    expect(itemsRead).toBeLessThanOrEqual(customers.length + runs * 2);
  });
});

describe('a health report', () => {
  const report = (customerId: string, overrides: Record<string, number> = {}): HealthReported => ({
    schemaVersion: SCHEMA_VERSION,
    customerId,
    version: `v1.${releaseNumber}.0`,
    reportedAt: '2027-03-13T05:00:00Z',
    errorRatePercent: 0,
    latencyChangePercent: 1,
    criticalErrors: 0,
    securityFindings: 0,
    supportTickets: 0,
    ...overrides,
  });

  afterAll(useRealClock);

  it('delivered many times at once, alongside other customers’ reports, counts once on its step', async () => {
    const ids = ['acme', 'bluefin', 'cascade', 'dunmore'];
    const release = await givenARelease(ids.map((id) => ({ id, noticeAt: '2027-03-05T09:00:00Z' })));
    for (const id of ids)
      await updateCustomer(release, id, { deploymentRequestedAt: '2027-03-13T01:00:00Z' });
    useClock({ now: () => '2027-03-13T06:00:00Z' });

    const results = await Promise.all([
      ...Array.from({ length: RACERS }, () => recordHealthReport(report('acme', { criticalErrors: 2 }))),
      recordHealthReport(report('bluefin', { securityFindings: 1 })),
      recordHealthReport(report('cascade', { latencyChangePercent: 40, criticalErrors: 1 })),
      recordHealthReport(report('dunmore')),
    ]);

    expect(results.filter((result) => result.recorded && result.counted)).toHaveLength(3);
    const shards = (await stepHealthShards(`v1.${releaseNumber}.0`, ['standard_1'])).get('standard_1') ?? [];
    expect(combineHealth(shards.map((shard) => shard.health))).toMatchObject({
      criticalErrors: 3,
      customersWithCriticalErrors: { count: 2, ids: expect.arrayContaining(['acme', 'cascade']) },
      customersWithSecurityFindings: { count: 1, ids: ['bluefin'] },
      customersDegraded: { count: 1, ids: ['cascade'] },
      customersAffected: 3,
    });
  });
});
