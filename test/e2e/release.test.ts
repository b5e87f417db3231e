import { DateTime } from 'luxon';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundledConfig } from '../../lambdas/core/config.js';
import { isInsideWindow } from '../../lambdas/core/maintenance-window.js';
import { loadScenario, scenarioSchema } from '../../local/fleet-simulator.js';
import {
  approveFromInbox,
  type RehearsalOptions,
  type RehearsalOutcome,
  rehearse,
  reviewUrlFromInbox,
} from '../../local/rehearsal.js';
import { sampleFleet } from '../../local/sample-fleet.js';

const START = '2027-03-01T09:00:00Z';
const config = bundledConfig();
const fleet = sampleFleet(config.policies);
const customerById = new Map(fleet.customers.map((customer) => [customer.id, customer]));

function givenRelease(overrides: Partial<RehearsalOptions> = {}): Promise<RehearsalOutcome> {
  return rehearse({
    version: 'v1.1.0',
    startAt: START,
    msPerDay: 0,
    autoApprove: true,
    scenario: scenarioSchema.parse({}),
    ...overrides,
  });
}

describe('a full v1.1.0 rehearsal on the sample fleet', () => {
  let outcome: RehearsalOutcome;
  beforeAll(async () => {
    outcome = await givenRelease();
  });

  it('completes the release', () => {
    expect(outcome.status).toBe('SUCCEEDED');
  });

  it('deploys every customer exactly once', () => {
    expect(outcome.customers.map((customer) => customer.outcome)).toEqual(
      fleet.customers.map(() => 'deployed'),
    );
    expect(outcome.deploymentRequests).toBe(fleet.customers.length);
  });

  it('deploys no customer before its notice lead time has passed', () => {
    for (const customer of outcome.customers) {
      const lead = config.policies[customer.policy as keyof typeof config.policies].advanceNoticeDays;
      if (lead === 0) continue;
      expect(customer.noticeAt, customer.id).not.toBeNull();
      const earliest = DateTime.fromISO(String(customer.noticeAt)).plus({ days: lead });
      expect(DateTime.fromISO(String(customer.requestedAt)) >= earliest, customer.id).toBe(true);
    }
  });

  it('deploys enterprise customers only after approval and inside their windows', () => {
    const enterprise = outcome.customers.filter((customer) => customer.policy === 'enterprise');
    expect(enterprise.length).toBeGreaterThan(0);
    for (const customer of enterprise) {
      const approvers = customerById
        .get(customer.id)
        ?.approvers.map((approver) => approver.email.toLowerCase());
      expect(approvers, customer.id).toContain(customer.approvedBy);
      const window = customerById.get(customer.id)?.maintenanceWindow;
      expect(window && isInsideWindow(window, String(customer.requestedAt)), customer.id).toBe(true);
    }
  });

  it('reports the release’s quality figures, inside every limit', () => {
    expect(outcome.quality.figures).toMatchObject({ deployments: 44, rollbacks: 0, criticalIssues: 0 });
    expect(outcome.quality.figures.performanceImpactPercent).toBeLessThanOrEqual(
      outcome.quality.limits.maxPerformanceImpactPercent,
    );
    expect(outcome.quality.breaches).toEqual([]);
  });

  it('counts what the release asked of the stand-ins: one plan, one outcome per customer, one SES call per email', () => {
    expect(outcome.invocations).toMatchObject({
      'plan-release': 1,
      'request-deployment': fleet.customers.length,
      'record-outcome': fleet.customers.length,
      'complete-release': 1,
    });
    const emailsSent = Object.values(outcome.emails).reduce((sum, count) => sum + count, 0);
    expect(outcome.ses).toEqual({ sendCalls: emailsSent, emails: emailsSent });
    // The release's own requests: the tables and the fleet import came before it started.
    expect(Object.keys(outcome.storeRequests)).not.toContain('CreateTable');
    expect(outcome.storeRequests.UpdateItem).toBeGreaterThanOrEqual(fleet.customers.length);
  });

  it('names its largest state payload, far inside the 256 KiB Step Functions limit', () => {
    expect(outcome.largestStatePayload.execution).not.toBe('');
    expect(outcome.largestStatePayload.state).not.toBe('');
    expect(outcome.largestStatePayload.bytes).toBeGreaterThan(100);
    expect(outcome.largestStatePayload.bytes).toBeLessThan(64 * 1024);
  });

  it('keeps every execution far inside the Step Functions history limit', () => {
    expect(outcome.maxHistoryEvents.events).toBeLessThan(1_000);
  });
});

