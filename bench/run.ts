import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError } from 'commander';
import { bundledConfig } from '../lambdas/core/config.js';
import type { Fleet } from '../lambdas/core/model.js';
import { CHUNK_CONCURRENCY } from '../lambdas/core/plan-chunks.js';
import type { RehearsalOutcome } from '../local/rehearsal.js';
import { sampleFleet } from '../local/sample-fleet.js';
import { EXECUTIONS_FILE, STORE_REQUESTS_FILE } from '../local/workload-recording.js';
import { projectRelease, USD_PER_THOUSAND_TRANSITIONS } from '../statemachines/history-projection.js';
import {
  CUSTOMER_STATE_MACHINE,
  definitionOf,
  RELEASE_STATE_MACHINE,
  synthesizeApp,
} from '../test/infra/support/synth.js';
import { bundleSizes } from './bundle-sizes.js';
import { generatedFleet } from './fleet.js';
import { FLOOR_DEFINITION, replayExecutions, replayStoreRequests } from './floor.js';
import { planAtScale } from './plan-at-scale.js';

// `npm run bench`: per fleet size, the local rehearsal (wall time, memory, run phase against the stand-ins'
// floor), planning time, the Step Functions footprint and the requests per customer, checked against the
// targets of issue 11; printed, and written as JSON.

const START = '2027-03-01T09:00:00Z';
const VERSION = 'v1.1.0';
const NOTICES_PER_RUN = Number(process.env.NOTICES_PER_RUN ?? 200);
const KIB = 1024;
const MIB = 1024 * KIB;

const TARGETS = {
  rehearsal1000Seconds: 10,
  rehearsal10000Seconds: 60,
  peakMemoryMiB: 1024,
  plan100000Seconds: 60,
  planChunkCpuSeconds: 120,
  historyEvents: 12_500,
  statePayloadBytes: 64 * KIB,
  transitionsPerCustomer: 10,
  floorRatio: 2,
  bundleBytes: 500_000,
};

const parseCount = (value: string) => {
  const parsed = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
};

const options = new Command('npm run bench --')
  .description('Measures the rehearsal and the release footprint per fleet size (issue 11).')
  .option(
    '--sizes <list>',
    'fleet sizes, comma-separated',
    (value) => value.split(',').map((size) => parseCount(size.trim())),
    [1_000, 10_000, 100_000],
  )
  .option('--json <file>', 'where the results are written as JSON', 'bench/results.json')
  .option(
    '--rehearse-up-to <n>',
    'larger fleets are not rehearsed but projected from the largest rehearsed one',
    parseCount,
    10_000,
  )
  .option(
    '--budget <seconds>',
    'stop a rehearsal after this long (default: 120 s + 30 ms per customer)',
    parseCount,
  )
  .option('--no-floor', "skip the stand-ins' floor (no workload recorded, no replay)")
  .option('--no-cdk-synth', 'skip timing `npx cdk synth` (the in-process synth is still timed)')
  .parse()
  .opts<{
    sizes: number[];
    json: string;
    rehearseUpTo: number;
    budget?: number;
    floor: boolean;
    cdkSynth: boolean;
  }>();

const sizes = [...new Set(options.sizes)].sort((a, b) => a - b);
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Number((totalmem() / 1024 / MIB).toFixed(1)),
  node: process.version,
  date: new Date().toISOString(),
};

console.log(
  `npm run bench — ${machine.date}, ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}`,
);
console.log(
  'Rehearsal = `npm start -- --day 0 --auto-approve --json --fleet F` in a process of its own (tsx), wall time from spawn to exit.',
);
console.log(
  options.floor
    ? 'The rehearsal records its workload for the floor (--record-workload): that writing is inside its wall time.'
    : 'No floor (--no-floor): the rehearsal records nothing.',
);
console.log(FLOOR_DEFINITION);
console.log('');

