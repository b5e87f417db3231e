import { createHash } from 'node:crypto';
import type { DeploymentPolicy, RollbackProcess, RollbackTriggers } from './model.js';
import { versionSlug } from './versions.js';

// When a deployed customer goes back to the version it ran before (the workflow document's "Rollback
// Procedures"): which trigger a health report fires, whether the customer's policy window still allows a
// rollback, and what the rollback execution is called. Pure: the application layer acts on the answers.

export const ROLLBACK_TRIGGERS = [
  'critical-errors',
  'database-corruption',
  'performance-degradation',
  'security-finding',
  'customer-request',
  'gate-decision',
  'operator',
] as const;
export type RollbackTrigger = (typeof ROLLBACK_TRIGGERS)[number];

/** What a health report says that can fire a trigger (the contract's fields, 1.1 ones optional). */
export interface HealthSignals {
  /** Latency change against the customer's own baseline, in percent (positive = slower). */
  latencyChangePercent: number;
  criticalErrors: number;
  securityFindings: number;
  databaseCorruption?: boolean;
  /** The customer (an approver or contact) asks to go back. */
  rollbackRequested?: { by: string; reason: string };
}

export interface FiredTrigger {
  trigger: RollbackTrigger;
  /** Short, for the customer's history, the workflow input and emails. */
  reason: string;
  /** Who asked, for a customer request. */
  by?: string;
}

/**
 * The triggers a report fires, most severe first, honouring the configuration: a disabled trigger never
 * fires, and latency fires only when it degrades by more than the configured percentage.
 */
export function firedTriggers(report: HealthSignals, triggers: RollbackTriggers): FiredTrigger[] {
  const fired: FiredTrigger[] = [];
  if (triggers.databaseCorruption && report.databaseCorruption === true)
    fired.push({ trigger: 'database-corruption', reason: 'database corruption reported' });
  if (triggers.criticalErrors && report.criticalErrors > 0)
    fired.push({
      trigger: 'critical-errors',
      reason: `${report.criticalErrors} critical application error(s) reported`,
    });
  if (triggers.securityFinding && report.securityFindings > 0)
    fired.push({
      trigger: 'security-finding',
      reason: `${report.securityFindings} security finding(s) reported`,
    });
  if (report.latencyChangePercent > triggers.performanceDegradationPercent)
    fired.push({
      trigger: 'performance-degradation',
      reason: `latency +${report.latencyChangePercent}% against the customer's baseline (limit ${triggers.performanceDegradationPercent}%)`,
    });
  if (triggers.customerRequest && report.rollbackRequested)
    fired.push({
      trigger: 'customer-request',
      reason: `requested by ${report.rollbackRequested.by}: ${report.rollbackRequested.reason}`,
      by: report.rollbackRequested.by,
    });
  return fired;
}

/** The trigger the customer's rollback is recorded under: the most severe one a report fires. */
export function firedTrigger(report: HealthSignals, triggers: RollbackTriggers): FiredTrigger | undefined {
  return firedTriggers(report, triggers)[0];
}

/**
 * Whether the configuration lets `trigger` roll a customer back. Performance degradation is governed by its
 * percentage, and a gate decision or an operator's request by the people who make them.
 */
export function isTriggerEnabled(trigger: RollbackTrigger, triggers: RollbackTriggers): boolean {
  switch (trigger) {
    case 'critical-errors':
      return triggers.criticalErrors;
    case 'database-corruption':
      return triggers.databaseCorruption;
    case 'security-finding':
      return triggers.securityFinding;
    case 'customer-request':
      return triggers.customerRequest;
    case 'performance-degradation':
    case 'gate-decision':
    case 'operator':
      return true;
  }
}

const MS_PER_DAY = 86_400_000;

export type RollbackWindow =
  | { open: true; closesAt: string }
  | { open: false; closesAt: string; reason: string };

/**
 * A customer can be rolled back until `windowDays` days after its deployment (the end included); after
 * that only a fix going forward (a next release) reaches it.
 */
export function rollbackWindow(deployedAt: string, windowDays: number, now: string): RollbackWindow {
  const closesAt = new Date(Date.parse(deployedAt) + windowDays * MS_PER_DAY).toISOString();
  if (Date.parse(now) <= Date.parse(closesAt)) return { open: true, closesAt };
  return {
    open: false,
    closesAt,
    reason: `the ${windowDays}-day rollback window after its deployment on ${deployedAt} closed on ${closesAt}: forward fix only`,
  };
}

