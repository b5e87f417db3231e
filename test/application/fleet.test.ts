import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importFleet, recordCustomerVersion } from '../../lambdas/application/fleet.js';
import { recordOutcome } from '../../lambdas/application/outcomes.js';
import { planAndRecordRelease } from '../../lambdas/application/plan.js';
import { recordRollbackOutcome } from '../../lambdas/application/rollback-workflow.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import type { Customer } from '../../lambdas/core/model.js';
import { dynamo, resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { CUSTOMER_PARTITIONS } from '../../lambdas/store/customer-partitions.js';
import { applyTransition, getCustomer } from '../../lambdas/store/customers.js';
import {
  fleetCustomerKey,
  fleetCustomers,
  getFleetCustomer,
  getFleetRevision,
} from '../../lambdas/store/fleet.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import { startReleaseTable } from '../local/support/release-table.js';

// The fleet as data, on dynalite: imports are all or nothing and count as one revision when they change
// something; deployments and rollbacks keep each customer's currentVersion true, whatever order and however
// often their events arrive.

const RACERS = 20;
const FILE = 'fleet.json';
const eventBus = mockClient(EventBridgeClient);
let database: LocalDynamoDb;
let time = '2027-03-01T09:00:00.000Z';

beforeAll(async () => {
  eventBus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  useClock({ now: () => time });
});

beforeEach(async () => {
  await database?.stop();
  database = await startReleaseTable({ EVENT_BUS_NAME: 'securewatch-releases' });
  time = '2027-03-01T09:00:00.000Z';
});

afterAll(async () => {
  useRealClock();
  resetClients();
  eventBus.restore();
  await database.stop();
});

const sample = () => sampleFleet().customers;
const fleetOf = (customers: unknown[]) => ({ json: { customers }, label: FILE });
const versionOf = async (id: string) => (await getFleetCustomer(id))?.currentVersion;

async function storedFleet(): Promise<Customer[]> {
  const customers: Customer[] = [];
  for await (const record of fleetCustomers()) customers.push(record);
  return customers;
}

async function importRefusal(customers: unknown[]): Promise<ConfigError> {
  const error = await importFleet(fleetOf(customers), 'alice').catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('importing a fleet', () => {
  it('adds every customer of a new fleet and counts the import as revision 1', async () => {
    // Act
    const result = await importFleet(fleetOf(sample()), 'alice');

    // Assess
    expect(result).toMatchObject({ revision: 1, customers: 44, changed: [], unchanged: 0 });
    expect(result.added).toHaveLength(44);
    expect(await getFleetRevision()).toEqual({ revision: 1, updatedAt: time, customers: 44 });
    expect(await getFleetCustomer('acme-corporation')).toMatchObject({
      name: 'ACME Corporation',
      policy: 'standard',
      currentVersion: 'v1.0.0',
      updatedBy: 'alice',
    });
  });

  it('spreads the customers over the fleet partitions, so an import of 100,000 is not one partition', async () => {
    // Act
    await importFleet(fleetOf(sample()), 'alice');

    // Assess: each customer in the partition its id hashes to, the 44 of the sample fleet in most of them.
    const { Items = [] } = await dynamo().send(new ScanCommand({ TableName: process.env.TABLE_NAME }));
    const customers = Items.filter(
      (item) => String(item.SK).startsWith('CUSTOMER#') && String(item.PK).startsWith('FLEET'),
    );
    expect(customers).toHaveLength(44);
    for (const item of customers) expect(item.PK).toBe(fleetCustomerKey(String(item.id)).PK);
    expect(new Set(customers.map((item) => item.PK)).size).toBeGreaterThan(CUSTOMER_PARTITIONS / 2);
  });

  it('lists every problem of every entry with its file, JSON path and fix, and changes nothing', async () => {
    // Prepare
    await importFleet(fleetOf(sample()), 'alice');
    const before = await storedFleet();
    const [first, second, ...rest] = sample() as Customer[];
    const broken = [
      { ...first, maintenanceWindow: { ...first?.maintenanceWindow, timeZone: 'Mars/Olympus' } },
      { ...second, name: 'Renamed, validly' },
      ...rest,
      { id: 'Not Kebab', name: 'Newco', currentVersion: 'v1', contacts: [], approvers: [] },
    ];

    // Act
    const error = await importRefusal(broken);

    // Assess
    const last = `customers[${broken.length - 1}]`;
    expect(error.issues.map(({ file, path, fix }) => ({ file, path, fix }))).toEqual([
      {
        file: FILE,
        path: 'customers[0].maintenanceWindow.timeZone',
        fix: 'use an IANA time zone name such as Europe/Berlin or America/New_York',
      },
      {
        file: FILE,
        path: `${last}.id`,
        fix: 'use lower-case letters, digits and dashes, e.g. acme-corporation',
      },
      { file: FILE, path: `${last}.policy`, fix: 'use one of demo, startup, standard, enterprise' },
      {
        file: FILE,
        path: `${last}.currentVersion`,
        fix: 'write the version the customer runs as a tag like v1.0.0',
      },
      { file: FILE, path: `${last}.contacts`, fix: 'add at least one contact with a name and an email' },
      { file: FILE, path: `${last}.maintenanceWindow`, fix: 'add "maintenanceWindow"' },
    ]);
    expect(error.issues[0]?.problem).toBe('unknown time zone "Mars/Olympus"');
    expect(await storedFleet()).toEqual(before);
    expect((await getFleetRevision()).revision).toBe(1);
  });

  it('refuses a duplicate id and a missing approver with their paths, importing nothing into an empty fleet', async () => {
    // Prepare
    const [demo, , , , startup] = sample() as Customer[];
    const enterprise = sample().find((customer) => customer.policy === 'enterprise') as Customer;

    // Act
    const error = await importRefusal([demo, { ...enterprise, approvers: [] }, startup, { ...demo }]);

    // Assess
    expect(error.issues.map(({ path, fix }) => ({ path, fix }))).toEqual([
      { path: 'customers[1].approvers', fix: 'add at least one approver with a name and an email' },
      { path: 'customers[3].id', fix: 'give every customer a unique id' },
    ]);
    expect(await storedFleet()).toEqual([]);
    expect(await getFleetRevision()).toEqual({ revision: 0, updatedAt: null, customers: 0 });
  });

  it('rewrites nothing and keeps the revision when the file is already what the fleet holds', async () => {
    // Prepare
    await importFleet(fleetOf(sample()), 'alice');
    const before = await storedFleet();
    time = '2027-03-02T09:00:00.000Z';

    // Act
    const again = await importFleet(fleetOf(sample()), 'bob');

    // Assess
    expect(again).toMatchObject({ revision: 1, added: [], changed: [], unchanged: 44 });
    expect(await storedFleet()).toEqual(before);
    expect(await getFleetRevision()).toMatchObject({ revision: 1, updatedAt: '2027-03-01T09:00:00.000Z' });
  });

  it('adds new customers, rewrites the changed ones, names the changed fields, and counts one revision', async () => {
    // Prepare
    await importFleet(fleetOf(sample()), 'alice');
    const edited = sample().map((customer) =>
      customer.id === 'acme-corporation'
        ? { ...customer, maintenanceWindow: { ...customer.maintenanceWindow, start: '03:00' } }
        : customer,
    );
    const newcomer = { ...(sample()[0] as Customer), id: 'newco', name: 'Newco' };
    time = '2027-03-02T09:00:00.000Z';

    // Act
    const result = await importFleet(fleetOf([...edited, newcomer]), 'bob');

    // Assess
    expect(result).toMatchObject({
      revision: 2,
      customers: 45,
      added: ['newco'],
      changed: [{ id: 'acme-corporation', fields: ['maintenanceWindow'] }],
      unchanged: 43,
    });
    expect(await getFleetCustomer('acme-corporation')).toMatchObject({
      maintenanceWindow: { start: '03:00' },
      updatedBy: 'bob',
      updatedAt: time,
    });
    expect((await getFleetCustomer('techstart-inc'))?.updatedBy).toBe('alice');
  });

  it('never downgrades a customer a release deployed: the newer version is kept and reported', async () => {
    // Prepare
    await importFleet(fleetOf(sample()), 'alice');
    await recordCustomerVersion('acme-corporation', 'v1.1.0', 'deployed');

    // Act
    const result = await importFleet(fleetOf(sample()), 'bob');

    // Assess
    expect(result).toMatchObject({
      revision: 1,
      unchanged: 44,
      versionsKept: [{ id: 'acme-corporation', currentVersion: 'v1.1.0', inFile: 'v1.0.0' }],
    });
    expect(await versionOf('acme-corporation')).toBe('v1.1.0');
  });
});

/** The customer's rollout of `release` up to its deployment request. */
async function deploymentRequested(release: string, customerId: string): Promise<void> {
  const cause = { at: time, by: 'test' };
  await applyTransition(release, customerId, TRANSITIONS.schedule, cause);
  await applyTransition(release, customerId, TRANSITIONS.requestDeployment, cause);
}

describe("a customer's currentVersion", () => {
  const CUSTOMER = 'demo-sales-us';

  beforeEach(async () => {
    await importFleet(fleetOf(sample()), 'alice');
  });

  it('becomes the release version when the customer is deployed, and the version before on its rollback', async () => {
    // Prepare
    await planAndRecordRelease('v1.1.0', '2027-03-01T09:00:00Z');
    await deploymentRequested('v1.1.0', CUSTOMER);

    // Act
    await recordOutcome('v1.1.0', CUSTOMER, 'deployed', { by: 'test' });
    const deployed = await versionOf(CUSTOMER);
    await applyTransition('v1.1.0', CUSTOMER, TRANSITIONS.requestRollback, { at: time, by: 'test' });
    await recordRollbackOutcome('v1.1.0', CUSTOMER, 'rolled-back', 'critical errors');

    // Assess
    expect(deployed).toBe('v1.1.0');
    expect(await versionOf(CUSTOMER)).toBe('v1.0.0');
    expect((await getCustomer('v1.1.0', CUSTOMER))?.state).toBe('rolled-back');
    expect(await getFleetCustomer(CUSTOMER)).toMatchObject({ rolledBackBy: ['v1.1.0'], deployedFrom: {} });
    // A customer's version is not an edit of the fleet: the revision releases compare with stays.
    expect((await getFleetRevision()).revision).toBe(1);
  });

  it('ends on the newer release when two releases report their deployments at once', async () => {
    // Act
    await Promise.all(
      Array.from({ length: RACERS }, (_, index) =>
        recordCustomerVersion(CUSTOMER, index % 2 === 0 ? 'v1.1.0' : 'v1.2.0', 'deployed'),
      ),
    );

    // Assess
    expect(await versionOf(CUSTOMER)).toBe('v1.2.0');
  });

  it('is not downgraded by late reports of an older release, its deployment or its rollback', async () => {
    // Prepare
    await recordCustomerVersion(CUSTOMER, 'v1.1.0', 'deployed');
    await recordCustomerVersion(CUSTOMER, 'v1.2.0', 'deployed');

    // Act
    const results = await Promise.all(
      Array.from({ length: RACERS }, (_, index) =>
        recordCustomerVersion(CUSTOMER, 'v1.1.0', index % 2 === 0 ? 'deployed' : 'rolled-back'),
      ),
    );

    // Assess
    expect(new Set(results.map((result) => result.change))).toEqual(new Set(['unchanged']));
    expect(await versionOf(CUSTOMER)).toBe('v1.2.0');
  });

  it('goes back once when a rollback and a repeated deployment report of the same release race', async () => {
    // Prepare
    await recordCustomerVersion(CUSTOMER, 'v1.1.0', 'deployed');

    // Act
    const results = await Promise.all(
      Array.from({ length: RACERS }, (_, index) =>
        recordCustomerVersion(CUSTOMER, 'v1.1.0', index % 2 === 0 ? 'rolled-back' : 'deployed'),
      ),
    );

    // Assess
    expect(results.filter((result) => result.change === 'changed')).toHaveLength(1);
    expect(await versionOf(CUSTOMER)).toBe('v1.0.0');
  });

  it('is left alone, with nothing written, for a customer the fleet does not hold', async () => {
    // Act
    const result = await recordCustomerVersion('gone-customer', 'v1.1.0', 'deployed');

    // Assess
    expect(result).toEqual({ change: 'not-in-fleet' });
    expect(await getFleetCustomer('gone-customer')).toBeUndefined();
  });
});
