import { randomBytes } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';

type EventLog = { type: string; state: { name: string; type: string; input: unknown; output?: unknown } };

import { type AslState, EXECUTION_EVENTS, historyEventsOf } from '../statemachines/history-projection.js';
import type { Activity, SimulatedClock } from './clock.js';
import type { LocalStateMachine, StateMachineRole } from './templates.js';

// Runs the synthesized state machines on aws-local-stepfunctions, filling in what it lacks:
// task tokens for callback tasks, child executions, and waits and timeouts on the simulated clock.

const TOKEN_PLACEHOLDER = 'local-task-token-placeholder';
const LOCAL_TIMEOUT_PARAMETER = 'localTimeoutSeconds';
// A retried task writes TaskScheduled, TaskStarted and TaskFailed again.
const RETRY_EVENTS = 3;
// aws-local-stepfunctions times every task out in real time (60 s unless the state says otherwise). The
// simulated clock owns time: each task gets the longest real limit a Node timer holds (2^31 ms, ~24.8 days),
// in effect none; callback timeouts run on the simulated clock.
const NO_REAL_TIMEOUT_SECONDS = 2_000_000;

export type InvokeFunction = (functionArn: string, payload: unknown) => Promise<unknown>;

export interface ExecutionRecord {
  executionArn: string;
  name: string;
  stateMachineArn: string;
  stateMachineName: string;
  /** What the state machine is for, as its template metadata says. */
  stateMachineRole: StateMachineRole;
  input: unknown;
  /** Simulated start instant. */
  startedAt: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  /** Until it has ended and its status change is out. */
  output?: unknown;
  error?: string;
  cause?: string;
  /** Step Functions history events this execution would have written (see README: local differences). */
  historyEvents: number;
  transitions: number;
  /** The largest state input or output this execution has passed so far (JSON bytes), and its state. */
  largestPayload: { state: string; bytes: number };
  done: Promise<ExecutionRecord>;
}

/** Told of each execution as it starts and of each of its tasks' results (the bench's floor replays them). */
export interface TaskRecorder {
  started(record: ExecutionRecord, definition: Record<string, unknown>): void;
  settled(
    record: ExecutionRecord,
    stateName: string,
    result: { output: unknown } | { error: string; cause: string },
  ): void;
}

export interface StateEntered {
  execution: ExecutionRecord;
  stateName: string;
  stateType: string;
  input: unknown;
}

export interface WaitStarted {
  execution: ExecutionRecord;
  stateName: string;
  until: string;
}

/** An execution's "Step Functions Execution Status Change" event, as Step Functions puts it on the default bus. */
export interface StatusChangeEntry {
  Source: 'aws.states';
  DetailType: 'Step Functions Execution Status Change';
  EventBusName: 'default';
  Resources: string[];
  Detail: string;
}

/** A callback task (`…:lambda:invoke.waitForTaskToken`) of an execution and the function it invokes. */
export interface CallbackTask {
  execution: ExecutionRecord;
  stateName: string;
  functionArn: string;
}

/** A callback task whose function has returned (`waiting`: the token is out), or that has ended. */
export interface CallbackChanged extends CallbackTask {
  waiting: boolean;
}

export class LocalApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

interface PendingToken {
  executionArn: string;
  /** The execution, asleep until the answer: wakes it synchronously as the answer arrives. */
  activity: Activity;
  /** Lets simulated time move on while the task still waits (no-op unless the task holds the clock). */
  releaseHold(): void;
  resolve(output: unknown): void;
  reject(error: Error): void;
}

export class LocalStepFunctions {
  readonly executions = new Map<string, ExecutionRecord>();
  readonly #tokens = new Map<string, PendingToken>();
  readonly #stateEnteredListeners = new Set<(event: StateEntered) => void>();
  readonly #waitListeners = new Set<(event: WaitStarted) => void>();
  readonly #statusListeners = new Set<(entry: StatusChangeEntry) => void>();
  readonly #callbackListeners = new Set<(event: CallbackChanged) => void>();
  readonly #endListeners = new Set<(execution: ExecutionRecord) => void>();
  /** How to stop each running execution where it stands. */
  readonly #aborts = new Map<string, () => void>();
  readonly #runningByRole = new Map<StateMachineRole, number>();
  #stopped = false;
  #taskRecorder: TaskRecorder | undefined;

