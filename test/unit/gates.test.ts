import { describe, expect, it } from 'vitest';
import {
  acceptedHealthOf,
  addHealthReport,
  combineHealth,
  evaluateGate,
  GATE_AUDIT_MAX_CUSTOMERS,
  GATE_SUMMARY_MAX_CUSTOMERS,
  type GateCriteria,
  gateAuditRecord,
  type HealthSample,
  healthSince,
  NO_HEALTH_ISSUES,
  qualityBreaches,
  releaseQualityOf,
  type StepHealth,
  type StepResults,
  summarizeGate,
} from '../../lambdas/core/gates.js';

const standard: GateCriteria = {
  minBatchSuccessRatePercent: 95,
  maxCriticalIssues: 0,
  maxRollbacks: 0,
  maxPerformanceDegradationPercent: 5,
  maxSupportTicketIncreasePercent: 10,
};
const healthy = (customerId: string): HealthSample => ({
  customerId,
  latencyChangePercent: 1,
  criticalErrors: 0,
  securityFindings: 0,
  supportTickets: 0,
});
/** A step whose customers all have an outcome and whose deployed ones all reported health since. */
const evidence = (deployed: number, failed: number, more: Partial<StepResults> = {}): StepResults => ({
  total: deployed + failed,
  recorded: deployed + failed,
  deployed,
  failed,
  withoutHealthReport: { count: 0, ids: [] },
  rollbacks: 0,
  ...more,
});
const withFinding = (customerId: string): HealthSample => ({ ...healthy(customerId), securityFindings: 1 });
const slow = (customerId: string): HealthSample => ({ ...healthy(customerId), latencyChangePercent: 40 });
const ids = (count: number, prefix = 'customer') =>
  Array.from({ length: count }, (_, n) => `${prefix}-${String(n).padStart(5, '0')}`);

/** A step's health after these reports arrived, each once, in order. */
const healthAfter = (reports: HealthSample[]): StepHealth =>
  reports.reduce(
    (health, report, index) =>
      addHealthReport(health, { ...report, key: `${report.customerId}#${index}` }, standard) ?? health,
    NO_HEALTH_ISSUES,
  );

describe('a gate', () => {
  it('passes a batch whose deployments all succeeded with healthy reports', () => {
    expect(evaluateGate(evidence(6, 0), healthAfter([healthy('acme')]), standard)).toMatchObject({
      passed: true,
      reasons: [],
    });
  });

  it('holds a batch whose success rate is below the phase threshold, saying how many failed', () => {
    const decision = evaluateGate(evidence(19, 2), NO_HEALTH_ISSUES, standard);

    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual(['batch success rate 90.5% is below 95% (2 of 21 deployments failed)']);
  });

  it('passes exactly at the threshold', () => {
    expect(evaluateGate(evidence(19, 1), NO_HEALTH_ISSUES, standard).passed).toBe(true);
  });

  it('passes a step without customers: there is nothing to judge', () => {
    expect(evaluateGate(evidence(0, 0), NO_HEALTH_ISSUES, standard).passed).toBe(true);
  });

  it('holds on critical errors, security findings and performance degradation, naming the customers', () => {
    const decision = evaluateGate(
      evidence(3, 0),
      healthAfter([
        { ...healthy('acme'), criticalErrors: 1 },
        { ...healthy('bluefin'), securityFindings: 2 },
        { ...healthy('cascade'), latencyChangePercent: 12 },
      ]),
      standard,
    );

    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual([
      '1 critical error(s) reported, at most 0 allowed',
      'security findings reported by bluefin',
      'performance degraded beyond 5% for cascade',
    ]);
  });
});

