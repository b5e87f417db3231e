import { describe, expect, it } from 'vitest';
import { VersionError } from '../../lambdas/core/errors.js';
import type { Fleet } from '../../lambdas/core/model.js';
import {
  assertMinorRelease,
  compareVersions,
  latestReleasedVersion,
  parseVersion,
} from '../../lambdas/core/versions.js';

function fleetOn(...versions: string[]): Fleet {
  return {
    customers: versions.map((currentVersion, index) => ({
      id: `customer-${index}`,
      name: `Customer ${index}`,
      policy: 'standard',
      currentVersion,
      contacts: [{ name: 'Ops', email: 'ops@example.com' }],
      approvers: [],
      maintenanceWindow: { timeZone: 'UTC', days: ['mon'], start: '01:00', durationMinutes: 60 },
    })),
  };
}

describe('versions', () => {
  it('parses a tag into its three numbers', () => {
    expect(parseVersion('v1.12.3')).toEqual({ major: 1, minor: 12, patch: 3 });
  });

  it.each(['1.1.0', 'v1.1', 'v1.01.0', 'v1.1.0-rc1', 'latest', ''])('refuses the malformed tag %j', (tag) => {
    expect(() => parseVersion(tag)).toThrow(/expected a tag like v1.1.0/);
  });

  it('orders versions by major, then minor, then patch', () => {
    const sorted = ['v1.10.0', 'v1.2.0', 'v2.0.0', 'v1.2.1'].map(parseVersion).sort(compareVersions);
    expect(sorted).toEqual([
      { major: 1, minor: 2, patch: 0 },
      { major: 1, minor: 2, patch: 1 },
      { major: 1, minor: 10, patch: 0 },
      { major: 2, minor: 0, patch: 0 },
    ]);
  });

  it('takes the highest version any customer runs as the latest release', () => {
    expect(latestReleasedVersion(fleetOn('v1.0.0', 'v1.2.0', 'v1.1.0'))).toEqual({
      major: 1,
      minor: 2,
      patch: 0,
    });
  });

  it('accepts the next minor release of the fleet', () => {
    expect(assertMinorRelease('v1.1.0', fleetOn('v1.0.0'))).toEqual({ major: 1, minor: 1, patch: 0 });
  });

  it('accepts a minor release that skips a minor number', () => {
    expect(() => assertMinorRelease('v1.3.0', fleetOn('v1.0.0'))).not.toThrow();
  });

  it.each([
    ['v1.1.1', 'v1.1.1 is a patch release; minor releases end in .0'],
    ['v2.0.0', 'v2.0.0 is a major release; this workflow carries minor releases only'],
    ['v1.0.0', 'v1.0.0 is not newer than the latest released v1.1.0'],
    ['v1.1.0', 'v1.1.0 is not newer than the latest released v1.1.0'],
    ['v0.9.0', 'v0.9.0 is not newer than the latest released v1.1.0'],
    ['v1.1', "'v1.1' is not a version tag; expected a tag like v1.1.0"],
  ])('refuses %s with the reason', (tag, reason) => {
    const fleet = fleetOn('v1.0.0', 'v1.1.0');

    const attempt = () => assertMinorRelease(tag, fleet);

    expect(attempt).toThrow(VersionError);
    expect(attempt).toThrow(reason);
  });
});
