import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { requestRollback } from '../../lambdas/application/rollbacks.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { isInsideWindow } from '../../lambdas/core/maintenance-window.js';
import type { RollbackTrigger } from '../../lambdas/core/rollback.js';
import { now } from '../../lambdas/shared/clock.js';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import type { LocalCloud } from '../../local/local-cloud.js';
import {
  approveFromInbox,
  type CustomerOutcome,
  type RehearsalOptions,
  type RehearsalOutcome,
  rehearse,
  reviewUrlFromInbox,
} from '../../local/rehearsal.js';
import { sampleFleet } from '../../local/sample-fleet.js';

// A customer's rollback, by its policy's process, on the local runtime: asked for as the rollback triggers
// ask (requestRollback), by the customer's own health reports or an hour after its deployment is recorded;
// the simulated platform answers `Rollback Requested` as the scenario says.

const START = '2027-03-01T09:00:00Z';
const HOUR = 3_600_000;
const RELEASE_MANAGER = 'release-manager@securewatch.example.com';
const fleet = sampleFleet(bundledConfig().policies);
const windowOf = (id: string) => {
  const found = fleet.customers.find((customer) => customer.id === id);
  if (!found) throw new Error(`no customer ${id} in the fleet`);
  return found.maintenanceWindow;
};

interface Rollback {
  customerId: string;
  trigger: RollbackTrigger;
  reason: string;
  /** Starts it this many times at once (duplicate triggers). */
  starts?: number;
}

/** What the test saw happen, as it happened (the local cloud is gone once the rehearsal ends). */
interface Seen {
  startedAt: Record<string, string>;
  counted: { customerId: string; state: string }[];
  notices: { customerId: string; notice: string; at: string }[];
  rollbackApprovals: { customerId: string; requestId: string; at: string; page: string }[];
}

function rehearseRollbacks(
  rollbacks: Rollback[],
  scenario: z.input<typeof scenarioSchema> = {},
  overrides: Partial<RehearsalOptions> & { onLocal?: (local: LocalCloud, seen: Seen) => void } = {},
): Promise<{ outcome: RehearsalOutcome; seen: Seen }> {
  const seen: Seen = { startedAt: {}, counted: [], notices: [], rollbackApprovals: [] };
  const { onLocal, ...options } = overrides;
  return rehearse({
    version: 'v1.1.0',
    startAt: START,
    msPerDay: 0,
    autoApprove: true,
    scenario: scenarioSchema.parse(scenario),
    ...options,
    onReady: (local, clock) => {
      // The release manager is told of rollbacks that fail or are not approved, and gets incident reports.
      process.env.ESCALATION_EMAILS = RELEASE_MANAGER;
      local.onInvoked(({ fn, payload, result, error }) => {
        if (error) return;
        const data = payload as { customerId?: string; outcome?: string; notice?: string };
        if (fn.operation === 'record-outcome' && data.outcome === 'deployed') {
          for (const rollback of rollbacks.filter((each) => each.customerId === data.customerId)) {
            const at = new Date(Date.parse(now()) + HOUR).toISOString();
            // Asked as the triggers ask (a trigger the customer's own reports fired may have asked first).
            void clock
              .at(at, () =>
                Promise.all(
                  Array.from({ length: rollback.starts ?? 1 }, () =>
                    requestRollback({
                      release: 'v1.1.0',
                      customerId: rollback.customerId,
                      trigger: rollback.trigger,
                      reason: rollback.reason,
                      by: 'rollback e2e test',
                    }),
                  ),
                ),
              )
              .catch(() => {});
          }
        }
        if (fn.operation === 'begin-rollback' && data.customerId && !seen.startedAt[data.customerId])
          seen.startedAt[data.customerId] = now();
        if (fn.operation === 'record-rollback-outcome') {
          const recorded = result as { state: string; counted: boolean };
          if (recorded.counted)
            seen.counted.push({ customerId: String(data.customerId), state: recorded.state });
        }
        if (fn.operation === 'notify-rollback')
          seen.notices.push({ customerId: String(data.customerId), notice: String(data.notice), at: now() });
      });
      onLocal?.(local, seen);
    },
  }).then((outcome) => ({ outcome, seen }));
}

