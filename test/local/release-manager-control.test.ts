import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../cli/context.js';
import type { ConnectTarget, TargetOptions } from '../../cli/target.js';
import { importFleet } from '../../lambdas/application/fleet.js';
import { recordOutcome } from '../../lambdas/application/outcomes.js';
import { pauseForFailedGate } from '../../lambdas/application/pause.js';
import { planAndRecordRelease } from '../../lambdas/application/plan.js';
import type { ReleaseStatusReport } from '../../lambdas/application/status.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { applyTransition, getCustomer } from '../../lambdas/store/customers.js';
import { getRelease, moveRelease } from '../../lambdas/store/releases.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { SAMPLE_FLEET_FILE } from '../../local/sample-fleet.js';
import { type CliRun, runCapturing } from '../support/cli.js';
import { startReleaseTable } from './support/release-table.js';

/** The release execution's planning tasks in turn: plan, write every chunk, open the release. */
const planRelease = ({ version, startAt }: { version: string; startAt: string }) =>
  planAndRecordRelease(version, startAt);

// The release manager's check-status, halt, resume, abort and rollback, run in-process on the sample fleet
// planned into dynalite by the real planning task. Step Functions, EventBridge and the email queue are
// recording fakes: every answer to a parked execution and every rollback started is checked there.

const START = '2027-03-01T09:00:00Z';
const ARN_PREFIX = 'arn:aws:states:us-east-1:123456789012:stateMachine:securewatch-release-';
const stepFunctionsMock = mockClient(SFNClient);
const eventsMock = mockClient(EventBridgeClient);
const queueMock = mockClient(SQSClient);
let database: LocalDynamoDb;
let time = START;
const connections: TargetOptions[] = [];

/** A target over the test's table and clock: what `connect` gives a command once it pointed everything at it. */
const connect: ConnectTarget = async (options) => {
  connections.push(options);
  useClock({ now: () => time });
  return {
    kind: 'local',
    description: 'dynalite (test)',
    now: async () => time,
    startRelease: async () => {
      throw new Error('not started by these commands');
    },
    scheduleReleaseStart: async () => {
      throw new Error('not scheduled by these commands');
    },
    close: async () => {},
  };
};

function run(argv: string[], extra: Partial<CliIo> = {}): Promise<CliRun> {
  return runCapturing(argv, { connect, ...extra });
}

beforeAll(async () => {
  database = await startReleaseTable({
    EVENT_BUS_NAME: 'securewatch-releases',
    EMAIL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/securewatch-email',
    ESCALATION_EMAILS: 'release-manager@securewatch.example.com',
    RELEASE_STATE_MACHINE_ARN_PREFIX: ARN_PREFIX,
  });
  await importFleet({ file: SAMPLE_FLEET_FILE }, 'test');
  resetFakes();
});

afterAll(async () => {
  useRealClock();
  stepFunctionsMock.restore();
  eventsMock.restore();
  queueMock.restore();
  delete process.env.RELEASE_STATE_MACHINE_ARN_PREFIX;
  resetClients();
  await database.stop();
});

/** Fresh recording fakes: every test sees only the calls it caused. */
function resetFakes(): void {
  stepFunctionsMock.reset();
  stepFunctionsMock.on(SendTaskSuccessCommand).resolves({});
  stepFunctionsMock.on(SendTaskFailureCommand).resolves({});
  stepFunctionsMock
    .on(StartExecutionCommand)
    .resolves({ executionArn: 'arn:execution', startDate: new Date() });
  eventsMock.reset();
  eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  queueMock.reset();
  queueMock.on(SendMessageCommand).resolves({ MessageId: 'queued' });
  queueMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
}

beforeEach(resetFakes);

/** The sample fleet's release `version`, planned and running, its demo customers `deployed` deployed at `at`. */
async function givenRunningRelease(
  version: string,
  deployed: { id: string; at: string }[] = [],
): Promise<void> {
  time = START;
  useClock({ now: () => time });
  await planRelease({ version, startAt: START });
  for (const { id, at } of deployed) {
    time = at;
    await applyTransition(version, id, TRANSITIONS.schedule, { at, by: 'test' });
    await applyTransition(version, id, TRANSITIONS.requestDeployment, { at, by: 'test' });
    await applyTransition(version, id, TRANSITIONS.recordDeployed, { at, by: 'test' }, { deployedAt: at });
    await recordOutcome(version, id, 'deployed', { by: 'test' });
  }
}