describe('a gate passes only on evidence', () => {
  it('holds a batch with no deployment results and no health reports instead of passing it at 100%', () => {
    const decision = evaluateGate(
      evidence(0, 0, { total: 6, recorded: 6 }), // all six rejected, deferred or held
      NO_HEALTH_ISSUES,
      standard,
    );

    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual([
      'no deployment result: none of its 6 customer(s) was deployed, so nothing shows the version works',
    ]);
  });

  it('holds a step whose customers have no outcome yet', () => {
    const decision = evaluateGate(evidence(4, 0, { total: 6 }), NO_HEALTH_ISSUES, standard);

    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual(['2 customer(s) have no outcome yet']);
  });

  it('holds six deployed customers that sent no health report, naming three and counting the rest', () => {
    const silent = { count: 6, ids: ids(6) };

    const decision = evaluateGate(
      evidence(6, 0, { withoutHealthReport: silent }),
      NO_HEALTH_ISSUES,
      standard,
    );

    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual([
      '6 deployed customer(s) sent no health report since their deployment: customer-00000, customer-00001, customer-00002 and 3 more',
    ]);
    expect(summarizeGate(decision)).toMatchObject({ customersWithoutHealthReport: 6, customers: ids(6) });
  });

  it('holds a batch with more rollbacks than the phase allows', () => {
    const decision = evaluateGate(evidence(8, 0, { rollbacks: 1 }), NO_HEALTH_ISSUES, standard);

    expect(decision.reasons).toEqual(['1 customer(s) rolled back, at most 0 allowed']);
  });

  it('passes rollbacks within the limit', () => {
    const lenient = { ...standard, maxRollbacks: 2 };

    expect(evaluateGate(evidence(8, 0, { rollbacks: 2 }), NO_HEALTH_ISSUES, lenient).passed).toBe(true);
  });

  it('allows critical issues up to the phase limit', () => {
    const health = healthAfter([{ ...healthy('acme'), criticalErrors: 1 }]);

    expect(evaluateGate(evidence(1, 0), health, { ...standard, maxCriticalIssues: 1 }).passed).toBe(true);
    expect(evaluateGate(evidence(1, 0), health, standard).passed).toBe(false);
  });
});

describe('support tickets at a gate', () => {
  const tickets = (customerId: string, supportTickets: number, supportTicketsBaseline?: number) => ({
    ...healthy(customerId),
    supportTickets,
    ...(supportTicketsBaseline === undefined ? {} : { supportTicketsBaseline }),
  });

  it("passes tickets within +10% of the customer's baseline", () => {
    const health = healthAfter([tickets('acme', 11, 10), tickets('bluefin', 3, 5)]);

    expect(evaluateGate(evidence(2, 0), health, standard).passed).toBe(true);
  });

  it('holds a customer whose tickets rose beyond +10% of its baseline', () => {
    const health = healthAfter([tickets('acme', 12, 10), tickets('bluefin', 4, 5)]);

    expect(evaluateGate(evidence(2, 0), health, standard).reasons).toEqual([
      'support tickets above their baseline by more than 10% (or reported without a baseline) for acme',
    ]);
  });

  it('holds tickets reported without a baseline to judge them by (a sender of contract 1.0)', () => {
    const health = healthAfter([tickets('acme', 1)]);

    expect(health.customersWithMoreSupportTickets).toEqual({ count: 1, ids: ['acme'] });
  });

  it('passes no tickets at all, with or without a baseline', () => {
    const health = healthAfter([tickets('acme', 0), tickets('bluefin', 0, 0)]);

    expect(health.customersWithMoreSupportTickets).toEqual({ count: 0, ids: [] });
    expect(evaluateGate(evidence(2, 0), health, standard).passed).toBe(true);
  });
});

describe("the release's quality limits", () => {
  const limits = {
    maxRollbackRatePercent: 2,
    maxCriticalIssues: 0,
    maxPerformanceImpactPercent: 5,
    maxSupportTicketIncreasePercent: 10,
  };
  const step = (deployed: number, rollbacks: number, reports: HealthSample[] = []) => ({
    deployed,
    rollbacks,
    health: healthAfter(reports),
  });

  it('holds within every limit for a healthy release', () => {
    const quality = releaseQualityOf([step(50, 1, [healthy('acme')]), step(50, 0)]);

    expect(quality).toEqual({
      deployments: 100,
      rollbacks: 1,
      rollbackRatePercent: 1,
      criticalIssues: 0,
      performanceImpactPercent: 1,
      supportTicketIncreasePercent: 0,
    });
    expect(qualityBreaches(quality, limits)).toEqual([]);
  });

  it('is breached by a rollback rate above 2% of deployments', () => {
    const quality = releaseQualityOf([step(40, 1), step(10, 1)]);

    expect(qualityBreaches(quality, limits)).toEqual([
      'release rollback rate 4% (2 of 50 deployments) exceeds 2%',
    ]);
  });

  it('is breached by any critical issue, a latency change above 5% or tickets above +10%, across steps', () => {
    const quality = releaseQualityOf([
      step(3, 0, [{ ...healthy('acme'), criticalErrors: 1 }]),
      step(3, 0, [
        { ...healthy('bluefin'), latencyChangePercent: 7 },
        { ...healthy('cascade'), supportTickets: 13, supportTicketsBaseline: 10 },
      ]),
    ]);

    expect(qualityBreaches(quality, limits)).toEqual([
      "release critical issues 1 exceed the release's limit of 0",
      'release performance impact 7% exceeds 5%',
      'release support ticket increase 30% exceeds 10%',
    ]);
  });

  it('holds what an operator accepted, and breaches again only when it gets worse', () => {
    const accepted = releaseQualityOf([step(10, 1)]);

    expect(qualityBreaches(releaseQualityOf([step(20, 2)]), limits, accepted)).toEqual([]);
    expect(qualityBreaches(releaseQualityOf([step(20, 3)]), limits, accepted)).toEqual([
      'release rollback rate 15% (3 of 20 deployments) exceeds 2%',
    ]);
  });
});

