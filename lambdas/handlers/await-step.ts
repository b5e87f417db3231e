import * as z from 'zod';
import { awaitStep } from '../application/outcomes.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  step: z.string(),
  taskToken: z.string().min(1),
});

/**
 * "Await customers" (callback): parks the release execution until every customer of the step has an
 * outcome (`halted: false` with the counters), or until a halt moves it to its awaiting-decision state
 * (`halted: true`).
 */
export const handler = taskHandler(input, async ({ release, step, taskToken }) => {
  await awaitStep(release, step, taskToken);
  return { waiting: true };
});
