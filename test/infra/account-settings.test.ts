import { readFileSync } from 'node:fs';
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type AccountSettings, parseAccountSettings } from '../../lib/account-settings.js';
import { PROJECT_ROOT } from '../../lib/constructs/orchestrator-function.js';
import { buildTestApp, functionIdOf, synthesizePlatformAlone, TEST_SETTINGS } from './support/synth.js';

const withSetting = (change: Partial<Record<keyof AccountSettings, unknown>>) => ({
  ...TEST_SETTINGS,
  ...change,
});

describe('account settings (config/account.json)', () => {
  it('ships a valid file', () => {
    const shipped = JSON.parse(readFileSync(`${PROJECT_ROOT}/config/account.json`, 'utf8'));

    expect(() => parseAccountSettings(shipped)).not.toThrow();
  });

  it.each([
    ['senderEmail', { senderEmail: 'releases' }, /senderEmail: must be an email address/],
    [
      'escalationEmails',
      { escalationEmails: ['oncall@example.com', 'nobody'] },
      /escalationEmails\.1: must be an email/,
    ],
    ['alarmEmail', { alarmEmail: undefined }, /alarmEmail: must be an email address/],
    [
      'producerAccounts',
      { producerAccounts: ['12345'] },
      /producerAccounts\.0: must be a 12-digit AWS account id/,
    ],
    ['sesMaxSendRate', { sesMaxSendRate: 0 }, /sesMaxSendRate: must be above 0/],
  ])('refuses a bad %s, naming it, what is wrong and where to fix it', (_setting, change, message) => {
    const attempt = () => parseAccountSettings(withSetting(change));

    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/Fix them in config\/account\.json/);
  });

  it('refuses a misspelt setting rather than ignoring it', () => {
    expect(() => parseAccountSettings({ ...TEST_SETTINGS, escalationEmail: ['a@example.com'] })).toThrow(
      /escalationEmail/,
    );
  });

  it('refuses a former -c flag, which a later deploy would forget, and says where the setting lives', () => {
    expect(() =>
      buildTestApp({ bundle: false, context: { escalationEmails: 'oncall@example.com' } }),
    ).toThrow(/-c escalationEmails.*Set escalationEmails in config\/account\.json/);
  });

  it('reaches every function: sender, escalation contacts and send rate', () => {
    const platform: Template = synthesizePlatformAlone({ bundle: false, settings: TEST_SETTINGS });
    const fn = platform.findResources('AWS::Lambda::Function')[functionIdOf(platform, 'record-failure')];

    expect(fn?.Properties.Environment.Variables).toMatchObject({
      SENDER_EMAIL: 'releases@example.com',
      ESCALATION_EMAILS: 'oncall@example.com',
      SES_MAX_SEND_RATE: '14',
    });
    platform.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'releases@example.com' });
  });
});
