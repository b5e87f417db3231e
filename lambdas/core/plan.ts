import { DateTime } from 'luxon';
import TinyQueue from 'tinyqueue';
import { firstWindowSlotAtOrAfter, type Instant, toUtc, type WindowSlot } from './maintenance-window.js';
import type {
  BatchSize,
  Config,
  Customer,
  DeploymentPolicy,
  Fleet,
  MaintenanceWindow,
  PhaseDefinition,
  PlannedBatch,
  PlannedCustomer,
  PlannedPhase,
  ReleasePlan,
} from './model.js';
import { DEPLOYMENT_REPORT_TIMEOUT_HOURS, ONE_AT_A_TIME_GAP_HOURS } from './timeouts.js';
import { assertMinorRelease } from './versions.js';

/** How far apart customers sharing a window and a batch deploy, unless the release policies say otherwise. */
export const DEFAULT_DEPLOYMENT_STAGGER_SECONDS = 60;

export interface PlanReleaseInput {
  version: string;
  config: Config;
  fleet: Fleet;
  startAt: Instant;
}

/** A batch before its customers are scheduled: when it opens at the earliest and who is in it. */
interface BatchDraft {
  phase: PhaseDefinition;
  policy: DeploymentPolicy;
  index: number;
  /** The batch's own rule: its nominal day, held back until the notice lead time has passed. */
  earliestOpen: DateTime;
  customers: Customer[];
}

/** A batch once the previous step's deployments are planned: when it really opens, and its customers. */
interface OpenedBatch {
  draft: BatchDraft;
  opensAt: DateTime;
  customers: PlannedCustomer[];
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
  const noticeLeadEnds = afterDays(releaseStart, policy.advanceNoticeDays);
  const count = batchCount(policy.batchSize, customers.length);
  const n = customers.length;
  const openings = new Map<number, DateTime>();
  const earliestOpenOn = (day: number): DateTime => {
    let found = openings.get(day);
    if (!found) {
      found = DateTime.max(afterDays(phaseStart, day), noticeLeadEnds);
      openings.set(day, found);
    }
    return found;
  };
  return Array.from({ length: count }, (_, k) => {
    return {
      phase,
      policy,
      index: k + 1,
      earliestOpen: earliestOpenOn(Math.floor((k * phase.durationDays) / count)),
      customers: customers.slice(Math.floor((k * n) / count), Math.floor(((k + 1) * n) / count)),
    };
  });
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

function windowKey(window: MaintenanceWindow): string {
  return `${window.timeZone} ${window.days.join(',')} ${window.start} ${window.durationMinutes}`;
}

/**
 * The time arithmetic of one plan, each answer computed once: customers sharing a window and a step ask the
 * same questions (their notice, their deadline, their first window slot), so a fleet of 100,000 costs about
 * one window search per distinct window and step, not one per customer.
 */
class PlanClock {
  private readonly slots = new Map<string, WindowSlot | null>();
  private readonly notices = new Map<string, { noticeAt: DateTime | null; opensFrom: DateTime }>();
  private readonly days = new Map<string, DateTime>();

  constructor(
    readonly releaseStart: DateTime,
    readonly checkpoints: DateTime[],
    readonly staggerMs: number,
  ) {}

  afterStart(days: number): DateTime {
    const key = String(days);
    let found = this.days.get(key);
    if (!found) {
      found = afterDays(this.releaseStart, days);
      this.days.set(key, found);
    }
    return found;
  }

  /** The notice before a step opening, and when its lead time has passed (the opening at the earliest). */
  notice(leadDays: number, opensAt: DateTime): { noticeAt: DateTime | null; opensFrom: DateTime } {
    const key = `${leadDays} ${opensAt.toMillis()} ${this.checkpoints.length}`;
    let found = this.notices.get(key);
    if (!found) {
      const noticeAt = noticeTime(this.checkpoints, leadDays, opensAt);
      const opensFrom = noticeAt ? DateTime.max(opensAt, afterDays(noticeAt, leadDays)) : opensAt;
      found = { noticeAt, opensFrom };
      this.notices.set(key, found);
    }
    return found;
  }