  constructor(
    private readonly clock: SimulatedClock,
    private readonly stateMachines: Map<string, LocalStateMachine>,
    private readonly invokeFunction: InvokeFunction,
    /** Callback tasks during which simulated time must stand still (a person is being asked). */
    private readonly holdsClock: (task: CallbackTask) => boolean = () => false,
  ) {}

  /** Tells `recorder` of every execution started from now on and of its tasks' results. */
  recordTasks(recorder: TaskRecorder): void {
    this.#taskRecorder = recorder;
  }

  onStateEntered(listener: (event: StateEntered) => void): void {
    this.#stateEnteredListeners.add(listener);
  }

  onWait(listener: (event: WaitStarted) => void): void {
    this.#waitListeners.add(listener);
  }

  /** Called as each execution starts and ends, with the status change event AWS would emit. */
  onStatusChange(listener: (entry: StatusChangeEntry) => void): void {
    this.#statusListeners.add(listener);
  }

  /** Called as a callback task's token goes out (its function returned) and as the task ends. */
  onCallback(listener: (event: CallbackChanged) => void): void {
    this.#callbackListeners.add(listener);
  }

  /** Called as an execution ends, before it stops counting as pending work. */
  onExecutionEnded(listener: (execution: ExecutionRecord) => void): void {
    this.#endListeners.add(listener);
  }

