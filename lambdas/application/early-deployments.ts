import {
  customerRolloutStateMachineArn,
  earliestEarlyDeployment,
  earlyStandingOf,
} from '../core/early-deployment.js';
import { firstWindowStartAtOrAfter } from '../core/maintenance-window.js';
import { toIsoUtc } from '../core/plan.js';
import { now } from '../shared/clock.js';
import { requiredEnv } from '../shared/env.js';
import { audit } from '../store/audit.js';
import { type CustomerRecord, getCustomer, noteInHistory } from '../store/customers.js';
import { assertReleaseOpen } from './control.js';
import { rolloutStarted, startCustomerRollout } from './customer-rollouts.js';
import { sendNoticeNow } from './notices.js';
import { configOf } from './release-config.js';

// Deploying named customers of a running release outside their step's schedule: each customer's own rollout
// execution starts now, under the name its step would give it, so the step later finds it started and
// counts its outcome once. Unforced, the same rules hold as on schedule: the advance notice and its lead
// time, the approvers' decision, the next maintenance window before the policy deadline (or held). Forced
// (with a reason, kept in the customer's history and the audit trail): at once, none of those.

export type EarlyOutcome = 'started' | 'already-started' | 'already-deployed' | 'in-flight' | 'refused';

/**
 * One customer's answer. JSON: `{ customerId, name, policy, outcome, detail, expectedAt?, noticeSent? }`;
 * `outcome` is one of started | already-started | already-deployed | in-flight | refused.
 */
export interface EarlyDeployment {
  customerId: string;
  name: string;
  policy: string;
  outcome: EarlyOutcome;
  /** For people: what happens next, or why nothing changed. */
  detail: string;
  /** Unforced: the first window once its notice lead time has passed (its approval may move it later). */
  expectedAt?: string;
  /** Its advance notice went out with this request. */
  noticeSent?: boolean;
}

export interface EarlyDeploymentOptions {
  /** Who asked: kept in each customer's history. */
  by: string;
  /** At once, without notice wait, approval or window; the reason is kept with who forced it. */
  force?: { reason: string };
  progress?: (line: string) => void;
}

const CONCURRENCY = 5;

/**
 * Deploys these customers of `release` now instead of at their step's start (see above). Customers already
 * deployed, in flight or whose rollout already started are said so, unchanged. Safe to run twice: the
 * request is claimed on the customer once, and a rerun completes what an interrupted run left (the notice,
 * the execution). Refused as a whole while a halt holds the release, or when it is not running.
 */
export async function deployCustomersNow(
  release: string,
  customerIds: readonly string[],
  options: EarlyDeploymentOptions,
): Promise<EarlyDeployment[]> {
  await assertReleaseOpen(release, 'no customer is deployed');
  const stateMachineArn = customerRolloutStateMachineArn(
    requiredEnv('RELEASE_STATE_MACHINE_ARN_PREFIX'),
    release,
  );
  const results: EarlyDeployment[] = [];
  for (let index = 0; index < customerIds.length; index += CONCURRENCY) {
    const chunk = customerIds.slice(index, index + CONCURRENCY);
    const answers = await Promise.all(chunk.map((id) => deployOne(release, id, options, stateMachineArn)));
    results.push(...answers);
    for (const answer of answers) options.progress?.(`${answer.customerId}: ${answer.outcome}`);
  }
  return results;
}

async function deployOne(
  release: string,
  customerId: string,
  options: EarlyDeploymentOptions,
  stateMachineArn: string,
): Promise<EarlyDeployment> {
  const customer = await getCustomer(release, customerId);
  if (!customer)
    return {
      customerId,
      name: customerId,
      policy: 'unknown',
      outcome: 'refused',
      detail: `not a customer of ${release}`,
    };
  const standing = answerFor(customer);
  if (standing) return standing;
  if (customer.earlyDeployment) return carryOn(release, customer, stateMachineArn, 'already-started');
  if (customer.halt)
    return answer(customer, 'refused', `halted on its own (${customer.halt.reason}): resume it first`);
  if (await rolloutStarted(stateMachineArn, release, customer.id))
    return answer(customer, 'already-started', 'its step already started its rollout');

  const at = now();
  const force = options.force;
  const expectedAt = force
    ? undefined
    : expectedEarlyInstant(
        customer,
        at,
        (await configOf(release)).policies[customer.policy].advanceNoticeDays,
      );
  if (!force && !expectedAt)
    return answer(
      customer,
      'refused',
      `no maintenance window opens before its policy deadline ${customer.deadlineAt} once its notice lead time has passed`,
    );
  const early: NonNullable<CustomerRecord['earlyDeployment']> = force
    ? { requestedAt: at, by: options.by, force: true, reason: force.reason }
    : { requestedAt: at, by: options.by, force: false, expectedAt };
  const claimed = await noteInHistory(
    release,
    customer.id,
    customer.state,
    {
      at,
      by: options.by,
      reason: force
        ? `deploy at once, forced (no notice wait, approval or window): ${force.reason}`
        : `deploy early: from ${expectedAt} in its window, after its notice lead time${customer.approvalRequired ? ' and approval' : ''}`,
    },
    { set: { earlyDeployment: early }, guardField: 'earlyDeployment', onlyIf: 'absent' },
  );
  if (!claimed) {
    // Moved on, or claimed by a concurrent request, since it was read: answer as it is now.
    const latest = await getCustomer(release, customer.id);
    if (latest) return answerFor(latest) ?? carryOn(release, latest, stateMachineArn, 'already-started');
    return answer(customer, 'refused', 'it changed while it was being asked for: run the command again');
  }
  if (force)
    await audit(release, at, `forced-deployment#${customer.id}`, { by: options.by, reason: force.reason });
  return carryOn(release, { ...customer, earlyDeployment: early }, stateMachineArn, 'started');
}

