import * as z from 'zod';
import { decisionOutput } from '../application/halt.js';
import { countMetric, logger } from '../shared/observability.js';
import { resumeWithSuccess } from '../shared/step-functions.js';
import { taskHandler } from '../shared/task.js';
import { updateRelease } from '../store/releases.js';

const input = z.strictObject({
  release: z.string(),
  /** The state the release parks in, for the operator ("Standard · batch 2 of 4 · halted, awaiting decision"). */
  state: z.string(),
  taskToken: z.string().min(1),
});

/**
 * "… awaiting decision" (callback): the release execution parks here while halted or after a failed gate,
 * until `resume` answers `{ decision: "resume" }` or `abort` answers `{ decision: "abort" }`. A pause never
 * decides by itself.
 */
export const handler = taskHandler(input, async ({ release, state, taskToken }) => {
  // Decided while this was being parked: answer at once, as the decision would have.
  const record = await updateRelease(release, { decisionToken: taskToken, parkedAt: state });
  if (record.status === 'halted' || record.status === 'paused') {
    countMetric(record.status === 'halted' ? 'ReleaseHalts' : 'ReleasePauses');
    logger.warn(`Release ${record.status}, awaiting a decision`, {
      state,
      reason: record.pause?.reason ?? null,
    });
  }
  if (record.status === 'running') await resumeWithSuccess(taskToken, await decisionOutput(record, 'resume'));
  if (record.status === 'aborted') await resumeWithSuccess(taskToken, await decisionOutput(record, 'abort'));
  return { parked: state };
});
