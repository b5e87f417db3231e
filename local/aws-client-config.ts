import { Agent } from 'node:http';
import type { ClientSettings } from '../lambdas/shared/clients.js';

/** Loopback connections kept open per stand-in: enough that requests rarely queue for a socket. */
const LOCAL_MAX_SOCKETS = 256;
/**
 * How long the stand-ins keep an idle connection open (Node's default is 5 s). The clients reuse idle
 * sockets; a server closing one just as a request goes out on it fails that request (ECONNRESET), which a
 * loaded machine's pauses make likely at 5 s, so the servers the handlers call most (dynalite, the local SES)
 * wait far longer than a rehearsal pauses. The approval API and the local AWS endpoint keep Node's default:
 * a client that half-closes its side after a garbage request must see them close theirs.
 */
export const LOCAL_KEEP_ALIVE_MS = 10 * 60_000;
const LOCAL_CREDENTIALS: { accessKeyId: string; secretAccessKey: string; expiration?: Date } = {
  accessKeyId: 'local',
  secretAccessKey: 'local',
};
/**
 * What the stand-ins check of a request's signature: an `Authorization` header of the AWS form and a date.
 * None verifies it, so it is the same for every request and costs nothing to compute.
 */
export const LOCAL_SIGNATURE_HEADERS = {
  authorization:
    'AWS4-HMAC-SHA256 Credential=local/20000101/us-east-1/local/aws4_request, SignedHeaders=host, Signature=local',
  'x-amz-date': '20000101T000000Z',
};

/**
 * SDK settings for talking to the local stand-ins: requests carry the fixed `Authorization` the stand-ins
 * look for instead of a SigV4 signature (no hashing, no HMAC), SQS answers are not MD5-checked, and
 * connections are kept alive in a pool of the client's own. On AWS the clients keep the SDK's defaults.
 */
export function localClientSettings(): ClientSettings {
  return {
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: LOCAL_MAX_SOCKETS }) },
    httpAuthSchemes: [
      {
        schemeId: 'aws.auth#sigv4',
        identityProvider: () => async () => LOCAL_CREDENTIALS,
        signer: {
          sign: async (request) => {
            Object.assign((request as { headers: Record<string, string> }).headers, LOCAL_SIGNATURE_HEADERS);
            return request;
          },
        },
      },
    ],
    md5: false,
  };
}

/**
 * What dynalite in the same process has no use for: retries (it never throttles nor drops a connection),
 * the user agent, the host header, recursion detection, the SDK's logger.
 */
export const IN_PROCESS_DYNAMODB_PASS_THROUGH = [
  'retryMiddleware',
  'getUserAgentMiddleware',
  'hostHeaderMiddleware',
  'recursionDetectionMiddleware',
  'loggerMiddleware',
];

/** Client settings for an AWS SDK v3 client talking to a local stand-in: any credentials will do. */
export function localClientConfig(endpoint: string) {
  return {
    ...localClientSettings(),
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  };
}
