import { Command, CommanderError } from 'commander';
import { UsageError, UserFacingError } from '../lambdas/core/errors.js';
import { registerAbort } from './abort.js';
import { registerCheckStatus } from './check-status.js';
import { registerChecklist } from './checklist.js';
import { connectTarget } from './connect.js';
import type { CliIo } from './context.js';
import { registerCustomers } from './customers.js';
import { registerDeployCustomers } from './deploy-customers.js';
import { registerHalt } from './halt.js';
import { registerMigrateStore } from './migrate-store.js';
import { registerPlanRelease } from './plan-release.js';
import { registerResume } from './resume.js';
import { registerRollback } from './rollback.js';
import { registerRotateSigningKey } from './rotate-signing-key.js';
import { registerSendNotifications } from './send-notifications.js';
import { registerStartPhase } from './start-phase.js';
import { registerCreateTag, registerValidate } from './tag-based-deploy.js';
import { registerUpdateCustomer } from './update-customer.js';

export const PROGRAM_NAME = 'minor-release-manager.sh';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

// The workflow document's commands first, in its order; then the operator's (the store's upgrade last), then
// the fleet's and the keys'.
const COMMANDS: readonly ((program: Command, io: CliIo) => void)[] = [
  registerPlanRelease,
  registerCheckStatus,
  registerStartPhase,
  registerDeployCustomers,
  registerSendNotifications,
  // scripts/tag-based-deploy.sh and scripts/update-customer.sh run this same program.
  registerCreateTag,
  registerValidate,
  registerUpdateCustomer,
  registerChecklist,
  registerHalt,
  registerResume,
  registerAbort,
  registerRollback,
  registerMigrateStore,
  registerCustomers,
  registerRotateSigningKey,
];

function buildProgram(io: CliIo): Command {
  const program = new Command(io.programName ?? PROGRAM_NAME)
    .description('SecureWatch minor release manager')
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      // Errors are printed once, in runCli, as a single line.
      outputError: () => {},
    });
  for (const register of COMMANDS) register(program, io);
  return program;
}

function oneLine(message: string): string {
  return message
    .replace(/^error:\s*/i, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
}

function reportCommanderError(error: CommanderError, io: CliIo): number {
  // Help and version output already went to stdout/stderr; only real mistakes are reported.
  if (error.exitCode === 0) return EXIT_OK;
  if (error.code === 'commander.help') return EXIT_USAGE;
  io.stderr(`error: ${oneLine(error.message)} (run '${io.programName ?? PROGRAM_NAME} --help' for usage)\n`);
  return EXIT_USAGE;
}

/** Runs the CLI on user arguments (without node and script path) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await buildProgram({ ...io, connect: io.connect ?? connectTarget }).parseAsync([...argv], {
      from: 'user',
    });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) return reportCommanderError(error, io);
    if (error instanceof UserFacingError) {
      io.stderr(`error: ${error.message}\n`);
      return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`error: unexpected failure: ${message}\n`);
    return EXIT_FAILURE;
  }
}
