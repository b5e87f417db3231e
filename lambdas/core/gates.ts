import type { SuccessCriteria } from './model.js';

// A gate holds the release until a step's (or a phase's) results meet the phase's success criteria.
//
// Its result travels through the release execution's state (`$.gate`), which Step Functions caps at 256 KiB
// and whose overflow (States.DataLimitExceeded) no Catch sees: the execution would die without a halt record.
// So the state gets a bounded summary (summarizeGate) and the store gets the details (gateAuditRecord).

/** At most this many affected customer ids travel in the gate's result; `moreCustomers` counts the rest. */
export const GATE_SUMMARY_MAX_CUSTOMERS = 20;
/** Each line of the gate's `reason` names at most this many customers, then "and N more". */
export const GATE_REASON_MAX_CUSTOMERS = 3;
/**
 * Each list of customer ids in a step's health and the gate's audit record holds at most this many ids,
 * with a count of all. Customer ids are at most 64 characters (MAX_CUSTOMER_ID_LENGTH), so three lists take
 * at most ~200 KB and the item stays under DynamoDB's 400 KB item limit.
 */
export const GATE_AUDIT_MAX_CUSTOMERS = 1_000;

export interface StepResults {
  deployed: number;
  failed: number;
}

/** What one health report says, as far as a gate is concerned. */
export interface HealthSample {
  customerId: string;
  latencyChangePercent: number;
  criticalErrors: number;
  securityFindings: number;
}

/** A list of customer ids as the store keeps it: all counted, at most GATE_AUDIT_MAX_CUSTOMERS named. */
export interface CappedIds {
  count: number;
  ids: string[];
}

/**
 * A step's health, kept on the step as reports arrive (addHealthReport), so a gate reads one item per step
 * instead of every report of the release. Only a report that counts against a criterion changes it; whether
 * a customer's latency degraded is judged on arrival, against its phase's criterion.
 */
export interface StepHealth {
  criticalErrors: number;
  /** Customers that reported a critical error, each once, in report order. */
  customersWithCriticalErrors: CappedIds;
  /** Customers that reported a security finding, each once, in report order. */
  customersWithSecurityFindings: CappedIds;
  /** Customers whose latency degraded beyond the phase's criterion, each once, in report order. */
  customersDegraded: CappedIds;
  /** Customers in any of the three lists, each once. */
  customersAffected: number;
  /**
   * The keys of the reports counted (at most GATE_AUDIT_MAX_CUSTOMERS), so a redelivered report counts once.
   * Beyond that many unhealthy reports on one step (whose gate has long failed), a redelivery counts again,
   * as does a further report of a customer left unnamed because its lists were full.
   */
  reports: string[];
}

export const NO_HEALTH_ISSUES: StepHealth = {
  criticalErrors: 0,
  customersWithCriticalErrors: { count: 0, ids: [] },
  customersWithSecurityFindings: { count: 0, ids: [] },
  customersDegraded: { count: 0, ids: [] },
  customersAffected: 0,
  reports: [],
};

/**
 * The step's health with one more report counted, or undefined when the report changes nothing: it counts
 * against no criterion, or it was counted already (the same report delivered again).
 */
