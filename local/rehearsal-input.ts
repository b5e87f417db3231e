import { bundledConfig, loadFleet } from '../lambdas/core/config.js';
import type { Fleet } from '../lambdas/core/model.js';
import { assertMinorRelease } from '../lambdas/core/versions.js';
import { sampleFleet } from './sample-fleet.js';

/**
 * The fleet a rehearsal of `version` runs on, or the error that refuses it: a fleet file that cannot be read
 * or parsed, or a version that is not a minor release. Light on purpose: the entry point checks its input
 * with it before loading the local cloud, so bad input is refused in a moment with nothing started.
 */
export function rehearsalFleet(version: string, fleetFile?: string): Fleet {
  const fleet = localFleet(fleetFile);
  assertMinorRelease(version, fleet);
  return fleet;
}

/** The fleet file given (validated), or the sample fleet. */
export function localFleet(fleetFile?: string): Fleet {
  const policies = bundledConfig().policies;
  return fleetFile ? loadFleet(fleetFile, policies) : sampleFleet(policies);
}
