import { z } from 'zod';
import { releaseCompleted } from '../email/messages.js';
import { sendEmail } from '../email/send.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { taskHandler } from '../shared/task.js';
import {
  countEmail,
  emailCounts,
  getRelease,
  listCustomers,
  setReleaseStatus,
} from '../store/release-store.js';

const input = z.strictObject({ release: z.string() });

/** "Report release": per-phase outcome counts and emails sent, stored on the release and announced once. */
export const handler = taskHandler(input, async ({ release }) => {
  const current = await getRelease(release);
  if (current?.status === 'completed' && current.report) return current.report;
  const customers = await listCustomers(release);
  const phases: Record<string, Record<string, number>> = {};
  for (const customer of customers) {
    const counts = (phases[customer.phase] ??= {
      deployed: 0,
      failed: 0,
      rejected: 0,
      deferred: 0,
      held: 0,
      rolledBack: 0,
    });
    counts[customer.outcome ?? 'held'] = (counts[customer.outcome ?? 'held'] ?? 0) + 1;
  }
  const totals = {
    customers: customers.length,
    deployed: customers.filter((c) => c.outcome === 'deployed').length,
  };
  const report = { release, completedAt: now(), phases, totals, emails: await emailCounts(release) };
  await setReleaseStatus(release, 'completed', { report });
  const recipients = (process.env.ESCALATION_EMAILS ?? '').split(',').filter(Boolean);
  if (recipients.length > 0) {
    await sendEmail(recipients, releaseCompleted({ release, summary: totals }));
    await countEmail(release, 'completion');
  }
  await publish([
    {
      detailType: DETAIL_TYPES.releaseCompleted,
      detail: { schemaVersion: SCHEMA_VERSION, release, at: report.completedAt, summary: totals },
    },
  ]);
  return report;
});