const synthStarted = performance.now();
const { release } = synthesizeApp({ bundle: false });
const inProcessSynthSeconds = (performance.now() - synthStarted) / 1000;
const releaseDefinition = definitionOf(release, RELEASE_STATE_MACHINE);
const customerDefinition = definitionOf(release, CUSTOMER_STATE_MACHINE);
const config = bundledConfig();
const sample = sampleFleet(config.policies);
const workdir = mkdtempSync(join(tmpdir(), 'securewatch-bench-'));

interface Planning {
  method: string;
  wallSeconds: number;
  /** CPU time of the largest single invocation (the whole plan when it is one piece). */
  maxChunkCpuSeconds: number;
  chunks: number;
}

/**
 * Plans the fleet's size of generated customers and writes the plan as the release workflow does ("Plan
 * release", then the "Write plan" Map's chunks), on a dynalite of its own: the wall time from the first
 * invocation to the release running, and the CPU of the largest single invocation.
 */
async function planningOf(fleet: Fleet): Promise<Planning> {
  const measured = await planAtScale(fleet, VERSION);
  return {
    method: `plan-release, then write-plan-chunk per chunk (${CHUNK_CONCURRENCY} at a time) and open-release, on dynalite in its own process`,
    wallSeconds: measured.wallMs / 1000,
    maxChunkCpuSeconds: measured.largestChunkCpuMs / 1000,
    chunks: measured.chunks,
  };
}

/** Every function bundle's minified size in bytes, bundled as its function is deployed. */
async function bundleSizesByHandler(): Promise<Record<string, number>> {
  return Object.fromEntries((await bundleSizes()).map(({ handler, bytes }) => [handler, bytes]));
}

type Counts = Record<string, number>;

interface Rehearsal {
  mode: 'measured' | 'projected' | 'timed out' | 'failed';
  budgetSeconds?: number;
  /** Why a failed rehearsal failed, or what a projection is based on. */
  note?: string;
  status?: RehearsalOutcome['status'];
  wallSeconds?: number;
  startupSeconds?: number;
  /** When the release execution started (epoch ms): the floor times the store requests from then on. */
  releaseStartedEpochMs?: number;
  runPhaseSeconds?: number;
  peakMemoryMiB?: number;
  executions?: number;
  transitions?: number;
  largestHistoryEvents?: number;
  largestStatePayload?: RehearsalOutcome['largestStatePayload'];
  storeRequests?: { total: number; byOperation: Counts };
  invocations?: { total: number; byOperation: Counts };
  ses?: RehearsalOutcome['ses'];
}

interface Floor {
  storeSeconds: number;
  storeRequests: number;
  executionSeconds: number;
  executions: number;
  executionsSucceeded: number;
  seconds: number;
  ratio: number;
}

interface SizeResult {
  customers: number;
  rehearsal: Rehearsal;
  floor?: Floor;
  planning: Planning;
  projection: {
    releaseEvents: number;
    customerEvents: number;
    transitions: number;
    transitionsPerCustomer: number;
    costUsd: number;
  };
  perCustomer?: {
    basis: string;
    transitions: number;
    storeRequests: number;
    invocations: number;
    emailsPerSesCall: number | null;
  };
}

const total = (counts: Counts) => Object.values(counts).reduce((sum, count) => sum + count, 0);

/** The Node flags `npm start` gives the rehearsal (package.json's start script), so the bench runs it alike. */
function startNodeFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } };
  return scripts.start.split(/\s+/).filter((word) => word.startsWith('--'));
}

