import { DateTime } from 'luxon';
import { z } from 'zod';
import { assertMayProceed } from '../application/control.js';
import { newApprovalRequestId, reviewUrl } from '../core/approval-link.js';
import { TRANSITIONS } from '../core/lifecycle.js';
import { approvalRequest } from '../email/messages.js';
import { sendEmail } from '../email/send.js';
import { now } from '../shared/clock.js';
import { requiredEnv } from '../shared/env.js';
import { ReleaseStateError } from '../shared/errors.js';
import { taskHandler } from '../shared/task.js';
import { answerApprovalWait } from '../shared/task-answers.js';
import { getApproval, putApproval, setApprovalToken } from '../store/approvals.js';
import { countEmail } from '../store/audit.js';
import { applyTransition, claimCustomerField, getCustomer, updateCustomer } from '../store/customers.js';

const input = z.strictObject({
  release: z.string(),
  customerId: z.string(),
  taskToken: z.string().min(1),
});

/**
 * "Ask approvers" (callback): stores the task token behind an opaque request id and emails each listed
 * approver a signed review link. A retry reuses the same request and sends no second email; a request
 * decided already resumes the execution at once.
 */
export const handler = taskHandler(input, async ({ release, customerId, taskToken }) => {
  const customer = await getCustomer(release, customerId);
  if (!customer?.deployAt)
    throw new ReleaseStateError(`Customer ${customerId} has no deployment planned in ${release}`);
  // No approver is asked while a halt holds the release or the customer: the rollout parks instead.
  await assertMayProceed(release, customer);
  const requestId = customer.approvalRequestId ?? newApprovalRequestId();
  const expiresAt = customer.deadlineAt;
  const claimedId = await claimCustomerField(release, customerId, 'approvalRequestId', {
    approvalRequestId: requestId,
  });
  const approvers = customer.approvers.map((approver) => approver.email.toLowerCase());
  const request = {
    id: requestId,
    release,
    customerId,
    customerName: customer.name,
    deployAt: customer.deployAt,
    timeZone: customer.timeZone,
    approvers,
    expiresAt,
    taskToken,
  };
  if (claimedId) {
    await putApproval(request);
  } else {
    const existing = await getApproval(requestId);
    if (!existing) {
      // A previous run claimed the id but did not get to store the request.
      await putApproval(request);
    } else if (existing.decision) {
      await answerApprovalWait(taskToken, existing.decision, existing.decidedBy ?? '');
      return { requestId };
    } else {
      await setApprovalToken(requestId, taskToken);
    }
  }
  await applyTransition(release, customerId, TRANSITIONS.askApproval, {
    at: now(),
    by: 'request-approval',
    reason: `asked ${approvers.join(', ')}`,
  });
  if (await claimCustomerField(release, customerId, 'approvalEmailSentAt', { approvalEmailSentAt: now() })) {
    const key = requiredEnv('APPROVAL_SIGNING_KEY');
    const baseUrl = requiredEnv('APPROVAL_BASE_URL');
    try {
      for (const approver of customer.approvers) {
        const link = { requestId, approver: approver.email.toLowerCase(), expiresAt };
        await sendEmail(
          [approver.email],
          approvalRequest({
            customerName: customer.name,
            approverName: approver.name,
            release,
            deployAt: customer.deployAt,
            timeZone: customer.timeZone,
            reviewUrl: reviewUrl(baseUrl, link, key),
          }),
        );
        await countEmail(release, 'approval-request');
      }
    } catch (error) {
      // Let the retry send the request; approvers already emailed may get it twice, never none.
      await updateCustomer(release, customerId, {}, ['approvalEmailSentAt']);
      throw error;
    }
  }
  return { requestId, expiresAt: DateTime.fromISO(expiresAt).toUTC().toISO() };
});
