import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Config as SesServerConfig } from 'aws-ses-v2-local';
import { LOCAL_KEEP_ALIVE_MS } from './aws-client-config.js';
import { renderInboxPage } from './inbox-page.js';

export interface LocalEmail {
  messageId: string;
  to: string[];
  from: string;
  subject: string;
  text?: string;
  html?: string;
  /** ISO real (wall-clock) time, to the second. */
  at: string;
}

export interface LocalEmailServer {
  /** The SES endpoint, for `new SESv2Client({ endpoint })` or `AWS_ENDPOINT_URL_SESV2`. */
  endpoint: string;
  /** A page a person opens to read the emails and click their links. */
  inboxUrl: string;
  /** Every email sent since start, oldest first. */
  listEmails(): Promise<LocalEmail[]>;
  /**
   * The emails sent after the first `seen` ones, oldest first, read in-process from the local SES's
   * mailbox without listing it: a reader that remembers how many it has seen reads each email once.
   */
  receivedSince(seen: number): LocalEmail[];
  /** SES send requests served so far (SendEmail, SendBulkEmail) and the emails in the mailbox. */
  sendStats(): { calls: number; emails: number };
  stop(): Promise<void>;
}

export interface LocalEmailOptions {
  /** Port of the SES endpoint; ephemeral when omitted. */
  sesPort?: number;
  /** Port of the inbox page; ephemeral when omitted. */
  inboxPort?: number;
}

/** What aws-ses-v2-local's GET /store returns for each email. */
interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  /** Epoch seconds. */
  at: number;
}

const HOST = '127.0.0.1';

// A CommonJS module with `exports.default`: Node's ESM import and vitest's disagree on what its default
// import is, and require() gives the same answer under both.
const require = createRequire(import.meta.url);
const { default: startSesServer } = require('aws-ses-v2-local') as {
  default: (config: Partial<SesServerConfig>) => Promise<Server>;
};
// The mailbox the server above appends each email to as it accepts it (the same module instance).
const { getStoreReadonly: sesMailbox } = require('aws-ses-v2-local/dist/store.js') as {
  getStoreReadonly: () => { emails: StoredEmail[] };
};

// aws-ses-v2-local keeps its mailbox in module state, so two servers in one process would share it.
let running = false;

/**
 * Runs aws-ses-v2-local in this process, with an empty mailbox, plus an inbox page of our own
 * (aws-ses-v2-local's own page at `endpoint` builds itself in the browser, hides HTML bodies behind a
 * toggle and opens links inside its frame).
 */
export async function startLocalEmail(options: LocalEmailOptions = {}): Promise<LocalEmailServer> {
  if (running) {
    throw new Error(
      'A local email server is already running in this process, and aws-ses-v2-local has one mailbox per process: use the running one, or stop it first.',
    );
  }
  running = true;
  const servers: Server[] = [];
  try {
    const ses = await startSesServer({ host: HOST, port: options.sesPort ?? 0 });
    ses.keepAliveTimeout = LOCAL_KEEP_ALIVE_MS;
    servers.push(ses);
    if (!ses.listening) {
      throw new Error(
        `The local SES endpoint cannot listen on ${HOST}:${options.sesPort}; is the port in use?`,
      );
    }
    const endpoint = urlOf(ses);
    let sendCalls = 0;
    ses.on('request', (request: IncomingMessage) => {
      if (request.method === 'POST' && request.url?.startsWith('/v2/email/outbound-')) sendCalls += 1;
    });
    await expectOk(await fetch(`${endpoint}/clear-store`, { method: 'POST' }), 'clear the local mailbox');

    const listEmails = async (): Promise<LocalEmail[]> => {
      const response = await fetch(`${endpoint}/store`);
      await expectOk(response, 'list the local emails');
      const { emails } = (await response.json()) as { emails: StoredEmail[] };
      return emails.map(toLocalEmail);
    };

    const inbox = createServer((request, response) => {
      if (request.method !== 'GET' || request.url !== '/') {
        response
          .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
          .end('Not found: the inbox is at /');
        return;
      }
      listEmails().then(
        (emails) =>
          response
            .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
            .end(renderInboxPage(emails)),
        (error: unknown) =>
          response.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(String(error)),
      );
    });
    servers.push(inbox);
    await listen(inbox, options.inboxPort ?? 0);

    let stopped: Promise<void> | undefined;
    return {
      endpoint,
      inboxUrl: `${urlOf(inbox)}/`,
      listEmails,
      receivedSince: (seen) => sesMailbox().emails.slice(seen).map(toLocalEmail),
      sendStats: () => ({ calls: sendCalls, emails: sesMailbox().emails.length }),
      stop() {
        stopped ??= closeAll(servers).finally(() => {
          running = false;
        });
        return stopped;
      },
    };
  } catch (error) {
    await closeAll(servers);
    running = false;
    throw error;
  }
}

function toLocalEmail(stored: StoredEmail): LocalEmail {
  return {
    messageId: stored.messageId,
    to: stored.destination.to,
    from: stored.from,
    subject: stored.subject,
    ...(stored.body.text === undefined ? {} : { text: stored.body.text }),
    ...(stored.body.html === undefined ? {} : { html: stored.body.html }),
    at: new Date(stored.at * 1000).toISOString(),
  };
}

function urlOf(server: Server): string {
  return `http://${HOST}:${(server.address() as AddressInfo).port}`;
}

async function expectOk(response: Response, action: string): Promise<void> {
  if (!response.ok) {
    throw new Error(
      `Could not ${action}: aws-ses-v2-local answered ${response.status} ${await response.text()}`,
    );
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function closeAll(servers: readonly Server[]): Promise<void> {
  await Promise.all(
    servers
      .filter((server) => server.listening)
      .map(
        (server) =>
          new Promise<void>((resolve, reject) => {
            server.close((error) => (error ? reject(error) : resolve()));
            // Browsers and SDK clients keep sockets alive; close would otherwise wait for them.
            server.closeAllConnections();
          }),
      ),
  );
}
