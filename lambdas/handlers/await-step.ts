import { z } from 'zod';
import { resumeIfStepComplete } from '../shared/step-completion.js';
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
  await setStepWaitToken(release, step, taskToken);
  await resumeIfStepComplete(release, step);
  return { waiting: true };
});
