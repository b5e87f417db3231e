import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalApiError } from './step-functions.js';

export type ApiOperation = (body: Record<string, unknown>) => unknown | Promise<unknown>;

/** Larger than any request the SDK sends here (Step Functions and EventBridge cap payloads at 256 KiB). */
const MAX_API_BODY_BYTES = 1024 * 1024;

/**
 * Limits of the local HTTP servers: a client that stops sending is cut off, and a request is whole or
 * refused long before it could tie anything up. Node answers a malformed request line or headers over
 * `maxHeaderSize` itself (400, 431) and closes the connection.
 */
export const LOCAL_SERVER_LIMITS = {
  requestTimeout: 30_000,
  headersTimeout: 10_000,
  maxHeaderSize: 16 * 1024,
};

/**
 * A loopback HTTP endpoint speaking the AWS JSON protocols (`X-Amz-Target: AWSStepFunctions.SendTaskSuccess`,
 * `AWSEvents.PutEvents`), so handlers keep using the real SDK clients, pointed here by AWS_ENDPOINT_URL_*.
 * A malformed request gets a 4xx and changes nothing.
 */
export async function startAwsEndpoint(
  /** Keeps simulated time still while a request is served. */
  track: (request: Promise<void>) => Promise<void>,
  operations: Record<string, ApiOperation>,
): Promise<{ url: string; stop(): Promise<void> }> {
  const server: Server = createServer(LOCAL_SERVER_LIMITS, (request, response) => {
    serve(request, response).catch(() => response.destroy());
  });
  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = Object.hasOwn(operations, target) ? operations[target] : undefined;
    // The body arrives before the operation is tracked: a client that never finishes it holds no time still.
    const body = await readBody(request, MAX_API_BODY_BYTES);
    if (body.kind === 'aborted') return;
    if (body.kind === 'too-large')
      return answerError(response, 413, 'RequestEntityTooLargeException', 'The request body is too large');
    if (!operation)
      return answerError(
        response,
        400,
        'UnknownOperationException',
        `The local endpoint does not implement ${target.slice(0, 200)}`,
      );
    let input: unknown;
    try {
      input = JSON.parse(body.text || '{}');
    } catch {
      return answerError(response, 400, 'SerializationException', 'The request body is not JSON');
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      return answerError(response, 400, 'SerializationException', 'The request body is not a JSON object');
    await track(
      (async () => {
        try {
          const result = await operation(input as Record<string, unknown>);
          response.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
          response.end(JSON.stringify(result ?? {}));
        } catch (error) {
          const known = error instanceof LocalApiError;
          answerError(
            response,
            known ? 400 : 500,
            known ? error.type : 'InternalFailure',
            (error as Error).message,
          );
        }
      })(),
    );
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answerError(response: ServerResponse, status: number, type: string, message: string): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'x-amzn-ErrorType': type,
    ...(status === 413 ? { Connection: 'close' } : {}),
  });
  response.end(JSON.stringify({ __type: type, message }));
}

export type RequestBody = { kind: 'read'; text: string } | { kind: 'too-large' } | { kind: 'aborted' };

/**
 * The whole body as UTF-8, or why there is none: over `maxBytes` (declared or sent; reading stops there,
 * the caller answers 413 and closes), or the client went away before sending all of it.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<RequestBody> {
  if (Number(request.headers['content-length'] ?? 0) > maxBytes)
    return Promise.resolve({ kind: 'too-large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (body: RequestBody) => {
      request.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
      resolve(body);
    };
    // Stops reading without destroying the socket, so the 413 still reaches the client.
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else {
        request.pause();
        settle({ kind: 'too-large' });
      }
    };
    const onEnd = () => settle({ kind: 'read', text: Buffer.concat(chunks).toString('utf8') });
    const onGone = () => settle({ kind: 'aborted' });
    request.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}
