import * as z from 'zod';
import { notifyRollback } from '../application/rollback-workflow.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  notice: z.enum(['proposed', 'rolled-back', 'follow-up', 'incident-report']),
});

/** "Tell customer · …", "Send follow-up", "Send incident report": one email of each kind per customer. */
export const handler = taskHandler(input, ({ release, customerId, notice }) =>
  notifyRollback(release, customerId, notice),
);
