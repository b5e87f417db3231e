import { combineHealth, qualityBreaches, type ReleaseQuality, releaseQualityOf } from '../core/gates.js';
import type { HistoryEntry } from '../core/lifecycle.js';
import type { MaintenanceWindow, ReleaseQualityThresholds } from '../core/model.js';
import { rolloutShape } from '../core/rollout-shape.js';
import { now } from '../shared/clock.js';
import { listPendingApprovals, type PendingApproval } from '../store/approvals.js';
import { latestGates } from '../store/audit.js';
import type { CustomerRecord } from '../store/customers.js';
import { getFleetRevision } from '../store/fleet.js';
import type { PauseRecord, ReleaseRecord, ReleaseStatus } from '../store/releases.js';
import {
  getStepsForStatus,
  healthOf,
  rollbacksOf,
  type StepRecord,
  stepHealthCounts,
} from '../store/steps.js';
import { stepIsComplete } from './outcomes.js';
import { configOf } from './release-config.js';
import { requireKnownRelease, resolveReleaseCustomer } from './release-customers.js';

// Where a release stands, for check-status. Read from the release record, its steps (one batched read),
// the latest gate of each step and phase (one batched read) and the pending approvals (one query, at most
// PENDING_APPROVALS_SHOWN of them) and the fleet's revision: five requests whatever the number of customers. No
// customer is read.

export const PENDING_APPROVALS_SHOWN = 50;
const UPCOMING_EVENTS_SHOWN = 5;

export type Progress = 'not-started' | 'in-progress' | 'complete';

/** A step's customers by where they ended, and those still without an outcome. */
export interface OutcomeCounts {
  total: number;
  /** Customers with an outcome (deployed, failed, rejected, deferred, held, cancelled). */
  recorded: number;
  /** Customers without an outcome yet: planned, noticed, awaiting approval, scheduled, deploying… */
  inFlight: number;
  deployed: number;
  failed: number;
  rejected: number;
  deferred: number;
  held: number;
  cancelled: number;
  /** Customers a newer release took over before this one asked anything of them. */
  superseded: number;
  rolledBack: number;
  rollbackFailed: number;
  /** Deployed customers that sent no health report since their deployment (a gate needs one each). */
  withoutHealthReport: number;
}

/** The latest result of a gate (its audit record), absent until it ran. */
export interface GateStatus {
  passed: boolean;
  /** The failed criteria, one line each joined with "; " (empty when it passed). */
  reason: string;
  at: string;
}

/** One batch (a workflow step): `standard_2`, or `enterprise` for a phase deploying one customer at a time. */
export interface BatchStatus {
  key: string;
  /** 1-based position among the phase's batches, and how many it has. */
  position: number;
  of: number;
  oneAtATime: boolean;
  opensAt: string;
  /** When the release stops waiting for its outcomes (then missing ones fail its gate). */
  waitUntil?: string;
  progress: Progress;
  counts: OutcomeCounts;
  gate?: GateStatus;
}

export interface PhaseStatus {
  name: string;
  displayName: string;
  startAt: string;
  endAt: string;
  progress: Progress;
  counts: OutcomeCounts;
  /** The phase gate (after its testing period; it also checks the release's quality). */
  gate?: GateStatus;
  batches: BatchStatus[];
}

export interface PendingApprovalStatus extends PendingApproval {
  /** Seconds since the approvers were first asked, against the target's clock. */
  ageSeconds: number;
  /** Past its expiry: the customer is about to be deferred (never approved by default). */
  expired: boolean;
}

export interface ScheduledEvent {
  at: string;
  kind: 'release-start' | 'batch-opens' | 'step-wait-ends' | 'phase-gate' | 'deployment' | 'approval-expires';
  description: string;
  step?: string;
  customerId?: string;
}

/**
 * `check-status --version V --json`: the release as the store says it now.
 * - `status`: planning | running | paused | halted | completed | aborted | failed; `pause` says why it is
 *   not going forward (kind halted | gate-failed | rollback-failed, reason, since, by, and the state the
 *   release execution waits in, `awaitingDecisionIn`).
 * - `openHalts`: halts not resumed (scope `release`, `all releases` or `customer:<id>`).
 * - `phases[].batches[]`: counts, progress (not-started | in-progress | complete) and the latest gate result.
 * - `pendingApprovals`: at most PENDING_APPROVALS_SHOWN, oldest first; `morePendingApprovals` when more.
 * - `pausedGates`: the failed gate the release is paused on, with its reason.
 * - `nextEvent` and `upcoming`: what the schedule says happens next (nothing once the release ended).
 * - `quality`: the release's figures against the limits, and the limits breached.
 * - `fleetChangedSincePlanning`: present when the target can tell (the live fleet differs from the plan's).
 */
