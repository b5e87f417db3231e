import { describe, expect, it } from 'vitest';
import { evaluateGate, type HealthSample } from '../../lambdas/core/gates.js';
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

describe('a gate', () => {
  it('passes a batch whose deployments all succeeded with healthy reports', () => {
    expect(evaluateGate({ deployed: 6, failed: 0 }, [healthy('acme')], standard)).toMatchObject({
      passed: true,
      reasons: [],
    });
  });

  it('holds a batch whose success rate is below the phase threshold, saying how many failed', () => {
    const decision = evaluateGate({ deployed: 19, failed: 2 }, [], standard);

    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual(['batch success rate 90.5% is below 95% (2 of 21 deployments failed)']);
  });

  it('passes exactly at the threshold', () => {
    expect(evaluateGate({ deployed: 19, failed: 1 }, [], standard).passed).toBe(true);
  });

  it('passes a step with nothing deployed (every customer held or rejected)', () => {
    expect(evaluateGate({ deployed: 0, failed: 0 }, [], standard).passed).toBe(true);
  });

  it('holds on critical errors, security findings and performance degradation, naming the customers', () => {
    const decision = evaluateGate(
      { deployed: 3, failed: 0 },
      [
        { ...healthy('acme'), criticalErrors: 1 },
        { ...healthy('bluefin'), securityFindings: 2 },
        { ...healthy('cascade'), latencyChangePercent: 12 },
      ],
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
