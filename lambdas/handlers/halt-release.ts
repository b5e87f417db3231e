import { z } from 'zod';
import { releaseHalted } from '../email/messages.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { describeFailure } from '../shared/failure.js';
import { oncePerRelease } from '../shared/once.js';
import { taskHandler } from '../shared/task.js';
import { audit, getRelease, setReleaseStatus } from '../store/release-store.js';

const input = z.strictObject({
  release: z.string(),
  reason: z.string().optional(),
  failure: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/** "Halt release": records why, tells the escalation contacts once, and publishes `Release Halted` once. */
export const handler = taskHandler(input, async ({ release, reason, failure }) => {
  const current = await getRelease(release);
  const why =
    current?.haltReason ?? (reason || describeFailure(failure) || 'halted without a recorded reason');
  if (current?.status !== 'halted') {
    await setReleaseStatus(release, 'halted', { haltReason: why });
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
