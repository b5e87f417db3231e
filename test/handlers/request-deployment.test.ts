import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { deploymentRequested as deploymentRequestedEvent } from '../../lambdas/events/contract.js';
import { handler as requestDeployment } from '../../lambdas/handlers/request-deployment.js';
import {
  aStandardCustomer,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  notYetNoticed,
  RELEASE,
  scheduled,
  storedCustomer,
} from './support/given.js';
import {
  errorFrom,
  eventsPublished,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  tokensAnswered,
} from './support/world.js';

const NOTIFIED = { noticeAt: '2027-03-05T09:00:00Z', noticeSentAt: '2027-03-05T09:00:00Z' };
const DEPLOY_TIME = '2027-03-13T01:00:00.000Z';

beforeEach(() => {
  resetWorld();
  givenRelease('running');
  givenTheTimeIs(DEPLOY_TIME);
});
afterAll(restoreRealClock);

const request = (taskToken: string) =>
  requestDeployment({ release: RELEASE, customerId: 'northwind-logistics', taskToken });

describe('request-deployment', () => {
  it('publishes exactly one Deployment Requested that follows the event contract', async () => {
    // Prepare
    givenCustomer(scheduled(aStandardCustomer(NOTIFIED)));

    // Act
    const result = await request('token-1');

    // Assess
    expect(result).toEqual({ requested: true });
    const published = eventsPublished();
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      detailType: 'Deployment Requested',
      source: 'securewatch.release-orchestrator',
      bus: 'securewatch-release-bus',
    });
    expect(deploymentRequestedEvent.parse(published[0]?.detail)).toEqual({
      schemaVersion: '1',
      correlationId: 'v1.1.0/northwind-logistics',
      release: RELEASE,
      version: RELEASE,
      customerId: 'northwind-logistics',
      phase: 'standard',
      batch: 2,
      requestedAt: DEPLOY_TIME,
      reportBy: '2027-03-13T07:00:00.000Z',
    });
    const customer = storedCustomer('northwind-logistics');
    expect(customer).toMatchObject({
      state: 'deployment-requested',
      deploymentStatus: 'requested',
      deploymentToken: 'token-1',
    });
    expect(customer?.history.at(-1)).toEqual({
      state: 'deployment-requested',
      at: DEPLOY_TIME,
      by: 'request-deployment',
    });
  });

  it('publishes nothing when run again, but parks the new task token', async () => {
    // Prepare
    givenCustomer(scheduled(aStandardCustomer(NOTIFIED)));
    await request('token-1');
    givenTheTimeIs('2027-03-13T01:00:30.000Z');

    // Act
    const result = await request('token-2');

    // Assess
    expect(result).toEqual({ requested: false });
    expect(eventsPublished()).toHaveLength(1);
    const customer = storedCustomer('northwind-logistics');
    expect(customer).toMatchObject({
      state: 'deployment-requested',
      deploymentStatus: 'requested',
      deploymentRequestedAt: DEPLOY_TIME,
      deploymentToken: 'token-2',
    });
    expect(customer?.history.filter((entry) => entry.state === 'deployment-requested')).toHaveLength(1);
  });

  it('refuses with Notice.LeadTime while the notice lead time has not elapsed', async () => {
    // Prepare
    givenCustomer(scheduled(aStandardCustomer(NOTIFIED)));
    givenTheTimeIs('2027-03-12T08:59:59.000Z');

    // Act
    const error = await errorFrom(() => request('token-1'));

    // Assess
    expect(error.name).toBe('Notice.LeadTime');
    expect(error.message).toContain('7 days must pass');
    expect(eventsPublished()).toEqual([]);
    expect(storedCustomer('northwind-logistics')).toMatchObject({ state: 'scheduled' });
    expect(storedCustomer('northwind-logistics')?.deploymentStatus).toBeUndefined();
  });

  it('refuses with Notice.LeadTime when the advance notice was never sent', async () => {
    // Prepare
    givenCustomer(scheduled(notYetNoticed(aStandardCustomer({ noticeAt: '2027-03-05T09:00:00Z' }))));

    // Act
    const error = await errorFrom(() => request('token-1'));

    // Assess
    expect(error.name).toBe('Notice.LeadTime');
    expect(eventsPublished()).toEqual([]);
  });

  it('resumes the task at once for a customer whose deployment already succeeded', async () => {
    // Prepare
    givenCustomer(
      deploymentRequested(aStandardCustomer(NOTIFIED), {
        deploymentRequestedAt: '2027-03-13T01:00:00.000Z',
        deploymentStatus: 'succeeded',
        deployedAt: '2027-03-13T02:41:00Z',
      }),
    );

    // Act
    const result = await request('token-after-redrive');

    // Assess
    expect(result).toEqual({ alreadyReported: true });
    expect(tokensAnswered()).toEqual([
      {
        token: 'token-after-redrive',
        outcome: 'success',
        output: { status: 'succeeded', deployedAt: '2027-03-13T02:41:00Z' },
      },
    ]);
    expect(eventsPublished()).toEqual([]);
  });

  it('fails the task at once with Deployment.Failed for a customer whose deployment already failed', async () => {
    // Prepare
    givenCustomer(
      deploymentRequested(aStandardCustomer(NOTIFIED), {
        deploymentStatus: 'failed',
        deploymentReason: 'database migration timed out',
      }),
    );

    // Act
    await request('token-after-redrive');

    // Assess
    expect(tokensAnswered()).toEqual([
      {
        token: 'token-after-redrive',
        outcome: 'failure',
        error: 'Deployment.Failed',
        cause: 'database migration timed out',
      },
    ]);
    expect(eventsPublished()).toEqual([]);
  });

  it('publishes nothing once the release is halted', async () => {
    // Prepare
    givenRelease('halted');
    givenCustomer(scheduled(aStandardCustomer(NOTIFIED)));

    // Act
    const error = await errorFrom(() => request('token-1'));

    // Assess
    expect(error.name).toBe('Release.Halted');
    expect(error.message).toBe('customer reports under investigation');
    expect(eventsPublished()).toEqual([]);
    expect(storedCustomer('northwind-logistics')).toMatchObject({ state: 'scheduled' });
    expect(storedCustomer('northwind-logistics')?.deploymentToken).toBeUndefined();
  });
});
