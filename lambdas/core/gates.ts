import type { ReleaseQualityThresholds, SuccessCriteria } from './model.js';

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

/**
 * What a gate judges beyond health: the outcomes of its step's (phase's) customers and the evidence that the
 * deployed ones run well. A gate passes only on evidence: missing data never counts as success.
 */
export interface StepResults {
  /** Customers of the step (phase), less those a newer release took over (judgedCustomers). */
  total: number;
  /** Customers with an outcome so far (deployed, failed, rejected, deferred, held, cancelled), less those. */
  recorded: number;
  deployed: number;
  failed: number;
  /**
   * Deployed customers without a health report since their deployment was requested: counted from the
   * step's counters, named (at most GATE_AUDIT_MAX_CUSTOMERS) when there are any.
   */
  withoutHealthReport: CappedIds;
  /** Customers rolled back (or whose rollback failed). */
  rollbacks: number;
}

/** A phase's success criteria and the release's support ticket limit, which every gate applies too. */
export type GateCriteria = SuccessCriteria &
  Pick<ReleaseQualityThresholds, 'maxSupportTicketIncreasePercent'>;

/** What one health report says, as far as a gate is concerned. */
export interface HealthSample {
  customerId: string;
  latencyChangePercent: number;
  criticalErrors: number;
  securityFindings: number;
  /** Support tickets the customer opened in the period the report covers. */
  supportTickets: number;
  /** How many the customer usually opens in such a period; absent from senders of contract 1.0. */
  supportTicketsBaseline?: number;
}

/**
 * How much a report's support tickets exceed its customer's baseline, in percent; undefined when that cannot
 * be said (tickets without a baseline, or against a baseline of none), which a gate treats as an increase.
 */
export function supportTicketIncreasePercent(
  report: Pick<HealthSample, 'supportTickets' | 'supportTicketsBaseline'>,
): number | undefined {
  if (report.supportTickets === 0) return 0;
  if (!report.supportTicketsBaseline) return undefined;
  return ((report.supportTickets - report.supportTicketsBaseline) / report.supportTicketsBaseline) * 100;
}

/**
 * The states of a customer whose deployment of the version succeeded: deployed, and what a rollback moves it
 * on to. Its health reports are the evidence a gate needs. (A `superseded` customer was never deployed by
 * the release: a newer one took it over before it was asked to deploy.)
 */
export const DEPLOYED_STATES = ['deployed', 'rolling-back', 'rolled-back', 'rollback-failed'] as const;

export function hasBeenDeployed(state: string): boolean {
  return (DEPLOYED_STATES as readonly string[]).includes(state);
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
  /**
   * Customers whose support tickets rose beyond the allowed increase over their baseline (or who reported
   * tickets without a baseline to judge them by), each once, in report order.
   */
  customersWithMoreSupportTickets: CappedIds;
  /** Customers in any of the four lists, each once. */
  customersAffected: number;
  /** The worst latency change any report of the step gave (a maximum: a redelivery cannot change it). */
  worstLatencyChangePercent: number;
  /** The worst support ticket increase over a baseline any report of the step gave (a maximum too). */
  worstSupportTicketIncreasePercent: number;
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
  customersWithMoreSupportTickets: { count: 0, ids: [] },
  customersAffected: 0,
  worstLatencyChangePercent: 0,
  worstSupportTicketIncreasePercent: 0,
  reports: [],
};

/**
 * The step's health with one more report counted, or undefined when the report changes nothing: it counts
 * against no criterion and raises no worst figure, or it was counted already (the same report delivered
 * again).
 */
export function addHealthReport(
  health: StepHealth,
  report: HealthSample & { key: string },
  criteria: Pick<GateCriteria, 'maxPerformanceDegradationPercent' | 'maxSupportTicketIncreasePercent'>,
): StepHealth | undefined {
  const critical = report.criticalErrors > 0;
  const finding = report.securityFindings > 0;
  const degraded = report.latencyChangePercent > criteria.maxPerformanceDegradationPercent;
  const ticketIncrease = supportTicketIncreasePercent(report);
  const moreTickets =
    ticketIncrease === undefined || ticketIncrease > criteria.maxSupportTicketIncreasePercent;
  const worstLatencyChangePercent = Math.max(health.worstLatencyChangePercent, report.latencyChangePercent);
  const worstSupportTicketIncreasePercent = Math.max(
    health.worstSupportTicketIncreasePercent,
    ticketIncrease ?? 0,
  );
  const worse =
    worstLatencyChangePercent > health.worstLatencyChangePercent ||
    worstSupportTicketIncreasePercent > health.worstSupportTicketIncreasePercent;
  const counts = (critical || finding || degraded || moreTickets) && !health.reports.includes(report.key);
  if (!counts)
    return worse ? { ...health, worstLatencyChangePercent, worstSupportTicketIncreasePercent } : undefined;
  const id = report.customerId;
  const namedBefore = [
    health.customersWithCriticalErrors,
    health.customersWithSecurityFindings,
    health.customersDegraded,
    health.customersWithMoreSupportTickets,
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
    customersWithMoreSupportTickets: withCustomer(health.customersWithMoreSupportTickets, moreTickets),
    customersAffected: health.customersAffected + (namedBefore ? 0 : 1),
    worstLatencyChangePercent,
    worstSupportTicketIncreasePercent,
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
    customersWithMoreSupportTickets: combine((health) => health.customersWithMoreSupportTickets),
    // A customer belongs to one step, so the steps' counts add up.
    customersAffected: sum(steps.map((health) => health.customersAffected)),
    worstLatencyChangePercent: Math.max(0, ...steps.map((health) => health.worstLatencyChangePercent)),
    worstSupportTicketIncreasePercent: Math.max(
      0,
      ...steps.map((health) => health.worstSupportTicketIncreasePercent),
    ),
    reports: [],
  };
}

