import { DateTime } from 'luxon';
import {
  type ApprovalAction,
  type ApprovalLink,
  confirmationCode,
  isApprovalRequestId,
  keyThatSigned,
  newApprovalRequestId,
  reviewUrl,
  verifyConfirmationCode,
} from '../core/approval-link.js';
import { TRANSITIONS } from '../core/lifecycle.js';
import { type SigningKeys, verifyingKeys } from '../core/signing-keys.js';
import { approvalRequest, rollbackApprovalRequest } from '../email/messages.js';
import { sendEmails } from '../email/send.js';
import { now } from '../shared/clock.js';
import { CustomerSupersededError, ReleaseStateError } from '../shared/errors.js';
import { addLogKeys, countMetric, logger } from '../shared/observability.js';
import { answerApprovalWait } from '../shared/task-answers.js';
import {
  type ApprovalRecord,
  decideApproval,
  forgetPendingApproval,
  getApproval,
  notePendingApproval,
  putApproval,
  setApprovalToken,
} from '../store/approvals.js';
import { audit, countEmail } from '../store/audit.js';
import {
  applyTransition,
  claimCustomerField,
  getCustomer,
  noteRollback,
  requireCustomer,
  updateCustomer,
} from '../store/customers.js';
import { getRelease } from '../store/releases.js';
import { assertMayProceed, holdOf } from './control.js';

// Asking a customer's approvers and taking their answer. The task token stays in the table behind an
// opaque request id; a link carries the id and a signature per action. Opening a link (reviewApproval)
// decides nothing, as mail scanners open every link; only answerApproval decides, once, and only with the
// confirmation code the review page shows as text, which a scanner submitting the page's forms does not type.

export type ApprovalDecision = 'approved' | 'rejected';

/** What an approver may see of a request: never its task token. */
export type ApprovalView = Pick<
  ApprovalRecord,
  | 'id'
  | 'release'
  | 'customerId'
  | 'customerName'
  | 'deployAt'
  | 'timeZone'
  | 'approvers'
  | 'expiresAt'
  | 'purpose'
  | 'reason'
>;

/** Why a link decides nothing (and shows nothing but the reason). */
export type ApprovalRefusal =
  | { kind: 'unknown' }
  | { kind: 'altered' }
  | { kind: 'not-an-approver' }
  | { kind: 'already-decided' }
  | { kind: 'expired'; expiresAt: string }
  | { kind: 'halted'; reason: string }
  | { kind: 'aborted'; reason: string };

export type ApprovalReview =
  | { kind: 'open'; request: ApprovalView; confirmationCode: string }
  | ApprovalRefusal;

export type ApprovalAnswer =
  | { kind: 'approved'; request: ApprovalView; by: string; at: string }
  | { kind: 'rejected'; request: ApprovalView; by: string; at: string }
  /** The confirmation code was missing or wrong: nothing decided, the request may be answered again. */
  | { kind: 'unconfirmed'; request: ApprovalView; confirmationCode: string; typed: boolean }
  | ApprovalRefusal;

export interface ApprovalLinks {
  /** The current key: new links are signed with it. */
  signingKey: string;
  baseUrl: string;
}

/**
 * Asks the customer's approvers for the waiting rollout `taskToken`: stores the token behind an opaque
 * request id and emails each listed approver a signed review link. A retry reuses the same request and
 * sends no second email; a request decided already answers the rollout at once.
 */
