import { DateTime } from 'luxon';
import * as z from 'zod';
import { releaseControl } from '../email/messages.js';
import { now } from '../shared/clock.js';
import { PauseTimeLimitError } from '../shared/errors.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { oncePerRelease } from '../shared/once.js';
import { taskHandler } from '../shared/task.js';
import { requireRelease } from '../store/releases.js';

const input = z.strictObject({
  release: z.string(),
  state: z.string(),
  executionStartedAt: z.string(),
  executionTimeLimitSeconds: z.number().positive(),
  reminderIntervalSeconds: z.number().positive(),
});

/**
 * "… remind escalation contacts": a pause has lasted another reminder interval without a decision. Reminds
 * the escalation contacts, once per interval; when the execution's own time limit is less than two
 * intervals away, fails with `Release.TimeLimit` so the workflow ends the release as aborted, with the reason.
 */
export const handler = taskHandler(
  input,
  async ({ release, state, executionStartedAt, executionTimeLimitSeconds, reminderIntervalSeconds }) => {
    const record = await requireRelease(release);
    const at = DateTime.fromISO(now());
    const limit = DateTime.fromISO(executionStartedAt).plus({ seconds: executionTimeLimitSeconds });
    if (at.plus({ seconds: 2 * reminderIntervalSeconds }) >= limit)
      throw new PauseTimeLimitError(
        `no decision before the execution's time limit (${limit.toUTC().toISO()}); paused since ${record.pause?.since ?? 'unknown'}: ${record.pause?.reason ?? 'no reason recorded'}`,
      );
    const since = record.pause?.since ?? record.schedule.startAt;
    const interval = Math.floor(at.diff(DateTime.fromISO(since)).as('seconds') / reminderIntervalSeconds);
    await oncePerRelease(release, `reminded#${since}#${interval}`, () =>
      emailEscalationContacts(
        release,
        'reminder',
        releaseControl({
          release,
          what: 'still paused',
          reason: record.pause?.reason ?? 'awaiting a decision',
          by: record.pause?.by ?? 'the release workflow',
          next: `The release waits at "${state}" since ${since} until someone resumes or aborts it.`,
        }),
      ),
    );
    return { reminded: true };
  },
);
