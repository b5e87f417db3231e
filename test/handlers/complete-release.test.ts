import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as completeRelease } from '../../lambdas/handlers/complete-release.js';
import {
  aStandardCustomer,
  deployed,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  movedOn,
  RELEASE,
  storedRelease,
} from './support/given.js';
import { emailsSent, givenTheTimeIs, resetWorld, restoreRealClock } from './support/world.js';

// "Report release": the release's totals, stored on it and told to the escalation contacts once.

beforeEach(() => {
  resetWorld();
  givenTheTimeIs('2027-04-24T07:00:00.000Z');
  process.env.ESCALATION_EMAILS = 'release-manager@securewatch.example.com';
});
afterAll(() => {
  delete process.env.ESCALATION_EMAILS;
  restoreRealClock();
});

describe('complete-release', () => {
  it('counts rolled-back customers as deployments that succeeded, then went back', async () => {
    // Prepare: two customers on the version, one rolled back, one whose deployment failed
    givenRelease('running');
    givenCustomer(deployed(aStandardCustomer({ id: 'aurora' })));
    givenCustomer(deployed(aStandardCustomer({ id: 'bluefin' })));
    givenCustomer(movedOn(deployed(aStandardCustomer({ id: 'cobalt' })), 'rolled-back', 'rollback workflow'));
    givenCustomer(
      movedOn(deploymentRequested(aStandardCustomer({ id: 'delta' })), 'failed', 'record-outcome'),
    );

    // Act
    const report = await completeRelease({ release: RELEASE });

    // Assess
    expect(report.totals).toEqual({
      customers: 4,
      deployed: 2,
      failed: 1,
      rolledBack: 1,
      rollbackFailed: 0,
      superseded: 0,
      notDeployed: 2,
      deploymentSuccessRatePercent: 75,
    });
    expect(storedRelease()?.status).toBe('completed');
    expect(emailsSent().filter((email) => email.subject.includes(RELEASE))).toHaveLength(1);
  });
});
