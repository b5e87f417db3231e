import { z } from 'zod';
import { releaseHalted } from '../email/messages.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { describeFailure } from '../shared/failure.js';
import { oncePerRelease } from '../shared/once.js';
import { taskHandler } from '../shared/task.js';
import { audit } from '../store/audit.js';
import { getRelease, moveRelease } from '../store/releases.js';

const input = z.strictObject({
  release: z.string(),
  reason: z.string().optional(),
  failure: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/**
 * "Record failure": the release cannot go on (a task failed beyond its retries). Records why, tells the
 * escalation contacts once, and publishes `Release Halted` once; the execution ends in "Release failed".
 */
export const handler = taskHandler(input, async ({ release, reason, failure }) => {
  const current = await getRelease(release);
  const why =
    current?.haltReason ?? (reason || describeFailure(failure) || 'halted without a recorded reason');
  if (current?.status !== 'failed') {
    await moveRelease(release, ['planning', 'running', 'paused', 'halted'], 'failed', { haltReason: why });
    await audit(release, now(), 'halt', { reason: why });
  }
  await oncePerRelease(release, 'haltEmailedAt', () =>
    emailEscalationContacts(release, 'halt', releaseHalted({ release, reason: why })),
  );
  await oncePerRelease(release, 'haltPublishedAt', () =>
    publish([
      {
        detailType: DETAIL_TYPES.releaseHalted,
        detail: { schemaVersion: SCHEMA_VERSION, release, at: now(), reason: why },
      },
    ]),
  );
  return { reason: why };
});
