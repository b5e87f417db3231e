import * as z from 'zod';
import { recordRollbackOutcome } from '../application/rollback-workflow.js';
import { causeOf } from '../shared/failure.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  outcome: z.enum(['rolled-back', 'rollback-failed', 'kept-deployed']),
  reason: z.string().optional(),
  error: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/**
 * "Record rolled back", "Record rollback failed", "Record kept deployed": a customer's rollback ends here,
 * counted on its step once; a failed one pauses the release and pages the escalation contacts.
 */
export const handler = taskHandler(input, ({ release, customerId, outcome, reason, error }) =>
  recordRollbackOutcome(release, customerId, outcome, reason ?? causeOf(error) ?? outcome),
);