export interface ReleaseStatusReport {
  release: string;
  /** The instant this describes (the target's clock). */
  asOf: string;
  status: ReleaseStatus;
  startAt: string;
  endAt: string;
  pause?: PauseRecord & { awaitingDecisionIn?: string };
  abortReason?: string;
  openHalts: { scope: string; from: string; reason: string; by: string }[];
  counts: OutcomeCounts;
  phases: PhaseStatus[];
  pendingApprovals: PendingApprovalStatus[];
  morePendingApprovals: boolean;
  pausedGates: { gate: string; steps: string[]; reason: string; since: string }[];
  nextEvent?: ScheduledEvent;
  upcoming: ScheduledEvent[];
  quality: {
    figures: ReleaseQuality;
    limits: ReleaseQualityThresholds;
    /** One line per limit breached (beyond what an operator accepted by resuming). */
    breaches: string[];
    accepted?: ReleaseQuality;
  };
  fleetChangedSincePlanning?: boolean;
}

const ENDED: readonly ReleaseStatus[] = ['completed', 'aborted', 'failed'];

export function hasEnded(status: ReleaseStatus): boolean {
  return ENDED.includes(status);
}

/**
 * Where the release `version` stands now (six store requests whatever the fleet's size, one more for each
 * further twelve steps: their health shards are read a hundred at a time).
 */
