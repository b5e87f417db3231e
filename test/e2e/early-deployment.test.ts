import { DateTime } from 'luxon';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployCustomersNow, type EarlyDeployment } from '../../lambdas/application/early-deployments.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { isInsideWindow } from '../../lambdas/core/maintenance-window.js';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import { type RehearsalOutcome, rehearse } from '../../local/rehearsal.js';
import { sampleFleet } from '../../local/sample-fleet.js';

// A release manager deploys one enterprise customer early, on day 2, while the release is in its startup
// phase: its rollout starts then, with its notice, its approval and its window, weeks before the enterprise
// phase opens on day 22; the enterprise step later finds it started and counts it once.

const START = '2027-03-01T09:00:00Z';
const DAY = 86_400_000;
const atDay = (day: number) => new Date(Date.parse(START) + day * DAY).toISOString();
const config = bundledConfig();
const fleet = sampleFleet(config.policies);
const EARLY = 'financefirst-bank';
const ENTERPRISE_STEP = 'Enterprise · customers';
const by = 'release-manager@securewatch.example.com';

describe('an enterprise customer deployed early, on day 2', () => {
  let outcome: RehearsalOutcome;
  let answers: EarlyDeployment[] = [];
  let repeated: EarlyDeployment[] = [];
  const stepInput: Record<string, unknown>[] = [];
  beforeAll(async () => {
    outcome = await rehearse({
      version: 'v1.1.0',
      startAt: START,
      msPerDay: 0,
      autoApprove: true,
      scenario: scenarioSchema.parse({}),
      onReady: (local, clock) => {
        void clock
          .at(atDay(2), async () => {
            answers = await deployCustomersNow('v1.1.0', [EARLY], { by });
            repeated = await deployCustomersNow('v1.1.0', [EARLY], { by });
          })
          .catch(() => {});
        local.stepFunctions.onStateEntered(({ execution, stateName, input }) => {
          if (execution.name === 'v1-1-0' && stateName === `${ENTERPRISE_STEP} · gate`)
            stepInput.push(input as Record<string, unknown>);
        });
      },
    });
  });

  const early = () => {
    const found = outcome.customers.find((customer) => customer.id === EARLY);
    if (!found) throw new Error(`no customer ${EARLY}`);
    return found;
  };

  it('starts its rollout at once and says so; asked again, it says the rollout already runs', () => {
    expect(answers).toEqual([
      expect.objectContaining({ customerId: EARLY, outcome: 'started', noticeSent: true }),
    ]);
    expect(repeated).toEqual([expect.objectContaining({ customerId: EARLY, outcome: 'already-started' })]);
  });

  it('sends its advance notice on day 2 and deploys only once the 14-day lead time has passed', () => {
    const customer = early();
    expect(customer.noticeAt).toBe(atDay(2));
    const earliest = DateTime.fromISO(atDay(2)).plus({ days: config.policies.enterprise.advanceNoticeDays });
    expect(Date.parse(String(customer.requestedAt))).toBeGreaterThanOrEqual(earliest.toMillis());
  });

  it('deploys before the enterprise phase opens, after its approvers approved, inside its window', () => {
    const customer = early();
    const window = fleet.customers.find((each) => each.id === EARLY)?.maintenanceWindow;
    expect(customer.outcome).toBe('deployed');
    expect(Date.parse(String(customer.requestedAt))).toBeLessThan(Date.parse(atDay(22)));
    expect(customer.approvedBy).not.toBeNull();
    expect(window && isInsideWindow(window, String(customer.requestedAt))).toBe(true);
    expect(customer.history.map((entry) => entry.state)).toEqual([
      'planned',
      'planned',
      'noticed',
      'awaiting-approval',
      'approved',
      'scheduled',
      'deployment-requested',
      'deployed',
    ]);
    expect(customer.history[1]).toMatchObject({ by, reason: expect.stringContaining('deploy early') });
  });

  it('completes the release with every customer deployed exactly once', () => {
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.customers.every((customer) => customer.outcome === 'deployed')).toBe(true);
    expect(outcome.deploymentRequests).toBe(fleet.customers.length);
  });

  it('has the enterprise step find its rollout started and count every customer once', () => {
    const enterprise = fleet.customers.filter((customer) => customer.policy === 'enterprise').length;
    expect(stepInput).toHaveLength(1);
    expect(stepInput[0]).toMatchObject({
      started: { customers: enterprise, started: enterprise - 1, found: 1, failed: 0 },
      lastStep: { total: enterprise, deployed: enterprise, failed: 0, held: 0 },
    });
  });

  it('sends each customer one advance notice', () => {
    const told = outcome.customers.filter((customer) => customer.noticeAt !== null).length;
    expect(outcome.emails['advance-notice']).toBe(told);
  });
});
