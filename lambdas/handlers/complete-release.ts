import * as z from 'zod';
import { hasBeenDeployed } from '../core/gates.js';
import { OUTCOME_STATES } from '../core/lifecycle.js';
import { releaseCompleted } from '../email/messages.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { logger } from '../shared/observability.js';
import { oncePerRelease } from '../shared/once.js';
import { taskHandler } from '../shared/task.js';
import { emailCounts } from '../store/audit.js';
import { type CustomerRecord, listCustomers } from '../store/customers.js';
import { getRelease, moveRelease } from '../store/releases.js';

const input = z.strictObject({ release: z.string() });

/** "Report release": per-phase outcome counts and emails sent, stored on the release and announced once. */
export const handler = taskHandler(input, async ({ release }) => {
  const current = await getRelease(release);
  const report = current?.report ?? (await buildReport(release));
  if (current?.status !== 'completed') await moveRelease(release, ['running'], 'completed', { report });
  const totals = report.totals as Record<string, number>;
  logger.info('Release completed', { totals });
  await oncePerRelease(release, 'completionEmailedAt', () =>
    emailEscalationContacts(release, 'completion', releaseCompleted({ release, summary: totals })),
  );
  await oncePerRelease(release, 'completionPublishedAt', () =>
    publish([
      {
        detailType: DETAIL_TYPES.releaseCompleted,
        detail: { schemaVersion: SCHEMA_VERSION, release, at: String(report.completedAt), summary: totals },
      },
    ]),
  );
  return report;
});

async function buildReport(release: string): Promise<Record<string, unknown>> {
  const customers = await listCustomers(release);
  const phases: Record<string, Record<string, number>> = {};
  for (const customer of customers) {
    phases[customer.phase] ??= Object.fromEntries(OUTCOME_STATES.map((outcome) => [outcome, 0]));
    const counts = phases[customer.phase] as Record<string, number>;
    counts[customer.state] = (counts[customer.state] ?? 0) + 1;
  }
  const count = (state: CustomerRecord['state']) => customers.filter((c) => c.state === state).length;
  // A customer rolled back (or whose rollback failed) was deployed: its deployment succeeded.
  const deployments = customers.filter((customer) => hasBeenDeployed(customer.state)).length;
  const attempted = deployments + count('failed');
  const totals = {
    customers: customers.length,
    deployed: count('deployed'),
    failed: count('failed'),
    rolledBack: count('rolled-back'),
    rollbackFailed: count('rollback-failed'),
    // Taken over by a newer release before this one asked to deploy them: neither success nor failure.
    superseded: count('superseded'),
    notDeployed: customers.length - count('deployed'),
    deploymentSuccessRatePercent: attempted === 0 ? 100 : Math.round((deployments / attempted) * 1000) / 10,
  };
  return { release, completedAt: now(), phases, totals, emails: await emailCounts(release) };
}
