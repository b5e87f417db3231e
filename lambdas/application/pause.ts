import { DateTime } from 'luxon';
import { releaseControl, rollbackEscalation } from '../email/messages.js';
import { now } from '../shared/clock.js';
import { PauseTimeLimitError } from '../shared/errors.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { oncePerRelease } from '../shared/once.js';
import { getRelease, moveRelease, requireRelease } from '../store/releases.js';

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

export interface PausedExecution {
  /** Where the release execution waits, for the operator ("Standard · batch 2 of 4 · halted, awaiting decision"). */
  state: string;
  executionStartedAt: string;
  executionTimeLimitSeconds: number;
  reminderIntervalSeconds: number;
}

/**
 * A pause has lasted another reminder interval without a decision: reminds the escalation contacts, once
 * per interval. When the execution's own time limit is less than two intervals away, throws
 * `Release.TimeLimit` instead, so the workflow ends the release as aborted, with the reason.
 */
export async function remindWhilePaused(
  release: string,
  execution: PausedExecution,
): Promise<{ reminded: true }> {
  const { state, executionStartedAt, executionTimeLimitSeconds, reminderIntervalSeconds } = execution;
  const record = await requireRelease(release);
  const at = DateTime.fromISO(now());
  const limit = DateTime.fromISO(executionStartedAt).plus({ seconds: executionTimeLimitSeconds });
  if (at.plus({ seconds: 2 * reminderIntervalSeconds }) >= limit)
    throw new PauseTimeLimitError(
      `no decision before the execution's time limit (${limit.toUTC().toISO()}); paused since ${record.pause?.since ?? 'unknown'}: ${record.pause?.reason ?? 'no reason recorded'}`,
    );
  const since = record.pause?.since ?? record.schedule.startAt;
  const interval = Math.floor(at.diff(DateTime.fromISO(since)).as('seconds') / reminderIntervalSeconds);
  await oncePerRelease(release, `reminded#${since}#${interval}`, () =>
    emailEscalationContacts(
      release,
      'reminder',
      releaseControl({
        release,
        what: 'still paused',
        reason: record.pause?.reason ?? 'awaiting a decision',
        by: record.pause?.by ?? 'the release workflow',
        next: `The release waits at "${state}" since ${since} until someone resumes or aborts it.`,
      }),
    ),
  );
  return { reminded: true };
}
