import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { importFleet } from '../../lambdas/application/fleet.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { releaseLifecycle } from '../../lambdas/events/contract.js';
import { handler as planRelease } from '../../lambdas/handlers/plan-release.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import { dynamoMock, snapshotTable } from './support/fake-table.js';
import { RELEASE, storedCustomer, storedRelease, storedStep } from './support/given.js';
import { errorFrom, eventsPublished, resetWorld, restoreRealClock } from './support/world.js';

const START_AT = '2027-03-01T09:00:00Z';
const fleetSize = sampleFleet().customers.length;

const releaseItems = () => snapshotTable().filter((item) => String(item.PK).startsWith('RELEASE'));

beforeEach(async () => {
  resetWorld();
  await importFleet({ json: sampleFleet(), label: 'config/customers.json' }, 'test');
});
afterAll(restoreRealClock);

describe('plan-release', () => {
  it('records the release, every customer and every step, and announces the start', async () => {
    // Act
    const schedule = await planRelease({ version: RELEASE, startAt: START_AT });

    // Assess
    expect(schedule).toMatchObject({ release: RELEASE, startAt: START_AT });
    expect(storedRelease()).toMatchObject({ release: RELEASE, status: 'running', schedule });
    const plannedCustomers = Object.values(schedule.steps).reduce((sum, step) => sum + step.customers, 0);
    expect(plannedCustomers).toBeGreaterThan(0);
    for (const [key, step] of Object.entries(schedule.steps)) {
      expect(storedStep(key)).toMatchObject({ total: step.customers, recorded: 0 });
    }
    expect(storedCustomer('demo-sales-us')).toMatchObject({
      phase: 'demo',
      stepKey: 'demo_1',
      noticeAt: null,
      state: 'planned',
      history: [
        { state: 'planned', at: expect.any(String), by: 'plan-release', reason: 'planned with the release' },
      ],
    });
    expect(eventsPublished().map((event) => event.detailType)).toEqual(['Release Started']);
    expect(releaseLifecycle.parse(eventsPublished()[0]?.detail)).toEqual({
      schemaVersion: '1',
      release: RELEASE,
      at: START_AT,
    });
  });

  it('returns the stored schedule on a second run without rewriting customers or announcing again', async () => {
    // Prepare
    const first = await planRelease({ version: RELEASE, startAt: START_AT });
    const tableAfterFirstRun = snapshotTable();
    const writesAfterFirstRun = dynamoMock.commandCalls(PutCommand).length;

    // Act
    const second = await planRelease({ version: RELEASE, startAt: '2027-03-08T09:00:00Z' });

    // Assess
    expect(second).toEqual(first);
    expect(dynamoMock.commandCalls(PutCommand).length).toBe(writesAfterFirstRun);
    expect(snapshotTable()).toEqual(tableAfterFirstRun);
    expect(eventsPublished()).toHaveLength(1);
  });

  it('writes one customer record per planned customer, filed under its step', async () => {
    // Act
    const schedule = await planRelease({ version: RELEASE, startAt: START_AT });

    // Assess
    const table = releaseItems();
    const customers = table.filter((item) => String(item.SK).startsWith('CUSTOMER#'));
    expect(customers).toHaveLength(fleetSize);
    for (const [key, step] of Object.entries(schedule.steps)) {
      const inStep = customers.filter((item) => item.stepKey === key);
      expect(inStep, key).toHaveLength(step.customers);
      // Each customer is also filed as a member of its step, which starting the step reads.
      const members = table.filter((item) => String(item.SK).startsWith(`STEP#${key}#CUSTOMER#`));
      expect(members.map((item) => item.id).sort(), key).toEqual(inStep.map((item) => item.id).sort());
    }
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
