import { runCli } from '../cli/program.js';

const exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  // Set by the wrapper script (scripts/tag-based-deploy.sh), so usage messages name the script that ran.
  programName: process.env.SECUREWATCH_CLI_NAME || undefined,
});
// Exit once stdout has drained: kept-alive SDK connections must not hold the command open.
process.stdout.write('', () => process.exit(exitCode));
