// The domain vocabulary shared by the planner, the handlers, the CLI and the local rehearsal.
// Plain data only: every timestamp is an ISO-8601 UTC string, every id a string.

export const POLICY_NAMES = ['demo', 'startup', 'standard', 'enterprise'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export type BatchSize = { mode: 'all' } | { mode: 'percent'; percent: number } | { mode: 'individual' };

export type RollbackProcess = 'automatic-immediate' | 'automatic-with-monitoring' | 'immediate-with-approval';

export interface DeploymentPolicy {
  displayName: string;
  adoptionStrategy: string;
  rolloutDelayDays: number;
  testingPeriodDays: number;
  approvalRequired: boolean;
  batchSize: BatchSize;
  /** 0 means no advance notice is sent. */
  advanceNoticeDays: number;
  rollback: {
    windowDays: number;
    process: RollbackProcess;
    steps: string[];
    monitoringHours?: number;
    approvalHours?: number;
    validationHours?: number;
  };
}

export type DeploymentPolicies = Record<PolicyName, DeploymentPolicy>;

export interface SuccessCriteria {
  /** Share of a batch's customers that must report a successful deployment, in percent. */
  minBatchSuccessRatePercent: number;
  maxCriticalIssues: number;
  maxRollbacks: number;
  maxPerformanceDegradationPercent: number;
}

export interface PhaseDefinition {
  name: PolicyName;
  displayName: string;
  policy: PolicyName;
  startDay: number;
  durationDays: number;
  deploymentMode: 'immediate-automatic' | 'automatic-batches' | 'manual-approval';
  successCriteria: SuccessCriteria;
}

export interface ReleaseQualityThresholds {
  maxRollbackRatePercent: number;
  maxCriticalIssues: number;
  maxPerformanceImpactPercent: number;
  maxSupportTicketIncreasePercent: number;
}

export interface RollbackTriggers {
  performanceDegradationPercent: number;
  criticalErrors: boolean;
  securityFinding: boolean;
  databaseCorruption: boolean;
  customerRequest: boolean;
}

/** The scheduled health sweep: how often it runs, and after how long without a report a customer is silent. */
export interface HealthSweep {
  rateMinutes: number;
  silentAfterHours: number;
}

export interface MinorReleasePolicies {
  phases: PhaseDefinition[];
  releaseQuality: ReleaseQualityThresholds;
  rollbackTriggers: RollbackTriggers;
  healthSweep: HealthSweep;
  /**
   * Seconds between the deployments of customers sharing a window and a batch (the planned instants stay
   * inside the window and before the deadline). @default 60
   */
  deploymentStaggerSeconds?: number;
}

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface MaintenanceWindow {
  /** IANA time zone, e.g. America/New_York. */
  timeZone: string;
  days: Weekday[];
  /** Local wall-clock start, HH:mm. */
  start: string;
  durationMinutes: number;
}

export interface Contact {
  name: string;
  email: string;
}

export interface Customer {
  id: string;
  name: string;
  policy: PolicyName;
  currentVersion: string;
  contacts: Contact[];
  approvers: Contact[];
  maintenanceWindow: MaintenanceWindow;
}

export interface Fleet {
  customers: Customer[];
}

export interface Config {
  policies: DeploymentPolicies;
  release: MinorReleasePolicies;
}

export interface PlannedBatch {
  /** 1-based. */
  index: number;
  /** When the batch opens: its customers are deployed in their first window from then on. */
  deployAt: string;
  customers: string[];
}

export interface PlannedPhase {
  name: PolicyName;
  displayName: string;
  policy: PolicyName;
  startAt: string;
  endAt: string;
  batches: PlannedBatch[];
}

export interface PlannedCustomer {
  id: string;
  name: string;
  policy: PolicyName;
  phase: PolicyName;
  batch: number;
  /** When the advance notice goes out; null when the policy sends none. */
  noticeAt: string | null;
  /** Start of the deployment, inside the customer's maintenance window; null when unschedulable. */
  deployAt: string | null;
  approvalRequired: boolean;
  /** The policy deadline: the end of day `rolloutDelayDays` of the release. */
  deadlineAt: string;
  timeZone: string;
  /** Why the customer could not be scheduled; present only when deployAt is null. */
  unschedulableReason?: string;
  /** Why the customer deploys after its phase ends (one-at-a-time phases); present only then. */
  lateReason?: string;
}

export interface ReleasePlan {
  version: string;
  startAt: string;
  endAt: string;
  phases: PlannedPhase[];
  customers: PlannedCustomer[];
  unschedulable: { id: string; reason: string }[];
  /** Customers scheduled after their phase ends, before their deadline, and why. */
  late: { id: string; reason: string }[];
}
