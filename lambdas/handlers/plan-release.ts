import * as z from 'zod';
import { type RecordedPlan, recordPlanInChunks } from '../application/plan.js';
import { UserFacingError } from '../core/errors.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  version: z.string(),
  startAt: z.iso.datetime({ offset: true }),
});

/**
 * "Plan release": plans from the fleet in the table and the deployed policies, records the release, its
 * steps and the plan in chunks, once; returns the chunks' numbers for the "write plan" Map, never customers.
 */
export const handler = taskHandler(input, async ({ version, startAt }): Promise<RecordedPlan> => {
  try {
    return await recordPlanInChunks(version, startAt);
  } catch (error) {
    if (error instanceof UserFacingError) throw new InvalidTaskInputError(error.message);
    throw error;
  }
});