async function rehearse(customers: number, fleetFile: string, recordTo?: string): Promise<Rehearsal> {
  const budgetSeconds = options.budget ?? 120 + 0.03 * customers;
  const outFile = join(workdir, `outcome-${customers}.json`);
  const args = [
    ...startNodeFlags(),
    '--import',
    'tsx',
    'bin/rehearse.ts',
    '--day',
    '0',
    '--auto-approve',
    '--json',
  ];
  args.push('--start', START, '--fleet', fleetFile, ...(recordTo ? ['--record-workload', recordTo] : []));
  const spawnedAt = Date.now();
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', openSync(outFile, 'w'), 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, budgetSeconds * 1000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  const wallSeconds = (performance.now() - started) / 1000;
  if (timedOut)
    return { mode: 'timed out', budgetSeconds, note: `stopped after ${budgetSeconds.toFixed(0)} s` };
  let outcome: RehearsalOutcome;
  try {
    outcome = JSON.parse(readFileSync(outFile, 'utf8')) as RehearsalOutcome;
  } catch {
    return { mode: 'failed', budgetSeconds, note: `exit ${code}: ${stderr.trim().split('\n').at(-1)}` };
  } finally {
    rmSync(outFile, { force: true });
  }
  const startupSeconds = (outcome.releaseStartedEpochMs - spawnedAt) / 1000;
  const storeRequests = outcome.storeRequests;
  return {
    mode: 'measured',
    budgetSeconds,
    status: outcome.status,
    wallSeconds,
    startupSeconds,
    releaseStartedEpochMs: outcome.releaseStartedEpochMs,
    runPhaseSeconds: wallSeconds - startupSeconds,
    peakMemoryMiB: outcome.peakMemoryMiB,
    executions: outcome.executions,
    transitions: outcome.transitions,
    largestHistoryEvents: outcome.maxHistoryEvents.events,
    largestStatePayload: outcome.largestStatePayload,
    storeRequests: { total: total(storeRequests), byOperation: storeRequests },
    invocations: { total: total(outcome.invocations), byOperation: outcome.invocations },
    ses: outcome.ses,
  };
}

async function floorOf(recording: string, releaseStartedEpochMs: number, runPhaseSeconds: number) {
  const store = await replayStoreRequests(join(recording, STORE_REQUESTS_FILE), releaseStartedEpochMs);
  const executions = await replayExecutions(join(recording, EXECUTIONS_FILE));
  const seconds = store.seconds + executions.seconds;
  return {
    storeSeconds: store.seconds,
    storeRequests: store.requests,
    executionSeconds: executions.seconds,
    executions: executions.executions,
    executionsSucceeded: executions.succeeded,
    seconds,
    ratio: runPhaseSeconds / seconds,
  };
}

/** The largest rehearsal measured so far, whose per-customer cost projects the larger sizes. */
let basis: { customers: number; rehearsal: Rehearsal } | undefined;
const results: SizeResult[] = [];
for (const customers of sizes) {
  const fleet = generatedFleet(sample, customers);
  const planning = await planningOf(fleet);
  const projected = projectRelease({
    customers,
    noticesPerRun: NOTICES_PER_RUN,
    releaseDefinition,
    customerDefinition,
  });
  const result: SizeResult = {
    customers,
    planning,
    projection: {
      releaseEvents: projected.releaseExecutionEvents,
      customerEvents: projected.maxCustomerExecutionEvents,
      transitions: projected.transitions,
      transitionsPerCustomer: projected.transitions / customers,
      costUsd: projected.costUsd,
    },
    rehearsal: { mode: 'projected' },
  };
  if (customers <= options.rehearseUpTo) {
    console.log(`Rehearsing ${customers.toLocaleString('en')} customers…`);
    const fleetFile = join(workdir, `fleet-${customers}.json`);
    writeFileSync(fleetFile, JSON.stringify(fleet));
    const recording = options.floor ? join(workdir, `workload-${customers}`) : undefined;
    const rehearsal = await rehearse(customers, fleetFile, recording);
    result.rehearsal = rehearsal;
    if (rehearsal.mode === 'measured') {
      basis = { customers, rehearsal };
      if (recording && rehearsal.runPhaseSeconds !== undefined) {
        console.log('  replaying its workload on the stand-ins alone (floor)…');
        result.floor = await floorOf(
          recording,
          rehearsal.releaseStartedEpochMs ?? 0,
          rehearsal.runPhaseSeconds,
        );
      }
    }
    if (recording) rmSync(recording, { recursive: true, force: true });
  } else if (basis?.rehearsal.runPhaseSeconds !== undefined && basis.rehearsal.startupSeconds !== undefined) {
    const perCustomer = basis.rehearsal.runPhaseSeconds / basis.customers;
    result.rehearsal = {
      mode: 'projected',
      note: `start-up of ${basis.customers} + ${(perCustomer * 1000).toFixed(1)} ms per customer (its run phase)`,
      wallSeconds: basis.rehearsal.startupSeconds + perCustomer * customers,
    };
  } else {
    result.rehearsal = { mode: 'projected', note: 'nothing measured to project from' };
  }
  const measured = result.rehearsal.mode === 'measured' ? result.rehearsal : basis?.rehearsal;
  const basisCustomers = result.rehearsal.mode === 'measured' ? customers : basis?.customers;
  if (measured?.storeRequests && measured.invocations && measured.ses && basisCustomers) {
    result.perCustomer = {
      basis: basisCustomers === customers ? 'measured' : `measured at ${basisCustomers}`,
      transitions: (measured.transitions ?? 0) / basisCustomers,
      storeRequests: measured.storeRequests.total / basisCustomers,
      invocations: measured.invocations.total / basisCustomers,
      emailsPerSesCall: measured.ses.sendCalls ? measured.ses.emails / measured.ses.sendCalls : null,
    };
  }
  results.push(result);
}

