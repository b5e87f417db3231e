import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import bundledPoliciesJson from '../../config/deployment-policies.json' with { type: 'json' };
import bundledReleaseJson from '../../config/minor-release-policies.json' with { type: 'json' };
import { ConfigError, type ConfigIssue } from './errors.js';
import {
  type Config,
  type DeploymentPolicies,
  type Fleet,
  type MinorReleasePolicies,
  POLICY_NAMES,
} from './model.js';
import { isKnownTimeZone } from './time-zones.js';
import { isVersionTag } from './versions.js';

export const POLICIES_FILE = 'deployment-policies.json';
export const RELEASE_POLICIES_FILE = 'minor-release-policies.json';
export const BUNDLED_CONFIG_DIR = 'config';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
const KEBAB_CASE = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/**
 * A customer's rollout runs as a child execution named `<release-slug>-<customer-id>`, and Step Functions
 * caps execution names at 80 characters; 64 leaves room for a release slug such as `v10-20-30`.
 */
export const MAX_CUSTOMER_ID_LENGTH = 64;

/** A message built from the offending value; undefined (a missing field) keeps zod's own wording. */
function about(describe: (input: string) => string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? undefined : describe(JSON.stringify(issue.input));
}

const text = z.string().trim().min(1);
const wholeDays = z.int().min(0);
const percent = z.number().min(0).max(100);
const policyName = z.enum(POLICY_NAMES, { error: about((input) => `unknown policy ${input}`) });

const batchSizeSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('all') }),
  z.strictObject({ mode: z.literal('percent'), percent: z.number().gt(0).max(100) }),
  z.strictObject({ mode: z.literal('individual') }),
]);

const deploymentPolicySchema = z.strictObject({
  displayName: text,
  adoptionStrategy: text,
  rolloutDelayDays: wholeDays,
  testingPeriodDays: wholeDays,
  approvalRequired: z.boolean(),
  batchSize: batchSizeSchema,
  advanceNoticeDays: wholeDays,
  rollback: z.strictObject({
    windowDays: wholeDays,
    process: z.enum(['automatic-immediate', 'automatic-with-monitoring', 'immediate-with-approval']),
    steps: z.array(text).min(1),
    /** Health monitoring after an automatic rollback (automatic-with-monitoring). @default 24 */
    monitoringHours: z.number().gt(0).max(720).optional(),
    /** How long the stakeholders have to approve a rollback (immediate-with-approval). @default 48 */
    approvalHours: z.number().gt(0).max(720).optional(),
    /** The wait before the post-rollback health validation (immediate-with-approval). @default 4 */
    validationHours: z.number().gt(0).max(720).optional(),
  }),
});

// strictObject over exactly the four names: a missing or an extra policy is an error.
const deploymentPoliciesFileSchema = z.strictObject({
  policies: z.strictObject({
    demo: deploymentPolicySchema,
    startup: deploymentPolicySchema,
    standard: deploymentPolicySchema,
    enterprise: deploymentPolicySchema,
  }),
});

const phaseSchema = z.strictObject({
  name: policyName,
  displayName: text,
  policy: policyName,
  startDay: wholeDays,
  durationDays: z.int().min(1),
  deploymentMode: z.enum(['immediate-automatic', 'automatic-batches', 'manual-approval']),
  successCriteria: z.strictObject({
    minBatchSuccessRatePercent: percent,
    maxCriticalIssues: z.int().min(0),
    maxRollbacks: z.int().min(0),
    maxPerformanceDegradationPercent: percent,
  }),
});

/** Whole seconds up to an hour; 0 deploys everyone sharing a window at its start. */
function staggerProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value))
    return `deploymentStaggerSeconds ${JSON.stringify(value)} is not a whole number of seconds`;
  if (value < 0) return 'deploymentStaggerSeconds cannot be negative';
  if (value > 3600) return 'deploymentStaggerSeconds is at most 3600 (an hour)';
  return undefined;
}

