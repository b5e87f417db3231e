import { type CustomerState, isNotYetRequested } from './lifecycle.js';
import { compareVersions, isVersionTag, parseVersion } from './versions.js';

// Overlapping releases: a customer is never downgraded and never deployed by two releases at once. A newer
// release supersedes an older one, still running, for the customers the older has not asked to deploy yet:
// they end `superseded` in the older release and follow the newer one's plan. Customers the older release
// already asked to deploy (or deployed) go on there; the newer one deploys them after it, never at the same
// time (a per-customer deployment claim, lambdas/store/deployment-claims.ts).

/**
 * How long a rollout waits when another release's deployment of its customer is in flight, before it looks
 * for its next window (and claims the customer again).
 */
export const IN_FLIGHT_RECHECK_HOURS = 1;

/** Release statuses whose customers a newer release can take over: it has not ended. */
export const OVERLAPPING_STATUSES = ['running', 'paused', 'halted'] as const;

/** True when `release` is an older version than `than` (both version tags; anything else is not older). */
export function isOlderRelease(release: string, than: string): boolean {
  if (!isVersionTag(release) || !isVersionTag(than)) return false;
  return compareVersions(parseVersion(release), parseVersion(than)) < 0;
}

/** The releases a newly planned `version` supersedes: older ones that have not ended, oldest first. */
export function releasesSupersededBy(
  version: string,
  releases: readonly { release: string; status: string }[],
): string[] {
  return releases
    .filter(
      (each) =>
        isOlderRelease(each.release, version) &&
        (OVERLAPPING_STATUSES as readonly string[]).includes(each.status),
    )
    .map((each) => each.release)
    .sort((a, b) => compareVersions(parseVersion(a), parseVersion(b)));
}

/**
 * The customers of a new release's plan that it takes over from older releases: those it plans to deploy.
 * A customer it cannot schedule (no window before its deadline) stays with the older release.
 */
export function customersToTakeOver(planned: readonly { id: string; deployAt: string | null }[]): string[] {
  return planned.filter((customer) => customer.deployAt !== null).map((customer) => customer.id);
}

/**
 * What becomes of a customer of an older release that a newer release plans: taken over while nothing was
 * asked of the platform yet; otherwise it goes on in the older release (deployment requested, deployed,
 * rolled back) or has already ended there.
 */
export function takeOverOf(state: CustomerState): 'take-over' | 'goes-on' | 'ended' {
  if (isNotYetRequested(state)) return 'take-over';
  if (state === 'deployment-requested' || state === 'deployed' || state === 'rolling-back') return 'goes-on';
  return 'ended';
}

export const supersededBy = (version: string): string => `superseded by ${version}`;

/**
 * A version as one number that orders like the versions do (major, minor, patch up to a million each), for
 * a conditional write that compares versions.
 */
export function versionRank(version: string): number {
  const { major, minor, patch } = parseVersion(version);
  return (major * 1_000_000 + minor) * 1_000_000 + patch;
}

/** What the store knows of a customer's deployments across releases (lambdas/store/deployment-claims.ts). */
export interface DeploymentClaimState {
  /** The release whose deployment of the customer is in flight now. */
  deployingRelease?: string;
  /** The newest version any release deployed to the customer. */
  deployedVersion?: string;
}

export type DeploymentVerdict =
  | { kind: 'proceed' }
  /** Another release's deployment of the customer is in flight: this one waits and looks for a later window. */
  | { kind: 'in-flight'; release: string }
  /** The customer already runs this version or a newer one: deploying this one would be a downgrade. */
  | { kind: 'already-on'; version: string };

/** Whether `release` may ask the platform to deploy the customer now, given what the store knows. */
export function deploymentVerdict(
  release: string,
  claim: DeploymentClaimState | undefined,
): DeploymentVerdict {
  if (claim?.deployedVersion && !isOlderRelease(claim.deployedVersion, release))
    return { kind: 'already-on', version: claim.deployedVersion };
  if (claim?.deployingRelease && claim.deployingRelease !== release)
    return { kind: 'in-flight', release: claim.deployingRelease };
  return { kind: 'proceed' };
}

/**
 * A step's customers as its gate judges them: a customer a newer release took over is neither a success
 * nor a failure of this release, so it leaves the step's total and its recorded outcomes alike.
 */
export function judgedCustomers(step: { total: number; recorded: number; superseded: number }): {
  total: number;
  recorded: number;
} {
  return {
    total: Math.max(0, step.total - step.superseded),
    recorded: Math.max(0, step.recorded - step.superseded),
  };
}

/**
 * Never a downgrade at planning: the customers a release of `version` plans are those on an older version;
 * a customer already on it or a newer one is left out, with the reason.
 */
export function withoutDowngrades<Customer extends { id: string; currentVersion: string }>(
  version: string,
  customers: readonly Customer[],
): { toPlan: Customer[]; leftOut: { id: string; reason: string }[] } {
  const toPlan: Customer[] = [];
  const leftOut: { id: string; reason: string }[] = [];
  for (const customer of customers) {
    if (isOlderRelease(customer.currentVersion, version)) toPlan.push(customer);
    else leftOut.push({ id: customer.id, reason: `already on ${customer.currentVersion}` });
  }
  return { toPlan, leftOut };
}
