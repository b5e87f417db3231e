import * as z from 'zod';
import { parkHaltedRollout } from '../application/control.js';
import { countMetric, logger } from '../shared/observability.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  taskToken: z.string().min(1),
});

/** "… postponed · halted, awaiting decision" (callback): the rollout waits for resume or abort. */
export const handler = taskHandler(input, async ({ release, customerId, taskToken }) => {
  await parkHaltedRollout(release, customerId, taskToken);
  countMetric('RolloutHalts');
  logger.info('Rollout halted, awaiting a decision');
  return { parked: true };
});
