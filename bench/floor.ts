import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { StateMachine } from 'aws-local-stepfunctions';
import { LOCAL_SIGNATURE_HEADERS } from '../local/aws-client-config.js';
import { type RecordedStoreRequest, startLocalDynamoDb } from '../local/dynamodb.js';
import { localDefinition } from '../local/step-functions.js';
import type { RecordedExecutionLine } from '../local/workload-recording.js';

// The floor: the rehearsal's recorded workload run on the stand-ins alone, without the handlers, the SDK,
// the simulated clock or the event plumbing in between.

export const FLOOR_DEFINITION = [
  "Floor = the stand-ins alone doing the rehearsal's run-phase work, measured as the sum of:",
  '  (a) DynamoDB: every request the rehearsal sent to dynalite after the release started (X-Amz-Target + body,',
  '      recorded at the server with `--record-workload`), replayed in order against a fresh dynalite, handed to',
  '      it in-process as the rehearsal hands them (no HTTP), each request sent once fewer are in flight than with it',
  '      in the rehearsal (same concurrency); the requests before the release started (tables, fleet import) are',
  '      replayed first, untimed;',
  '  (b) Step Functions: every execution the rehearsal ran, on aws-local-stepfunctions with the same local',
  '      definitions, all started at once, each task and wait returning at once the result it had in the',
  '      rehearsal (so each execution takes the same path).',
  'Run phase = rehearsal wall time minus start-up (process start to the release execution starting).',
  'Ratio = run phase / floor.',
].join('\n');

export interface StoreReplay {
  requests: number;
  /** Requests dynalite answered with an error (conditional checks that failed in the rehearsal too, mostly). */
  errors: number;
  seconds: number;
}

/** Replays a `store-requests.jsonl` recording; only the requests from `timedFromEpochMs` on are timed. */
export async function replayStoreRequests(file: string, timedFromEpochMs: number): Promise<StoreReplay> {
  const database = await startLocalDynamoDb();
  let inFlight = 0;
  let waiting: (() => void) | undefined;
  let errors = 0;
  let requests = 0;
  const send = async (line: RecordedStoreRequest) => {
    const { response } = await database.requestHandler.handle({
      method: 'POST',
      path: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': line.target,
        ...LOCAL_SIGNATURE_HEADERS,
      },
      body: line.body,
    });
    if (response.statusCode >= 400) errors += 1;
  };
  const pending = new Set<Promise<void>>();
  const slotFree = async (limit: number) => {
    while (inFlight >= limit) await new Promise<void>((resolve) => (waiting = resolve));
  };
  let started: number | undefined;
  try {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const text of lines) {
      if (!text) continue;
      const line = JSON.parse(text) as RecordedStoreRequest;
      if (started === undefined && line.at >= timedFromEpochMs) {
        await Promise.all([...pending]);
        started = performance.now();
      }
      if (started !== undefined) requests += 1;
      await slotFree(Math.max(1, line.inFlight));
      inFlight += 1;
      const sent: Promise<void> = send(line)
        .catch(() => {
          errors += 1;
        })
        .finally(() => {
          inFlight -= 1;
          pending.delete(sent);
          const wake = waiting;
          waiting = undefined;
          wake?.();
        });
      pending.add(sent);
    }
    await Promise.all([...pending]);
    return { requests, errors, seconds: started === undefined ? 0 : (performance.now() - started) / 1000 };
  } finally {
    await database.stop();
  }
}

export interface ExecutionReplay {
  executions: number;
  /** Executions that succeeded (as many as in the rehearsal when the replay took the same paths). */
  succeeded: number;
  firstFailure?: string;
  seconds: number;
}

/** Runs every execution of an `executions.jsonl` recording with its tasks answering as recorded. */
export async function replayExecutions(file: string): Promise<ExecutionReplay> {
  const machines = new Map<string, { machine: StateMachine; stateNames: string[] }>();
  const executions = new Map<
    string,
    { stateMachineArn: string; input: unknown; results: Map<string, RecordedExecutionLine[]> }
  >();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const text of lines) {
    if (!text) continue;
    const line = JSON.parse(text) as RecordedExecutionLine;
    if (line.kind === 'machine') {
      const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
      const definition = localDefinition(line.definition, overrides, {
        wait: async () => {},
        invoke: async () => undefined,
        callback: async () => undefined,
      });
      machines.set(line.stateMachineArn, {
        machine: new StateMachine(definition as never, { validationOptions: { noValidate: true } }),
        stateNames: Object.keys(overrides),
      });
    } else if (line.kind === 'execution') {
      executions.set(line.executionArn, {
        stateMachineArn: line.stateMachineArn,
        input: line.input,
        results: new Map(),
      });
    } else {
      const results = executions.get(line.executionArn)?.results;
      if (!results) continue;
      const queue = results.get(line.state) ?? [];
      queue.push(line);
      results.set(line.state, queue);
    }
  }
  let succeeded = 0;
  let firstFailure: string | undefined;
  const started = performance.now();
  await Promise.all(
    [...executions].map(async ([arn, execution]) => {
      const found = machines.get(execution.stateMachineArn);
      if (!found) return;
      const overrides = Object.fromEntries(
        found.stateNames.map((state) => [
          state,
          async () => {
            const result = execution.results.get(state)?.shift();
            if (result?.kind !== 'task') throw new Error(`No recorded result for ${state}`);
            if (result.error !== undefined) {
              const error = new Error(result.cause);
              error.name = result.error;
              throw error;
            }
            return result.output;
          },
        ]),
      );
      const run = found.machine.run(execution.input as never, {
        overrides: { taskResourceLocalHandlers: overrides as never },
        context: {
          Execution: {
            Id: arn,
            Name: arn.slice(arn.lastIndexOf(':') + 1),
            Input: execution.input as never,
            StartTime: new Date().toISOString(),
          },
          StateMachine: {
            Id: execution.stateMachineArn,
            Name: execution.stateMachineArn.slice(execution.stateMachineArn.lastIndexOf(':') + 1),
          },
          Task: { Token: 'floor-task-token' },
        },
      });
      await run.result.then(
        () => {
          succeeded += 1;
        },
        (error: Error) => {
          firstFailure ??= `${arn}: ${String(error.cause ?? error.message)}`;
        },
      );
    }),
  );
  return {
    executions: executions.size,
    succeeded,
    firstFailure,
    seconds: (performance.now() - started) / 1000,
  };
}
