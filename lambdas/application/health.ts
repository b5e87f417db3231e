import { addHealthReport, hasBeenDeployed } from '../core/gates.js';
import { type HealthReportRefusal, healthReportRefusal, isAheadOfClock } from '../core/health-scope.js';
import { firedTrigger } from '../core/rollback.js';
import type { HealthReported } from '../events/contract.js';
import { now } from '../shared/clock.js';
import { TransientError } from '../shared/errors.js';
import { countMetric, logger } from '../shared/observability.js';
import { countRefusedHealthReport, putHealthReport } from '../store/audit.js';
import {
  type CustomerRecord,
  getCustomer,
  markHealthEvidenceCounted,
  noteEarlierHealthReport,
  noteInHistory,
  noteLatestHealthReport,
} from '../store/customers.js';
import { getRelease } from '../store/releases.js';
import {
  changeStepHealthShard,
  countHealthEvidence,
  markSilentOnStep,
  mayCompleteStep,
} from '../store/steps.js';
import { resumeIfStepComplete } from './outcomes.js';
import { configOf } from './release-config.js';
import { type RollbackRequestResult, type RollbackStarter, requestRollback } from './rollbacks.js';

export type HealthReportResult =
  | { recorded: true; counted: boolean; rollback?: RollbackRequestResult }
  | { recorded: false; reason: HealthReportRefusal };

/** The states after a rollback was asked for: only reports of these are kept, for checkRollbackHealth. */
const ROLLBACK_STATES: readonly CustomerRecord['state'][] = [
  'rolling-back',
  'rolled-back',
  'rollback-failed',
];

/**
 * Keeps a customer's health report on the customer and counts it on the customer's step, once however often
 * it is delivered, so the step's gate reads the step's health instead of every report. A report out of scope
 * (core/health-scope.ts: unknown release or customer, dated before the customer's deployment was requested or
 * ahead of the clock) is refused: neither kept nor counted, only logged and counted as refused.
 *
 * A routine report (the latest of a deployed customer whose evidence is counted, firing no trigger, changing
 * nothing its step's health shard holds) is one conditional write to its customer; the first one of a customer
 * also counts its evidence on its step (two writes more, once).
 */
export async function recordHealthReport(
  report: HealthReported,
  startRollback?: RollbackStarter,
): Promise<HealthReportResult> {
  const release = report.version;
  const at = now();
  // The policies the release was planned with, read once per process (release-config.ts).
  const config = await configOf(release);
  const fired = firedTrigger(report, config.release.rollbackTriggers);
  const noted = await noteOnCustomer(report, at, fired);
  if ('refused' in noted) return refuse(report, noted.refused, noted.deploymentRequestedAt);
  const customer = noted.customer;
  // Reports since a rollback was asked for are what checkRollbackHealth judges it by; no one reads the others.
  // One dated ahead of the clock may postdate a rollback asked for in the next minutes.
  if (ROLLBACK_STATES.includes(customer.state) || Date.parse(report.reportedAt) > Date.parse(at))
    await putHealthReport(release, report);
  // The evidence a gate needs: this deployed customer reported since its deployment. Counted here when the
  // customer is deployed already, else by recordOutcome when its deployment succeeds; the customer notes it
  // once counted, so its next reports skip it. The evidence its step still waited for lets the release go on.
  if (hasBeenDeployed(customer.state) && !customer.healthEvidenceCounted) {
    const counted = await countHealthEvidence(release, customer.stepKey, customer.id);
    // The step is read only when it may be complete now: its shard has every outcome, or knows no total yet.
    if (counted && mayCompleteStep(counted)) await resumeIfStepComplete(release, customer.stepKey);
    await markHealthEvidenceCounted(release, customer.id);
  }
  if (customer.silentSince) await heardFromAgain(release, customer, report.reportedAt);
  const criteria = config.release.phases.find((phase) => phase.name === customer.phase)?.successCriteria;
  const limits = criteria && { ...criteria, ...config.release.releaseQuality };
  // The report's own key: a redelivery (same event, same report) has the same one.
  const key = `${report.customerId}#${report.reportedAt}`;
  let counted = false;
  if (limits)
    await changeStepHealthShard(release, customer.stepKey, customer.id, (health) => {
      const changed = addHealthReport(health, { ...report, key }, limits);
      counted = changed !== undefined && changed.reports.length > health.reports.length;
      return changed;
    });
  // A trigger fired by a customer not deployed yet waits for the health sweep (the write above made the
  // customer due at once for it); a customer already rolling back is asked again, so a retry starts an
  // execution a failed attempt did not.
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

const NOTE_ATTEMPTS = 5;

/**
 * Keeps the report on its customer (noteLatestHealthReport): in one write when it is in scope and the latest,
 * else after reading the customer to tell a refusal from an earlier or redelivered report.
 */
async function noteOnCustomer(
  report: HealthReported,
  at: string,
  fired: ReturnType<typeof firedTrigger>,
): Promise<
  { customer: CustomerRecord } | { refused: HealthReportRefusal; deploymentRequestedAt?: string | undefined }
> {
  const release = report.version;
  const trigger = fired && { trigger: fired.trigger, reason: fired.reason };
  // The store writes instants as toISOString does; the report's, written so, compares with them as text.
  const customer =
    !isAheadOfClock(report.reportedAt, at) &&
    (await noteLatestHealthReport(
      release,
      report.customerId,
      report.reportedAt,
      { notAfter: new Date(report.reportedAt).toISOString() },
      trigger,
    ));
  if (customer) return { customer };
  for (let attempt = 0; attempt < NOTE_ATTEMPTS; attempt += 1) {
    const found = await getCustomer(release, report.customerId);
    if (!found) return { refused: (await getRelease(release)) ? 'unknown-customer' : 'unknown-release' };
    const refusal = healthReportRefusal(report.reportedAt, found.deploymentRequestedAt, at);
    if (refusal || found.deploymentRequestedAt === undefined)
      return { refused: refusal ?? 'before-deployment', deploymentRequestedAt: found.deploymentRequestedAt };
    const requestedAt = found.deploymentRequestedAt;
    const latest = found.lastHealthReportAt === undefined || found.lastHealthReportAt < report.reportedAt;
    const noted = latest
      ? await noteLatestHealthReport(release, found.id, report.reportedAt, { exactly: requestedAt }, trigger)
      : !found.firstHealthReportAt || (trigger && !found.healthTrigger)
        ? await noteEarlierHealthReport(release, found.id, report.reportedAt, requestedAt, trigger)
        : found;
    if (noted) return { customer: noted };
  }
  throw new TransientError(
    `Customer ${report.customerId} of ${release} kept changing while its health report was kept`,
  );
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
