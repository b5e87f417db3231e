import { DateTime } from 'luxon';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requestApproval } from '../../lambdas/application/approvals.js';
import { customerExecutionName } from '../../lambdas/application/customer-rollouts.js';
import { requestDeployment, scheduleDeployment } from '../../lambdas/application/deployments.js';
import { deployCustomersNow } from '../../lambdas/application/early-deployments.js';
import { halt } from '../../lambdas/application/halt.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { UserFacingError } from '../../lambdas/core/errors.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { isInsideWindow } from '../../lambdas/core/maintenance-window.js';
import { handler as startCustomerRollouts } from '../../lambdas/handlers/start-customer-rollouts.js';
import { getApproval } from '../../lambdas/store/approvals.js';
import { applyTransition, requireCustomer } from '../../lambdas/store/customers.js';
import { RELEASE_STATE_MACHINE_ARN_PREFIX, RunningRelease } from './support/running-release.js';

// Deploying customers outside their step's schedule, against dynalite: the customer's own rollout starts
// now, under the name its step would give it, with the same notice, approval and window rules; forced, at
// once, with who and why. Racing requests start one rollout and send one notice.

const world = new RunningRelease();
const by = 'release-manager@securewatch.example.com';
const policies = bundledConfig().policies;
let release: string;

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  release = await world.plan();
});

const executionOf = (customerId: string) => world.executions.get(customerExecutionName(release, customerId));

