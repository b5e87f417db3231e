import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { bundledConfig } from '../lambdas/core/config.js';
import { UserFacingError } from '../lambdas/core/errors.js';
import type { PolicyName } from '../lambdas/core/model.js';
import {
  CONTRACT_BOUNDS,
  DETAIL_TYPES,
  type DeploymentRequested,
  deploymentRequested,
  FLEET_SOURCE,
  PLATFORM_SOURCE,
  ROLLBACK_SCHEMA_VERSION,
  type RollbackRequested,
  rollbackRequested,
  SCHEMA_VERSION,
  SCHEMA_VERSION_1_1,
} from '../lambdas/events/contract.js';
import type { SimulatedClock } from './clock.js';
import type { BusEvent, LocalEventBus } from './event-bus.js';

// Stands in for the platform's deployment automation and the customers' environments: answers every
// `Deployment Requested` and reports health, as a scenario file says.

const selector = z.union([
  z.strictObject({ customer: z.string() }),
  z.strictObject({ policy: z.enum(['demo', 'startup', 'standard', 'enterprise']) }),
  z.strictObject({ share: z.number().gt(0).lte(1) }),
]);

// Within the contract's bounds, so every health report the simulated fleet sends is one the contract admits.
const count = z.number().int().min(0).max(CONTRACT_BOUNDS.count.max);
const healthFigures = {
  latencyChangePercent: z
    .number()
    .min(CONTRACT_BOUNDS.latencyChangePercent.min)
    .max(CONTRACT_BOUNDS.latencyChangePercent.max)
    .default(1),
  criticalErrors: count.default(0),
  securityFindings: count.default(0),
  supportTickets: count.default(0),
  /** The customer's usual support tickets per report (contract 1.1); without it, tickets cannot be judged. */
  supportTicketsBaseline: count.optional(),
};

const behaviour = z.strictObject({
  select: selector,
  /** What the platform answers. `silent` never answers: the report goes missing. */
  outcome: z.enum(['succeed', 'fail', 'silent']).default('succeed'),
  reason: z.string().default('simulated deployment failure'),
  /** Simulated minutes from the request to the answer. */
  delayMinutes: z.number().min(0).default(30),
  ...healthFigures,
  /** One report this many simulated days after the first, saying what these fields say (then as before). */
  laterReport: z.strictObject({ afterDays: z.number().gt(0), ...healthFigures }).optional(),
  /** The environment reports its database corrupted (contract 1.1). */
  databaseCorruption: z.boolean().default(false),
  /** The customer asks to go back, in its first report after the deployment (contract 1.1). */
  rollbackRequested: z
    .strictObject({
      by: z.string().trim().min(1).max(CONTRACT_BOUNDS.requesterLength),
      reason: z.string().trim().min(1).max(CONTRACT_BOUNDS.reasonLength),
    })
    .optional(),
  /**
   * How the environment reports its health once deployed: `daily` (the first report shortly after the
   * deployment, then every day while its rollback window is open), `once` (then it goes silent) or `never`.
   */
  healthReports: z.enum(['daily', 'once', 'never']).default('daily'),
});

/** How the platform answers a `Rollback Requested` for the customers it selects (the same knobs). */
const rollbackBehaviour = z.strictObject({
  select: selector,
  /** What the platform answers. `silent` never answers: the rollback's answer goes missing. */
  outcome: z.enum(['succeed', 'fail', 'silent']).default('succeed'),
  reason: z.string().default('simulated rollback failure'),
  /** Simulated minutes from the request to the answer. */
  delayMinutes: z.number().min(0).default(30),
});

const decision = z.strictObject({
  reason: z.string().trim().min(1, 'say why'),
  by: z.string().trim().min(1, 'say who decides'),
  /** Limits a halt or a resume to one customer of the release (its id). */
  customer: z.string().optional(),
});

/** A timed operator action: `atDay` counts simulated days from the release start. */
const operation = z.union([
  z.strictObject({ atDay: z.number().min(0), halt: decision }),
  z.strictObject({ atDay: z.number().min(0), resume: decision }),
  z.strictObject({ atDay: z.number().min(0), abort: decision.omit({ customer: true }) }),
  /** An operator asks for a deployed customer's rollback (trigger `operator`). */
  z.strictObject({ atDay: z.number().min(0), rollback: decision.required({ customer: true }) }),
  /** The third decision on a failed gate: roll back the batch (or phase) it judged. */
  z.strictObject({ atDay: z.number().min(0), rollBackBatch: decision.omit({ customer: true }) }),
]);

