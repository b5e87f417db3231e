import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION_1_1 } from '../../lambdas/events/contract.js';
import {
  aStandardCustomer,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  givenStep,
  movedOn,
  RELEASE,
  storedCustomer,
} from './support/given.js';
import { healthReported } from './support/when.js';
import {
  emailsSent,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  startedExecutions,
} from './support/world.js';

// Every health report is checked against the rollback triggers as it arrives: one that fires a trigger for a
// deployed customer asks for its rollback (lambdas/application/rollbacks.ts), inside its policy window.

const DEPLOYED_AT = '2027-03-13T01:30:00.000Z';
const RELEASE_MANAGER = 'release-manager@securewatch.example.com';

const deployed = (id: string) =>
  givenCustomer(
    movedOn(deploymentRequested(aStandardCustomer({ id })), 'deployed', 'record-deployment-result', {
      deployedAt: DEPLOYED_AT,
      deploymentStatus: 'succeeded',
    }),
  );

beforeEach(() => {
  resetWorld();
  process.env.RELEASE_STATE_MACHINE_ARN_PREFIX =
    'arn:aws:states:eu-central-1:111122223333:stateMachine:securewatch-release-';
  process.env.ESCALATION_EMAILS = RELEASE_MANAGER;
  givenRelease('running');
  givenStep('standard_2', { total: 2, recorded: 1, deployed: 1 });
  givenTheTimeIs('2027-03-14T06:00:00.000Z');
});
afterAll(() => {
  delete process.env.RELEASE_STATE_MACHINE_ARN_PREFIX;
  delete process.env.ESCALATION_EMAILS;
  restoreRealClock();
});

describe('a health report that fires a rollback trigger', () => {
  it('rolls a deployed standard customer with +30 % latency back: rolling-back, its rollback execution started', async () => {
    // Arrange
    deployed('northwind-logistics');

    // Act
    const result = await healthReported(
      'northwind-logistics',
      { latencyChangePercent: 30 },
      '2027-03-14T05:00:00Z',
    ).deliver();

    // Assert
    expect(result).toMatchObject({ recorded: true, rollback: { kind: 'started' } });
    expect(storedCustomer('northwind-logistics')).toMatchObject({
      state: 'rolling-back',
      rollbackTrigger: 'performance-degradation',
      rollbackRequestedBy: 'record-health-report',
    });
    expect(startedExecutions()).toEqual([
      {
        name: 'rollback-northwind-logistics-20270314T060000Z',
        input: JSON.stringify({
          release: RELEASE,
          customerId: 'northwind-logistics',
          trigger: 'performance-degradation',
          reason: "latency +30% against the customer's baseline (limit 20%)",
          requestedAt: '2027-03-14T06:00:00.000Z',
        }),
      },
    ]);
  });

  it('gives one rollback for a report delivered twice: the second finds the customer rolling back', async () => {
    // Arrange
    deployed('northwind-logistics');
    const report = healthReported('northwind-logistics', { criticalErrors: 1 }, '2027-03-14T05:00:00Z');

    // Act
    await report.deliver();
    const again = await report.deliver();

    // Assert
    expect(again).toMatchObject({ rollback: { kind: 'already-rolling-back' } });
    expect(new Set(startedExecutions().map((execution) => execution.name))).toEqual(
      new Set(['rollback-northwind-logistics-20270314T060000Z']),
    );
    expect(new Set(startedExecutions().map((execution) => execution.input)).size).toBe(1);
    expect(
      storedCustomer('northwind-logistics')?.history.filter((entry) => entry.state === 'rolling-back'),
    ).toHaveLength(1);
  });

  it('rolls back on a customer’s own request (contract 1.1), recorded as asked by its contact', async () => {
    // Arrange
    deployed('northwind-logistics');

    // Act
    await healthReported(
      'northwind-logistics',
      {
        schemaVersion: SCHEMA_VERSION_1_1,
        rollbackRequested: { by: 'dana.fischer@northwind.example.com', reason: 'nightly export broken' },
      },
      '2027-03-14T05:00:00Z',
    ).deliver();

    // Assert
    expect(storedCustomer('northwind-logistics')?.history.at(-1)).toEqual({
      state: 'rolling-back',
      at: '2027-03-14T06:00:00.000Z',
      by: 'dana.fischer@northwind.example.com',
      reason: 'customer-request: requested by dana.fischer@northwind.example.com: nightly export broken',
    });
  });

  it('rolls back on reported database corruption (contract 1.1)', async () => {
    deployed('northwind-logistics');

    await healthReported(
      'northwind-logistics',
      { schemaVersion: SCHEMA_VERSION_1_1, databaseCorruption: true },
      '2027-03-14T05:00:00Z',
    ).deliver();

    expect(storedCustomer('northwind-logistics')).toMatchObject({
      state: 'rolling-back',
      rollbackTrigger: 'database-corruption',
    });
  });

  it('refuses after the 14-day standard window: forward fix only, the release manager told', async () => {
    // Arrange
    deployed('northwind-logistics');
    givenTheTimeIs('2027-03-28T06:00:00.000Z');

    // Act
    const result = await healthReported(
      'northwind-logistics',
      { securityFindings: 1 },
      '2027-03-28T05:00:00Z',
    ).deliver();

    // Assert
    expect(result).toMatchObject({ rollback: { kind: 'refused', refusal: 'window-closed' } });
    expect(storedCustomer('northwind-logistics')?.state).toBe('deployed');
    expect(startedExecutions()).toEqual([]);
    expect(emailsSent()).toEqual([
      expect.objectContaining({
        to: [RELEASE_MANAGER],
        subject: `ROLLBACK REFUSED: Northwind Logistics on SecureWatch ${RELEASE}`,
      }),
    ]);
  });

  it('asks nothing yet of a customer whose deployment result is not in: the trigger is kept for the health sweep', async () => {
    // Arrange
    givenCustomer(deploymentRequested(aStandardCustomer({ id: 'northwind-logistics' })));

    // Act
    const result = await healthReported(
      'northwind-logistics',
      { criticalErrors: 4 },
      '2027-03-14T05:00:00Z',
    ).deliver();

    // Assert
    expect(result).not.toHaveProperty('rollback');
    expect(storedCustomer('northwind-logistics')).toMatchObject({
      state: 'deployment-requested',
      healthTrigger: { trigger: 'critical-errors', reportedAt: '2027-03-14T05:00:00Z' },
      lastHealthReportAt: '2027-03-14T05:00:00Z',
    });
    expect(startedExecutions()).toEqual([]);
  });

  it('starts no rollback for a healthy report, and notes when the customer was last heard from', async () => {
    deployed('northwind-logistics');

    const result = await healthReported('northwind-logistics', {}, '2027-03-14T05:00:00Z').deliver();

    expect(result).not.toHaveProperty('rollback');
    expect(startedExecutions()).toEqual([]);
    expect(storedCustomer('northwind-logistics')).toMatchObject({
      state: 'deployed',
      lastHealthReportAt: '2027-03-14T05:00:00Z',
    });
  });
});
