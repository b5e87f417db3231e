import type { DateTime } from 'luxon';
import { firstWindowStartAtOrAfter, type Instant, toUtc } from './maintenance-window.js';
import type { MaintenanceWindow } from './model.js';
import { ONE_AT_A_TIME_GAP_HOURS } from './timeouts.js';

/**
 * A new slot for a one-at-a-time customer whose date moved (a late approval, a halt): its first window
 * from `earliest` on, before its deadline, that starts at least ONE_AT_A_TIME_GAP_HOURS away from every
 * slot `taken` by the step's other customers, so no two deployments overlap and each is gated before the
 * next. Null when no such window is left before the deadline.
 */
export function firstFreeSlot(
  window: MaintenanceWindow,
  earliest: Instant,
  deadline: Instant,
  taken: Instant[],
): DateTime | null {
  const gapMs = ONE_AT_A_TIME_GAP_HOURS * 3_600_000;
  const takenMs = taken.map((slot) => toUtc(slot).toMillis());
  let from = toUtc(earliest);
  for (;;) {
    const candidate = firstWindowStartAtOrAfter(window, from, deadline);
    if (!candidate) return null;
    const at = candidate.toMillis();
    const clashes = takenMs.filter((slot) => Math.abs(slot - at) < gapMs);
    if (clashes.length === 0) return candidate;
    from = toUtc(new Date(Math.max(...clashes) + gapMs).toISOString());
  }
}
