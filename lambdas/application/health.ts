import { addHealthReport } from '../core/gates.js';
import type { HealthReported } from '../events/contract.js';
import { releaseConfig } from '../shared/release-config.js';
import { putHealthReport } from '../store/audit.js';
import { getCustomer } from '../store/customers.js';
import { changeStepHealth } from '../store/steps.js';

/**
 * Keeps a customer's health report under its release and counts it on the customer's step, once however
 * often it is delivered, so the step's gate reads the step's health instead of every report. A report
 * about a customer the release does not plan is kept but counted nowhere.
 */
export async function recordHealthReport(report: HealthReported): Promise<{ counted: boolean }> {
  const release = report.version;
  await putHealthReport(release, report);
  const customer = await getCustomer(release, report.customerId);
  if (!customer) return { counted: false };
  const criteria = releaseConfig().config.release.phases.find(
    (phase) => phase.name === customer.phase,
  )?.successCriteria;
  if (!criteria) return { counted: false };
  // The report's own key: a redelivery (same event, same report) has the same one.
  const key = `${report.customerId}#${report.reportedAt}`;
  const counted = await changeStepHealth(release, customer.stepKey, (health) =>
    addHealthReport(health, { ...report, key }, criteria),
  );
  return { counted };
}
