import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Target, TargetOptions } from '../../cli/target.js';
import { halt } from '../../lambdas/application/halt.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { applyTransition, requireCustomer } from '../../lambdas/store/customers.js';
import { type CliRun, runCapturing } from '../support/cli.js';
import { RunningRelease } from './support/running-release.js';

// deploy-customers, update-customer and send-notifications run in-process against a running release in
// dynalite, as a release manager types them.

const world = new RunningRelease();
let release: string;
const connections: TargetOptions[] = [];

const target: Target = {
  kind: 'local',
  description: 'a dynalite table of the tests',
  now: async () => world.time,
  startRelease: async () => ({ executionArn: 'not used', alreadyStarted: true }),
  scheduleReleaseStart: async () => {},
  close: async () => {},
};

function run(...argv: string[]): Promise<CliRun> {
  return runCapturing(argv, {
    connect: async (options) => {
      connections.push(options);
      return target;
    },
  });
}

beforeAll(() => world.start());
afterAll(() => world.stop());
beforeEach(async () => {
  release = await world.plan();
  world.time = world.atDay(1);
  connections.length = 0;
});

describe('deploy-customers', () => {
  it('deploys the customers named (case-insensitive, by unique prefix) and says what happens to each', async () => {
    const result = await run(
      'deploy-customers',
      '--version',
      release,
      '--customers',
      'acme corp,TechStart Inc',
      '--by',
      'alice',
      '--local',
    );

    expect(result.exitCode).toBe(0);
    expect(connections).toEqual([expect.objectContaining({ local: true })]);
    expect(result.stdout).toContain(`${release}: early deployment of 2 customer(s), asked by alice`);
    expect(result.stdout).toMatch(/→ ACME Corporation \(acme-corporation\): started — rollout started/);
    expect(result.stdout).toMatch(/→ TechStart Inc \(techstart-inc\): started/);
    expect(result.stdout).toContain('2 started');
    expect(world.executions.size).toBe(2);
  });

  it('with a policy, deploys that policy’s customers; run again, says they already started and exits 0', async () => {
    await run('deploy-customers', '--version', release, '--customers', 'startup');

    const again = await run('deploy-customers', '--version', release, '--customers', 'startup', '--json');

    const answer = JSON.parse(again.stdout);
    expect(again.exitCode).toBe(0);
    expect(answer).toMatchObject({ release, force: false, reason: null });
    expect(answer.customers).toHaveLength(10);
    expect(answer.customers.every((each: { outcome: string }) => each.outcome === 'already-started')).toBe(
      true,
    );
    expect(world.executions.size).toBe(10);
  });

  it('forced, records who and why and prints it', async () => {
    const result = await run(
      'deploy-customers',
      '--version',
      release,
      '--customers',
      'FinanceFirst Bank',
      '--force',
      '--reason',
      'security fix',
      '--by',
      'alice',
    );

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('forced by alice: security fix');
    expect((await requireCustomer(release, 'financefirst-bank')).earlyDeployment).toMatchObject({
      by: 'alice',
      force: true,
      reason: 'security fix',
    });
  });

  it('refuses a name matching several customers, listing them, and deploys nobody', async () => {
    const result = await run('deploy-customers', '--version', release, '--customers', 'Delta');

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('"Delta" matches 2 customers');
    expect(result.stderr).toContain('Delta Dental Group');
    expect(world.executions.size).toBe(0);
  });

  it('exits 1 naming the customers it could not deploy, after saying what it did for the others', async () => {
    const cause = { at: world.time, by: 'test' };
    await applyTransition(release, 'aurora-retail', TRANSITIONS.hold, cause, { outcomeReason: 'no window' });

    const result = await run(
      'deploy-customers',
      '--version',
      release,
      '--customers',
      'Aurora Retail,Dataflux',
    );

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/✗ Aurora Retail \(aurora-retail\): refused — its rollout ended held/);
    expect(result.stdout).toMatch(/→ Dataflux \(dataflux\): started/);
    expect(result.stderr).toContain('1 customer(s) not deployed: aurora-retail');
  });

  it('is a usage error to force without a reason', async () => {
    const result = await run('deploy-customers', '--version', release, '--customers', 'startup', '--force');

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--force needs --reason');
    expect(world.executions.size).toBe(0);
  });

  it('refuses while the release is halted, naming how to resume', async () => {
    await halt({ release }, { reason: 'data loss reported', by: 'alice' });

    const result = await run('deploy-customers', '--version', release, '--customers', 'startup');

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `error: ${release} is halted (data loss reported): no customer is deployed while it is; resume it first with \`resume --version ${release}\`\n`,
    );
  });
});

describe('update-customer', () => {
  it('deploys the one customer by its policy’s rules and says when it can land', async () => {
    const result = await run('update-customer', '--version', release, '--customer', 'ACME Corporation');

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /→ ACME Corporation \(acme-corporation\): started — rollout started: deploys in its first window from/,
    );
  });

  it('says a customer already deployed in the release is on the version, and exits 0', async () => {
    const cause = { at: world.time, by: 'test' };
    await applyTransition(release, 'acme-corporation', TRANSITIONS.schedule, cause);
    await applyTransition(release, 'acme-corporation', TRANSITIONS.requestDeployment, cause);
    await applyTransition(release, 'acme-corporation', TRANSITIONS.recordDeployed, cause, {
      deployedAt: world.time,
    });

    const result = await run(
      'update-customer',
      '--version',
      release,
      '--customer',
      'acme corporation',
      '--json',
    );

    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      release,
      customerId: 'acme-corporation',
      outcome: 'already-deployed',
    });
    expect(world.executions.size).toBe(0);
  });

  it('says a customer the fleet already has on this version or later is on it, and exits 0', async () => {
    const result = await run('update-customer', '--version', 'v1.0.0', '--customer', 'ACME Corporation');

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(
      'ACME Corporation (acme-corporation) is already on v1.0.0 or later: already runs v1.0.0; nothing to do\n',
    );
  });
});

describe('send-notifications', () => {
  it('sends the phase’s notices now; run again, says they were already sent and exits 0', async () => {
    const first = await run('send-notifications', '--version', release, '--phase', 'standard');
    const second = await run('send-notifications', '--version', release, '--phase', 'standard', '--json');

    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain(
      `${release} standard: sent 22 advance notice(s) now, each telling the customer its planned deployment time`,
    );
    expect(second.exitCode).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ release, phase: 'standard', sent: [] });
    expect(JSON.parse(second.stdout).alreadySent).toHaveLength(22);
    expect(world.emails()).toHaveLength(22);
  });

  it('is a usage error to name a phase that does not exist', async () => {
    const result = await run('send-notifications', '--version', release, '--phase', 'beta');

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Allowed choices are demo, startup, standard, enterprise');
  });
});