describe('check-status', () => {
  const VERSION = 'v1.1.0';

  beforeAll(async () => {
    await givenRunningRelease(VERSION, [{ id: 'demo-sales-us', at: '2027-03-01T10:00:00Z' }]);
    time = '2027-03-01T12:00:00Z';
  });

  it('prints the headline first, then a table per phase and batch', async () => {
    const status = await run(['check-status', '--version', VERSION, '--local']);

    expect(status.exitCode).toBe(0);
    const lines = status.stdout.split('\n');
    expect(lines[0]).toBe('v1.1.0 · RUNNING');
    expect(status.stdout).toMatch(/customers 44: deployed 1, failed 0/);
    expect(status.stdout).toMatch(
      /^Demo Release +2027-03-01 09:00 UTC +in progress +4 +1 +0 +0 +3 +0 +1 +—$/m,
    );
    expect(status.stdout).toMatch(/^Startup Early Access +2027-03-02 09:00 UTC +not started +10 /m);
    expect(status.stdout).toMatch(
      /^ {2}batch 1 of 1 +2027-03-01 09:00 UTC +in progress +4 +1 +0 +0 +3 +0 +1 +—$/m,
    );
    expect(status.stdout).toMatch(/^ {2}one at a time /m);
    expect(status.stdout).toContain('Pending approvals: 0');
    expect(status.stdout).toMatch(/rollback rate +0% +2%/);
    expect(status.stdout).toMatch(/^next: 20\d\d-.* UTC · /m);
    expect(connections.at(-1)).toMatchObject({ local: true });
  });

  it('prints the documented JSON with --json', async () => {
    const status = await run(['check-status', '--version', VERSION, '--json']);

    const report = JSON.parse(status.stdout) as ReleaseStatusReport;
    expect(report).toMatchObject({ release: VERSION, status: 'running', asOf: '2027-03-01T12:00:00Z' });
    expect(report.phases.map((phase) => phase.name)).toEqual(['demo', 'startup', 'standard', 'enterprise']);
    expect(report.phases[0]?.batches[0]?.counts).toMatchObject({ total: 4, deployed: 1, inFlight: 3 });
    expect(report.quality.breaches).toEqual([]);
    expect(report.fleetChangedSincePlanning).toBe(false);
  });

  it('shows one customer by name, case-insensitive, with its history', async () => {
    const status = await run(['check-status', '--version', VERSION, '--customer', 'demo · sales us']);

    expect(status.exitCode).toBe(0);
    expect(status.stdout.split('\n')[0]).toBe(
      'Demo · Sales US (demo-sales-us) · DEPLOYED in v1.1.0 (running)',
    );
    expect(status.stdout).toMatch(/2027-03-01 10:00 UTC {2}deployed/);
  });

  it('lists the candidates when a customer name matches several', async () => {
    const status = await run(['check-status', '--version', VERSION, '--customer', 'Delta']);

    expect(status.exitCode).toBe(1);
    expect(status.stderr).toContain('"Delta" matches 2 customers');
    expect(status.stderr).toContain('Delta Dental Group');
    expect(status.stdout).toBe('');
  });

  it('says a release never planned is unknown, and how to start it', async () => {
    const status = await run(['check-status', '--version', 'v9.9.9']);

    expect(status.exitCode).toBe(1);
    expect(status.stderr).toMatch(/^error: no release v9.9.9 has been planned or started\. Fix: /);
    expect(status.stderr).not.toMatch(/^\s+at /m);
  });

  it('with --watch, reprints every interval until stopped', async () => {
    const stop = new AbortController();
    const waits: number[] = [];
    const status = await run(['check-status', '--version', VERSION, '--watch', '--interval', '5'], {
      signal: stop.signal,
      sleep: async (milliseconds) => {
        waits.push(milliseconds);
        time = new Date(Date.parse(time) + milliseconds).toISOString();
        if (waits.length === 2) stop.abort();
      },
    });

    expect(status.exitCode).toBe(0);
    expect(waits).toEqual([5000, 5000]);
    expect(status.stdout.match(/^v1\.1\.0 · RUNNING$/gm)).toHaveLength(2);
    expect(status.stdout).toContain('── 2027-03-01 12:00 UTC');
  });

  it('with --watch, stops by itself once the release has ended', async () => {
    await givenRunningRelease('v1.5.0');
    const status = await run(['check-status', '--version', 'v1.5.0', '--watch', '--json'], {
      sleep: async () => {
        await moveRelease('v1.5.0', ['running'], 'completed');
      },
    });

    expect(status.exitCode).toBe(0);
    const reports = status.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ReleaseStatusReport);
    expect(reports.map((report) => report.status)).toEqual(['running', 'completed']);
  });

  it('refuses an interval under a second as a usage error', async () => {
    const status = await run(['check-status', '--version', VERSION, '--watch', '--interval', '0']);

    expect(status.exitCode).toBe(2);
    expect(status.stderr).toContain('at least 1');
  });
});