export interface GateDecision {
  passed: boolean;
  deployed: number;
  failed: number;
  successRatePercent: number;
  /** Deployed customers without a health report since their deployment, named up to the cap. */
  customersWithoutHealthReport: CappedIds;
  rollbacks: number;
  criticalErrors: number;
  customersWithCriticalErrors: CappedIds;
  customersWithSecurityFindings: CappedIds;
  customersDegraded: CappedIds;
  customersWithMoreSupportTickets: CappedIds;
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
  customersWithoutHealthReport: number;
  rollbacks: number;
  criticalErrors: number;
  customersWithSecurityFindings: number;
  customersDegraded: number;
  customersWithMoreSupportTickets: number;
  /** The first GATE_SUMMARY_MAX_CUSTOMERS customers named (no health report, critical errors, findings, …). */
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
  customersWithMoreSupportTickets: number;
  customersAffected: number;
}

/** The counts of `health`, kept as the accepted ones when an operator resumes past its gate. */
export function acceptedHealthOf(health: StepHealth): AcceptedHealth {
  return {
    criticalErrors: health.criticalErrors,
    customersWithCriticalErrors: health.customersWithCriticalErrors.count,
    customersWithSecurityFindings: health.customersWithSecurityFindings.count,
    customersDegraded: health.customersDegraded.count,
    customersWithMoreSupportTickets: health.customersWithMoreSupportTickets.count,
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
    customersWithMoreSupportTickets: since(
      health.customersWithMoreSupportTickets,
      accepted.customersWithMoreSupportTickets,
    ),
    customersAffected: Math.max(0, health.customersAffected - accepted.customersAffected),
  };
}

/**
 * Judges a step (or a phase) on evidence only. It fails when a criterion is not met, and it fails as
 * inconclusive when the evidence is missing: customers without an outcome, a step with customers none of
 * whom was deployed or failed, or a deployed customer that sent no health report since its deployment.
 */
export function evaluateGate(results: StepResults, health: StepHealth, criteria: GateCriteria): GateDecision {
  const attempted = results.deployed + results.failed;
  const successRatePercent = attempted === 0 ? 0 : (results.deployed / attempted) * 100;
  const reasons: string[] = [];
  const missingOutcomes = Math.max(0, results.total - results.recorded);
  if (missingOutcomes > 0) reasons.push(`${missingOutcomes} customer(s) have no outcome yet`);
  if (attempted === 0 && results.total > 0)
    reasons.push(
      `no deployment result: none of its ${results.total} customer(s) was deployed, so nothing shows the version works`,
    );
  const silent = results.withoutHealthReport;
  if (silent.count > 0)
    reasons.push(
      `${silent.count} deployed customer(s) sent no health report since their deployment: ${someOf(silent)}`,
    );
  if (attempted > 0 && successRatePercent < criteria.minBatchSuccessRatePercent) {
    reasons.push(
      `batch success rate ${successRatePercent.toFixed(1)}% is below ${criteria.minBatchSuccessRatePercent}% (${results.failed} of ${attempted} deployments failed)`,
    );
  }
  if (results.rollbacks > criteria.maxRollbacks)
    reasons.push(`${results.rollbacks} customer(s) rolled back, at most ${criteria.maxRollbacks} allowed`);
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
  const moreTickets = health.customersWithMoreSupportTickets;
  if (moreTickets.count > 0)
    reasons.push(
      `support tickets above their baseline by more than ${criteria.maxSupportTicketIncreasePercent}% (or reported without a baseline) for ${someOf(moreTickets)}`,
    );
  return {
    passed: reasons.length === 0,
    deployed: results.deployed,
    failed: results.failed,
    successRatePercent,
    customersWithoutHealthReport: silent,
    rollbacks: results.rollbacks,
    criticalErrors: health.criticalErrors,
    customersWithCriticalErrors: health.customersWithCriticalErrors,
    customersWithSecurityFindings: findings,
    customersDegraded: degraded,
    customersWithMoreSupportTickets: moreTickets,
    customersAffected: health.customersAffected,
    reasons,
  };
}

