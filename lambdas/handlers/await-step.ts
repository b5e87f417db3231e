import { z } from 'zod';
import { resumeWithSuccess } from '../shared/step-functions.js';
import { taskHandler } from '../shared/task.js';
import { setStepWaitToken } from '../store/release-store.js';

const input = z.strictObject({
  release: z.string(),
  step: z.string(),
  taskToken: z.string().min(1),
});

/**
 * "Await customers" (callback): parks the release execution until every customer of the step has an
 * outcome. The last outcome resumes it (record-outcome); if they are all in already, this does.
 */
export const handler = taskHandler(input, async ({ release, step, taskToken }) => {
  const counters = await setStepWaitToken(release, step, taskToken);
  if (counters.recorded >= counters.total) await resumeWithSuccess(taskToken, stepSummary(counters));
  return { waiting: true };
});

export function stepSummary(counters: {
  total: number;
  deployed: number;
  failed: number;
  rejected: number;
  deferred: number;
  held: number;
}) {
  const { total, deployed, failed, rejected, deferred, held } = counters;
  return { total, deployed, failed, rejected, deferred, held };
}