const releasePoliciesFileSchema = z.strictObject({
  phases: z.array(phaseSchema).min(1),
  releaseQuality: z.strictObject({
    maxRollbackRatePercent: percent,
    maxCriticalIssues: z.int().min(0),
    maxPerformanceImpactPercent: percent,
    maxSupportTicketIncreasePercent: z.number().min(0),
  }),
  rollbackTriggers: z.strictObject({
    performanceDegradationPercent: percent,
    criticalErrors: z.boolean(),
    securityFinding: z.boolean(),
    databaseCorruption: z.boolean(),
    customerRequest: z.boolean(),
  }),
  healthSweep: z.strictObject({
    // EventBridge schedules run at most once a minute; a day between sweeps would leave triggers unheard too long.
    rateMinutes: z.int().min(1).max(1440),
    silentAfterHours: z.int().min(1),
  }),
  deploymentStaggerSeconds: z
    .unknown()
    .optional()
    .transform((value, context): number | undefined => {
      if (value === undefined) return undefined;
      const problem = staggerProblem(value);
      if (problem) context.addIssue({ code: 'custom', message: problem });
      return typeof value === 'number' ? value : undefined;
    }),
});

const contactSchema = z.strictObject({
  name: text,
  email: z.email({ error: about((input) => `${input} is not a valid email address`) }),
});

const maintenanceWindowSchema = z.strictObject({
  timeZone: z
    .string()
    .refine((zone) => isKnownTimeZone(zone), { error: about((input) => `unknown time zone ${input}`) }),
  days: z
    .array(z.enum(WEEKDAYS, { error: about((input) => `${input} is not a weekday code`) }))
    .min(1, { error: 'the window opens on no day' }),
  start: z.string().regex(HH_MM, { error: about((input) => `${input} is not a time of day in HH:mm`) }),
  durationMinutes: z
    .int()
    .min(1, { error: 'the window has no length' })
    .max(1440, { error: 'a window lasts at most one day (1440 minutes)' }),
});

const customerSchema = z.strictObject({
  id: z
    .string()
    .max(MAX_CUSTOMER_ID_LENGTH, {
      error: (issue) =>
        issue.input === undefined
          ? undefined
          : `customer id of ${String(issue.input).length} characters is longer than ${MAX_CUSTOMER_ID_LENGTH}`,
    })
    .regex(KEBAB_CASE, { error: about((input) => `${input} is not a kebab-case id`) }),
  name: text,
  policy: policyName,
  currentVersion: z
    .string()
    .refine(isVersionTag, { error: about((input) => `${input} is not a version tag like v1.0.0`) }),
  contacts: z.array(contactSchema).min(1, { error: 'the customer has no contact to notify' }),
  approvers: z.array(contactSchema),
  maintenanceWindow: maintenanceWindowSchema,
});

const fleetFileSchema = z.strictObject({ customers: z.array(customerSchema) });

// How to fix a value, by the field it sits in; used when zod's message says what is wrong but not what to write.
const FIELD_FIXES: Record<string, string> = {
  timeZone: 'use an IANA time zone name such as Europe/Berlin or America/New_York',
  start: 'write the local start time as HH:mm, e.g. 02:00',
  days: `list the weekdays the window opens, from ${WEEKDAYS.join(', ')}`,
  durationMinutes: 'give the window a length between 1 and 1440 minutes',
  email: 'write an address like ops@example.com',
  currentVersion: 'write the version the customer runs as a tag like v1.0.0',
  id: 'use lower-case letters, digits and dashes, e.g. acme-corporation',
  policy: `use one of ${POLICY_NAMES.join(', ')}`,
  name: `use one of ${POLICY_NAMES.join(', ')}`,
  contacts: 'add at least one contact with a name and an email',
  deploymentStaggerSeconds:
    'give the seconds between deployments sharing a window as a whole number from 0 to 3600, e.g. 60',
};

