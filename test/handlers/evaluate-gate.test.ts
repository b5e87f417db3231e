import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as evaluateGate } from '../../lambdas/handlers/evaluate-gate.js';
import {
  aStandardCustomer,
  givenCustomer,
  givenHealthReport,
  givenRelease,
  givenStep,
  RELEASE,
  storedAudit,
  storedRelease,
} from './support/given.js';
import { emailsSent, givenTheTimeIs, resetWorld, restoreRealClock } from './support/world.js';

// The gate's result goes into the release execution's state as `$.gate`; Step Functions fails an
// execution whose state passes 256 KiB with States.DataLimitExceeded, which no Catch sees.

const customerIds = (count: number) =>
  Array.from({ length: count }, (_, n) => `customer-${String(n).padStart(5, '0')}`);

beforeEach(() => {
  resetWorld();
  givenRelease('running');
  givenTheTimeIs('2027-03-14T06:00:00.000Z');
});
afterAll(restoreRealClock);

describe('evaluate-gate', () => {
  describe('a step of 10,000 customers that all report a security finding and degraded latency', () => {
    const ids = customerIds(10_000);

    beforeEach(() => {
      for (const id of ids) {
        givenCustomer(aStandardCustomer({ id }));
        givenHealthReport(id, { securityFindings: 1, latencyChangePercent: 40 });
      }
      givenStep('standard_2', { total: 10_000, recorded: 10_000, deployed: 10_000 });
    });

    const gateTheStep = () => evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

    it('fails with a result far below the state limit that counts what it does not name', async () => {
      // Act
      const gate = await gateTheStep();

      // Assert
      expect(Buffer.byteLength(JSON.stringify(gate))).toBeLessThan(8 * 1024);
      expect(gate).toEqual({
        passed: false,
        halted: false,
        reason:
          'security findings reported by customer-00000, customer-00001, customer-00002 and 9997 more; ' +
          'performance degraded beyond 5% for customer-00000, customer-00001, customer-00002 and 9997 more',
        deployed: 10_000,
        failed: 0,
        successRatePercent: 100,
        criticalErrors: 0,
        customersWithSecurityFindings: 10_000,
        customersDegraded: 10_000,
        customers: ids.slice(0, 20),
        moreCustomers: 9_980,
      });
    });

    it('keeps the affected customers in its audit record, at most 1,000 per list, with their count', async () => {
      // Act
      await gateTheStep();

      // Assert
      const record = storedAudit('gate#standard_2');
      expect(record).toMatchObject({
        passed: false,
        customersWithSecurityFindings: { count: 10_000, ids: ids.slice(0, 1_000) },
        customersDegraded: { count: 10_000, ids: ids.slice(0, 1_000) },
        customersWithCriticalErrors: { count: 0, ids: [] },
      });
      // DynamoDB refuses an item over 400 KB.
      expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThan(400 * 1000);
    });
  });

  it('passes a step whose customers all deployed and reported healthy, naming nobody', async () => {
    // Prepare
    for (const id of customerIds(3)) {
      givenCustomer(aStandardCustomer({ id }));
      givenHealthReport(id);
    }
    givenStep('standard_2', { total: 3, recorded: 3, deployed: 3 });

    // Act
    const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

    // Assert
    expect(gate).toMatchObject({ passed: true, halted: false, reason: '', customers: [], moreCustomers: 0 });
    expect(storedRelease()?.status).toBe('running');
  });

  it('pauses the running release when the gate fails, awaiting a decision', async () => {
    // Prepare
    for (const id of customerIds(3)) givenCustomer(aStandardCustomer({ id }));
    givenHealthReport('customer-00000');
    givenHealthReport('customer-00001');
    givenHealthReport('customer-00002', { securityFindings: 1 });
    givenStep('standard_2', { total: 3, recorded: 3, deployed: 3 });

    // Act
    const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

    // Assert
    expect(gate).toMatchObject({ passed: false, halted: false });
    expect(storedRelease()).toMatchObject({
      status: 'paused',
      pause: {
        kind: 'gate-failed',
        reason: `gate standard_2 failed: ${gate.reason}`,
        since: '2027-03-14T06:00:00.000Z',
        by: 'gate#standard_2',
      },
    });
  });

  it('judges nothing while the release is halted, and says so', async () => {
    // Prepare
    givenRelease('halted');
    for (const id of customerIds(3)) {
      givenCustomer(aStandardCustomer({ id }));
      givenHealthReport(id);
    }
    givenStep('standard_2', { total: 3, recorded: 3, deployed: 3 });

    // Act
    const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

    // Assert
    expect(gate).toEqual({ passed: false, halted: true, reason: 'customer reports under investigation' });
    expect(storedAudit('gate#standard_2')).toBeUndefined();
    expect(storedRelease()?.status).toBe('halted');
    expect(emailsSent()).toEqual([]);
  });
});
