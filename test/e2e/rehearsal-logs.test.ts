import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import { type RehearsalOutcome, rehearse } from '../../local/rehearsal.js';

// The rehearsal keeps the functions' log lines and metrics in a file of its own, as CloudWatch Logs would
// hold them, and says where; the terminal gets none of them.

const VERSION = 'v1.1.0';

describe("a rehearsal's log file", () => {
  let folder: string;
  let outcome: RehearsalOutcome;
  const progress: string[] = [];
  let terminal: string[] = [];

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'rehearsal-logs-'));
    const write = vi.spyOn(process.stdout, 'write');
    try {
      outcome = await rehearse({
        version: VERSION,
        startAt: '2027-03-01T09:00:00Z',
        msPerDay: 0,
        autoApprove: true,
        scenario: scenarioSchema.parse({}),
        logDirectory: join(folder, 'run'),
        progress: (line) => progress.push(line),
      });
    } finally {
      terminal = write.mock.calls.map(([chunk]) => String(chunk));
      write.mockRestore();
    }
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  const lines = () =>
    readFileSync(outcome.logFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('is orchestrator.log in the rehearsal’s folder, and the rehearsal says so', () => {
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.logFile).toBe(join(folder, 'run', 'orchestrator.log'));
    expect(existsSync(outcome.logFile)).toBe(true);
    expect(progress).toContain(`Logs: ${outcome.logFile}`);
  });

  it('holds one JSON object a line, naming the release and the customer of each deployment', () => {
    const requested = lines().filter((line) => line.message === 'Deployment requested');

    expect(requested).toHaveLength(outcome.deploymentRequests);
    for (const line of requested)
      expect(line).toMatchObject({
        level: 'INFO',
        service: 'securewatch-orchestrator',
        release: VERSION,
        customer: expect.any(String),
        execution: expect.stringContaining(':execution:'),
      });
    expect(new Set(requested.map((line) => line.customer)).size).toBe(outcome.customers.length);
  });

  it('holds the metrics (CloudWatch embedded metric format) the functions published', () => {
    const deployments = lines()
      .filter((line) => '_aws' in line && 'DeploymentsSucceeded' in line)
      .flatMap((line) => [line.DeploymentsSucceeded].flat() as number[])
      .reduce((sum, count) => sum + count, 0);

    expect(deployments).toBe(outcome.customers.length);
  });

  it('leaves the terminal without a log line', () => {
    expect(terminal.filter((chunk) => chunk.includes('securewatch-orchestrator'))).toEqual([]);
  });
});
