import { DateTime } from 'luxon';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { moveOneAtATime } from '../../lambdas/application/one-at-a-time.js';
import { recordOutcome } from '../../lambdas/application/outcomes.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { ONE_AT_A_TIME_GAP_HOURS } from '../../lambdas/core/timeouts.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { applyTransition, getCustomer, putCustomerIfAbsent } from '../../lambdas/store/customers.js';
import { getStep, putStepIfAbsent, putStepMember } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startReleaseTable } from './support/release-table.js';

// Races run for real: many recordings of one customer's outcome sent at once to dynalite, the way Step
// Functions retries, EventBridge redeliveries and a rival task can overlap on AWS.

const RELEASE = 'v1.1.0';
const RACERS = 20;
let database: LocalDynamoDb;
let customerNumber = 0;

beforeAll(async () => {
  database = await startReleaseTable();
});

afterAll(async () => {
  resetClients();
  await database.stop();
});

let customerId: string;
let step: string;

/** A customer whose deployment was requested, alone in a step of two. */
beforeEach(async () => {
  customerNumber += 1;
  customerId = `northwind-${customerNumber}`;
  step = `standard_${customerNumber}`;
  await putCustomerIfAbsent(
    RELEASE,
    {
      id: customerId,
      name: 'Northwind',
      policy: 'standard',
      phase: 'standard',
      batch: 1,
      noticeAt: null,
      deployAt: '2027-03-13T01:00:00Z',
      approvalRequired: false,
      deadlineAt: '2027-04-01T09:00:00Z',
      timeZone: 'Europe/Berlin',
      stepKey: step,
      window: { timeZone: 'Europe/Berlin', days: ['sat'], start: '02:00', durationMinutes: 240 },
      contacts: [{ name: 'Ops', email: 'ops@northwind.example.com' }],
      approvers: [],
    },
    '2027-03-01T09:00:00Z',
  );
  const cause = { at: '2027-03-12T09:00:00Z', by: 'test' };
  await applyTransition(RELEASE, customerId, TRANSITIONS.schedule, cause);
  await applyTransition(RELEASE, customerId, TRANSITIONS.requestDeployment, cause);
  await putStepIfAbsent(RELEASE, step, { total: 2, oneAtATime: false, waitUntil: '2027-04-01T09:00:00Z' });
});

describe('recording one customer’s outcome many times at once', () => {
  it('counts it once on the step and writes one history entry', async () => {
    const results = await Promise.all(
      Array.from({ length: RACERS }, () => recordOutcome(RELEASE, customerId, 'deployed', { by: 'racer' })),
    );

    expect(await getStep(RELEASE, step)).toMatchObject({ total: 2, recorded: 1, deployed: 1, failed: 0 });
    expect(results.filter((result) => result.counted)).toHaveLength(1);
    const history = (await getCustomer(RELEASE, customerId))?.history ?? [];
    expect(history.filter((entry) => entry.state === 'deployed')).toHaveLength(1);
  });

  it('lets exactly one of two rival outcomes win, and counts only the winner', async () => {
    const rivals = Array.from({ length: RACERS }, (_, index) =>
      recordOutcome(RELEASE, customerId, index % 2 === 0 ? 'deployed' : 'failed', { by: `racer ${index}` }),
    );
    await Promise.all(rivals);

    const customer = await getCustomer(RELEASE, customerId);
    const counters = await getStep(RELEASE, step);
    expect(['deployed', 'failed']).toContain(customer?.state);
    expect(counters).toMatchObject({ recorded: 1, [customer?.state as string]: 1 });
    expect((counters?.deployed ?? 0) + (counters?.failed ?? 0)).toBe(1);
    const outcomes = customer?.history.filter(
      (entry) => entry.state === 'deployed' || entry.state === 'failed',
    );
    expect(outcomes).toHaveLength(1);
  });

  it('refuses a transition from a state the customer is not in, changing nothing', async () => {
    await recordOutcome(RELEASE, customerId, 'deployed', { by: 'platform' });

    const again = await applyTransition(RELEASE, customerId, TRANSITIONS.requestDeployment, {
      at: '2027-03-14T09:00:00Z',
      by: 'a late retry',
    });

    expect(again.applied).toBe(false);
    expect(again.customer?.state).toBe('deployed');
    expect(again.customer?.history.map((entry) => entry.state)).toEqual([
      'planned',
      'scheduled',
      'deployment-requested',
      'deployed',
    ]);
  });
});

describe('enterprise customers whose dates moved, looking for new slots at once', () => {
  it('each take their own night, at least the gap apart, none twice', async () => {
    const key = 'enterprise_race';
    const ids = Array.from({ length: 8 }, (_, index) => `enterprise-${index}`);
    const nightly = {
      timeZone: 'UTC',
      days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const,
      start: '01:00',
      durationMinutes: 240,
    };
    for (const id of ids) {
      const planned = {
        id,
        name: id,
        policy: 'enterprise' as const,
        phase: 'enterprise' as const,
        batch: 1,
        noticeAt: null,
        deployAt: '2027-04-02T01:00:00Z',
        approvalRequired: true,
        deadlineAt: '2027-05-01T09:00:00Z',
        timeZone: 'UTC',
      };
      await putCustomerIfAbsent(
        RELEASE,
        {
          ...planned,
          stepKey: key,
          window: { ...nightly, days: [...nightly.days] },
          contacts: [],
          approvers: [],
        },
        '2027-03-01T09:00:00Z',
      );
      await putStepMember(RELEASE, key, planned);
    }
    await putStepIfAbsent(RELEASE, key, {
      total: ids.length,
      oneAtATime: true,
      waitUntil: '2027-05-02T15:00:00Z',
    });
    const earliest = DateTime.fromISO('2027-04-10T12:00:00Z');

    const slots = await Promise.all(
      ids.flatMap((id) =>
        [1, 2].map(async () => {
          const customer = await getCustomer(RELEASE, id);
          return { id, at: customer ? await moveOneAtATime(RELEASE, customer, earliest) : null };
        }),
      ),
    );

    const byCustomer = new Map(slots.map((slot) => [slot.id, slot.at]));
    for (const slot of slots) expect(slot.at).toBe(byCustomer.get(slot.id));
    const starts = [...byCustomer.values()].map((at) => Date.parse(at ?? '')).sort((a, b) => a - b);
    expect(starts).toHaveLength(ids.length);
    for (let index = 1; index < starts.length; index++)
      expect((starts[index] ?? 0) - (starts[index - 1] ?? 0)).toBeGreaterThanOrEqual(
        ONE_AT_A_TIME_GAP_HOURS * 3_600_000,
      );
    expect((await getStep(RELEASE, key))?.reserved).toHaveLength(ids.length);
  });
});
