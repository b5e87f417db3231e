import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { customerExecutionName, startStepRollouts } from '../../lambdas/application/customer-rollouts.js';
import { requireCustomer } from '../../lambdas/store/customers.js';
import { getStep } from '../../lambdas/store/steps.js';
import { RELEASE_STATE_MACHINE_ARN_PREFIX, RunningRelease } from './support/running-release.js';

// Starting a step's rollouts, against dynalite: every customer of the step ends with its execution, or
// recorded `failed` with the reason, never skipped.

const world = new RunningRelease();
let release: string;
let stateMachineArn: string;

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  release = await world.plan();
  stateMachineArn = `${RELEASE_STATE_MACHINE_ARN_PREFIX}${release.replaceAll('.', '-')}-customer`;
});

describe('starting a step’s rollouts', () => {
  it('starts one execution per customer of the step, each under its customer’s name', async () => {
    const { stepKey } = await requireCustomer(release, 'techstart-inc');

    const started = await startStepRollouts(release, stepKey, stateMachineArn);

    expect(started).toMatchObject({ found: 0, failed: 0, moreChunks: [] });
    expect(started.started).toBe(started.customers);
    expect(world.executions.get(customerExecutionName(release, 'techstart-inc'))?.input).toMatchObject({
      release,
      customerId: 'techstart-inc',
    });
  });

  it('records a customer whose execution name another rollout holds as failed, with the reason, and starts the others', async () => {
    const { stepKey } = await requireCustomer(release, 'techstart-inc');
    const name = customerExecutionName(release, 'techstart-inc');
    world.executions.set(name, { name, input: { release: 'v0.9.0', customerId: 'someone-else' } });

    const started = await startStepRollouts(release, stepKey, stateMachineArn);

    expect(started).toMatchObject({ found: 0, failed: 1, started: started.customers - 1 });
    expect(await requireCustomer(release, 'techstart-inc')).toMatchObject({
      state: 'failed',
      outcomeReason: `execution name ${name} is taken by another rollout`,
    });
    expect((await getStep(release, stepKey))?.failed).toBe(1);
  });

  it('run again, leaves one execution per customer and records no customer failed', async () => {
    const { stepKey } = await requireCustomer(release, 'techstart-inc');
    const first = await startStepRollouts(release, stepKey, stateMachineArn);

    const again = await startStepRollouts(release, stepKey, stateMachineArn);

    expect(again).toMatchObject({ customers: first.customers, failed: 0 });
    expect(world.executions.size).toBe(first.customers);
  });
});
