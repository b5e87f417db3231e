import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { RolloutPhaseShape, RolloutStep } from '../lambdas/core/rollout-shape.js';
import { APPROVAL_TIMEOUT, DEPLOYMENT_REPORT_TIMEOUT } from './customer-rollout.js';
import { invoke, invokeAndWait, type WorkflowFunctions } from './tasks.js';

export interface ReleaseWorkflowProps {
  readonly functions: WorkflowFunctions;
  readonly phases: RolloutPhaseShape[];
  readonly customerStateMachineArn: string;
}

// A step waits for its slowest customer: a window up to a week away, plus the report timeout, or an
// enterprise customer's approval up to the policy deadline.
const STEP_TIMEOUT = APPROVAL_TIMEOUT.plus(DEPLOYMENT_REPORT_TIMEOUT).plus(Duration.days(7));

/**
 * The release execution: phases in order, each step (batch) opened on its day, its customers' advance
 * notices sent, their rollouts started as child executions and awaited, then gated. Its size depends on the
 * policies only, never on the number of customers.
 */
export function releaseWorkflowDefinition(scope: Construct, props: ReleaseWorkflowProps): sfn.IChainable {
  const { functions: fns } = props;
  const release = { 'release.$': '$.schedule.release' };

  const halt = invoke(
    scope,
    'Halt release',
    fns.haltRelease,
    { 'release.$': '$.version', 'failure.$': '$.failure' },
    {
      comment: 'Records why the release stopped and tells the escalation contacts.',
    },
  ).next(new sfn.Fail(scope, 'Release halted', { error: 'Release.Halted', causePath: '$.failure.Cause' }));

  const catchIntoHalt = (task: sfn.TaskStateBase) =>
    task.addCatch(halt, { errors: ['States.ALL'], resultPath: '$.failure' });

  /** Sends the due notices, looping while more remain, then carries on with `next`. */
  const sendNoticesThen = (label: string, asOfPath: string, next: sfn.IChainable): sfn.IChainable => {
    const send = catchIntoHalt(
      invoke(
        scope,
        `${label} · send advance notices`,
        fns.sendNotices,
        { ...release, 'asOf.$': asOfPath },
        {
          resultPath: '$.notices',
          timeout: Duration.minutes(10),
          comment: 'Emails every customer whose notice is due by now, once; loops while more remain.',
        },
      ),
    );
    send.next(
      new sfn.Choice(scope, `${label} · more notices?`)
        .when(sfn.Condition.booleanEquals('$.notices.remaining', true), send)
        .otherwise(next),
    );
    return send;
  };

  const gate = (label: string, payload: Record<string, unknown>): sfn.Chain => {
    const evaluate = catchIntoHalt(
      invoke(
        scope,
        `${label} · gate`,
        fns.evaluateGate,
        { ...release, ...payload },
        { resultPath: '$.gate' },
      ),
    );
    const failed = new sfn.Pass(scope, `${label} · gate failed`, {
      parameters: { Error: 'Gate.Failed', 'Cause.$': '$.gate.reason' },
      resultPath: '$.failure',
    }).next(halt);
    return sfn.Chain.start(evaluate).next(
      new sfn.Choice(scope, `${label} · gate passed?`)
        .when(sfn.Condition.booleanEquals('$.gate.passed', false), failed)
        .afterwards({ includeOtherwise: true }),
    );
  };

  const stepChain = (step: RolloutStep): sfn.Chain => {
    const label = step.individual
      ? `${step.phaseDisplayName} · customers`
      : `${step.phaseDisplayName} · batch ${step.position} of ${step.of}`;
    const opensAtPath = `$.schedule.steps.${step.key}.opensAt`;
    const waitName = step.individual
      ? `${step.phaseDisplayName} · wait for phase start (day ${step.day})`
      : `${step.phaseDisplayName} · wait for batch ${step.position} (day ${step.day})`;
    const open = new sfn.Wait(scope, waitName, { time: sfn.WaitTime.timestampPath(opensAtPath) });
    const start = catchIntoHalt(
      invoke(
        scope,
        `${label} · start customer rollouts`,
        fns.startCustomerRollouts,
        { ...release, step: step.key, customerStateMachineArn: props.customerStateMachineArn },
        { timeout: Duration.minutes(10), comment: 'One child execution per customer, named after it.' },
      ),
    );
    const await_ = catchIntoHalt(
      invokeAndWait(
        scope,
        `${label} · await customers`,
        fns.awaitStep,
        { ...release, step: step.key },
        {
          resultPath: '$.lastStep',
          timeout: sfn.Timeout.duration(STEP_TIMEOUT),
          comment: 'Resumed by the last customer of the step to record its outcome.',
        },
      ),
    );
    const deployAndGate = sfn.Chain.start(start)
      .next(await_)
      .next(gate(label, { phase: step.phase, step: step.key }));
    open.next(sendNoticesThen(label, opensAtPath, deployAndGate));
    return sfn.Chain.custom(open, deployAndGate.endStates, deployAndGate);
  };

  const phaseChain = (phase: RolloutPhaseShape): sfn.Chain => {
    let chain: sfn.Chain | undefined;
    for (const step of phase.steps) chain = chain ? chain.next(stepChain(step)) : stepChain(step);
    const testingPeriod = new sfn.Wait(
      scope,
      `${phase.displayName} · wait out testing period (day ${phase.endDay})`,
      {
        time: sfn.WaitTime.timestampPath(`$.schedule.phases.${phase.name}.endAt`),
      },
    );
    const phaseGate = gate(`${phase.displayName} · phase`, { phase: phase.name });
    return (chain as sfn.Chain).next(testingPeriod).next(phaseGate);
  };

  const plan = catchIntoHalt(
    invoke(
      scope,
      'Plan release',
      fns.planRelease,
      { 'version.$': '$.version', 'startAt.$': '$.startAt' },
      {
        resultPath: '$.schedule',
        timeout: Duration.minutes(5),
        comment: 'Plans every customer (phase, batch, notice, window) and records it; returns times only.',
      },
    ),
  );
  const report = catchIntoHalt(
    invoke(scope, 'Report release', fns.completeRelease, release, {
      resultPath: '$.report',
      timeout: Duration.minutes(5),
    }),
  );

  let rollout: sfn.Chain | undefined;
  for (const phase of props.phases) rollout = rollout ? rollout.next(phaseChain(phase)) : phaseChain(phase);
  const finish = sfn.Chain.start(report).next(new sfn.Succeed(scope, 'Release complete'));
  plan.next(sendNoticesThen('Release', '$.schedule.startAt', rollout ? rollout.next(finish) : finish));
  return plan;
}
