import { afterEach, describe, expect, it, vi } from 'vitest';
import { isKnownTimeZone } from '../../lambdas/core/time-zones.js';

describe('time zones', () => {
  afterEach(() => vi.restoreAllMocks());

  it('knows IANA zones and refuses names that are not one', () => {
    expect(isKnownTimeZone('Europe/Berlin')).toBe(true);
    expect(isKnownTimeZone('America/Argentina/Buenos_Aires')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isKnownTimeZone('')).toBe(false);
  });

  it('asks Intl about a zone once, however many customers share it', () => {
    const formats = vi.spyOn(Intl, 'DateTimeFormat');
    for (let customer = 0; customer < 1_000; customer += 1) {
      isKnownTimeZone('Asia/Kathmandu');
      isKnownTimeZone('Atlantis/Capital');
    }
    expect(formats.mock.calls.length).toBeLessThanOrEqual(2);
  });
});
