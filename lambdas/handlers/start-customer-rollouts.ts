import * as z from 'zod';
import { startStepRollouts } from '../application/customer-rollouts.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  step: z.string(),
  customerStateMachineArn: z.string().startsWith('arn:'),
  /** One rollout chunk of the step, from the Map; absent, the step's first chunk (and the others listed). */
  chunk: z.int().min(0).optional(),
});

/**
 * "Start customer rollouts": one child execution per customer of a chunk of the step, each named after its
 * customer. Called for the step, it starts the step's first chunk and lists the others (`moreChunks`) for
 * the Map that starts them in parallel, one invocation each. The members are read strongly consistent;
 * every one of them ends with an execution (started now or found running for that customer) or recorded
 * `failed` with the reason, never skipped.
 */
export const handler = taskHandler(input, ({ release, step, customerStateMachineArn, chunk }) =>
  startStepRollouts(release, step, customerStateMachineArn, chunk),
);
