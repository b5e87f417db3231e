import * as z from 'zod';
import { requestDeployment } from '../application/deployments.js';
import { DEPLOYMENT_REPORT_TIMEOUT_HOURS } from '../core/timeouts.js';
import { optionalNumberEnv } from '../shared/env.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  taskToken: z.string().min(1),
});

/**
 * "Deploy and await report" (callback): asks the platform for the deployment, once, and parks the rollout
 * until the platform reports back (record-deployment-result).
 */
export const handler = taskHandler(input, (ask) =>
  requestDeployment(ask, {
    reportTimeoutSeconds: optionalNumberEnv(
      'DEPLOYMENT_REPORT_TIMEOUT_SECONDS',
      DEPLOYMENT_REPORT_TIMEOUT_HOURS * 3600,
    ),
  }),
);
