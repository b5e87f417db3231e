import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { releaseStateMachineArn, startReleaseExecution } from '../lambdas/application/release-start.js';
import { UserFacingError } from '../lambdas/core/errors.js';
import { versionSlug } from '../lambdas/core/versions.js';
import { resetClients } from '../lambdas/shared/clients.js';
import { useRealClock } from '../lambdas/shared/clock.js';
import { requiredEnv } from '../lambdas/shared/env.js';
import { writeLogLinesTo } from '../lambdas/shared/observability.js';
import { COMMAND_ENVIRONMENT_PARAMETER } from '../lib/platform-names.js';
import type { Target, TargetOptions } from './target.js';

const commandEnvironment = z.record(z.string(), z.string());

/**
 * Connects to the orchestrator deployed in an AWS account: its resources come from the platform stack's
 * SSM parameter, credentials and region from the standard chain (or --profile, --region).
 */
export async function connectAws(options: TargetOptions): Promise<Target> {
  if (options.profile) process.env.AWS_PROFILE = options.profile;
  if (options.region) process.env.AWS_REGION = options.region;
  const ssm = new SSMClient({});
  const region = await ssm.config.region().catch(() => undefined);
  if (!region)
    throw new UserFacingError(
      'no AWS region: pass --region (or set AWS_REGION, or a region in your profile), or use --local for the local stack',
    );
  let text: string | undefined;
  try {
    text = (await ssm.send(new GetParameterCommand({ Name: COMMAND_ENVIRONMENT_PARAMETER }))).Parameter
      ?.Value;
  } catch (error) {
    throw new UserFacingError(awsProblem(error, region));
  } finally {
    ssm.destroy();
  }
  let environment: Record<string, string>;
  try {
    environment = commandEnvironment.parse(JSON.parse(text ?? ''));
  } catch {
    throw new UserFacingError(
      `the SSM parameter ${COMMAND_ENVIRONMENT_PARAMETER} in ${region} is not the JSON the platform stack writes; redeploy it: npx cdk deploy SecureWatchPlatform`,
    );
  }
  Object.assign(process.env, environment);
  useRealClock();
  // What a command changes is kept in the release's history; the operations' log lines would only
  // clutter its output, so only errors are shown (on stderr).
  writeLogLinesTo((line) => process.stderr.write(`${line}\n`), 'ERROR');
  resetClients();
  const scheduler = new SchedulerClient({});
  return {
    kind: 'aws',
    description: `AWS ${region}${options.profile ? ` (profile ${options.profile})` : ''}`,
    now: async () => new Date().toISOString(),
    startRelease: (_version, input) => startReleaseExecution(input),
    async scheduleReleaseStart(version, input, at) {
      // A universal target, so the execution gets the release's own name and a second start finds it.
      const when = new Date(at).toISOString().slice(0, 19);
      try {
        await scheduler.send(
          new CreateScheduleCommand({
            Name: `securewatch-start-${versionSlug(version)}`,
            ScheduleExpression: `at(${when})`,
            ScheduleExpressionTimezone: 'UTC',
            FlexibleTimeWindow: { Mode: 'OFF' },
            ActionAfterCompletion: 'DELETE',
            Target: {
              Arn: 'arn:aws:scheduler:::aws-sdk:sfn:startExecution',
              RoleArn: requiredEnv('RELEASE_START_ROLE_ARN'),
              Input: JSON.stringify({
                StateMachineArn: releaseStateMachineArn(version),
                Name: versionSlug(version),
                Input: JSON.stringify(input),
              }),
            },
          }),
        );
      } catch (error) {
        if ((error as Error).name === 'ConflictException')
          throw new UserFacingError(
            `a start of ${version} is already scheduled; to change it, delete the schedule securewatch-start-${versionSlug(version)} (aws scheduler delete-schedule --name securewatch-start-${versionSlug(version)}) and run start-phase --at again`,
          );
        throw new UserFacingError(awsProblem(error, region));
      }
    },
    async close() {
      writeLogLinesTo(undefined);
      scheduler.destroy();
      resetClients();
    },
  };
}

/** What went wrong reaching AWS, and what to do about it (never the SDK's stack). */
function awsProblem(error: unknown, region: string): string {
  const { name, message } = error as Error;
  if (name === 'ParameterNotFound')
    return `the orchestrator is not deployed in ${region} (no SSM parameter ${COMMAND_ENVIRONMENT_PARAMETER}); deploy it with: npx cdk deploy SecureWatchPlatform — or pass the right --region/--profile, or use --local`;
  if (name === 'CredentialsProviderError' || /credential/i.test(message))
    return `no AWS credentials: pass --profile NAME (or configure the standard credential chain), or use --local for the local stack`;
  if (name === 'AccessDeniedException' || name === 'AccessDenied')
    return `AWS refused the call (${message}); use a role allowed to run the release manager commands`;
  return `AWS call failed: ${name}: ${message}`;
}
