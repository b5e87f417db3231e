import * as z from 'zod';
import { requestPlatformRollback } from '../application/rollback-workflow.js';
import { ROLLBACK_REPORT_TIMEOUT_HOURS } from '../core/rollback.js';
import { optionalNumberEnv } from '../shared/env.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  taskToken: z.string().min(1),
});

/**
 * "Roll back … · await platform report" (callback): publishes `Rollback Requested`, once, and parks the
 * rollback until the platform answers (record-rollback-result).
 */
export const handler = taskHandler(input, (ask) =>
  requestPlatformRollback(ask, {
    reportTimeoutSeconds: optionalNumberEnv(
      'ROLLBACK_REPORT_TIMEOUT_SECONDS',
      ROLLBACK_REPORT_TIMEOUT_HOURS * 3600,
    ),
  }),
);
