import { CUSTOMER_STATES, type CustomerState, isNotYetRequested } from '../core/lifecycle.js';
import { deploymentVerdict, releasesSupersededBy, supersededBy, takeOverOf } from '../core/overlap.js';
import { now } from '../shared/clock.js';
import {
  CustomerSupersededError,
  DeploymentInFlightError,
  TransientError,
  WORKFLOW_ERRORS,
} from '../shared/errors.js';
import { logger } from '../shared/observability.js';
import { resumeWithFailure } from '../shared/step-functions.js';
import { getApproval } from '../store/approvals.js';
import {
  type CustomerRecord,
  customersIn,
  getCustomer,
  listParkedRollouts,
  unparkRollout,
} from '../store/customers.js';
import { claimDeployment, endDeploymentClaim, getDeploymentClaim } from '../store/deployment-claims.js';
import { getRelease, listReleases } from '../store/releases.js';
import { recordOutcome } from './outcomes.js';

// Overlapping releases (lambdas/core/overlap.ts): a newer release takes over the customers older, running
// releases have not asked to deploy yet, and every deployment request first claims its customer, so no
// customer is deployed by two releases at once nor downgraded.

const NOT_YET_REQUESTED_STATES = CUSTOMER_STATES.filter(isNotYetRequested);

/** The customers one older release hands over to the newer one, and those it goes on with. */
export interface Takeover {
  release: string;
  /** Customers that end `superseded` there and follow the newer release's plan. */
  takenOver: string[];
  /** Customers the older release already asked to deploy (or deployed): they go on there. */
  goesOn: { customerId: string; state: CustomerState }[];
}

async function supersededReleases(version: string): Promise<string[]> {
  const releases = await Promise.all(
    (await listReleases()).map(async (release) => ({
      release,
      status: (await getRelease(release))?.status ?? 'unknown',
    })),
  );
  return releasesSupersededBy(version, releases);
}

/**
 * What planning `version` would take over, release by release, without changing anything (the plan
 * command shows it): of the customers it plans (`customerIds`; every customer when not given), those each
 * older running release has not asked to deploy yet, and those it goes on with.
 */
export async function takeoverPreview(version: string, customerIds?: readonly string[]): Promise<Takeover[]> {
  const planned = customerIds ? new Set(customerIds) : undefined;
  const takeovers: Takeover[] = [];
  for (const release of await supersededReleases(version)) {
    const takeover: Takeover = { release, takenOver: [], goesOn: [] };
    for await (const customer of customersIn(release, CUSTOMER_STATES)) {
      if (planned && !planned.has(customer.id)) continue;
      const fate = takeOverOf(customer.state);
      if (fate === 'take-over') takeover.takenOver.push(customer.id);
      if (fate === 'goes-on') takeover.goesOn.push({ customerId: customer.id, state: customer.state });
    }
    if (takeover.takenOver.length > 0 || takeover.goesOn.length > 0) takeovers.push(takeover);
  }
  return takeovers;
}

/**
 * The newly planned release `version` takes over the customers it plans (`customerIds`) from every older
 * release still running (or paused, or halted): each one that release has not asked to deploy yet ends
 * `superseded` there ("superseded by v1.2.0", counted once on its step, whose waiting release execution
 * resumes when it was the step's last customer), and its rollout there ends without deploying: an approval
 * or a halt it waits on is answered with `Customer.Superseded`, and every later task of it stops on the
 * customer's state. Safe to run twice, and against the older release's own tasks: every move is a
 * conditional transition, so a customer whose deployment the older release requested first goes on there.
 */