describe('halt and resume', () => {
  const VERSION = 'v1.2.0';

  beforeAll(async () => {
    await givenRunningRelease(VERSION);
    time = '2027-03-01T12:00:00Z';
  });

  it('halts the release, says so and records who and why', async () => {
    const halted = await run([
      'halt',
      '--version',
      VERSION,
      '--reason',
      'error rate up in demo',
      '--by',
      'alice',
    ]);

    expect(halted.exitCode).toBe(0);
    expect(halted.stdout).toBe(
      'v1.2.0 halted: error rate up in demo\nrecorded: by alice, reason "error rate up in demo"\n',
    );
    const record = await getRelease(VERSION);
    expect(record?.status).toBe('halted');
    expect(record?.halts).toEqual([
      expect.objectContaining({ scope: 'release', reason: 'error rate up in demo', by: 'alice' }),
    ]);
  });

  it('says a release already halted is halted, changes nothing and exits 0', async () => {
    const again = await run(['halt', '--version', VERSION, '--reason', 'again', '--by', 'bob', '--json']);

    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      command: 'halt',
      by: 'bob',
      reason: 'again',
      results: [
        {
          release: VERSION,
          changed: false,
          refused: false,
          message: 'v1.2.0 is already halted: error rate up in demo',
        },
      ],
    });
    expect((await getRelease(VERSION))?.halts).toHaveLength(1);
  });

  it('resumes it, and says a running release needs no resume', async () => {
    const resumed = await run([
      'resume',
      '--version',
      VERSION,
      '--reason',
      'fixed upstream',
      '--by',
      'alice',
    ]);
    const again = await run(['resume', '--version', VERSION, '--reason', 'fixed upstream', '--by', 'alice']);

    expect(resumed.exitCode).toBe(0);
    expect(resumed.stdout).toContain('v1.2.0 resumed: fixed upstream');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe('v1.2.0 is running; there is nothing to resume: nothing changed\n');
    expect((await getRelease(VERSION))?.halts[0]).toMatchObject({
      resumedBy: 'alice',
      resumeReason: 'fixed upstream',
    });
  });

  it('halts and resumes one customer named by a prefix of its name', async () => {
    const halted = await run([
      'halt',
      '--version',
      VERSION,
      '--customer',
      'acme corp',
      '--reason',
      'their audit week',
    ]);
    expect(halted.exitCode).toBe(0);
    expect(halted.stdout).toContain('acme-corporation halted in v1.2.0: their audit week');
    expect((await getCustomer(VERSION, 'acme-corporation'))?.halt).toMatchObject({
      reason: 'their audit week',
    });

    const resumed = await run([
      'resume',
      '--version',
      VERSION,
      '--customer',
      'ACME',
      '--reason',
      'audit over',
    ]);
    expect(resumed.exitCode).toBe(0);
    expect((await getCustomer(VERSION, 'acme-corporation'))?.halt).toBeUndefined();
  });

  it('halts every running release with --all, and resumes them', async () => {
    const halted = await run(['halt', '--all', '--reason', 'platform incident', '--by', 'oncall', '--json']);

    expect(halted.exitCode).toBe(0);
    const releases = (JSON.parse(halted.stdout) as { results: { release: string; changed: boolean }[] })
      .results;
    expect(releases).toEqual(
      expect.arrayContaining([expect.objectContaining({ release: VERSION, changed: true })]),
    );

    const resumed = await run(['resume', '--all', '--reason', 'incident over', '--by', 'oncall']);
    expect(resumed.exitCode).toBe(0);
    expect((await getRelease(VERSION))?.status).toBe('running');
  });

  it('refuses --version with --all, and --customer with --all, as usage errors', async () => {
    const both = await run(['halt', '--all', '--version', VERSION, '--reason', 'x']);
    const customerOfAll = await run(['halt', '--all', '--customer', 'ACME', '--reason', 'x']);
    const neither = await run(['resume', '--reason', 'x']);

    expect([both.exitCode, customerOfAll.exitCode, neither.exitCode]).toEqual([2, 2, 2]);
    expect(both.stderr).toContain('give --version V or --all, not both');
    expect(neither.stderr).toContain('name the release with --version V');
  });

  it('requires a reason', async () => {
    const halted = await run(['halt', '--version', VERSION]);

    expect(halted.exitCode).toBe(2);
    expect(halted.stderr).toContain("required option '--reason <text>' not specified");
    expect((await getRelease(VERSION))?.status).toBe('running');
  });
});

