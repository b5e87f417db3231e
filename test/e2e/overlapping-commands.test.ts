import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKLIST_ITEM_IDS } from '../../lambdas/core/checklist.js';
import { type CommandResult, type ServedStack, serveLocalStack, until } from './support/local-stack.js';

// Two minor releases on one local stack, through the release manager's commands: v1.2.0 is started while
// v1.1.0 is under way. It takes over every customer v1.1.0 has not asked anything of yet; those v1.1.0
// already deployed go on from there; nobody runs an older version afterwards than before.

const RELEASE_MANAGER = './scripts/minor-release-manager.sh';

let stack: ServedStack;

async function done(commandLine: string): Promise<CommandResult> {
  const result = await stack.run(`${commandLine} --local`);
  expect({ commandLine, status: result.status, stderr: result.stderr }).toMatchObject({ status: 0 });
  return result;
}

interface Status {
  status: string;
  counts: { total: number; deployed: number; superseded: number; inFlight: number };
}

const statusOf = async (version: string): Promise<Status> =>
  JSON.parse((await done(`${RELEASE_MANAGER} check-status --version ${version} --json`)).stdout) as Status;

const versionsOf = async (): Promise<Map<string, string>> => {
  const { stdout } = await done(`${RELEASE_MANAGER} customers list --json`);
  const list = JSON.parse(stdout) as { customers: { id: string; currentVersion: string }[] };
  return new Map(list.customers.map((customer) => [customer.id, customer.currentVersion]));
};

const rank = (version: string) => {
  const [major = 0, minor = 0, patch = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major * 1_000_000 + minor * 1_000 + patch;
};

describe('a second release started while the first runs', { timeout: 900_000 }, () => {
  beforeAll(async () => {
    stack = await serveLocalStack('--day', '1s', '--auto-approve');
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('supersedes the first release’s pending customers and downgrades nobody', async () => {
    const before = await versionsOf();
    await done(`${RELEASE_MANAGER} checklist --version v1.1.0 --tick ${CHECKLIST_ITEM_IDS.join(',')}`);
    await done(`${RELEASE_MANAGER} start-phase --version v1.1.0 --phase demo`);
    const underWay = await until(
      stack,
      'v1.1.0 deploying its startup customers',
      () => statusOf('v1.1.0'),
      (seen) => seen.counts.deployed >= 5,
    );

    const plan = await done(`${RELEASE_MANAGER} plan-release --version v1.2.0`);
    expect(plan.stdout).toMatch(/Takes over from v1\.1\.0: \d+ customer\(s\) it has not deployed yet/);
    await done(
      `${RELEASE_MANAGER} start-phase --version v1.2.0 --phase demo --override --reason "security fix"`,
    );

    const older = await until(
      stack,
      'v1.1.0 superseded',
      () => statusOf('v1.1.0'),
      (seen) => seen.counts.superseded > 0,
    );
    // The customers it had deployed go on from there; the others follow v1.2.0's plan.
    expect(older.counts.deployed).toBeGreaterThanOrEqual(underWay.counts.deployed);
    const newer = await statusOf('v1.2.0');
    expect(newer.counts.total).toBe(before.size);

    await until(
      stack,
      'v1.2.0 deploying',
      () => statusOf('v1.2.0'),
      (seen) => seen.counts.deployed >= 5,
    );
    const after = await versionsOf();
    for (const [customer, version] of before)
      expect({ customer, version: after.get(customer) }).toEqual({
        customer,
        version: expect.toSatisfy((now: string) => rank(now) >= rank(version)),
      });
  });
});