export function addHealthReport(
  health: StepHealth,
  report: HealthSample & { key: string },
  criteria: Pick<SuccessCriteria, 'maxPerformanceDegradationPercent'>,
): StepHealth | undefined {
  const critical = report.criticalErrors > 0;
  const finding = report.securityFindings > 0;
  const degraded = report.latencyChangePercent > criteria.maxPerformanceDegradationPercent;
  if (!(critical || finding || degraded) || health.reports.includes(report.key)) return undefined;
  const id = report.customerId;
  const namedBefore = [
    health.customersWithCriticalErrors,
    health.customersWithSecurityFindings,
    health.customersDegraded,
  ].some((list) => list.ids.includes(id));
  const withCustomer = (list: CappedIds, affected: boolean): CappedIds => {
    if (!affected || list.ids.includes(id)) return list;
    const named = list.ids.length < GATE_AUDIT_MAX_CUSTOMERS;
    return { count: list.count + 1, ids: named ? [...list.ids, id] : list.ids };
  };
  return {
    criticalErrors: health.criticalErrors + report.criticalErrors,
    customersWithCriticalErrors: withCustomer(health.customersWithCriticalErrors, critical),
    customersWithSecurityFindings: withCustomer(health.customersWithSecurityFindings, finding),
    customersDegraded: withCustomer(health.customersDegraded, degraded),
    customersAffected: health.customersAffected + (namedBefore ? 0 : 1),
    reports:
      health.reports.length < GATE_AUDIT_MAX_CUSTOMERS ? [...health.reports, report.key] : health.reports,
  };
}

/** The health of several steps (a phase): counts added, names kept in step order up to the cap. */
export function combineHealth(steps: StepHealth[]): StepHealth {
  const combine = (pick: (health: StepHealth) => CappedIds): CappedIds => ({
    count: sum(steps.map((health) => pick(health).count)),
    ids: steps.flatMap((health) => pick(health).ids).slice(0, GATE_AUDIT_MAX_CUSTOMERS),
  });
  return {
    criticalErrors: sum(steps.map((health) => health.criticalErrors)),
    customersWithCriticalErrors: combine((health) => health.customersWithCriticalErrors),
    customersWithSecurityFindings: combine((health) => health.customersWithSecurityFindings),
    customersDegraded: combine((health) => health.customersDegraded),
    // A customer belongs to one step, so the steps' counts add up.
    customersAffected: sum(steps.map((health) => health.customersAffected)),
    reports: [],
  };
}

export interface GateDecision {
  passed: boolean;
  deployed: number;
  failed: number;
  successRatePercent: number;
  criticalErrors: number;
  customersWithCriticalErrors: CappedIds;
  customersWithSecurityFindings: CappedIds;
  customersDegraded: CappedIds;
  customersAffected: number;
  /** One line per failed criterion, each naming at most GATE_REASON_MAX_CUSTOMERS customers. */
  reasons: string[];
}

/** What the gate puts in the execution's state: counts, one short line per failed criterion, a few ids. */
export interface GateSummary {
  passed: boolean;
  reason: string;
  deployed: number;
  failed: number;
  successRatePercent: number;
  criticalErrors: number;
  customersWithSecurityFindings: number;
  customersDegraded: number;
  /** The first GATE_SUMMARY_MAX_CUSTOMERS affected customers (critical errors, findings, degradation). */
  customers: string[];
  /** How many affected customers `customers` leaves out. */
  moreCustomers: number;
}

/** What an operator accepted by resuming past a step's failed gate: the step's health as it was then. */
export interface AcceptedHealth {
  criticalErrors: number;
  customersWithCriticalErrors: number;
  customersWithSecurityFindings: number;
  customersDegraded: number;
  customersAffected: number;
}

/** The counts of `health`, kept as the accepted ones when an operator resumes past its gate. */
export function acceptedHealthOf(health: StepHealth): AcceptedHealth {
  return {
    criticalErrors: health.criticalErrors,
    customersWithCriticalErrors: health.customersWithCriticalErrors.count,
    customersWithSecurityFindings: health.customersWithSecurityFindings.count,
    customersDegraded: health.customersDegraded.count,
    customersAffected: health.customersAffected,
  };
}

/**
 * The health a later gate judges: what arrived after the operator accepted the step's health. Customers are
 * listed in report order, so those reported since are the ones past the accepted count.
 */