const customer = (outcome: RehearsalOutcome, id: string): CustomerOutcome => {
  const found = outcome.customers.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no customer ${id}`);
  return found;
};
const rollbackStates = (found: CustomerOutcome) => found.rollback?.history.map((entry) => entry.state);

describe('a startup customer with a critical error', () => {
  const id = 'bytewise-labs';
  let outcome: RehearsalOutcome;
  let seen: Seen;
  beforeAll(async () => {
    ({ outcome, seen } = await rehearseRollbacks([
      { customerId: id, trigger: 'critical-errors', reason: '3 critical errors reported' },
    ]));
  });

  it('is rolled back automatically, at once: the platform is asked as the rollback starts', () => {
    const rolledBack = customer(outcome, id);

    expect(rolledBack.outcome).toBe('rolledBack');
    expect(rolledBack.rollback).toMatchObject({
      trigger: 'critical-errors',
      reason: '3 critical errors reported',
    });
    expect(rolledBack.rollback?.requestedAt).toBe(seen.startedAt[id]);
    expect(rollbackStates(rolledBack)).toEqual(['rolling-back', 'rolling-back', 'rolled-back']);
  });

  it('tells the customer once, and ends rolled back awaiting a fixed version (no monitoring, no follow-up)', () => {
    expect(seen.notices.map((notice) => notice.notice)).toEqual(['rolled-back']);
    expect(outcome.emails['rollback-rolled-back']).toBe(1);
    expect(outcome.emails['rollback-follow-up']).toBeUndefined();
  });

  it('counts the rollback once on its step and in the startup phase', () => {
    expect(seen.counted).toEqual([{ customerId: id, state: 'rolled-back' }]);
    expect(outcome.phases.startup?.rolledBack).toBe(1);
    expect(outcome.rollbacks.startup).toEqual({ rolledBack: 1, rollbackFailed: 0 });
    expect(outcome.rollbackRequests).toBe(1);
  });
});

describe('a standard customer whose environment reports a critical error', () => {
  const id = 'acme-corporation';
  let outcome: RehearsalOutcome;
  let seen: Seen;
  beforeAll(async () => {
    // No one asks: the customer's own first health report fires the critical-errors trigger.
    ({ outcome, seen } = await rehearseRollbacks([], {
      deployments: [{ select: { customer: id }, criticalErrors: 1 }],
    }));
  });

  it('is rolled back at once and told so', () => {
    const rolledBack = customer(outcome, id);

    expect(rolledBack.outcome).toBe('rolledBack');
    expect(rolledBack.rollback).toMatchObject({
      trigger: 'critical-errors',
      reason: '1 critical application error(s) reported',
    });
    expect(rolledBack.history.find((entry) => entry.state === 'rolling-back')?.by).toBe(
      'record-health-report',
    );
    expect(rolledBack.rollback?.requestedAt).toBe(seen.startedAt[id]);
    expect(seen.notices.map((notice) => notice.notice)).toEqual(['rolled-back', 'follow-up']);
  });

  it('has its health monitored for the configured 24 hours, then gets the follow-up with what the reports said', () => {
    const rolledBack = customer(outcome, id);
    const followUp = seen.notices.find((notice) => notice.notice === 'follow-up');

    expect(Date.parse(String(followUp?.at)) - Date.parse(String(rolledBack.rollback?.rolledBackAt))).toBe(
      24 * HOUR,
    );
    expect(rolledBack.rollback?.health).toMatch(/^healthy: 1 health report\(s\) since the rollback/);
    expect(outcome.emails['rollback-follow-up']).toBe(1);
  });

  it('counts it in the standard phase', () => {
    expect(outcome.phases.standard?.rolledBack).toBe(1);
  });
});

describe('an enterprise customer with a security finding', () => {
  const id = 'atlas-insurance-group';
  let outcome: RehearsalOutcome;
  let seen: Seen;
  let platformAskedBeforeApproval: number | undefined;
  let approvedAt: string | undefined;
  beforeAll(async () => {
    ({ outcome, seen } = await rehearseRollbacks(
      [{ customerId: id, trigger: 'security-finding', reason: 'a critical CVE found in v1.1.0' }],
      {},
      {
        autoApprove: false,
        onLocal: (local, seeing) => {
          let rollbackRequests = 0;
          local.bus.listen((event) => {
            if (event['detail-type'] === 'Rollback Requested') rollbackRequests += 1;
          });
          local.onInvoked(({ fn, payload, result, error }) => {
            if (error || fn.operation !== 'request-approval') return;
            const { requestId } = result as { requestId: string };
            if ((payload as { purpose?: string }).purpose !== 'rollback') {
              // Deployment approvals: an approver approves each at once.
              void approveFromInbox(local, requestId);
              return;
            }
            // Simulated time stands still while the stakeholders decide: read the page, then approve.
            void (async () => {
              const url = await reviewUrlFromInbox(local, requestId);
              const page = await (await fetch(url)).text();
              seeing.rollbackApprovals.push({ customerId: id, requestId, at: now(), page });
              platformAskedBeforeApproval = rollbackRequests;
              approvedAt = now();
              await approveFromInbox(local, requestId);
            })();
          });
        },
      },
    ));
  });

  it('tells the customer first, then asks its stakeholders with a ROLLBACK request on the safe links', () => {
    expect(seen.notices[0]?.notice).toBe('proposed');
    expect(seen.rollbackApprovals).toHaveLength(1);
    expect(seen.rollbackApprovals[0]?.page).toContain('ROLLBACK');
    expect(seen.rollbackApprovals[0]?.page).toContain('a critical CVE found in v1.1.0');
    expect(outcome.emails['rollback-approval-request']).toBe(2);
  });

  it('asks the platform for nothing until a stakeholder approves', () => {
    expect(platformAskedBeforeApproval).toBe(0);
    expect(customer(outcome, id).rollback?.approvedBy).toMatch(/@/);
  });

  it('rolls back in the customer’s next maintenance window after the approval', () => {
    const rollback = customer(outcome, id).rollback;

    expect(Date.parse(String(rollback?.platformAskedAt))).toBe(Date.parse(String(rollback?.scheduledAt)));
    expect(Date.parse(String(rollback?.platformAskedAt))).toBeGreaterThanOrEqual(
      Date.parse(String(approvedAt)),
    );
    expect(isInsideWindow(windowOf(id), String(rollback?.platformAskedAt))).toBe(true);
    expect(customer(outcome, id).outcome).toBe('rolledBack');
  });

  it('validates its health after the rollback, then sends the incident report to the customer and the release manager', () => {
    const rollback = customer(outcome, id).rollback;
    const report = seen.notices.find((notice) => notice.notice === 'incident-report');

    expect(seen.notices.map((notice) => notice.notice)).toEqual(['proposed', 'incident-report']);
    expect(Date.parse(String(report?.at)) - Date.parse(String(rollback?.rolledBackAt))).toBe(4 * HOUR);
    expect(rollback?.health).toMatch(/^healthy/);
    expect(outcome.emails['rollback-incident-report']).toBe(1);
    expect(outcome.emails['rollback-incident-report-escalation']).toBe(1);
  });

  it('lists the rollback’s history: requested, approved, scheduled, asked of the platform, rolled back', () => {
    const history = customer(outcome, id).rollback?.history ?? [];

    expect(history.map((entry) => [entry.state, entry.by])).toEqual([
      ['rolling-back', 'rollback e2e test'],
      ['rolling-back', expect.stringMatching(/@/)],
      ['rolling-back', 'rollback workflow'],
      ['rolling-back', 'rollback workflow'],
      ['rolled-back', 'rollback workflow'],
    ]);
  });
});

describe('a rollback the platform fails, and one it never answers', () => {
  // Demo customers: all deployed at once, so both rollbacks run before the first failure pauses the release.
  const failing = 'demo-sales-us';
  const silent = 'demo-training';
  let outcome: RehearsalOutcome;
  let seen: Seen;
  beforeAll(async () => {
    ({ outcome, seen } = await rehearseRollbacks(
      [
        { customerId: failing, trigger: 'database-corruption', reason: 'corrupted audit table' },
        { customerId: silent, trigger: 'critical-errors', reason: '1 critical error reported' },
      ],
      {
        rollbacks: [
          { select: { customer: failing }, outcome: 'fail', reason: 'snapshot restore failed' },
          { select: { customer: silent }, outcome: 'silent' },
        ],
      },
    ));
  });

  it('records both rollbacks failed, with the reason, counted once each', () => {
    expect(customer(outcome, failing).outcome).toBe('rollbackFailed');
    expect(customer(outcome, failing).rollback?.failureReason).toBe('snapshot restore failed');
    expect(customer(outcome, silent).outcome).toBe('rollbackFailed');
    expect(customer(outcome, silent).rollback?.failureReason).toBe(
      'the platform did not answer within 6 hours',
    );
    expect(seen.counted.map((each) => each.state)).toEqual(['rollback-failed', 'rollback-failed']);
    expect(outcome.phases.demo?.rollbackFailed).toBe(2);
    expect(outcome.rollbacks.demo).toEqual({ rolledBack: 0, rollbackFailed: 2 });
  });

  it('pauses the release, awaiting a decision, before its next step', () => {
    expect(outcome.status).toBe('PAUSED');
    expect(outcome.haltReason).toMatch(/^the rollback of demo-(sales-us|training) failed/);
    const later = outcome.customers.filter((candidate) => candidate.policy !== 'demo');
    expect(later.filter((candidate) => candidate.requestedAt !== null)).toEqual([]);
  });

  it('pages the escalation contacts once per failed rollback', () => {
    expect(outcome.emails['rollback-failed']).toBe(2);
  });
});

describe('duplicate triggers, every task run twice', () => {
  const id = 'fintrail';
  let outcome: RehearsalOutcome;
  beforeAll(async () => {
    ({ outcome } = await rehearseRollbacks(
      [{ customerId: id, trigger: 'critical-errors', reason: 'critical error reported', starts: 3 }],
      {},
      { invokeTwice: true },
    ));
  });

  it('give one rollback: one request to the platform, one notification, counted once', () => {
    expect(outcome.rollbackRequests).toBe(1);
    expect(outcome.emails['rollback-rolled-back']).toBe(1);
    expect(outcome.rollbacks.startup).toEqual({ rolledBack: 1, rollbackFailed: 0 });
    expect(customer(outcome, id).outcome).toBe('rolledBack');
    expect(rollbackStates(customer(outcome, id))).toEqual(['rolling-back', 'rolling-back', 'rolled-back']);
  });
});

describe('an enterprise rollback its stakeholder rejects', () => {
  const id = 'northwind-federal';
  let outcome: RehearsalOutcome;
  beforeAll(async () => {
    ({ outcome } = await rehearseRollbacks(
      [{ customerId: id, trigger: 'customer-request', reason: 'the customer asked to go back' }],
      {},
      {
        autoApprove: false,
        onLocal: (local) =>
          local.onInvoked(({ fn, payload, result, error }) => {
            if (error || fn.operation !== 'request-approval') return;
            const { requestId } = result as { requestId: string };
            const rollback = (payload as { purpose?: string }).purpose === 'rollback';
            void approveFromInbox(local, requestId, rollback ? 'reject' : 'approve');
          }),
      },
    ));
  });

  it('keeps the customer deployed, asks nothing of the platform, and tells the release manager', () => {
    const kept = customer(outcome, id);

    expect(kept.outcome).toBe('deployed');
    expect(kept.rollback?.history.map((entry) => entry.state)).toEqual(['rolling-back', 'deployed']);
    expect(kept.rollback?.history.at(-1)?.reason).toMatch(/^Rejected by /);
    expect(outcome.rollbackRequests).toBe(0);
    expect(outcome.emails['rollback-not-approved']).toBe(1);
    expect(outcome.rollbacks.enterprise).toEqual({ rolledBack: 0, rollbackFailed: 0 });
  });
});
