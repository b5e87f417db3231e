import * as z from 'zod';
import { scheduleDeployment } from '../application/deployments.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({ release: z.string(), customerId: z.string() });

/** "Find maintenance window": the customer's slot (`deployAt: null` with the reason when none is left). */
export const handler = taskHandler(input, ({ release, customerId }) =>
  scheduleDeployment(release, customerId),
);
