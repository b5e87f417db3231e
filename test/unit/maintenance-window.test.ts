import type { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  firstWindowStartAtOrAfter,
  formatLocalTime,
  isInsideWindow,
} from '../../lambdas/core/maintenance-window.js';
import type { MaintenanceWindow } from '../../lambdas/core/model.js';

const iso = (instant: DateTime | null) => instant?.toUTC().toISO({ suppressMilliseconds: true }) ?? null;

describe('maintenance windows', () => {
  it('returns the next window start in the customer’s own time zone', () => {
    const window: MaintenanceWindow = {
      timeZone: 'Asia/Tokyo',
      days: ['sat'],
      start: '02:00',
      durationMinutes: 180,
    };

    const start = firstWindowStartAtOrAfter(window, '2027-03-01T09:00:00Z', '2027-04-01T00:00:00Z');

    expect(iso(start)).toBe('2027-03-05T17:00:00Z');
  });

  it('returns the earliest instant itself when a window is already open then', () => {
    const window: MaintenanceWindow = {
      timeZone: 'UTC',
      days: ['mon'],
      start: '08:00',
      durationMinutes: 120,
    };

    const start = firstWindowStartAtOrAfter(window, '2027-03-01T09:00:00Z', '2027-04-01T00:00:00Z');

    expect(iso(start)).toBe('2027-03-01T09:00:00Z');
  });

  it('finds a window that opened the previous local day and is still open', () => {
    const window: MaintenanceWindow = {
      timeZone: 'UTC',
      days: ['sun'],
      start: '22:00',
      durationMinutes: 240,
    };

    const start = firstWindowStartAtOrAfter(window, '2027-03-01T01:00:00Z', '2027-04-01T00:00:00Z');

    expect(iso(start)).toBe('2027-03-01T01:00:00Z');
  });

  it('returns null when no window starts before the limit', () => {
    const window: MaintenanceWindow = { timeZone: 'UTC', days: ['sat'], start: '02:00', durationMinutes: 60 };

    expect(firstWindowStartAtOrAfter(window, '2027-03-01T09:00:00Z', '2027-03-06T02:00:00Z')).toBeNull();
  });

  it('keeps the wall-clock start on the New York spring-forward night and ends by elapsed time', () => {
    const window: MaintenanceWindow = {
      timeZone: 'America/New_York',
      days: ['sun'],
      start: '01:00',
      durationMinutes: 180,
    };

    const start = firstWindowStartAtOrAfter(window, '2027-03-13T12:00:00Z', '2027-04-01T00:00:00Z');

    // 01:00 EST is 06:00Z; three elapsed hours end at 09:00Z, which New York calls 05:00 EDT.
    expect(iso(start)).toBe('2027-03-14T06:00:00Z');
    expect(isInsideWindow(window, '2027-03-14T08:59:00Z')).toBe(true);
    expect(isInsideWindow(window, '2027-03-14T09:00:00Z')).toBe(false);
  });

  it('moves a start time that does not exist on the spring-forward night forward by the gap', () => {
    const window: MaintenanceWindow = {
      timeZone: 'America/New_York',
      days: ['sun'],
      start: '02:30',
      durationMinutes: 60,
    };

    const start = firstWindowStartAtOrAfter(window, '2027-03-13T12:00:00Z', '2027-04-01T00:00:00Z');

    expect(start?.setZone('America/New_York').toFormat('HH:mm ZZZZ')).toBe('03:30 EDT');
  });

  it('keeps the wall-clock start after the Sydney DST end and ends by elapsed time', () => {
    const window: MaintenanceWindow = {
      timeZone: 'Australia/Sydney',
      days: ['sun'],
      start: '01:00',
      durationMinutes: 240,
    };

    const start = firstWindowStartAtOrAfter(window, '2027-03-30T09:00:00Z', '2027-05-01T00:00:00Z');

    // 01:00 AEDT on 4 April is 14:00Z the day before; four elapsed hours end at 04:00 AEDT = 03:00 AEST.
    expect(iso(start)).toBe('2027-04-03T14:00:00Z');
    expect(isInsideWindow(window, '2027-04-03T17:59:00Z')).toBe(true);
    expect(isInsideWindow(window, '2027-04-03T18:00:00Z')).toBe(false);
  });

  it('opens at the same local time before and after a DST change', () => {
    const window: MaintenanceWindow = {
      timeZone: 'Europe/London',
      days: ['sun'],
      start: '00:30',
      durationMinutes: 240,
    };

    const before = firstWindowStartAtOrAfter(window, '2027-03-20T12:00:00Z', '2027-05-01T00:00:00Z');
    const after = firstWindowStartAtOrAfter(window, '2027-03-29T12:00:00Z', '2027-05-01T00:00:00Z');

    expect(iso(before)).toBe('2027-03-21T00:30:00Z');
    expect(iso(after)).toBe('2027-04-03T23:30:00Z');
    expect(formatLocalTime(after ?? '', 'Europe/London')).toBe('Sun 2027-04-04 00:30 Europe/London');
  });

  it('formats an instant in the customer’s local time with weekday and zone', () => {
    expect(formatLocalTime('2027-03-27T05:00:00Z', 'America/New_York')).toBe(
      'Sat 2027-03-27 01:00 America/New_York',
    );
  });
});
