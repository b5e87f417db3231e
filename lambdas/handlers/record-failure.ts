import * as z from 'zod';
import { recordReleaseFailure } from '../application/failure.js';
import { describeFailure } from '../shared/failure.js';
import { logger } from '../shared/observability.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  reason: z.string().optional(),
  failure: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/**
 * "Record failure": the release cannot go on (a task failed beyond its retries). Records why and tells the
 * escalation contacts once; the execution ends in "Release failed".
 */
export const handler = taskHandler(input, async ({ release, reason, failure }) => {
  const recorded = await recordReleaseFailure(
    release,
    reason || describeFailure(failure) || 'failed without a recorded reason',
  );
  logger.error('Release failed', { reason: recorded.reason });
  return recorded;
});
