import { randomUUID } from 'node:crypto';
import { UsageError, UserFacingError } from '../core/errors.js';
import { isNotYetRequested, TRANSITIONS } from '../core/lifecycle.js';
import { MIN_STEP_WAIT_SECONDS } from '../core/timeouts.js';
import { releaseControl, upgradeCancelled, upgradePostponed } from '../email/messages.js';
import { sendEmail } from '../email/send.js';
import { DETAIL_TYPES, SCHEMA_VERSION } from '../events/contract.js';
import { publish } from '../events/publish.js';
import { now } from '../shared/clock.js';
import { WORKFLOW_ERRORS } from '../shared/errors.js';
import { emailEscalationContacts } from '../shared/escalation.js';
import { countMetric, logger } from '../shared/observability.js';
import { oncePerRelease } from '../shared/once.js';
import { resumeWithFailure, resumeWithSuccess } from '../shared/step-functions.js';
import { getApproval } from '../store/approvals.js';
import { countEmail } from '../store/audit.js';
import {
  applyTransition,
  type CustomerRecord,
  claimCustomerField,
  customersOf,
  getCustomer,
  listParkedRollouts,
  unparkRollout,
  updateCustomer,
} from '../store/customers.js';
import {
  appendHalt,
  closeHalts,
  getRelease,
  listReleases,
  moveRelease,
  type ReleaseRecord,
  requireRelease,
  updateRelease,
} from '../store/releases.js';
import { acceptGate, acceptStepHealthShards, countOutcomeOnce, getStep } from '../store/steps.js';
import { rolloutResumption } from './control.js';
import { acceptReleaseQuality } from './gates.js';
import { resumeIfStepComplete, stepIsComplete, stepWaitSeconds } from './outcomes.js';
import { type FailedGate, pauseForFailedGate } from './pause.js';

// The operator's decisions over a running release: halt (a release, every running release, or one
// customer), resume, abort. Used alike by the CLI, the local runtime's scenario operations and the
// workflow's own tasks; each is safe to repeat.

export type HaltScope = { release: string; customerId?: string } | { allReleases: true };

export interface Decision {
  reason: string;
  by: string;
}

export interface OperationResult {
  release: string;
  changed: boolean;
  /** Nothing changed because the operation does not apply (a completed release, a deployed customer, a race). */
  refused?: boolean;
  message: string;
}

function requireReason(decision: Decision, what: string): void {
  if (!decision.reason?.trim())
    throw new UsageError(
      `${what} needs a reason. Fix: say why, e.g. --reason "error rate above 5% in batch 2"`,
    );
  if (!decision.by?.trim())
    throw new UsageError(`${what} needs to know who asks. Fix: pass --by "your name"`);
}

/** Customers told a date who have not been deployed yet: the people a halt or an abort concerns. */
function wasGivenADate(customer: CustomerRecord): boolean {
  return Boolean(customer.noticeSentAt) && isNotYetRequested(customer.state);
}

async function emailCustomer(
  release: string,
  customer: CustomerRecord,
  marker: string,
  kind: string,
  message: Parameters<typeof sendEmail>[1],
): Promise<void> {
  // Once per customer and event: the marker names the halt or the abort.
  if (!(await claimCustomerField(release, customer.id, marker as keyof CustomerRecord, { [marker]: now() })))
    return;
  try {
    await sendEmail(
      customer.contacts.map((contact) => contact.email),
      message,
    );
  } catch (error) {
    await updateCustomer(release, customer.id, {}, [marker as keyof CustomerRecord]);
    throw error;
  }
  await countEmail(release, kind);
}

/** A customer already given a date hears, once per halt, that it is postponed and why. */
async function tellPostponed(
  release: string,
  customer: CustomerRecord,
  haltId: string,
  decision: Decision,
): Promise<void> {
  if (!wasGivenADate(customer)) return;
  await emailCustomer(
    release,
    customer,
    `postponedNotice#${haltId}`,
    'postponed',
    upgradePostponed({ customerName: customer.name, release, reason: decision.reason }),
  );
}

/** The customer an operator names, or a usage error naming the fix. */
async function customerToSteer(release: string, customerId: string): Promise<CustomerRecord> {
  const customer = await getCustomer(release, customerId);
  if (!customer)
    throw new UsageError(`${release} has no customer "${customerId}". Fix: use a customer id from the plan`);
  return customer;
}

