import { beforeAll, describe, expect, it } from 'vitest';
import type { RollBackCustomers } from '../../lambdas/application/halt.js';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import { type RehearsalOutcome, rehearse } from '../../local/rehearsal.js';

// Gates that pass only on evidence, and the release's quality limits, on the local runtime: the synthesized
// workflow, the real handlers, dynalite, the simulated fleet.

const START = '2027-03-01T09:00:00Z';
const by = 'oncall@securewatch.example.com';

function rehearseWith(scenario: unknown, parked: string[], rollBackCustomers?: RollBackCustomers) {
  return rehearse({
    rollBackCustomers,
    version: 'v1.1.0',
    startAt: START,
    msPerDay: 0,
    autoApprove: true,
    scenario: scenarioSchema.parse(scenario),
    onReady: (local) =>
      local.stepFunctions.onStateEntered(({ execution, stateName }) => {
        if (
          execution.name === 'v1-1-0' &&
          stateName.endsWith('awaiting decision') &&
          !parked.includes(stateName)
        )
          parked.push(stateName);
      }),
  });
}

const requested = (outcome: RehearsalOutcome, policy: string) =>
  outcome.customers.filter((customer) => customer.policy === policy && customer.requestedAt !== null);

describe('a batch with a deployed customer that never reports health', () => {
  const parked: string[] = [];
  let outcome: RehearsalOutcome;
  beforeAll(async () => {
    outcome = await rehearseWith(
      {
        deployments: [{ select: { customer: 'cascade-logistics' }, healthReports: 'never' }],
      },
      parked,
    );
  });

  it('pauses at its gate, awaiting a decision, instead of passing', () => {
    expect(parked).toEqual(['Standard · batch 1 of 4 · gate failed, awaiting decision']);
    expect(outcome.status).toBe('PAUSED');
  });

  it('says why, naming the silent customer', () => {
    expect(outcome.pausedAt?.reason).toBe(
      'gate standard_1 failed: 1 deployed customer(s) sent no health report since their deployment: cascade-logistics',
    );
  });

  it('deploys no customer of the next batch', () => {
    expect(outcome.customers.find((customer) => customer.id === 'cascade-logistics')?.outcome).toBe(
      'deployed',
    );
    expect(requested(outcome, 'standard').length).toBe(5);
    expect(requested(outcome, 'enterprise')).toEqual([]);
  });
});

describe('a silent customer the operator accepts', () => {
  it('carries the release on to completion once resumed, without pausing again for it', async () => {
    const parked: string[] = [];
    // The enterprise step waits for Borealis Health's report until the step's wait ends (its policy
    // deadline and margins, about day 61), then its gate pauses; the release manager resumes on day 70.
    const outcome = await rehearseWith(
      {
        deployments: [{ select: { customer: 'borealis-health' }, healthReports: 'never' }],
        operations: [{ atDay: 70, resume: { reason: 'its monitoring agent was down; checked by hand', by } }],
      },
      parked,
    );

    expect(parked).toEqual(['Enterprise · customers · gate failed, awaiting decision']);
    expect(outcome.status).toBe('SUCCEEDED');
  });
});

describe("a breach of the release's quality limits", () => {
  const parked: string[] = [];
  let outcome: RehearsalOutcome;
  beforeAll(async () => {
    outcome = await rehearseWith(
      {
        // The demo customers' gates pass on their first reports; two days later one reports a critical error.
        deployments: [
          { select: { customer: 'demo-training' }, laterReport: { afterDays: 2, criticalErrors: 1 } },
        ],
      },
      parked,
    );
  });

  it('pauses the release at the next phase gate, before the next phase', () => {
    expect(parked).toEqual(['Startup · phase · gate failed, awaiting decision']);
    expect(outcome.status).toBe('PAUSED');
    expect(requested(outcome, 'standard')).toEqual([]);
  });

  it("names the limit and the release's figure", () => {
    expect(outcome.pausedAt?.reason).toContain("release critical issues 1 exceed the release's limit of 0");
  });
});

describe('the gate decision "roll back the batch"', () => {
  it("asks every deployed customer of the failed gate's batch to roll back, then goes on once resumed", async () => {
    const asked: { customerIds: string[]; trigger: string }[] = [];
    const parked: string[] = [];
    const outcome = await rehearseWith(
      {
        // Slower than the gate allows (5 %), not so slow that it rolls back by itself (20 %).
        deployments: [{ select: { customer: 'acme-corporation' }, latencyChangePercent: 12 }],
        operations: [
          { atDay: 10, rollBackBatch: { reason: 'ACME is slow; take the batch back', by } },
          { atDay: 10.5, resume: { reason: 'batch rolled back; the next batch may go', by } },
        ],
      },
      parked,
      // Stands in for the rollback workflow (requestRollback per customer), which the merge connects.
      async (_release, customerIds, request) => {
        asked.push({ customerIds, trigger: request.trigger });
        return { started: customerIds.length, alreadyRollingBack: 0, refused: [] };
      },
    );

    expect(parked).toEqual(['Standard · batch 1 of 4 · gate failed, awaiting decision']);
    expect(asked).toEqual([
      {
        customerIds: expect.arrayContaining([
          'acme-corporation',
          'bluefin-media',
          'cascade-logistics',
          'aurora-retail',
          'citadel-hotels',
        ]),
        trigger: 'gate-decision',
      },
    ]);
    expect(asked[0]?.customerIds).toHaveLength(5);
    expect(outcome.status).toBe('SUCCEEDED');
  });

  it('rolls the batch back through the rollback workflow, each customer by its policy', async () => {
    const parked: string[] = [];
    const outcome = await rehearseWith(
      {
        deployments: [{ select: { customer: 'acme-corporation' }, latencyChangePercent: 12 }],
        operations: [{ atDay: 10, rollBackBatch: { reason: 'ACME is slow; take the batch back', by } }],
      },
      parked,
    );

    const batch = [
      'acme-corporation',
      'aurora-retail',
      'bluefin-media',
      'cascade-logistics',
      'citadel-hotels',
    ];
    const rolledBack = outcome.customers.filter((customer) => customer.outcome === 'rolledBack');
    expect(rolledBack.map((customer) => customer.id).sort()).toEqual(batch);
    expect(rolledBack.map((customer) => customer.rollback?.trigger)).toEqual(
      batch.map(() => 'gate-decision'),
    );
    // Nobody resumed: the release waits at the gate that failed, the next batch not started.
    expect(outcome.status).toBe('PAUSED');
    expect(parked).toEqual(['Standard · batch 1 of 4 · gate failed, awaiting decision']);
    expect(outcome.phases.standard?.rolledBack).toBe(5);
  });
});
