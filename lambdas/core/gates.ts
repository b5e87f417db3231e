import type { SuccessCriteria } from './model.js';

// A gate holds the release until a step's (or a phase's) results meet the phase's success criteria.

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
  successRatePercent: number;
  reasons: string[];
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
  const findings = health.filter((sample) => sample.securityFindings > 0).map((sample) => sample.customerId);
  if (findings.length > 0) reasons.push(`security findings reported by ${findings.join(', ')}`);
  const degraded = health.filter(
    (sample) => sample.latencyChangePercent > criteria.maxPerformanceDegradationPercent,
  );
  if (degraded.length > 0) {
    reasons.push(
      `performance degraded beyond ${criteria.maxPerformanceDegradationPercent}% for ${degraded.map((sample) => sample.customerId).join(', ')}`,
    );
  }
  return { passed: reasons.length === 0, successRatePercent, reasons };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
