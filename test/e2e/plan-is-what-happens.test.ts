import { beforeAll, describe, expect, it } from 'vitest';
import { bundledConfig, loadFleet } from '../../lambdas/core/config.js';
import type { ReleasePlan } from '../../lambdas/core/model.js';
import { planRelease } from '../../lambdas/core/plan.js';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import { type RehearsalOutcome, rehearse } from '../../local/rehearsal.js';

// 50 customers (4 demo, 10 startup, 26 standard, 10 enterprise), each with one 60-minute window a week on
// varied days in 8 time zones: batches wait days for their customers' windows, so every late window moves
// everything after it.
const FLEET_FILE = 'test/e2e/fixtures/weekly-windows-fleet.json';
const START = '2027-03-01T09:00:00Z';

// Every customer of Startup batch 2 is unschedulable (held): with nothing deployed, its gate has no evidence
// that the version works and pauses the release; the release manager resumes it the next day, before the
// next step opens, so no later date moves.

describe('a rehearsal on a fleet with short weekly windows', () => {
  let plan: ReleasePlan;
  let outcome: RehearsalOutcome;
  const pauses: string[] = [];
  const reasons: string[] = [];
  beforeAll(async () => {
    const config = bundledConfig();
    plan = planRelease({
      version: 'v1.1.0',
      config,
      fleet: loadFleet(FLEET_FILE, config.policies),
      startAt: START,
    });
    const batch2 = plan.phases.find((phase) => phase.name === 'startup')?.batches[1];
    const resumeDay = (Date.parse(String(batch2?.deployAt)) - Date.parse(START)) / 86_400_000 + 1;
    outcome = await rehearse({
      version: 'v1.1.0',
      startAt: START,
      fleetFile: FLEET_FILE,
      msPerDay: 0,
      autoApprove: true,
      scenario: scenarioSchema.parse({
        operations: [
          {
            atDay: resumeDay,
            resume: { reason: 'the plan held them: no window before their deadline', by: 'release manager' },
          },
        ],
      }),
      onReady: (local) =>
        local.stepFunctions.onStateEntered(({ execution, stateName, input }) => {
          if (
            execution.name === 'v1-1-0' &&
            stateName.endsWith('awaiting decision') &&
            !pauses.includes(stateName)
          ) {
            pauses.push(stateName);
            reasons.push(String((input as { gate?: { reason?: string } }).gate?.reason));
          }
        }),
    });
  }, 300_000);

  it('pauses at the gate of a batch whose customers were all held, then completes the release once resumed', () => {
    expect(pauses).toEqual(['Startup · batch 2 of 2 · gate failed, awaiting decision']);
    expect(outcome.status).toBe('SUCCEEDED');
  });

  it('says why it paused: none of the batch was deployed, so nothing shows the version works', () => {
    expect(reasons).toEqual([
      'no deployment result: none of its 5 customer(s) was deployed, so nothing shows the version works',
    ]);
  });

  it('requests every deployment at exactly the time the plan previewed', () => {
    const planned = new Map(plan.customers.map((customer) => [customer.id, customer.deployAt]));
    const deployed = outcome.customers.filter((customer) => customer.outcome === 'deployed');

    const deviations = deployed
      .filter(
        (customer) =>
          Date.parse(String(customer.requestedAt)) !== Date.parse(String(planned.get(customer.id))),
      )
      .map((customer) => ({
        id: customer.id,
        planned: planned.get(customer.id),
        requestedAt: customer.requestedAt,
      }));
    expect(deviations).toEqual([]);
    expect(deployed.length).toBe(plan.customers.length - plan.unschedulable.length);
  });

  it('sends every deployed customer’s advance notice at the time the plan previewed', () => {
    const planned = new Map(plan.customers.map((customer) => [customer.id, customer.noticeAt]));
    // Unschedulable customers are held without a notice, though the plan names their checkpoint.
    const noticed = outcome.customers.filter(
      (customer) => customer.outcome === 'deployed' && planned.get(customer.id) !== null,
    );

    const deviations = noticed
      .filter(
        (customer) => Date.parse(String(customer.noticeAt)) !== Date.parse(String(planned.get(customer.id))),
      )
      .map((customer) => ({ id: customer.id, planned: planned.get(customer.id), sentAt: customer.noticeAt }));
    expect(deviations).toEqual([]);
    expect(noticed.length).toBeGreaterThan(0);
  });

  it('holds exactly the customers the plan lists as unschedulable, and nobody else', () => {
    const held = outcome.customers.filter((customer) => customer.outcome === 'held').map((each) => each.id);

    expect(held.sort()).toEqual(plan.unschedulable.map((entry) => entry.id).sort());
    expect(held.length).toBeGreaterThan(0);
  });

  it('ends the release when the plan said it would', () => {
    expect(Date.parse(outcome.endedAt)).toBeGreaterThanOrEqual(Date.parse(plan.endAt));
    expect(Date.parse(outcome.endedAt) - Date.parse(plan.endAt)).toBeLessThan(60 * 60 * 1000);
  });
});
