import * as z from 'zod';
import { releaseReport } from '../application/release-report.js';
import { releaseCompleted } from '../email/messages.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { logger } from '../shared/observability.js';
import { oncePerRelease } from '../shared/once.js';
import { taskHandler } from '../shared/task.js';
import { moveRelease, requireRelease } from '../store/releases.js';

const input = z.strictObject({ release: z.string() });

/**
 * "Report release": per-phase outcome counts and emails sent (from the steps' and emails' counters, never a
 * read of every customer), stored on the release and announced once.
 */
export const handler = taskHandler(input, async ({ release }) => {
  const current = await requireRelease(release);
  const report = current.report ?? (await releaseReport(current));
  if (current.status !== 'completed') await moveRelease(release, ['running'], 'completed', { report });
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
