import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { TaskRecorder } from './step-functions.js';

// What the stand-ins were asked to do during a rehearsal, written down so the bench can replay the same
// work on the stand-ins alone (its floor). Recording is off unless a rehearsal is given a folder.

export const STORE_REQUESTS_FILE = 'store-requests.jsonl';
export const EXECUTIONS_FILE = 'executions.jsonl';

/** One line of the executions file: a state machine (once), an execution as it starts, a task's result. */
export type RecordedExecutionLine =
  | { kind: 'machine'; stateMachineArn: string; definition: Record<string, unknown> }
  | { kind: 'execution'; executionArn: string; stateMachineArn: string; input: unknown; at: number }
  | {
      kind: 'task';
      executionArn: string;
      state: string;
      output?: unknown;
      error?: string;
      cause?: string;
    };

export interface ExecutionRecording extends TaskRecorder {
  close(): Promise<void>;
}

/** Writes every execution and task result to `file`, one JSON line each. */
export function recordExecutions(file: string): ExecutionRecording {
  const out: WriteStream = createWriteStream(file);
  const write = (line: RecordedExecutionLine) => out.write(`${JSON.stringify(line)}\n`);
  const machines = new Set<string>();
  return {
    started(record, definition) {
      if (!machines.has(record.stateMachineArn)) {
        machines.add(record.stateMachineArn);
        write({ kind: 'machine', stateMachineArn: record.stateMachineArn, definition });
      }
      write({
        kind: 'execution',
        executionArn: record.executionArn,
        stateMachineArn: record.stateMachineArn,
        input: record.input,
        at: Date.now(),
      });
    },
    settled(record, state, result) {
      write({ kind: 'task', executionArn: record.executionArn, state, ...result });
    },
    async close() {
      out.end();
      await finished(out).catch(() => {});
    },
  };
}
