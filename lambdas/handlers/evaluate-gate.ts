import * as z from 'zod';
import { evaluateGateOf } from '../application/gates.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  phase: z.string(),
  /** A step key gates one batch; without it the whole phase is gated. */
  step: z.string().optional(),
});

/**
 * "Gate": passes only on evidence that the step's (or phase's) customers run the version well, as kept on
 * its steps; a failed or inconclusive gate pauses the release, awaiting a decision (application/gates.ts).
 */
export const handler = taskHandler(input, async ({ release, phase, step }) =>
  evaluateGateOf(release, phase, step),
);
