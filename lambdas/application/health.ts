import { addHealthReport, hasBeenDeployed } from '../core/gates.js';
import { type HealthReportRefusal, healthReportRefusal } from '../core/health-scope.js';
import type { HealthReported } from '../events/contract.js';
import { now } from '../shared/clock.js';
import { countMetric, logger } from '../shared/observability.js';
import { releaseConfig } from '../shared/release-config.js';
import { countRefusedHealthReport, putHealthReport } from '../store/audit.js';
import { getCustomer, markHealthReported } from '../store/customers.js';
import { getRelease } from '../store/releases.js';
import { changeStepHealth, countHealthEvidenceOnce } from '../store/steps.js';
import { resumeIfStepComplete } from './outcomes.js';

export type HealthReportResult =
  | { recorded: true; counted: boolean }
  | { recorded: false; reason: HealthReportRefusal };

/**
 * Keeps a customer's health report under its release and counts it on the customer's step, once however
 * often it is delivered, so the step's gate reads the step's health instead of every report. A report out
 * of scope (core/health-scope.ts: unknown release or customer, dated before the customer's deployment was
 * requested or ahead of the clock) is refused: neither kept nor counted, only logged and counted as refused.
 */
export async function recordHealthReport(report: HealthReported): Promise<HealthReportResult> {
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
  const { config } = releaseConfig();
  const criteria = config.release.phases.find((phase) => phase.name === customer.phase)?.successCriteria;
  if (!criteria) return { recorded: true, counted: false };
  const limits = { ...criteria, ...config.release.releaseQuality };
  // The report's own key: a redelivery (same event, same report) has the same one.
  const key = `${report.customerId}#${report.reportedAt}`;
  const counted = await changeStepHealth(release, customer.stepKey, (health) =>
    addHealthReport(health, { ...report, key }, limits),
  );
  return { recorded: true, counted };
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
