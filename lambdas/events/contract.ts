import * as z from 'zod';

// The event contract between the orchestrator and the platform's own automation (version 1).
// The orchestrator publishes `Deployment Requested` and the lifecycle events; the platform answers with
// `Deployment Succeeded` / `Deployment Failed`; customer environments publish `Health Reported`.

export const SCHEMA_VERSION = '1';
/**
 * Minor version 1.1 adds optional fields (a health report's `databaseCorruption` and `rollbackRequested`);
 * an event of version 1 (1.0) parses as before, and a new field needs the sender to say 1.1.
 */
export const SCHEMA_VERSION_1_1 = '1.1';
export const ORCHESTRATOR_SOURCE = 'securewatch.release-orchestrator';
export const PLATFORM_SOURCE = 'securewatch.platform';
export const FLEET_SOURCE = 'securewatch.fleet';

/**
 * The bounds of the numbers and strings the contract admits (README, "Event contract"): a value outside them
 * is refused with the field and the bound named, before it reaches the store (DynamoDB refuses a number
 * beyond 1e125 with an unclear error).
 */
export const CONTRACT_BOUNDS = {
  /** A latency change below -100 % would be a negative latency. */
  latencyChangePercent: { min: -100, max: 10_000 },
  errorRatePercent: { min: 0, max: 100 },
  /** Critical errors, security findings and support tickets in one report. */
  count: { min: 0, max: 1_000_000 },
  versionLength: 32,
  customerIdLength: 128,
  /** `<release>/<customerId>`. */
  correlationIdLength: 200,
  reasonLength: 2000,
  /** Who asks for a rollback: an email address or a name. */
  requesterLength: 320,
} as const;

const isoTimestamp = z.iso.datetime({ offset: true });
const version = z
  .string()
  .max(CONTRACT_BOUNDS.versionLength)
  .regex(/^v\d+\.\d+\.\d+$/, 'expected a version tag like v1.1.0');
const customerId = z.string().min(1).max(CONTRACT_BOUNDS.customerIdLength);
const correlationId = z.string().min(1).max(CONTRACT_BOUNDS.correlationIdLength);
const percent = (bounds: { min: number; max: number }) => z.number().min(bounds.min).max(bounds.max);
const count = z.number().int().min(CONTRACT_BOUNDS.count.min).max(CONTRACT_BOUNDS.count.max);

export const deploymentRequested = z.strictObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  correlationId,
  release: version,
  version,
  customerId,
  phase: z.string(),
  batch: z.number().int().positive(),
  requestedAt: isoTimestamp,
  /** A report that arrives after this counts as missing: the deployment is failed. */
  reportBy: isoTimestamp,
});

export const deploymentSucceeded = z.strictObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  correlationId,
  customerId,
  version,
  completedAt: isoTimestamp,
});

export const deploymentFailed = deploymentSucceeded.extend({
  reason: z.string().min(1).max(CONTRACT_BOUNDS.reasonLength),
});

// Version 1.1 of the contract adds the rollback seam, like the deployment one: the orchestrator publishes
// `Rollback Requested`; the platform answers `Rollback Succeeded` / `Rollback Failed` with the same
// correlation id. They exist from 1.1 on, so they carry 1.1.
export const ROLLBACK_SCHEMA_VERSION = SCHEMA_VERSION_1_1;

export const rollbackRequested = z.strictObject({
  schemaVersion: z.literal(ROLLBACK_SCHEMA_VERSION),
  correlationId,
  release: version,
  customerId,
  /** What started it (a trigger, a person), and why, for the platform's operators. */
  trigger: z.string().min(1).max(64),
  reason: z.string().min(1).max(CONTRACT_BOUNDS.reasonLength),
  requestedAt: isoTimestamp,
  /** An answer that arrives after this counts as missing: the rollback is failed. */
  reportBy: isoTimestamp,
});

export const rollbackSucceeded = z.strictObject({
  schemaVersion: z.literal(ROLLBACK_SCHEMA_VERSION),
  correlationId,
  customerId,
  release: version,
  completedAt: isoTimestamp,
});

