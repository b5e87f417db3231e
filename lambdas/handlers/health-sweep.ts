import * as z from 'zod';
import { sweepHealth } from '../application/health-sweep.js';
import { taskHandler } from '../shared/task.js';

/** EventBridge's "Scheduled Event" as it invokes the target; only its shape is checked. */
const scheduledEvent = z.looseObject({ 'detail-type': z.literal('Scheduled Event') });

/**
 * Target of the health sweep schedule (config healthSweep.rateMinutes): re-evaluates the deployed customers
 * of every release still going, requests the rollbacks their reports call for, and flags the silent ones.
 */
export const handler = taskHandler(scheduledEvent, () => sweepHealth());
