import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { releaseLifecycle } from '../../lambdas/events/contract.js';
import { handler as awaitStep } from '../../lambdas/handlers/await-step.js';
import { handler as recordOutcome } from '../../lambdas/handlers/record-outcome.js';
import { counterShardOf } from '../../lambdas/store/steps.js';
import { dynamoMock, updateItem } from './support/fake-table.js';
import {
  aStandardCustomer,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  givenStep,
  RELEASE,
  storedCustomer,
  storedStep,
} from './support/given.js';
import {
  errorFrom,
  eventsPublished,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  tokensAnswered,
} from './support/world.js';

// Outcomes are given with the reason or error the customer-rollout workflow passes along with them.
const northwindFailed = {
  release: RELEASE,
  customerId: 'northwind-logistics',
  outcome: 'failed' as const,
  error: { Error: 'Deployment.Failed', Cause: 'health check failed after migration' },
};
const fabrikamHeld = {
  release: RELEASE,
  customerId: 'fabrikam',
  outcome: 'held' as const,
  reason: 'no maintenance window opens before the policy deadline',
};

beforeEach(() => {
  resetWorld();
  givenTheTimeIs('2027-03-14T06:00:00.000Z');
  givenRelease('running');
  // Northwind's deployment was requested; Fabrikam, notified, never found a window.
  givenCustomer(deploymentRequested(aStandardCustomer({ id: 'northwind-logistics' })));
  givenCustomer(aStandardCustomer({ id: 'fabrikam', name: 'Fabrikam' }));
  givenStep('standard_2', { total: 2 });
});
afterAll(restoreRealClock);

// Where Northwind's outcome is counted: its counter shard of the step.
const northwindCounterShard = {
  PK: `RELEASE#${RELEASE}#SHARD#${counterShardOf('northwind-logistics')}`,
  SK: 'STEP#standard_2',
};

const waitForStep = (taskToken: string) => awaitStep({ release: RELEASE, step: 'standard_2', taskToken });

describe('record-outcome and await-step', () => {
  it('counts an outcome on retry when the first run failed to update the step', async () => {
    // Prepare
    dynamoMock
      .on(UpdateCommand, { Key: northwindCounterShard })
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    // Act
    const firstRun = await errorFrom(() => recordOutcome(northwindFailed));
    dynamoMock.on(UpdateCommand, { Key: northwindCounterShard }).callsFake(updateItem);
    await recordOutcome(northwindFailed);
    await recordOutcome(northwindFailed);

    // Assess
    expect(firstRun.name).toBe('Transient');
    expect(storedStep('standard_2')).toMatchObject({ recorded: 1, failed: 1 });
  });

  it('records a customer outcome with its reason and counts it on the step', async () => {
    // Act
    await recordOutcome(northwindFailed);

    // Assess
    const customer = storedCustomer('northwind-logistics');
    expect(customer).toMatchObject({
      state: 'failed',
      outcomeReason: 'health check failed after migration',
    });
    expect(customer?.history.at(-1)).toEqual({
      state: 'failed',
      at: '2027-03-14T06:00:00.000Z',
      by: 'customer rollout',
      reason: 'health check failed after migration',
    });
    expect(storedStep('standard_2')).toMatchObject({ total: 2, recorded: 1, failed: 1 });
  });

  it('records a deployed outcome, which the workflow sends without a reason', async () => {
    // Act
    await recordOutcome({ release: RELEASE, customerId: 'northwind-logistics', outcome: 'deployed' });

    // Assess
    expect(storedCustomer('northwind-logistics')?.state).toBe('deployed');
    expect(storedCustomer('northwind-logistics')?.history.at(-1)).toEqual({
      state: 'deployed',
      at: '2027-03-14T06:00:00.000Z',
      by: 'customer rollout',
    });
    expect(storedStep('standard_2')).toMatchObject({ recorded: 1, deployed: 1 });
  });

  it('keeps the release waiting while customers of the step are still outstanding', async () => {
    // Prepare
    await waitForStep('step-token');

    // Act
    await recordOutcome(northwindFailed);

    // Assess
    expect(tokensAnswered()).toEqual([]);
    expect(eventsPublished()).toEqual([]);
  });

  it('resumes the waiting release once the last customer of the step has its outcome', async () => {
    // Prepare
    await waitForStep('step-token');
    await recordOutcome(northwindFailed);

    // Act
    await recordOutcome(fabrikamHeld);

    // Assess
    expect(tokensAnswered()).toEqual([
      {
        token: 'step-token',
        outcome: 'success',
        output: {
          halted: false,
          total: 2,
          deployed: 0,
          failed: 1,
          rejected: 0,
          deferred: 0,
          held: 1,
          cancelled: 0,
          superseded: 0,
        },
      },
    ]);
  });

  it('announces the completed batch once, in the shape of the event contract', async () => {
    // Prepare
    await waitForStep('step-token');
    await recordOutcome(northwindFailed);
    await recordOutcome(fabrikamHeld);

    // Act
    await recordOutcome(fabrikamHeld);

    // Assess
    const published = eventsPublished();
    expect(published.map((event) => event.detailType)).toEqual(['Batch Completed']);
    expect(releaseLifecycle.parse(published[0]?.detail)).toEqual({
      schemaVersion: '1',
      release: RELEASE,
      at: '2027-03-14T06:00:00.000Z',
      batch: 'standard_2',
      summary: {
        total: 2,
        deployed: 0,
        failed: 1,
        rejected: 0,
        deferred: 0,
        held: 1,
        cancelled: 0,
        superseded: 0,
      },
    });
  });

  it('does not count a repeated outcome twice', async () => {
    // Prepare
    await waitForStep('step-token');
    await recordOutcome(northwindFailed);

    // Act
    await recordOutcome(northwindFailed);

    // Assess
    expect(storedStep('standard_2')).toMatchObject({ recorded: 1, failed: 1 });
    expect(tokensAnswered()).toEqual([]);
  });

  it('resumes the release only once when the last outcome is delivered again', async () => {
    // Prepare
    await waitForStep('step-token');
    await recordOutcome(northwindFailed);
    await recordOutcome(fabrikamHeld);

    // Act
    await recordOutcome(fabrikamHeld);

    // Assess
    expect(tokensAnswered()).toHaveLength(1);
    expect(storedStep('standard_2')).toMatchObject({ recorded: 2, failed: 1, held: 1 });
  });

  it('lets await-step resume at once when every outcome arrived before it', async () => {
    // Prepare
    await recordOutcome(northwindFailed);
    await recordOutcome(fabrikamHeld);

    // Act
    await waitForStep('late-step-token');

    // Assess
    expect(tokensAnswered()).toEqual([
      {
        token: 'late-step-token',
        outcome: 'success',
        output: {
          halted: false,
          total: 2,
          deployed: 0,
          failed: 1,
          rejected: 0,
          deferred: 0,
          held: 1,
          cancelled: 0,
          superseded: 0,
        },
      },
    ]);
  });

  it('lets a retried await-step park its new token without resuming early', async () => {
    // Prepare
    await waitForStep('step-token');

    // Act
    await waitForStep('step-token-retry');
    await recordOutcome(northwindFailed);
    await recordOutcome(fabrikamHeld);

    // Assess
    expect(tokensAnswered().map((answer) => answer.token)).toEqual(['step-token-retry']);
  });
});