/**
 * A customer that has reported nothing (since its deployment, or since its last report) for longer than
 * `silentAfterHours` has gone silent. Silence alone never rolls a customer back; it is flagged and counted.
 */
export function isSilent(
  deployedAt: string,
  lastHealthReportAt: string | undefined,
  silentAfterHours: number,
  now: string,
): boolean {
  const heardFrom = Math.max(Date.parse(deployedAt), lastHealthReportAt ? Date.parse(lastHealthReportAt) : 0);
  return Date.parse(now) - heardFrom > silentAfterHours * 3_600_000;
}

/** Step Functions caps execution names at 80 characters. */
const MAX_EXECUTION_NAME = 80;

/**
 * A customer's rollback execution in its release's rollback state machine: one per rollback request,
 * readable in the console as `rollback-<customer>-<when it was requested, UTC>`. The request's instant
 * tells apart a second rollback of the customer (after a first one was rejected), since Step Functions
 * keeps a closed execution's name for 90 days. A name too long to fit is shortened with a hash of the whole
 * name, so two requests never share one.
 */
export function rollbackExecutionName(customerId: string, requestedAt: string): string {
  const instant = new Date(requestedAt).toISOString().replace(/[-:]|\.\d+/g, '');
  const name = `rollback-${customerId}-${instant}`.replace(/[^A-Za-z0-9-_]/g, '-');
  if (name.length <= MAX_EXECUTION_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  return `${name.slice(0, MAX_EXECUTION_NAME - hash.length - 1)}-${hash}`;
}

/** A release's rollback state machine is named like its release state machine, with this suffix. */
export const ROLLBACK_STATE_MACHINE_SUFFIX = '-rollback';

/**
 * The rollback state machine of a release: `<releaseStateMachineArnPrefix><versionSlug>-rollback`, where the
 * prefix is the ARN of the release state machines up to their names' `securewatch-release-`.
 */
export function rollbackStateMachineArn(releaseStateMachineArnPrefix: string, release: string): string {
  return `${releaseStateMachineArnPrefix}${versionSlug(release)}${ROLLBACK_STATE_MACHINE_SUFFIX}`;
}

/** What the rollback workflow receives: which customer of which release, why, and since when. */
export interface RollbackInput {
  release: string;
  customerId: string;
  trigger: RollbackTrigger;
  reason: string;
  requestedAt: string;
}

// --- workflow ---

/** How long the platform has to report a requested rollback before it counts as failed. */
export const ROLLBACK_REPORT_TIMEOUT_HOURS = 6;

/** The longest a rollback execution runs: approval, the next window (a week at most), validation. */
export const ROLLBACK_EXECUTION_DAYS = 45;

/** Defaults for the policy's optional rollback durations (config/deployment-policies.json). */
export const ROLLBACK_DEFAULT_HOURS = { monitoring: 24, approval: 48, validation: 4 } as const;

/** How a customer's rollback runs, as its workflow reads it: the process and its waits, in seconds. */
export interface RollbackPlan {
  process: RollbackProcess;
  /** Health monitoring after the rollback (automatic-with-monitoring), else 0. */
  monitoringSeconds: number;
  /** The stakeholders' time to approve (immediate-with-approval), else 0. */
  approvalSeconds: number;
  /** The wait before the post-rollback validation (immediate-with-approval), else 0. */
  validationSeconds: number;
}

const HOUR = 3600;

export function rollbackPlanOf(policy: Pick<DeploymentPolicy, 'rollback'>): RollbackPlan {
  const { process } = policy.rollback;
  const hours = (value: number | undefined, fallback: number) => Math.round((value ?? fallback) * HOUR);
  return {
    process,
    monitoringSeconds:
      process === 'automatic-with-monitoring'
        ? hours(policy.rollback.monitoringHours, ROLLBACK_DEFAULT_HOURS.monitoring)
        : 0,
    approvalSeconds:
      process === 'immediate-with-approval'
        ? hours(policy.rollback.approvalHours, ROLLBACK_DEFAULT_HOURS.approval)
        : 0,
    validationSeconds:
      process === 'immediate-with-approval'
        ? hours(policy.rollback.validationHours, ROLLBACK_DEFAULT_HOURS.validation)
        : 0,
  };
}

/** A health report after the rollback that still shows trouble: a critical error, a finding, or degradation. */
export function healthyAfterRollback(
  report: { criticalErrors: number; securityFindings: number; latencyChangePercent: number },
  degradationPercent: number,
): boolean {
  return (
    report.criticalErrors === 0 &&
    report.securityFindings === 0 &&
    report.latencyChangePercent <= degradationPercent
  );
}
