import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { resume } from '../../lambdas/application/halt.js';
import { recordOutcome } from '../../lambdas/application/outcomes.js';
import { parkRollout } from '../../lambdas/store/customers.js';
import { updateRelease } from '../../lambdas/store/releases.js';
import {
  anEnterpriseCustomer,
  awaitingApproval,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  givenStep,
  RELEASE,
  storedRelease,
  storedStep,
} from '../handlers/support/given.js';
import {
  emailsSent,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  tokensAnswered,
} from '../handlers/support/world.js';

// Resuming a paused release, and the gate after each customer of a one-at-a-time (enterprise) step.

const operator = { reason: 'the cause is understood and fixed', by: 'oncall@securewatch.example.com' };
const NOW = '2027-04-01T09:00:00.000Z';

beforeEach(() => {
  resetWorld();
  givenTheTimeIs(NOW);
});
afterAll(() => {
  delete process.env.ESCALATION_EMAILS;
  restoreRealClock();
});

describe('resuming a release', () => {
  it('lets a rollout parked before its approval wait only until its policy deadline, not a full wait again', async () => {
    // Arrange
    givenRelease('halted');
    const customer = givenCustomer(
      awaitingApproval(anEnterpriseCustomer({ deadlineAt: '2027-04-22T09:00:00Z' })),
    );
    await parkRollout(RELEASE, { customerId: customer.id, token: 'parked-token', since: NOW });

    // Act
    await resume({ release: RELEASE }, operator);

    // Assert
    expect(tokensAnswered()).toContainEqual({
      token: 'parked-token',
      outcome: 'success',
      output: { decision: 'resume', approvalTimeoutSeconds: 21 * 86_400 },
    });
  });

  it('lets parked rollouts go on in the order they were parked, so the longest waiting picks its window first', async () => {
    // Arrange: three customers parked an hour apart, their ids in another order (and partitions)
    givenRelease('halted');
    const parkedAt = ['meridian-pharma', 'atlas-insurance-group', 'zenith-bank'];
    for (const [hour, id] of parkedAt.entries()) {
      givenCustomer(
        awaitingApproval(anEnterpriseCustomer({ id, name: id, deadlineAt: '2027-04-22T09:00:00Z' })),
      );
      await parkRollout(RELEASE, {
        customerId: id,
        token: `token-${id}`,
        since: `2027-03-30T0${hour}:00:00.000Z`,
      });
    }

    // Act
    await resume({ release: RELEASE }, operator);

    // Assert
    expect(tokensAnswered().map((answer) => answer.token)).toEqual(parkedAt.map((id) => `token-${id}`));
  });

  it('tells the parked release execution how long its step wait still goes on', async () => {
    // Arrange
    givenRelease('halted');
    givenStep('enterprise', { total: 8, waitUntil: '2027-05-02T15:00:00Z' });
    await updateRelease(RELEASE, { awaitingStep: 'enterprise', decisionToken: 'release-token' });

    // Act
    await resume({ release: RELEASE }, operator);

    // Assert
    expect(tokensAnswered()).toContainEqual({
      token: 'release-token',
      outcome: 'success',
      output: { decision: 'resume', ...operator, waitSeconds: 31 * 86_400 + 6 * 3_600 },
    });
  });

  it('accepts the failures of the gate it resumes past, so no later gate counts them again', async () => {
    // Arrange
    givenRelease('paused');
    givenStep('standard_1', { total: 5, recorded: 5, deployed: 3, failed: 2 });

    // Act
    await resume({ release: RELEASE }, operator);

    // Assert
    expect(storedStep('standard_1')).toMatchObject({
      failed: 2,
      acceptedFailed: 2,
      acceptedHealth: { criticalErrors: 0, customersWithSecurityFindings: 0, customersDegraded: 0 },
    });
    expect(storedRelease()).toMatchObject({ status: 'running' });
  });
});

describe('a one-at-a-time step whose customer fails to deploy', () => {
  const customer = anEnterpriseCustomer();
  const failed = () =>
    recordOutcome(RELEASE, customer.id, 'failed', { by: 'record-outcome', reason: 'migration failed' });

  beforeEach(() => {
    process.env.ESCALATION_EMAILS = 'release-managers@securewatch.example.com';
    givenRelease('running');
    givenStep('enterprise', {
      total: 8,
      recorded: 1,
      deployed: 1,
      oneAtATime: true,
      waitToken: 'step-token',
    });
    givenCustomer(deploymentRequested(customer));
  });

  it('pauses the release before the next customer deploys and moves the execution to its decision', async () => {
    // Act
    await failed();

    // Assert
    expect(storedRelease()).toMatchObject({
      status: 'paused',
      pause: { kind: 'gate-failed', by: `gate#enterprise#${customer.id}`, steps: ['enterprise'] },
    });
    expect(storedRelease()?.pause?.reason).toContain(`${customer.id} failed to deploy (migration failed)`);
    expect(tokensAnswered()).toEqual([
      { token: 'step-token', outcome: 'success', output: { halted: true, customerFailed: true } },
    ]);
    expect(emailsSent().map((email) => email.subject)).toEqual([`PAUSED: SecureWatch ${RELEASE} rollout`]);
  });

  it('pauses once: a retried recording after the operator resumed does not pause again', async () => {
    // Arrange
    await failed();
    await resume({ release: RELEASE }, operator);

    // Act
    await failed();

    // Assert
    expect(storedRelease()).toMatchObject({ status: 'running' });
    expect(storedStep('enterprise')).toMatchObject({ recorded: 2, failed: 1, acceptedFailed: 1 });
  });
});

describe('resuming a halted release whose one-at-a-time customer failed meanwhile', () => {
  it('pauses it again at once, awaiting a decision on that failure, before the next customer deploys', async () => {
    // Arrange
    givenRelease('halted');
    givenStep('enterprise', { total: 8, recorded: 2, deployed: 1, failed: 1, oneAtATime: true });
    await updateRelease(RELEASE, { awaitingStep: 'enterprise', decisionToken: 'release-token' });
    const customer = givenCustomer(awaitingApproval(anEnterpriseCustomer()));
    await parkRollout(RELEASE, { customerId: customer.id, token: 'parked-token', since: NOW });

    // Act
    await resume({ release: RELEASE }, operator);

    // Assert
    expect(storedRelease()).toMatchObject({
      status: 'paused',
      pause: { kind: 'gate-failed', steps: ['enterprise'] },
    });
    expect(tokensAnswered().map((answer) => answer.token)).toEqual(['release-token']);
  });
});