export async function takeOverCustomers(
  version: string,
  customerIds: readonly string[] | (() => Promise<readonly string[]>),
  by: string,
): Promise<Takeover[]> {
  const olderReleases = await supersededReleases(version);
  if (olderReleases.length === 0) return [];
  // Read only when an older release runs (planning at fleet scale reads them from its plan chunks).
  const planned = new Set(typeof customerIds === 'function' ? await customerIds() : customerIds);
  const reason = supersededBy(version);
  const takeovers: Takeover[] = [];
  for (const release of olderReleases) {
    const takeover: Takeover = { release, takenOver: [], goesOn: [] };
    const waiting: Pick<CustomerRecord, 'id' | 'state'>[] = [];
    for await (const customer of customersIn(release, NOT_YET_REQUESTED_STATES)) {
      if (!planned.has(customer.id)) continue;
      const ended = await recordOutcome(release, customer.id, 'superseded', { by, reason });
      if (ended.outcome === 'superseded') {
        takeover.takenOver.push(customer.id);
        waiting.push(customer);
      } else if (!ended.outcome) {
        // Its deployment was requested meanwhile: it goes on in the older release.
        const latest = await getCustomer(release, customer.id);
        if (latest) takeover.goesOn.push({ customerId: latest.id, state: latest.state });
      }
    }
    await endWaitsOf(release, waiting, reason);
    if (takeover.takenOver.length > 0) {
      logger.info('Customers taken over by a newer release', {
        from: release,
        by: version,
        customers: takeover.takenOver.length,
      });
      takeovers.push(takeover);
    }
  }
  return takeovers;
}

/** Ends the waits of superseded customers' rollouts: an approval still undecided, a rollout parked by a halt. */
async function endWaitsOf(
  release: string,
  customers: Pick<CustomerRecord, 'id' | 'state'>[],
  reason: string,
): Promise<void> {
  if (customers.length === 0) return;
  const superseded = new Set(customers.map((customer) => customer.id));
  for (const customer of customers) {
    if (customer.state !== 'awaiting-approval') continue;
    const requestId = (await getCustomer(release, customer.id))?.approvalRequestId;
    const approval = requestId ? await getApproval(requestId) : undefined;
    if (approval && !approval.decision)
      await resumeWithFailure(approval.taskToken, WORKFLOW_ERRORS.superseded, reason);
  }
  for (const parked of await listParkedRollouts(release)) {
    if (!superseded.has(parked.customerId)) continue;
    if (await unparkRollout(release, parked.customerId, parked.token))
      await resumeWithFailure(parked.token, WORKFLOW_ERRORS.superseded, reason);
  }
}

const CLAIM_ATTEMPTS = 5;

/**
 * Before `release` asks the platform to deploy the customer: claims the customer's deployment, so no other
 * release deploys it at the same time. Throws `Deployment.InFlight` while another release's deployment of
 * it is in flight (the rollout waits, then looks for a later window), and ends the customer `superseded`
 * (throwing `Customer.Superseded`) when it already runs this version or a newer one: never a downgrade.
 */
export async function claimCustomerDeployment(release: string, customerId: string): Promise<void> {
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt += 1) {
    if (await claimDeployment(customerId, release, now())) return;
    const verdict = deploymentVerdict(release, await getDeploymentClaim(customerId));
    if (verdict.kind === 'in-flight')
      throw new DeploymentInFlightError(
        `${customerId} is being deployed by ${verdict.release}; ${release} deploys it afterwards, in a later window`,
      );
    if (verdict.kind === 'already-on') {
      const reason = `already on ${verdict.version}: ${release} would be a downgrade`;
      await recordOutcome(release, customerId, 'superseded', { by: 'request-deployment', reason });
      throw new CustomerSupersededError(reason);
    }
    // The other release gave the customer back between the claim and the read: claim again.
  }
  throw new TransientError(`The deployment claim of ${customerId} kept changing; retried`);
}

/**
 * After a deployment request that did not move the customer to `deployment-requested` (it was elsewhere):
 * gives the claim back unless the customer's deployment is in flight in this release, and stops the rollout
 * when a newer release took the customer over meanwhile.
 */
export async function afterRequestNotApplied(
  release: string,
  customer: Pick<CustomerRecord, 'id' | 'state' | 'outcomeReason'> | undefined,
): Promise<void> {
  if (!customer || customer.state === 'deployment-requested') return;
  if (customer.state !== 'deployed') await endDeploymentClaim(customer.id, release);
  if (customer.state === 'superseded')
    throw new CustomerSupersededError(customer.outcomeReason ?? 'superseded by a newer release');
}
