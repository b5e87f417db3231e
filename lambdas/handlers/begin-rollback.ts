import * as z from 'zod';
import { beginRollback } from '../application/rollback-workflow.js';
import { ROLLBACK_TRIGGERS } from '../core/rollback.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  trigger: z.enum(ROLLBACK_TRIGGERS),
  reason: z.string().min(1).max(2000),
});

/** "Begin rollback": the customer is being rolled back, and its policy's process says how. */
export const handler = taskHandler(input, (start) => beginRollback(start));
