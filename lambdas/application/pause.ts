import { releaseControl, rollbackEscalation } from '../email/messages.js';
import { now } from '../shared/clock.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { oncePerRelease } from '../shared/once.js';
import { getRelease, moveRelease } from '../store/releases.js';

export interface FailedGate {
  /** What failed, e.g. `gate#standard_2` or `gate#enterprise#acme-corporation`: one pause and one email each. */
  what: string;
  /** The steps whose results failed it; resuming accepts their failures. */
  steps: string[];
  /** Said to the escalation contacts, e.g. "gate standard_2 failed: …". */
  reason: string;
}

/**
 * A gate that did not pass pauses a running release, awaiting a decision (resume accepts the result, abort
 * ends the release), and tells the escalation contacts once. Returns whether this call paused it.
 */
export async function pauseForFailedGate(release: string, gate: FailedGate): Promise<boolean> {
  const paused = await moveRelease(release, ['running'], 'paused', {
    pause: { kind: 'gate-failed', reason: gate.reason, since: now(), by: gate.what, steps: gate.steps },
  });
  await oncePerRelease(release, `pauseEmailed#${gate.what}`, () =>
    emailEscalationContacts(
      release,
      'pause',
      releaseControl({
        release,
        what: 'paused',
        reason: gate.reason,
        by: 'the release workflow',
        next: 'Nothing more is deployed until someone resumes the release (accepting the result) or aborts it.',
      }),
    ),
  );
  return paused;
}

/**
 * A customer's rollback failed: a running release pauses, awaiting a decision before its next step or gate
 * (resume or abort), and the escalation contacts are paged once for this customer, whatever the release's
 * status (a completed release cannot pause, but someone must still act). Returns whether this call paused it.
 */
export async function pauseForFailedRollback(
  release: string,
  customer: { id: string; name: string },
  reason: string,
): Promise<boolean> {
  // Once per customer: a redelivered or retried failure does not pause again a release someone resumed.
  let paused = false;
  await oncePerRelease(release, `rollbackFailedPaused#${customer.id}`, async () => {
    paused = await moveRelease(release, ['running'], 'paused', {
      pause: {
        kind: 'rollback-failed',
        reason: `the rollback of ${customer.id} failed: ${reason}`,
        since: now(),
        by: `rollback#${customer.id}`,
      },
    });
  });
  // Whether this call or an earlier run of it paused the release, the page says where the release stands.
  const record = await getRelease(release);
  const pausedForIt = record?.status === 'paused' && record.pause?.by === `rollback#${customer.id}`;
  await oncePerRelease(release, `rollbackFailedEmailed#${customer.id}`, () =>
    emailEscalationContacts(
      release,
      'rollback-failed',
      rollbackEscalation({
        customerName: customer.name,
        release,
        what: 'failed',
        reason,
        next: `${customer.id} may still run ${release}: restore it by hand. ${
          pausedForIt
            ? 'The release is paused: nothing more is deployed until someone resumes or aborts it.'
            : 'The release was not running, so it was not paused: check it before resuming it.'
        }`,
      }),
    ),
  );
  return paused;
}
