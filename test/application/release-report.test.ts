import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { completeRelease } from '../../lambdas/application/release-report.js';
import { itemsReadByQueries } from '../handlers/support/fake-table.js';
import {
  givenRelease,
  givenScheduledSteps,
  givenStep,
  RELEASE,
  storedRelease,
} from '../handlers/support/given.js';
import {
  emailsSent,
  eventsPublished,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
} from '../handlers/support/world.js';

// The release completes: its totals, stored on it, told to the escalation contacts and announced once.

beforeEach(() => {
  resetWorld();
  givenTheTimeIs('2027-04-24T07:00:00.000Z');
  process.env.ESCALATION_EMAILS = 'release-manager@securewatch.example.com';
});
afterAll(() => {
  delete process.env.ESCALATION_EMAILS;
  restoreRealClock();
});

describe('completing a release', () => {
  it('counts rolled-back customers as deployments that succeeded, then went back', async () => {
    // Prepare: as its step counted them, two customers on the version, one rolled back, one whose
    // deployment failed
    givenRelease('running');
    givenScheduledSteps({ standard_2: 4 });
    givenStep('standard_2', { total: 4, recorded: 4, deployed: 3, failed: 1, rolledBack: 1 });

    // Act
    const report = await completeRelease(RELEASE);

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

  it('keeps its report, email and announcement when run a second time', async () => {
    givenRelease('running');
    givenScheduledSteps({ standard_2: 2 });
    givenStep('standard_2', { total: 2, recorded: 2, deployed: 2 });
    const first = await completeRelease(RELEASE);
    givenTheTimeIs('2027-04-24T08:00:00.000Z');

    const second = await completeRelease(RELEASE);

    expect(second).toEqual(first);
    expect(storedRelease()?.report).toEqual(first);
    expect(emailsSent().filter((email) => email.subject.includes(RELEASE))).toHaveLength(1);
    expect(eventsPublished().filter((event) => event.detailType === 'Release Completed')).toHaveLength(1);
  });
});
