import { beforeAll, describe, expect, it } from 'vitest';
import { planAndRecordRelease } from '../../lambdas/application/plan.js';
import { listCustomers } from '../../lambdas/store/customers.js';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import { type RehearsalOutcome, rehearse } from '../../local/rehearsal.js';

/** The release execution's planning tasks in turn: plan, write every chunk, open the release. */
const planRelease = ({ version, startAt }: { version: string; startAt: string }) =>
  planAndRecordRelease(version, startAt);

// v1.1.0 rehearsed on the local runtime while v1.2.0 is planned into the same table a day after it started:
// v1.1.0's customers not yet asked to deploy end superseded, its rollouts stop without deploying them, its
// gates judge what it deployed and it completes. (The local runtime runs one release stack: v1.2.0 is
// planned, as its first task would, but its own execution is not run here.)

const START = '2027-03-01T09:00:00Z';
const NEXT_DAY = '2027-03-02T09:00:00Z';

describe('v1.1.0 running when v1.2.0 is planned a day later', () => {
  let outcome: RehearsalOutcome;
  let newerCustomers = 0;
  let totals: Record<string, number> | undefined;

  beforeAll(async () => {
    let planned: Promise<unknown> = Promise.resolve();
    outcome = await rehearse({
      version: 'v1.1.0',
      startAt: START,
      msPerDay: 0,
      autoApprove: true,
      scenario: scenarioSchema.parse({}),
      onReady: (cloud, clock) => {
        planned = clock.at(NEXT_DAY, async () => {
          await planRelease({ version: 'v1.2.0', startAt: NEXT_DAY });
          newerCustomers = (await listCustomers('v1.2.0')).length;
        });
        // The completion report v1.1.0's last task returns.
        cloud.onInvoked(({ result }) => {
          const report = result as { release?: string; totals?: Record<string, number> } | undefined;
          if (report?.release === 'v1.1.0' && report.totals) totals = report.totals;
        });
      },
    });
    await planned;
  });

  it('completes v1.1.0, and v1.2.0 plans every customer', () => {
    expect(outcome.status).toBe('SUCCEEDED');
    expect(newerCustomers).toBe(outcome.customers.length);
  });

  it('keeps the customers v1.1.0 deployed before v1.2.0 was planned, and supersedes all the others', () => {
    const deployed = outcome.customers.filter((customer) => customer.state === 'deployed');
    const superseded = outcome.customers.filter((customer) => customer.state === 'superseded');

    expect(deployed.length).toBeGreaterThan(0);
    for (const customer of deployed)
      expect(Date.parse(String(customer.requestedAt)), customer.id).toBeLessThan(Date.parse(NEXT_DAY));
    expect(deployed.length + superseded.length).toBe(outcome.customers.length);
    for (const customer of superseded) {
      expect(customer.requestedAt, customer.id).toBeNull();
      expect(customer.history.at(-1), customer.id).toMatchObject({
        state: 'superseded',
        by: 'plan-release',
        reason: 'superseded by v1.2.0',
      });
    }
  });

  it('asks the platform for no deployment of a superseded customer', () => {
    const deployed = outcome.customers.filter((customer) => customer.state === 'deployed');

    expect(outcome.deploymentRequests).toBe(deployed.length);
  });

  it('counts the superseded customers in the summary, apart from successes and failures', () => {
    const superseded = outcome.customers.filter((customer) => customer.state === 'superseded').length;
    const counted = Object.values(outcome.phases).reduce((sum, phase) => sum + (phase.superseded ?? 0), 0);

    expect(counted).toBe(superseded);
    expect(totals).toMatchObject({ superseded, failed: 0, deploymentSuccessRatePercent: 100 });
  });
});
