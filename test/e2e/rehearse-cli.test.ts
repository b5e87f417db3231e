import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Node itself runs the entry with tsx as its loader, so the timeout reaches the process under test (the tsx
// launcher would be killed and leave its runner behind). The machine may be busy with other test files.
const START_TIMEOUT_MS = 120_000;

function npmStart(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/rehearse.ts', ...args], {
    encoding: 'utf8',
    timeout: START_TIMEOUT_MS,
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('npm start with bad input', { timeout: START_TIMEOUT_MS + 10_000 }, () => {
  it('refuses an unknown option with a one-line error and usage exit code', () => {
    const { status, stderr } = npmStart('--dya', '0');

    expect(status).toBe(2);
    expect(stderr.trim()).toBe("error: unknown option '--dya'\n(Did you mean --day?)");
  });

  it('refuses a patch version before starting anything, saying why, without a stack trace', () => {
    const { status, stderr, stdout } = npmStart('--version', 'v1.1.1', '--day', '0');

    expect(status).toBe(1);
    expect(stderr).toContain('v1.1.1 is a patch release; minor releases end in .0');
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stdout).not.toContain('Plan release');
  });

  it('names the file and the fix for a fleet file that does not exist', () => {
    const { status, stderr } = npmStart('--fleet', 'missing-fleet.json', '--day', '0');

    expect(status).toBe(1);
    expect(stderr).toContain('missing-fleet.json');
    expect(stderr).toContain('Fix:');
  });
});
