import { releaseHalted } from '../email/messages.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { oncePerRelease } from '../shared/once.js';
import { audit } from '../store/audit.js';
import { getRelease, moveRelease } from '../store/releases.js';

/**
 * The release cannot go on (a task failed beyond its retries): records why, tells the escalation contacts
 * once, and publishes `Release Halted` once. Safe to repeat: the first recorded reason stays.
 */
export async function recordReleaseFailure(release: string, reason: string): Promise<{ reason: string }> {
  const current = await getRelease(release);
  const why = current?.haltReason ?? reason;
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
}
