// Projects how many history events and state transitions a Step Functions Standard execution of a definition
// records, so the quota (25,000 events per execution) and the bill ($0.025 per 1,000 transitions) can be
// checked for any fleet size before a release runs. Pure: it reads an ASL definition, nothing else.

/** The parts of an Amazon States Language (JSONPath) definition the projection reads. */
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  Comment?: string;
}

export interface AslState {
  Type: 'Task' | 'Wait' | 'Pass' | 'Choice' | 'Succeed' | 'Fail' | 'Map' | 'Parallel';
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next: string }[];
  Resource?: string;
  Parameters?: Record<string, unknown>;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Retry?: { ErrorEquals: string[]; JitterStrategy?: string }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Comment?: string;
}

export interface PathOptions {
  /** Loop Choices (keyed by state name): how many times the loop body runs; the last visit takes `Default`. */
  loopIterations?: Record<string, number>;
  /** Other Choices (keyed by state name): the state to go to instead of `Default`. */
  branches?: Record<string, string>;
}

export interface PathProjection {
  historyEvents: number;
  /** Billed transitions: one per state entered (retries, which are billed too, are not projected). */
  transitions: number;
  /** The states entered, in order. */
  path: string[];
}

/** ExecutionStarted + ExecutionSucceeded. */
export const EXECUTION_EVENTS = 2;
/** TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited. */
const TASK_EVENTS = 5;
/** A callback or `.sync` task adds TaskSubmitted. */
const WAITING_TASK_EVENTS = 6;
/** StateEntered + StateExited for Wait, Choice, Pass, Succeed and Fail. */
const FLOW_STATE_EVENTS = 2;
/** A path longer than this is a loop the options did not bound. */
const MAX_PATH_LENGTH = 1_000_000;

export const USD_PER_THOUSAND_TRANSITIONS = 0.025;

/** The history events one visit of a state writes (entered and exited included). */
export function historyEventsOf(state: AslState, name: string): number {
  switch (state.Type) {
    case 'Task':
      return /\.(waitForTaskToken|sync)(:\d+)?$/.test(state.Resource ?? '')
        ? WAITING_TASK_EVENTS
        : TASK_EVENTS;
    case 'Wait':
    case 'Choice':
    case 'Pass':
    case 'Succeed':
    case 'Fail':
      return FLOW_STATE_EVENTS;
    default:
      throw new Error(`State "${name}" is a ${state.Type}; the projection does not model Map or Parallel`);
  }
}

/** Walks the success path from StartAt: Task/Wait/Pass follow `Next`, Choices follow `Default` unless told. */
export function projectPath(definition: AslDefinition, options: PathOptions = {}): PathProjection {
  const visits = new Map<string, number>();
  const path: string[] = [];
  let historyEvents = EXECUTION_EVENTS;
  let current: string | undefined = definition.StartAt;
  while (current !== undefined) {
    const name: string = current;
    const state = definition.States[name];
    if (!state) throw new Error(`State "${name}" is referenced but not defined`);
    if (path.length >= MAX_PATH_LENGTH) throw new Error(`The path loops without end at "${name}"`);
    path.push(name);
    historyEvents += historyEventsOf(state, name);
    const visit = (visits.get(name) ?? 0) + 1;
    visits.set(name, visit);
    current = nextStateOf(name, state, visit, options);
  }
  return { historyEvents, transitions: path.length, path };
}

function nextStateOf(name: string, state: AslState, visit: number, options: PathOptions): string | undefined {
  if (state.Type === 'Succeed' || state.Type === 'Fail' || state.End) return undefined;
  if (state.Type !== 'Choice') return state.Next;
  const iterations = options.loopIterations?.[name];
  if (iterations !== undefined) {
    const loopBack = state.Choices?.[0]?.Next;
    if (!loopBack) throw new Error(`Choice "${name}" has no branch to loop back through`);
    return visit < Math.max(1, iterations) ? loopBack : state.Default;
  }
  const branch = options.branches?.[name];
  if (branch !== undefined) {
    if (!state.Choices?.some((choice) => choice.Next === branch) && state.Default !== branch) {
      throw new Error(`Choice "${name}" has no branch to "${branch}"`);
    }
    return branch;
  }
  if (!state.Default) throw new Error(`Choice "${name}" has no Default to follow`);
  return state.Default;
}

/** History events of one execution along the success path. */
export function projectHistoryEvents(definition: AslDefinition, options: PathOptions = {}): number {
  return projectPath(definition, options).historyEvents;
}

/** Choices that can lead back to themselves through one of their `Choices` branches (e.g. "more notices?"). */
export function loopChoicesOf(definition: AslDefinition): string[] {
  return Object.entries(definition.States)
    .filter(([name, state]) => state.Type === 'Choice' && reaches(definition, state.Choices?.[0]?.Next, name))
    .map(([name]) => name);
}

function reaches(definition: AslDefinition, from: string | undefined, target: string): boolean {
  const seen = new Set<string>();
  const pending = from ? [from] : [];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (name === target) return true;
    if (seen.has(name)) continue;
    seen.add(name);
    const state = definition.States[name];
    if (!state) continue;
    for (const next of [state.Next, state.Default, ...(state.Choices ?? []).map((choice) => choice.Next)]) {
      if (next) pending.push(next);
    }
  }
  return false;
}

export interface ReleaseProjectionInput {
  customers: number;
  /** How many notices one "send advance notices" run sends (the handler's NOTICES_PER_RUN). */
  noticesPerRun: number;
  releaseDefinition: AslDefinition;
  customerDefinition: AslDefinition;
}

export interface ReleaseProjection {
  releaseExecutionEvents: number;
  releaseTransitions: number;
  /** The customer execution's worst path: approval, window, deployment, recorded. */
  maxCustomerExecutionEvents: number;
  maxCustomerTransitions: number;
  childExecutions: number;
  /** Release plus every child on its worst path. */
  transitions: number;
  costUsd: number;
}

/** The customer rollout's longest success path: approval first, then window, deployment and outcome. */
export const CUSTOMER_APPROVAL_PATH: PathOptions = { branches: { 'Schedulable?': 'Ask approvers' } };

/**
 * One release for a fleet of `customers`: the release execution (worst case: every customer's notice falls
 * due at the same checkpoint, so that checkpoint's notice loop runs ceil(customers / noticesPerRun) times and
 * the others once) and one child execution per customer, each on its worst path.
 */
export function projectRelease({
  customers,
  noticesPerRun,
  releaseDefinition,
  customerDefinition,
}: ReleaseProjectionInput): ReleaseProjection {
  const [busiestLoop, ...otherLoops] = loopChoicesOf(releaseDefinition);
  const loopIterations: Record<string, number> = {};
  if (busiestLoop) loopIterations[busiestLoop] = Math.max(1, Math.ceil(customers / noticesPerRun));
  for (const loop of otherLoops) loopIterations[loop] = 1;
  const release = projectPath(releaseDefinition, { loopIterations });
  const customer = projectPath(customerDefinition, CUSTOMER_APPROVAL_PATH);
  const transitions = release.transitions + customers * customer.transitions;
  return {
    releaseExecutionEvents: release.historyEvents,
    releaseTransitions: release.transitions,
    maxCustomerExecutionEvents: customer.historyEvents,
    maxCustomerTransitions: customer.transitions,
    childExecutions: customers,
    transitions,
    costUsd: (transitions / 1000) * USD_PER_THOUSAND_TRANSITIONS,
  };
}
