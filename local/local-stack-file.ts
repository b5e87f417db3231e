import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Where a running local stack (`npm start -- --serve`) says how to reach it; commands with --local read it. */
export const LOCAL_STACK_FILE = join(
  fileURLToPath(new URL('..', import.meta.url)),
  '.local-stack',
  'endpoints.json',
);

export const localStackDescription = z.object({
  pid: z.int(),
  startedAt: z.string(),
  /** The local AWS endpoint: Step Functions, EventBridge, SQS, Secrets Manager, and the local stack's own operations. */
  endpointUrl: z.string(),
  inboxUrl: z.string(),
  approvalUrl: z.string(),
  logFile: z.string(),
  /** The functions' environment (table, bus, queue, endpoints): the commands run the same operations with it. */
  environment: z.record(z.string(), z.string()),
});

export type LocalStackDescription = z.infer<typeof localStackDescription>;

/** The local stack's own operations on its endpoint (`X-Amz-Target`), beside the AWS ones it serves. */
export const LOCAL_OPERATIONS = {
  now: 'SecureWatchLocal.Now',
  deployRelease: 'SecureWatchLocal.DeployRelease',
  scheduleReleaseStart: 'SecureWatchLocal.ScheduleReleaseStart',
} as const;

export function writeLocalStackFile(description: LocalStackDescription, file = LOCAL_STACK_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(description, null, 2)}\n`);
}

/** Removes the file if this process wrote it (a newer local stack may have replaced it since). */
export function removeLocalStackFile(file = LOCAL_STACK_FILE): void {
  try {
    if (localStackDescription.parse(JSON.parse(readFileSync(file, 'utf8'))).pid !== process.pid) return;
  } catch {
    return;
  }
  rmSync(file, { force: true });
}

/** The running local stack's description, or why there is none (a message naming the fix). */
export function readLocalStackFile(
  file = LOCAL_STACK_FILE,
): { description: LocalStackDescription } | { problem: string } {
  const start = 'start one in another terminal with: npm start -- --serve';
  if (!existsSync(file)) return { problem: `no local stack is running (${file} does not exist); ${start}` };
  let description: LocalStackDescription;
  try {
    description = localStackDescription.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return { problem: `${file} is not a local stack description; delete it and ${start}` };
  }
  if (!isRunning(description.pid))
    return { problem: `the local stack that wrote ${file} (pid ${description.pid}) has stopped; ${start}` };
  return { description };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