export const scenarioSchema = z.strictObject({
  description: z.string().optional(),
  deployments: z.array(behaviour).default([]),
  /** Answers to `Rollback Requested`; a customer no entry selects is rolled back after 30 minutes. */
  rollbacks: z.array(rollbackBehaviour).default([]),
  operations: z.array(operation).default([]),
});

export type ScenarioOperation = z.infer<typeof operation>;

export type Scenario = z.infer<typeof scenarioSchema>;
export type Behaviour = z.infer<typeof behaviour>;
export type RollbackBehaviour = z.infer<typeof rollbackBehaviour>;

const HEALTHY: Behaviour = behaviour.parse({ select: { share: 1 } });
const ROLLED_BACK: RollbackBehaviour = rollbackBehaviour.parse({ select: { share: 1 } });

/** The first health report comes this long after the platform's answer (the environment is up again). */
export const FIRST_HEALTH_REPORT_MINUTES = 10;
const HEALTH_REPORT_EVERY_MS = 86_400_000;

export function loadScenario(file: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserFacingError(
      `${file}: cannot read the scenario (${(error as Error).message}). Fix: pass a JSON file, see scenarios/.`,
    );
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new UserFacingError(
      `${problems.join('\n')}\nFix: see the scenario format in the README ("Scenarios").`,
    );
  }
  return parsed.data;
}

export class FleetSimulator {
  readonly requests: DeploymentRequested[] = [];
  /** Health reports sent so far. */
  healthReports = 0;

