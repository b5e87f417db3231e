import { describe, expect, it } from 'vitest';
import type { MaintenanceWindow } from '../../lambdas/core/model.js';
import { firstFreeSlot } from '../../lambdas/core/one-at-a-time.js';

// Every day 01:00–05:00 UTC.
const nightly: MaintenanceWindow = {
  timeZone: 'UTC',
  days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
  start: '01:00',
  durationMinutes: 240,
};
const iso = (slot: ReturnType<typeof firstFreeSlot>) => slot?.toISO({ suppressMilliseconds: true }) ?? null;

describe('a new slot for a one-at-a-time customer', () => {
  it('is its first window when no other deployment is near', () => {
    expect(iso(firstFreeSlot(nightly, '2027-04-01T12:00:00Z', '2027-05-01T00:00:00Z', []))).toBe(
      '2027-04-02T01:00:00Z',
    );
  });

  it('keeps the gap of a report timeout and its gate from another customer’s deployment, on either side', () => {
    const taken = ['2027-04-02T03:00:00Z'];

    expect(iso(firstFreeSlot(nightly, '2027-04-01T12:00:00Z', '2027-05-01T00:00:00Z', taken))).toBe(
      '2027-04-03T01:00:00Z',
    );
  });

  it('skips every night another deployment takes', () => {
    const taken = ['2027-04-02T01:00:00Z', '2027-04-03T01:30:00Z', '2027-04-04T02:00:00Z'];

    expect(iso(firstFreeSlot(nightly, '2027-04-01T12:00:00Z', '2027-05-01T00:00:00Z', taken))).toBe(
      '2027-04-05T01:00:00Z',
    );
  });

  it('is null when no free window is left before the deadline', () => {
    expect(
      firstFreeSlot(nightly, '2027-04-01T12:00:00Z', '2027-04-03T00:00:00Z', ['2027-04-02T02:00:00Z']),
    ).toBeNull();
  });
});
