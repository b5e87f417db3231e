import * as z from 'zod';
import { remindWhilePaused } from '../application/pause.js';
import { taskHandler } from '../shared/task.js';

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
export const handler = taskHandler(input, ({ release, ...execution }) =>
  remindWhilePaused(release, execution),
);
