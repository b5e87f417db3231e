import { fileURLToPath } from 'node:url';
import { bundledConfig, loadFleet } from '../lambdas/core/config.js';
import type { DeploymentPolicies, Fleet } from '../lambdas/core/model.js';

/**
 * The sample fleet the rehearsal imports, the offline `plan-release` plans and the tests use. Only the CLI,
 * the local runtime and tests read it: no Lambda function carries the fleet (it lives in the table).
 */
export const SAMPLE_FLEET_FILE = fileURLToPath(new URL('../config/customers.json', import.meta.url));

export function sampleFleet(policies: DeploymentPolicies = bundledConfig().policies): Fleet {
  return loadFleet(SAMPLE_FLEET_FILE, policies);
}
