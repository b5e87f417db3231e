import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The local stack as a person runs it: `npm start -- --serve` in one process, the documented scripts in
// others, with their own endpoints file so a developer's running stack is left alone.

export interface ServedStack {
  /** Everything the stack printed so far. */
  output(): string;
  /** Runs a command line (e.g. `./scripts/minor-release-manager.sh check-status --version v1.1.0 --local`). */
  run(commandLine: string): Promise<CommandResult>;
  stop(): Promise<void>;
}

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

const READY = 'Press Ctrl-C to stop.';
const STARTUP_TIMEOUT_MS = 120_000;
const COMMAND_TIMEOUT_MS = 120_000;

export async function serveLocalStack(...args: string[]): Promise<ServedStack> {
  const directory = mkdtempSync(join(tmpdir(), 'securewatch-local-stack-'));
  const env = { ...process.env, SECUREWATCH_LOCAL_STACK_FILE: join(directory, 'endpoints.json') };
  // Node runs the entry with tsx as its loader, so stopping it stops the stack itself.
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'bin/rehearse.ts', '--serve', ...args],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the local stack did not start:\n${output}`)),
      STARTUP_TIMEOUT_MS,
    );
    const check = () => {
      if (output.includes(READY)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the local stack exited:\n${output}`));
    });
  });
  return {
    output: () => output,
    run: (commandLine) =>
      new Promise((resolve) => {
        execFile(
          'bash',
          ['-c', commandLine],
          { env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
          (error, stdout, stderr) => {
            const status = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
            resolve({ status, stdout, stderr });
          },
        );
      }),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** How long `until` waits for the simulated release to reach a point (a day a second, under load). */
const REACH_TIMEOUT_MS = 240_000;

/** Polls until `reached` holds (the stack's clock runs on its own), or fails with what was seen last. */
export async function until<T>(
  stack: ServedStack,
  what: string,
  probe: () => Promise<T>,
  reached: (seen: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + REACH_TIMEOUT_MS;
  let seen = await probe();
  while (!reached(seen)) {
    if (Date.now() > deadline)
      throw new Error(
        `${what} was not reached; last seen: ${JSON.stringify(seen)}\nThe stack said:\n${stack.output().slice(-4000)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    seen = await probe();
  }
  return seen;
}
