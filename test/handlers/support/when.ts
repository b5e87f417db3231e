import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, EventBridgeEvent } from 'aws-lambda';
import { FLEET_SOURCE, type HealthReported, SCHEMA_VERSION } from '../../../lambdas/events/contract.js';
import { handler as handleApproval } from '../../../lambdas/handlers/handle-approval.js';
import { handler as recordHealthReport } from '../../../lambdas/handlers/record-health-report.js';

// Builds the events AWS delivers to the handlers: EventBridge envelopes and API Gateway HTTP API (v2)
// requests, so the tests speak of "the approver opens the link" rather than of payload shapes.

let eventCount = 0;

export function busEvent(detailType: string, detail: unknown, source = 'securewatch.platform') {
  eventCount += 1;
  return {
    version: '0',
    id: `6a7e8feb-b491-4cf7-a9f1-bf3703467${String(eventCount).padStart(3, '0')}`,
    'detail-type': detailType,
    source,
    account: '111122223333',
    time: '2027-03-13T02:41:00Z',
    region: 'eu-central-1',
    resources: [],
    detail,
  } as EventBridgeEvent<string, unknown>;
}

function httpRequest(
  method: 'GET' | 'POST',
  url: string,
  options: { body?: string; accept?: string; contentType?: string } = {},
): APIGatewayProxyEventV2 {
  const parsed = new URL(url);
  const id = parsed.pathname.split('/').pop() ?? '';
  return {
    version: '2.0',
    routeKey: `${method} /approvals/{id}`,
    rawPath: parsed.pathname,
    rawQueryString: parsed.search.replace(/^\?/, ''),
    headers: {
      accept: options.accept ?? 'text/html,application/xhtml+xml',
      ...(options.body === undefined
        ? {}
        : { 'content-type': options.contentType ?? 'application/x-www-form-urlencoded' }),
    },
    pathParameters: { id },
    requestContext: {
      accountId: '111122223333',
      apiId: 'approvals',
      domainName: parsed.host,
      domainPrefix: 'approvals',
      http: {
        method,
        path: parsed.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: '198.51.100.7',
        userAgent: 'test',
      },
      requestId: 'request-id',
      routeKey: `${method} /approvals/{id}`,
      stage: '$default',
      time: '13/Mar/2027:02:41:00 +0000',
      timeEpoch: 0,
    },
    // HTTP APIs hand form posts to Lambda base64-encoded.
    body: options.body === undefined ? undefined : Buffer.from(options.body).toString('base64'),
    isBase64Encoded: options.body !== undefined,
  };
}

/** The approver (or a mail scanner) opens the emailed review link. */
export async function whenTheLinkIsOpened(
  url: string,
  options: { accept?: string } = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  return handleApproval(httpRequest('GET', url, options));
}

/**
 * The approver types the confirmation code the review page shows (unless `typed` says what they type
 * instead) and presses a button: the form's fields and the button's value are posted back to the page URL.
 */
export async function whenTheApproverPresses(
  button: 'Approve' | 'Reject',
  page: APIGatewayProxyStructuredResultV2,
  url: string,
  options: { accept?: string; typed?: string; tamper?: (form: URLSearchParams) => void } = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  const form = formOf(page, button);
  form.set('confirmation', options.typed ?? confirmationCodeShownOn(page));
  options.tamper?.(form);
  return handleApproval(httpRequest('POST', url, { body: form.toString(), accept: options.accept }));
}

/** A client posts `body` as `contentType` to the link, e.g. an API client or garbage. */
export async function whenPosted(
  url: string,
  body: string,
  contentType: string,
  options: { accept?: string } = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  return handleApproval(httpRequest('POST', url, { body, contentType, accept: options.accept }));
}

/** The code a person reads on the review page. */
export function confirmationCodeShownOn(page: APIGatewayProxyStructuredResultV2): string {
  const code = /id="confirmation-code">([^<]+)</.exec(String(page.body ?? ''))?.[1];
  if (!code) throw new Error('The page shows no confirmation code');
  return code;
}

function formOf(page: APIGatewayProxyStructuredResultV2, button: string): URLSearchParams {
  const forms = String(page.body ?? '').match(/<form[\s\S]*?<\/form>/g) ?? [];
  const form = forms.find((candidate) => candidate.includes(`>${button}</button>`));
  if (!form) throw new Error(`The page has no form with a ${button} button`);
  const fields = new URLSearchParams();
  for (const [, name, value] of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.set(name ?? '', unescapeHtml(value ?? ''));
  }
  const pressed = new RegExp(`<button type="submit" name="action" value="(\\w+)"[^>]*>${button}</button>`);
  fields.set('action', pressed.exec(form)?.[1] ?? '');
  return fields;
}

function unescapeHtml(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

export function headerOf(response: APIGatewayProxyStructuredResultV2, name: string): string | undefined {
  const headers = response.headers ?? {};
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : String(headers[key]);
}

/** A customer environment reports its health for the release: healthy unless the overrides say otherwise. */
export function healthReportArrives(
  customerId: string,
  overrides: Partial<HealthReported> = {},
  reportedAt = '2027-03-13T05:00:00Z',
) {
  return healthReported(customerId, overrides, reportedAt).deliver();
}

/** A health report as the bus carries it, which `deliver()` hands to record-health-report (again if called twice). */
export function healthReported(
  customerId: string,
  overrides: Partial<HealthReported> = {},
  reportedAt = '2027-03-13T05:00:00Z',
) {
  const event = busEvent(
    'Health Reported',
    {
      schemaVersion: SCHEMA_VERSION,
      customerId,
      version: 'v1.1.0',
      reportedAt,
      errorRatePercent: 0,
      latencyChangePercent: 1,
      criticalErrors: 0,
      securityFindings: 0,
      supportTickets: 0,
      ...overrides,
    },
    FLEET_SOURCE,
  );
  return { event, deliver: () => recordHealthReport(event) };
}
