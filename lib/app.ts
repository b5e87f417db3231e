import { App } from 'aws-cdk-lib';
import { bundledConfig } from '../lambdas/core/config.js';
import { parseVersion, versionSlug } from '../lambdas/core/versions.js';
import { type AccountSettings, readAccountSettings, refuseSettingFlags } from './account-settings.js';
import { PROJECT_ROOT } from './constructs/orchestrator-function.js';
import { PlatformStack } from './platform-stack.js';
import { ReleaseStack } from './release-stack.js';

/**
 * Builds the platform stack and, when `-c version=vX.Y.Z` is given, that release's stack. The account's
 * settings come from config/account.json (validated), or from `settings` in tests.
 */
export function buildApp(app: App = new App(), settings?: AccountSettings): App {
  refuseSettingFlags((key) => app.node.tryGetContext(key));
  const account = settings ?? readAccountSettings(PROJECT_ROOT);
  new PlatformStack(app, 'SecureWatchPlatform', {
    senderEmail: account.senderEmail,
    escalationEmails: account.escalationEmails.join(','),
    sesMaxSendRate: account.sesMaxSendRate,
    producerAccounts: account.producerAccounts,
    alarmEmail: account.alarmEmail,
    description: 'SecureWatch release orchestrator: table, functions, approval API, release bus',
  });
  const version = app.node.tryGetContext('version') as string | undefined;
  if (version) {
    parseVersion(version);
    new ReleaseStack(app, `SecureWatchRelease-${versionSlug(version)}`, {
      version,
      config: bundledConfig(),
      description: `SecureWatch ${version} release workflow`,
    });
  }
  return app;
}
