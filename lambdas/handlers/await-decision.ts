import * as z from 'zod';
import { awaitDecision } from '../application/halt.js';
import { taskHandler } from '../shared/task.js';

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
  await awaitDecision(release, state, taskToken);
  return { parked: state };
});
