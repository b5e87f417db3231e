import * as z from 'zod';
import { requestApproval, requestRollbackApproval } from '../application/approvals.js';
import { requiredEnv } from '../shared/env.js';
import { signingKeys } from '../shared/signing-keys.js';
import { taskHandler } from '../shared/task.js';

const input = z.union([
  z.strictObject({
    release: z.string(),
    customerId: z.string(),
    taskToken: z.string().min(1),
  }),
  z.strictObject({
    release: z.string(),
    customerId: z.string(),
    taskToken: z.string().min(1),
    purpose: z.literal('rollback'),
    /** How long the approvers have from the first ask. */
    approvalSeconds: z.int().positive(),
  }),
]);

/**
 * "Ask approvers" (callback): emails each approver a signed review link, once; the rollout waits for it.
 * "Ask stakeholders to approve the rollback" does the same for a rollback request.
 */
export const handler = taskHandler(input, async (ask) => {
  const links = {
    signingKey: (await signingKeys()).current,
    baseUrl: requiredEnv('APPROVAL_BASE_URL'),
  };
  return 'purpose' in ask ? requestRollbackApproval(ask, links) : requestApproval(ask, links);
});
