import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROLLBACK_FAILED, ROLLBACK_RECORDING_FAILED } from '../../statemachines/customer-rollback.js';
import { RECORDING_FAILED } from '../../statemachines/customer-rollout.js';
import type { AslDefinition, AslState } from '../../statemachines/history-projection.js';
import {
  CUSTOMER_STATE_MACHINE,
  definitionOf,
  functionHandlersByName,
  RELEASE_STATE_MACHINE,
  ROLLBACK_STATE_MACHINE,
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
  let workflows: Record<'release' | 'customer' | 'rollback', AslDefinition>;

  beforeAll(() => {
    ({ platform, release } = synthesizeApp({ bundle: false }));
    workflows = {
      release: definitionOf(release, RELEASE_STATE_MACHINE),
      customer: definitionOf(release, CUSTOMER_STATE_MACHINE),
      rollback: definitionOf(release, ROLLBACK_STATE_MACHINE),
    };
  });

  describe('state machines', () => {
    it.each([RELEASE_STATE_MACHINE, CUSTOMER_STATE_MACHINE, ROLLBACK_STATE_MACHINE])('include %s', (name) => {
      release.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: name });
    });

    it('are exactly the release, its customer rollout and its customer rollback', () => {
      release.resourceCountIs('AWS::StepFunctions::StateMachine', 3);
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

      expect(new Set(logGroups).size).toBe(3);
      for (const logGroup of logGroups)
        expect(release.findResources('AWS::Logs::LogGroup')[logGroup]).toBeDefined();
    });

    it('are traced with X-Ray', () => {
      release.allResourcesProperties('AWS::StepFunctions::StateMachine', {
        TracingConfiguration: { Enabled: true },
      });
    });
  });

  describe.each(['release', 'customer', 'rollback'] as const)('the %s workflow', (workflow) => {
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
      ['Open release', 'open-release'],
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

    it('never iterates customers itself: its Maps run over chunk numbers, each item one task, 10 at once', () => {
      const states = Object.values(workflows.release.States) as (AslState & {
        ItemSelector?: Record<string, unknown>;
        MaxConcurrency?: number;
      })[];
      const maps = states.filter((state) => state.Type === 'Map');

      expect(states.filter((state) => state.Type === 'Parallel')).toEqual([]);
      expect(new Set(maps.map((map) => map.ItemsPath))).toEqual(
        new Set(['$.plan.chunks', '$.started.moreChunks']),
      );
      for (const map of maps) {
        expect(map.ItemSelector).toMatchObject({ 'chunk.$': '$$.Map.Item.Value' });
        expect(map.MaxConcurrency).toBe(10);
        expect(Object.values(map.ItemProcessor?.States ?? {}).map((state) => state.Type)).toEqual(['Task']);
      }
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
      const rules = Object.values(release.findResources('AWS::Events::Rule')).filter((rule) =>
        JSON.stringify(rule.Properties.EventPattern).includes(customerMachineId as string),
      );

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

  describe('a customer rollback that fails, times out or is stopped', () => {
    it('is brought from the default bus to record-rollback-ended, retried for up to 24 hours, then kept in the platform’s dead letters', () => {
      const [rollbackMachineId] = Object.keys(
        release.findResources('AWS::StepFunctions::StateMachine', {
          Properties: { StateMachineName: ROLLBACK_STATE_MACHINE },
        }),
      );
      const rules = Object.values(release.findResources('AWS::Events::Rule')).filter((rule) =>
        JSON.stringify(rule.Properties.EventPattern).includes(rollbackMachineId as string),
      );

      expect(rules).toHaveLength(1);
      expect(rules[0]?.Properties.EventPattern.detail.status).toEqual(['FAILED', 'TIMED_OUT', 'ABORTED']);
      const [target] = rules[0]?.Properties.Targets ?? [];
      const functionName = textOf(target.Arn).match(NAMED_FUNCTION)?.[1];
      expect(functionHandlersByName(platform).get(functionName as string)).toBe(
        'lambdas/handlers/record-rollback-ended.ts',
      );
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86_400 });
      expect(textOf(target.DeadLetterConfig.Arn)).toMatch(/:sqs:.*:securewatch-release-event-dead-letters$/);
    });
  });

  describe('the customer rollback workflow', () => {
    const next = (name: string) => workflows.rollback.States[name]?.Next;

    it('starts by reading the customer’s policy process, and chooses on it once', () => {
      expect(workflows.rollback.StartAt).toBe('Begin rollback');
      expect(next('Begin rollback')).toBe('Rollback process?');
      const choice = workflows.rollback.States['Rollback process?'] as AslState & {
        Choices: { Variable: string; StringEquals: string; Next: string }[];
        Default: string;
      };
      expect(choice.Choices).toEqual([
        {
          Variable: '$.rollback.process',
          StringEquals: 'immediate-with-approval',
          Next: 'Tell customer · rollback proposed',
        },
      ]);
      expect(choice.Default).toBe('Roll back now · await platform report');
    });

    it('runs the enterprise steps in the document’s order: notification, approval, window, rollback, validation, report', () => {
      const path: string[] = [];
      for (let state: string | undefined = 'Tell customer · rollback proposed'; state; state = next(state))
        path.push(state);

      expect(path).toEqual([
        'Tell customer · rollback proposed',
        'Ask stakeholders to approve the rollback',
        'Find next maintenance window',
        'Wait for maintenance window',
        'Roll back in window · await platform report',
        'Record rolled back (in window)',
        'Wait before validation',
        'Validate health after rollback',
        'Send incident report',
        'Rolled back · validated, incident reported',
      ]);
    });

    it('rolls standard and startup customers back at once, then tells them', () => {
      expect(next('Roll back now · await platform report')).toBe('Record rolled back');
      expect(next('Record rolled back')).toBe('Tell customer · rolled back');
      expect(next('Tell customer · rolled back')).toBe('Monitor health?');
      expect(next('Monitor health')).toBe('Check health after monitoring');
      expect(next('Check health after monitoring')).toBe('Send follow-up');
    });

    it.each([
      ['Ask stakeholders to approve the rollback', 'request-approval'],
      ['Roll back now · await platform report', 'request-platform-rollback'],
      ['Roll back in window · await platform report', 'request-platform-rollback'],
      ['Find next maintenance window', 'schedule-rollback'],
      ['Record rollback failed', 'record-rollback-outcome'],
      ['Validate health after rollback', 'check-rollback-health'],
      ['Send incident report', 'notify-rollback'],
    ])('has "%s" call the %s handler', (stateName, handler) => {
      const state = workflows.rollback.States[stateName] as AslState;

      expect(functionHandlersByName(platform).get(invokedFunctionOf(state) as string)).toBe(
        `lambdas/handlers/${handler}.ts`,
      );
    });

    it('waits for the platform’s answer and the stakeholders’ decision by task token, never without a timeout', () => {
      for (const name of [
        'Ask stakeholders to approve the rollback',
        'Roll back now · await platform report',
        'Roll back in window · await platform report',
      ]) {
        const state = workflows.rollback.States[name] as AslState;
        expect(state.Resource, name).toMatch(/lambda:invoke\.waitForTaskToken$/);
        expect(state.TimeoutSeconds ?? state.TimeoutSecondsPath, name).toBeDefined();
      }
      expect(workflows.rollback.States['Roll back now · await platform report']?.TimeoutSeconds).toBe(
        6 * 3600,
      );
    });

    it('records a rollback failed on the platform’s failure or its silence, and ends the execution failed', () => {
      const catches = workflows.rollback.States['Roll back now · await platform report']?.Catch ?? [];

      expect(catches.map((each) => [each.ErrorEquals, each.Next])).toEqual([
        [['States.Timeout'], 'Record rollback failed (no answer in time)'],
        [['States.ALL'], 'Record rollback failed'],
      ]);
      expect(workflows.rollback.States['Rollback failed · release paused']).toMatchObject({
        Type: 'Fail',
        Error: ROLLBACK_FAILED,
      });
    });

    it('keeps the customer deployed when the stakeholders reject the rollback or do not answer', () => {
      const catches = workflows.rollback.States['Ask stakeholders to approve the rollback']?.Catch ?? [];

      expect(catches.map((each) => [each.ErrorEquals, each.Next])).toEqual([
        [['Approval.Rejected'], 'Record kept deployed (rollback rejected)'],
        [['States.Timeout'], 'Record kept deployed (no decision in time)'],
        [['States.ALL'], 'Record rollback failed'],
      ]);
    });

    it('catches every task recording a rollback’s end into "Recording failed", which fails the execution', () => {
      const recording = tasksOf(workflows.rollback).filter(
        ([, state]) =>
          functionHandlersByName(platform).get(invokedFunctionOf(state) as string) ===
          'lambdas/handlers/record-rollback-outcome.ts',
      );

      expect(recording.length).toBe(6);
      for (const [name, state] of recording)
        expect(state.Catch, name).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: '$.recordingError', Next: 'Recording failed' },
        ]);
      expect(workflows.rollback.States['Recording failed']).toMatchObject({
        Error: ROLLBACK_RECORDING_FAILED,
      });
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
