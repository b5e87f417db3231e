import * as z from 'zod';
import { sendDueNotices } from '../application/notices.js';
import { MAX_CUSTOMER_ID_LENGTH } from '../core/config.js';
import { optionalNumberEnv } from '../shared/env.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({
  release: z.string(),
  asOf: z.iso.datetime({ offset: true }),
  /** Where the previous run of the same loop stopped (its `cursor`); null or absent: from the first customer. */
  cursor: z.string().min(1).max(MAX_CUSTOMER_ID_LENGTH).nullable().optional(),
});

/**
 * "Send advance notices": emails every customer whose notice is due by `asOf`, once each. Sends at most
 * NOTICES_PER_RUN per invocation and reports `remaining` with a `cursor`, so the state machine loops, each
 * run reading on from where the last one stopped, instead of one Lambda outliving its timeout.
 */
export const handler = taskHandler(input, ({ release, asOf, cursor }) =>
  sendDueNotices(release, asOf, optionalNumberEnv('NOTICES_PER_RUN', 200), cursor),
);