describe('an early deployment', () => {
  it('starts the customer’s rollout now, under the name its step uses, and sends its notice telling when it can land', async () => {
    world.time = world.atDay(1);

    const [answer] = await deployCustomersNow(release, ['summit-sports'], { by });

    const customer = await requireCustomer(release, 'summit-sports');
    const earliest = DateTime.fromISO(world.atDay(1)).plus({ days: policies.standard.advanceNoticeDays });
    expect(answer).toMatchObject({ customerId: 'summit-sports', outcome: 'started', noticeSent: true });
    expect(Date.parse(String(answer?.expectedAt))).toBeGreaterThanOrEqual(earliest.toMillis());
    expect(Date.parse(String(answer?.expectedAt))).toBeLessThan(Date.parse(String(customer.deployAt)));
    expect(isInsideWindow(customer.window, String(answer?.expectedAt))).toBe(true);
    expect(executionOf('summit-sports')?.input).toMatchObject({
      release,
      customerId: 'summit-sports',
      approvalRequired: false,
      deployable: true,
      early: { by, force: false },
    });
    expect(customer).toMatchObject({
      state: 'noticed',
      noticeSentAt: world.atDay(1),
      notifiedDeployAt: answer?.expectedAt,
    });
    expect(customer.history[1]).toMatchObject({ state: 'planned', by, at: world.atDay(1) });
    expect(world.emails()).toEqual([
      { to: customer.contacts.map((contact) => contact.email), subject: expect.stringContaining(release) },
    ]);
  });

  it('asked by five people at once, starts one rollout and sends one notice; the others hear it already started', async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        deployCustomersNow(release, ['financefirst-bank'], { by: `manager-${index}` }),
      ),
    );

    const outcomes = answers.flat().map((answer) => answer.outcome);
    expect(outcomes.filter((outcome) => outcome === 'started')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'already-started')).toHaveLength(4);
    expect(world.executions.size).toBe(1);
    expect(world.emails()).toHaveLength(1);
    const customer = await requireCustomer(release, 'financefirst-bank');
    expect(customer.history.filter((entry) => entry.reason?.startsWith('deploy early'))).toHaveLength(1);
  });

  it('keeps the notice lead time and the window when it is scheduled, and asks the approvers of the early date', async () => {
    world.time = world.atDay(2);
    const [answer] = await deployCustomersNow(release, ['financefirst-bank'], { by });
    const customer = await requireCustomer(release, 'financefirst-bank');

    const asked = await requestApproval(
      { release, customerId: 'financefirst-bank', taskToken: 'approval-token' },
      { signingKey: 'a-signing-key-for-the-test-0123456789abcdef', baseUrl: 'https://approvals.example.com' },
    );
    expect((await getApproval(asked.requestId))?.deployAt).toBe(answer?.expectedAt);

    world.time = world.atDay(3);
    const slot = await scheduleDeployment(release, 'financefirst-bank');

    const leadEnds = DateTime.fromISO(world.atDay(2)).plus({ days: policies.enterprise.advanceNoticeDays });
    expect(slot.deployAt).toBe(answer?.expectedAt);
    expect(Date.parse(String(slot.deployAt))).toBeGreaterThanOrEqual(leadEnds.toMillis());
    expect(Date.parse(String(slot.deployAt))).toBeLessThan(Date.parse(String(customer.deployAt)));
    expect(executionOf('financefirst-bank')?.input).toMatchObject({ approvalRequired: true });
  });

  it('still holds the deployment until the lead time has passed: requested too soon, it is refused', async () => {
    world.time = world.atDay(2);
    await deployCustomersNow(release, ['acme-corporation'], { by });
    await scheduleDeployment(release, 'acme-corporation');

    world.time = world.atDay(4);
    const tooSoon = requestDeployment({ release, customerId: 'acme-corporation', taskToken: 'token' });

    await expect(tooSoon).rejects.toMatchObject({ name: 'Notice.LeadTime' });
    expect(world.published()).not.toContain('Deployment Requested');
  });

  it('has the step find the rollout started when it opens, and start only its other customers', async () => {
    await deployCustomersNow(release, ['techstart-inc'], { by });
    const customer = await requireCustomer(release, 'techstart-inc');

    const started = await startCustomerRollouts({
      release,
      step: customer.stepKey,
      customerStateMachineArn: `${RELEASE_STATE_MACHINE_ARN_PREFIX}${release.replaceAll('.', '-')}-customer`,
    });

    expect(started).toMatchObject({ found: 1, failed: 0 });
    expect(started.started).toBe(started.customers - 1);
    expect(executionOf('techstart-inc')?.input).toMatchObject({ early: { by } });
  });

  it('says so for customers deployed, in flight or already started, and changes nothing for them', async () => {
    const cause = { at: world.time, by: 'test' };
    await applyTransition(release, 'aurora-retail', TRANSITIONS.schedule, cause, {
      scheduledAt: world.atDay(9),
    });
    await applyTransition(release, 'bluefin-media', TRANSITIONS.schedule, cause);
    await applyTransition(release, 'bluefin-media', TRANSITIONS.requestDeployment, cause);
    await applyTransition(release, 'cascade-logistics', TRANSITIONS.schedule, cause);
    await applyTransition(release, 'cascade-logistics', TRANSITIONS.requestDeployment, cause);
    await applyTransition(release, 'cascade-logistics', TRANSITIONS.recordDeployed, cause, {
      deployedAt: world.time,
    });
    const ids = ['aurora-retail', 'bluefin-media', 'cascade-logistics'];
    const before = await Promise.all(ids.map((id) => requireCustomer(release, id)));

    const answers = await deployCustomersNow(release, ids, { by });

    expect(answers.map((answer) => answer.outcome)).toEqual([
      'already-started',
      'in-flight',
      'already-deployed',
    ]);
    expect(answers[0]?.detail).toContain(world.atDay(9));
    expect(await Promise.all(ids.map((id) => requireCustomer(release, id)))).toEqual(before);
    expect(world.executions.size).toBe(0);
    expect(world.emails()).toEqual([]);
  });

  it('says a customer whose step already started its rollout is started, without a notice of its own', async () => {
    const customer = await requireCustomer(release, 'techstart-inc');
    await startCustomerRollouts({
      release,
      step: customer.stepKey,
      customerStateMachineArn: `${RELEASE_STATE_MACHINE_ARN_PREFIX}${release.replaceAll('.', '-')}-customer`,
    });

    const [answer] = await deployCustomersNow(release, ['techstart-inc'], { by });

    expect(answer).toMatchObject({
      outcome: 'already-started',
      detail: 'its step already started its rollout',
    });
    expect((await requireCustomer(release, 'techstart-inc')).earlyDeployment).toBeUndefined();
    expect(world.emails()).toEqual([]);
  });

  it('is refused as a whole while a halt holds the release, and nothing changes', async () => {
    await halt({ release }, { reason: 'error rate above 5%', by });
    const queuedBefore = world.emails().length;

    const refused = deployCustomersNow(release, ['acme-corporation'], { by });

    await expect(refused).rejects.toThrow(UserFacingError);
    await expect(refused).rejects.toThrow(/halted \(error rate above 5%\).*resume/);
    expect(world.executions.size).toBe(0);
    expect(world.emails()).toHaveLength(queuedBefore);
  });
});

describe('a forced deployment', () => {
  it('starts at once without the approval, records who forced it and why, and deploys now', async () => {
    world.time = world.atDay(1);
    const reason = 'critical security fix; the customer asked for it today';

    const [answer] = await deployCustomersNow(release, ['northwind-federal'], { by, force: { reason } });

    expect(answer).toMatchObject({ outcome: 'started', noticeSent: false });
    expect(executionOf('northwind-federal')?.input).toMatchObject({
      approvalRequired: false,
      deployable: true,
    });
    const customer = await requireCustomer(release, 'northwind-federal');
    expect(customer.earlyDeployment).toMatchObject({ by, force: true, reason });
    expect(customer.history.at(-1)).toMatchObject({ by, reason: expect.stringContaining(reason) });
    expect(world.emails()).toEqual([]);

    const slot = await scheduleDeployment(release, 'northwind-federal');
    const request = await requestDeployment({ release, customerId: 'northwind-federal', taskToken: 'token' });

    expect(slot.deployAt).toBe(world.atDay(1));
    expect(request).toEqual({ requested: true });
    expect(world.published()).toContain('Deployment Requested');
  });
});
