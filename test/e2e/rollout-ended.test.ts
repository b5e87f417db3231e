import { beforeAll, describe, expect, it } from 'vitest';
import { now } from '../../lambdas/shared/clock.js';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import { type CustomerOutcome, type RehearsalOutcome, rehearse } from '../../local/rehearsal.js';

// A customer's rollout execution that dies answers nobody by itself: the release hears of it through the
// Step Functions "Execution Status Change" event its runtime emits, and does not wait out the step.

const START = '2027-03-01T09:00:00Z';
const HOUR = 3_600_000;
const DYING = 'demo-training';
const STORE_REFUSAL = 'Item size has exceeded the maximum allowed size';

describe('a demo customer whose rollout cannot record its outcome, its recording task failing every time', () => {
  let outcome: RehearsalOutcome;
  let gateAt: string | undefined;
  let recordingAttempts = 0;
  const demo = () => outcome.customers.filter((customer) => customer.policy === 'demo');
  const dying = () => demo().find((customer) => customer.id === DYING) as CustomerOutcome;

  beforeAll(async () => {
    outcome = await rehearse({
      version: 'v1.1.0',
      startAt: START,
      msPerDay: 0,
      autoApprove: true,
      scenario: scenarioSchema.parse({}),
      onReady: (local) => {
        local.injectFault(({ fn, payload }) => {
          if (!fn.entry.endsWith('record-outcome.ts')) return undefined;
          if ((payload as { customerId?: string }).customerId !== DYING) return undefined;
          recordingAttempts += 1;
          return Object.assign(new Error(STORE_REFUSAL), { name: 'ValidationException' });
        });
        local.stepFunctions.onStateEntered(({ execution, stateName }) => {
          if (execution.name === 'v1-1-0' && stateName === 'Demo · batch 1 of 1 · gate') gateAt ??= now();
        });
      },
    });
  });

  it('tried to record its outcome and failed', () => {
    expect(recordingAttempts).toBeGreaterThan(0);
  });

  it('ends the customer failed, with the cause in its history', () => {
    expect(dying().outcome).toBe('failed');
    expect(dying().history.at(-1)).toEqual({
      state: 'failed',
      at: expect.any(String),
      by: 'rollout status change',
      reason: `its rollout execution failed: Rollout.RecordingFailed: ${STORE_REFUSAL}`,
    });
  });

  it('records it within the hour after its deployment was requested', () => {
    const failedAt = Date.parse(String(dying().history.find((entry) => entry.state === 'failed')?.at));
    expect(failedAt - Date.parse(String(dying().requestedAt))).toBeLessThanOrEqual(HOUR);
  });

  it('gates the demo step within the hour after its last deployment, without waiting out the step', () => {
    const lastRequest = Math.max(...demo().map((customer) => Date.parse(String(customer.requestedAt))));
    expect(gateAt).toBeDefined();
    expect(Date.parse(String(gateAt)) - lastRequest).toBeLessThanOrEqual(HOUR);
  });

  it('deploys the other demo customers', () => {
    const others = demo().filter((customer) => customer.id !== DYING);
    expect(others.map((customer) => customer.outcome)).toEqual(others.map(() => 'deployed'));
  });

  it('pauses the release at the demo gate, which requires every demo customer to succeed', () => {
    expect(outcome.status).toBe('PAUSED');
    expect(outcome.pausedAt?.state).toBe('Demo · batch 1 of 1 · gate failed, awaiting decision');
  });

  it('starts nothing after the demo step while paused', () => {
    const later = outcome.customers.filter((customer) => customer.policy !== 'demo');
    expect(later.filter((customer) => customer.requestedAt !== null)).toEqual([]);
  });
});