const cdkSynth = options.cdkSynth ? await timeCdkSynth() : undefined;
rmSync(workdir, { recursive: true, force: true });

async function timeCdkSynth(): Promise<{ seconds?: number; error?: string }> {
  console.log('Timing `npx cdk synth -c version=v1.1.0 -q`…');
  const out = join(workdir, 'cdk.out');
  const started = performance.now();
  const child = spawn('npx', ['cdk', 'synth', '-c', `version=${VERSION}`, '-q', '-o', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if (code !== 0) return { error: `exit ${code}: ${stderr.trim().split('\n').at(-1)}` };
  return { seconds: (performance.now() - started) / 1000 };
}

// Printed per size, then one line per target of issue 11.
const seconds = (value: number | undefined, digits = 1) => (value === undefined ? '' : value.toFixed(digits));
const wallOf = ({ rehearsal }: SizeResult) =>
  rehearsal.mode === 'measured'
    ? `${seconds(rehearsal.wallSeconds)}${rehearsal.status === 'SUCCEEDED' ? '' : ` (${rehearsal.status})`}`
    : rehearsal.mode === 'projected'
      ? rehearsal.wallSeconds === undefined
        ? 'not run'
        : `${seconds(rehearsal.wallSeconds)} (projected)`
      : `${rehearsal.mode} (${rehearsal.note})`;
console.log('\nLocal rehearsal, days at 0 (seconds; memory in MiB):');
console.table(
  results.map((result) => ({
    customers: result.customers,
    'wall (s)': wallOf(result),
    'start-up (s)': seconds(result.rehearsal.startupSeconds),
    'run phase (s)': seconds(result.rehearsal.runPhaseSeconds),
    'floor (s)': seconds(result.floor?.seconds, 2),
    'ratio to floor': seconds(result.floor?.ratio),
    'peak RSS (MiB)': result.rehearsal.peakMemoryMiB ?? '',
    'largest payload (bytes)': result.rehearsal.largestStatePayload?.bytes ?? '',
    'largest history': result.rehearsal.largestHistoryEvents ?? '',
  })),
);
console.log('Floor, in detail (store replay: requests and seconds; executions replayed and seconds):');
console.table(
  results
    .filter((result) => result.floor)
    .map(({ customers, floor }) => ({
      customers,
      'store requests': floor?.storeRequests,
      'store (s)': seconds(floor?.storeSeconds, 2),
      executions: `${floor?.executionsSucceeded}/${floor?.executions} succeeded`,
      'executions (s)': seconds(floor?.executionSeconds, 2),
    })),
);
console.log('Per customer (from the rehearsal: its transitions, DynamoDB requests and Lambda invocations):');
console.table(
  results.map(({ customers, perCustomer }) => ({
    customers,
    basis: perCustomer?.basis ?? 'n/a',
    transitions: seconds(perCustomer?.transitions),
    'store requests': seconds(perCustomer?.storeRequests),
    'Lambda invocations': seconds(perCustomer?.invocations),
    'emails per SES call': seconds(perCustomer?.emailsPerSesCall ?? undefined, 2),
  })),
);
console.log(
  `Step Functions, projected per release (worst case: every notice due at one checkpoint, ${NOTICES_PER_RUN} per run; every customer on the approval path; $${USD_PER_THOUSAND_TRANSITIONS} per 1,000 transitions), and planning:`,
);
console.table(
  results.map(({ customers, projection, planning }) => ({
    customers,
    'release events': projection.releaseEvents,
    'customer events': projection.customerEvents,
    transitions: projection.transitions,
    'per customer': seconds(projection.transitionsPerCustomer),
    'cost (USD)': projection.costUsd.toFixed(2),
    'plan wall (s)': seconds(planning.wallSeconds, 2),
    'largest chunk CPU (s)': seconds(planning.maxChunkCpuSeconds, 2),
  })),
);
console.log(`Planning: ${results[0]?.planning.method ?? 'n/a'}.`);
const bundles = await bundleSizesByHandler();
console.log(
  `cdk synth: ${
    cdkSynth === undefined
      ? 'CLI not timed (--no-cdk-synth)'
      : cdkSynth.seconds === undefined
        ? `CLI failed (${cdkSynth.error})`
        : `\`npx cdk synth -c version=${VERSION} -q\` (CLI, its own process, functions bundled) ${seconds(cdkSynth.seconds)} s`
  }; in-process synth without bundling (this bench's) ${seconds(inProcessSynthSeconds)} s`,
);
console.log(
  `Bundles: ${Object.entries(bundles)
    .map(([name, bytes]) => `${name} ${(bytes / 1000).toFixed(0)} KB`)
    .join(', ')}`,
);

interface TargetCheck {
  target: string;
  value: string;
  verdict: 'PASS' | 'FAIL' | 'N/A';
}
const checks: TargetCheck[] = [];
const check = (target: string, value: number | undefined, limit: number, shown: string, missing: string) =>
  checks.push({
    target,
    value: value === undefined ? missing : shown,
    verdict: value === undefined ? 'N/A' : value <= limit ? 'PASS' : 'FAIL',
  });
const sized = (customers: number) => results.find((result) => result.customers === customers);
for (const [customers, limit] of [
  [1_000, TARGETS.rehearsal1000Seconds],
  [10_000, TARGETS.rehearsal10000Seconds],
] as const) {
  const result = sized(customers);
  const rehearsal = result?.rehearsal;
  const wall =
    rehearsal?.status === 'SUCCEEDED' || rehearsal?.mode === 'projected' ? rehearsal.wallSeconds : undefined;
  const label = customers.toLocaleString('en');
  if (
    rehearsal?.mode === 'timed out' ||
    rehearsal?.mode === 'failed' ||
    (rehearsal?.status && rehearsal.status !== 'SUCCEEDED')
  )
    checks.push({
      target: `${label} customers rehearsed in ≤ ${limit} s`,
      value: result ? wallOf(result) : '',
      verdict: 'FAIL',
    });
  else
    check(
      `${label} customers rehearsed in ≤ ${limit} s`,
      wall,
      limit,
      result ? `${wallOf(result)} s` : '',
      `${label} not in --sizes`,
    );
  check(
    `${label} customers' rehearsal ≤ 1 GiB peak RSS`,
    rehearsal?.peakMemoryMiB,
    TARGETS.peakMemoryMiB,
    `${rehearsal?.peakMemoryMiB} MiB`,
    result ? `not measured (${rehearsal?.mode})` : `${label} not in --sizes`,
  );
}
const largestPlan = sized(100_000)?.planning;
check(
  '100,000 customers planned in ≤ 60 s wall',
  largestPlan?.wallSeconds,
  TARGETS.plan100000Seconds,
  `${seconds(largestPlan?.wallSeconds)} s (${largestPlan?.method})`,
  '100,000 not in --sizes',
);
const largestChunk = Math.max(...results.map((result) => result.planning.maxChunkCpuSeconds));
check(
  'largest planning invocation ≤ 2 min CPU',
  results.length ? largestChunk : undefined,
  TARGETS.planChunkCpuSeconds,
  `${seconds(largestChunk)} s`,
  'nothing planned',
);
const events = results.flatMap((result) => [
  result.projection.releaseEvents,
  result.projection.customerEvents,
  result.rehearsal.largestHistoryEvents ?? 0,
]);
const mostEvents = Math.max(...events);
check(
  'every execution ≤ 12,500 history events (projected, and measured in the rehearsal)',
  results.length ? mostEvents : undefined,
  TARGETS.historyEvents,
  `${mostEvents.toLocaleString('en')} at most`,
  'nothing projected',
);
const payloads = results.flatMap((result) => result.rehearsal.largestStatePayload?.bytes ?? []);
const largestPayload = payloads.length ? Math.max(...payloads) : undefined;
check(
  'no state payload over 64 KiB (largest input or output in the rehearsal)',
  largestPayload,
  TARGETS.statePayloadBytes,
  `${largestPayload?.toLocaleString('en')} bytes`,
  'no rehearsal measured',
);
const transitionsPerCustomer = Math.max(
  ...results.map((result) => result.projection.transitionsPerCustomer),
  ...results.flatMap((result) => (result.perCustomer ? [result.perCustomer.transitions] : [])),
);
check(
  '≤ 10 state transitions per customer (projected and measured)',
  results.length ? transitionsPerCustomer : undefined,
  TARGETS.transitionsPerCustomer,
  `${seconds(transitionsPerCustomer)} at most`,
  'nothing projected',
);
for (const result of results.filter((each) => each.rehearsal.mode !== 'projected' || each.floor))
  check(
    `${result.customers.toLocaleString('en')} customers: run phase ≤ 2 × the stand-ins' floor`,
    result.floor?.ratio,
    TARGETS.floorRatio,
    `${seconds(result.floor?.ratio)} × (${seconds(result.rehearsal.runPhaseSeconds)} s / ${seconds(result.floor?.seconds, 2)} s)`,
    options.floor ? `no floor (${result.rehearsal.mode})` : 'skipped (--no-floor)',
  );
const largestBundle = Math.max(...Object.values(bundles));
check(
  'every function bundle ≤ 500 KB minified',
  largestBundle,
  TARGETS.bundleBytes,
  `${((largestBundle ?? 0) / 1000).toFixed(0)} KB largest`,
  'not measured',
);

console.log('\nTargets (issue 11, "Done when"):');
for (const { target, value, verdict } of checks) console.log(`${verdict.padEnd(4)}  ${target}: ${value}`);
const passed = checks.filter((each) => each.verdict === 'PASS').length;
const failed = checks.filter((each) => each.verdict === 'FAIL').length;
console.log(`${passed} passed, ${failed} failed, ${checks.length - passed - failed} not measured.`);

writeFileSync(
  options.json,
  `${JSON.stringify(
    {
      machine,
      definitions: {
        rehearsal:
          'npm start -- --day 0 --auto-approve --json --fleet F, its own process, wall time from spawn to exit',
        floor: FLOOR_DEFINITION,
        cdkSynth: `npx cdk synth -c version=${VERSION} -q (CLI, functions bundled); inProcessSeconds: synthesizeApp without bundling`,
      },
      results,
      cdkSynth: { cli: cdkSynth ?? null, inProcessSeconds: inProcessSynthSeconds },
      bundles,
      targets: checks,
    },
    null,
    2,
  )}\n`,
);
console.log(`Written to ${options.json}`);
