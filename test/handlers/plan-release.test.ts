import { BatchWriteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { importFleet } from '../../lambdas/application/fleet.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { releaseLifecycle } from '../../lambdas/events/contract.js';
import { handler as openRelease } from '../../lambdas/handlers/open-release.js';
import { handler as planRelease } from '../../lambdas/handlers/plan-release.js';
import { handler as writePlanChunk } from '../../lambdas/handlers/write-plan-chunk.js';
import { CUSTOMER_PARTITIONS, customerPartition } from '../../lambdas/store/customer-partitions.js';
import { customerKey } from '../../lambdas/store/customers.js';
import { claimPlanChunkWrite } from '../../lambdas/store/plan-chunks.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import { dynamoMock, putItem, snapshotTable } from './support/fake-table.js';
import { RELEASE, storedCustomer, storedRelease, storedStep } from './support/given.js';
import { errorFrom, eventsPublished, resetWorld, restoreRealClock } from './support/world.js';

const START_AT = '2027-03-01T09:00:00Z';
const fleetSize = sampleFleet().customers.length;

const releaseItems = () => snapshotTable().filter((item) => String(item.PK).startsWith('RELEASE'));
const customerItems = () => releaseItems().filter((item) => String(item.SK).startsWith('CUSTOMER#'));
const writes = () =>
  dynamoMock.commandCalls(PutCommand).length + dynamoMock.commandCalls(BatchWriteCommand).length;

/** The release execution's first three states: plan, write the chunks (a Map), open. */
async function planWriteAndOpen(startAt = START_AT) {
  const planned = await planRelease({ version: RELEASE, startAt });
  for (const chunk of planned.chunks) await writePlanChunk({ release: RELEASE, chunk });
  return { planned, schedule: await openRelease({ release: RELEASE }) };
}

beforeEach(async () => {
  resetWorld();
  await importFleet({ json: sampleFleet(), label: 'config/customers.json' }, 'test');
});
afterAll(restoreRealClock);

describe('plan-release', () => {
  it('records the release, its steps and the plan in chunks, and returns chunk numbers, never customers', async () => {
    // Act
    const planned = await planRelease({ version: RELEASE, startAt: START_AT });

    // Assess
    expect(planned).toEqual({ chunks: [0], customers: fleetSize });
    const release = storedRelease();
    expect(release).toMatchObject({ release: RELEASE, status: 'planning' });
    for (const [key, step] of Object.entries(release?.schedule.steps ?? {})) {
      expect(storedStep(key)).toMatchObject({ total: step.customers, recorded: 0 });
    }
    expect(customerItems()).toEqual([]);
    expect(eventsPublished()).toEqual([]);
  });

  it('returns the same chunks on a second run without planning again', async () => {
    // Prepare
    const first = await planRelease({ version: RELEASE, startAt: START_AT });
    const tableAfterFirstRun = snapshotTable();

    // Act
    const second = await planRelease({ version: RELEASE, startAt: '2027-03-08T09:00:00Z' });

    // Assess
    expect(second).toEqual(first);
    expect(snapshotTable()).toEqual(tableAfterFirstRun);
  });

  it('rejects a patch version as InvalidTaskInput and records nothing', async () => {
    // Act
    const error = await errorFrom(() => planRelease({ version: 'v1.1.1', startAt: START_AT }));

    // Assess
    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toBe('v1.1.1 is a patch release; minor releases end in .0');
    expect(releaseItems()).toEqual([]);
    expect(eventsPublished()).toEqual([]);
  });

  it('refuses to plan an empty fleet as InvalidTaskInput, naming the import, and records nothing', async () => {
    // Prepare
    resetWorld();

    // Act
    const error = await errorFrom(() => planRelease({ version: RELEASE, startAt: START_AT }));

    // Assess
    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toBe('the fleet is empty: import it first with `customers import FILE`');
    expect(releaseItems()).toEqual([]);
  });

  it('keeps the policies and the fleet revision it planned with on the release', async () => {
    // Act
    await planRelease({ version: RELEASE, startAt: START_AT });

    // Assess
    expect(storedRelease()).toMatchObject({ config: bundledConfig(), fleetRevision: 1 });
  });

  it('rejects a start time without a time zone as InvalidTaskInput', async () => {
    // Act
    const error = await errorFrom(() => planRelease({ version: RELEASE, startAt: '2027-03-01 09:00' }));

    // Assess
    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toContain('startAt');
  });
});

describe('write-plan-chunk', () => {
  it('writes one customer record per planned customer, filed under its step', async () => {
    // Act
    const { schedule } = await planWriteAndOpen();

    // Assess
    const customers = customerItems();
    expect(customers).toHaveLength(fleetSize);
    for (const [key, step] of Object.entries(schedule.steps)) {
      const inStep = customers.filter((item) => item.stepKey === key);
      expect(inStep, key).toHaveLength(step.customers);
      // Each customer is also filed as a member of its step, which starting the step reads.
      const members = releaseItems().filter((item) => String(item.SK).startsWith(`STEP#${key}#CUSTOMER#`));
      expect(members.map((item) => item.id).sort(), key).toEqual(inStep.map((item) => item.id).sort());
    }
    expect(storedCustomer('demo-sales-us')).toMatchObject({
      phase: 'demo',
      stepKey: 'demo_1',
      noticeAt: null,
      deployAt: '2027-03-01T09:02:00Z',
      state: 'planned',
      history: [
        { state: 'planned', at: expect.any(String), by: 'plan-release', reason: 'planned with the release' },
      ],
    });
  });

  it('spreads the customers over the release partitions, each with its step membership in its own', async () => {
    // Act
    await planWriteAndOpen();

    // Assess: every per-customer item sits in its customer's partition, none under the release's own key.
    const perCustomer = releaseItems().filter((item) => String(item.SK).includes('CUSTOMER#'));
    for (const item of perCustomer)
      expect(item.PK, String(item.SK)).toBe(customerPartition(RELEASE, String(item.id)));
    const used = new Set(perCustomer.map((item) => item.PK));
    expect(used.size).toBeGreaterThan(CUSTOMER_PARTITIONS / 2);
    expect(used.size).toBeLessThanOrEqual(CUSTOMER_PARTITIONS);
  });
  it('rewrites nothing when a chunk runs again', async () => {
    // Prepare
    const planned = await planRelease({ version: RELEASE, startAt: START_AT });
    await writePlanChunk({ release: RELEASE, chunk: 0 });
    const tableAfterFirstRun = snapshotTable();
    const writesAfterFirstRun = writes();

    // Act
    const again = await writePlanChunk({ release: RELEASE, chunk: 0 });

    // Assess
    expect(planned.chunks).toEqual([0]);
    expect(again).toEqual({ customers: fleetSize, written: 0 });
    expect(writes()).toBe(writesAfterFirstRun);
    expect(snapshotTable()).toEqual(tableAfterFirstRun);
  });

  it('writes only what is missing when a chunk cut short runs again', async () => {
    // Prepare: an earlier run began the chunk, wrote one customer (which has moved on since), then stopped.
    await planRelease({ version: RELEASE, startAt: START_AT });
    await claimPlanChunkWrite(RELEASE, 0, START_AT);
    putItem({
      ...customerKey(RELEASE, 'acme-corporation'),
      id: 'acme-corporation',
      state: 'deferred',
    });

    // Act
    const result = await writePlanChunk({ release: RELEASE, chunk: 0 });

    // Assess
    expect(result).toEqual({ customers: fleetSize, written: 2 * fleetSize - 1 });
    expect(storedCustomer('acme-corporation')?.state).toBe('deferred');
    expect(customerItems()).toHaveLength(fleetSize);
  });

  it('refuses a chunk the plan does not have', async () => {
    // Prepare
    await planRelease({ version: RELEASE, startAt: START_AT });

    // Act
    const error = await errorFrom(() => writePlanChunk({ release: RELEASE, chunk: 7 }));

    // Assess
    expect(error.message).toBe(`Release ${RELEASE} has no plan chunk 7`);
    expect(customerItems()).toEqual([]);
  });
});

describe('open-release', () => {
  it('runs the release, announces its start and returns its schedule', async () => {
    // Act
    const { schedule } = await planWriteAndOpen();

    // Assess
    expect(schedule).toMatchObject({ release: RELEASE, startAt: START_AT });
    expect(storedRelease()).toMatchObject({ release: RELEASE, status: 'running', schedule });
    expect(eventsPublished().map((event) => event.detailType)).toEqual(['Release Started']);
    expect(releaseLifecycle.parse(eventsPublished()[0]?.detail)).toEqual({
      schemaVersion: '1',
      release: RELEASE,
      at: START_AT,
    });
  });

  it('returns the stored schedule on a second run without writing or announcing again', async () => {
    // Prepare
    const { schedule } = await planWriteAndOpen();
    const tableAfterFirstRun = snapshotTable();
    const writesAfterFirstRun = writes();

    // Act
    const again = await planWriteAndOpen('2027-03-08T09:00:00Z');

    // Assess
    expect(again).toEqual({ planned: { chunks: [], customers: 0 }, schedule });
    expect(writes()).toBe(writesAfterFirstRun);
    expect(snapshotTable()).toEqual(tableAfterFirstRun);
    expect(eventsPublished()).toHaveLength(1);
  });
});