/** The answer for a customer whose rollout is past where an early deployment could start it. */
function answerFor(customer: CustomerRecord): EarlyDeployment | undefined {
  switch (earlyStandingOf(customer.state)) {
    case 'ready':
      return undefined;
    case 'already-deployed':
      return answer(
        customer,
        'already-deployed',
        `already deployed${customer.deployedAt ? ` at ${customer.deployedAt}` : ''}`,
      );
    case 'in-flight':
      return answer(
        customer,
        'in-flight',
        `its deployment was requested at ${customer.deploymentRequestedAt ?? 'an earlier time'}; the platform has not reported yet`,
      );
    case 'already-started':
      return answer(
        customer,
        'already-started',
        customer.state === 'scheduled' && customer.scheduledAt
          ? `its rollout runs: scheduled for ${customer.scheduledAt}`
          : `its rollout runs (${customer.state})`,
      );
    case 'ended':
      return answer(
        customer,
        'refused',
        `its rollout ended ${customer.state}${customer.outcomeReason ? ` (${customer.outcomeReason})` : ''}`,
      );
  }
}

/** Sends its notice (unless sent) and starts its rollout (unless started): what a claimed request needs. */
async function carryOn(
  release: string,
  customer: CustomerRecord,
  stateMachineArn: string,
  outcome: 'started' | 'already-started',
): Promise<EarlyDeployment> {
  const early = customer.earlyDeployment;
  if (!early) throw new Error(`${customer.id} has no early deployment to carry on`);
  const noticeSent =
    !early.force && customer.noticeAt !== null && !customer.noticeSentAt && early.expectedAt
      ? await sendNoticeNow(release, customer, early.expectedAt, early.by)
      : false;
  const start = await startCustomerRollout(stateMachineArn, {
    release,
    customerId: customer.id,
    approvalRequired: !early.force && customer.approvalRequired,
    deployable: true,
    approvalTimeoutSeconds: secondsBetween(early.requestedAt, customer.deadlineAt),
    early: { by: early.by, force: early.force },
  });
  if (start.kind === 'not-started')
    return { ...answer(customer, 'refused', `${start.reason}; run the command again`), noticeSent };
  const detail =
    outcome === 'already-started'
      ? `its early deployment was asked by ${early.by} at ${early.requestedAt}; its rollout runs`
      : early.force
        ? `deploying now, forced by ${early.by}: ${early.reason ?? ''}`
        : `rollout started: deploys in its first window from ${early.expectedAt}${
            customer.approvalRequired ? ' once its approvers approve' : ''
          }${noticeSent ? '; advance notice sent' : ''}`;
  return {
    ...answer(customer, outcome, detail),
    ...(early.expectedAt ? { expectedAt: early.expectedAt } : {}),
    noticeSent,
  };
}

/** Its first window once the notice lead time has passed (counted from now when the notice is still to go). */
function expectedEarlyInstant(
  customer: CustomerRecord,
  at: string,
  advanceNoticeDays: number,
): string | undefined {
  const earliest = earliestEarlyDeployment({
    now: at,
    noticeRequired: customer.noticeAt !== null,
    noticeSentAt: customer.noticeSentAt,
    advanceNoticeDays,
  });
  const slot = firstWindowStartAtOrAfter(customer.window, earliest, customer.deadlineAt);
  return slot ? toIsoUtc(slot) : undefined;
}

/** The approval waits until the policy deadline, counted from the request (so a rerun starts the same input). */
function secondsBetween(from: string, to: string): number {
  return Math.max(1, Math.floor((Date.parse(to) - Date.parse(from)) / 1000));
}

function answer(customer: CustomerRecord, outcome: EarlyOutcome, detail: string): EarlyDeployment {
  return { customerId: customer.id, name: customer.name, policy: customer.policy, outcome, detail };
}
