import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readBody } from './aws-endpoint.js';

type RouteHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The HTTP API of the approval links, on a loopback port: requests become API Gateway v2 events for the
 * function each template route integrates. Listening starts first, because the approval emails need the URL.
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
  const server: Server = createServer((request, response) => {
    track(serve(request, response)).catch((error: Error) => {
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end(error.message);
    });
  });
  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    for (const route of routes) {
      const match = route.method === method ? route.pattern.exec(url.pathname) : null;
      if (!match) continue;
      const body = await readBody(request);
      const result = await route.handler({
        version: '2.0',
        routeKey: `${method} ${url.pathname}`,
        rawPath: url.pathname,
        rawQueryString: url.search.replace(/^\?/, ''),
        headers: Object.fromEntries(
          Object.entries(request.headers).map(([key, value]) => [key, String(value)]),
        ),
        pathParameters: match.groups ?? {},
        body,
        isBase64Encoded: false,
        requestContext: { http: { method, path: url.pathname } },
      } as unknown as APIGatewayProxyEventV2);
      response.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
      response.end(result.body ?? '');
      return;
    }
    response.writeHead(404, { 'Content-Type': 'text/plain' });
    response.end('Not found');
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
