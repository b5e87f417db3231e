import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { CHUNK_CONCURRENCY } from '../lambdas/core/plan-chunks.js';
import type { RolloutPhaseShape, RolloutStep } from '../lambdas/core/rollout-shape.js';
import { WORKFLOW_ERRORS } from '../lambdas/shared/errors.js';
import { invoke, invokeAndWait, type WorkflowFunctions } from './tasks.js';

export interface ReleaseWorkflowProps {
  readonly functions: WorkflowFunctions;
  readonly phases: RolloutPhaseShape[];
  readonly customerStateMachineArn: string;
}

/** The release execution's own time limit: a pause still undecided near it ends the release as aborted. */
export const RELEASE_TIME_LIMIT = Duration.days(120);
/** How often a pause reminds the escalation contacts that it awaits their decision. */
export const PAUSE_REMINDER_INTERVAL = Duration.days(1);

/**
 * The release execution: phases in order, each step (batch) opened on its day, its customers' advance
 * notices sent, their rollouts started as child executions and awaited, then gated. A halt or a failed gate
 * parks it at a named "… awaiting decision" state until an operator resumes or aborts. Its size depends on
 * the policies only, never on the number of customers.
 */
export function releaseWorkflowDefinition(scope: Construct, props: ReleaseWorkflowProps): sfn.IChainable {
  const { functions: fns } = props;
  const release = { 'release.$': '$.schedule.release' };

  const fail = invoke(
    scope,
    'Record failure',
    fns.recordFailure,
    { 'release.$': '$.version', 'failure.$': '$.failure' },
    { comment: 'A task failed beyond its retries: records why and tells the escalation contacts.' },
  ).next(new sfn.Fail(scope, 'Release failed', { error: 'Release.Failed', causePath: '$.failure.Cause' }));

  const catchIntoFailure = <T extends sfn.TaskStateBase>(task: T): T => {
    task.addCatch(fail, { errors: ['States.ALL'], resultPath: '$.failure' });
    return task;
  };

  const aborted = catchIntoFailure(
    invoke(
      scope,
      'Abort release',
      fns.abortRelease,
      { ...release, 'failure.$': '$.failure' },
      {
        timeout: Duration.minutes(10),
        comment: 'Every customer not yet deployed ends cancelled; the people concerned are told, once.',
      },
    ),
  ).next(new sfn.Succeed(scope, 'Release aborted'));
  // The abort path reads $.failure (why); an operator's abort carries none, so it is set to null first.
  const abortByDecision = new sfn.Pass(scope, 'Aborted by decision', {
    result: sfn.Result.fromObject({}),
    resultPath: '$.failure',
  }).next(aborted);

  /** A callback that holds the release until a decision: resume (carries on with `then`) or abort. */
  const awaitDecision = (name: string, then: sfn.IChainable): sfn.TaskStateBase => {
    const parked = invokeAndWait(
      scope,
      name,
      fns.awaitDecision,
      { ...release, state: name },
      {
        resultPath: '$.decision',
        timeout: sfn.Timeout.duration(PAUSE_REMINDER_INTERVAL),
        comment: 'A pause never decides by itself: resume or abort, by an operator. Reminds every day.',
      },
    );
    const remind = invoke(
      scope,
      `${name} · remind`,
      fns.remindPaused,
      {
        ...release,
        state: name,
        'executionStartedAt.$': '$$.Execution.StartTime',
        executionTimeLimitSeconds: RELEASE_TIME_LIMIT.toSeconds(),
        reminderIntervalSeconds: PAUSE_REMINDER_INTERVAL.toSeconds(),
      },
      { comment: 'Reminds the escalation contacts; near the time limit, the release ends aborted.' },
    );
    remind.addCatch(aborted, { errors: [WORKFLOW_ERRORS.timeLimit], resultPath: '$.failure' });
    catchIntoFailure(remind).next(parked);
    parked.addCatch(remind, { errors: ['States.Timeout'], resultPath: sfn.JsonPath.DISCARD });
    catchIntoFailure(parked).next(
      new sfn.Choice(scope, `${name} · decision?`)
        .when(sfn.Condition.stringEquals('$.decision.decision', 'abort'), abortByDecision)
        .otherwise(then),
    );
    return parked;
  };

  /**
   * Sends the due notices, looping while more remain, each run reading on from the last one's cursor, then
   * carries on with `next`; parks while halted.
   */
  const sendNoticesThen = (label: string, asOfPath: string, next: sfn.IChainable): sfn.IChainable => {
    const fromFirst = new sfn.Pass(scope, `${label} · notices from the first customer`, {
      result: sfn.Result.fromObject({ cursor: null }),
      resultPath: '$.notices',
    });
    const send = catchIntoFailure(
      invoke(
        scope,
        `${label} · send advance notices`,
        fns.sendNotices,
        { ...release, 'asOf.$': asOfPath, 'cursor.$': '$.notices.cursor' },
        {
          resultPath: '$.notices',
          timeout: Duration.minutes(10),
          comment: 'Emails every customer whose notice is due by now, once; loops on from its cursor.',
        },
      ),
    );
    const halted = awaitDecision(`${label} · halted before opening, awaiting decision`, send);
    send.next(
      new sfn.Choice(scope, `${label} · more notices?`)
        .when(sfn.Condition.booleanEquals('$.notices.halted', true), halted)
        .when(sfn.Condition.booleanEquals('$.notices.remaining', true), send)
        .otherwise(next),
    );
    return fromFirst.next(send);
  };

  /** Gates; a failed gate parks awaiting a decision, a halt noticed by the gate parks at `whileHalted`. */
  const gate = (
    label: string,
    payload: Record<string, unknown>,
    haltedAt: (gateTask: sfn.IChainable) => sfn.IChainable,
  ): sfn.Chain => {
    const evaluate = catchIntoFailure(
      invoke(
        scope,
        `${label} · gate`,
        fns.evaluateGate,
        { ...release, ...payload },
        { resultPath: '$.gate' },
      ),
    );
    const passed = new sfn.Pass(scope, `${label} · gate done`);
    const failed = awaitDecision(`${label} · gate failed, awaiting decision`, passed);
    evaluate.next(
      new sfn.Choice(scope, `${label} · gate passed?`)
        .when(sfn.Condition.booleanEquals('$.gate.halted', true), haltedAt(evaluate))
        .when(sfn.Condition.booleanEquals('$.gate.passed', false), failed)
        .otherwise(passed),
    );
    return sfn.Chain.custom(evaluate, [passed], evaluate);
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
    const start = catchIntoFailure(
      invoke(
        scope,
        `${label} · start customer rollouts`,
        fns.startCustomerRollouts,
        { ...release, step: step.key, customerStateMachineArn: props.customerStateMachineArn },
        {
          resultPath: '$.started',
          timeout: Duration.minutes(10),
          comment:
            'One child execution per customer of the first chunk, named after it; lists the other chunks.',
        },
      ),
    );
    const startMore = new sfn.Map(scope, `${label} · start more customer rollouts`, {
      itemsPath: '$.started.moreChunks',
      itemSelector: {
        ...release,
        step: step.key,
        customerStateMachineArn: props.customerStateMachineArn,
        'chunk.$': '$$.Map.Item.Value',
      },
      maxConcurrency: CHUNK_CONCURRENCY,
      resultPath: sfn.JsonPath.DISCARD,
      comment: "The step's other rollout chunks, in parallel: their numbers only, never customers.",
    });
    startMore.itemProcessor(
      invoke(
        scope,
        `${label} · start a chunk of customer rollouts`,
        fns.startCustomerRollouts,
        {
          'release.$': '$.release',
          'step.$': '$.step',
          'customerStateMachineArn.$': '$.customerStateMachineArn',
          'chunk.$': '$.chunk',
        },
        { timeout: Duration.minutes(10), comment: 'One child execution per customer of the chunk.' },
      ),
    );
    startMore.addCatch(fail, { errors: ['States.ALL'], resultPath: '$.failure' });
    const awaitCustomers = catchIntoFailure(
      invokeAndWait(
        scope,
        `${label} · await customers`,
        fns.awaitStep,
        { ...release, step: step.key },
        {
          resultPath: '$.lastStep',
          // Until the step's customers are past their policy deadline and report timeout (the start task
          // and every resume say how long that is from now); then it gates on what it has.
          timeout: sfn.Timeout.at('$.started.waitSeconds'),
          comment: 'Resumed by the last customer of the step to record its outcome, or by a halt.',
        },
      ),
    );
    const waitOn = new sfn.Pass(scope, `${label} · wait on`, {
      parameters: { 'waitSeconds.$': '$.decision.waitSeconds' },
      resultPath: '$.started',
      comment: 'After a resume: the step wait goes on until the same deadline.',
    }).next(awaitCustomers);
    const halted = awaitDecision(`${label} · halted, awaiting decision`, waitOn);
    const stepGate = gate(label, { phase: step.phase, step: step.key }, () => halted);
    // A wait that outlives its timeout gates on what it has: customers without an outcome, or deployed
    // without a health report, fail the gate.
    awaitCustomers.addCatch(stepGate, { errors: ['States.Timeout'], resultPath: '$.lastStep' });
    const haltedOrDone = new sfn.Choice(scope, `${label} · halted?`);
    if (step.individual) {
      // One at a time: a customer's failed deployment pauses the release before the next one deploys.
      const customerFailed = awaitDecision(`${label} · a customer failed, awaiting decision`, waitOn);
      haltedOrDone.when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.lastStep.customerFailed'),
          sfn.Condition.booleanEquals('$.lastStep.customerFailed', true),
        ),
        customerFailed,
      );
    }
    awaitCustomers.next(
      haltedOrDone.when(sfn.Condition.booleanEquals('$.lastStep.halted', true), halted).otherwise(stepGate),
    );
    const deployAndGate = sfn.Chain.custom(start, stepGate.endStates, start);
    start.next(startMore).next(awaitCustomers);
    open.next(sendNoticesThen(label, opensAtPath, deployAndGate));
    return sfn.Chain.custom(open, stepGate.endStates, deployAndGate);
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
    const phaseLabel = `${phase.displayName} · phase`;
    const phaseGate = gate(phaseLabel, { phase: phase.name }, (evaluate) =>
      awaitDecision(`${phaseLabel} · halted, awaiting decision`, evaluate),
    );
    return (chain as sfn.Chain).next(testingPeriod).next(phaseGate);
  };

  const plan = catchIntoFailure(
    invoke(
      scope,
      'Plan release',
      fns.planRelease,
      { 'version.$': '$.version', 'startAt.$': '$.startAt' },
      {
        resultPath: '$.plan',
        timeout: Duration.minutes(5),
        comment:
          'Plans every customer (phase, batch, notice, window); records the release and the plan in chunks.',
      },
    ),
  );
  const writePlan = new sfn.Map(scope, 'Write plan', {
    itemsPath: '$.plan.chunks',
    itemSelector: { 'release.$': '$.version', 'chunk.$': '$$.Map.Item.Value' },
    maxConcurrency: CHUNK_CONCURRENCY,
    resultPath: sfn.JsonPath.DISCARD,
    comment: 'Writes the plan chunk by chunk, in parallel: chunk numbers only, never customers.',
  });
  writePlan.itemProcessor(
    invoke(
      scope,
      'Write plan chunk',
      fns.writePlanChunk,
      { 'release.$': '$.release', 'chunk.$': '$.chunk' },
      { comment: "Writes the chunk's customers and step members; a repeated chunk rewrites nothing." },
    ),
  );
  writePlan.addCatch(fail, { errors: ['States.ALL'], resultPath: '$.failure' });
  const openRelease = catchIntoFailure(
    invoke(
      scope,
      'Open release',
      fns.openRelease,
      { 'release.$': '$.version' },
      {
        resultPath: '$.schedule',
        timeout: Duration.minutes(5),
        comment: 'Takes over from older releases, runs and announces the release; returns times only.',
      },
    ),
  );
  const report = catchIntoFailure(
    invoke(scope, 'Report release', fns.completeRelease, release, {
      resultPath: '$.report',
      timeout: Duration.minutes(5),
    }),
  );

  let rollout: sfn.Chain | undefined;
  for (const phase of props.phases) rollout = rollout ? rollout.next(phaseChain(phase)) : phaseChain(phase);
  const finish = sfn.Chain.start(report).next(new sfn.Succeed(scope, 'Release complete'));
  plan
    .next(writePlan)
    .next(openRelease)
    .next(sendNoticesThen('Release', '$.schedule.startAt', rollout ? rollout.next(finish) : finish));
  return plan;
}
