import { DateTime } from 'luxon';
import { TRANSITIONS } from '../core/lifecycle.js';
import { firstWindowStartAtOrAfter } from '../core/maintenance-window.js';
import type { Config } from '../core/model.js';
import {
  healthyAfterRollback,
  ROLLBACK_REPORT_TIMEOUT_HOURS,
  type RollbackPlan,
  type RollbackTrigger,
  rollbackPlanOf,
} from '../core/rollback.js';
import {
  type Message,
  rollbackEscalation,
  rollbackFollowUp,
  rollbackIncidentReport,
  rollbackProposed,
  rolledBack,
} from '../email/messages.js';
import { sendEmail } from '../email/send.js';
import { correlationIdFor, DETAIL_TYPES, ROLLBACK_SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { NothingToRollBackError } from '../shared/errors.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { logger } from '../shared/observability.js';
import { oncePerRelease } from '../shared/once.js';
import { answerRollbackWait } from '../shared/task-answers.js';
import { countEmail, healthReportsSince } from '../store/audit.js';
import {
  applyTransition,
  type CustomerRecord,
  claimCustomerField,
  getCustomer,
  noteRollback,
  requireCustomer,
  recordRollbackResult as storeRollbackResult,
  updateCustomer,
} from '../store/customers.js';
import { countRollbackOnce } from '../store/steps.js';
import { recordCustomerVersion } from './fleet.js';
import { pauseForFailedRollback } from './pause.js';
import { configOf } from './release-config.js';

// A customer's rollback, as its workflow (statemachines/customer-rollback.ts) runs it, by its policy's
// process: begin, tell the customer, ask the stakeholders, find the window, ask the platform (`Rollback
// Requested`) and take its answer, record the outcome, check the health, report. Each step is safe to
// run twice: one request to the platform, one recorded answer, one count, one email of each kind.

const BY = 'rollback workflow';

export interface RollbackStart {
  release: string;
  customerId: string;
  trigger: RollbackTrigger;
  reason: string;
}

/**
 * The first step: the customer is being rolled back (moved from `deployed` here when the workflow was
 * started without the trigger's request), and its policy says how. A customer neither deployed nor being
 * rolled back has nothing to roll back (`Rollback.NotDeployed`).
 */
export async function beginRollback(start: RollbackStart): Promise<RollbackPlan> {
  const { release, customerId } = start;
  let customer = await requireCustomer(release, customerId);
  if (customer.state === 'deployed') {
    const moved = await applyTransition(
      release,
      customerId,
      TRANSITIONS.requestRollback,
      { at: now(), by: BY, reason: `${start.trigger}: ${start.reason}` },
      { rollbackTrigger: start.trigger, rollbackReason: start.reason },
    );
    customer = moved.customer ?? customer;
  }
  if (customer.state !== 'rolling-back')
    throw new NothingToRollBackError(
      `${customerId} is ${customer.state} in ${release}: nothing to roll back`,
    );
  if (!customer.rollbackTrigger)
    await claimCustomerField(release, customerId, 'rollbackTrigger', {
      rollbackTrigger: start.trigger,
      rollbackReason: start.reason,
    });
  return rollbackPlanOf((await configOf(start.release)).policies[customer.policy]);
}

export type RollbackNotice = 'proposed' | 'rolled-back' | 'follow-up' | 'incident-report';

/** Tells the customer's contacts (and, for the incident report, the escalation contacts), once per kind. */
export async function notifyRollback(
  release: string,
  customerId: string,
  notice: RollbackNotice,
): Promise<{ notice: RollbackNotice }> {
  const customer = await requireCustomer(release, customerId);
  const message = messageFor(release, customer, notice, await configOf(release));
  await oncePerRelease(release, `rollbackEmailed#${notice}#${customerId}`, async () => {
    await sendEmail(
      customer.contacts.map((contact) => contact.email),
      message,
    );
    await countEmail(release, `rollback-${notice}`);
  });
  if (notice === 'incident-report')
    await oncePerRelease(release, `rollbackEmailed#${notice}-escalation#${customerId}`, () =>
      emailEscalationContacts(release, 'rollback-incident-report-escalation', message),
    );
  return { notice };
}

function messageFor(
  release: string,
  customer: CustomerRecord,
  notice: RollbackNotice,
  config: Config,
): Message {
  const reason = customer.rollbackReason ?? 'a rollback trigger fired';
  const base = { customerName: customer.name, release };
  switch (notice) {
    case 'proposed':
      return rollbackProposed({ ...base, reason });
    case 'rolled-back': {
      const plan = rollbackPlanOf(config.policies[customer.policy]);
      return rolledBack({ ...base, reason, monitoringHours: plan.monitoringSeconds / 3600 || undefined });
    }
    case 'follow-up':
      return rollbackFollowUp({ ...base, health: healthLine(customer) });
    case 'incident-report':
      return rollbackIncidentReport({
        ...base,
        timeline: customer.history
          .filter((entry) => ['rolling-back', 'rolled-back'].includes(entry.state))
          .map(
            (entry) => `${entry.at} ${entry.state} by ${entry.by}${entry.reason ? `: ${entry.reason}` : ''}`,
          ),
        health: healthLine(customer),
      });
  }
}

function healthLine(customer: CustomerRecord): string {
  return customer.rollbackHealth?.summary ?? 'not checked';
}

/**
 * The customer's next maintenance window from now (an approved rollback runs in it), noted once in its
 * history. A window that is open now is taken at once.
 */
export async function scheduleRollback(release: string, customerId: string): Promise<{ rollbackAt: string }> {
  const customer = await requireCustomer(release, customerId);
  if (customer.rollbackScheduledAt) return { rollbackAt: customer.rollbackScheduledAt };
  const from = now();
  // A window opens at least once a week; a customer whose window never opens is rolled back at once.
  const next = firstWindowStartAtOrAfter(
    customer.window,
    from,
    DateTime.fromISO(from).plus({ days: 8 }).toUTC().toISO() ?? from,
  );
  const rollbackAt = next?.toUTC().toISO({ suppressMilliseconds: true }) ?? from;
  const noted = await noteRollback(
    release,
    customerId,
    'rollbackScheduledAt',
    { rollbackScheduledAt: rollbackAt },
    { at: from, by: BY, reason: `rollback scheduled in the maintenance window at ${rollbackAt}` },
  );
  if (!noted) {
    const latest = await requireCustomer(release, customerId);
    return { rollbackAt: latest.rollbackScheduledAt ?? rollbackAt };
  }
  return { rollbackAt };
}

export type RollbackRequest = { alreadyReported: true } | { requested: boolean };

/**
 * Asks the platform to roll the customer back for the waiting rollback `taskToken`: one `Rollback
 * Requested` per customer and release, however often it runs. The workflow is answered when the platform
 * reports back (recordRollbackResult), or at once when its answer is already in.
 */
export async function requestPlatformRollback(
  ask: { release: string; customerId: string; taskToken: string },
  options: { reportTimeoutSeconds?: number } = {},
): Promise<RollbackRequest> {
  const { release, customerId, taskToken } = ask;
  const customer = await requireCustomer(release, customerId);
  if (await answerRollbackWait(taskToken, customer)) return { alreadyReported: true };
  await updateCustomer(release, customerId, { rollbackToken: taskToken });
  const requestedAt = now();
  const claimed = await noteRollback(
    release,
    customerId,
    'rollbackPublishedAt',
    { rollbackPublishedAt: requestedAt, rollbackStatus: 'requested' },
    { at: requestedAt, by: BY, reason: 'Rollback Requested from the platform' },
  );
  if (!claimed) {
    // The answer may have arrived between reading the customer and storing this run's token.
    const latest = await getCustomer(release, customerId);
    if (latest && (await answerRollbackWait(taskToken, latest))) return { alreadyReported: true };
    return { requested: false };
  }
  const reportBy = DateTime.fromISO(requestedAt)
    .plus({ seconds: options.reportTimeoutSeconds ?? ROLLBACK_REPORT_TIMEOUT_HOURS * 3600 })
    .toUTC()
    .toISO();
  try {
    await publish([
      {
        detailType: DETAIL_TYPES.rollbackRequested,
        detail: {
          schemaVersion: ROLLBACK_SCHEMA_VERSION,
          correlationId: correlationIdFor(release, customerId),
          release,
          customerId,
          trigger: customer.rollbackTrigger ?? 'operator',
          reason: customer.rollbackReason ?? 'rollback requested',
          requestedAt,
          reportBy,
        },
      },
    ]);
  } catch (error) {
    // Give the request back, so the retry publishes it instead of waiting for an answer to nothing.
    await updateCustomer(release, customerId, {}, ['rollbackPublishedAt', 'rollbackStatus']);
    throw error;
  }
  logger.info('Rollback requested', { reportBy });
  return { requested: true };
}

export interface RollbackReport {
  release: string;
  customerId: string;
  status: 'succeeded' | 'failed';
  completedAt: string;
  reason?: string;
}

/**
 * Records the platform's first answer to a requested rollback and resumes the customer's rollback
 * workflow. Answers arrive at least once: a repeated or late one changes nothing (a repeat of the recorded
 * answer resumes again, harmlessly, in case the first delivery failed after recording).
 */
export async function recordRollbackResult(report: RollbackReport): Promise<{ recorded: boolean }> {
  const { release, customerId, status, completedAt } = report;
  const customer = await getCustomer(release, customerId);
  if (!customer?.rollbackToken || customer.state !== 'rolling-back') return { recorded: false };
  const succeeded = status === 'succeeded';
  const reason = report.reason ?? 'rollback failed';
  const first = await storeRollbackResult(release, customerId, {
    rollbackStatus: status,
    rolledBackAt: succeeded ? completedAt : undefined,
    rollbackFailureReason: succeeded ? undefined : reason,
  });
  if (!first && customer.rollbackStatus !== status) return { recorded: false };
  if (first) logger.info(`Rollback ${status}`, succeeded ? { completedAt } : { completedAt, reason });
  await answerRollbackWait(customer.rollbackToken, {
    rollbackStatus: status,
    rolledBackAt: completedAt,
    rollbackFailureReason: reason,
  });
  return { recorded: first };
}

export type RollbackOutcome = 'rolled-back' | 'rollback-failed' | 'kept-deployed';

/**
 * Ends a customer's rollback: `rolled-back` and `rollback-failed` are counted on its step once; a failed
 * rollback pauses the release and pages the escalation contacts; `kept-deployed` (the stakeholders
 * rejected it or did not answer) puts the customer back to `deployed` and tells the release manager.
 */
export async function recordRollbackOutcome(
  release: string,
  customerId: string,
  outcome: RollbackOutcome,
  reason: string,
): Promise<{ state: string; counted: boolean }> {
  const at = now();
  const transition =
    outcome === 'rolled-back'
      ? TRANSITIONS.recordRolledBack
      : outcome === 'rollback-failed'
        ? TRANSITIONS.recordRollbackFailed
        : TRANSITIONS.keepDeployed;
  const fields: Partial<CustomerRecord> =
    outcome === 'rollback-failed' ? { rollbackFailureReason: reason } : {};
  const result = await applyTransition(release, customerId, transition, { at, by: BY, reason }, fields);
  const customer = result.customer ?? (await requireCustomer(release, customerId));
  let counted = false;
  if (customer.state === 'rolled-back' || customer.state === 'rollback-failed') {
    const counter = customer.state === 'rolled-back' ? 'rolledBack' : 'rollbackFailed';
    counted = (await countRollbackOnce(release, customer.stepKey, customerId, counter)) !== undefined;
  }
  if (counted) logger.info('Customer rollback ended', { state: customer.state, reason });
  // Every run, not only the one that applied the transition: a run that crashed after it still records it.
  if (customer.state === 'rolled-back') await recordCustomerVersion(customerId, release, 'rolled-back');
  if (customer.state === 'rollback-failed')
    await pauseForFailedRollback(release, customer, customer.rollbackFailureReason ?? reason);
  if (outcome === 'kept-deployed' && customer.state === 'deployed')
    await oncePerRelease(release, `rollbackNotApproved#${customerId}#${customer.history.length}`, () =>
      emailEscalationContacts(
        release,
        'rollback-not-approved',
        rollbackEscalation({
          customerName: customer.name,
          release,
          what: 'not approved',
          reason,
          next: `${customerId} stays on ${release}. A new trigger asks again; a fixed version is the way forward.`,
        }),
      ),
    );
  return { state: customer.state, counted };
}

/**
 * What the customer's health reports since its rollback say (post-rollback validation, or the end of the
 * health monitoring), kept on the customer for its follow-up or incident report. No report is
 * inconclusive, never healthy.
 */
export async function checkRollbackHealth(
  release: string,
  customerId: string,
): Promise<{ healthy: boolean; reports: number; summary: string }> {
  const customer = await requireCustomer(release, customerId);
  const since = customer.rolledBackAt ?? customer.rollbackPublishedAt ?? now();
  const reports = await healthReportsSince(release, customerId, since);
  const limit = (await configOf(release)).release.rollbackTriggers.performanceDegradationPercent;
  const unhealthy = reports.filter((report) => !healthyAfterRollback(report, limit));
  const healthy = reports.length > 0 && unhealthy.length === 0;
  const summary =
    reports.length === 0
      ? `inconclusive: no health report since the rollback at ${since}`
      : healthy
        ? `healthy: ${reports.length} health report(s) since the rollback, no critical error, no security finding, latency within ${limit}% of its baseline`
        : `NOT healthy: ${unhealthy.length} of ${reports.length} health report(s) since the rollback show critical errors, security findings or latency beyond ${limit}% of its baseline`;
  await updateCustomer(release, customerId, {
    rollbackHealth: { checkedAt: now(), reports: reports.length, healthy, summary },
  });
  return { healthy, reports: reports.length, summary };
}
