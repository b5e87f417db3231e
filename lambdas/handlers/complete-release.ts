import * as z from 'zod';
import { completeRelease } from '../application/release-report.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({ release: z.string() });

/**
 * "Report release": per-phase outcome counts and emails sent (from the steps' and emails' counters, never a
 * read of every customer), stored on the release and announced once.
 */
export const handler = taskHandler(input, ({ release }) => completeRelease(release));
