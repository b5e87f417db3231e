import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordHealthReport } from '../../lambdas/application/health.js';
import { recordOutcome } from '../../lambdas/application/outcomes.js';
import { combineHealth } from '../../lambdas/core/gates.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { type HealthReported, SCHEMA_VERSION } from '../../lambdas/events/contract.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { applyTransition, putCustomerIfAbsent } from '../../lambdas/store/customers.js';
import { getStep, putStepIfAbsent, stepHealthShards } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startReleaseTable } from './support/release-table.js';

// A gate needs evidence that each deployed customer runs the version: a health report since its
// deployment. The step counts such customers once each, whichever of the two facts (deployed, reported)
// arrives last — and when they arrive at the same time, as EventBridge may deliver them, on dynalite.

const RELEASE = 'v1.1.0';
const CUSTOMERS = 10;
const REPORTS_EACH = 4;
const OUTCOMES_EACH = 4;
let database: LocalDynamoDb;
let stepNumber = 0;
let step: string;

beforeAll(async () => {
  database = await startReleaseTable();
});

afterAll(async () => {
  resetClients();
  await database.stop();
});

const customerIn = (key: string, n: number) => `${key}-customer-${n}`;

/** A step of CUSTOMERS customers whose deployments were requested on 1 January 2026. */
beforeEach(async () => {
  stepNumber += 1;
  step = `standard_${stepNumber}`;
  await putStepIfAbsent(RELEASE, step, {
    total: CUSTOMERS,
    oneAtATime: false,
    waitUntil: '2026-02-01T00:00:00Z',
  });
  for (let n = 0; n < CUSTOMERS; n += 1) {
    const id = customerIn(step, n);
    await putCustomerIfAbsent(
      RELEASE,
      {
        id,
        name: id,
        policy: 'standard',
        phase: 'standard',
        batch: stepNumber,
        noticeAt: null,
        deployAt: '2026-01-01T01:00:00Z',
        approvalRequired: false,
        deadlineAt: '2026-02-01T00:00:00Z',
        timeZone: 'Europe/Berlin',
        stepKey: step,
        window: { timeZone: 'Europe/Berlin', days: ['sat'], start: '02:00', durationMinutes: 240 },
        contacts: [{ name: 'Ops', email: 'ops@example.com' }],
        approvers: [],
      },
      '2025-12-01T00:00:00Z',
    );
    const cause = { at: '2026-01-01T01:00:00Z', by: 'test' };
    await applyTransition(RELEASE, id, TRANSITIONS.schedule, cause);
    await applyTransition(RELEASE, id, TRANSITIONS.requestDeployment, cause, {
      deploymentRequestedAt: '2026-01-01T01:00:00Z',
    });
  }
});

const reportOf = (customerId: string, hour: number): HealthReported => ({
  schemaVersion: SCHEMA_VERSION,
  customerId,
  version: RELEASE,
  reportedAt: `2026-01-01T${String(hour).padStart(2, '0')}:00:00Z`,
  errorRatePercent: 0,
  latencyChangePercent: 1,
  criticalErrors: 0,
  securityFindings: 0,
  supportTickets: 0,
});

const healthReport = (customerId: string, hour: number) => recordHealthReport(reportOf(customerId, hour));

describe('the evidence a gate needs: deployed customers that reported health since their deployment', () => {
  it('counts each customer once when its reports, its deployment and their redeliveries all race', async () => {
    const racers = Array.from({ length: CUSTOMERS }, (_, n) => customerIn(step, n)).flatMap((id) => [
      ...Array.from({ length: REPORTS_EACH }, (_, report) => () => healthReport(id, 2 + report)),
      ...Array.from(
        { length: OUTCOMES_EACH },
        () => () => recordOutcome(RELEASE, id, 'deployed', { by: 'racer' }),
      ),
    ]);

    await Promise.all(racers.map((race) => race()));

    expect(await getStep(RELEASE, step)).toMatchObject({
      deployed: CUSTOMERS,
      deployedWithHealthReport: CUSTOMERS,
    });
  });

  it('counts every unhealthy report once on its step’s health when reports and their redeliveries race', async () => {
    const ids = Array.from({ length: CUSTOMERS }, (_, n) => customerIn(step, n));
    for (const id of ids) await recordOutcome(RELEASE, id, 'deployed', { by: 'platform' });
    const unhealthy = (id: string, hour: number) =>
      recordHealthReport({ ...reportOf(id, hour), criticalErrors: 1, latencyChangePercent: hour });

    const results = await Promise.all(
      ids.flatMap((id) =>
        Array.from({ length: REPORTS_EACH }, (_, report) => [
          unhealthy(id, 2 + report),
          unhealthy(id, 2 + report),
        ]).flat(),
      ),
    );

    const shards = (await stepHealthShards(RELEASE, [step])).get(step) ?? [];
    expect(combineHealth(shards.map((shard) => shard.health))).toMatchObject({
      criticalErrors: CUSTOMERS * REPORTS_EACH,
      customersWithCriticalErrors: { count: CUSTOMERS },
      customersAffected: CUSTOMERS,
      worstLatencyChangePercent: 1 + REPORTS_EACH,
    });
    expect(results.filter((result) => result.recorded && result.counted)).toHaveLength(
      CUSTOMERS * REPORTS_EACH,
    );
    expect(await getStep(RELEASE, step)).toMatchObject({ deployedWithHealthReport: CUSTOMERS });
  });

  it('counts a report that arrived before the deployment succeeded, once it succeeds', async () => {
    const id = customerIn(step, 0);

    await healthReport(id, 2);
    const before = await getStep(RELEASE, step);
    await recordOutcome(RELEASE, id, 'deployed', { by: 'platform' });

    expect(before?.deployedWithHealthReport).toBe(0);
    expect(await getStep(RELEASE, step)).toMatchObject({ deployed: 1, deployedWithHealthReport: 1 });
  });

  it('counts a customer once however many reports it sends after its deployment', async () => {
    const id = customerIn(step, 0);
    await recordOutcome(RELEASE, id, 'deployed', { by: 'platform' });

    for (const hour of [2, 3, 4, 3]) await healthReport(id, hour);

    expect(await getStep(RELEASE, step)).toMatchObject({ deployed: 1, deployedWithHealthReport: 1 });
  });

  it('takes no report of a customer whose deployment failed as evidence', async () => {
    const id = customerIn(step, 0);

    await healthReport(id, 2);
    await recordOutcome(RELEASE, id, 'failed', { by: 'platform', reason: 'disk full' });

    expect(await getStep(RELEASE, step)).toMatchObject({ failed: 1, deployedWithHealthReport: 0 });
  });

  it('leaves a deployed customer that never reports uncounted', async () => {
    await recordOutcome(RELEASE, customerIn(step, 0), 'deployed', { by: 'platform' });
    await recordOutcome(RELEASE, customerIn(step, 1), 'deployed', { by: 'platform' });
    await healthReport(customerIn(step, 1), 2);

    expect(await getStep(RELEASE, step)).toMatchObject({ deployed: 2, deployedWithHealthReport: 1 });
  });
});