export const rollbackFailed = rollbackSucceeded.extend({
  reason: z.string().min(1).max(CONTRACT_BOUNDS.reasonLength),
});

export const healthReported = z
  .strictObject({
    schemaVersion: z.enum([SCHEMA_VERSION, SCHEMA_VERSION_1_1]),
    customerId,
    version,
    reportedAt: isoTimestamp,
    /** Requests failing, in percent. */
    errorRatePercent: percent(CONTRACT_BOUNDS.errorRatePercent),
    /** Latency change against the customer's own baseline, in percent (positive = slower). */
    latencyChangePercent: percent(CONTRACT_BOUNDS.latencyChangePercent),
    criticalErrors: count,
    securityFindings: count,
    /** Support tickets opened in the period the report covers. */
    supportTickets: count,
    /** 1.1: how many the customer usually opens in such a period (its baseline); gates judge the increase. */
    supportTicketsBaseline: count.optional(),
    /** 1.1: the environment found its database corrupted. */
    databaseCorruption: z.boolean().optional(),
    /** 1.1: the customer (an approver or contact) asks to go back to the version it ran before. */
    rollbackRequested: z
      .strictObject({
        by: z.string().trim().min(1).max(CONTRACT_BOUNDS.requesterLength),
        reason: z.string().trim().min(1).max(CONTRACT_BOUNDS.reasonLength),
      })
      .optional(),
  })
  .superRefine((report, context) => {
    if (report.schemaVersion === SCHEMA_VERSION_1_1) return;
    for (const field of ['supportTicketsBaseline', 'databaseCorruption', 'rollbackRequested'] as const)
      if (report[field] !== undefined)
        context.addIssue({
          code: 'custom',
          path: [field],
          message: `${field} is a field of schema version ${SCHEMA_VERSION_1_1}: send "schemaVersion": "${SCHEMA_VERSION_1_1}"`,
        });
  });

export const releaseLifecycle = z.strictObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  release: version,
  at: isoTimestamp,
  phase: z.string().optional(),
  batch: z.string().optional(),
  reason: z.string().optional(),
  summary: z.record(z.string(), z.number()).optional(),
});

export type DeploymentRequested = z.infer<typeof deploymentRequested>;
export type DeploymentSucceeded = z.infer<typeof deploymentSucceeded>;
export type DeploymentFailed = z.infer<typeof deploymentFailed>;
export type HealthReported = z.infer<typeof healthReported>;
export type RollbackRequested = z.infer<typeof rollbackRequested>;
export type ReleaseLifecycle = z.infer<typeof releaseLifecycle>;

export const DETAIL_TYPES = {
  deploymentRequested: 'Deployment Requested',
  deploymentSucceeded: 'Deployment Succeeded',
  deploymentFailed: 'Deployment Failed',
  healthReported: 'Health Reported',
  releaseStarted: 'Release Started',
  batchCompleted: 'Batch Completed',
  releaseHalted: 'Release Halted',
  releaseCompleted: 'Release Completed',
  rollbackRequested: 'Rollback Requested',
  rollbackSucceeded: 'Rollback Succeeded',
  rollbackFailed: 'Rollback Failed',
} as const;

/** An EventBridge event as delivered to a Lambda target (the fields the orchestrator reads). */
export const inboundEnvelope = z.looseObject({
  id: z.string(),
  source: z.string(),
  'detail-type': z.string(),
  detail: z.unknown(),
});

/** Correlation ids tie a platform answer to one customer of one release: `<release>/<customerId>`. */
export function correlationIdFor(release: string, customer: string): string {
  return `${release}/${customer}`;
}

export function parseCorrelationId(correlationId: string): { release: string; customerId: string } | null {
  const match = /^(v\d+\.\d+\.\d+)\/(.+)$/.exec(correlationId);
  return match?.[1] && match[2] ? { release: match[1], customerId: match[2] } : null;
}
