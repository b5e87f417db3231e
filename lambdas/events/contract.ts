import { z } from 'zod';

// The event contract between the orchestrator and the platform's own automation (version 1).
// The orchestrator publishes `Deployment Requested` and the lifecycle events; the platform answers with
// `Deployment Succeeded` / `Deployment Failed`; customer environments publish `Health Reported`.

export const SCHEMA_VERSION = '1';
export const ORCHESTRATOR_SOURCE = 'securewatch.release-orchestrator';
export const PLATFORM_SOURCE = 'securewatch.platform';
export const FLEET_SOURCE = 'securewatch.fleet';

const isoTimestamp = z.iso.datetime({ offset: true });
const version = z.string().regex(/^v\d+\.\d+\.\d+$/, 'expected a version tag like v1.1.0');
const customerId = z.string().min(1).max(128);

export const deploymentRequested = z.strictObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  correlationId: z.string().min(1),
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
  correlationId: z.string().min(1),
  customerId,
  version,
  completedAt: isoTimestamp,
});

export const deploymentFailed = deploymentSucceeded.extend({ reason: z.string().min(1).max(2000) });

export const healthReported = z.strictObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  customerId,
  version,
  reportedAt: isoTimestamp,
  /** Requests failing, in percent. */
  errorRatePercent: z.number().min(0).max(100),
  /** Latency change against the customer's own baseline, in percent (positive = slower). */
  latencyChangePercent: z.number(),
  criticalErrors: z.number().int().min(0),
  securityFindings: z.number().int().min(0),
  supportTickets: z.number().int().min(0),
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
