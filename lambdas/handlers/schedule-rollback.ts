import * as z from 'zod';
import { scheduleRollback } from '../application/rollback-workflow.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({ release: z.string(), customerId: z.string() });

/** "Find next maintenance window": the approved rollback runs in the customer's next window. */
export const handler = taskHandler(input, ({ release, customerId }) => scheduleRollback(release, customerId));
