// Projects how many history events and state transitions a Step Functions Standard execution of a definition
// records, so the quota (25,000 events per execution) and the bill ($0.025 per 1,000 transitions) can be
// checked for any fleet size before a release runs. Pure: it reads an ASL definition, nothing else.

import { PLAN_CHUNK_CUSTOMERS, ROLLOUT_CHUNK_CUSTOMERS } from '../lambdas/core/plan-chunks.js';

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
  /** An inline Map's items and the states each item runs. */
  ItemsPath?: string;
  ItemProcessor?: AslDefinition;
  Iterator?: AslDefinition;
}

export interface PathOptions {
  /** Loop Choices (keyed by state name): how many times the loop body runs; the last visit takes `Default`. */
  loopIterations?: Record<string, number>;
  /** Other Choices (keyed by state name): the state to go to instead of `Default`. */
  branches?: Record<string, string>;
  /** Inline Maps (keyed by state name): how many items they run (1 when not told). */
  mapIterations?: Record<string, number>;
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
/** MapStateEntered, MapStateStarted, MapStateSucceeded, MapStateExited. */
const MAP_STATE_EVENTS = 4;
/** MapIterationStarted + MapIterationSucceeded, around the states each item runs. */
const MAP_ITERATION_EVENTS = 2;
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
    case 'Map':
      // The Map's own events; each item adds its iteration's (see `projectPath`).
      return MAP_STATE_EVENTS;
    default:
      throw new Error(`State "${name}" is a ${state.Type}; the projection does not model it here`);
  }
}

/** Walks the success path from StartAt: Task/Wait/Pass follow `Next`, Choices follow `Default` unless told. */
export function projectPath(definition: AslDefinition, options: PathOptions = {}): PathProjection {
  const visits = new Map<string, number>();
  const path: string[] = [];
  let historyEvents = EXECUTION_EVENTS;
  let transitions = 0;
  let current: string | undefined = definition.StartAt;
  while (current !== undefined) {
    const name: string = current;
    const state = definition.States[name];
    if (!state) throw new Error(`State "${name}" is referenced but not defined`);
    if (path.length >= MAX_PATH_LENGTH) throw new Error(`The path loops without end at "${name}"`);
    path.push(name);
    historyEvents += historyEventsOf(state, name);
    if (state.Type === 'Map') {
      const iterations = options.mapIterations?.[name] ?? 1;
      const item = projectMapItem(state, name);
      historyEvents += iterations * item.historyEvents;
      transitions += iterations * item.transitions;
    }
    const visit = (visits.get(name) ?? 0) + 1;
    visits.set(name, visit);
    current = nextStateOf(name, state, visit, options);
  }
  return { historyEvents, transitions: path.length + transitions, path };
}

/** One item of an inline Map along its success path: its iteration events and its states'. */
function projectMapItem(state: AslState, name: string): { historyEvents: number; transitions: number } {
  const processor = state.ItemProcessor ?? state.Iterator;
  if (!processor) throw new Error(`Map "${name}" has no ItemProcessor`);
  const item = projectPath(processor);
  return {
    historyEvents: MAP_ITERATION_EVENTS + item.historyEvents - EXECUTION_EVENTS,
    transitions: item.transitions,
  };
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
  /** Customers per plan chunk (one "write plan" Map item). @default PLAN_CHUNK_CUSTOMERS */
  planChunkCustomers?: number;
  /** Customers per rollout chunk (one "start more customer rollouts" Map item). @default ROLLOUT_CHUNK_CUSTOMERS */
  rolloutChunkCustomers?: number;
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

/** The items of the release's Map states: the plan's chunks, and each step's rollout chunks after its first. */
export const PLAN_CHUNKS_PATH = '$.plan.chunks';
export const MORE_ROLLOUT_CHUNKS_PATH = '$.started.moreChunks';

/**
 * Iterations per Map state, by its ItemsPath: the first Map over a path takes the first count, the next
 * the second, and so on; the rest run none.
 */
function chunkMapIterations(
  definition: AslDefinition,
  countsByPath: Record<string, number[]>,
): Record<string, number> {
  const taken: Record<string, number> = {};
  const iterations: Record<string, number> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Map') continue;
    const path = state.ItemsPath ?? '$';
    const index = taken[path] ?? 0;
    taken[path] = index + 1;
    iterations[name] = countsByPath[path]?.[index] ?? 0;
  }
  return iterations;
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
  planChunkCustomers = PLAN_CHUNK_CUSTOMERS,
  rolloutChunkCustomers = ROLLOUT_CHUNK_CUSTOMERS,
  releaseDefinition,
  customerDefinition,
}: ReleaseProjectionInput): ReleaseProjection {
  const [busiestLoop, ...otherLoops] = loopChoicesOf(releaseDefinition);
  const loopIterations: Record<string, number> = {};
  if (busiestLoop) loopIterations[busiestLoop] = Math.max(1, Math.ceil(customers / noticesPerRun));
  for (const loop of otherLoops) loopIterations[loop] = 1;
  const mapIterations = chunkMapIterations(releaseDefinition, {
    [PLAN_CHUNKS_PATH]: [Math.ceil(customers / planChunkCustomers)],
    // Every step starts its first chunk itself: the Maps run the others, fewer than this all together.
    [MORE_ROLLOUT_CHUNKS_PATH]: [Math.ceil(customers / rolloutChunkCustomers)],
  });
  const release = projectPath(releaseDefinition, { loopIterations, mapIterations });
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
