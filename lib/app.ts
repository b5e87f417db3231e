import { App } from 'aws-cdk-lib';
import { bundledConfig } from '../lambdas/core/config.js';
import { parseVersion, versionSlug } from '../lambdas/core/versions.js';
import { PlatformStack } from './platform-stack.js';
import { ReleaseStack } from './release-stack.js';

/** Builds the platform stack and, when `-c version=vX.Y.Z` is given, that release's stack. */
export function buildApp(app: App = new App()): App {
  const senderEmail = String(app.node.tryGetContext('senderEmail') ?? 'releases@securewatch.example');
  const escalationEmails = app.node.tryGetContext('escalationEmails') as string | undefined;
  const platform = new PlatformStack(app, 'SecureWatchPlatform', {
    senderEmail,
    escalationEmails,
    description: 'SecureWatch release orchestrator: table, functions, approval API, release bus',
  });
  const version = app.node.tryGetContext('version') as string | undefined;
  if (version) {
    parseVersion(version);
    new ReleaseStack(app, `SecureWatchRelease-${versionSlug(version)}`, {
      version,
      platform,
      config: bundledConfig(),
      description: `SecureWatch ${version} release workflow`,
    });
  }
  return app;
}
