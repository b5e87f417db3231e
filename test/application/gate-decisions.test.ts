import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type RollBackCustomers, resume, rollBackGatedBatch } from '../../lambdas/application/halt.js';
import { UsageError } from '../../lambdas/core/errors.js';
import { handler as evaluateGate } from '../../lambdas/handlers/evaluate-gate.js';
import {
  aStandardCustomer,
  deployed,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  givenStep,
  movedOn,
  RELEASE,
  storedRelease,
  storedStep,
} from '../handlers/support/given.js';
import { healthReportArrives } from '../handlers/support/when.js';
import { givenTheTimeIs, resetWorld, restoreRealClock } from '../handlers/support/world.js';

// The decisions a failed gate offers: resume (accept its result), abort, or roll back the batch it judged.

const operator = { reason: 'the batch is unhealthy, take it back', by: 'oncall@securewatch.example.com' };

/** Stands in for the rollback issue's requestRollback, one call per customer: records who was asked. */
function fakeRollbacks(refuse: string[] = []) {
  const asked: { customerIds: string[]; trigger: string; reason: string }[] = [];
  const rollBackCustomers: RollBackCustomers = async (_release, customerIds, request) => {
    asked.push({ customerIds, trigger: request.trigger, reason: request.reason });
    const refused = customerIds.filter((id) => refuse.includes(id));
    return {
      started: customerIds.length - refused.length,
      alreadyRollingBack: 0,
      refused: refused.map((customerId) => ({ customerId, reason: 'outside its 14-day rollback window' })),
    };
  };
  return { asked, rollBackCustomers };
}

beforeEach(() => {
  resetWorld();
  givenTheTimeIs('2027-03-14T06:00:00.000Z');
});
afterAll(restoreRealClock);

describe('the gate decision "roll back the batch"', () => {
  beforeEach(async () => {
    givenRelease('running');
    givenStep('standard_2', { total: 3, recorded: 3, deployed: 2, failed: 1 });
    givenCustomer(deployed(aStandardCustomer({ id: 'aurora' })));
    givenCustomer(deployed(aStandardCustomer({ id: 'bluefin' })));
    givenCustomer(
      movedOn(deploymentRequested(aStandardCustomer({ id: 'cobalt' })), 'failed', 'record-outcome'),
    );
    givenCustomer(deployed(aStandardCustomer({ id: 'elsewhere', stepKey: 'standard_1', batch: 1 })));
    await healthReportArrives('aurora', { criticalErrors: 3 });
    await healthReportArrives('bluefin');
    await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });
  });

  it("asks every deployed customer of the gate's batch to roll back, with the trigger gate-decision and the gate's reason", async () => {
    const rollbacks = fakeRollbacks();

    const result = await rollBackGatedBatch(RELEASE, operator, rollbacks.rollBackCustomers);

    expect(rollbacks.asked).toEqual([
      {
        customerIds: ['aurora', 'bluefin'],
        trigger: 'gate-decision',
        reason: expect.stringContaining('3 critical error(s) reported'),
      },
    ]);
    expect(result).toMatchObject({ changed: true, customers: 2 });
    expect(result.message).toBe(
      'v1.1.0: rolling back 2 customer(s) of standard_2; the release stays paused until it is resumed or aborted',
    );
  });

  it('keeps the release paused, awaiting a resume or an abort', async () => {
    await rollBackGatedBatch(RELEASE, operator, fakeRollbacks().rollBackCustomers);

    expect(storedRelease()).toMatchObject({
      status: 'paused',
      pause: { kind: 'gate-failed', by: 'gate#standard_2' },
    });
  });

  it('says which customers were refused and why', async () => {
    const result = await rollBackGatedBatch(RELEASE, operator, fakeRollbacks(['bluefin']).rollBackCustomers);

    expect(result.message).toContain('refused for 1: bluefin (outside its 14-day rollback window)');
  });

  it('needs a reason and who decides', async () => {
    const rollbacks = fakeRollbacks();

    await expect(
      rollBackGatedBatch(RELEASE, { reason: ' ', by: 'ops' }, rollbacks.rollBackCustomers),
    ).rejects.toThrow(UsageError);
    expect(rollbacks.asked).toEqual([]);
  });

  it('is refused for a release no failed gate paused, changing nothing', async () => {
    givenRelease('running');
    const rollbacks = fakeRollbacks();

    await expect(rollBackGatedBatch(RELEASE, operator, rollbacks.rollBackCustomers)).rejects.toThrow(
      /only a release paused by a failed gate can roll back its batch/,
    );
    expect(rollbacks.asked).toEqual([]);
  });
});

describe('resuming after a failed gate', () => {
  it('accepts the deployed customers without a health report and the rollbacks the gate saw', async () => {
    givenRelease('running');
    givenStep('standard_2', { total: 2, recorded: 2, deployed: 2, rolledBack: 1 });
    await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

    await resume({ release: RELEASE }, operator);

    expect(storedStep('standard_2')).toMatchObject({ acceptedWithoutHealthReport: 2, acceptedRollbacks: 1 });
    expect(storedRelease()).toMatchObject({
      status: 'running',
      acceptedQuality: { rollbacks: 1, deployments: 2 },
    });
    const again = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });
    expect(again).toMatchObject({ passed: true });
  });
});