/** Lets parked rollouts go on (they look for their next window), those `accepts` chooses. */
async function unparkRollouts(release: string, accepts: (customer: CustomerRecord) => boolean) {
  for (const parked of await listParkedRollouts(release)) {
    const customer = await getCustomer(release, parked.customerId);
    if (!customer || !accepts(customer)) continue;
    if (await unparkRollout(release, parked.customerId, parked.token))
      await resumeWithSuccess(parked.token, rolloutResumption(customer));
  }
}

/**
 * What a parked release execution is answered: the decision, and how long its step wait goes on from now
 * (the step's own deadline is unchanged by the pause).
 */
export async function decisionOutput(
  record: ReleaseRecord,
  decision: 'resume' | 'abort',
  by?: Decision,
): Promise<{ decision: 'resume' | 'abort'; by?: string; reason?: string; waitSeconds: number }> {
  const waitSeconds = record.awaitingStep
    ? await stepWaitSeconds(record.release, record.awaitingStep)
    : MIN_STEP_WAIT_SECONDS;
  return { decision, ...(by ? { by: by.by, reason: by.reason } : {}), waitSeconds };
}

/**
 * Parks the release execution `taskToken` at `state` (halted, or paused after a failed gate) until `resume`
 * or `abort` answers it. A decision taken while it was being parked answers it at once, as the decision
 * would have.
 */
export async function awaitDecision(release: string, state: string, taskToken: string): Promise<void> {
  const record = await updateRelease(release, { decisionToken: taskToken, parkedAt: state });
  if (record.status === 'halted' || record.status === 'paused') {
    countMetric(record.status === 'halted' ? 'ReleaseHalts' : 'ReleasePauses');
    logger.warn(`Release ${record.status}, awaiting a decision`, {
      state,
      reason: record.pause?.reason ?? null,
    });
  }
  if (record.status === 'running') await resumeWithSuccess(taskToken, await decisionOutput(record, 'resume'));
  if (record.status === 'aborted') await resumeWithSuccess(taskToken, await decisionOutput(record, 'abort'));
}

export async function halt(scope: HaltScope, decision: Decision): Promise<OperationResult[]> {
  requireReason(decision, 'A halt');
  if ('allReleases' in scope) {
    const results: OperationResult[] = [];
    for (const release of await listReleases()) {
      const record = await getRelease(release);
      if (record && (record.status === 'running' || record.status === 'paused'))
        results.push(await haltRelease(record, 'all releases', decision));
    }
    return results;
  }
  const record = await requireRelease(scope.release);
  if (scope.customerId) return [await haltCustomer(record, scope.customerId, decision)];
  return [await haltRelease(record, 'release', decision)];
}

async function haltRelease(
  record: ReleaseRecord,
  scope: string,
  decision: Decision,
): Promise<OperationResult> {
  const { release } = record;
  if (record.status === 'halted')
    return {
      release,
      changed: false,
      message: `${release} is already halted: ${record.pause?.reason ?? ''}`,
    };
  if (record.status !== 'running' && record.status !== 'paused')
    return {
      release,
      changed: false,
      refused: true,
      message: `${release} is ${record.status}; there is nothing to halt`,
    };
  const at = now();
  const id = `halt-${at}-${randomUUID().slice(0, 8)}`;
  const moved = await moveRelease(release, ['running', 'paused'], 'halted', {
    pause: { kind: 'halted', reason: decision.reason, since: at, by: decision.by },
  });
  if (!moved)
    return {
      release,
      changed: false,
      refused: true,
      message: `${release} changed meanwhile; check its status`,
    };
  await appendHalt(release, { id, scope, from: at, reason: decision.reason, by: decision.by });
  // The release execution waiting on a step moves to its "halted, awaiting decision" state.
  if (record.awaitingStep) {
    const step = await getStep(release, record.awaitingStep);
    if (step?.waitToken && !stepIsComplete(step)) await resumeWithSuccess(step.waitToken, { halted: true });
  }
  await emailEscalationContacts(
    release,
    'halt',
    releaseControl({
      release,
      what: 'halted',
      reason: decision.reason,
      by: decision.by,
      next: 'No customer is deployed, notified of a new date or asked for approval until the release is resumed or aborted.',
    }),
  );
  for await (const customer of customersOf(release)) await tellPostponed(release, customer, id, decision);
  await publish([
    {
      detailType: DETAIL_TYPES.releaseHalted,
      detail: { schemaVersion: SCHEMA_VERSION, release, at, reason: decision.reason },
    },
  ]);
  return { release, changed: true, message: `${release} halted: ${decision.reason}` };
}

