import { DateTime } from 'luxon';
import { isInsideWindow } from '../../../lambdas/core/maintenance-window.js';
import type { Config, Fleet, ReleasePlan } from '../../../lambdas/core/model.js';

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
