import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { halt } from '../../lambdas/application/halt.js';
import { sendDueNotices, sendPhaseNotices } from '../../lambdas/application/notices.js';
import { bundledConfig } from '../../lambdas/core/config.js';
import { UserFacingError } from '../../lambdas/core/errors.js';
import { listCustomers } from '../../lambdas/store/customers.js';
import { sampleFleet } from '../../local/sample-fleet.js';
import { RunningRelease } from './support/running-release.js';

// `send-notifications --phase P`: every customer of the phase not told yet is told now, once, of its
// planned deployment time; a rerun, or the workflow's own notice run racing it, tells nobody twice.

const world = new RunningRelease();
const by = 'release-manager@securewatch.example.com';
const fleet = sampleFleet(bundledConfig().policies);
const standard = fleet.customers.filter((customer) => customer.policy === 'standard').map((c) => c.id);
let release: string;

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  release = await world.plan();
  world.time = world.atDay(1);
});

const ofStandard = async () =>
  (await listCustomers(release)).filter((customer) => customer.phase === 'standard');

describe('sending a phase’s notices now', () => {
  it('tells every customer of the phase its planned deployment time, now, one email each', async () => {
    const result = await sendPhaseNotices(release, 'standard', { by });

    expect(result.sent.sort()).toEqual([...standard].sort());
    expect(world.emails()).toHaveLength(standard.length);
    for (const customer of await ofStandard()) {
      expect(customer).toMatchObject({ state: 'noticed', noticeSentAt: world.atDay(1) });
      expect(customer.notifiedDeployAt).toBe(customer.deployAt);
      expect(customer.history.at(-1)).toMatchObject({ state: 'noticed', by });
    }
  });

  it('run again, sends nothing and says every notice was already sent', async () => {
    await sendPhaseNotices(release, 'standard', { by });

    const again = await sendPhaseNotices(release, 'standard', { by });

    expect(again.sent).toEqual([]);
    expect(again.alreadySent.sort()).toEqual([...standard].sort());
    expect(world.emails()).toHaveLength(standard.length);
  });

  it('racing the workflow’s own notice run, tells each customer once', async () => {
    const [byCommand, byWorkflow] = await Promise.all([
      sendPhaseNotices(release, 'standard', { by }),
      sendDueNotices(release, world.atDay(60), 100),
    ]);

    const told = (await listCustomers(release)).filter((customer) => customer.noticeSentAt).length;
    expect(world.emails()).toHaveLength(told);
    expect(byCommand.sent.length + byCommand.alreadySent.length).toBe(standard.length);
    expect(byWorkflow.sent).toBeGreaterThan(0);
  });

  it('sends nothing for a phase whose policy gives no advance notice, and says so', async () => {
    const result = await sendPhaseNotices(release, 'demo', { by });

    expect(result.sent).toEqual([]);
    expect(result.noNoticeNeeded).toHaveLength(fleet.customers.filter((c) => c.policy === 'demo').length);
    expect(world.emails()).toEqual([]);
  });

  it('sends nothing while a halt holds the release, and says how to go on', async () => {
    await halt({ release }, { reason: 'data loss reported', by });
    const queuedBefore = world.emails().length;

    const refused = sendPhaseNotices(release, 'standard', { by });

    await expect(refused).rejects.toThrow(UserFacingError);
    await expect(refused).rejects.toThrow(/data loss reported.*resume/);
    expect(world.emails()).toHaveLength(queuedBefore);
  });
});