export async function releaseStatus(version: string): Promise<ReleaseStatusReport> {
  const record = await requireKnownRelease(version);
  const asOf = now();
  const config = await configOf(record);
  const shape = rolloutShape(config).map((phase) => ({
    ...phase,
    steps: phase.steps.filter((step) => record.schedule.steps[step.key] !== undefined),
  }));
  const stepKeys = shape.flatMap((phase) => phase.steps.map((step) => step.key));
  const gateNames = [...new Set([...stepKeys, ...shape.map((phase) => phase.name)])];
  const [steps, gates, pending, shards] = await Promise.all([
    getStepsForStatus(version, stepKeys),
    latestGates(version, gateNames),
    listPendingApprovals(version, PENDING_APPROVALS_SHOWN),
    stepHealthCounts(version, stepKeys),
  ]);
  const stepsByKey = new Map(steps.map((step) => [step.key, step]));
  const awaitedIndex = record.awaitingStep ? stepKeys.indexOf(record.awaitingStep) : -1;

  const phases: PhaseStatus[] = shape.map((phase) => {
    const batches = phase.steps.map((step): BatchStatus => {
      const counters = stepsByKey.get(step.key);
      const scheduled = record.schedule.steps[step.key];
      const started = (counters?.recorded ?? 0) > 0 || stepKeys.indexOf(step.key) <= awaitedIndex;
      return {
        key: step.key,
        position: step.position,
        of: step.of,
        oneAtATime: step.individual,
        opensAt: scheduled?.opensAt ?? record.schedule.startAt,
        ...(counters?.waitUntil ? { waitUntil: counters.waitUntil } : {}),
        progress: !started
          ? 'not-started'
          : counters && stepIsComplete(counters)
            ? 'complete'
            : 'in-progress',
        counts: countsOf(counters ? [counters] : []),
        ...gateOf(gates, step.key),
      };
    });
    const progress: Progress = batches.every((batch) => batch.progress === 'complete')
      ? 'complete'
      : batches.every((batch) => batch.progress === 'not-started')
        ? 'not-started'
        : 'in-progress';
    const phaseSchedule = record.schedule.phases[phase.name];
    return {
      name: phase.name,
      displayName: config.release.phases.find((each) => each.name === phase.name)?.displayName ?? phase.name,
      startAt: phaseSchedule?.startAt ?? record.schedule.startAt,
      endAt: phaseSchedule?.endAt ?? record.schedule.endAt,
      progress,
      counts: countsOf(phase.steps.flatMap((step) => stepsByKey.get(step.key) ?? [])),
      ...gateOf(gates, phase.name),
      batches,
    };
  });

  const pendingApprovals = pending.approvals
    .map((approval) => ({
      ...approval,
      ageSeconds: Math.max(0, Math.floor((Date.parse(asOf) - Date.parse(approval.askedAt)) / 1000)),
      expired: Date.parse(approval.expiresAt) < Date.parse(asOf),
    }))
    .sort((a, b) => b.ageSeconds - a.ageSeconds);
  const quality = releaseQualityOf(
    steps.map((step) => ({
      deployed: step.deployed,
      rollbacks: rollbacksOf(step),
      health: combineHealth([healthOf(step), ...(shards.get(step.key) ?? [])]),
    })),
  );
  const events = hasEnded(record.status) ? [] : upcomingEvents(record, phases, steps, pendingApprovals, asOf);
  // One request more: the fleet's revision against the one the release was planned with.
  const fleetChanged =
    record.fleetRevision === undefined
      ? {}
      : { fleetChangedSincePlanning: (await getFleetRevision()).revision !== record.fleetRevision };
  return {
    release: version,
    asOf,
    status: record.status,
    startAt: record.schedule.startAt,
    endAt: record.schedule.endAt,
    ...(record.pause && (record.status === 'paused' || record.status === 'halted')
      ? { pause: { ...record.pause, ...(record.parkedAt ? { awaitingDecisionIn: record.parkedAt } : {}) } }
      : {}),
    ...(record.abortReason ? { abortReason: record.abortReason } : {}),
    openHalts: record.halts
      .filter((halt) => !halt.to)
      .map(({ scope, from, reason, by }) => ({ scope, from, reason, by })),
    counts: countsOf(steps),
    phases,
    pendingApprovals,
    morePendingApprovals: pending.more,
    pausedGates:
      record.status === 'paused' && record.pause?.kind === 'gate-failed'
        ? [
            {
              gate: record.pause.by.replace(/^gate#/, ''),
              steps: record.pause.steps ?? [],
              reason: record.pause.reason,
              since: record.pause.since,
            },
          ]
        : [],
    ...(events[0] ? { nextEvent: events[0] } : {}),
    upcoming: events.slice(0, UPCOMING_EVENTS_SHOWN),
    quality: {
      figures: quality,
      limits: config.release.releaseQuality,
      breaches: qualityBreaches(quality, config.release.releaseQuality, record.acceptedQuality),
      ...(record.acceptedQuality ? { accepted: record.acceptedQuality } : {}),
    },
    ...fleetChanged,
  };
}

function gateOf(gates: Map<string, GateStatus>, name: string): { gate?: GateStatus } {
  const gate = gates.get(name);
  return gate ? { gate } : {};
}

function countsOf(steps: StepRecord[]): OutcomeCounts {
  const sum = (pick: (step: StepRecord) => number) => steps.reduce((total, step) => total + pick(step), 0);
  const total = sum((step) => step.total);
  const recorded = sum((step) => step.recorded);
  return {
    total,
    recorded,
    inFlight: Math.max(0, total - recorded),
    deployed: sum((step) => step.deployed),
    failed: sum((step) => step.failed),
    rejected: sum((step) => step.rejected),
    deferred: sum((step) => step.deferred),
    held: sum((step) => step.held),
    cancelled: sum((step) => step.cancelled),
    superseded: sum((step) => step.superseded),
    rolledBack: sum((step) => step.rolledBack),
    rollbackFailed: sum((step) => step.rollbackFailed),
    withoutHealthReport: sum((step) => Math.max(0, step.deployed - step.deployedWithHealthReport)),
  };
}

/** What the schedule and the steps say comes next, soonest first (only instants after `asOf`). */
function upcomingEvents(
  record: ReleaseRecord,
  phases: PhaseStatus[],
  steps: StepRecord[],
  approvals: PendingApprovalStatus[],
  asOf: string,
): ScheduledEvent[] {
  const events: ScheduledEvent[] = [];
  if (record.status === 'planning')
    events.push({ at: record.schedule.startAt, kind: 'release-start', description: 'the release starts' });
  for (const phase of phases) {
    for (const batch of phase.batches) {
      const name = batchName(phase, batch);
      if (batch.progress === 'not-started')
        events.push({
          at: batch.opensAt,
          kind: 'batch-opens',
          step: batch.key,
          description: `${name} opens (${batch.counts.total} customer(s); notices due by then are sent)`,
        });
      else if (batch.progress === 'in-progress' && batch.waitUntil)
        events.push({
          at: batch.waitUntil,
          kind: 'step-wait-ends',
          step: batch.key,
          description: `the release stops waiting for ${name} (missing outcomes then fail its gate)`,
        });
    }
    // Its batches all done: the phase gate runs once its testing period is over.
    if (phase.progress === 'complete' && !phase.gate)
      events.push({
        at: phase.endAt,
        kind: 'phase-gate',
        step: phase.name,
        description: `${phase.displayName}: testing period ends, phase gate`,
      });
  }
  for (const step of steps)
    for (const slot of step.reserved)
      events.push({
        at: slot.at,
        kind: 'deployment',
        step: step.key,
        customerId: slot.customerId,
        description: `${slot.customerId} deploys (a moved slot)`,
      });
  for (const approval of approvals)
    events.push({
      at: approval.expiresAt,
      kind: 'approval-expires',
      step: approval.stepKey,
      customerId: approval.customerId,
      description: `the ${approval.purpose} approval asked of ${approval.customerName} expires`,
    });
  return events
    .filter((event) => Date.parse(event.at) > Date.parse(asOf))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

export function batchName(phase: Pick<PhaseStatus, 'displayName'>, batch: BatchStatus): string {
  return batch.oneAtATime
    ? `${phase.displayName} (one customer at a time)`
    : `${phase.displayName} batch ${batch.position} of ${batch.of}`;
}

/**
 * `check-status --version V --customer NAME --json`: one customer of the release (two reads). Never a
 * task token or an approval request id.
 */
export interface CustomerStatusReport {
  release: string;
  asOf: string;
  releaseStatus: ReleaseStatus;
  customer: { id: string; name: string; policy: string; phase: string; batch: number; step: string };
  state: CustomerRecord['state'];
  halt?: { from: string; reason: string; by: string };
  planned: {
    noticeAt: string | null;
    deployAt: string | null;
    deadlineAt: string;
    timeZone: string;
    window: MaintenanceWindow;
    /** The instant its rollout is scheduled for now, when it moved from the plan (a halt, a late approval). */
    scheduledAt?: string;
    /** The date it was last told of. */
    notifiedDeployAt?: string;
    unschedulableReason?: string;
  };
  notice: { sentAt?: string };
  approval: {
    required: boolean;
    askedAt?: string;
    /** Seconds since it was asked, while undecided. */
    pendingSeconds?: number;
    decision?: 'approved' | 'rejected';
    by?: string;
    decidedAt?: string;
  };
  deployment: {
    requestedAt?: string;
    status?: 'requested' | 'succeeded' | 'failed';
    deployedAt?: string;
    reason?: string;
  };
  health: { firstReportAt?: string; lastReportAt?: string; silentSince?: string };
  rollback?: {
    trigger?: string;
    reason?: string;
    requestedAt?: string;
    requestedBy?: string;
    approvedBy?: string;
    scheduledAt?: string;
    status?: 'requested' | 'succeeded' | 'failed';
    rolledBackAt?: string;
    failureReason?: string;
  };
  history: HistoryEntry[];
}

/** One customer of the release, found by id or name (resolveReleaseCustomer). */
export async function customerStatus(version: string, query: string): Promise<CustomerStatusReport> {
  const record = await requireKnownRelease(version);
  const customer = await resolveReleaseCustomer(version, query);
  const asOf = now();
  const defined = <T extends Record<string, unknown>>(fields: T): T =>
    Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
  const undecided = customer.approvalEmailSentAt && !customer.approvalDecision;
  return {
    release: version,
    asOf,
    releaseStatus: record.status,
    customer: {
      id: customer.id,
      name: customer.name,
      policy: customer.policy,
      phase: customer.phase,
      batch: customer.batch,
      step: customer.stepKey,
    },
    state: customer.state,
    ...(customer.halt
      ? { halt: { from: customer.halt.from, reason: customer.halt.reason, by: customer.halt.by } }
      : {}),
    planned: defined({
      noticeAt: customer.noticeAt,
      deployAt: customer.deployAt,
      deadlineAt: customer.deadlineAt,
      timeZone: customer.timeZone,
      window: customer.window,
      scheduledAt: customer.scheduledAt,
      notifiedDeployAt: customer.notifiedDeployAt,
      unschedulableReason: customer.unschedulableReason,
    }),
    notice: defined({ sentAt: customer.noticeSentAt }),
    approval: defined({
      required: customer.approvalRequired,
      askedAt: customer.approvalEmailSentAt,
      pendingSeconds:
        undecided && customer.state === 'awaiting-approval' && customer.approvalEmailSentAt
          ? Math.max(0, Math.floor((Date.parse(asOf) - Date.parse(customer.approvalEmailSentAt)) / 1000))
          : undefined,
      decision: customer.approvalDecision,
      by: customer.approvedBy,
      decidedAt: customer.decidedAt,
    }),
    deployment: defined({
      requestedAt: customer.deploymentRequestedAt,
      status: customer.deploymentStatus,
      deployedAt: customer.deployedAt,
      reason: customer.deploymentReason ?? customer.outcomeReason,
    }),
    health: defined({
      firstReportAt: customer.firstHealthReportAt,
      lastReportAt: customer.lastHealthReportAt,
      silentSince: customer.silentSince,
    }),
    ...(customer.rollbackRequestedAt
      ? {
          rollback: defined({
            trigger: customer.rollbackTrigger,
            reason: customer.rollbackReason,
            requestedAt: customer.rollbackRequestedAt,
            requestedBy: customer.rollbackRequestedBy,
            approvedBy: customer.rollbackApprovedBy,
            scheduledAt: customer.rollbackScheduledAt,
            status: customer.rollbackStatus,
            rolledBackAt: customer.rolledBackAt,
            failureReason: customer.rollbackFailureReason,
          }),
        }
      : {}),
    history: customer.history,
  };
}
