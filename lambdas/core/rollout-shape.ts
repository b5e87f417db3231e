import type { Config, PlannedCustomer, PolicyName, ReleasePlan } from './model.js';
import { DEPLOYMENT_REPORT_TIMEOUT_HOURS, STEP_WAIT_MARGIN_HOURS } from './timeouts.js';

// The shape of a release's workflow: which steps the state machine has. It depends on the policies only,
// never on the fleet, so the state machine synthesized for a release fits any fleet the plan is made for.

export interface RolloutStep {
  /** Key of the step's customers in the store and in the state input, e.g. `standard_2` or `enterprise`. */
  key: string;
  phase: PolicyName;
  phaseDisplayName: string;
  /** 1-based position among the phase's steps. */
  position: number;
  /** How many steps the phase has. */
  of: number;
  /** Enterprise-style phases deploy customers one by one, each in its own window, all started together. */
  individual: boolean;
  /**
   * The step's nominal day, for state names ("wait for batch 2 (day 11)"). It opens then at the earliest: the
   * plan moves the opening (`ReleaseSchedule.steps[key].opensAt`) until the previous step is done.
   */
  day: number;
}

export interface RolloutPhaseShape {
  name: PolicyName;
  displayName: string;
  startDay: number;
  endDay: number;
  steps: RolloutStep[];
}

export function rolloutShape(config: Config): RolloutPhaseShape[] {
  return config.release.phases.map((phase) => {
    const size = config.policies[phase.policy].batchSize;
    const individual = size.mode === 'individual';
    const count = size.mode === 'percent' ? Math.ceil(100 / size.percent) : 1;
    const steps = Array.from({ length: count }, (_, index) => ({
      key: individual ? phase.name : `${phase.name}_${index + 1}`,
      phase: phase.name,
      phaseDisplayName: capitalize(phase.name),
      position: index + 1,
      of: count,
      individual,
      // A batch never opens before its notice lead time has passed since the release start (see the plan).
      day: Math.max(
        phase.startDay + Math.floor((index * phase.durationDays) / count),
        config.policies[phase.policy].advanceNoticeDays,
      ),
    }));
    return {
      name: phase.name,
      displayName: capitalize(phase.name),
      startDay: phase.startDay,
      endDay: phase.startDay + phase.durationDays,
      steps,
    };
  });
}

/** The workflow step a planned customer belongs to. */
export function stepKeyOf(customer: Pick<PlannedCustomer, 'phase' | 'batch'>, config: Config): string {
  const phase = config.release.phases.find((candidate) => candidate.name === customer.phase);
  const individual = phase ? config.policies[phase.policy].batchSize.mode === 'individual' : false;
  return individual ? customer.phase : `${customer.phase}_${customer.batch}`;
}

/**
 * When the release stops waiting for a step: its customers' latest policy deadline (by then each has
 * deployed, been deferred or held), the report timeout and a day's margin; its opening when it has none.
 */
export function stepWaitUntil(opensAt: string, deadlines: string[]): string {
  if (deadlines.length === 0) return opensAt;
  const latest = Math.max(...deadlines.map((deadline) => Date.parse(deadline)));
  const until = latest + (DEPLOYMENT_REPORT_TIMEOUT_HOURS + STEP_WAIT_MARGIN_HOURS) * 3_600_000;
  return new Date(until).toISOString().replace('.000Z', 'Z');
}

/** What the release state machine needs from the plan: times and counts per step, never customer records. */
export interface ReleaseSchedule {
  release: string;
  startAt: string;
  endAt: string;
  steps: Record<string, { opensAt: string; customers: number }>;
  phases: Record<string, { startAt: string; endAt: string }>;
}

export function scheduleOf(plan: ReleasePlan, config: Config): ReleaseSchedule {
  const steps: ReleaseSchedule['steps'] = {};
  for (const phase of plan.phases) {
    for (const batch of phase.batches) {
      const key = stepKeyOf({ phase: phase.name, batch: batch.index }, config);
      const existing = steps[key];
      steps[key] = existing
        ? { opensAt: existing.opensAt, customers: existing.customers + batch.customers.length }
        : { opensAt: key === phase.name ? phase.startAt : batch.deployAt, customers: batch.customers.length };
    }
    // An individual phase with no customers still has its step, so the workflow finds it.
    const shape = rolloutShape(config).find((candidate) => candidate.name === phase.name);
    for (const step of shape?.steps ?? []) {
      steps[step.key] ??= { opensAt: phase.startAt, customers: 0 };
    }
  }
  const phases: ReleaseSchedule['phases'] = {};
  for (const phase of plan.phases) phases[phase.name] = { startAt: phase.startAt, endAt: phase.endAt };
  return { release: plan.version, startAt: plan.startAt, endAt: plan.endAt, steps, phases };
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
