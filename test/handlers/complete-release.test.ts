import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as completeRelease } from '../../lambdas/handlers/complete-release.js';
import { givenRelease, givenScheduledSteps, givenStep, RELEASE, storedRelease } from './support/given.js';
import { emailsSent, errorFrom, givenTheTimeIs, resetWorld, restoreRealClock } from './support/world.js';

// "Report release": completes the release and answers the workflow with its report.

beforeEach(() => {
  resetWorld();
  givenTheTimeIs('2027-04-24T07:00:00.000Z');
});
afterAll(restoreRealClock);

describe('complete-release', () => {
  it('answers with the report it stored on the completed release', async () => {
    givenRelease('running');
    givenScheduledSteps({ standard_2: 2 });
    givenStep('standard_2', { total: 2, recorded: 2, deployed: 2 });

    const report = await completeRelease({ release: RELEASE });

    expect(storedRelease()).toMatchObject({ status: 'completed', report });
    expect(report).toMatchObject({ release: RELEASE, totals: { customers: 2, deployed: 2 } });
  });

  it('refuses an input without a release as InvalidTaskInput, completing nothing', async () => {
    givenRelease('running');

    const error = await errorFrom(() => completeRelease({ version: RELEASE }));

    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toContain('release');
    expect(storedRelease()?.status).toBe('running');
    expect(emailsSent()).toEqual([]);
  });
});
