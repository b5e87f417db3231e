import * as z from 'zod';
import { writePlanChunk } from '../application/plan.js';
import { logger } from '../shared/observability.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  chunk: z.int().min(0),
});

/** "Write plan chunk": writes one chunk's customers and step members, those not written yet. */
export const handler = taskHandler(input, async ({ release, chunk }) => {
  const result = await writePlanChunk(release, chunk);
  logger.info('Plan chunk written', { chunk, ...result });
  return result;
});
