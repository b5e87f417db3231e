import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_METADATA } from '../../lib/constructs/orchestrator-function.js';
import { STATE_MACHINE_ROLE_METADATA } from '../../lib/release-stack.js';
import { SimulatedClock } from '../../local/clock.js';
import { type CallbackChanged, LocalStepFunctions } from '../../local/step-functions.js';
import {
  asksApprovers,
  type LocalStateMachine,
  parksRelease,
  type ResolvedCloud,
  rateMs,
  resolveCloud,
  type SynthesizedRelease,
  synthesizeRelease,
} from '../../local/templates.js';

const NAMES = { tables: {}, approvalApiUrl: 'http://127.0.0.1:9', signingKey: 'local-key' };

type States = Record<string, Record<string, unknown>>;

/** The same workflow with every state renamed (`State 1`, `State 2`, ...), transitions included. */
function withStatesRenamed(definition: Record<string, unknown>): Record<string, unknown> {
  const states = definition.States as States;
  const names = new Map(Object.keys(states).map((name, index) => [name, `State ${index + 1}`]));
  const renamed = (name: unknown) => names.get(String(name)) ?? String(name);
  const renamedState = (state: Record<string, unknown>) => ({
    ...state,
    ...(state.Next ? { Next: renamed(state.Next) } : {}),
    ...(state.Default ? { Default: renamed(state.Default) } : {}),
    ...(state.Choices
      ? { Choices: (state.Choices as { Next: string }[]).map((c) => ({ ...c, Next: renamed(c.Next) })) }
      : {}),
    ...(state.Catch
      ? { Catch: (state.Catch as { Next: string }[]).map((c) => ({ ...c, Next: renamed(c.Next) })) }
      : {}),
  });
  return {
    ...definition,
    StartAt: renamed(definition.StartAt),
    States: Object.fromEntries(
      Object.entries(states).map(([name, state]) => [renamed(name), renamedState(state)]),
    ),
  };
}

function callbackTasksOf(machine: LocalStateMachine): { stateName: string; functionArn: string }[] {
  return Object.entries(machine.definition.States as States)
    .filter(([, state]) => String(state.Resource).endsWith(':lambda:invoke.waitForTaskToken'))
    .map(([stateName, state]) => ({
      stateName,
      functionArn: String((state.Parameters as { FunctionName: string }).FunctionName),
    }));
}

