import { DateTime } from 'luxon';
import { firstWindowStartAtOrAfter, type Instant, toUtc } from './maintenance-window.js';
import type {
  BatchSize,
  Config,
  Customer,
  DeploymentPolicy,
  Fleet,
  PhaseDefinition,
  PlannedBatch,
  PlannedCustomer,
  PlannedPhase,
  ReleasePlan,
} from './model.js';
import { assertMinorRelease } from './versions.js';

export interface PlanReleaseInput {
  version: string;
  config: Config;
  fleet: Fleet;
  startAt: Instant;
}

/** A batch before its customers are scheduled: when it opens and who is in it. */
interface BatchDraft {
  phase: PhaseDefinition;
  policy: DeploymentPolicy;
  index: number;
  opensAt: DateTime;
  customers: Customer[];
}

export function toIsoUtc(instant: DateTime): string {
  return instant.toUTC().toISO({ suppressMilliseconds: true }) ?? '';
}

function afterDays(start: DateTime, days: number): DateTime {
  return start.plus({ days });
}

/** 50 % → 2 batches, 25 % → 4, 30 % → 4: the last batch takes the remainder. */
export function batchCount(batchSize: BatchSize, customerCount: number): number {
  switch (batchSize.mode) {
    case 'all':
      return 1;
    case 'percent':
      return Math.ceil(100 / batchSize.percent);
    case 'individual':
      return customerCount;
  }
}

/**
 * Splits a phase's customers (sorted by id) into batches that open on evenly spread days of the phase:
 * batch k of B opens on day floor(k·duration/B) and holds customers [floor(k·n/B), floor((k+1)·n/B)).
 * No batch opens before the policy's notice lead time has passed since the release start.
 */
function draftBatches(
  phase: PhaseDefinition,
  policy: DeploymentPolicy,
  customers: Customer[],
  releaseStart: DateTime,
): BatchDraft[] {
  const phaseStart = afterDays(releaseStart, phase.startDay);
  const earliestOpen = afterDays(releaseStart, policy.advanceNoticeDays);
  const count = batchCount(policy.batchSize, customers.length);
  const n = customers.length;
  return Array.from({ length: count }, (_, k) => {
    const nominalOpen = afterDays(phaseStart, Math.floor((k * phase.durationDays) / count));
    return {
      phase,
      policy,
      index: k + 1,
      opensAt: DateTime.max(nominalOpen, earliestOpen),
      customers: customers.slice(Math.floor((k * n) / count), Math.floor(((k + 1) * n) / count)),
    };
  });
}

/**
 * The moments the workflow sends notices: the release start, every batch opening of a batched phase, and the
 * start of every one-by-one phase (whose customers open at many moments, so notices go out in bulk).
 */
function noticeCheckpoints(releaseStart: DateTime, drafts: BatchDraft[]): DateTime[] {
  const moments = [releaseStart];
  for (const draft of drafts) {
    if (draft.policy.batchSize.mode !== 'individual') moments.push(draft.opensAt);
    else if (draft.index === 1) moments.push(afterDays(releaseStart, draft.phase.startDay));
  }
  return moments.sort((a, b) => a.toMillis() - b.toMillis());
}

/** The latest checkpoint that still leaves the full lead time before the batch opens. */
function noticeTime(checkpoints: DateTime[], leadDays: number, opensAt: DateTime): DateTime | null {
  if (leadDays === 0) return null;
  let chosen: DateTime | null = null;
  for (const checkpoint of checkpoints) {
    if (afterDays(checkpoint, leadDays) <= opensAt) chosen = checkpoint;
  }
  return chosen;
}

function formatMinute(instant: DateTime): string {
  return instant.toUTC().toFormat("yyyy-MM-dd'T'HH:mm'Z'");
}

function planCustomer(
  customer: Customer,
  draft: BatchDraft,
  checkpoints: DateTime[],
  releaseStart: DateTime,
): PlannedCustomer {
  const lead = draft.policy.advanceNoticeDays;
  const noticeAt = noticeTime(checkpoints, lead, draft.opensAt);
  const deadline = afterDays(releaseStart, draft.policy.rolloutDelayDays + 1);
  const earliest = noticeAt ? DateTime.max(draft.opensAt, afterDays(noticeAt, lead)) : draft.opensAt;
  const deployAt = firstWindowStartAtOrAfter(customer.maintenanceWindow, earliest, deadline);
  const planned: PlannedCustomer = {
    id: customer.id,
    name: customer.name,
    policy: customer.policy,
    phase: draft.phase.name,
    batch: draft.index,
    noticeAt: noticeAt ? toIsoUtc(noticeAt) : null,
    deployAt: deployAt ? toIsoUtc(deployAt) : null,
    approvalRequired: draft.policy.approvalRequired,
    deadlineAt: toIsoUtc(deadline),
    timeZone: customer.maintenanceWindow.timeZone,
  };
  if (!deployAt) {
    planned.unschedulableReason = `no maintenance window opens between ${formatMinute(earliest)} and the policy deadline ${formatMinute(deadline)}`;
  }
  return planned;
}

function byId(a: Customer, b: Customer): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Who gets the release, when, and after which notice. Pure and deterministic: the same version, config, fleet
 * and start give the same plan. Refuses a version that is not a minor release of this fleet.
 */
export function planRelease({ version, config, fleet, startAt }: PlanReleaseInput): ReleasePlan {
  assertMinorRelease(version, fleet);
  const releaseStart = toUtc(startAt);
  const drafts = config.release.phases.flatMap((phase) => {
    const customers = fleet.customers.filter((customer) => customer.policy === phase.policy).sort(byId);
    return draftBatches(phase, config.policies[phase.policy], customers, releaseStart);
  });
  const checkpoints = noticeCheckpoints(releaseStart, drafts);
  const customers = drafts.flatMap((draft) =>
    draft.customers.map((customer) => planCustomer(customer, draft, checkpoints, releaseStart)),
  );
  const phases = config.release.phases.map((phase) => plannedPhase(phase, drafts, releaseStart));
  const lastPhaseEndDay = Math.max(
    0,
    ...config.release.phases.map((phase) => phase.startDay + phase.durationDays),
  );
  return {
    version,
    startAt: toIsoUtc(releaseStart),
    endAt: toIsoUtc(afterDays(releaseStart, lastPhaseEndDay)),
    phases,
    customers,
    unschedulable: customers.flatMap((customer) =>
      customer.unschedulableReason ? [{ id: customer.id, reason: customer.unschedulableReason }] : [],
    ),
  };
}

function plannedPhase(phase: PhaseDefinition, drafts: BatchDraft[], releaseStart: DateTime): PlannedPhase {
  const batches: PlannedBatch[] = drafts
    .filter((draft) => draft.phase === phase)
    .map((draft) => ({
      index: draft.index,
      deployAt: toIsoUtc(draft.opensAt),
      customers: draft.customers.map((customer) => customer.id),
    }));
  return {
    name: phase.name,
    displayName: phase.displayName,
    policy: phase.policy,
    startAt: toIsoUtc(afterDays(releaseStart, phase.startDay)),
    endAt: toIsoUtc(afterDays(releaseStart, phase.startDay + phase.durationDays)),
    batches,
  };
}
