import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { importFleet } from '../../lambdas/application/fleet.js';
import { planAndRecordRelease } from '../../lambdas/application/plan.js';
import { configOf } from '../../lambdas/application/release-config.js';
import { requestRollback } from '../../lambdas/application/rollbacks.js';
import * as configModule from '../../lambdas/core/config.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import type { Config } from '../../lambdas/core/model.js';
import type { RollbackInput } from '../../lambdas/core/rollback.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { applyTransition, getCustomer } from '../../lambdas/store/customers.js';
import { getFleetRevision } from '../../lambdas/store/fleet.js';
import { getRelease } from '../../lambdas/store/releases.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import { startReleaseTable } from '../local/support/release-table.js';

// A running release keeps the policies and the fleet it was planned with: a later deploy of other policies
// or an edit of the fleet changes the releases planned after it, never one already running.

const deployed = vi.hoisted(() => ({ config: undefined as Config | undefined }));
vi.mock('../../lambdas/core/config.js', async (importOriginal) => {
  const original = await importOriginal<typeof configModule>();
  return { ...original, bundledConfig: () => deployed.config ?? original.bundledConfig() };
});

const CUSTOMER = 'demo-sales-us';
const eventBus = mockClient(EventBridgeClient);
let database: LocalDynamoDb;
const time = '2027-03-01T09:00:00.000Z';

beforeAll(async () => {
  eventBus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  useClock({ now: () => time });
  database = await startReleaseTable({ EVENT_BUS_NAME: 'securewatch-releases' });
});

afterAll(async () => {
  useRealClock();
  resetClients();
  eventBus.restore();
  await database.stop();
});

/** The policies as deployed later: security findings no longer trigger a rollback. */
function laterPolicies(): Config {
  const config = configModule.bundledConfig();
  return {
    ...config,
    release: {
      ...config.release,
      rollbackTriggers: { ...config.release.rollbackTriggers, securityFinding: false },
    },
  };
}

/** The sample fleet with the customer's maintenance window moved. */
function editedFleet() {
  return sampleFleet().customers.map((customer) =>
    customer.id === CUSTOMER
      ? { ...customer, maintenanceWindow: { ...customer.maintenanceWindow, start: '05:30' } }
      : customer,
  );
}

async function deployedCustomer(release: string): Promise<void> {
  const cause = { at: time, by: 'test' };
  await applyTransition(release, CUSTOMER, TRANSITIONS.schedule, cause);
  await applyTransition(release, CUSTOMER, TRANSITIONS.requestDeployment, cause);
  await applyTransition(release, CUSTOMER, TRANSITIONS.recordDeployed, cause, { deployedAt: time });
}

describe('a release planned before the policies and the fleet changed', () => {
  it('runs on the policies and customer profiles it was planned with', async () => {
    // Prepare
    await importFleet({ json: sampleFleet(), label: 'config/customers.json' }, 'alice');
    await planAndRecordRelease('v1.1.0', '2027-03-01T09:00:00Z');
    const plannedWindow = (await getCustomer('v1.1.0', CUSTOMER))?.window;
    await deployedCustomer('v1.1.0');
    deployed.config = laterPolicies();
    await importFleet({ json: { customers: editedFleet() }, label: 'edited.json' }, 'bob');
    // A fresh process (a cold Lambda) reads the snapshot from the store, not from memory.
    resetClients();
    const started: RollbackInput[] = [];

    // Act
    const rollback = await requestRollback(
      {
        release: 'v1.1.0',
        customerId: CUSTOMER,
        trigger: 'security-finding',
        reason: 'CVE found in v1.1.0',
        by: 'health report',
      },
      async (input) => {
        started.push(input);
      },
    );

    // Assess
    expect(rollback).toEqual({ kind: 'started' });
    expect(started).toHaveLength(1);
    expect((await configOf('v1.1.0')).release.rollbackTriggers.securityFinding).toBe(true);
    expect((await getCustomer('v1.1.0', CUSTOMER))?.window).toEqual(plannedWindow);
    expect((await getRelease('v1.1.0'))?.fleetRevision).toBe(1);
    expect((await getFleetRevision()).revision).toBe(2);
  });

  it('while a release planned after the change snapshots the new policies and the new fleet', async () => {
    // Act
    await planAndRecordRelease('v1.2.0', '2027-03-08T09:00:00Z');

    // Assess
    expect((await configOf('v1.2.0')).release.rollbackTriggers.securityFinding).toBe(false);
    expect((await getCustomer('v1.2.0', CUSTOMER))?.window.start).toBe('05:30');
    expect((await getRelease('v1.2.0'))?.fleetRevision).toBe(2);
  });
});
