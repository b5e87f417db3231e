import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { addHealthReport, NO_HEALTH_ISSUES } from '../../lambdas/core/gates.js';
import { handler as evaluateGate } from '../../lambdas/handlers/evaluate-gate.js';
import { dynamoMock } from './support/fake-table.js';
import {
  aStandardCustomer,
  deployed,
  givenCustomer,
  givenRelease,
  givenStep,
  RELEASE,
  storedAudit,
  storedRelease,
} from './support/given.js';
import { healthReportArrives, healthReported } from './support/when.js';
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

    // The step as 10,000 such reports leave it (recording them one by one through the fake table is slow).
    const health = ids.reduce(
      (sum, id) =>
        addHealthReport(
          sum,
          {
            customerId: id,
            key: id,
            securityFindings: 1,
            latencyChangePercent: 40,
            criticalErrors: 0,
            supportTickets: 0,
          },
          { maxPerformanceDegradationPercent: 5, maxSupportTicketIncreasePercent: 10 },
        ) ?? sum,
      NO_HEALTH_ISSUES,
    );

    beforeEach(() => {
      givenStep('standard_2', {
        total: 10_000,
        recorded: 10_000,
        deployed: 10_000,
        deployedWithHealthReport: 10_000,
        health,
      });
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
        customersWithoutHealthReport: 0,
        rollbacks: 0,
        criticalErrors: 0,
        customersWithSecurityFindings: 10_000,
        customersDegraded: 10_000,
        customersWithMoreSupportTickets: 0,
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
    givenStep('standard_2', { total: 3, recorded: 3, deployed: 3 });
    for (const id of customerIds(3)) {
      givenCustomer(deployed(aStandardCustomer({ id })));
      await healthReportArrives(id);
    }

    // Act
    const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

    // Assert
    expect(gate).toMatchObject({ passed: true, halted: false, reason: '', customers: [], moreCustomers: 0 });
    expect(storedRelease()?.status).toBe('running');
  });

  it('pauses the running release when the gate fails, awaiting a decision', async () => {
    // Prepare
    givenStep('standard_2', { total: 3, recorded: 3, deployed: 3 });
    for (const id of customerIds(3)) givenCustomer(deployed(aStandardCustomer({ id })));
    await healthReportArrives('customer-00000');
    await healthReportArrives('customer-00001');
    await healthReportArrives('customer-00002', { securityFindings: 1 });

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
    givenStep('standard_2', { total: 3, recorded: 3, deployed: 3 });
    for (const id of customerIds(3)) {
      givenCustomer(deployed(aStandardCustomer({ id })));
      await healthReportArrives(id);
    }

    // Act
    const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

    // Assert
    expect(gate).toEqual({ passed: false, halted: true, reason: 'customer reports under investigation' });
    expect(storedAudit('gate#standard_2')).toBeUndefined();
    expect(storedRelease()?.status).toBe('halted');
    expect(emailsSent()).toEqual([]);
  });

  it('counts a health report delivered twice once', async () => {
    // Prepare
    givenStep('standard_2', { total: 1, recorded: 1, deployed: 1 });
    givenCustomer(deployed(aStandardCustomer({ id: 'customer-00000' })));
    const report = healthReported('customer-00000', { criticalErrors: 2 });

    // Act
    const first = await report.deliver();
    const again = await report.deliver();
    const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

    // Assert
    expect(first).toEqual({ recorded: true, counted: true });
    expect(again).toEqual({ recorded: true, counted: false });
    expect(gate).toMatchObject({
      passed: false,
      criticalErrors: 2,
      reason: '2 critical error(s) reported, at most 0 allowed',
      customers: ['customer-00000'],
    });
  });

  it("judges a step by its own customers' reports, reading no health report", async () => {
    // Prepare: the customers of batch 1 reported trouble, those of batch 2 are healthy
    givenStep('standard_1', { total: 2, recorded: 2, deployed: 2 });
    givenStep('standard_2', { total: 2, recorded: 2, deployed: 2 });
    for (const id of ['early-1', 'early-2']) {
      givenCustomer(deployed(aStandardCustomer({ id, batch: 1, stepKey: 'standard_1' })));
      await healthReportArrives(id, { securityFindings: 1, criticalErrors: 1 });
    }
    for (const id of ['later-1', 'later-2']) {
      givenCustomer(deployed(aStandardCustomer({ id })));
      await healthReportArrives(id);
    }
    dynamoMock.resetHistory();

    // Act
    const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

    // Assert
    expect(gate).toMatchObject({ passed: true, criticalErrors: 0, customers: [] });
    expect(dynamoMock.commandCalls(QueryCommand)).toEqual([]);
  });

  it("gates a phase on every step's health, still reading no health report", async () => {
    // Prepare
    givenStep('standard_1', { total: 1, recorded: 1, deployed: 1 });
    givenStep('standard_2', { total: 1, recorded: 1, deployed: 1 });
    givenCustomer(deployed(aStandardCustomer({ id: 'early-1', batch: 1, stepKey: 'standard_1' })));
    givenCustomer(deployed(aStandardCustomer({ id: 'later-1' })));
    await healthReportArrives('early-1', { criticalErrors: 1 });
    await healthReportArrives('later-1', { latencyChangePercent: 40 });
    dynamoMock.resetHistory();

    // Act
    const gate = await evaluateGate({ release: RELEASE, phase: 'standard' });

    // Assert
    expect(gate).toMatchObject({
      passed: false,
      criticalErrors: 1,
      customersDegraded: 1,
      customers: ['early-1', 'later-1'],
    });
    expect(dynamoMock.commandCalls(QueryCommand)).toEqual([]);
  });

  describe('passes only on evidence', () => {
    it('pauses on a deployed customer that never reported health, naming it, and reads customers only then', async () => {
      // Prepare
      givenStep('standard_2', { total: 3, recorded: 3, deployed: 3 });
      for (const id of customerIds(3)) givenCustomer(deployed(aStandardCustomer({ id })));
      await healthReportArrives('customer-00000');
      await healthReportArrives('customer-00002');

      // Act
      const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

      // Assert
      expect(gate).toMatchObject({
        passed: false,
        halted: false,
        reason: '1 deployed customer(s) sent no health report since their deployment: customer-00001',
        customersWithoutHealthReport: 1,
        customers: ['customer-00001'],
      });
      expect(storedRelease()).toMatchObject({
        status: 'paused',
        pause: {
          kind: 'gate-failed',
          by: 'gate#standard_2',
          reason: `gate standard_2 failed: ${gate.reason}`,
        },
      });
      expect(storedAudit('gate#standard_2')).toMatchObject({
        customersWithoutHealthReport: { count: 1, ids: ['customer-00001'] },
      });
    });

    it('passes a customer whose report is marked but not yet counted on its step (the report is being recorded)', async () => {
      // Prepare: the step's counter lags one report behind its customer, as between the two writes
      givenStep('standard_2', { total: 1, recorded: 1, deployed: 1, deployedWithHealthReport: 0 });
      givenCustomer(
        deployed(aStandardCustomer({ id: 'customer-00000', firstHealthReportAt: '2027-03-13T05:00:00Z' })),
      );

      // Act
      const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

      // Assert
      expect(gate).toMatchObject({ passed: true, customersWithoutHealthReport: 0 });
    });

    it('pauses on a batch with no deployment result and no health report instead of passing at 100%', async () => {
      // Prepare: its two customers were held (no maintenance window before the deadline)
      givenStep('standard_2', { total: 2, recorded: 2, held: 2 });

      // Act
      const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

      // Assert
      expect(gate).toMatchObject({
        passed: false,
        reason:
          'no deployment result: none of its 2 customer(s) was deployed, so nothing shows the version works',
      });
      expect(storedRelease()?.status).toBe('paused');
    });

    it('pauses on more rollbacks than the phase allows', async () => {
      // Prepare
      givenStep('standard_2', {
        total: 2,
        recorded: 2,
        deployed: 2,
        deployedWithHealthReport: 2,
        rolledBack: 1,
      });

      // Act
      const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

      // Assert
      expect(gate).toMatchObject({
        passed: false,
        rollbacks: 1,
        reason: '1 customer(s) rolled back, at most 0 allowed',
      });
    });

    it('pauses on support tickets beyond +10% of the customer baseline', async () => {
      // Prepare
      givenStep('standard_2', { total: 1, recorded: 1, deployed: 1 });
      givenCustomer(deployed(aStandardCustomer({ id: 'customer-00000' })));
      await healthReportArrives('customer-00000', { supportTickets: 14, supportTicketsBaseline: 10 });

      // Act
      const gate = await evaluateGate({ release: RELEASE, phase: 'standard', step: 'standard_2' });

      // Assert
      expect(gate).toMatchObject({
        passed: false,
        customersWithMoreSupportTickets: 1,
        reason:
          'support tickets above their baseline by more than 10% (or reported without a baseline) for customer-00000',
      });
    });
  });

  describe("at a phase gate, the release's quality limits", () => {
    it('pause the release on a rollback rate above 2% of deployments, though the phase allows it', async () => {
      // Prepare: a release whose earlier phase had a rollback an operator accepted at its gates
      givenStep('startup_1', {
        total: 10,
        recorded: 10,
        deployed: 10,
        deployedWithHealthReport: 10,
        rolledBack: 1,
        acceptedRollbacks: 1,
      });
      givenStep('standard_1', { total: 10, recorded: 10, deployed: 10, deployedWithHealthReport: 10 });
      for (const key of ['standard_2', 'standard_3', 'standard_4']) givenStep(key, { total: 0 });

      // Act
      const gate = await evaluateGate({ release: RELEASE, phase: 'standard' });

      // Assert
      expect(gate).toMatchObject({
        passed: false,
        reason: 'release rollback rate 5% (1 of 20 deployments) exceeds 2%',
      });
      expect(storedRelease()).toMatchObject({ status: 'paused', pause: { by: 'gate#standard' } });
      expect(storedAudit('quality#standard')).toMatchObject({ rollbackRatePercent: 5, deployments: 20 });
    });
  });
});