describe('the local runtime keys on what the templates say, not on names', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'securewatch-keyed-'));
  let templates: SynthesizedRelease;
  let cloud: ResolvedCloud;

  beforeAll(() => {
    templates = synthesizeRelease('v1.1.0', outdir);
    cloud = resolveCloud(templates, NAMES);
    for (const machine of cloud.stateMachines.values())
      machine.definition = withStatesRenamed(machine.definition);
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  const machineWithRole = (role: string) =>
    [...cloud.stateMachines.values()].find((machine) => machine.role === role) as LocalStateMachine;

  it('holds simulated time while approvers are asked, whatever the asking state is called', async () => {
    const clock = new SimulatedClock({ startAt: '2030-03-04T09:00:00Z', msPerSimulatedDay: 0 });
    const calls: string[] = [];
    let token = '';
    const stepFunctions = new LocalStepFunctions(
      clock,
      cloud.stateMachines,
      async (functionArn, payload) => {
        const operation = cloud.functions.get(functionArn)?.operation ?? functionArn;
        calls.push(operation);
        if (operation === 'request-approval') {
          token = (payload as { taskToken: string }).taskToken;
          return { requestId: 'request-1' };
        }
        if (operation === 'schedule-deployment') return { deployAt: null, reason: 'no window left' };
        if (operation === 'record-outcome') return { recorded: true };
        throw new Error(`Unexpected ${operation}`);
      },
      (task) => asksApprovers(cloud, task),
    );
    const asked = new Promise<CallbackChanged>((resolve) =>
      stepFunctions.onCallback((event) => event.waiting && resolve(event)),
    );

    const execution = stepFunctions.startExecution(machineWithRole('customer-rollout').arn, 'acme', {
      release: 'v1.1.0',
      customerId: 'acme',
      deployable: true,
      approvalRequired: true,
      approvalTimeoutSeconds: 86_400,
    });
    const callback = await asked;
    expect(callback.stateName).toMatch(/^State \d+$/);
    expect(clock.holdReasons()).toEqual([`acme: ${callback.stateName}`]);

    stepFunctions.sendTaskSuccess(token, { decision: 'approve' });
    const ended = await execution.done;
    clock.stop();

    expect(ended.status).toBe('SUCCEEDED');
    expect(calls).toEqual(['request-approval', 'schedule-deployment', 'record-outcome']);
    expect(clock.holdReasons()).toEqual([]);
  });

  it('lets time go on for an approval nobody can answer, which then times out on the simulated clock', async () => {
    const clock = new SimulatedClock({ startAt: '2030-03-04T09:00:00Z', msPerSimulatedDay: 0 });
    const outcomes: unknown[] = [];
    let token = '';
    const stepFunctions = new LocalStepFunctions(
      clock,
      cloud.stateMachines,
      async (functionArn, payload) => {
        const operation = cloud.functions.get(functionArn)?.operation ?? functionArn;
        if (operation === 'request-approval') {
          token = (payload as { taskToken: string }).taskToken;
          return { requestId: 'request-1' };
        }
        if (operation === 'record-outcome') {
          outcomes.push(payload);
          return { recorded: true };
        }
        throw new Error(`Unexpected ${operation}`);
      },
      (task) => asksApprovers(cloud, task),
    );
    const asked = new Promise<void>((resolve) =>
      stepFunctions.onCallback((event) => event.waiting && resolve()),
    );
    const execution = stepFunctions.startExecution(machineWithRole('customer-rollout').arn, 'acme', {
      release: 'v1.1.0',
      customerId: 'acme',
      deployable: true,
      approvalRequired: true,
      approvalTimeoutSeconds: 86_400,
    });
    await asked;

    expect(stepFunctions.stopHolding(token)).toBe(true);
    const ended = await execution.done;
    const endedAt = clock.now();
    clock.stop();

    expect(ended.status).toBe('SUCCEEDED');
    expect(outcomes).toEqual([expect.objectContaining({ customerId: 'acme', outcome: 'deferred' })]);
    expect(endedAt).toBe('2030-03-05T09:00:00.000Z');
    expect(clock.holdReasons()).toEqual([]);
    expect(stepFunctions.stopHolding(token)).toBe(false);
  });

  it('finds the release’s parking tasks by the function they invoke and the role of their state machine', () => {
    const parks = (role: 'release' | 'customer-rollout') =>
      callbackTasksOf(machineWithRole(role)).filter((task) =>
        parksRelease(cloud, { execution: { stateMachineRole: role }, ...task }),
      );

    expect(parks('release').length).toBeGreaterThan(0);
    expect(
      parks('release').every((task) => cloud.functions.get(task.functionArn)?.operation === 'await-decision'),
    ).toBe(true);
    expect(parks('customer-rollout')).toEqual([]);
  });

  it('refuses templates whose functions or state machines do not say what they are', () => {
    const without = (type: string, key: string): SynthesizedRelease => {
      const copy = structuredClone(templates);
      const [, resource] =
        Object.entries({ ...copy.platform.Resources, ...copy.release.Resources }).find(
          ([, candidate]) => candidate.Type === type && candidate.Metadata?.[key] !== undefined,
        ) ?? [];
      if (resource?.Metadata) delete resource.Metadata[key];
      return copy;
    };

    expect(() => resolveCloud(without('AWS::Lambda::Function', OPERATION_METADATA), NAMES)).toThrow(
      /has no securewatch:operation metadata/,
    );
    expect(() =>
      resolveCloud(without('AWS::StepFunctions::StateMachine', STATE_MACHINE_ROLE_METADATA), NAMES),
    ).toThrow(/needs securewatch:role metadata/);
  });

  it('serves each secret with the value its template generates, and refuses a secret in an environment', () => {
    const withKeyInEnvironment = structuredClone(templates);
    const [fn] = Object.values(withKeyInEnvironment.platform.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Function' && resource.Metadata?.[OPERATION_METADATA],
    );
    const environment = fn?.Properties?.Environment as { Variables: Record<string, unknown> };
    environment.Variables.APPROVAL_SIGNING_KEY =
      '{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:000000000000:secret:key:SecretString:::}}';

    expect(cloud.secrets).toEqual([
      expect.objectContaining({
        name: 'securewatch/approval-signing-keys',
        secretString: JSON.stringify({ current: 'local-key' }),
      }),
    ]);
    expect(() => resolveCloud(withKeyInEnvironment, NAMES)).toThrow(
      /gets a secret in its environment \(APPROVAL_SIGNING_KEY\); give it the secret's ARN/,
    );
  });

  it('runs the template’s scheduled rule (the health sweep) at its rate, invoking the function it targets', () => {
    expect(
      cloud.schedules.map((schedule) => ({
        everyMs: schedule.everyMs,
        operations: schedule.targetArns.map((arn) => cloud.functions.get(arn)?.operation),
      })),
    ).toEqual([{ everyMs: 6 * 3_600_000, operations: ['health-sweep'] }]);
    expect(cloud.rules.some((rule) => rule.pattern === undefined)).toBe(false);
  });

  it('refuses a schedule it cannot run locally, naming the rule', () => {
    expect(rateMs('rate(5 minutes)', 'Sweep')).toBe(300_000);
    expect(rateMs('rate(1 day)', 'Sweep')).toBe(86_400_000);
    expect(() => rateMs('cron(0 12 * * ? *)', 'Sweep')).toThrow(
      'Rule Sweep is scheduled by "cron(0 12 * * ? *)"; the local runtime runs rate(N minutes|hours|days) only',
    );
  });
});
