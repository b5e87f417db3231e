import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKLIST_ITEM_IDS } from '../../lambdas/core/checklist.js';
import { type CommandResult, type ServedStack, serveLocalStack, until } from './support/local-stack.js';

// The workflow document's Command Reference, each line run literally (plus --local) against a local stack
// started as a person starts it, with the halt, resume and rollback drills an operator runs — the whole
// manual flow: plan, tick the checklist, start, watch, halt, resume, deploy early, roll back, validate.

const RELEASE_MANAGER = './scripts/minor-release-manager.sh';
const TAGS = './scripts/tag-based-deploy.sh';
const UPDATE_CUSTOMER = './scripts/update-customer.sh';

let stack: ServedStack;

async function local(commandLine: string): Promise<CommandResult> {
  return stack.run(`${commandLine} --local`);
}

async function expectDone(commandLine: string): Promise<CommandResult> {
  const result = await local(commandLine);
  expect(result.stderr, commandLine).not.toMatch(/^\s+at /m);
  expect({ commandLine, status: result.status, stderr: result.stderr }).toMatchObject({ status: 0 });
  return result;
}

async function statusOf(customer?: string): Promise<Record<string, unknown>> {
  const which = customer ? ` --customer "${customer}"` : '';
  const { stdout } = await expectDone(`${RELEASE_MANAGER} check-status --version v1.1.0${which} --json`);
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('the Command Reference, by hand, on a local stack', { timeout: 900_000 }, () => {
  beforeAll(async () => {
    stack = await serveLocalStack('--day', '1s', '--auto-approve');
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('plans, ticks the checklist, tags, starts, watches, halts, resumes, deploys early, rolls back and validates', async () => {
    const plan = await expectDone(`${RELEASE_MANAGER} plan-release --version v1.1.0`);
    expect(plan.stdout).toContain('SecureWatch v1.1.0 · minor release plan');

    const refused = await local(`${RELEASE_MANAGER} start-phase --version v1.1.0 --phase demo`);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('cannot start');

    await expectDone(`${TAGS} create-tag --version v1.1.0`);
    const ticked = await expectDone(
      `${RELEASE_MANAGER} checklist --version v1.1.0 --tick ${CHECKLIST_ITEM_IDS.join(',')} --by qa-lead`,
    );
    expect(ticked.stdout).toContain('every item is ticked');

    const started = await expectDone(`${RELEASE_MANAGER} start-phase --version v1.1.0 --phase demo`);
    expect(started.stdout).toContain('Started v1.1.0');
    const again = await expectDone(`${RELEASE_MANAGER} start-phase --version v1.1.0 --phase demo`);
    expect(again.stdout).toContain('already started');

    const watched = await expectDone(`${RELEASE_MANAGER} check-status --version v1.1.0`);
    expect(watched.stdout).toMatch(/v1\.1\.0 · RUNNING/);

    await expectDone(`${RELEASE_MANAGER} halt --version v1.1.0 --reason "drill: emergency halt"`);
    expect(await statusOf()).toMatchObject({ status: 'halted' });
    await expectDone(`${RELEASE_MANAGER} resume --version v1.1.0 --reason "drill over"`);
    expect(await statusOf()).toMatchObject({ status: 'running' });

    const notices = await expectDone(
      `${RELEASE_MANAGER} send-notifications --version v1.1.0 --phase standard`,
    );
    expect(notices.stdout).toMatch(/v1\.1\.0 standard: /);
    const byPolicy = await expectDone(
      `${RELEASE_MANAGER} deploy-customers --version v1.1.0 --customers startup`,
    );
    expect(byPolicy.stdout).toContain('TechStart Inc');
    const byName = await expectDone(
      `${RELEASE_MANAGER} deploy-customers --version v1.1.0 --customers "ACME Corp,TechStart Inc"`,
    );
    expect(byName.stdout).toContain('ACME Corporation (acme-corporation)');

    await until(
      stack,
      'TechStart Inc deployed',
      () => statusOf('TechStart Inc'),
      (seen) => seen.state === 'deployed',
    );
    await expectDone(
      `${RELEASE_MANAGER} rollback --version v1.1.0 --customers "TechStart Inc" --reason "drill"`,
    );
    await until(
      stack,
      'TechStart Inc rolled back',
      () => statusOf('TechStart Inc'),
      (seen) => seen.state === 'rolled-back',
    );
    // No startup rollback is allowed: the startup gate pauses the release for a decision, and starting the
    // next phase is that decision.
    const paused = await until(
      stack,
      'the startup gate paused',
      () => statusOf(),
      (seen) => seen.status === 'paused',
    );
    expect(paused.pausedGates).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/rollback/) }),
    ]);
    const released = await expectDone(`${RELEASE_MANAGER} start-phase --version v1.1.0 --phase standard`);
    expect(released.stdout).toContain('Released v1.1.0, paused');

    await until(
      stack,
      'ACME Corporation deployed early',
      () => statusOf('ACME Corporation'),
      (seen) => seen.state === 'deployed',
    );
    const updated = await expectDone(`${UPDATE_CUSTOMER} --version v1.1.0 --customer "ACME Corporation"`);
    expect(updated.stdout).toContain('already');

    const validated = await until(
      stack,
      'v1.1.0 valid for enterprise',
      () => local(`${TAGS} validate --version v1.1.0 --policy enterprise`),
      (seen) => seen.status === 0,
    );
    expect(validated.stdout).toContain('enterprise');
    await expectDone(`${RELEASE_MANAGER} start-phase --version v1.1.0 --phase enterprise`);
  });
});
