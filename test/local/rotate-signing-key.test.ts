import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/program.js';
import { forgetSigningKeys, signingKeys } from '../../lambdas/shared/signing-keys.js';
import { APPROVAL_SIGNING_SECRET_NAME } from '../../lib/platform-names.js';
import { localClientConfig } from '../../local/aws-client-config.js';
import { startAwsEndpoint } from '../../local/aws-endpoint.js';
import { LocalSecrets } from '../../local/secrets.js';
import { secretArn } from '../../local/templates.js';

// `npm run rotate-signing-key` against the local Secrets Manager stand-in, and the functions' run-time
// read of the keys through Powertools from the same stand-in.

const FIRST_KEY = 'the-key-the-stack-generated-0123456789abcdef';
const ENVIRONMENT = [
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'APPROVAL_SIGNING_SECRET_ID',
];

let endpoint: { url: string; stop(): Promise<void> };
let secrets: LocalSecrets;
const saved = Object.fromEntries(ENVIRONMENT.map((name) => [name, process.env[name]]));

function givenTheSecretHolds(secretString: string): void {
  secrets = new LocalSecrets([
    {
      logicalId: 'ApprovalSigningKey',
      name: APPROVAL_SIGNING_SECRET_NAME,
      arn: secretArn(APPROVAL_SIGNING_SECRET_NAME),
      secretString,
    },
  ]);
}

async function rotate(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const exitCode = await runCli(['rotate-signing-key', ...args], {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  });
  return { exitCode, stdout: out.join(''), stderr: err.join('') };
}

async function stored(stage = 'AWSCURRENT'): Promise<unknown> {
  const client = new SecretsManagerClient(localClientConfig(endpoint.url));
  const value = await client.send(
    new GetSecretValueCommand({ SecretId: APPROVAL_SIGNING_SECRET_NAME, VersionStage: stage }),
  );
  client.destroy();
  return JSON.parse(value.SecretString ?? '');
}

beforeAll(async () => {
  endpoint = await startAwsEndpoint((request) => request, {
    'secretsmanager.GetSecretValue': (body) => secrets.getSecretValue(body),
    'secretsmanager.PutSecretValue': (body) => secrets.putSecretValue(body),
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    APPROVAL_SIGNING_SECRET_ID: secretArn(APPROVAL_SIGNING_SECRET_NAME),
  });
});
beforeEach(() => {
  givenTheSecretHolds(JSON.stringify({ current: FIRST_KEY }));
  forgetSigningKeys();
});
afterEach(forgetSigningKeys);
afterAll(async () => {
  await endpoint.stop();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('rotate-signing-key', () => {
  it('makes a fresh key current and keeps the replaced one as previous, printing neither', async () => {
    // Act
    const result = await rotate();

    // Assess
    const keys = (await stored()) as { current: string; previous: string };
    expect(result.exitCode).toBe(0);
    expect(keys.previous).toBe(FIRST_KEY);
    expect(keys.current).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(result.stdout).toContain(`Rotated ${APPROVAL_SIGNING_SECRET_NAME}`);
    expect(result.stdout).not.toContain(keys.current);
    expect(result.stdout).not.toContain(FIRST_KEY);
    expect(await stored('AWSPREVIOUS')).toEqual({ current: FIRST_KEY });
  });

  it('drops the key from two rotations ago', async () => {
    // Act
    await rotate();
    const afterFirst = (await stored()) as { current: string };
    await rotate();

    // Assess
    const keys = (await stored()) as { current: string; previous: string };
    expect(keys.previous).toBe(afterFirst.current);
    expect(Object.values(keys)).not.toContain(FIRST_KEY);
  });

  it('changes nothing and says why when the secret does not hold the keys as JSON', async () => {
    // Prepare
    givenTheSecretHolds('a-plain-key-as-the-stack-once-generated-it');

    // Act
    const result = await rotate();

    // Assess
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `error: the secret ${APPROVAL_SIGNING_SECRET_NAME} does not hold JSON {"current": ..., "previous": ...}; nothing was changed\n`,
    );
    expect(secrets.getSecretValue({ SecretId: APPROVAL_SIGNING_SECRET_NAME }).SecretString).toBe(
      'a-plain-key-as-the-stack-once-generated-it',
    );
  });

  it('names a secret it cannot read, in one line', async () => {
    // Act
    const result = await rotate('--secret-id', 'no/such-secret');

    // Assess
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /^error: cannot read the secret no\/such-secret: Secrets Manager can't find the specified secret\.\n$/,
    );
  });
});

describe('the functions’ signing keys', () => {
  it('are read at run time from the secret their environment names, the replaced key included after a rotation', async () => {
    // Prepare
    const before = await signingKeys();
    await rotate();
    forgetSigningKeys();

    // Act
    const after = await signingKeys();

    // Assess
    expect(before).toEqual({ current: FIRST_KEY });
    expect(after.previous).toBe(FIRST_KEY);
    expect(after.current).not.toBe(FIRST_KEY);
  });

  it('are kept for a while: a rotation reaches a running function when its cache expires', async () => {
    // Prepare
    await signingKeys();
    await rotate();

    // Act
    const cached = await signingKeys();

    // Assess
    expect(cached).toEqual({ current: FIRST_KEY });
  });

  it('refuse a secret of another shape, without quoting it', async () => {
    // Prepare
    givenTheSecretHolds('a-plain-key-as-the-stack-once-generated-it');

    // Act
    const error = await signingKeys().then(
      () => undefined,
      (refused: Error) => refused,
    );

    // Assess
    expect(error?.message).toMatch(/^The approval signing secret must be JSON/);
    expect(error?.message).not.toContain('a-plain-key');
  });
});