describe('a gate reason', () => {
  it('names three customers per criterion and counts the rest', () => {
    const decision = evaluateGate(evidence(5, 0), healthAfter(ids(5).map(withFinding)), standard);

    expect(decision.reasons).toEqual([
      'security findings reported by customer-00000, customer-00001, customer-00002 and 2 more',
    ]);
  });

  it('names a customer once however many reports it sent', () => {
    const decision = evaluateGate(
      evidence(1, 0),
      healthAfter([slow('acme'), { ...slow('acme'), latencyChangePercent: 60 }]),
      standard,
    );

    expect(decision.customersDegraded).toEqual({ count: 1, ids: ['acme'] });
    expect(decision.reasons).toEqual(['performance degraded beyond 5% for acme']);
  });
});

describe('the gate summary that goes into the release execution state', () => {
  it(`names at most ${GATE_SUMMARY_MAX_CUSTOMERS} affected customers and counts the rest`, () => {
    const decision = evaluateGate(evidence(25, 0), healthAfter(ids(25).map(withFinding)), standard);

    const summary = summarizeGate(decision);

    expect(GATE_SUMMARY_MAX_CUSTOMERS).toBe(20);
    expect(summary.customers).toEqual(ids(20));
    expect(summary.moreCustomers).toBe(5);
  });

  it('counts each criterion and names a customer affected by several criteria once', () => {
    const decision = evaluateGate(
      evidence(19, 2),
      healthAfter([
        { ...withFinding('acme'), latencyChangePercent: 40, criticalErrors: 2 },
        slow('bluefin'),
        healthy('cascade'),
      ]),
      standard,
    );

    expect(summarizeGate(decision)).toEqual({
      passed: false,
      reason:
        'batch success rate 90.5% is below 95% (2 of 21 deployments failed); ' +
        '2 critical error(s) reported, at most 0 allowed; ' +
        'security findings reported by acme; ' +
        'performance degraded beyond 5% for acme, bluefin',
      deployed: 19,
      failed: 2,
      successRatePercent: 90.5,
      customersWithoutHealthReport: 0,
      rollbacks: 0,
      criticalErrors: 2,
      customersWithSecurityFindings: 1,
      customersDegraded: 2,
      customersWithMoreSupportTickets: 0,
      customers: ['acme', 'bluefin'],
      moreCustomers: 0,
    });
  });

  it('keeps one short line per failed criterion however many customers are affected', () => {
    const health = [...ids(5_000, 'exposed').map(withFinding), ...ids(5_000, 'slow').map(slow)];

    const summary = summarizeGate(evaluateGate(evidence(10_000, 0), healthAfter(health), standard));

    expect(summary.reason.split('; ')).toEqual([
      'security findings reported by exposed-00000, exposed-00001, exposed-00002 and 4997 more',
      'performance degraded beyond 5% for slow-00000, slow-00001, slow-00002 and 4997 more',
    ]);
    expect(summary.moreCustomers).toBe(10_000 - GATE_SUMMARY_MAX_CUSTOMERS);
    expect(JSON.stringify(summary).length).toBeLessThan(2_000);
  });

  it('says a passed gate affects nobody', () => {
    const summary = summarizeGate(evaluateGate(evidence(3, 0), healthAfter(ids(3).map(healthy)), standard));

    expect(summary).toMatchObject({ passed: true, reason: '', customers: [], moreCustomers: 0 });
  });
});

describe('the gate audit record that goes to the store', () => {
  it(`lists every affected customer per criterion up to ${GATE_AUDIT_MAX_CUSTOMERS}, with the full count`, () => {
    const health = [...ids(1_500).map(withFinding), { ...healthy('acme'), criticalErrors: 1 }];

    const record = gateAuditRecord(evaluateGate(evidence(1_501, 0), healthAfter(health), standard));

    expect(record).toMatchObject({
      passed: false,
      criticalErrors: 1,
      customersWithCriticalErrors: { count: 1, ids: ['acme'] },
      customersWithSecurityFindings: { count: 1_500, ids: ids(GATE_AUDIT_MAX_CUSTOMERS) },
      customersDegraded: { count: 0, ids: [] },
    });
  });
});

