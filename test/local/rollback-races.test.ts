import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  beginRollback,
  recordRollbackOutcome,
  scheduleRollback,
} from '../../lambdas/application/rollback-workflow.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { isInsideWindow } from '../../lambdas/core/maintenance-window.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { applyTransition, getCustomer, putCustomerIfAbsent } from '../../lambdas/store/customers.js';
import { getStep, putStepIfAbsent } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startReleaseTable } from './support/release-table.js';

// Duplicate triggers, retried tasks and a rival answer racing on one customer's rollback, for real on
// dynalite: each step of the rollback happens once.

const RELEASE = 'v1.1.0';
const RACERS = 20;
const WINDOW = { timeZone: 'Europe/Berlin', days: ['sat' as const], start: '02:00', durationMinutes: 240 };
let database: LocalDynamoDb;
let customerNumber = 0;
let customerId: string;
let step: string;

beforeAll(async () => {
  database = await startReleaseTable();
});

afterAll(async () => {
  resetClients();
  await database.stop();
});

/** An enterprise customer deployed with this release, alone in its step. */
beforeEach(async () => {
  customerNumber += 1;
  customerId = `northwind-${customerNumber}`;
  step = `enterprise_${customerNumber}`;
  await putCustomerIfAbsent(
    RELEASE,
    {
      id: customerId,
      name: 'Northwind',
      policy: 'enterprise',
      phase: 'enterprise',
      batch: 1,
      noticeAt: null,
      deployAt: '2027-03-13T01:00:00Z',
      approvalRequired: false,
      deadlineAt: '2027-04-01T09:00:00Z',
      timeZone: 'Europe/Berlin',
      stepKey: step,
      window: WINDOW,
      contacts: [{ name: 'Ops', email: 'ops@northwind.example.com' }],
      approvers: [],
    },
    '2027-03-01T09:00:00Z',
  );
  const cause = { at: '2027-03-12T09:00:00Z', by: 'test' };
  await applyTransition(RELEASE, customerId, TRANSITIONS.schedule, cause);
  await applyTransition(RELEASE, customerId, TRANSITIONS.requestDeployment, cause);
  await applyTransition(RELEASE, customerId, TRANSITIONS.recordDeployed, cause);
  await putStepIfAbsent(RELEASE, step, { total: 1, oneAtATime: true, waitUntil: '2027-04-01T09:00:00Z' });
});

const start = () => ({
  release: RELEASE,
  customerId,
  trigger: 'security-finding' as const,
  reason: 'a CVE in v1.1.0',
});
const rollbackLines = async () =>
  ((await getCustomer(RELEASE, customerId))?.history ?? []).filter((entry) => entry.state !== 'planned');

describe('one customer’s rollback begun many times at once', () => {
  it('moves it to rolling-back once, and every run reads the same process', async () => {
    const plans = await Promise.all(Array.from({ length: RACERS }, () => beginRollback(start())));

    expect(new Set(plans.map((plan) => plan.process))).toEqual(new Set(['immediate-with-approval']));
    const lines = (await rollbackLines()).filter((entry) => entry.state === 'rolling-back');
    expect(lines).toEqual([
      {
        state: 'rolling-back',
        at: expect.any(String),
        by: 'rollback workflow',
        reason: 'security-finding: a CVE in v1.1.0',
      },
    ]);
  });
});

describe('its maintenance window found many times at once', () => {
  it('schedules it once, in its window, and every run answers the same instant', async () => {
    await beginRollback(start());
    const slots = await Promise.all(
      Array.from({ length: RACERS }, () => scheduleRollback(RELEASE, customerId)),
    );

    expect(new Set(slots.map((slot) => slot.rollbackAt)).size).toBe(1);
    expect(isInsideWindow(WINDOW, String(slots[0]?.rollbackAt))).toBe(true);
    const scheduled = (await rollbackLines()).filter((entry) =>
      entry.reason?.startsWith('rollback scheduled'),
    );
    expect(scheduled).toHaveLength(1);
  });
});

describe('its end recorded many times at once, rolled back and failed as rivals', () => {
  it('lets one of them win and counts only the winner, once', async () => {
    await beginRollback(start());
    const results = await Promise.all(
      Array.from({ length: RACERS }, (_, index) =>
        recordRollbackOutcome(
          RELEASE,
          customerId,
          index % 2 === 0 ? 'rolled-back' : 'rollback-failed',
          `racer ${index}`,
        ),
      ),
    );

    const counted = results.filter((result) => result.counted);
    expect(counted).toHaveLength(1);
    const winner = counted[0]?.state;
    expect(new Set(results.map((result) => result.state))).toEqual(new Set([winner]));
    const counters = await getStep(RELEASE, step);
    expect((counters?.rolledBack ?? 0) + (counters?.rollbackFailed ?? 0)).toBe(1);
    expect((await rollbackLines()).filter((entry) => entry.state === winner)).toHaveLength(1);
  });
});

describe('a customer that is not deployed', () => {
  it('has nothing to roll back: the workflow ends without changing it', async () => {
    await beginRollback(start());
    await recordRollbackOutcome(RELEASE, customerId, 'rolled-back', 'the platform rolled it back');

    await expect(beginRollback(start())).rejects.toMatchObject({ name: 'Rollback.NotDeployed' });
    expect((await getCustomer(RELEASE, customerId))?.state).toBe('rolled-back');
  });
});
