import * as z from 'zod';
import { planAndRecordRelease } from '../application/plan.js';
import { UserFacingError } from '../core/errors.js';
import type { ReleaseSchedule } from '../core/rollout-shape.js';
import { InvalidTaskInputError } from '../shared/errors.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  version: z.string(),
  startAt: z.iso.datetime({ offset: true }),
});

/** "Plan release": plans from the fleet in the table and the deployed policies, records the plan, once. */
export const handler = taskHandler(input, async ({ version, startAt }): Promise<ReleaseSchedule> => {
  try {
    return await planAndRecordRelease(version, startAt);
  } catch (error) {
    if (error instanceof UserFacingError) throw new InvalidTaskInputError(error.message);
    throw error;
  }
});