describe("a step's health, kept as reports arrive", () => {
  it('counts a report delivered twice once', () => {
    const report = { ...healthy('acme'), criticalErrors: 2, key: 'acme#2027-03-13T05:00:00Z' };

    const once = addHealthReport(NO_HEALTH_ISSUES, report, standard);

    expect(once?.criticalErrors).toBe(2);
    expect(once && addHealthReport(once, report, standard)).toBeUndefined();
  });

  it('names nobody for a latency change within the criterion, keeping it as the worst figure so far', () => {
    const report = { ...healthy('acme'), latencyChangePercent: 5, key: 'acme#1' };

    expect(addHealthReport(NO_HEALTH_ISSUES, report, standard)).toEqual({
      ...NO_HEALTH_ISSUES,
      worstLatencyChangePercent: 5,
    });
  });

  it('changes nothing for a healthy report that raises no worst figure', () => {
    const health = healthAfter([{ ...healthy('acme'), latencyChangePercent: 3 }]);

    expect(addHealthReport(health, { ...healthy('bluefin'), key: 'bluefin#1' }, standard)).toBeUndefined();
  });

  it('adds the critical errors of every report of a customer, naming it once', () => {
    const health = healthAfter([
      { ...healthy('acme'), criticalErrors: 1 },
      { ...healthy('acme'), criticalErrors: 3 },
    ]);

    expect(health).toMatchObject({
      criticalErrors: 4,
      customersWithCriticalErrors: { count: 1, ids: ['acme'] },
      customersAffected: 1,
    });
  });

  it(`names at most ${GATE_AUDIT_MAX_CUSTOMERS} customers per list, counting all`, () => {
    const health = healthAfter(ids(1_200).map(withFinding));

    expect(health.customersWithSecurityFindings).toEqual({
      count: 1_200,
      ids: ids(GATE_AUDIT_MAX_CUSTOMERS),
    });
    expect(health.customersAffected).toBe(1_200);
    expect(health.reports).toHaveLength(GATE_AUDIT_MAX_CUSTOMERS);
  });

  it('stays far below the 400 KB item limit with every list full of the longest customer ids', () => {
    const longIds = ids(3_000).map((id) => id.padEnd(64, 'x'));
    const health = healthAfter([
      ...longIds.slice(0, 1_000).map((id) => ({ ...healthy(id), criticalErrors: 1 })),
      ...longIds.slice(1_000, 2_000).map(withFinding),
      ...longIds.slice(2_000).map(slow),
    ]);

    expect(health.customersAffected).toBe(3_000);
    expect(Buffer.byteLength(JSON.stringify(health))).toBeLessThan(300 * 1000);
  });

  it("adds a phase's steps up: counts summed, names in step order", () => {
    const phase = combineHealth([
      healthAfter([{ ...healthy('acme'), criticalErrors: 1 }]),
      healthAfter([withFinding('bluefin'), { ...healthy('cascade'), criticalErrors: 2 }]),
    ]);

    expect(phase).toMatchObject({
      criticalErrors: 3,
      customersWithCriticalErrors: { count: 2, ids: ['acme', 'cascade'] },
      customersWithSecurityFindings: { count: 1, ids: ['bluefin'] },
      customersAffected: 3,
    });
  });
});

describe('a later gate after an operator accepted a failed gate', () => {
  const critical = (customerId: string): HealthSample => ({ ...healthy(customerId), criticalErrors: 2 });
  const accepted = acceptedHealthOf(
    healthAfter([withFinding('aurora'), critical('bluefin'), slow('cobalt')]),
  );

  it('passes on the problems it accepted', () => {
    const later = healthAfter([withFinding('aurora'), critical('bluefin'), slow('cobalt'), healthy('delta')]);

    expect(evaluateGate(evidence(4, 0), healthSince(later, accepted), standard).passed).toBe(true);
  });

  it('fails on a problem reported since, naming only the new customer', () => {
    const later = healthAfter([
      withFinding('aurora'),
      critical('bluefin'),
      slow('cobalt'),
      withFinding('evergreen'),
    ]);

    const decision = evaluateGate(evidence(4, 0), healthSince(later, accepted), standard);

    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual(['security findings reported by evergreen']);
  });
});
