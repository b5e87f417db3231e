import * as z from 'zod';
import { checkRollbackHealth } from '../application/rollback-workflow.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({ release: z.string(), customerId: z.string() });

/** "Validate health after rollback", "Check health after monitoring": the reports since the rollback. */
export const handler = taskHandler(input, ({ release, customerId }) =>
  checkRollbackHealth(release, customerId),
);
