import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as completeRelease } from '../../lambdas/handlers/complete-release.js';
import { itemsReadByQueries } from './support/fake-table.js';
import { givenRelease, givenScheduledSteps, givenStep, RELEASE, storedRelease } from './support/given.js';
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
    // Prepare: as its step counted them, two customers on the version, one rolled back, one whose
    // deployment failed
    givenRelease('running');
    givenScheduledSteps({ standard_2: 4 });
    givenStep('standard_2', { total: 4, recorded: 4, deployed: 3, failed: 1, rolledBack: 1 });

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
    expect(report.phases).toEqual({
      standard: {
        deployed: 2,
        'rolled-back': 1,
        failed: 1,
        rejected: 0,
        deferred: 0,
        held: 0,
        cancelled: 0,
        superseded: 0,
      },
    });
    // From the counters: not one customer read, whatever the fleet's size.
    expect(itemsReadByQueries()).toBe(0);
    expect(storedRelease()?.status).toBe('completed');
    expect(emailsSent().filter((email) => email.subject.includes(RELEASE))).toHaveLength(1);
  });
});
