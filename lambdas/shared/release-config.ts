import { bundledConfig, bundledFleet, loadFleet } from '../core/config.js';
import type { Config, Fleet } from '../core/model.js';

let cached: { config: Config; fleet: Fleet } | undefined;

/**
 * The policies and fleet a Lambda plans with: the ones bundled at deploy time, or the fleet file named by
 * FLEET_FILE (the local rehearsal's --fleet).
 */
export function releaseConfig(): { config: Config; fleet: Fleet } {
  if (!cached) {
    const config = bundledConfig();
    const fleetFile = process.env.FLEET_FILE;
    cached = {
      config,
      fleet: fleetFile ? loadFleet(fleetFile, config.policies) : bundledFleet(config.policies),
    };
  }
  return cached;
}

export function forgetReleaseConfig(): void {
  cached = undefined;
}
