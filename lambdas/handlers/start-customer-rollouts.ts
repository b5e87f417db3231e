import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { versionSlug } from '../core/versions.js';
import { stepFunctions } from '../shared/clients.js';
import { now } from '../shared/clock.js';
import { taskHandler } from '../shared/task.js';
import { listStepCustomers } from '../store/release-store.js';

const input = z.strictObject({
  release: z.string(),
  step: z.string(),
  customerStateMachineArn: z.string().startsWith('arn:'),
});

const START_CONCURRENCY = 10;

/** Execution names are unique per state machine, which makes starting a customer's rollout idempotent. */
export function customerExecutionName(release: string, customerId: string): string {
  return `${versionSlug(release)}-${customerId}`.replace(/[^A-Za-z0-9-_]/g, '-').slice(0, 80);
}

/** "Start customer rollouts": one child execution per customer of the step, each named after its customer. */
export const handler = taskHandler(input, async ({ release, step, customerStateMachineArn }) => {
  const customers = await listStepCustomers(release, step);
  let started = 0;
  for (let index = 0; index < customers.length; index += START_CONCURRENCY) {
    const chunk = customers.slice(index, index + START_CONCURRENCY);
    await Promise.all(
      chunk.map(async (customer) => {
        try {
          await stepFunctions().send(
            new StartExecutionCommand({
              stateMachineArn: customerStateMachineArn,
              name: customerExecutionName(release, customer.id),
              input: JSON.stringify({
                release,
                customerId: customer.id,
                approvalRequired: customer.approvalRequired,
                deployable: customer.deployAt !== null,
                approvalTimeoutSeconds: secondsUntil(customer.deadlineAt),
              }),
            }),
          );
          started += 1;
        } catch (error) {
          if (
            !(error instanceof ExecutionAlreadyExists) &&
            (error as Error).name !== 'ExecutionAlreadyExists'
          )
            throw error;
        }
      }),
    );
  }
  return { customers: customers.length, started };
});

/** An approval wait ends at the policy deadline: an unanswered request is deferred, never approved. */
function secondsUntil(deadlineAt: string): number {
  return Math.max(1, Math.floor((Date.parse(deadlineAt) - Date.parse(now())) / 1000));
}