async function haltCustomer(
  record: ReleaseRecord,
  customerId: string,
  decision: Decision,
): Promise<OperationResult> {
  const { release } = record;
  const customer = await customerToSteer(release, customerId);
  if (customer.halt)
    return { release, changed: false, message: `${customerId} is already halted: ${customer.halt.reason}` };
  if (!isNotYetRequested(customer.state))
    return {
      release,
      changed: false,
      refused: true,
      message: `${customerId} is ${customer.state}; there is nothing to halt`,
    };
  const at = now();
  const id = `halt-${at}-${randomUUID().slice(0, 8)}`;
  const halt = { id, from: at, reason: decision.reason, by: decision.by };
  if (!(await claimCustomerField(release, customerId, 'halt', { halt })))
    return { release, changed: false, message: `${customerId} is already halted` };
  await appendHalt(release, {
    id,
    scope: `customer:${customerId}`,
    from: at,
    reason: decision.reason,
    by: decision.by,
  });
  await emailEscalationContacts(
    release,
    'halt',
    releaseControl({
      release,
      scope: customer.name,
      what: 'halted',
      reason: decision.reason,
      by: decision.by,
      next: `${customer.name} is not deployed until it is resumed; the rest of the release goes on.`,
    }),
  );
  await tellPostponed(release, customer, id, decision);
  return { release, changed: true, message: `${customerId} halted in ${release}: ${decision.reason}` };
}

export async function resume(scope: HaltScope, decision: Decision): Promise<OperationResult[]> {
  requireReason(decision, 'A resume');
  if ('allReleases' in scope) {
    const results: OperationResult[] = [];
    for (const release of await listReleases()) {
      const record = await getRelease(release);
      if (record?.halts.some((halt) => halt.scope === 'all releases' && !halt.to))
        results.push(await resumeRelease(record, decision));
    }
    return results;
  }
  const record = await requireRelease(scope.release);
  if (scope.customerId) return [await resumeCustomer(record, scope.customerId, decision)];
  return [await resumeRelease(record, decision)];
}

