// What the functions' logs and metrics are filed under; shared by the functions and the CDK app.

export const SERVICE_NAME = 'securewatch-orchestrator';
export const METRICS_NAMESPACE = 'SecureWatch/Releases';

/** Every count the orchestrator reports, one CloudWatch metric each (all in METRICS_NAMESPACE). */
export const METRIC_NAMES = [
  'DeploymentsRequested',
  'DeploymentsSucceeded',
  'DeploymentsFailed',
  'DeploymentReportsDropped',
  'EmailsSent',
  'EmailsFailed',
  'EmailsThrottled',
  'GatesPassed',
  'GatesFailed',
  'ApprovalsApproved',
  'ApprovalsRejected',
  'ApprovalsDeferred',
  'ReleaseHalts',
  'ReleasePauses',
  'RolloutHalts',
  'HealthReportsRefused',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