  /** Like StartExecution: a name is unique per state machine; the same name and input is the same execution. */
  startExecution(stateMachineArn: string, name: string, input: unknown): ExecutionRecord {
    if (this.#stopped)
      throw new LocalApiError('ServiceUnavailable', 'The local Step Functions runtime has stopped');
    const machine = this.stateMachines.get(stateMachineArn);
    if (!machine)
      throw new LocalApiError('StateMachineDoesNotExist', `State machine does not exist: ${stateMachineArn}`);
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (JSON.stringify(existing.input) === JSON.stringify(input)) return existing;
      throw new LocalApiError('ExecutionAlreadyExists', `Execution already exists: ${executionArn}`);
    }
    const record = {
      executionArn,
      name,
      stateMachineArn,
      stateMachineName: machine.name,
      stateMachineRole: machine.role,
      input,
      startedAt: this.clock.now(),
      status: 'RUNNING',
      historyEvents: 0,
      transitions: 0,
      largestPayload: { state: '', bytes: 0 },
    } as ExecutionRecord;
    this.executions.set(executionArn, record);
    this.#countRunning(record.stateMachineRole, 1);
    this.#statusChanged(record);
    // Pending work from this instant until it ends, asleep only while it waits on the clock or a token.
    const activity = this.clock.activity();
    record.done = this.#run(machine, record, activity).finally(() => {
      for (const listener of this.#endListeners) listener(record);
      activity.end();
    });
    return record;
  }

  /**
   * Stops every running execution where it stands and starts no new one: nothing of this runtime runs on
   * once the rehearsal that owns it has ended (a task left running would write into the next one's table).
   */
  stop(): void {
    this.#stopped = true;
    for (const abort of this.#aborts.values()) abort();
    this.#aborts.clear();
  }

  sendTaskSuccess(token: string, output: unknown): void {
    this.#takeToken(token).resolve(output);
  }

  sendTaskFailure(token: string, error: string, cause: string): void {
    const failure = new Error(cause);
    failure.name = error;
    this.#takeToken(token).reject(failure);
  }

  pendingTokens(): number {
    return this.#tokens.size;
  }

  /** How many executions of state machines with this role are running. */
  running(role: StateMachineRole): number {
    return this.#runningByRole.get(role) ?? 0;
  }

  #countRunning(role: StateMachineRole, change: 1 | -1): void {
    this.#runningByRole.set(role, this.running(role) + change);
  }

  /**
   * Lets simulated time move on while the callback task of `token` still waits: nobody will answer it (an
   * approval whose email or page could not be opened), so it times out on the simulated clock as any
   * unanswered task does. False if the token is unknown, answered or timed out.
   */
  stopHolding(token: string): boolean {
    const pending = this.#tokens.get(token);
    pending?.releaseHold();
    return pending !== undefined;
  }

  #takeToken(token: string): PendingToken {
    const pending = this.#tokens.get(token);
    if (!pending)
      throw new LocalApiError('TaskTimedOut', 'Task token is unknown, timed out or already answered');
    this.#tokens.delete(token);
    pending.activity.wake();
    return pending;
  }

  async #run(
    machine: LocalStateMachine,
    record: ExecutionRecord,
    activity: Activity,
  ): Promise<ExecutionRecord> {
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    const definition = localDefinition(machine.definition, overrides, {
      wait: (stateName, seconds, timestamp) => this.#wait(record, activity, stateName, seconds, timestamp),
      invoke: (arn, payload) => this.invokeFunction(arn, payload),
      callback: (stateName, arn, payload, timeoutSeconds) =>
        this.#callback(record, activity, stateName, arn, payload, timeoutSeconds),
    });
    const recorder = this.#taskRecorder;
    if (recorder) {
      recorder.started(record, machine.definition);
      for (const [stateName, override] of Object.entries(overrides))
        overrides[stateName] = (input) =>
          override(input).then(
            (output) => {
              recorder.settled(record, stateName, { output });
              return output;
            },
            (error: Error) => {
              recorder.settled(record, stateName, { error: error.name, cause: error.message });
              throw error;
            },
          );
    }
    // aws-local-stepfunctions stamps $$.Execution.StartTime with the real clock; parameters that read it get
    // the simulated start instead, as a literal.
    const startedAt = this.clock.now();
    const onSimulatedTime = JSON.parse(
      JSON.stringify(definition).replace(
        /"([^"]+)\.\$":"\$\$\.Execution\.StartTime"/g,
        (_, key: string) => `"${key}":"${startedAt}"`,
      ),
    );
    const stateMachine = new StateMachine(onSimulatedTime as never, {
      validationOptions: { noValidate: true },
    });
    const execution = stateMachine.run(record.input as never, {
      overrides: { taskResourceLocalHandlers: overrides as never },
      context: {
        Execution: {
          Id: record.executionArn,
          Name: record.name,
          Input: record.input as never,
          StartTime: this.clock.now(),
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: { Token: TOKEN_PLACEHOLDER },
      },
    });
    this.#aborts.set(record.executionArn, () => execution.abort());
    const counting = this.#countHistory(
      record,
      machine.definition,
      execution.eventLogs as AsyncGenerator<EventLog>,
    );
    try {
      record.output = await execution.result;
      record.status = 'SUCCEEDED';
    } catch (error) {
      record.status = 'FAILED';
      // The library wraps the error that failed the execution (a Fail state's, a task's) in an
      // ExecutionError of its own; keep that error's name and message, as AWS reports them.
      const failure =
        (error as Error).cause instanceof Error ? ((error as Error).cause as Error) : (error as Error);
      record.error = failure.name;
      record.cause = failure.message.replace(/^Execution has failed with the following error: /, '');
    }
    this.#aborts.delete(record.executionArn);
    this.#countRunning(record.stateMachineRole, -1);
    // An execution the stop aborted reports nothing: nothing runs on to hear it.
    if (!this.#stopped) this.#statusChanged(record);
    // Its output was for the status change event; what the reports need (status, error, counts) stays.
    record.output = undefined;
    await counting;
    return record;
  }

  #statusChanged(record: ExecutionRecord): void {
    if (this.#statusListeners.size === 0) return;
    const entry = statusChangeEntry(record, this.clock.now());
    for (const listener of this.#statusListeners) listener(entry);
  }

  async #countHistory(
    record: ExecutionRecord,
    definition: Record<string, unknown>,
    logs: AsyncGenerator<EventLog>,
  ): Promise<void> {
    // Counted from the synthesized definition, as AWS would write them (a local Wait runs as a task).
    const states = definition.States as Record<string, AslState>;
    record.historyEvents = EXECUTION_EVENTS;
    for await (const event of logs) {
      if (event.type === 'StateEntered' || event.type === 'StateExited') {
        const payload = event.type === 'StateEntered' ? event.state.input : event.state.output;
        const bytes = Buffer.byteLength(JSON.stringify(payload) ?? '');
        if (bytes > record.largestPayload.bytes) record.largestPayload = { state: event.state.name, bytes };
      }
      if (event.type === 'StateEntered') {
        record.transitions += 1;
        const original = states[event.state.name];
        record.historyEvents += original ? historyEventsOf(original, event.state.name) : 0;
        for (const listener of this.#stateEnteredListeners) {
          listener({
            execution: record,
            stateName: event.state.name,
            stateType: original?.Type ?? event.state.type,
            input: event.state.input,
          });
        }
      } else if (event.type === 'StateRetried') {
        record.transitions += 1;
        record.historyEvents += RETRY_EVENTS;
      }
    }
  }

  async #wait(
    record: ExecutionRecord,
    activity: Activity,
    stateName: string,
    seconds: number | undefined,
    timestamp: string | undefined,
  ): Promise<void> {
    const target = timestamp ?? new Date(Date.parse(this.clock.now()) + (seconds ?? 0) * 1000).toISOString();
    for (const listener of this.#waitListeners) listener({ execution: record, stateName, until: target });
    activity.sleep();
    await this.clock.at(target, () => activity.wake());
  }

  async #callback(
    record: ExecutionRecord,
    activity: Activity,
    stateName: string,
    functionArn: string,
    payload: unknown,
    timeoutSeconds: number,
  ): Promise<unknown> {
    const task: CallbackTask = { execution: record, stateName, functionArn };
    const releaseHold = this.holdsClock(task) ? this.clock.hold(`${record.name}: ${stateName}`) : () => {};
    const token = randomBytes(24).toString('base64url');
    const answered = new Promise<unknown>((resolve, reject) => {
      this.#tokens.set(token, {
        executionArn: record.executionArn,
        activity,
        releaseHold,
        resolve,
        reject,
      });
    });
    const timeout = new AbortController();
    const timedOut = this.clock.at(
      new Date(Date.parse(this.clock.now()) + timeoutSeconds * 1000).toISOString(),
      () => {
        activity.wake();
        this.#tokens.delete(token);
        const error = new Error(`No answer within ${timeoutSeconds} s`);
        error.name = 'States.Timeout';
        throw error;
      },
      timeout.signal,
    );
    timedOut.catch(() => {});
    try {
      await this.invokeFunction(functionArn, replaceToken(payload, token));
    } catch (error) {
      this.#tokens.delete(token);
      timeout.abort();
      releaseHold();
      throw error;
    }
    for (const listener of this.#callbackListeners) listener({ ...task, waiting: true });
    // Unless answered while its function ran, the execution sleeps until the answer or the timeout wakes it.
    if (this.#tokens.has(token)) activity.sleep();
    try {
      return await Promise.race([answered, timedOut]);
    } finally {
      timeout.abort();
      releaseHold();
      for (const listener of this.#callbackListeners) listener({ ...task, waiting: false });
    }
  }
}

/**
 * The event AWS emits: the detail's fields as Step Functions names them, dates in epoch milliseconds,
 * input and output as JSON strings.
 */
export function statusChangeEntry(record: ExecutionRecord, now: string): StatusChangeEntry {
  const ended = record.status !== 'RUNNING';
  return {
    Source: 'aws.states',
    DetailType: 'Step Functions Execution Status Change',
    EventBusName: 'default',
    Resources: [record.executionArn],
    Detail: JSON.stringify({
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: Date.parse(record.startedAt),
      stopDate: ended ? Date.parse(now) : null,
      input: JSON.stringify(record.input),
      output: record.status === 'SUCCEEDED' ? JSON.stringify(record.output ?? null) : null,
      inputDetails: { included: true },
      outputDetails: record.status === 'SUCCEEDED' ? { included: true } : null,
      error: record.error ?? null,
      cause: record.cause ?? null,
    }),
  };
}

interface LocalActions {
  wait(stateName: string, seconds: number | undefined, timestamp: string | undefined): Promise<void>;
  invoke(functionArn: string, payload: unknown): Promise<unknown>;
  callback(
    stateName: string,
    functionArn: string,
    payload: unknown,
    timeoutSeconds: number,
  ): Promise<unknown>;
}

/**
 * The synthesized definition, made runnable here: Wait states become tasks paced by the simulated clock;
 * Lambda and callback tasks run the handlers in-process. Names, paths, Retry and Catch stay as they are.
 */
export function localDefinition(
  definition: Record<string, unknown>,
  overrides: Record<string, (input: unknown) => Promise<unknown>>,
  actions: LocalActions,
  inBranch = false,
): Record<string, unknown> {
  const states = definition.States as Record<string, Record<string, unknown>>;
  const local: Record<string, unknown> = {};
  // An execution is pending work unless it sleeps; concurrent branches would sleep and run at once.
  const refuseInBranch = (name: string) => {
    if (inBranch)
      throw new Error(
        `State "${name}" waits inside a Map or Parallel state, which the local rehearsal does not run yet`,
      );
  };
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Wait') {
      refuseInBranch(name);
      const { Seconds, Timestamp, SecondsPath, TimestampPath, ...rest } = state;
      local[name] = {
        ...rest,
        Type: 'Task',
        Resource: 'arn:aws:states:::local:wait',
        TimeoutSeconds: NO_REAL_TIMEOUT_SECONDS,
      };
      overrides[name] = async (input) => {
        const seconds =
          (Seconds as number | undefined) ??
          (SecondsPath ? Number(readPath(input, String(SecondsPath))) : undefined);
        const timestamp =
          (Timestamp as string | undefined) ??
          (TimestampPath ? String(readPath(input, String(TimestampPath))) : undefined);
        await actions.wait(name, seconds, timestamp);
        return input;
      };
      continue;
    }
    if (state.Type === 'Task') {
      const resource = String(state.Resource);
      const { TimeoutSecondsPath, ...withoutPath } = state;
      const timeoutSeconds = Number(state.TimeoutSeconds ?? 60);
      local[name] = { ...withoutPath, TimeoutSeconds: NO_REAL_TIMEOUT_SECONDS };
      if (TimeoutSecondsPath) {
        // The simulated clock enforces the timeout; the override reads it from its parameters.
        local[name] = {
          ...withoutPath,
          TimeoutSeconds: NO_REAL_TIMEOUT_SECONDS,
          Parameters: {
            ...(state.Parameters as object),
            [`${LOCAL_TIMEOUT_PARAMETER}.$`]: TimeoutSecondsPath,
          },
        };
      }
      if (resource.endsWith(':lambda:invoke.waitForTaskToken')) {
        refuseInBranch(name);
        overrides[name] = async (input) => {
          const {
            FunctionName,
            Payload,
            [LOCAL_TIMEOUT_PARAMETER]: timeoutFromPath,
          } = input as {
            FunctionName: string;
            Payload: unknown;
            [LOCAL_TIMEOUT_PARAMETER]?: number;
          };
          return actions.callback(name, FunctionName, Payload, timeoutFromPath ?? timeoutSeconds);
        };
      } else if (resource.endsWith(':lambda:invoke')) {
        overrides[name] = async (input) => {
          const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
          return { Payload: await actions.invoke(FunctionName, Payload), StatusCode: 200 };
        };
      } else if (resource.startsWith('arn:aws:lambda:')) {
        overrides[name] = (input) => actions.invoke(resource, input);
      } else {
        throw new Error(`State "${name}" uses ${resource}, which the local rehearsal does not run yet`);
      }
      continue;
    }
    if (state.Type === 'Parallel') {
      local[name] = {
        ...state,
        Branches: (state.Branches as Record<string, unknown>[]).map((branch) =>
          localDefinition(branch, overrides, actions, true),
        ),
      };
      continue;
    }
    if (state.Type === 'Map') {
      const processor = (state.ItemProcessor ?? state.Iterator) as Record<string, unknown>;
      local[name] = {
        ...state,
        ItemProcessor: localDefinition(processor, overrides, actions, true),
        Iterator: undefined,
      };
      continue;
    }
    local[name] = state;
  }
  // The execution's own TimeoutSeconds would be a real-time timer too; locally it is not enforced (README).
  const { TimeoutSeconds: _realTimeLimit, ...untimed } = definition;
  return { ...untimed, States: local };
}

function readPath(input: unknown, path: string): unknown {
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], input);
}

function replaceToken(payload: unknown, token: string): unknown {
  return JSON.parse(JSON.stringify(payload).replaceAll(TOKEN_PLACEHOLDER, token));
}
