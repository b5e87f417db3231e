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
  operations: z.array(operation).default([]),
});

export type ScenarioOperation = z.infer<typeof operation>;

export type Scenario = z.infer<typeof scenarioSchema>;
export type Behaviour = z.infer<typeof behaviour>;

const HEALTHY: Behaviour = behaviour.parse({ select: { share: 1 } });

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

  constructor(
    private readonly bus: LocalEventBus,
    private readonly clock: SimulatedClock,
    private readonly scenario: Scenario,
    private readonly policyOf: (customerId: string) => string | undefined,
  ) {
    bus.listen((event) => this.#onEvent(event));
  }

  #onEvent(event: BusEvent): void {
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
    return (
      this.scenario.deployments.find(({ select }) => {
        if ('customer' in select) return select.customer === customerId;
        if ('policy' in select) return this.policyOf(customerId) === select.policy;
        return shareOf(customerId) < select.share;
      }) ?? HEALTHY
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
