import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  bundledConfig,
  POLICIES_FILE,
  parseDeploymentPolicies,
  parseReleasePolicies,
  RELEASE_POLICIES_FILE,
} from '../core/config.js';
import type { Config } from '../core/model.js';
import { dynamo } from '../shared/clients.js';
import { getRelease, type ReleaseRecord } from '../store/releases.js';
import { tableName } from '../store/table.js';

// A release runs to its end with the policies it was planned with (its snapshot on the release record), so
// a later deploy of other policies never changes a running release. A snapshot does not change once written:
// it is read once per release per process, and per table (the client changes when the table does).
const snapshots = new WeakMap<DynamoDBDocumentClient, Map<string, Config>>();

/** The policies `release` was planned with. */
export async function configOf(release: string | ReleaseRecord): Promise<Config> {
  const name = typeof release === 'string' ? release : release.release;
  let cache = snapshots.get(dynamo());
  if (!cache) {
    cache = new Map();
    snapshots.set(dynamo(), cache);
  }
  const key = `${tableName()}|${name}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const record = typeof release === 'string' ? await getRelease(release) : release;
  // A release planned before releases kept a snapshot runs with the policies deployed now.
  if (!record?.config) return bundledConfig();
  const config = validated(record.config, name);
  cache.set(key, config);
  return config;
}

function validated(snapshot: Config, release: string): Config {
  const where = (file: string) => `the policies snapshot of ${release} (${file})`;
  const policies = parseDeploymentPolicies({ policies: snapshot.policies }, where(POLICIES_FILE));
  return {
    policies,
    release: parseReleasePolicies(snapshot.release, where(RELEASE_POLICIES_FILE), policies),
  };
}