  readonly #windowDays = Object.fromEntries(
    Object.entries(bundledConfig().policies).map(([policy, { rollback }]) => [policy, rollback.windowDays]),
  ) as Record<PolicyName, number>;
  readonly rollbackRequests: RollbackRequested[] = [];
  /** Customers the platform was asked to roll back: their environments report on the old version now. */
  readonly #rollingBack = new Set<string>();

  constructor(
    private readonly bus: LocalEventBus,
    private readonly clock: SimulatedClock,
    private readonly scenario: Scenario,
    private readonly policyOf: (customerId: string) => string | undefined,
  ) {
    bus.listen((event) => this.#onEvent(event));
  }

  #onEvent(event: BusEvent): void {
    if (event['detail-type'] === DETAIL_TYPES.rollbackRequested) {
      this.#onRollbackRequested(rollbackRequested.parse(event.detail));
      return;
    }
    if (event['detail-type'] !== DETAIL_TYPES.deploymentRequested) return;
    const request = deploymentRequested.parse(event.detail);
    this.requests.push(request);
    const chosen = this.behaviourFor(request.customerId);
    if (chosen.outcome === 'silent') return;
    const answerAt = new Date(Date.parse(request.requestedAt) + chosen.delayMinutes * 60_000).toISOString();
    // Not awaited: the answer comes later, on the simulated clock, like the real platform's would.
    void this.clock.at(answerAt, () => this.#answer(request, chosen)).catch(() => {});
  }

  behaviourFor(customerId: string): Behaviour {
    return this.scenario.deployments.find(({ select }) => this.#selects(select, customerId)) ?? HEALTHY;
  }

  rollbackBehaviourFor(customerId: string): RollbackBehaviour {
    return this.scenario.rollbacks.find(({ select }) => this.#selects(select, customerId)) ?? ROLLED_BACK;
  }

  #selects(select: z.infer<typeof selector>, customerId: string): boolean {
    if ('customer' in select) return select.customer === customerId;
    if ('policy' in select) return this.policyOf(customerId) === select.policy;
    return shareOf(customerId) < select.share;
  }

  #onRollbackRequested(request: RollbackRequested): void {
    this.rollbackRequests.push(request);
    this.#rollingBack.add(request.customerId);
    const chosen = this.rollbackBehaviourFor(request.customerId);
    if (chosen.outcome === 'silent') return;
    const answerAt = new Date(Date.parse(request.requestedAt) + chosen.delayMinutes * 60_000).toISOString();
    void this.clock.at(answerAt, () => this.#answerRollback(request, chosen)).catch(() => {});
  }

  /** The platform's answer and, once rolled back, the environment's first health report on its old version. */
  #answerRollback(request: RollbackRequested, chosen: RollbackBehaviour) {
    const at = this.clock.now();
    const common = {
      schemaVersion: ROLLBACK_SCHEMA_VERSION,
      correlationId: request.correlationId,
      customerId: request.customerId,
      release: request.release,
      completedAt: at,
    };
    const busName = 'securewatch-releases';
    const answer =
      chosen.outcome === 'succeed'
        ? { DetailType: DETAIL_TYPES.rollbackSucceeded, Detail: JSON.stringify(common) }
        : {
            DetailType: DETAIL_TYPES.rollbackFailed,
            Detail: JSON.stringify({ ...common, reason: chosen.reason }),
          };
    const health = {
      schemaVersion: SCHEMA_VERSION,
      customerId: request.customerId,
      // Reports are filed under the release they are about, the one rolled back.
      version: request.release,
      reportedAt: at,
      errorRatePercent: 0.1,
      latencyChangePercent: 0,
      criticalErrors: 0,
      securityFindings: 0,
      supportTickets: 0,
    };
    this.bus.putEvents(
      [
        { Source: PLATFORM_SOURCE, ...answer, EventBusName: busName },
        ...(chosen.outcome === 'succeed'
          ? [
              {
                Source: FLEET_SOURCE,
                DetailType: DETAIL_TYPES.healthReported,
                Detail: JSON.stringify(health),
                EventBusName: busName,
              },
            ]
          : []),
      ],
      at,
    );
  }

  #answer(request: DeploymentRequested, chosen: Behaviour) {
    const at = this.clock.now();
    const common = {
      schemaVersion: SCHEMA_VERSION,
      correlationId: request.correlationId,
      customerId: request.customerId,
      version: request.version,
      completedAt: at,
    };
    const result =
      chosen.outcome === 'succeed'
        ? { DetailType: DETAIL_TYPES.deploymentSucceeded, Detail: JSON.stringify(common) }
        : {
            DetailType: DETAIL_TYPES.deploymentFailed,
            Detail: JSON.stringify({ ...common, reason: chosen.reason }),
          };
    this.bus.putEvents([{ Source: PLATFORM_SOURCE, ...result, EventBusName: BUS_NAME }], at);
    if (chosen.healthReports === 'never') return;
    const first = Date.parse(at) + FIRST_HEALTH_REPORT_MINUTES * 60_000;
    const policy = this.policyOf(request.customerId) as PolicyName | undefined;
    // A failed environment reports once; a deployed one daily while its rollback window is open.
    const lastMs =
      chosen.outcome === 'succeed' && chosen.healthReports === 'daily' && policy
        ? Date.parse(at) + (this.#windowDays[policy] ?? 0) * 86_400_000
        : first;
    this.#reportHealth(request, chosen, first, lastMs, true);
    const later = chosen.laterReport;
    if (chosen.outcome === 'succeed' && later) {
      const { afterDays, ...fields } = later;
      const laterMs = first + afterDays * 86_400_000;
      this.#reportHealth(
        request,
        { ...chosen, ...fields, rollbackRequested: undefined },
        laterMs,
        laterMs,
        false,
      );
    }
  }

  #reportHealth(
    request: DeploymentRequested,
    chosen: Behaviour,
    atMs: number,
    lastMs: number,
    first: boolean,
  ) {
    void this.clock
      .at(new Date(atMs).toISOString(), () => {
        // Once it is being rolled back, the version's own reports end; the rollback's answer reports anew.
        if (this.#rollingBack.has(request.customerId)) return;
        const at = this.clock.now();
        const asksRollback = first && chosen.rollbackRequested !== undefined;
        const hasBaseline = chosen.supportTicketsBaseline !== undefined;
        const health = {
          schemaVersion:
            chosen.databaseCorruption || asksRollback || hasBaseline ? SCHEMA_VERSION_1_1 : SCHEMA_VERSION,
          customerId: request.customerId,
          version: request.version,
          reportedAt: at,
          errorRatePercent: chosen.outcome === 'succeed' ? 0.1 : 5,
          latencyChangePercent: chosen.latencyChangePercent,
          criticalErrors: chosen.criticalErrors,
          securityFindings: chosen.securityFindings,
          supportTickets: chosen.supportTickets,
          ...(hasBaseline ? { supportTicketsBaseline: chosen.supportTicketsBaseline } : {}),
          ...(chosen.databaseCorruption ? { databaseCorruption: true } : {}),
          ...(asksRollback ? { rollbackRequested: chosen.rollbackRequested } : {}),
        };
        this.healthReports += 1;
        this.bus.putEvents(
          [
            {
              Source: FLEET_SOURCE,
              DetailType: DETAIL_TYPES.healthReported,
              Detail: JSON.stringify(health),
              EventBusName: BUS_NAME,
            },
          ],
          at,
        );
        const next = atMs + HEALTH_REPORT_EVERY_MS;
        if (next <= lastMs) this.#reportHealth(request, chosen, next, lastMs, false);
      })
      .catch(() => {}); // the rehearsal ended first
  }
}

const BUS_NAME = 'securewatch-releases';

/** A stable number in [0, 1) per customer, so `share` picks the same customers every run. */
function shareOf(customerId: string): number {
  return createHash('sha256').update(customerId).digest().readUInt32BE(0) / 2 ** 32;
}
