import * as z from 'zod';
import { openRelease } from '../application/plan.js';
import type { ReleaseSchedule } from '../core/rollout-shape.js';
import { taskHandler } from '../shared/task.js';

const input = z.strictObject({ release: z.string() });

/**
 * "Open release": once the whole plan is written, takes over the customers older releases have not asked
 * anything of yet, moves the release to running and announces it, each once; returns its schedule.
 */
export const handler = taskHandler(input, ({ release }): Promise<ReleaseSchedule> => openRelease(release));
