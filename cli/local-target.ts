import { appendFileSync } from 'node:fs';
import { type StartedRelease, startReleaseExecution } from '../lambdas/application/release-start.js';
import { UserFacingError } from '../lambdas/core/errors.js';
import { resetClients } from '../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../lambdas/shared/clock.js';
import { writeLogLinesTo } from '../lambdas/shared/observability.js';
import { forgetSigningKeys } from '../lambdas/shared/signing-keys.js';
import { LOCAL_OPERATIONS, LOCAL_STACK_FILE, readLocalStackFile } from '../local/local-stack-file.js';
import type { Target } from './target.js';

/**
 * Connects to the local stack `npm start -- --serve` keeps running: the same operations as on AWS, against
 * its stand-ins, on its simulated clock.
 */
export async function connectLocal(file = LOCAL_STACK_FILE): Promise<Target> {
  const found = readLocalStackFile(file);
  if ('problem' in found) throw new UserFacingError(found.problem);
  const { description } = found;
  const call = async (operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    let response: Response;
    try {
      response = await fetch(description.endpointUrl, {
        method: 'POST',
        headers: { 'X-Amz-Target': operation, 'Content-Type': 'application/x-amz-json-1.0' },
        body: JSON.stringify(body),
      });
    } catch {
      throw new UserFacingError(
        `the local stack at ${description.endpointUrl} does not answer; restart it with: npm start -- --serve`,
      );
    }
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok)
      throw new UserFacingError(
        `the local stack refused ${operation}: ${String(answer.message ?? response.status)}`,
      );
    return answer;
  };
  // Handlers read the time synchronously: the simulated time is fetched here and whenever now() is asked.
  let simulatedNow = String((await call(LOCAL_OPERATIONS.now, {})).now);
  const refreshNow = async () => {
    simulatedNow = String((await call(LOCAL_OPERATIONS.now, {})).now);
    return simulatedNow;
  };
  const previous = Object.fromEntries(
    Object.keys(description.environment).map((key) => [key, process.env[key]]),
  );
  Object.assign(process.env, description.environment);
  resetClients();
  forgetSigningKeys();
  useClock({ now: () => simulatedNow });
  // The operations' log lines join the functions' in the stack's log file, not the command's output.
  writeLogLinesTo((line) => appendFileSync(description.logFile, `${line}\n`));
  return {
    kind: 'local',
    description: `local stack (${file})`,
    now: refreshNow,
    async startRelease(version, input): Promise<StartedRelease> {
      await call(LOCAL_OPERATIONS.deployRelease, { version });
      return startReleaseExecution(input);
    },
    async scheduleReleaseStart(version, input, at) {
      await call(LOCAL_OPERATIONS.scheduleReleaseStart, { version, input, at });
    },
    async close() {
      resetClients();
      useRealClock();
      writeLogLinesTo(undefined);
      for (const [key, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    },
  };
}
