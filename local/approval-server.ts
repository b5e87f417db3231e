import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { LOCAL_SERVER_LIMITS, readBody } from './aws-endpoint.js';

type RouteHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** Like API Gateway, which refuses larger bodies before the function runs (its limit is 10 MB; ours is lower). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * The HTTP API of the approval links, on a loopback port: requests become API Gateway v2 events for the
 * function each template route integrates. Listening starts first, because the approval emails need the URL.
 * A malformed request gets a 4xx and the server goes on: Node itself answers a malformed request line or
 * oversized headers, this answers an unreadable URL, an oversized body, and a body cut off (by closing).
 */
export async function startApprovalServer(
  /** Keeps simulated time still while a request is served. */
  track: (request: Promise<void>) => Promise<void> = (request) => request,
): Promise<{
  url: string;
  route(routeKey: string, handler: RouteHandler): void;
  stop(): Promise<void>;
}> {
  const routes: { method: string; pattern: RegExp; handler: RouteHandler }[] = [];
  const server: Server = createServer(LOCAL_SERVER_LIMITS, (request, response) => {
    serve(request, response).catch((error: Error) => {
      if (response.headersSent || response.destroyed) return void response.destroy();
      response.writeHead(500, { 'Content-Type': 'text/plain' }).end(error.message);
    });
  });
  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = URL.parse(request.url ?? '/', 'http://localhost');
    if (!url) return answer(response, 400, 'Bad request: the request target is not a URL');
    const method = request.method ?? 'GET';
    for (const route of routes) {
      const match = route.method === method ? route.pattern.exec(url.pathname) : null;
      if (!match) continue;
      // The body arrives before the handler is tracked: a client that never finishes it holds no time still.
      const body = await readBody(request, MAX_BODY_BYTES);
      if (body.kind === 'aborted') return;
      if (body.kind === 'too-large') return answer(response, 413, 'Request body too large', true);
      await track(
        (async () => {
          const result = await route.handler({
            version: '2.0',
            routeKey: `${method} ${url.pathname}`,
            rawPath: url.pathname,
            rawQueryString: url.search.replace(/^\?/, ''),
            headers: Object.fromEntries(
              Object.entries(request.headers).map(([key, value]) => [key, String(value)]),
            ),
            pathParameters: match.groups ?? {},
            body: body.text,
            isBase64Encoded: false,
            requestContext: { http: { method, path: url.pathname } },
          } as unknown as APIGatewayProxyEventV2);
          if (response.destroyed) return;
          response.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
          response.end(result.body ?? '');
        })(),
      );
      return;
    }
    answer(response, 404, 'Not found');
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    route(routeKey, handler) {
      const [method = 'GET', path = '/'] = routeKey.split(' ');
      const pattern = new RegExp(`^${path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);
      routes.push({ method, pattern, handler });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(response: ServerResponse, status: number, text: string, close = false): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { 'Content-Type': 'text/plain', ...(close ? { Connection: 'close' } : {}) });
  response.end(text);
}
