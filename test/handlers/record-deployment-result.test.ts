import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as recordDeploymentResult } from '../../lambdas/handlers/record-deployment-result.js';
import { snapshotTable } from './support/fake-table.js';
import {
  aStandardCustomer,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  storedCustomer,
} from './support/given.js';
import { busEvent } from './support/when.js';
import { errorFrom, resetWorld, restoreRealClock, taskAnswerCalls, tokensAnswered } from './support/world.js';

const succeeded = (overrides: Record<string, unknown> = {}) =>
  busEvent('Deployment Succeeded', {
    schemaVersion: '1',
    correlationId: 'v1.1.0/northwind-logistics',
    customerId: 'northwind-logistics',
    version: 'v1.1.0',
    completedAt: '2027-03-13T02:41:00Z',
    ...overrides,
  });

const failed = (reason: string) =>
  busEvent('Deployment Failed', {
    schemaVersion: '1',
    correlationId: 'v1.1.0/northwind-logistics',
    customerId: 'northwind-logistics',
    version: 'v1.1.0',
    completedAt: '2027-03-13T02:55:00Z',
    reason,
  });

beforeEach(() => {
  resetWorld();
  givenRelease('running');
  givenCustomer(
    deploymentRequested(aStandardCustomer(), {
      deploymentRequestedAt: '2027-03-13T01:00:00.000Z',
      deploymentToken: 'deployment-token',
    }),
  );
});
afterAll(restoreRealClock);

describe('record-deployment-result', () => {
  it('records a Deployment Succeeded and resumes the rollout with the stored token', async () => {
    // Act
    const result = await recordDeploymentResult(succeeded());

    // Assess
    expect(result).toEqual({ recorded: true });
    // The rollout's next task (record-outcome) moves the customer on to `deployed`.
    expect(storedCustomer('northwind-logistics')).toMatchObject({
      state: 'deployment-requested',
      deploymentStatus: 'succeeded',
      deployedAt: '2027-03-13T02:41:00Z',
    });
    expect(tokensAnswered()).toEqual([
      {
        token: 'deployment-token',
        outcome: 'success',
        output: { status: 'succeeded', deployedAt: '2027-03-13T02:41:00Z' },
      },
    ]);
  });

  it('changes nothing when the same event is delivered again', async () => {
    // Prepare
    await recordDeploymentResult(succeeded());
    const tableAfterFirstDelivery = snapshotTable();

    // Act
    const result = await recordDeploymentResult(succeeded());

    // Assess
    expect(result).toEqual({ recorded: false });
    expect(tokensAnswered()).toHaveLength(1);
    expect(snapshotTable()).toEqual(tableAfterFirstDelivery);
  });

  it('records a Deployment Failed and fails the rollout task with its reason', async () => {
    // Act
    await recordDeploymentResult(failed('health check failed after migration'));

    // Assess
    expect(storedCustomer('northwind-logistics')).toMatchObject({
      deploymentStatus: 'failed',
      deploymentReason: 'health check failed after migration',
    });
    expect(tokensAnswered()).toEqual([
      {
        token: 'deployment-token',
        outcome: 'failure',
        error: 'Deployment.Failed',
        cause: 'health check failed after migration',
      },
    ]);
  });

  it('ignores a late failure report for a customer already recorded as deployed', async () => {
    // Prepare
    await recordDeploymentResult(succeeded());

    // Act
    const result = await recordDeploymentResult(failed('late duplicate from a retried pipeline'));

    // Assess
    expect(result).toEqual({ recorded: false });
    expect(storedCustomer('northwind-logistics')?.deploymentStatus).toBe('succeeded');
    expect(taskAnswerCalls()).toBe(1);
  });

  it('rejects a malformed event with a message naming the field', async () => {
    // Act
    const error = await errorFrom(() => recordDeploymentResult(succeeded({ completedAt: 'soon' })));

    // Assess
    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toContain('Deployment Succeeded');
    expect(error.message).toContain('completedAt');
    expect(taskAnswerCalls()).toBe(0);
  });

  it('rejects an event with a field the contract does not know', async () => {
    // Act
    const error = await errorFrom(() => recordDeploymentResult(succeeded({ durationSeconds: 73 })));

    // Assess
    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toContain('durationSeconds');
  });

  it('rejects an event whose correlation id names another customer', async () => {
    // Act
    const error = await errorFrom(() =>
      recordDeploymentResult(succeeded({ correlationId: 'v1.1.0/contoso-bank' })),
    );

    // Assess
    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toContain('correlationId v1.1.0/contoso-bank does not name northwind-logistics');
    expect(storedCustomer('northwind-logistics')?.deploymentStatus).toBe('requested');
    expect(taskAnswerCalls()).toBe(0);
  });
});
