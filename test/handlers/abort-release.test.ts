import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as abortRelease } from '../../lambdas/handlers/abort-release.js';
import { givenRelease, RELEASE, storedRelease } from './support/given.js';
import { errorFrom, givenTheTimeIs, resetWorld, restoreRealClock } from './support/world.js';

// "Abort release": the caught error that led here becomes the abort's reason, its message only.

beforeEach(() => {
  resetWorld();
  givenTheTimeIs('2027-04-28T10:00:00.000Z');
});
afterAll(restoreRealClock);

describe('abort-release', () => {
  it('aborts with the caught error’s name and message as the reason, never its stack', async () => {
    givenRelease('paused');
    const failure = {
      Error: 'Release.TimeLimit',
      Cause: JSON.stringify({
        errorType: 'Release.TimeLimit',
        errorMessage: 'no decision before the execution’s time limit',
        trace: ['Release.TimeLimit: no decision', '    at remindWhilePaused (/var/task/index.mjs:1:2)'],
      }),
    };

    const result = await abortRelease({ release: RELEASE, failure });

    const reason = 'Release.TimeLimit: no decision before the execution’s time limit';
    expect(result).toEqual({ aborted: true, reason });
    expect(storedRelease()).toMatchObject({ status: 'aborted', abortReason: reason });
  });

  it('aborts with the workflow’s own reason when no error led here', async () => {
    givenRelease('halted');

    const result = await abortRelease({ release: RELEASE });

    expect(result).toEqual({ aborted: true, reason: 'aborted by the release workflow' });
  });

  it('refuses a failure that is not a caught error as InvalidTaskInput, aborting nothing', async () => {
    givenRelease('paused');

    const error = await errorFrom(() => abortRelease({ release: RELEASE, failure: 'timed out' }));

    expect(error.name).toBe('InvalidTaskInput');
    expect(error.message).toContain('failure');
    expect(storedRelease()?.status).toBe('paused');
  });
});
