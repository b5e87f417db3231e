import { VersionError } from './errors.js';
import type { Fleet } from './model.js';

export interface Version {
  major: number;
  minor: number;
  patch: number;
}

// No leading zeros, so every version has exactly one spelling.
const TAG_PATTERN = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

export function isVersionTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

export function parseVersion(tag: string): Version {
  const match = TAG_PATTERN.exec(tag);
  if (!match) {
    throw new VersionError(`'${tag}' is not a version tag; expected a tag like v1.1.0`);
  }
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

export function formatVersion(version: Version): string {
  return `v${version.major}.${version.minor}.${version.patch}`;
}

/** Negative when a is older than b, 0 when equal, positive when a is newer. */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** The highest version any customer runs: that is what "released" means for the fleet. */
export function latestReleasedVersion(fleet: Fleet): Version | undefined {
  let latest: Version | undefined;
  for (const customer of fleet.customers) {
    const version = parseVersion(customer.currentVersion);
    if (!latest || compareVersions(version, latest) > 0) latest = version;
  }
  return latest;
}

/**
 * Refuses anything this workflow must not carry: a malformed tag, a patch or major release, or a version
 * that is not newer than the latest released one. Returns the parsed version.
 */
export function assertMinorRelease(tag: string, fleet: Fleet): Version {
  const version = parseVersion(tag);
  const latest = latestReleasedVersion(fleet);
  if (latest && version.major > latest.major) {
    throw new VersionError(`${tag} is a major release; this workflow carries minor releases only`);
  }
  if (version.patch !== 0) {
    throw new VersionError(`${tag} is a patch release; minor releases end in .0`);
  }
  if (latest && compareVersions(version, latest) <= 0) {
    throw new VersionError(`${tag} is not newer than the latest released ${formatVersion(latest)}`);
  }
  if (!latest && version.minor === 0) {
    throw new VersionError(`${tag} is a major release; this workflow carries minor releases only`);
  }
  return version;
}

/** `v1.1.0` → `v1-1-0`, the form used in stack, state machine and execution names. */
export function versionSlug(version: string): string {
  return version.replaceAll('.', '-');
}
