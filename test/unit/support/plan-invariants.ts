import { DateTime } from 'luxon';
import { isInsideWindow } from '../../../lambdas/core/maintenance-window.js';
import type { Config, Fleet, ReleasePlan } from '../../../lambdas/core/model.js';
import { DEPLOYMENT_REPORT_TIMEOUT_HOURS, ONE_AT_A_TIME_GAP_HOURS } from '../../../lambdas/core/timeouts.js';

const at = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });

/** Every promise issue 2 makes about a plan, as a list of broken ones (empty when the plan keeps them all). */
export function planViolations(plan: ReleasePlan, config: Config, fleet: Fleet): string[] {
  const violations: string[] = [];
  const batchCountById = new Map<string, number>();
  for (const phase of plan.phases) {
    for (const batch of phase.batches) {
      for (const id of batch.customers) batchCountById.set(id, (batchCountById.get(id) ?? 0) + 1);
    }
  }
  for (const customer of fleet.customers) {
    const count = batchCountById.get(customer.id) ?? 0;
    if (count !== 1) violations.push(`${customer.id} is in ${count} batches`);
  }
  if (plan.customers.length !== fleet.customers.length) {
    violations.push(`${plan.customers.length} planned customers for a fleet of ${fleet.customers.length}`);
  }
  const windowById = new Map(fleet.customers.map((customer) => [customer.id, customer.maintenanceWindow]));
  const unschedulableIds = new Set(plan.unschedulable.map((entry) => entry.id));
  for (const customer of plan.customers) {
    const lead = config.policies[customer.policy].advanceNoticeDays;
    const window = windowById.get(customer.id);
    if (!customer.deployAt) {
      if (!unschedulableIds.has(customer.id))
        violations.push(`${customer.id} is unschedulable but not reported`);
      continue;
    }
    if (lead > 0 && !customer.noticeAt) violations.push(`${customer.id} gets no notice`);
    if (customer.noticeAt && at(customer.deployAt) < at(customer.noticeAt).plus({ days: lead })) {
      violations.push(`${customer.id} is deployed before its ${lead}-day notice has elapsed`);
    }
    if (at(customer.deployAt) < at(plan.startAt))
      violations.push(`${customer.id} is deployed before the release`);
    if (at(customer.deployAt) > at(customer.deadlineAt))
      violations.push(`${customer.id} is deployed after its deadline`);
    if (window && !isInsideWindow(window, customer.deployAt)) {
      violations.push(`${customer.id} is deployed outside its window at ${customer.deployAt}`);
    }
  }
  return violations;
}

/**
 * The order the release execution imposes, as a list of broken promises: a step (a batch, or a one-by-one
 * phase's customers all together) opens at or after the previous step's opening and its last deployAt plus
 * the report timeout; a phase ends no earlier than that for its own last step, and the next one starts no
 * earlier than that end. One-by-one customers open no earlier than their phase; nobody deploys before
 * their batch opens.
 */
export function stepOrderViolations(plan: ReleasePlan, config: Config): string[] {
  const violations: string[] = [];
  const deployAtById = new Map(plan.customers.map((customer) => [customer.id, customer.deployAt]));
  const doneBy = (opensAt: string, ids: string[]) =>
    ids.reduce((done, id) => {
      const deployAt = deployAtById.get(id);
      if (!deployAt) return done;
      const reported = at(deployAt).plus({ hours: DEPLOYMENT_REPORT_TIMEOUT_HOURS });
      return DateTime.max(reported, done);
    }, at(opensAt));
  let previous: { label: string; done: DateTime } | undefined;
  const opens = (label: string, opensAt: string) => {
    if (previous && at(opensAt) < previous.done)
      violations.push(`${label} at ${opensAt}, before ${previous.label} is done at ${previous.done.toISO()}`);
  };
  for (const phase of plan.phases) {
    opens(`phase ${phase.name} starts`, phase.startAt);
    const individual = config.policies[phase.policy].batchSize.mode === 'individual';
    const steps = individual
      ? [{ label: phase.name, opensAt: phase.startAt, customers: phase.batches.flatMap((b) => b.customers) }]
      : phase.batches.map((batch) => ({
          label: `${phase.name} batch ${batch.index}`,
          opensAt: batch.deployAt,
          customers: batch.customers,
        }));
    if (individual) {
      // One at a time: each deployment starts once the previous one is reported and gated.
      const starts = phase.batches
        .flatMap((batch) => batch.customers.flatMap((id) => deployAtById.get(id) ?? []))
        .sort();
      for (let index = 1; index < starts.length; index++) {
        const previousStart = at(starts[index - 1] ?? '');
        if (at(starts[index] ?? '') < previousStart.plus({ hours: ONE_AT_A_TIME_GAP_HOURS }))
          violations.push(
            `${phase.name} deployment at ${starts[index]} starts before the one at ${starts[index - 1]} is gated`,
          );
      }
    }
    for (const step of steps) {
      opens(`${step.label} opens`, step.opensAt);
      previous = { label: step.label, done: doneBy(step.opensAt, step.customers) };
    }
    for (const batch of phase.batches) {
      if (at(batch.deployAt) < at(phase.startAt))
        violations.push(`${phase.name} batch ${batch.index} opens before its phase starts`);
      for (const id of batch.customers) {
        const deployAt = deployAtById.get(id);
        if (deployAt && at(deployAt) < at(batch.deployAt))
          violations.push(`${id} deploys at ${deployAt}, before its batch opens at ${batch.deployAt}`);
      }
    }
    opens(`phase ${phase.name} ends`, phase.endAt);
    previous = { label: `phase ${phase.name}`, done: at(phase.endAt) };
  }
  if (previous && at(plan.endAt) < previous.done) violations.push('the release ends before its last phase');
  return violations;
}
