import { z } from 'zod';
import { releaseHalted } from '../email/messages.js';
import { sendEmail } from '../email/send.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { taskHandler } from '../shared/task.js';
import { audit, countEmail, getRelease, setReleaseStatus } from '../store/release-store.js';

const input = z.strictObject({
  release: z.string(),
  reason: z.string().optional(),
  failure: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/** "Halt release": records why, tells the escalation contacts once, and publishes `Release Halted`. */
export const handler = taskHandler(input, async ({ release, reason, failure }) => {
  const why = reason || describeFailure(failure);
  const current = await getRelease(release);
  if (current?.status === 'halted') return { reason: current.haltReason ?? why };
  await setReleaseStatus(release, 'halted', { haltReason: why });
  await audit(release, now(), 'halt', { reason: why });
  const escalation = (process.env.ESCALATION_EMAILS ?? '').split(',').filter(Boolean);
  if (escalation.length > 0) {
    await sendEmail(escalation, releaseHalted({ release, reason: why }));
    await countEmail(release, 'halt');
  }
  await publish([
    {
      detailType: DETAIL_TYPES.releaseHalted,
      detail: { schemaVersion: SCHEMA_VERSION, release, at: now(), reason: why },
    },
  ]);
  return { reason: why };
});

function describeFailure(failure: { Error?: string; Cause?: string } | undefined): string {
  if (!failure) return 'halted without a recorded reason';
  let cause = failure.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    cause = parsed.errorMessage ?? cause;
  } catch {
    // Causes that are not Lambda error JSON are shown as they are.
  }
  return `${failure.Error ?? 'Error'}: ${cause}`.slice(0, 1000);
}