  slot(window: MaintenanceWindow, earliest: DateTime, deadline: DateTime): WindowSlot | null {
    const key = `${windowKey(window)} ${earliest.toMillis()} ${deadline.toMillis()}`;
    if (!this.slots.has(key)) this.slots.set(key, firstWindowSlotAtOrAfter(window, earliest, deadline));
    return this.slots.get(key) ?? null;
  }
}

/**
 * The `position`-th customer (0-based) sharing a slot deploys `position` staggers after it, wrapping round
 * to the slot's start once the window (or the deadline) would be passed: every instant stays inside both.
 */
function staggered(slot: WindowSlot, deadline: DateTime, position: number, staggerMs: number): DateTime {
  if (staggerMs <= 0 || position === 0) return slot.at;
  const end = Math.min(slot.closesAt.toMillis(), deadline.toMillis());
  const places = Math.max(1, Math.ceil((end - slot.at.toMillis()) / staggerMs));
  return slot.at.plus({ milliseconds: (position % places) * staggerMs });
}

function planCustomer(
  clock: PlanClock,
  customer: Customer,
  draft: BatchDraft,
  opensAt: DateTime,
  notBefore: DateTime = opensAt,
  queue?: (slotAt: DateTime) => number,
): PlannedCustomer {
  const lead = draft.policy.advanceNoticeDays;
  const { noticeAt, opensFrom } = clock.notice(lead, opensAt);
  const deadline = clock.afterStart(draft.policy.rolloutDelayDays + 1);
  const earliest = notBefore > opensFrom ? notBefore : opensFrom;
  const slot = clock.slot(customer.maintenanceWindow, earliest, deadline);
  const deployAt = slot ? staggered(slot, deadline, queue?.(slot.at) ?? 0, clock.staggerMs) : null;
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

/**
 * A batch's customers in id order, each staggered behind the customers before it whose window slot starts at
 * the same instant (one window, or several open then), so no instant asks for the whole batch at once.
 */
function planBatch(clock: PlanClock, draft: BatchDraft, opensAt: DateTime): PlannedCustomer[] {
  const queued = new Map<number, number>();
  const queue = (slotAt: DateTime): number => {
    const position = queued.get(slotAt.toMillis()) ?? 0;
    queued.set(slotAt.toMillis(), position + 1);
    return position;
  };
  return draft.customers.map((customer) => planCustomer(clock, customer, draft, opensAt, opensAt, queue));
}

/**
 * The latest moment a step can still be busy: its opening, or its last planned deployment plus the time the
 * platform has to report it. The release execution gates the step only once every customer has reported.
 */
export function stepDoneBy(opensAt: DateTime, customers: PlannedCustomer[]): DateTime {
  let lastDeployment = Number.NEGATIVE_INFINITY;
  for (const customer of customers) {
    if (customer.deployAt) lastDeployment = Math.max(lastDeployment, Date.parse(customer.deployAt));
  }
  if (lastDeployment === Number.NEGATIVE_INFINITY) return opensAt;
  return DateTime.max(
    opensAt,
    DateTime.fromMillis(lastDeployment, { zone: 'utc' }).plus({ hours: DEPLOYMENT_REPORT_TIMEOUT_HOURS }),
  );
}

/**
 * Deploys a one-by-one phase's customers one at a time: no deployment starts before the previous one has
 * been reported and gated (ONE_AT_A_TIME_GAP_HOURS after it started). The order is the plan's own: each
 * next deployment is the earliest window any waiting customer has free, so customers with different
 * windows share a weekend instead of each waiting a week for the one before. `plan(each, notBefore)` gives
 * a customer's slot from `notBefore` on (null deployAt: none before its deadline). Customers with the same
 * `sameSlots` key (same window, same day of the phase) have the same slots: only the first of each such
 * group waits in the queue, so a large fleet costs about one slot search per customer and per group and
 * deployment, not per customer and deployment. Returns them in input order.
 */
function sequenceOneAtATime<T>(
  customers: T[],
  start: DateTime,
  sameSlots: (customer: T) => string,
  plan: (customer: T, notBefore: DateTime) => PlannedCustomer,
): PlannedCustomer[] {
  interface Candidate {
    group: number[];
    at: number;
    planned: PlannedCustomer;
  }
  const result: PlannedCustomer[] = new Array(customers.length);
  const groups = new Map<string, number[]>();
  customers.forEach((customer, index) => {
    const key = sameSlots(customer);
    const group = groups.get(key);
    if (group) group.push(index);
    else groups.set(key, [index]);
  });
  const waiting = new TinyQueue<Candidate>(
    [],
    (a, b) => a.at - b.at || (a.group[0] ?? 0) - (b.group[0] ?? 0),
  );
  /** The group's first customer waits for its slot from `notBefore`; none left: the group is unschedulable. */
  const consider = (group: number[], notBefore: DateTime) => {
    const [first] = group;
    if (first === undefined) return;
    const planned = plan(customers[first] as T, notBefore);
    if (planned.deployAt) {
      waiting.push({ group, at: Date.parse(planned.deployAt), planned });
      return;
    }
    for (const index of group) result[index] = plan(customers[index] as T, notBefore);
  };
  for (const group of groups.values()) consider(group, start);
  let free = start;
  for (let next = waiting.pop(); next; next = waiting.pop()) {
    // Its window was taken meanwhile: its next one from when the lane is free again.
    if (next.at < free.toMillis()) consider(next.group, free);
    else {
      result[next.group[0] as number] = next.planned;
      free = toUtc(next.planned.deployAt ?? '').plus({ hours: ONE_AT_A_TIME_GAP_HOURS });
      consider(next.group.slice(1), free);
    }
  }
  return result;
}

function byId(a: Customer, b: Customer): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

interface PhaseTimes {
  phase: PhaseDefinition;
  startAt: DateTime;
  endAt: DateTime;
  batches: OpenedBatch[];
}

/**
 * Who gets the release, when, and after which notice. Pure and deterministic: the same version, config, fleet
 * and start give the same plan. Refuses a version that is not a minor release of this fleet.
 *
 * The plan follows the release execution step by step, in workflow order: a step (a batch, or a one-by-one
 * phase's customers all together) opens at its own rule or once the previous step is done
 * (`stepDoneBy`), whichever is later; a phase's testing period ends at its nominal end or once its last step
 * is done, and the next phase starts then. So every time in the plan is the time the execution acts.
 */
export function planRelease({ version, config, fleet, startAt }: PlanReleaseInput): ReleasePlan {
  assertMinorRelease(version, fleet);
  const releaseStart = toUtc(startAt);
  // The moments the workflow sends notices: the release start, every batch opening of a batched phase, and
  // the opening of every one-by-one phase. Steps open in workflow order and a notice always precedes its
  // batch's opening by the full lead time, so the checkpoints known when a step opens are all it can use.
  const checkpoints = [releaseStart];
  const clock = new PlanClock(
    releaseStart,
    checkpoints,
    (config.release.deploymentStaggerSeconds ?? DEFAULT_DEPLOYMENT_STAGGER_SECONDS) * 1000,
  );
  let previousDone = releaseStart;
  const phases: PhaseTimes[] = config.release.phases.map((phase) => {
    const policy = config.policies[phase.policy];
    const customers = fleet.customers.filter((customer) => customer.policy === phase.policy).sort(byId);
    const drafts = draftBatches(phase, policy, customers, releaseStart);
    const phaseStart = DateTime.max(afterDays(releaseStart, phase.startDay), previousDone);
    const batches: OpenedBatch[] = [];
    if (policy.batchSize.mode === 'individual') {
      // One step: every customer is started when the phase opens (its approval can be asked early) and
      // deploys one at a time (sequenceOneAtATime), each in its own window from its own day of the phase on.
      checkpoints.push(phaseStart);
      const opened = drafts.map((draft) => ({
        draft,
        opensAt: DateTime.max(draft.earliestOpen, phaseStart),
      }));
      const planOne = (each: (typeof opened)[number], notBefore: DateTime) =>
        planCustomer(clock, each.draft.customers[0] as Customer, each.draft, each.opensAt, notBefore);
      const sameSlots = (each: (typeof opened)[number]) =>
        `${each.opensAt.toMillis()} ${windowKey((each.draft.customers[0] as Customer).maintenanceWindow)}`;
      const planned = sequenceOneAtATime(opened, phaseStart, sameSlots, planOne);
      const phaseEnd = afterDays(releaseStart, phase.startDay + phase.durationDays);
      planned.forEach((customer, index) => {
        const each = opened[index];
        if (!each || !customer.deployAt || Date.parse(customer.deployAt) < phaseEnd.toMillis()) return;
        const alone = planOne(each, phaseStart).deployAt;
        const why =
          alone && Date.parse(alone) < phaseEnd.toMillis()
            ? `its earlier windows are taken by other ${phase.name} deployments (one at a time)`
            : 'its first window from its day of the phase is after the end';
        customer.lateReason = `deploys after the ${phase.name} phase ends (${formatMinute(phaseEnd)}): ${why}`;
      });
      opened.forEach((each, index) => {
        batches.push({ ...each, customers: [planned[index] as PlannedCustomer] });
      });
      previousDone = stepDoneBy(
        phaseStart,
        batches.flatMap((batch) => batch.customers),
      );
    } else {
      previousDone = phaseStart;
      for (const draft of drafts) {
        const opensAt = DateTime.max(draft.earliestOpen, previousDone);
        checkpoints.push(opensAt);
        const planned = planBatch(clock, draft, opensAt);
        batches.push({ draft, opensAt, customers: planned });
        previousDone = stepDoneBy(opensAt, planned);
      }
    }
    // The testing period cannot end before the last deployment is reported: the phase ends (and the next
    // one starts) at its nominal end or when its last step is done, whichever is later.
    const endAt = DateTime.max(afterDays(releaseStart, phase.startDay + phase.durationDays), previousDone);
    previousDone = endAt;
    return { phase, startAt: phaseStart, endAt, batches };
  });
  const customers = phases.flatMap((phase) => phase.batches.flatMap((batch) => batch.customers));
  return {
    version,
    startAt: toIsoUtc(releaseStart),
    endAt: toIsoUtc(previousDone),
    phases: phases.map(plannedPhase),
    customers,
    unschedulable: customers.flatMap((customer) =>
      customer.unschedulableReason ? [{ id: customer.id, reason: customer.unschedulableReason }] : [],
    ),
    late: customers.flatMap((customer) =>
      customer.lateReason ? [{ id: customer.id, reason: customer.lateReason }] : [],
    ),
  };
}

function plannedPhase({ phase, startAt, endAt, batches }: PhaseTimes): PlannedPhase {
  const planned: PlannedBatch[] = batches.map(({ draft, opensAt }) => ({
    index: draft.index,
    deployAt: toIsoUtc(opensAt),
    customers: draft.customers.map((customer) => customer.id),
  }));
  return {
    name: phase.name,
    displayName: phase.displayName,
    policy: phase.policy,
    startAt: toIsoUtc(startAt),
    endAt: toIsoUtc(endAt),
    batches: planned,
  };
}