export function healthSince(health: StepHealth, accepted: AcceptedHealth | undefined): StepHealth {
  if (!accepted) return health;
  const since = (ids: CappedIds, acceptedCount: number): CappedIds => ({
    count: Math.max(0, ids.count - acceptedCount),
    ids: ids.ids.slice(acceptedCount),
  });
  return {
    ...health,
    criticalErrors: Math.max(0, health.criticalErrors - accepted.criticalErrors),
    customersWithCriticalErrors: since(
      health.customersWithCriticalErrors,
      accepted.customersWithCriticalErrors,
    ),
    customersWithSecurityFindings: since(
      health.customersWithSecurityFindings,
      accepted.customersWithSecurityFindings,
    ),
    customersDegraded: since(health.customersDegraded, accepted.customersDegraded),
    customersAffected: Math.max(0, health.customersAffected - accepted.customersAffected),
  };
}

export function evaluateGate(
  results: StepResults,
  health: StepHealth,
  criteria: SuccessCriteria,
): GateDecision {
  const attempted = results.deployed + results.failed;
  const successRatePercent = attempted === 0 ? 100 : (results.deployed / attempted) * 100;
  const reasons: string[] = [];
  if (successRatePercent < criteria.minBatchSuccessRatePercent) {
    reasons.push(
      `batch success rate ${successRatePercent.toFixed(1)}% is below ${criteria.minBatchSuccessRatePercent}% (${results.failed} of ${attempted} deployments failed)`,
    );
  }
  if (health.criticalErrors > criteria.maxCriticalIssues) {
    reasons.push(
      `${health.criticalErrors} critical error(s) reported, at most ${criteria.maxCriticalIssues} allowed`,
    );
  }
  const findings = health.customersWithSecurityFindings;
  if (findings.count > 0) reasons.push(`security findings reported by ${someOf(findings)}`);
  const degraded = health.customersDegraded;
  if (degraded.count > 0) {
    reasons.push(
      `performance degraded beyond ${criteria.maxPerformanceDegradationPercent}% for ${someOf(degraded)}`,
    );
  }
  return {
    passed: reasons.length === 0,
    deployed: results.deployed,
    failed: results.failed,
    successRatePercent,
    criticalErrors: health.criticalErrors,
    customersWithCriticalErrors: health.customersWithCriticalErrors,
    customersWithSecurityFindings: findings,
    customersDegraded: degraded,
    customersAffected: health.customersAffected,
    reasons,
  };
}

/** The bounded result for the execution's state: its size does not grow with the number of customers. */
export function summarizeGate(decision: GateDecision): GateSummary {
  const named = [
    ...new Set([
      ...decision.customersWithCriticalErrors.ids,
      ...decision.customersWithSecurityFindings.ids,
      ...decision.customersDegraded.ids,
    ]),
  ];
  const customers = named.slice(0, GATE_SUMMARY_MAX_CUSTOMERS);
  return {
    passed: decision.passed,
    reason: decision.reasons.join('; '),
    deployed: decision.deployed,
    failed: decision.failed,
    successRatePercent: Math.round(decision.successRatePercent * 10) / 10,
    criticalErrors: decision.criticalErrors,
    customersWithSecurityFindings: decision.customersWithSecurityFindings.count,
    customersDegraded: decision.customersDegraded.count,
    customers,
    moreCustomers: Math.max(decision.customersAffected, named.length) - customers.length,
  };
}

/** The gate's audit record: the summary's counts plus the affected customers per criterion, capped per list. */
export function gateAuditRecord(decision: GateDecision): Record<string, unknown> {
  const { customers: _few, moreCustomers: _rest, ...summary } = summarizeGate(decision);
  return {
    ...summary,
    reasons: decision.reasons,
    customersWithCriticalErrors: decision.customersWithCriticalErrors,
    customersWithSecurityFindings: decision.customersWithSecurityFindings,
    customersDegraded: decision.customersDegraded,
  };
}

/** "a, b, c and 9997 more": a few names, then a count of the rest. */
function someOf(customers: CappedIds): string {
  const named = customers.ids.slice(0, GATE_REASON_MAX_CUSTOMERS);
  const rest = customers.count - named.length;
  return rest > 0 ? `${named.join(', ')} and ${rest} more` : named.join(', ');
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
