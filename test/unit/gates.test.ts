import { describe, expect, it } from 'vitest';
import {
  acceptedHealthOf,
  addHealthReport,
  combineHealth,
  evaluateGate,
  GATE_AUDIT_MAX_CUSTOMERS,
  GATE_SUMMARY_MAX_CUSTOMERS,
  gateAuditRecord,
  type HealthSample,
  healthSince,
  NO_HEALTH_ISSUES,
  type StepHealth,
  summarizeGate,
} from '../../lambdas/core/gates.js';
import type { SuccessCriteria } from '../../lambdas/core/model.js';

const standard: SuccessCriteria = {
  minBatchSuccessRatePercent: 95,
  maxCriticalIssues: 0,
  maxRollbacks: 0,
  maxPerformanceDegradationPercent: 5,
};
const healthy = (customerId: string): HealthSample => ({
  customerId,
  latencyChangePercent: 1,
  criticalErrors: 0,
  securityFindings: 0,
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
    expect(evaluateGate({ deployed: 6, failed: 0 }, healthAfter([healthy('acme')]), standard)).toMatchObject({
      passed: true,
      reasons: [],
    });
  });

  it('holds a batch whose success rate is below the phase threshold, saying how many failed', () => {
    const decision = evaluateGate({ deployed: 19, failed: 2 }, NO_HEALTH_ISSUES, standard);

    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual(['batch success rate 90.5% is below 95% (2 of 21 deployments failed)']);
  });

  it('passes exactly at the threshold', () => {
    expect(evaluateGate({ deployed: 19, failed: 1 }, NO_HEALTH_ISSUES, standard).passed).toBe(true);
  });

  it('passes a step with nothing deployed (every customer held or rejected)', () => {
    expect(evaluateGate({ deployed: 0, failed: 0 }, NO_HEALTH_ISSUES, standard).passed).toBe(true);
  });

  it('holds on critical errors, security findings and performance degradation, naming the customers', () => {
    const decision = evaluateGate(
      { deployed: 3, failed: 0 },
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

describe('a gate reason', () => {
  it('names three customers per criterion and counts the rest', () => {
    const decision = evaluateGate({ deployed: 5, failed: 0 }, healthAfter(ids(5).map(withFinding)), standard);

    expect(decision.reasons).toEqual([
      'security findings reported by customer-00000, customer-00001, customer-00002 and 2 more',
    ]);
  });

  it('names a customer once however many reports it sent', () => {
    const decision = evaluateGate(
      { deployed: 1, failed: 0 },
      healthAfter([slow('acme'), { ...slow('acme'), latencyChangePercent: 60 }]),
      standard,
    );

    expect(decision.customersDegraded).toEqual({ count: 1, ids: ['acme'] });
    expect(decision.reasons).toEqual(['performance degraded beyond 5% for acme']);
  });
});

describe('the gate summary that goes into the release execution state', () => {
  it(`names at most ${GATE_SUMMARY_MAX_CUSTOMERS} affected customers and counts the rest`, () => {
    const decision = evaluateGate(
      { deployed: 25, failed: 0 },
      healthAfter(ids(25).map(withFinding)),
      standard,
    );

    const summary = summarizeGate(decision);

    expect(GATE_SUMMARY_MAX_CUSTOMERS).toBe(20);
    expect(summary.customers).toEqual(ids(20));
    expect(summary.moreCustomers).toBe(5);
  });

  it('counts each criterion and names a customer affected by several criteria once', () => {
    const decision = evaluateGate(
      { deployed: 19, failed: 2 },
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
      criticalErrors: 2,
      customersWithSecurityFindings: 1,
      customersDegraded: 2,
      customers: ['acme', 'bluefin'],
      moreCustomers: 0,
    });
  });

  it('keeps one short line per failed criterion however many customers are affected', () => {
    const health = [...ids(5_000, 'exposed').map(withFinding), ...ids(5_000, 'slow').map(slow)];

    const summary = summarizeGate(
      evaluateGate({ deployed: 10_000, failed: 0 }, healthAfter(health), standard),
    );

    expect(summary.reason.split('; ')).toEqual([
      'security findings reported by exposed-00000, exposed-00001, exposed-00002 and 4997 more',
      'performance degraded beyond 5% for slow-00000, slow-00001, slow-00002 and 4997 more',
    ]);
    expect(summary.moreCustomers).toBe(10_000 - GATE_SUMMARY_MAX_CUSTOMERS);
    expect(JSON.stringify(summary).length).toBeLessThan(2_000);
  });

  it('says a passed gate affects nobody', () => {
    const summary = summarizeGate(
      evaluateGate({ deployed: 3, failed: 0 }, healthAfter(ids(3).map(healthy)), standard),
    );

    expect(summary).toMatchObject({ passed: true, reason: '', customers: [], moreCustomers: 0 });
  });
});

describe('the gate audit record that goes to the store', () => {
  it(`lists every affected customer per criterion up to ${GATE_AUDIT_MAX_CUSTOMERS}, with the full count`, () => {
    const health = [...ids(1_500).map(withFinding), { ...healthy('acme'), criticalErrors: 1 }];

    const record = gateAuditRecord(
      evaluateGate({ deployed: 1_501, failed: 0 }, healthAfter(health), standard),
    );

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

  it('changes nothing for a healthy report, or a latency change within the criterion', () => {
    const report = { ...healthy('acme'), latencyChangePercent: 5, key: 'acme#1' };

    expect(addHealthReport(NO_HEALTH_ISSUES, report, standard)).toBeUndefined();
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

    expect(evaluateGate({ deployed: 4, failed: 0 }, healthSince(later, accepted), standard).passed).toBe(
      true,
    );
  });

  it('fails on a problem reported since, naming only the new customer', () => {
    const later = healthAfter([
      withFinding('aurora'),
      critical('bluefin'),
      slow('cobalt'),
      withFinding('evergreen'),
    ]);

    const decision = evaluateGate({ deployed: 4, failed: 0 }, healthSince(later, accepted), standard);

    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual(['security findings reported by evergreen']);
  });
});