describe('abort', () => {
  const VERSION = 'v1.3.0';

  beforeAll(async () => {
    await givenRunningRelease(VERSION);
    time = '2027-03-01T12:00:00Z';
  });

  it('aborts the release once; again says it is aborted; a halt of it is refused', async () => {
    const aborted = await run(['abort', '--version', VERSION, '--reason', 'data loss bug', '--by', 'carol']);
    const again = await run(['abort', '--version', VERSION, '--reason', 'data loss bug', '--by', 'carol']);
    const halted = await run(['halt', '--version', VERSION, '--reason', 'too late']);

    expect(aborted.exitCode).toBe(0);
    expect(aborted.stdout).toContain('v1.3.0 aborted: data loss bug');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe('v1.3.0 is already aborted: nothing changed\n');
    expect(halted.exitCode).toBe(1);
    expect(halted.stderr).toBe('error: v1.3.0 is aborted; there is nothing to halt\n');
    expect((await getCustomer(VERSION, 'acme-corporation'))?.state).toBe('cancelled');
  });
});

describe('rollback', () => {
  const VERSION = 'v1.4.0';

  beforeAll(async () => {
    await givenRunningRelease(VERSION, [
      { id: 'demo-training', at: '2027-03-01T09:30:00Z' },
      { id: 'demo-sales-us', at: '2027-03-01T10:00:00Z' },
      { id: 'demo-sales-emea', at: '2027-03-01T10:00:00Z' },
    ]);
  });

  it('rolls back the customers named, starting one rollback workflow each, recording who and why', async () => {
    time = '2027-03-01T12:00:00Z';
    const rolled = await run([
      'rollback',
      '--version',
      VERSION,
      '--customers',
      'demo · sales us',
      '--reason',
      'login broken',
      '--by',
      'dave',
    ]);

    expect(rolled.exitCode).toBe(0);
    expect(rolled.stdout).toBe(
      'Demo · Sales US (demo-sales-us): rollback started (rolling-back)\nrecorded: by dave, reason "login broken"\n',
    );
    const starts = stepFunctionsMock.commandCalls(StartExecutionCommand);
    expect(starts).toHaveLength(1);
    expect(starts[0]?.args[0].input.stateMachineArn).toBe(`${ARN_PREFIX}v1-4-0-rollback`);
    expect(JSON.parse(starts[0]?.args[0].input.input ?? '{}')).toMatchObject({
      release: VERSION,
      customerId: 'demo-sales-us',
      trigger: 'operator',
      reason: 'login broken',
    });
    expect(await getCustomer(VERSION, 'demo-sales-us')).toMatchObject({
      state: 'rolling-back',
      rollbackRequestedBy: 'dave',
      rollbackReason: 'login broken',
    });
  });

  it('says a customer already rolling back is, and exits 0', async () => {
    const again = await run([
      'rollback',
      '--version',
      VERSION,
      '--customers',
      'demo-sales-us',
      '--reason',
      'x',
      '--json',
    ]);

    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout).customers).toEqual([
      {
        customerId: 'demo-sales-us',
        name: 'Demo · Sales US',
        outcome: 'already-rolling-back',
        state: 'rolling-back',
      },
    ]);
  });

  it('refuses a customer whose rollback window closed, with the reason, and exits 1', async () => {
    time = '2027-03-02T11:00:00Z';
    const refused = await run([
      'rollback',
      '--version',
      VERSION,
      '--customers',
      'Demo · Training',
      '--reason',
      'late',
    ]);

    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^error: rollback refused for Demo · Training \(.*window.*closed.*\)\n$/);
    expect((await getCustomer(VERSION, 'demo-training'))?.state).toBe('deployed');
  });

  it('refuses --batch unless a failed gate paused the release', async () => {
    const refused = await run(['rollback', '--version', VERSION, '--batch', '--reason', 'x']);

    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('only a release paused by a failed gate can roll back its batch');
  });

  it('rolls back the batch of the failed gate the release is paused on', async () => {
    time = '2027-03-01T13:00:00Z';
    await pauseForFailedGate(VERSION, {
      what: 'gate#demo_1',
      steps: ['demo_1'],
      reason: 'gate demo_1 failed',
    });

    const rolled = await run([
      'rollback',
      '--version',
      VERSION,
      '--batch',
      '--reason',
      'take it back',
      '--json',
    ]);

    expect(rolled.exitCode).toBe(0);
    expect(JSON.parse(rolled.stdout).batch).toMatchObject({
      changed: true,
      customers: 2,
      started: 2,
      refused: [],
    });
    expect((await getCustomer(VERSION, 'demo-sales-emea'))?.rollbackTrigger).toBe('gate-decision');
  });

  it('needs exactly one of --customers and --batch', async () => {
    const neither = await run(['rollback', '--version', VERSION, '--reason', 'x']);
    const both = await run([
      'rollback',
      '--version',
      VERSION,
      '--batch',
      '--customers',
      'a',
      '--reason',
      'x',
    ]);

    expect([neither.exitCode, both.exitCode]).toEqual([2, 2]);
    expect(neither.stderr).toContain('give either --customers "A,B" or --batch');
  });
});
