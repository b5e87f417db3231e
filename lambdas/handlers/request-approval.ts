import { z } from 'zod';
import { requestApproval } from '../application/approvals.js';
import { requiredEnv } from '../shared/env.js';
import { signingKeys } from '../shared/signing-keys.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  taskToken: z.string().min(1),
});

/** "Ask approvers" (callback): emails each approver a signed review link, once; the rollout waits for it. */
export const handler = taskHandler(input, async (ask) =>
  requestApproval(ask, {
    signingKey: (await signingKeys()).current,
    baseUrl: requiredEnv('APPROVAL_BASE_URL'),
  }),
);
