import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evaluateGateOf, releaseQuality } from '../../lambdas/application/gates.js';
import { recordHealthReport } from '../../lambdas/application/health.js';
import { recordOutcome } from '../../lambdas/application/outcomes.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { type HealthReported, SCHEMA_VERSION } from '../../lambdas/events/contract.js';
import { dynamo, resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { applyTransition } from '../../lambdas/store/customers.js';
import { getRelease } from '../../lambdas/store/releases.js';
import { getStep, totalCounterShards } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startReleaseTable } from './support/release-table.js';
import { runningReleaseWithStandardStep } from './support/standard-step.js';

// Health reports are most of the store's requests (about ten a day per deployed customer during its rollback
// window), so what one costs is part of its contract: counted here, request by request, on dynalite.

const CUSTOMERS = 6;
let database: LocalDynamoDb;
let requests: string[] = [];
let releaseNumber = 0;
let release: string;

beforeAll(async () => {
  database = await startReleaseTable();
  dynamo().middlewareStack.add(
    (next, context) => async (args) => {
      requests.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  useClock({ now: () => '2027-03-14T06:00:00.000Z' });
});

afterAll(async () => {
  useRealClock();
  resetClients();
  await database.stop();
});

const customerIds = () => Array.from({ length: CUSTOMERS }, (_, n) => `customer-${n}`);

/** A running release whose standard_1 step's customers were all deployed on 13 March 2027. */
beforeEach(async () => {
  releaseNumber += 1;
  release = `v2.${releaseNumber}.0`;
  await runningReleaseWithStandardStep(
    release,
    customerIds().map((id) => ({ id })),
  );
  // The release awaits the step from its start: its counter shards know how many customers each counts.
  await totalCounterShards(release, 'standard_1');
  for (const id of customerIds()) {
    const cause = { at: '2027-03-13T01:00:00.000Z', by: 'test' };
    await applyTransition(release, id, TRANSITIONS.schedule, cause);
    await applyTransition(release, id, TRANSITIONS.requestDeployment, cause, {
      deploymentRequestedAt: '2027-03-13T01:00:00.000Z',
    });
    await recordOutcome(release, id, 'deployed', { by: 'platform' });
  }
});

const report = (
  customerId: string,
  hour: number,
  overrides: Partial<HealthReported> = {},
): HealthReported => ({
  schemaVersion: SCHEMA_VERSION,
  customerId,
  version: release,
  reportedAt: `2027-03-13T${String(hour).padStart(2, '0')}:00:00Z`,
  errorRatePercent: 0,
  latencyChangePercent: 1,
  criticalErrors: 0,
  securityFindings: 0,
  supportTickets: 0,
  ...overrides,
});

/** The store requests `act` makes. */
async function requestsOf(act: () => Promise<unknown>): Promise<string[]> {
  requests = [];
  await act();
  return requests;
}

describe('what a health report costs the store', () => {
  it('costs four requests for a deployed customer’s first report, the step read once its shard is complete', async () => {
    await recordHealthReport(report('customer-1', 2, { latencyChangePercent: 0 }));

    const first = await requestsOf(() =>
      recordHealthReport(report('customer-0', 2, { latencyChangePercent: 0 })),
    );

    // Noted on the customer, counted on its shard, the step read (its shard has every outcome: the step may
    // be complete now), the customer marked counted.
    expect(first).toEqual([
      'UpdateItemCommand',
      'UpdateItemCommand',
      'BatchGetItemCommand',
      'UpdateItemCommand',
    ]);
    expect(await stepHealthReporters()).toBe(2);
  });

  it('costs one request for a routine report, and at most two for a redelivered or late one', async () => {
    for (const id of customerIds()) await recordHealthReport(report(id, 2, { latencyChangePercent: 5 }));

    const routine = await requestsOf(() => recordHealthReport(report('customer-0', 3)));
    const redelivered = await requestsOf(() => recordHealthReport(report('customer-0', 3)));
    const late = await requestsOf(() =>
      recordHealthReport(report('customer-0', 2, { latencyChangePercent: 4 })),
    );

    expect(routine).toEqual(['UpdateItemCommand']);
    expect(redelivered.length).toBeLessThanOrEqual(2);
    expect(late.length).toBeLessThanOrEqual(2);
    expect(await stepHealthReporters()).toBe(CUSTOMERS);
  });

  it('costs at most two requests for a report that only raises the step’s worst latency', async () => {
    for (const id of customerIds()) await recordHealthReport(report(id, 2));

    const worse = await requestsOf(() =>
      recordHealthReport(report('customer-1', 3, { latencyChangePercent: 4 })),
    );

    expect(worse.length).toBeLessThanOrEqual(2);
    expect(await evaluateGateOf(release, 'standard', 'standard_1')).toMatchObject({ passed: true });
    const record = await getRelease(release);
    expect(record && (await releaseQuality(record)).performanceImpactPercent).toBe(4);
  });
});

/** Deployed customers of standard_1 whose health evidence its step counted. */
async function stepHealthReporters(): Promise<number | undefined> {
  return (await getStep(release, 'standard_1'))?.deployedWithHealthReport;
}
