import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalApiError } from './step-functions.js';

export type ApiOperation = (body: Record<string, unknown>) => unknown | Promise<unknown>;

/**
 * A loopback HTTP endpoint speaking the AWS JSON protocols (`X-Amz-Target: AWSStepFunctions.SendTaskSuccess`,
 * `AWSEvents.PutEvents`), so handlers keep using the real SDK clients, pointed here by AWS_ENDPOINT_URL_*.
 */
export async function startAwsEndpoint(
  /** Keeps simulated time still while a request is served. */
  track: (request: Promise<void>) => Promise<void>,
  operations: Record<string, ApiOperation>,
): Promise<{ url: string; stop(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    track(serve(request, response)).catch(() => response.destroy());
  });
  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = operations[target];
    try {
      if (!operation)
        throw new LocalApiError(
          'UnknownOperationException',
          `The local endpoint does not implement ${target}`,
        );
      const result = await operation(JSON.parse((await readBody(request)) || '{}'));
      response.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(result ?? {}));
    } catch (error) {
      const type = error instanceof LocalApiError ? error.type : 'InternalFailure';
      response.writeHead(error instanceof LocalApiError ? 400 : 500, {
        'Content-Type': 'application/x-amz-json-1.0',
        'x-amzn-ErrorType': type,
      });
      response.end(JSON.stringify({ __type: type, message: (error as Error).message }));
    }
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

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
