import { addHealthReport, hasBeenDeployed, NO_HEALTH_ISSUES } from '../core/gates.js';
import { type HealthReportRefusal, healthReportRefusal } from '../core/health-scope.js';
import { firedTrigger } from '../core/rollback.js';
import type { HealthReported } from '../events/contract.js';
import { now } from '../shared/clock.js';
import { countMetric, logger } from '../shared/observability.js';
import { countRefusedHealthReport, putHealthReport } from '../store/audit.js';
import {
  type CustomerRecord,
  getCustomer,
  markHealthReported,
  noteHealthReport,
  noteInHistory,
} from '../store/customers.js';
import { getRelease } from '../store/releases.js';
import { changeStepHealth, countHealthEvidenceOnce, markSilentOnStep } from '../store/steps.js';
import { resumeIfStepComplete } from './outcomes.js';
import { configOf } from './release-config.js';
import { type RollbackRequestResult, type RollbackStarter, requestRollback } from './rollbacks.js';

export type HealthReportResult =
  | { recorded: true; counted: boolean; rollback?: RollbackRequestResult }
  | { recorded: false; reason: HealthReportRefusal };

/**
 * Keeps a customer's health report under its release and counts it on the customer's step, once however
 * often it is delivered, so the step's gate reads the step's health instead of every report. A report out
 * of scope (core/health-scope.ts: unknown release or customer, dated before the customer's deployment was
 * requested or ahead of the clock) is refused: neither kept nor counted, only logged and counted as refused.
 */
export async function recordHealthReport(
  report: HealthReported,
  startRollback?: RollbackStarter,
): Promise<HealthReportResult> {
  const release = report.version;
  const customer = await getCustomer(release, report.customerId);
  if (!customer) return refuse(report, (await getRelease(release)) ? 'unknown-customer' : 'unknown-release');
  const refusal = healthReportRefusal(report.reportedAt, customer.deploymentRequestedAt, now());
  if (refusal) return refuse(report, refusal, customer.deploymentRequestedAt);
  await putHealthReport(release, report);
  // The evidence a gate needs: this deployed customer reported since its deployment. Counted here when the
  // customer is deployed already, else by recordOutcome when its deployment succeeds; a customer marked by
  // an earlier report needs no second mark. The evidence its step still waited for lets the release go on.
  const marked = customer.firstHealthReportAt
    ? customer
    : await markHealthReported(release, report.customerId, report.reportedAt);
  if (
    marked &&
    hasBeenDeployed(marked.state) &&
    (await countHealthEvidenceOnce(release, marked.stepKey, marked.id))
  )
    await resumeIfStepComplete(release, marked.stepKey);
  const config = await configOf(release);
  const fired = firedTrigger(report, config.release.rollbackTriggers);
  await noteHealthReport(release, report.customerId, report.reportedAt, fired);
  if (customer.silentSince) await heardFromAgain(release, customer, report.reportedAt);
  const criteria = config.release.phases.find((phase) => phase.name === customer.phase)?.successCriteria;
  const limits = criteria && { ...criteria, ...config.release.releaseQuality };
  // The report's own key: a redelivery (same event, same report) has the same one.
  const key = `${report.customerId}#${report.reportedAt}`;
  // A report that counts against no criterion changes no step: its step is not even read.
  const countsAgainstCriteria =
    limits !== undefined && addHealthReport(NO_HEALTH_ISSUES, { ...report, key }, limits) !== undefined;
  const counted =
    limits && countsAgainstCriteria
      ? await changeStepHealth(release, customer.stepKey, (health) =>
          addHealthReport(health, { ...report, key }, limits),
        )
      : false;
  // A trigger fired by a customer not deployed yet waits for the health sweep; a customer already rolling
  // back is asked again, so a retry starts an execution a failed attempt did not.
  if (!fired || !(customer.state === 'deployed' || customer.state === 'rolling-back'))
    return { recorded: true, counted };
  const rollback = await requestRollback(
    {
      release,
      customerId: report.customerId,
      trigger: fired.trigger,
      reason: fired.reason,
      by: fired.by ?? 'record-health-report',
    },
    startRollback,
  );
  return { recorded: true, counted, rollback };
}

/** A silent customer reported again: its flag comes off, in its history and on its step's count. */
async function heardFromAgain(release: string, customer: CustomerRecord, reportedAt: string): Promise<void> {
  const cleared = await noteInHistory(
    release,
    customer.id,
    customer.state,
    { at: now(), by: 'record-health-report', reason: `reporting health again (report of ${reportedAt})` },
    { remove: ['silentSince'], guardField: 'silentSince', onlyIf: 'set' },
  );
  if (cleared) await markSilentOnStep(release, customer.stepKey, customer.id, false);
}

/**
 * A refused report leaves a log line, a count by reason (on the release, when it exists) and a CloudWatch
 * count. A redelivered refused report is counted again.
 */
async function refuse(
  report: HealthReported,
  reason: HealthReportRefusal,
  deploymentRequestedAt?: string,
): Promise<HealthReportResult> {
  logger.warn('Health report refused', {
    release: report.version,
    customer: report.customerId,
    reason,
    reportedAt: report.reportedAt,
    ...(deploymentRequestedAt ? { deploymentRequestedAt } : {}),
  });
  countMetric('HealthReportsRefused');
  await countRefusedHealthReport(reason === 'unknown-release' ? undefined : report.version, reason);
  return { recorded: false, reason };
}
