import * as z from 'zod';
import { abort, cancelUndeployed } from '../application/halt.js';
import { describeFailure } from '../shared/failure.js';
import { taskHandler } from '../shared/task.js';
import { requireRelease } from '../store/releases.js';

const input = z.strictObject({
  release: z.string(),
  failure: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/**
 * "Abort release": the release ends here, by an operator's abort or a pause that outlived the execution's
 * time limit. Every customer not yet deployed ends `cancelled`; the people concerned are told, once.
 */
export const handler = taskHandler(input, async ({ release, failure }) => {
  const record = await requireRelease(release);
  if (record.status !== 'aborted') {
    const reason = describeFailure(failure) ?? 'aborted by the release workflow';
    await abort(release, { reason, by: 'the release workflow' });
    return { aborted: true, reason };
  }
  const reason = record.abortReason ?? 'aborted';
  await cancelUndeployed(release, { reason, by: 'the release workflow' });
  return { aborted: true, reason };
});
