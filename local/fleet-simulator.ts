import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { UserFacingError } from '../lambdas/core/errors.js';
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

const behaviour = z.strictObject({
  select: selector,
  /** What the platform answers. `silent` never answers: the report goes missing. */
  outcome: z.enum(['succeed', 'fail', 'silent']).default('succeed'),
  reason: z.string().default('simulated deployment failure'),
  /** Simulated minutes from the request to the answer. */
  delayMinutes: z.number().min(0).default(30),
  // Within the contract's bounds, so every health report the simulated fleet sends is one the contract admits.
  latencyChangePercent: z
    .number()
    .min(CONTRACT_BOUNDS.latencyChangePercent.min)
    .max(CONTRACT_BOUNDS.latencyChangePercent.max)
    .default(1),
  criticalErrors: z.number().int().min(0).max(CONTRACT_BOUNDS.count.max).default(0),
  securityFindings: z.number().int().min(0).max(CONTRACT_BOUNDS.count.max).default(0),
  supportTickets: z.number().int().min(0).max(CONTRACT_BOUNDS.count.max).default(0),
  /** The customer's usual support tickets per report; without it, tickets cannot be judged (a gate fails). */
  supportTicketsBaseline: z.number().int().min(0).max(CONTRACT_BOUNDS.count.max).optional(),
  /** `none`: the customer's environment never reports health (its gate then has no evidence and pauses). */
  healthReports: z.enum(['send', 'none']).default('send'),
  /** One more health report this many simulated days after the first, saying what the fields say. */
  laterReport: z
    .strictObject({
      afterDays: z.number().gt(0),
      latencyChangePercent: z
        .number()
        .min(CONTRACT_BOUNDS.latencyChangePercent.min)
        .max(CONTRACT_BOUNDS.latencyChangePercent.max)
        .default(1),
      criticalErrors: z.number().int().min(0).max(CONTRACT_BOUNDS.count.max).default(0),
      securityFindings: z.number().int().min(0).max(CONTRACT_BOUNDS.count.max).default(0),
      supportTickets: z.number().int().min(0).max(CONTRACT_BOUNDS.count.max).default(0),
      supportTicketsBaseline: z.number().int().min(0).max(CONTRACT_BOUNDS.count.max).optional(),
    })
    .optional(),
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
  /** The third decision on a failed gate: roll back the batch (or phase) it judged. */
  z.strictObject({ atDay: z.number().min(0), rollBack: decision.omit({ customer: true }) }),
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
  readonly rollbackRequests: RollbackRequested[] = [];

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
    const health = {
      schemaVersion: SCHEMA_VERSION,
      customerId: request.customerId,
      version: request.version,
      reportedAt: at,
      errorRatePercent: chosen.outcome === 'succeed' ? 0.1 : 5,
      latencyChangePercent: chosen.latencyChangePercent,
      criticalErrors: chosen.criticalErrors,
      securityFindings: chosen.securityFindings,
      supportTickets: chosen.supportTickets,
      ...(chosen.supportTicketsBaseline === undefined
        ? {}
        : { supportTicketsBaseline: chosen.supportTicketsBaseline }),
    };
    const busName = 'securewatch-releases';
    const healthReport = {
      Source: FLEET_SOURCE,
      DetailType: DETAIL_TYPES.healthReported,
      Detail: JSON.stringify(health),
      EventBusName: busName,
    };
    this.bus.putEvents(
      [
        ...(chosen.healthReports === 'send' ? [healthReport] : []),
        { Source: PLATFORM_SOURCE, ...result, EventBusName: busName },
      ],
      at,
    );
    const later = chosen.laterReport;
    if (chosen.outcome !== 'succeed' || chosen.healthReports === 'none' || !later) return;
    const { afterDays, ...fields } = later;
    const laterAt = new Date(Date.parse(at) + afterDays * 86_400_000).toISOString();
    void this.clock
      .at(laterAt, () =>
        this.bus.putEvents(
          [{ ...healthReport, Detail: JSON.stringify({ ...health, ...fields, reportedAt: laterAt }) }],
          laterAt,
        ),
      )
      .catch(() => {});
  }
}

/** A stable number in [0, 1) per customer, so `share` picks the same customers every run. */
function shareOf(customerId: string): number {
  return createHash('sha256').update(customerId).digest().readUInt32BE(0) / 2 ** 32;
}
