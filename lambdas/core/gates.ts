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
 * Each list of customer ids in the gate's audit record holds at most this many ids, with a count of all.
 * Customer ids are at most 64 characters (MAX_CUSTOMER_ID_LENGTH), so three lists take at most ~200 KB and
 * the record stays under DynamoDB's 400 KB item limit.
 */
export const GATE_AUDIT_MAX_CUSTOMERS = 1_000;

export interface StepResults {
  deployed: number;
  failed: number;
}

export interface HealthSample {
  customerId: string;
  latencyChangePercent: number;
  criticalErrors: number;
  securityFindings: number;
}

export interface GateDecision {
  passed: boolean;
  deployed: number;
  failed: number;
  successRatePercent: number;
  criticalErrors: number;
  /** Every customer that reported a critical error, each once, in report order. */
  customersWithCriticalErrors: string[];
  /** Every customer that reported a security finding, each once, in report order. */
  customersWithSecurityFindings: string[];
  /** Every customer whose latency degraded beyond the criterion, each once, in report order. */
  customersDegraded: string[];
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

/** A list of customer ids as the audit record keeps it: all counted, at most GATE_AUDIT_MAX_CUSTOMERS named. */
export interface CappedIds {
  count: number;
  ids: string[];
}

export function evaluateGate(
  results: StepResults,
  health: HealthSample[],
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
  const criticalErrors = sum(health.map((sample) => sample.criticalErrors));
  if (criticalErrors > criteria.maxCriticalIssues) {
    reasons.push(
      `${criticalErrors} critical error(s) reported, at most ${criteria.maxCriticalIssues} allowed`,
    );
  }
  const findings = customersWhere(health, (sample) => sample.securityFindings > 0);
  if (findings.length > 0) reasons.push(`security findings reported by ${someOf(findings)}`);
  const degraded = customersWhere(
    health,
    (sample) => sample.latencyChangePercent > criteria.maxPerformanceDegradationPercent,
  );
  if (degraded.length > 0) {
    reasons.push(
      `performance degraded beyond ${criteria.maxPerformanceDegradationPercent}% for ${someOf(degraded)}`,
    );
  }
  return {
    passed: reasons.length === 0,
    deployed: results.deployed,
    failed: results.failed,
    successRatePercent,
    criticalErrors,
    customersWithCriticalErrors: customersWhere(health, (sample) => sample.criticalErrors > 0),
    customersWithSecurityFindings: findings,
    customersDegraded: degraded,
    reasons,
  };
}

/** The bounded result for the execution's state: its size does not grow with the number of customers. */
export function summarizeGate(decision: GateDecision): GateSummary {
  const affected = [
    ...new Set([
      ...decision.customersWithCriticalErrors,
      ...decision.customersWithSecurityFindings,
      ...decision.customersDegraded,
    ]),
  ];
  const customers = affected.slice(0, GATE_SUMMARY_MAX_CUSTOMERS);
  return {
    passed: decision.passed,
    reason: decision.reasons.join('; '),
    deployed: decision.deployed,
    failed: decision.failed,
    successRatePercent: Math.round(decision.successRatePercent * 10) / 10,
    criticalErrors: decision.criticalErrors,
    customersWithSecurityFindings: decision.customersWithSecurityFindings.length,
    customersDegraded: decision.customersDegraded.length,
    customers,
    moreCustomers: affected.length - customers.length,
  };
}

/** The gate's audit record: the summary's counts plus every affected customer per criterion, capped per list. */
export function gateAuditRecord(decision: GateDecision): Record<string, unknown> {
  const { customers: _few, moreCustomers: _rest, ...summary } = summarizeGate(decision);
  return {
    ...summary,
    reasons: decision.reasons,
    customersWithCriticalErrors: capped(decision.customersWithCriticalErrors),
    customersWithSecurityFindings: capped(decision.customersWithSecurityFindings),
    customersDegraded: capped(decision.customersDegraded),
  };
}

function customersWhere(health: HealthSample[], affected: (sample: HealthSample) => boolean): string[] {
  // A customer may send several reports; it is named once.
  return [...new Set(health.filter(affected).map((sample) => sample.customerId))];
}

/** "a, b, c and 9997 more": a few names, then a count of the rest. */
function someOf(customerIds: string[]): string {
  const named = customerIds.slice(0, GATE_REASON_MAX_CUSTOMERS).join(', ');
  const rest = customerIds.length - GATE_REASON_MAX_CUSTOMERS;
  return rest > 0 ? `${named} and ${rest} more` : named;
}

function capped(customerIds: string[]): CappedIds {
  return { count: customerIds.length, ids: customerIds.slice(0, GATE_AUDIT_MAX_CUSTOMERS) };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
