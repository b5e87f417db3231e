/** Client settings for an AWS SDK v3 client talking to a local stand-in: any credentials will do. */
export function localClientConfig(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
}