export async function requestApproval(
  ask: { release: string; customerId: string; taskToken: string },
  links: ApprovalLinks,
): Promise<{ requestId: string; expiresAt?: string }> {
  const { release, customerId, taskToken } = ask;
  const found = await getCustomer(release, customerId);
  // Deployed early, the approvers are asked about the date it is expected to land instead of the plan's.
  const plannedAt = found?.earlyDeployment?.expectedAt ?? found?.deployAt;
  if (!found || !plannedAt)
    throw new ReleaseStateError(`Customer ${customerId} has no deployment planned in ${release}`);
  const customer = { ...found, deployAt: plannedAt };
  // No approver is asked while a halt holds the release or the customer: the rollout parks instead.
  await assertMayProceed(release, customer);
  const requestId = customer.approvalRequestId ?? newApprovalRequestId();
  const expiresAt = customer.deadlineAt;
  const claimedId = await claimCustomerField(release, customerId, 'approvalRequestId', {
    approvalRequestId: requestId,
  });
  const approvers = customer.approvers.map((approver) => approver.email.toLowerCase());
  const request: ApprovalRecord = {
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
  const asked = await applyTransition(release, customerId, TRANSITIONS.askApproval, {
    at: now(),
    by: 'request-approval',
    reason: `asked ${approvers.join(', ')}`,
  });
  // A newer release took the customer over meanwhile: nobody is asked.
  if (asked.customer?.state === 'superseded')
    throw new CustomerSupersededError(asked.customer.outcomeReason ?? 'superseded by a newer release');
  if (asked.customer?.state === 'awaiting-approval')
    await notePendingApproval(release, {
      customerId,
      customerName: customer.name,
      stepKey: customer.stepKey,
      purpose: 'deployment',
      askedAt: now(),
      expiresAt,
    });
  if (await claimCustomerField(release, customerId, 'approvalEmailSentAt', { approvalEmailSentAt: now() })) {
    try {
      const deployAt = customer.deployAt;
      // One queue call for all approvers of the customer.
      await sendEmails(
        customer.approvers.map((approver) => ({
          to: [approver.email],
          message: approvalRequest({
            customerName: customer.name,
            approverName: approver.name,
            release,
            deployAt,
            timeZone: customer.timeZone,
            reviewUrl: reviewUrl(
              links.baseUrl,
              { requestId, approver: approver.email.toLowerCase(), expiresAt },
              links.signingKey,
            ),
          }),
        })),
      );
      await countEmail(release, 'approval-request', customer.approvers.length);
    } catch (error) {
      // Let the retry send the request; approvers already emailed may get it twice, never none.
      await updateCustomer(release, customerId, {}, ['approvalEmailSentAt']);
      throw error;
    }
  }
  return { requestId, expiresAt: DateTime.fromISO(expiresAt).toUTC().toISO() ?? expiresAt };
}

/**
 * Asks the customer's approvers to approve its ROLLBACK, for the waiting rollback `taskToken`: the same
 * signed links and review page as a deployment's approval, valid for `approvalSeconds` from the first ask.
 * A retry reuses the request and sends no second email; a request decided already answers at once.
 */
export async function requestRollbackApproval(
  ask: { release: string; customerId: string; taskToken: string; approvalSeconds: number },
  links: ApprovalLinks,
): Promise<{ requestId: string; expiresAt: string }> {
  const { release, customerId, taskToken } = ask;
  const customer = await requireCustomer(release, customerId);
  if (customer.state !== 'rolling-back')
    throw new ReleaseStateError(`${customerId} is ${customer.state}, not being rolled back, in ${release}`);
  const requestId = customer.rollbackApprovalRequestId ?? newApprovalRequestId();
  const claimedId = await claimCustomerField(release, customerId, 'rollbackApprovalRequestId', {
    rollbackApprovalRequestId: requestId,
  });
  const existing = claimedId ? undefined : await getApproval(requestId);
  if (existing?.decision) {
    await answerApprovalWait(taskToken, existing.decision, existing.decidedBy ?? '');
    return { requestId, expiresAt: existing.expiresAt };
  }
  const expiresAt =
    existing?.expiresAt ??
    DateTime.fromISO(now())
      .plus({ seconds: ask.approvalSeconds })
      .toUTC()
      .toISO({ suppressMilliseconds: true }) ??
    now();
  await notePendingApproval(release, {
    customerId,
    customerName: customer.name,
    stepKey: customer.stepKey,
    purpose: 'rollback',
    askedAt: now(),
    expiresAt,
  });
  if (existing) await setApprovalToken(requestId, taskToken);
  else
    await putApproval({
      id: requestId,
      release,
      customerId,
      customerName: customer.name,
      timeZone: customer.timeZone,
      purpose: 'rollback',
      reason: customer.rollbackReason ?? 'a rollback trigger fired',
      approvers: customer.approvers.map((approver) => approver.email.toLowerCase()),
      expiresAt,
      taskToken,
    });
  if (
    await claimCustomerField(release, customerId, 'rollbackApprovalEmailSentAt', {
      rollbackApprovalEmailSentAt: now(),
    })
  ) {
    try {
      await sendEmails(
        customer.approvers.map((approver) => ({
          to: [approver.email],
          message: rollbackApprovalRequest({
            customerName: customer.name,
            approverName: approver.name,
            release,
            reason: customer.rollbackReason ?? 'a rollback trigger fired',
            expiresAt,
            reviewUrl: reviewUrl(
              links.baseUrl,
              { requestId, approver: approver.email.toLowerCase(), expiresAt },
              links.signingKey,
            ),
          }),
        })),
      );
      await countEmail(release, 'rollback-approval-request', customer.approvers.length);
    } catch (error) {
      await updateCustomer(release, customerId, {}, ['rollbackApprovalEmailSentAt']);
      throw error;
    }
  }
  return { requestId, expiresAt };
}

/**
 * Opening a link: the request to show, or why the link cannot be used now. Decides nothing. A link signed
 * with the current or the previous key opens; its confirmation code comes from the key that signed it.
 */
export async function reviewApproval(
  link: ApprovalLink,
  signatures: Record<ApprovalAction, string>,
  keys: SigningKeys,
): Promise<ApprovalReview> {
  const approval = await findApproval(link.requestId);
  if (!approval) return { kind: 'unknown' };
  const signingKey = keyThatSigned(link, signatures, verifyingKeys(keys));
  if (signingKey === undefined) return { kind: 'altered' };
  const refusal = refusalFor(approval, link) ?? (await holdOn(approval));
  if (refusal) return refusal;
  return { kind: 'open', request: viewOf(approval), confirmationCode: confirmationCode(link, signingKey) };
}

/**
 * An approver's answer from a signed link, with the confirmation code they typed from the review page:
 * decides the request once (a conditional write), moves the
 * customer, resumes the rollout waiting on it and audits the decision. While a halt holds the release or
 * the customer, or once it is aborted, it decides nothing and says why. Answering again decides nothing
 * more; it only repeats the recording and the resume, in case the first answer stopped half-way.
 */
export async function answerApproval(
  answer: { link: ApprovalLink; action: ApprovalAction; signature: string; confirmation: string },
  keys: SigningKeys,
): Promise<ApprovalAnswer> {
  const { link, action, signature, confirmation } = answer;
  const approval = await findApproval(link.requestId);
  if (!approval) return { kind: 'unknown' };
  const signingKey = keyThatSigned(link, { [action]: signature }, verifyingKeys(keys));
  if (signingKey === undefined) return { kind: 'altered' };
  if (approval.decision && approval.approvers.includes(link.approver)) {
    const by = approval.decidedBy ?? link.approver;
    await recordDecision(approval, approval.decision, by, approval.decidedAt ?? now());
    await answerApprovalWait(approval.taskToken, approval.decision, by);
    return { kind: 'already-decided' };
  }
  const refusal = refusalFor(approval, link) ?? (await holdOn(approval));
  if (refusal) return refusal;
  if (!verifyConfirmationCode(link, confirmation, signingKey)) {
    return {
      kind: 'unconfirmed',
      request: viewOf(approval),
      confirmationCode: confirmationCode(link, signingKey),
      typed: confirmation.trim() !== '',
    };
  }

  const decision: ApprovalDecision = action === 'approve' ? 'approved' : 'rejected';
  const decidedAt = now();
  if (!(await decideApproval(approval.id, decision, link.approver, decidedAt)))
    return { kind: 'already-decided' };
  // The customer moves first, then the execution is resumed: its next task finds it approved.
  await recordDecision(approval, decision, link.approver, decidedAt);
  await answerApprovalWait(approval.taskToken, decision, link.approver);
  await audit(
    approval.release,
    decidedAt,
    `${approval.purpose === 'rollback' ? 'rollback-approval' : 'approval'}#${approval.customerId}`,
    {
      decision,
      by: link.approver,
    },
  );
  countMetric(decision === 'approved' ? 'ApprovalsApproved' : 'ApprovalsRejected');
  logger.info('Approval decided', { decision, purpose: approval.purpose ?? 'deployment' });
  return { kind: decision, request: viewOf(approval), by: link.approver, at: decidedAt };
}

async function findApproval(requestId: string): Promise<ApprovalRecord | undefined> {
  const approval = isApprovalRequestId(requestId) ? await getApproval(requestId) : undefined;
  if (approval) addLogKeys({ release: approval.release, customer: approval.customerId });
  return approval;
}

function viewOf(approval: ApprovalRecord): ApprovalView {
  const { id, release, customerId, customerName, deployAt, timeZone, approvers, expiresAt, purpose, reason } =
    approval;
  return { id, release, customerId, customerName, deployAt, timeZone, approvers, expiresAt, purpose, reason };
}

async function recordDecision(
  approval: ApprovalRecord,
  decision: ApprovalDecision,
  approver: string,
  decidedAt: string,
): Promise<void> {
  // A rollback's approval is a line in the history of the customer being rolled back; a rejection is
  // recorded by its rollback workflow, which keeps the customer deployed.
  if (approval.purpose === 'rollback') {
    await forgetPendingApproval(approval.release, approval.customerId);
    if (decision === 'approved')
      await noteRollback(
        approval.release,
        approval.customerId,
        'rollbackApprovedBy',
        { rollbackApprovedBy: approver },
        { at: decidedAt, by: approver, reason: 'rollback approved on the review page' },
      );
    return;
  }
  await applyTransition(
    approval.release,
    approval.customerId,
    decision === 'approved' ? TRANSITIONS.approve : TRANSITIONS.reject,
    { at: decidedAt, by: approver, reason: `${decision} on the review page` },
    { approvalDecision: decision, approvedBy: approver, decidedAt },
  );
}

function refusalFor(approval: ApprovalRecord, link: ApprovalLink): ApprovalRefusal | undefined {
  if (!approval.approvers.includes(link.approver) || link.expiresAt !== approval.expiresAt)
    return { kind: 'not-an-approver' };
  if (approval.decision) return { kind: 'already-decided' };
  if (Date.parse(now()) > Date.parse(approval.expiresAt))
    return { kind: 'expired', expiresAt: approval.expiresAt };
  return undefined;
}

/** A halt holds every pending request and decides nothing; an aborted release leaves nothing to decide. */
async function holdOn(approval: ApprovalRecord): Promise<ApprovalRefusal | undefined> {
  // A rollback takes a bad version away: neither a halt nor a pause of the release holds its approval.
  if (approval.purpose === 'rollback') return undefined;
  const [release, customer] = await Promise.all([
    getRelease(approval.release),
    getCustomer(approval.release, approval.customerId),
  ]);
  if (!release) return undefined;
  const hold = holdOf(release, customer);
  return hold.kind === 'none' ? undefined : hold;
}
