import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectAws } from '../../cli/aws-target.js';
import { connectTarget } from '../../cli/connect.js';
import { connectLocal } from '../../cli/local-target.js';
import { writeLocalStackFile } from '../../local/local-stack-file.js';

const directory = mkdtempSync(join(tmpdir(), 'targets-'));

describe('reaching the local stack (--local)', () => {
  it('says how to start one when none is running', async () => {
    await expect(connectLocal(join(directory, 'missing.json'))).rejects.toThrow(
      /no local stack is running .*start one in another terminal with: npm start -- --serve/,
    );
  });

  it('says the stack has stopped when the process that wrote the file is gone', async () => {
    const file = join(directory, 'stale.json');
    writeLocalStackFile(
      {
        pid: 2 ** 22 + 12_345,
        startedAt: '2026-11-26T09:00:00Z',
        endpointUrl: 'http://127.0.0.1:1',
        inboxUrl: 'http://127.0.0.1:2',
        approvalUrl: 'http://127.0.0.1:3',
        logFile: 'orchestrator.log',
        environment: {},
      },
      file,
    );
    await expect(connectLocal(file)).rejects.toThrow(/has stopped; start one .*npm start -- --serve/);
  });

  it('refuses a file that is not a stack description, naming the fix', async () => {
    const file = join(directory, 'garbage.json');
    writeFileSync(file, '{"hello": 1}');
    await expect(connectLocal(file)).rejects.toThrow(/is not a local stack description; delete it/);
  });

  it('refuses --local together with AWS options', async () => {
    await expect(connectTarget({ local: true, region: 'eu-west-1' })).rejects.toThrow(
      /drop --profile and --region, or drop --local/,
    );
  });
});

describe('reaching AWS', () => {
  const ssm = mockClient(SSMClient);
  let saved: NodeJS.ProcessEnv;

  beforeEach(() => {
    saved = { ...process.env };
    ssm.reset();
  });
  afterEach(() => {
    process.env = saved;
  });

  it('says the orchestrator is not deployed there when the platform parameter is missing', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    await expect(connectAws({ region: 'eu-west-1' })).rejects.toThrow(
      /the orchestrator is not deployed in eu-west-1 .*npx cdk deploy SecureWatchPlatform/,
    );
  });

  it('takes the environment the platform stack keeps in SSM, so commands run the same operations', async () => {
    ssm.on(GetParameterCommand, { Name: '/securewatch/release-orchestrator/CommandEnvironment' }).resolves({
      Parameter: { Value: JSON.stringify({ TABLE_NAME: 'securewatch-releases-abc', EVENT_BUS_NAME: 'bus' }) },
    });
    const target = await connectAws({ region: 'eu-west-1' });
    expect(target.kind).toBe('aws');
    expect(target.description).toBe('AWS eu-west-1');
    expect(process.env.TABLE_NAME).toBe('securewatch-releases-abc');
    await target.close();
  });

  it('refuses a parameter that is not the JSON the platform writes', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'TABLE_NAME=x' } });
    await expect(connectAws({ region: 'eu-west-1' })).rejects.toThrow(
      /is not the JSON the platform stack writes; redeploy it/,
    );
  });
});