/** The bounded result for the execution's state: its size does not grow with the number of customers. */
export function summarizeGate(decision: GateDecision): GateSummary {
  const named = [
    ...new Set([
      ...decision.customersWithoutHealthReport.ids,
      ...decision.customersWithCriticalErrors.ids,
      ...decision.customersWithSecurityFindings.ids,
      ...decision.customersDegraded.ids,
      ...decision.customersWithMoreSupportTickets.ids,
    ]),
  ];
  const customers = named.slice(0, GATE_SUMMARY_MAX_CUSTOMERS);
  // A silent customer sent no report, so it is in none of the health lists: the two counts add up.
  const affected = decision.customersAffected + decision.customersWithoutHealthReport.count;
  return {
    passed: decision.passed,
    reason: decision.reasons.join('; '),
    deployed: decision.deployed,
    failed: decision.failed,
    successRatePercent: Math.round(decision.successRatePercent * 10) / 10,
    customersWithoutHealthReport: decision.customersWithoutHealthReport.count,
    rollbacks: decision.rollbacks,
    criticalErrors: decision.criticalErrors,
    customersWithSecurityFindings: decision.customersWithSecurityFindings.count,
    customersDegraded: decision.customersDegraded.count,
    customersWithMoreSupportTickets: decision.customersWithMoreSupportTickets.count,
    customers,
    moreCustomers: Math.max(affected, named.length) - customers.length,
  };
}

/** The gate's audit record: the summary's counts plus the affected customers per criterion, capped per list. */
export function gateAuditRecord(decision: GateDecision): Record<string, unknown> {
  const { customers: _few, moreCustomers: _rest, ...summary } = summarizeGate(decision);
  return {
    ...summary,
    reasons: decision.reasons,
    customersWithoutHealthReport: decision.customersWithoutHealthReport,
    customersWithCriticalErrors: decision.customersWithCriticalErrors,
    customersWithSecurityFindings: decision.customersWithSecurityFindings,
    customersDegraded: decision.customersDegraded,
    customersWithMoreSupportTickets: decision.customersWithMoreSupportTickets,
  };
}

// The release's quality limits (config `releaseQuality`, the workflow document's "Release Quality
// Metrics"), computed from the steps' counters and health as the release goes and checked at each phase
// gate, so a breach pauses the release before the next phase.

/** The release's quality figures so far. */
export interface ReleaseQuality {
  deployments: number;
  rollbacks: number;
  rollbackRatePercent: number;
  criticalIssues: number;
  /** The worst latency change against a customer's baseline reported so far. */
  performanceImpactPercent: number;
  /** The worst support ticket increase over a customer's baseline reported so far. */
  supportTicketIncreasePercent: number;
}

/** The figures of the release from its steps' outcomes, rollbacks and health (all of them, never accepted away). */
export function releaseQualityOf(
  steps: { deployed: number; rollbacks: number; health: StepHealth }[],
): ReleaseQuality {
  const deployments = sum(steps.map((step) => step.deployed));
  const rollbacks = sum(steps.map((step) => step.rollbacks));
  const health = combineHealth(steps.map((step) => step.health));
  return {
    deployments,
    rollbacks,
    rollbackRatePercent: deployments === 0 ? 0 : Math.round((rollbacks / deployments) * 1000) / 10,
    criticalIssues: health.criticalErrors,
    performanceImpactPercent: health.worstLatencyChangePercent,
    supportTicketIncreasePercent: Math.round(health.worstSupportTicketIncreasePercent * 10) / 10,
  };
}

/**
 * One line per quality limit the release breaches. A figure an operator accepted (resuming after the breach
 * was reported) breaches again only when it gets worse than what was accepted.
 */
export function qualityBreaches(
  quality: ReleaseQuality,
  limits: ReleaseQualityThresholds,
  accepted?: ReleaseQuality,
): string[] {
  const over = (figure: keyof ReleaseQuality, limit: number) =>
    quality[figure] > Math.max(limit, accepted?.[figure] ?? limit);
  const breaches: string[] = [];
  if (over('rollbackRatePercent', limits.maxRollbackRatePercent))
    breaches.push(
      `release rollback rate ${quality.rollbackRatePercent}% (${quality.rollbacks} of ${quality.deployments} deployments) exceeds ${limits.maxRollbackRatePercent}%`,
    );
  if (over('criticalIssues', limits.maxCriticalIssues))
    breaches.push(
      `release critical issues ${quality.criticalIssues} exceed the release's limit of ${limits.maxCriticalIssues}`,
    );
  if (over('performanceImpactPercent', limits.maxPerformanceImpactPercent))
    breaches.push(
      `release performance impact ${quality.performanceImpactPercent}% exceeds ${limits.maxPerformanceImpactPercent}%`,
    );
  if (over('supportTicketIncreasePercent', limits.maxSupportTicketIncreasePercent))
    breaches.push(
      `release support ticket increase ${quality.supportTicketIncreasePercent}% exceeds ${limits.maxSupportTicketIncreasePercent}%`,
    );
  return breaches;
}

/** "a, b, c and 9997 more": a few names, then a count of the rest. */
function someOf(customers: CappedIds): string {
  const named = customers.ids.slice(0, GATE_REASON_MAX_CUSTOMERS);
  const rest = customers.count - named.length;
  if (named.length === 0) return `${rest} unnamed`;
  return rest > 0 ? `${named.join(', ')} and ${rest} more` : named.join(', ');
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
