import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { RECORDING_FAILED } from '../../statemachines/customer-rollout.js';
import type { AslDefinition, AslState } from '../../statemachines/history-projection.js';
import {
  CUSTOMER_STATE_MACHINE,
  definitionOf,
  functionHandlersByName,
  RELEASE_STATE_MACHINE,
  synthesizeApp,
  textOf,
} from './support/synth.js';

const TRANSIENT_ERRORS = new Set([
  'Transient',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
]);

// The function's ARN, built from its fixed name in the release's own partition, region and account.
const NAMED_FUNCTION =
  /^arn:\$\{Ref:AWS::Partition\}:lambda:\$\{Ref:AWS::Region\}:\$\{Ref:AWS::AccountId\}:function:([a-z0-9-]+)$/;

function tasksOf(definition: AslDefinition): [string, AslState][] {
  return Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');
}

/** The name of the platform function a Lambda task invokes, directly or through lambda:invoke. */
function invokedFunctionOf(state: AslState): string | undefined {
  const functionName = state.Resource?.includes(':states:::lambda:invoke')
    ? String(state.Parameters?.FunctionName)
    : state.Resource;
  return functionName?.match(NAMED_FUNCTION)?.[1];
}

describe('the release stack for v1.1.0', () => {
  let platform: Template;
  let release: Template;
  let workflows: Record<'release' | 'customer', AslDefinition>;

  beforeAll(() => {
    ({ platform, release } = synthesizeApp({ bundle: false }));
    workflows = {
      release: definitionOf(release, RELEASE_STATE_MACHINE),
      customer: definitionOf(release, CUSTOMER_STATE_MACHINE),
    };
  });

  describe('state machines', () => {
    it.each([RELEASE_STATE_MACHINE, CUSTOMER_STATE_MACHINE])('include %s', (name) => {
      release.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: name });
    });

    it('are exactly the release and its customer rollout', () => {
      release.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    });

    it('log every event, without execution data, to a log group of their own', () => {
      const logGroups = Object.values(release.findResources('AWS::StepFunctions::StateMachine')).map(
        (machine) => {
          const logging = machine.Properties.LoggingConfiguration;
          // Execution data would carry callback task tokens into CloudWatch Logs.
          expect(logging).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
          return logging.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
        },
      );

      expect(new Set(logGroups).size).toBe(2);
      for (const logGroup of logGroups)
        expect(release.findResources('AWS::Logs::LogGroup')[logGroup]).toBeDefined();
    });

    it('are traced with X-Ray', () => {
      release.allResourcesProperties('AWS::StepFunctions::StateMachine', {
        TracingConfiguration: { Enabled: true },
      });
    });
  });

  describe.each(['release', 'customer'] as const)('the %s workflow', (workflow) => {
    it('ends its execution by a timeout of its own', () => {
      expect(workflows[workflow].TimeoutSeconds).toBeGreaterThan(0);
    });

    it('gives every task an explicit timeout', () => {
      const untimed = tasksOf(workflows[workflow])
        .filter(([, state]) => state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined)
        .map(([name]) => name);

      expect(untimed).toEqual([]);
    });

    it('retries tasks on transient errors only, with full jitter', () => {
      const retriers = tasksOf(workflows[workflow]).flatMap(([, state]) => state.Retry ?? []);

      expect(retriers.length).toBeGreaterThan(0);
      for (const retrier of retriers) {
        expect(retrier.ErrorEquals.every((error) => TRANSIENT_ERRORS.has(error))).toBe(true);
        expect(retrier.JitterStrategy).toBe('FULL');
      }
    });

    it('invokes only functions the platform stack names, by their fixed names', () => {
      const named = functionHandlersByName(platform);
      const invoked = tasksOf(workflows[workflow]).map(([, state]) => invokedFunctionOf(state));

      expect(invoked.length).toBeGreaterThan(0);
      for (const name of invoked) expect(named.has(name as string)).toBe(true);
    });
  });

  describe('the release workflow', () => {
    it('names its states so the console explains them', () => {
      expect(Object.keys(workflows.release.States)).toEqual(
        expect.arrayContaining([
          'Plan release',
          'Standard · wait for batch 2 (day 11)',
          'Standard · batch 2 of 4 · start customer rollouts',
          'Standard · batch 2 of 4 · gate',
          'Enterprise · wait for phase start (day 22)',
          'Enterprise · customers · await customers',
          'Enterprise · wait out testing period (day 52)',
          'Standard · batch 2 of 4 · halted, awaiting decision',
          'Standard · batch 2 of 4 · gate failed, awaiting decision',
          'Standard · batch 3 of 4 · halted before opening, awaiting decision',
          'Standard · phase · halted, awaiting decision',
          'Record failure',
          'Release failed',
          'Release aborted',
          'Release complete',
        ]),
      );
    });

    it.each([
      ['Plan release', 'plan-release'],
      ['Release · send advance notices', 'send-notices'],
      ['Standard · batch 2 of 4 · start customer rollouts', 'start-customer-rollouts'],
      ['Enterprise · customers · await customers', 'await-step'],
      ['Standard · phase · gate', 'evaluate-gate'],
      ['Report release', 'complete-release'],
      ['Record failure', 'record-failure'],
      ['Standard · batch 2 of 4 · halted, awaiting decision', 'await-decision'],
      ['Standard · batch 2 of 4 · gate failed, awaiting decision · remind', 'remind-paused'],
      ['Abort release', 'abort-release'],
    ])('has "%s" call the %s handler', (stateName, handler) => {
      const state = workflows.release.States[stateName] as AslState;

      expect(functionHandlersByName(platform).get(invokedFunctionOf(state) as string)).toBe(
        `lambdas/handlers/${handler}.ts`,
      );
    });

    it('never iterates customers itself: it has no Map or Parallel state', () => {
      const iterating = Object.values(workflows.release.States).filter(
        (state) => state.Type === 'Map' || state.Type === 'Parallel',
      );

      expect(iterating).toEqual([]);
    });

    it('starts customer rollouts on the customer state machine of the same stack', () => {
      const [customerMachineId] = Object.keys(
        release.findResources('AWS::StepFunctions::StateMachine', {
          Properties: { StateMachineName: CUSTOMER_STATE_MACHINE },
        }),
      );
      const start = workflows.release.States['Standard · batch 2 of 4 · start customer rollouts'];

      expect(start?.Parameters?.customerStateMachineArn).toBe(`\${Ref:${customerMachineId}}`);
    });

    it('catches every failing task into Record failure', () => {
      const uncaught = tasksOf(workflows.release)
        .filter(([name]) => name !== 'Record failure')
        .filter(
          ([, state]) =>
            !state.Catch?.some(
              (catcher) => catcher.ErrorEquals.includes('States.ALL') && catcher.Next === 'Record failure',
            ),
        )
        .map(([name]) => name);

      expect(uncaught).toEqual([]);
    });

    it('parks every awaiting-decision callback with a timeout that leads to a reminder, never to a decision', () => {
      const parks = tasksOf(workflows.release).filter(([name]) => name.endsWith('awaiting decision'));

      expect(parks.length).toBeGreaterThan(0);
      for (const [name, state] of parks) {
        expect(state.TimeoutSeconds, name).toBe(86_400);
        const onTimeout = state.Catch?.find((catcher) => catcher.ErrorEquals.includes('States.Timeout'));
        expect(onTimeout?.Next, name).toBe(`${name} · remind`);
      }
    });

    it('keeps Fail for a release that cannot go on: a failed gate parks instead of ending', () => {
      const fails = Object.entries(workflows.release.States).filter(([, state]) => state.Type === 'Fail');

      expect(fails.map(([name]) => name)).toEqual(['Release failed']);
    });
  });

  describe('a customer rollout that fails, times out or is stopped', () => {
    it('is brought from the default bus to record-rollout-ended, retried for up to 24 hours, then kept in the platform’s dead letters', () => {
      const [customerMachineId] = Object.keys(
        release.findResources('AWS::StepFunctions::StateMachine', {
          Properties: { StateMachineName: CUSTOMER_STATE_MACHINE },
        }),
      );
      const rules = Object.values(release.findResources('AWS::Events::Rule'));

      expect(rules).toHaveLength(1);
      const [rule] = rules;
      // No bus named: the account's default bus, where Step Functions reports status changes.
      expect(rule?.Properties.EventBusName).toBeUndefined();
      expect(rule?.Properties.EventPattern).toEqual({
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [{ Ref: customerMachineId }],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      });
      const [target] = rule?.Properties.Targets ?? [];
      const functionName = textOf(target.Arn).match(NAMED_FUNCTION)?.[1];
      expect(functionHandlersByName(platform).get(functionName as string)).toBe(
        'lambdas/handlers/record-rollout-ended.ts',
      );
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86_400 });
      expect(textOf(target.DeadLetterConfig.Arn)).toMatch(/:sqs:.*:securewatch-release-event-dead-letters$/);
      expect(
        Object.values(platform.findResources('AWS::SQS::Queue')).map((q) => q.Properties.QueueName),
      ).toContain('securewatch-release-event-dead-letters');
    });
  });

  describe('the customer workflow', () => {
    it.each([
      ['Ask approvers', 'request-approval'],
      ['Find maintenance window', 'schedule-deployment'],
      ['Deploy and await report', 'request-deployment'],
      ['Record deployed', 'record-outcome'],
    ])('has "%s" call the %s handler', (stateName, handler) => {
      const state = workflows.customer.States[stateName] as AslState;

      expect(functionHandlersByName(platform).get(invokedFunctionOf(state) as string)).toBe(
        `lambdas/handlers/${handler}.ts`,
      );
    });

    it('catches every task recording an outcome into "Recording failed", which fails the execution', () => {
      const recording = tasksOf(workflows.customer).filter(
        ([, state]) =>
          functionHandlersByName(platform).get(invokedFunctionOf(state) as string) ===
          'lambdas/handlers/record-outcome.ts',
      );

      expect(recording.length).toBeGreaterThanOrEqual(9);
      for (const [name, state] of recording)
        expect(state.Catch, name).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: '$.recordingError', Next: 'Recording failed' },
        ]);
      expect(workflows.customer.States['Recording failed']).toEqual({
        Type: 'Fail',
        Error: RECORDING_FAILED,
        CausePath: '$.recordingError.Cause',
      });
    });

    it('waits for an approver’s decision by task token', () => {
      expect(workflows.customer.States['Ask approvers']?.Resource).toMatch(
        /lambda:invoke\.waitForTaskToken$/,
      );
    });
  });
});
