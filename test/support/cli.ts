import type { CliIo } from '../../cli/context.js';
import { runCli } from '../../cli/program.js';

/** What a command printed, and how it exited. */
export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process as a person would run it, capturing its output. */
export async function runCapturing(
  argv: readonly string[],
  io: Omit<CliIo, 'stdout' | 'stderr'> = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runCli(argv, {
    ...io,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { exitCode, stdout, stderr };
}
