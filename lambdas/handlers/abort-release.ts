import * as z from 'zod';
import { endAborted } from '../application/halt.js';
import { describeFailure } from '../shared/failure.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  failure: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/**
 * "Abort release": the release ends here, by an operator's abort or a pause that outlived the execution's
 * time limit. Every customer not yet deployed ends `cancelled`; the people concerned are told, once.
 */
export const handler = taskHandler(input, ({ release, failure }) =>
  endAborted(release, describeFailure(failure)),
);
