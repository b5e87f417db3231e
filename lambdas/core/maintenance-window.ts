import { DateTime } from 'luxon';
import type { MaintenanceWindow, Weekday } from './model.js';
import { isKnownTimeZone } from './time-zones.js';

export type Instant = DateTime | string;

const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export function toUtc(instant: Instant): DateTime {
  const dateTime = typeof instant === 'string' ? DateTime.fromISO(instant, { setZone: true }) : instant;
  if (!dateTime.isValid) throw new RangeError(`not a valid ISO-8601 instant: ${String(instant)}`);
  return dateTime.toUTC();
}

interface Occurrence {
  start: DateTime;
  end: DateTime;
}

function parseStart(start: string): { hour: number; minute: number } {
  const [hour, minute] = start.split(':').map(Number);
  return { hour: hour ?? 0, minute: minute ?? 0 };
}

/**
 * The window that starts on a local calendar day, or undefined when the window is closed that weekday.
 * A start time skipped by a spring-forward night moves forward by the gap (luxon's rule); the duration is
 * elapsed time, so a window that spans a DST change ends an hour earlier or later on the wall clock.
 */
function occurrenceOn(window: MaintenanceWindow, localDay: DateTime): Occurrence | undefined {
  const weekday = WEEKDAYS[localDay.weekday - 1];
  if (!weekday || !window.days.includes(weekday)) return undefined;
  const { hour, minute } = parseStart(window.start);
  const start = DateTime.fromObject(
    { year: localDay.year, month: localDay.month, day: localDay.day, hour, minute },
    { zone: window.timeZone },
  );
  return { start, end: start.plus({ minutes: window.durationMinutes }) };
}

/**
 * Window occurrences in start order, beginning early enough to include any window still open at `from`
 * (a window lasts at most 24 h of elapsed time, which can reach two local days further across DST).
 */
function* occurrencesFrom(window: MaintenanceWindow, from: DateTime): Generator<Occurrence> {
  let localDay = from.setZone(window.timeZone).startOf('day').minus({ days: 2 });
  for (;;) {
    const occurrence = occurrenceOn(window, localDay);
    if (occurrence) yield occurrence;
    localDay = localDay.plus({ days: 1 });
  }
}

/**
 * The earliest instant at or after `earliest` that lies inside the window: `earliest` itself when a window is
 * open then, otherwise the next window's start. Null when that instant is not before `notAfter`.
 */
export function firstWindowStartAtOrAfter(
  window: MaintenanceWindow,
  earliest: Instant,
  notAfter: Instant,
): DateTime | null {
  return firstWindowSlotAtOrAfter(window, earliest, notAfter)?.at ?? null;
}

/** An instant inside a window, and when that window closes. */
export interface WindowSlot {
  at: DateTime;
  closesAt: DateTime;
}

/** Like `firstWindowStartAtOrAfter`, with the moment the window found closes. */
export function firstWindowSlotAtOrAfter(
  window: MaintenanceWindow,
  earliest: Instant,
  notAfter: Instant,
): WindowSlot | null {
  const from = toUtc(earliest);
  const limit = toUtc(notAfter);
  if (!isKnownTimeZone(window.timeZone)) throw new RangeError(`unknown time zone: ${window.timeZone}`);
  const opensSomeDay = window.days.some((day) => WEEKDAYS.includes(day));
  if (!opensSomeDay || window.durationMinutes < 1 || from >= limit) return null;
  for (const { start, end } of occurrencesFrom(window, from)) {
    if (start >= limit) return null;
    if (end > from) {
      const candidate = start > from ? start.toUTC() : from;
      return candidate < limit ? { at: candidate, closesAt: end.toUTC() } : null;
    }
  }
  return null;
}

export function isInsideWindow(window: MaintenanceWindow, instant: Instant): boolean {
  const at = toUtc(instant);
  const found = firstWindowStartAtOrAfter(window, at, at.plus({ milliseconds: 1 }));
  return found !== null && found.toMillis() === at.toMillis();
}

/** E.g. "Sat 2027-03-27 01:00 America/New_York". */
export function formatLocalTime(instant: Instant, timeZone: string): string {
  const local = toUtc(instant).setZone(timeZone).setLocale('en-US');
  return `${local.toFormat('ccc yyyy-MM-dd HH:mm')} ${timeZone}`;
}
