import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamo, resetClients } from '../../lambdas/shared/clients.js';
import { CUSTOMER_PARTITIONS, customerPartition } from '../../lambdas/store/customer-partitions.js';
import {
  customerNamesOf,
  customersIn,
  listCustomers,
  listCustomersAwaitingNotice,
} from '../../lambdas/store/customers.js';
import { fleetCustomers } from '../../lambdas/store/fleet.js';
import { listStepMembers } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { importSampleFleet, startReleaseTable, TABLE_NAME } from './support/release-table.js';
import { runningReleaseWithStandardStep } from './support/standard-step.js';

// A release's customers are spread over 16 partitions, on dynalite; every listing still reads them as one
// partition would list them, in id order, and the notice loop's cursor still visits each customer once.

const RELEASE = 'v2.0.0';
const NOTICE_AT = '2027-03-05T09:00:00Z';
const ids = Array.from({ length: 60 }, (_, index) => `customer-${String(index).padStart(2, '0')}`);
let database: LocalDynamoDb;

beforeAll(async () => {
  database = await startReleaseTable();
  await importSampleFleet();
  await runningReleaseWithStandardStep(
    RELEASE,
    ids.map((id) => ({ id, noticeAt: NOTICE_AT })),
  );
});

afterAll(async () => {
  resetClients();
  await database.stop();
});

describe("a release's customer partitions", () => {
  it('hold each customer in the partition its id hashes to, the 60 customers in most of the 16', async () => {
    const { Items = [] } = await dynamo().send(new ScanCommand({ TableName: TABLE_NAME }));
    const customers = Items.filter((item) => String(item.SK).startsWith('CUSTOMER#') && item.policy);
    const ofRelease = customers.filter((item) => String(item.PK).startsWith(`RELEASE#${RELEASE}`));

    expect(ofRelease).toHaveLength(60);
    for (const item of ofRelease) expect(item.PK).toBe(customerPartition(RELEASE, String(item.id)));
    expect(new Set(ofRelease.map((item) => item.PK)).size).toBeGreaterThan(CUSTOMER_PARTITIONS / 2);
  });

  it('are listed merged in id order: the customers, their names, those in a state, the step members', async () => {
    expect((await listCustomers(RELEASE)).map((customer) => customer.id)).toEqual(ids);
    expect((await customerNamesOf(RELEASE)).map((customer) => customer.id)).toEqual(ids);
    const planned: string[] = [];
    for await (const customer of customersIn(RELEASE, ['planned'])) planned.push(customer.id);
    expect(planned).toEqual(ids);
    expect((await listStepMembers(RELEASE, 'standard_1')).map((member) => member.id)).toEqual(ids);
  });

  it('give the notice loop every due customer once, 7 at a time, each run going on from the last id it got', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (let run = 0; run < 20; run += 1) {
      const due = await listCustomersAwaitingNotice(RELEASE, NOTICE_AT, 7, after);
      seen.push(...due.map((customer) => customer.id));
      if (due.length < 7) break;
      after = due.at(-1)?.id;
    }

    expect(seen).toHaveLength(60);
    expect([...seen].sort()).toEqual(ids);
  });
});

describe("the fleet's partitions", () => {
  it('are listed merged in id order', async () => {
    const listed: string[] = [];
    for await (const customer of fleetCustomers()) listed.push(customer.id);

    expect(listed).toHaveLength(44);
    expect(listed).toEqual([...listed].sort());
  });
});
