import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { recordDeploymentResult } from '../../lambdas/application/deployments.js';
import {
  aStandardCustomer,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  RELEASE,
  storedCustomer,
} from '../handlers/support/given.js';
import { resetWorld, restoreRealClock, tokensAnswered } from '../handlers/support/world.js';

// Recording the platform's report as an operation: reports arrive at least once and in any order.

const report = (status: 'succeeded' | 'failed') =>
  recordDeploymentResult({
    release: RELEASE,
    customerId: 'northwind-logistics',
    status,
    completedAt: '2027-03-13T02:41:00Z',
    ...(status === 'failed' ? { reason: 'database migration timed out' } : {}),
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

describe('recording a deployment result', () => {
  it('keeps the first of two conflicting reports arriving together and answers the rollout with it alone', async () => {
    // Act
    const [success, failure] = await Promise.all([report('succeeded'), report('failed')]);

    // Assess
    expect([success.recorded, failure.recorded].filter(Boolean)).toHaveLength(1);
    const kept = storedCustomer('northwind-logistics')?.deploymentStatus;
    expect(kept).toBe(success.recorded ? 'succeeded' : 'failed');
    expect(tokensAnswered()).toEqual([
      expect.objectContaining({
        token: 'deployment-token',
        outcome: kept === 'succeeded' ? 'success' : 'failure',
      }),
    ]);
  });

  it('records nothing for a customer whose deployment was never requested', async () => {
    // Prepare
    givenCustomer(aStandardCustomer());

    // Act
    const result = await report('succeeded');

    // Assess
    expect(result).toEqual({ recorded: false });
    expect(storedCustomer('northwind-logistics')?.deploymentStatus).toBeUndefined();
    expect(tokensAnswered()).toEqual([]);
  });
});