describe('a deployment failure that breaks a gate', () => {
  it('pauses the release at the gate with the reason, deploys no later batch, and stops waiting when no decision is to come', async () => {
    const outcome = await givenRelease({ scenario: loadScenario('scenarios/failing-standard-batch.json') });

    expect(outcome.status).toBe('PAUSED');
    expect(outcome.pausedAt?.state).toBe('Standard · batch 1 of 4 · gate failed, awaiting decision');
    expect(outcome.haltReason).toMatch(/success rate .* below 95%/);
    const standardBatch1 = new Set([
      'acme-corporation',
      'aurora-retail',
      'bluefin-media',
      'cascade-logistics',
      'citadel-hotels',
    ]);
    const laterCustomers = outcome.customers.filter(
      (customer) =>
        customer.policy === 'enterprise' ||
        (customer.policy === 'standard' && !standardBatch1.has(customer.id)),
    );
    expect(laterCustomers.every((customer) => customer.requestedAt === null)).toBe(true);
  });
});

describe('health reports of the fleet that break a gate', () => {
  it('pause the release at the first gate after the unhealthy customers deployed, naming the trouble', async () => {
    const outcome = await givenRelease({
      scenario: scenarioSchema.parse({
        deployments: [{ select: { policy: 'startup' }, criticalErrors: 1, latencyChangePercent: 40 }],
      }),
    });

    expect(outcome.status).toBe('PAUSED');
    expect(outcome.pausedAt?.state).toBe('Startup · batch 1 of 2 · gate failed, awaiting decision');
    expect(outcome.haltReason).toMatch(/critical error\(s\) reported, at most 0 allowed/);
    expect(outcome.haltReason).toMatch(/performance degraded beyond 5%/);
  });
});

describe('enterprise approvals answered in the inbox', () => {
  it('leaves a rejected customer on its old version, goes on with the others, and ignores a second use of a link', async () => {
    const secondUse: number[] = [];
    const outcome = await givenRelease({
      autoApprove: false,
      onReady: (local) => {
        local.onInvoked(({ fn, payload, result }) => {
          if (fn.operation !== 'request-approval' || !result) return;
          const { customerId } = payload as { customerId: string };
          const { requestId } = result as { requestId: string };
          const action = customerId === 'financefirst-bank' ? 'reject' : 'approve';
          void approveFromInbox(local, requestId, action).then(async () => {
            if (customerId === 'atlas-insurance-group')
              secondUse.push((await fetch(await reviewUrlFromInbox(local, requestId))).status);
          });
        });
      },
    });

    expect(outcome.status).toBe('SUCCEEDED');
    const byId = new Map(outcome.customers.map((customer) => [customer.id, customer]));
    expect(byId.get('financefirst-bank')?.outcome).toBe('rejected');
    expect(byId.get('financefirst-bank')?.requestedAt).toBeNull();
    expect(byId.get('atlas-insurance-group')?.outcome).toBe('deployed');
    expect(secondUse).toEqual([409]);
  });
});

describe('every Lambda task run twice with the same input', () => {
  it('changes nothing: the same deployments, emails and outcomes as a single run', async () => {
    const outcome = await givenRelease({ invokeTwice: true });

    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.deploymentRequests).toBe(fleet.customers.length);
    expect(outcome.customers.every((customer) => customer.outcome === 'deployed')).toBe(true);
    const noticed = fleet.customers.filter(
      (customer) => config.policies[customer.policy].advanceNoticeDays > 0,
    );
    expect(outcome.emails['advance-notice']).toBe(noticed.length);
    const approvers = fleet.customers.flatMap((customer) => customer.approvers);
    expect(outcome.emails['approval-request']).toBe(approvers.length);
  });
});
