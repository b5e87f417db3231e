import { createHash } from 'node:crypto';
import type { DeploymentPolicy, RollbackProcess } from './model.js';

// Rollback rules of the domain: what starts a rollback (triggers, windows) and how it runs (per policy).

/** Step Functions caps execution names at 80 characters. */
const MAX_EXECUTION_NAME = 80;

/** One rollback execution per customer and release (the state machine is the release's): `rollback-<customerId>`. */
export function rollbackExecutionName(customerId: string): string {
  const name = `rollback-${customerId}`.replace(/[^A-Za-z0-9-_]/g, '-');
  if (name.length <= MAX_EXECUTION_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  return `${name.slice(0, MAX_EXECUTION_NAME - hash.length - 1)}-${hash}`;
}

// --- workflow ---

/** What started a rollback (the workflow's input names it). */
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