export function formatJsonPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((key, index) => {
      if (typeof key === 'number') return `[${key}]`;
      const name = String(key);
      if (!/^[A-Za-z_$][\w$]*$/.test(name)) return `[${JSON.stringify(name)}]`;
      return index === 0 ? name : `.${name}`;
    })
    .join('');
}

// How to fix a value when the fix depends on what is wrong with the field, keyed `field:issue code`.
const ISSUE_FIXES: Record<string, string> = {
  'id:too_big': `shorten the id to at most ${MAX_CUSTOMER_ID_LENGTH} characters: it names the customer's rollout execution, which Step Functions caps at 80 characters`,
};

function fixFor(issue: z.core.$ZodIssue): string {
  const field = [...issue.path].reverse().find((key) => typeof key === 'string');
  const issueFix = typeof field === 'string' ? ISSUE_FIXES[`${field}:${issue.code}`] : undefined;
  if (issueFix) return issueFix;
  const fieldFix = typeof field === 'string' ? FIELD_FIXES[field] : undefined;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `remove ${issue.keys.map((key) => JSON.stringify(key)).join(', ')} or correct the spelling`;
    case 'invalid_type':
      if (issue.input === undefined) return `add ${JSON.stringify(field ?? 'the value')}`;
      return `give it a value of type ${issue.expected}`;
    case 'invalid_value':
      return fieldFix ?? `use one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_small':
      return fieldFix ?? `use at least ${String(issue.minimum)}`;
    case 'too_big':
      return fieldFix ?? `use at most ${String(issue.maximum)}`;
    case 'invalid_union':
      return fieldFix ?? 'use one of the documented shapes (see the README "Policy semantics")';
    default:
      return fieldFix ?? 'correct the value';
  }
}

function describeInput(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  return typeof input === 'object' ? 'an object' : `${typeof input} ${JSON.stringify(input)}`;
}

function problemFor(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'invalid_type') return issue.message;
  const field = issue.path.at(-1);
  if (issue.input === undefined) return `missing required field ${JSON.stringify(field ?? 'value')}`;
  return `expected ${issue.expected}, got ${describeInput(issue.input)}`;
}

function zodIssuesToConfigIssues(file: string, error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => ({
    file,
    path: formatJsonPath(issue.path),
    problem: problemFor(issue),
    fix: fixFor(issue),
  }));
}

function parseWithSchema<T>(schema: z.ZodType<T>, raw: unknown, file: string): T {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(zodIssuesToConfigIssues(file, result.error));
  return result.data;
}

function throwIfAny(issues: ConfigIssue[]): void {
  if (issues.length > 0) throw new ConfigError(issues);
}

export function parseDeploymentPolicies(raw: unknown, file: string): DeploymentPolicies {
  return parseWithSchema(deploymentPoliciesFileSchema, raw, file).policies;
}

export function parseReleasePolicies(
  raw: unknown,
  file: string,
  policies: DeploymentPolicies,
): MinorReleasePolicies {
  const release = parseWithSchema(releasePoliciesFileSchema, raw, file);
  throwIfAny(phaseInvariantIssues(release, file, policies));
  return release;
}

function phaseInvariantIssues(
  release: MinorReleasePolicies,
  file: string,
  policies: DeploymentPolicies,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seenNames = new Set<string>();
  const seenPolicies = new Set<string>();
  release.phases.forEach((phase, index) => {
    const at = (key: string) => `phases[${index}].${key}`;
    if (seenNames.has(phase.name)) {
      issues.push({
        file,
        path: at('name'),
        problem: `phase ${phase.name} is defined twice`,
        fix: 'give every phase its own name',
      });
    }
    seenNames.add(phase.name);
    if (!Object.hasOwn(policies, phase.policy)) {
      issues.push({
        file,
        path: at('policy'),
        problem: `unknown policy "${phase.policy}"`,
        fix: FIELD_FIXES.policy ?? '',
      });
    } else if (seenPolicies.has(phase.policy)) {
      issues.push({
        file,
        path: at('policy'),
        problem: `policy ${phase.policy} already has a phase`,
        fix: 'give every policy exactly one phase',
      });
    }
    seenPolicies.add(phase.policy);
    const previous = release.phases[index - 1];
    if (previous && phase.startDay !== previous.startDay + previous.durationDays) {
      const expected = previous.startDay + previous.durationDays;
      issues.push({
        file,
        path: at('startDay'),
        problem: `phase ${phase.name} starts on day ${phase.startDay} but ${previous.name} ends on day ${expected}`,
        fix: `start it on day ${expected}, so phases follow each other without gap or overlap`,
      });
    }
  });
  for (const policy of POLICY_NAMES) {
    if (!seenPolicies.has(policy)) {
      issues.push({
        file,
        path: 'phases',
        problem: `no phase rolls out to policy ${policy}, so its customers would never get the release`,
        fix: `add a phase with "policy": "${policy}"`,
      });
    }
  }
  return issues;
}

export function parseFleet(raw: unknown, file: string, policies: DeploymentPolicies): Fleet {
  const fleet = parseWithSchema(fleetFileSchema, raw, file);
  throwIfAny(fleetInvariantIssues(fleet, file, policies));
  return fleet;
}

function fleetInvariantIssues(fleet: Fleet, file: string, policies: DeploymentPolicies): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const firstIndexById = new Map<string, number>();
  fleet.customers.forEach((customer, index) => {
    const firstIndex = firstIndexById.get(customer.id);
    if (firstIndex !== undefined) {
      issues.push({
        file,
        path: `customers[${index}].id`,
        problem: `duplicate customer id "${customer.id}" (also customers[${firstIndex}])`,
        fix: 'give every customer a unique id',
      });
    } else {
      firstIndexById.set(customer.id, index);
    }
    if (policies[customer.policy].approvalRequired && customer.approvers.length === 0) {
      issues.push({
        file,
        path: `customers[${index}].approvers`,
        problem: `${customer.name} is on the ${customer.policy} policy, which requires approval, but has no approver`,
        fix: 'add at least one approver with a name and an email',
      });
    }
  });
  return issues;
}

function readJsonFile(file: string): unknown {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    const reason =
      error instanceof Error && 'code' in error && error.code === 'ENOENT' ? 'file not found' : String(error);
    throw new ConfigError([{ file, path: '(root)', problem: reason, fix: 'check the file path' }]);
  }
  try {
    return JSON.parse(content) as unknown;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ConfigError([
      { file, path: '(root)', problem: `not valid JSON (${detail})`, fix: 'correct the JSON syntax' },
    ]);
  }
}

/** Reads and validates deployment-policies.json and minor-release-policies.json from a directory. */
export function loadConfig(dir: string): Config {
  const policiesFile = join(dir, POLICIES_FILE);
  const releaseFile = join(dir, RELEASE_POLICIES_FILE);
  const policies = parseDeploymentPolicies(readJsonFile(policiesFile), policiesFile);
  const release = parseReleasePolicies(readJsonFile(releaseFile), releaseFile, policies);
  return { policies, release };
}

export function loadFleet(file: string, policies: DeploymentPolicies): Fleet {
  return parseFleet(readJsonFile(file), file, policies);
}

/**
 * The policies compiled into the bundle (Lambda functions carry them: policies are code), validated like any
 * other. The fleet is not: it is data, in the table (the sample fleet file is read by local/sample-fleet.ts).
 */
export function bundledConfig(): Config {
  const policies = parseDeploymentPolicies(bundledPoliciesJson, join(BUNDLED_CONFIG_DIR, POLICIES_FILE));
  const release = parseReleasePolicies(
    bundledReleaseJson,
    join(BUNDLED_CONFIG_DIR, RELEASE_POLICIES_FILE),
    policies,
  );
  return { policies, release };
}
