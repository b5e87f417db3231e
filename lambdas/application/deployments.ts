import { DateTime } from 'luxon';
import { earliestEarlyDeployment } from '../core/early-deployment.js';
import { isOutcome, TRANSITIONS } from '../core/lifecycle.js';
import { firstWindowStartAtOrAfter } from '../core/maintenance-window.js';
import { DEPLOYMENT_REPORT_TIMEOUT_HOURS } from '../core/timeouts.js';
import { updatedNotice } from '../email/messages.js';
import { sendEmail } from '../email/send.js';
import { correlationIdFor, DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { NoticeLeadTimeError, ReleaseStateError } from '../shared/errors.js';
import { countMetric, logger } from '../shared/observability.js';
import { answerDeploymentWait } from '../shared/task-answers.js';
import { countEmail } from '../store/audit.js';
import {
  applyTransition,
  type CustomerRecord,
  getCustomer,
  getCustomerWithReleaseHold,
  setDeploymentToken,
  recordDeploymentResult as storeDeploymentResult,
  swapCustomerField,
} from '../store/customers.js';
import { endDeploymentClaim } from '../store/deployment-claims.js';
import { getStep } from '../store/steps.js';
import { assertNotHeld } from './control.js';
import { moveOneAtATime } from './one-at-a-time.js';
import { afterRequestNotApplied, claimCustomerDeployment } from './overlap.js';
import { configOf } from './release-config.js';

// A customer's deployment, from finding its slot to the platform's report: schedule it, ask the platform
// for it (the `Deployment Requested` event), record the answer. Each is safe to run twice: one schedule
// entry, one request, one recorded answer, one updated notice per move.

/**
 * The customer's planned window, or, when the approval, the notice or a halt came later than planned, its
 * next window before the policy deadline. `deployAt: null` means none is left: the customer is held on its
 * current version. A customer told another date gets an updated notice, once per move.
 */
export async function scheduleDeployment(
  release: string,
  customerId: string,
): Promise<{ deployAt: string } | { deployAt: null; reason: string }> {
  const { customer, hold } = await customerAndHold(release, customerId);
  if (!customer.deployAt && !customer.earlyDeployment)
    return { deployAt: null, reason: customer.unschedulableReason ?? 'not scheduled' };
  assertNotHeld(release, hold, customer);
  const deployAt = customer.earlyDeployment
    ? await earlySlot(release, customer, customer.earlyDeployment)
    : customer.deployAt && (await nextSlot(release, customer, customer.deployAt));
  if (!deployAt)
    return {
      deployAt: null,
      reason: `no maintenance window left before the policy deadline ${customer.deadlineAt}`,
    };
  // A retried run that finds the customer already scheduled for this instant writes nothing twice.
  const alreadyScheduled = customer.state === 'scheduled' && customer.scheduledAt === deployAt;
  if (!alreadyScheduled)
    await applyTransition(
      release,
      customerId,
      TRANSITIONS.schedule,
      { at: now(), by: 'schedule-deployment', reason: `deploys at ${deployAt}` },
      { scheduledAt: deployAt },
    );
  await tellNewDate(release, customer, deployAt);
  return { deployAt };
}

/** The customer and its release's hold, read together (one request); a ReleaseStateError when not planned. */
async function customerAndHold(release: string, customerId: string) {
  const { customer, hold } = await getCustomerWithReleaseHold(release, customerId);
  if (!customer) throw new ReleaseStateError(`No customer ${customerId} in release ${release}`);
  return { customer, hold };
}

async function nextSlot(
  release: string,
  customer: CustomerRecord,
  plannedAt: string,
): Promise<string | null> {
  const leadDays = (await configOf(release)).policies[customer.policy].advanceNoticeDays;
  const noticeLeadEnds = customer.noticeSentAt
    ? DateTime.fromISO(customer.noticeSentAt).plus({ days: leadDays })
    : DateTime.fromISO(plannedAt);
  const earliest = DateTime.max(DateTime.fromISO(now()), noticeLeadEnds, DateTime.fromISO(plannedAt));
  if (earliest.toMillis() === Date.parse(plannedAt)) return plannedAt;
  // One at a time (enterprise): the moved customer keeps clear of the step's other deployments.
  if ((await getStep(release, customer.stepKey))?.oneAtATime)
    return moveOneAtATime(release, customer, earliest);
  const next = firstWindowStartAtOrAfter(customer.window, earliest, customer.deadlineAt);
  return next ? (next.toUTC().toISO({ suppressMilliseconds: true }) ?? null) : null;
}

/**
 * The slot of a customer deployed early: forced, now; otherwise its first window once its notice lead time
 * has passed (one at a time, clear of its step's other deployments), before its policy deadline.
 */
async function earlySlot(
  release: string,
  customer: CustomerRecord,
  early: NonNullable<CustomerRecord['earlyDeployment']>,
): Promise<string | null> {
  if (early.force) return now();
  const earliest = earliestEarlyDeployment({
    now: now(),
    noticeRequired: customer.noticeAt !== null,
    noticeSentAt: customer.noticeSentAt,
    advanceNoticeDays: (await configOf(release)).policies[customer.policy].advanceNoticeDays,
  });
  if ((await getStep(release, customer.stepKey))?.oneAtATime)
    return moveOneAtATime(release, customer, earliest);
  const next = firstWindowStartAtOrAfter(customer.window, earliest, customer.deadlineAt);
  return next ? (next.toUTC().toISO({ suppressMilliseconds: true }) ?? null) : null;
}

/** An updated notice when the customer was told another date: claimed by moving the date it was told. */
async function tellNewDate(release: string, customer: CustomerRecord, deployAt: string): Promise<void> {
  const told = customer.notifiedDeployAt;
  if (!customer.noticeSentAt || !told || Date.parse(told) === Date.parse(deployAt)) return;
  if (!(await swapCustomerField(release, customer.id, 'notifiedDeployAt', told, deployAt))) return;
  try {
    await sendEmail(
      customer.contacts.map((contact) => contact.email),
      updatedNotice({
        customerName: customer.name,
        release,
        deployAt,
        previousDeployAt: told,
        timeZone: customer.timeZone,
      }),
    );
  } catch (error) {
    await swapCustomerField(release, customer.id, 'notifiedDeployAt', deployAt, told);
    throw error;
  }
  await countEmail(release, 'updated-notice');
}

export type DeploymentRequest = { alreadyReported: true } | { requested: boolean };

/**
 * Asks the platform to deploy the customer for the waiting rollout `taskToken`: one `Deployment Requested`
 * per customer and release, however often it runs. The rollout is answered when the platform reports back
 * (recordDeploymentResult), or at once when the report is already in.
 */
export async function requestDeployment(
  ask: { release: string; customerId: string; taskToken: string },
  options: { reportTimeoutSeconds?: number } = {},
): Promise<DeploymentRequest> {
  const { release, customerId, taskToken } = ask;
  const { customer, hold } = await customerAndHold(release, customerId);
  // A halt or an abort stops the deployment here: the rollout parks, or ends cancelled.
  if (customer.state !== 'deployment-requested') assertNotHeld(release, hold, customer);
  const requestedAt = now();
  // Forced by an operator (recorded with who and why): at once, without the notice's lead time.
  if (!customer.earlyDeployment?.force) await assertNoticeLeadTimeElapsed(release, customer, requestedAt);

  if (await answerDeploymentWait(taskToken, customer)) return { alreadyReported: true };
  // Never two releases at once, never a downgrade (overlapping releases).
  if (customer.state === 'scheduled') await claimCustomerDeployment(release, customerId);
  // The token is written with the transition: a report, recorded only once the request is, finds it.
  const transition = await applyTransition(
    release,
    customerId,
    TRANSITIONS.requestDeployment,
    { at: requestedAt, by: 'request-deployment' },
    { deploymentToken: taskToken, deploymentRequestedAt: requestedAt, deploymentStatus: 'requested' },
  );
  if (!transition.applied) {
    // Requested before (a retry): this run's task is the one now waiting, so its token is stored; the
    // customer as that write leaves it says whether the report arrived before it.
    const latest = transition.customer && (await setDeploymentToken(release, customerId, taskToken));
    if (latest && (await answerDeploymentWait(taskToken, latest))) return { alreadyReported: true };
    await afterRequestNotApplied(release, latest);
    return { requested: false };
  }
  const reportBy = DateTime.fromISO(requestedAt)
    .plus({ seconds: options.reportTimeoutSeconds ?? DEPLOYMENT_REPORT_TIMEOUT_HOURS * 3600 })
    .toUTC()
    .toISO();
  try {
    await publish([
      {
        detailType: DETAIL_TYPES.deploymentRequested,
        detail: {
          schemaVersion: SCHEMA_VERSION,
          correlationId: correlationIdFor(release, customerId),
          release,
          version: release,
          customerId,
          phase: customer.phase,
          batch: customer.batch,
          requestedAt,
          reportBy,
        },
      },
    ]);
  } catch (error) {
    // Give the request back, so the retry publishes it instead of waiting for an answer to nothing.
    await applyTransition(
      release,
      customerId,
      TRANSITIONS.withdrawRequest,
      { at: now(), by: 'request-deployment', reason: 'publishing the request failed; it is retried' },
      {},
      ['deploymentRequestedAt', 'deploymentStatus'],
    );
    await endDeploymentClaim(customerId, release);
    throw error;
  }
  countMetric('DeploymentsRequested');
  logger.info('Deployment requested', { reportBy });
  return { requested: true };
}

/** A report that changes nothing leaves a log line with the reason, and a count. */
function dropReport(report: DeploymentReport, reason: string): { recorded: false } {
  countMetric('DeploymentReportsDropped');
  logger.warn('Deployment report dropped', {
    status: report.status,
    completedAt: report.completedAt,
    reason,
  });
  return { recorded: false };
}

async function assertNoticeLeadTimeElapsed(
  release: string,
  customer: CustomerRecord,
  at: string,
): Promise<void> {
  if (customer.noticeAt === null) return;
  const leadDays = (await configOf(release)).policies[customer.policy].advanceNoticeDays;
  if (!customer.noticeSentAt)
    throw new NoticeLeadTimeError(`${customer.id} has not been sent its advance notice`);
  const earliest = DateTime.fromISO(customer.noticeSentAt).plus({ days: leadDays });
  if (DateTime.fromISO(at) < earliest) {
    throw new NoticeLeadTimeError(
      `${customer.id} was notified ${customer.noticeSentAt}; ${leadDays} days must pass first`,
    );
  }
}

export interface DeploymentReport {
  release: string;
  customerId: string;
  status: 'succeeded' | 'failed';
  completedAt: string;
  reason?: string;
}

/**
 * Records the platform's first report on a requested deployment and resumes the customer's rollout.
 * Reports arrive at least once: a repeated or late one changes nothing (a repeat of the recorded answer
 * resumes again, harmlessly, in case the first delivery failed after recording).
 */
export async function recordDeploymentResult(report: DeploymentReport): Promise<{ recorded: boolean }> {
  const { release, customerId, status, completedAt } = report;
  const succeeded = status === 'succeeded';
  const reason = report.reason ?? 'deployment failed';
  const answer = { deploymentStatus: status, deployedAt: completedAt, deploymentReason: reason };
  // The write first (one request): it holds only while a rollout waits for this report.
  const recorded = await storeDeploymentResult(release, customerId, {
    deploymentStatus: status,
    deployedAt: succeeded ? completedAt : undefined,
    deploymentReason: succeeded ? undefined : reason,
  });
  if (recorded?.deploymentToken) {
    countMetric(succeeded ? 'DeploymentsSucceeded' : 'DeploymentsFailed');
    logger.info(`Deployment ${status}`, succeeded ? { completedAt } : { completedAt, reason });
    await answerDeploymentWait(recorded.deploymentToken, answer);
    return { recorded: true };
  }
  // Not the first: read why.
  const customer = await getCustomer(release, customerId);
  // No token: never requested. An outcome: the rollout already ended (e.g. the report came too late).
  if (!customer?.deploymentToken)
    return dropReport(report, customer ? 'no deployment was requested' : 'unknown release or customer');
  if (isOutcome(customer.state))
    return dropReport(report, `the rollout already ended (${customer.state}): the report came too late`);
  if (customer.deploymentStatus !== status)
    return dropReport(report, `the deployment was already reported ${customer.deploymentStatus}`);
  // A repeat of the recorded answer resumes again, harmlessly, in case the first delivery failed after recording.
  await answerDeploymentWait(customer.deploymentToken, answer);
  return { recorded: false };
}
