import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import type { AccountSettings } from '../../../lib/account-settings.js';
import { buildApp } from '../../../lib/app.js';
import { HANDLER_ENTRY_METADATA } from '../../../lib/constructs/orchestrator-function.js';
import type { AslDefinition } from '../../../statemachines/history-projection.js';

export const VERSION = 'v1.1.0';
export const PLATFORM_STACK = 'SecureWatchPlatform';
export const RELEASE_STACK = 'SecureWatchRelease-v1-1-0';
export const RELEASE_STATE_MACHINE = 'securewatch-release-v1-1-0';
export const CUSTOMER_STATE_MACHINE = 'securewatch-release-v1-1-0-customer';
export const ROLLBACK_STATE_MACHINE = 'securewatch-release-v1-1-0-rollback';

export interface SynthesizedApp {
  platform: Template;
  release: Template;
}

/**
 * Synthesizes the CDK app as `cdk synth -c version=v1.1.0` does. Bundling the 14 functions takes ~10 s, so a
 * test file synthesizes once (in beforeAll); files that read only the state machines skip bundling.
 */
export function synthesizeApp(options: TestAppOptions): SynthesizedApp {
  const { platform, release } = buildTestApp(options);
  return { platform: Template.fromStack(platform), release: Template.fromStack(release) };
}

/** Settings of a test account, as config/account.json would hold them. */
export const TEST_SETTINGS: AccountSettings = {
  senderEmail: 'releases@example.com',
  escalationEmails: ['oncall@example.com'],
  alarmEmail: 'alarms@example.com',
  producerAccounts: ['111111111111', '222222222222'],
  sesMaxSendRate: 14,
};

export interface TestAppOptions {
  bundle: boolean;
  /** @default the project's config/account.json */
  settings?: AccountSettings;
  /** Extra `-c` context, e.g. a former settings flag. */
  context?: Record<string, unknown>;
}

/** The app as `cdk synth -c version=v1.1.0` builds it, not yet synthesized, with its two stacks. */
export function buildTestApp(options: TestAppOptions): { app: App; platform: Stack; release: Stack } {
  const app = buildApp(appWith(options, { version: VERSION }), options.settings);
  return {
    app,
    platform: app.node.findChild(PLATFORM_STACK) as Stack,
    release: app.node.findChild(RELEASE_STACK) as Stack,
  };
}

/** The platform stack as `cdk deploy SecureWatchPlatform` (no version) synthesizes it. */
export function synthesizePlatformAlone(options: TestAppOptions): Template {
  const app = buildApp(appWith(options, {}), options.settings);
  return Template.fromStack(app.node.findChild(PLATFORM_STACK) as Stack);
}

function appWith({ bundle, context }: TestAppOptions, extra: Record<string, unknown>): App {
  return new App({ context: { ...context, ...extra, ...(bundle ? {} : { [BUNDLING_STACKS]: [] }) } });
}

export type CfnValue = string | Record<string, unknown>;

/** A CloudFormation intrinsic inside a definition, written as a placeholder that JSON can carry. */
export function placeholderOf(token: Record<string, unknown>): string {
  if ('Fn::ImportValue' in token) return `\${ImportValue:${String(token['Fn::ImportValue'])}}`;
  if ('Ref' in token) return `\${Ref:${String(token.Ref)}}`;
  if ('Fn::GetAtt' in token) return `\${GetAtt:${(token['Fn::GetAtt'] as string[]).join('.')}}`;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder in the same form as the two above
  return '${Token}';
}

/** The state machine's DefinitionString (an Fn::Join of text and tokens), parsed with tokens as placeholders. */
export function definitionOf(template: Template, stateMachineName: string): AslDefinition {
  const machines = template.findResources('AWS::StepFunctions::StateMachine', {
    Properties: { StateMachineName: stateMachineName },
  });
  const [machine] = Object.values(machines);
  if (!machine) throw new Error(`No state machine named ${stateMachineName}`);
  return JSON.parse(textOf(machine.Properties.DefinitionString as CfnValue)) as AslDefinition;
}

/** A string-valued template property (plain, an Fn::Join, or a lone token) as text with placeholders. */
export function textOf(value: CfnValue): string {
  if (typeof value === 'string') return value;
  const join = value['Fn::Join'] as [string, CfnValue[]] | undefined;
  if (!join) return placeholderOf(value);
  const [separator, parts] = join;
  return parts.map(textOf).join(separator);
}

/** The logical id of the platform function built from `lambdas/handlers/<handler>.ts`. */
export function functionIdOf(platform: Template, handler: string): string {
  const entry = `lambdas/handlers/${handler}.ts`;
  const matches = Object.entries(platform.findResources('AWS::Lambda::Function')).filter(
    ([, resource]) => resource.Metadata?.[HANDLER_ENTRY_METADATA] === entry,
  );
  if (matches.length !== 1) throw new Error(`Expected one function for ${entry}, found ${matches.length}`);
  return (matches[0] as [string, unknown])[0];
}

/** Function name → handler file, for every platform function: release stacks find them by these names. */
export function functionHandlersByName(platform: Template): Map<string, string> {
  const handlers = new Map<string, string>();
  for (const fn of Object.values(platform.findResources('AWS::Lambda::Function'))) {
    const name = fn.Properties.FunctionName;
    if (typeof name === 'string') handlers.set(name, fn.Metadata[HANDLER_ENTRY_METADATA]);
  }
  return handlers;
}