async function resumeRelease(record: ReleaseRecord, decision: Decision): Promise<OperationResult> {
  const { release } = record;
  if (record.status !== 'halted' && record.status !== 'paused')
    return {
      release,
      changed: false,
      // A running release needs no resume; an ended one cannot be.
      refused: record.status !== 'running',
      message: `${release} is ${record.status}; there is nothing to resume`,
    };
  const at = now();
  if (!(await moveRelease(release, ['halted', 'paused'], 'running', {}, ['pause'])))
    return {
      release,
      changed: false,
      refused: true,
      message: `${release} changed meanwhile; check its status`,
    };
  const closing = { to: at, resumedBy: decision.by, resumeReason: decision.reason };
  await closeHalts(release, (scope) => scope === 'release' || scope === 'all releases', closing);
  const failedWhileHalted = await unacceptedOneAtATimeFailures(record);
  if (failedWhileHalted) {
    // The gate after each one-at-a-time customer did not run while halted: it pauses the release now,
    // before the next customer deploys.
    await pauseForFailedGate(release, failedWhileHalted);
    if (record.decisionToken)
      await resumeWithSuccess(record.decisionToken, await decisionOutput(record, 'resume', decision));
    return {
      release,
      changed: true,
      message: `${release} resumed, and paused at once: ${failedWhileHalted.reason}`,
    };
  }
  // Resuming after a failed gate accepts its result: later gates do not count those failures again, nor
  // the release's quality figures as they are now.
  if (record.pause?.kind === 'gate-failed') {
    for (const step of record.pause.steps ?? [record.pause.by.replace(/^gate#/, '')]) {
      await acceptGate(release, step);
      await acceptStepHealthShards(release, step);
    }
    await acceptReleaseQuality(release);
  }
  // The release execution continues where it stopped; parked customers look for their next window.
  if (record.decisionToken)
    await resumeWithSuccess(record.decisionToken, await decisionOutput(record, 'resume', decision));
  if (record.awaitingStep) await resumeIfStepComplete(release, record.awaitingStep);
  // A customer halted on its own stays parked until it is resumed itself.
  await unparkRollouts(release, (customer) => !customer.halt);
  await emailEscalationContacts(
    release,
    'resume',
    releaseControl({
      release,
      what: 'resumed',
      reason: decision.reason,
      by: decision.by,
      next: 'The release goes on where it stopped; customers whose date passed get a new window and an updated notice.',
    }),
  );
  return { release, changed: true, message: `${release} resumed: ${decision.reason}` };
}

/** A one-at-a-time step awaited by a halted release whose customers failed without an operator's decision. */
async function unacceptedOneAtATimeFailures(record: ReleaseRecord): Promise<FailedGate | undefined> {
  if (record.pause?.kind !== 'halted' || !record.awaitingStep) return undefined;
  const step = await getStep(record.release, record.awaitingStep);
  if (!step?.oneAtATime || step.failed <= step.acceptedFailed) return undefined;
  const failed = step.failed - step.acceptedFailed;
  return {
    what: `gate#${step.key}#${failed}-failed-while-halted`,
    steps: [step.key],
    reason: `${failed} ${step.key} customer(s) failed to deploy while the release was halted; the next one waits for a decision`,
  };
}

async function resumeCustomer(
  record: ReleaseRecord,
  customerId: string,
  decision: Decision,
): Promise<OperationResult> {
  const { release } = record;
  const customer = await customerToSteer(release, customerId);
  if (!customer.halt) return { release, changed: false, message: `${customerId} is not halted` };
  await updateCustomer(release, customerId, {}, ['halt']);
  await closeHalts(release, (scope) => scope === `customer:${customerId}`, {
    to: now(),
    resumedBy: decision.by,
    resumeReason: decision.reason,
  });
  if (record.status === 'running') await unparkRollouts(release, (parked) => parked.id === customerId);
  return { release, changed: true, message: `${customerId} resumed in ${release}: ${decision.reason}` };
}

export async function abort(release: string, decision: Decision): Promise<OperationResult> {
  requireReason(decision, 'An abort');
  const record = await requireRelease(release);
  if (record.status === 'aborted')
    return { release, changed: false, message: `${release} is already aborted` };
  if (record.status === 'completed' || record.status === 'planning')
    return {
      release,
      changed: false,
      refused: true,
      message: `${release} is ${record.status}; there is nothing to abort`,
    };
  const at = now();
  if (
    !(await moveRelease(
      release,
      ['running', 'paused', 'halted'],
      'aborted',
      { abortReason: decision.reason },
      ['pause'],
    ))
  )
    return {
      release,
      changed: false,
      refused: true,
      message: `${release} changed meanwhile; check its status`,
    };
  const closing = { to: at, resumedBy: decision.by, resumeReason: `aborted: ${decision.reason}` };
  await closeHalts(release, () => true, closing);
  if (record.decisionToken)
    await resumeWithSuccess(record.decisionToken, await decisionOutput(record, 'abort', decision));
  if (record.awaitingStep) {
    const step = await getStep(release, record.awaitingStep);
    if (step?.waitToken) await resumeWithSuccess(step.waitToken, { halted: true });
  }
  await cancelUndeployed(release, decision);
  return { release, changed: true, message: `${release} aborted: ${decision.reason}` };
}

/**
 * The release workflow ends the release as aborted: by an operator's abort (already recorded, with its
 * reason), or for `cause` (a pause that outlived the execution's time limit). Every customer not yet
 * deployed ends `cancelled`; the people concerned are told, once.
 */
export async function endAborted(
  release: string,
  cause: string | undefined,
): Promise<{ aborted: true; reason: string }> {
  const record = await requireRelease(release);
  if (record.status !== 'aborted') {
    const reason = cause ?? 'aborted by the release workflow';
    await abort(release, { reason, by: 'the release workflow' });
    return { aborted: true, reason };
  }
  const reason = record.abortReason ?? 'aborted';
  await cancelUndeployed(release, { reason, by: 'the release workflow' });
  return { aborted: true, reason };
}

/**
 * Ends every customer not yet asked to deploy as `cancelled` (counted once on its step), ends their parked
 * or approval-waiting rollouts, and tells the escalation contacts and every customer given a date, once.
 */
export async function cancelUndeployed(release: string, decision: Decision): Promise<{ cancelled: number }> {
  let cancelled = 0;
  for await (const customer of customersOf(release)) {
    if (!isNotYetRequested(customer.state)) continue;
    const result = await applyTransition(release, customer.id, TRANSITIONS.cancel, {
      at: now(),
      by: decision.by,
      reason: `release aborted: ${decision.reason}`,
    });
    if (result.customer?.state !== 'cancelled') continue;
    if (result.applied) cancelled += 1;
    await countOutcomeOnce(release, customer.stepKey, customer.id, 'cancelled');
    if (customer.state === 'awaiting-approval' && customer.approvalRequestId) {
      const approval = await getApproval(customer.approvalRequestId);
      if (approval && !approval.decision)
        await resumeWithFailure(approval.taskToken, WORKFLOW_ERRORS.aborted, decision.reason);
    }
    if (customer.noticeSentAt)
      await emailCustomer(
        release,
        customer,
        'cancelledNotice',
        'cancelled',
        upgradeCancelled({ customerName: customer.name, release, reason: decision.reason }),
      );
  }
  for (const parked of await listParkedRollouts(release)) {
    if (await unparkRollout(release, parked.customerId, parked.token))
      await resumeWithFailure(parked.token, WORKFLOW_ERRORS.aborted, decision.reason);
  }
  await oncePerRelease(release, 'abortEmailedAt', () =>
    emailEscalationContacts(
      release,
      'abort',
      releaseControl({
        release,
        what: 'aborted',
        reason: decision.reason,
        by: decision.by,
        next: 'No further customer is deployed; customers not yet deployed stay on their current version (cancelled).',
      }),
    ),
  );
  await oncePerRelease(release, 'abortPublishedAt', () =>
    publish([
      {
        detailType: DETAIL_TYPES.releaseHalted,
        detail: { schemaVersion: SCHEMA_VERSION, release, at: now(), reason: `aborted: ${decision.reason}` },
      },
    ]),
  );
  return { cancelled };
}

/**
 * What rolling customers back takes (the rollback issue's `requestRollback`, one call per customer, each
 * starting that customer's rollback workflow by its policy's process, or refusing with the reason).
 */
export type RollBackCustomers = (
  release: string,
  customerIds: string[],
  request: { trigger: 'gate-decision'; reason: string; by: string },
) => Promise<{
  started: number;
  alreadyRollingBack: number;
  refused: { customerId: string; reason: string }[];
}>;

/**
 * The third decision on a failed gate: roll back the batch (or phase) it judged. Every deployed customer of
 * the gate's steps is asked to roll back (trigger `gate-decision`); the release stays paused, awaiting a
 * resume (go on with the next batch) or an abort. Safe to repeat: a customer already rolling back is not
 * asked twice.
 */
export async function rollBackGatedBatch(
  release: string,
  decision: Decision,
  rollBackCustomers: RollBackCustomers,
): Promise<OperationResult & { customers: number; rollbacks?: Awaited<ReturnType<RollBackCustomers>> }> {
  requireReason(decision, 'A rollback');
  const record = await requireRelease(release);
  // Refused (not a usage mistake): the release is not where this decision applies.
  if (record.status !== 'paused' || record.pause?.kind !== 'gate-failed')
    throw new UserFacingError(
      `${release} is ${record.status}${record.pause ? ` (${record.pause.reason})` : ''}; only a release paused by a failed gate can roll back its batch. Fix: resume or abort it instead`,
    );
  const steps = record.pause.steps ?? [record.pause.by.replace(/^gate#/, '')];
  const customerIds: string[] = [];
  for await (const customer of customersOf(release))
    if (steps.includes(customer.stepKey) && customer.state === 'deployed') customerIds.push(customer.id);
  if (customerIds.length === 0)
    return {
      release,
      changed: false,
      customers: 0,
      message: `${release}: no deployed customer of ${steps.join(', ')} to roll back`,
    };
  const asked = await rollBackCustomers(release, customerIds, {
    trigger: 'gate-decision',
    reason: `${record.pause.reason} — rolled back by decision: ${decision.reason}`,
    by: decision.by,
  });
  const refused = asked.refused.length
    ? `; refused for ${asked.refused.length}: ${asked.refused
        .slice(0, 3)
        .map((each) => `${each.customerId} (${each.reason})`)
        .join(', ')}`
    : '';
  return {
    release,
    changed: asked.started > 0,
    customers: customerIds.length,
    rollbacks: asked,
    message: `${release}: rolling back ${asked.started} customer(s) of ${steps.join(', ')}${
      asked.alreadyRollingBack ? ` (${asked.alreadyRollingBack} already rolling back)` : ''
    }${refused}; the release stays paused until it is resumed or aborted`,
  };
}
