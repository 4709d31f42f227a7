import { request } from 'node:http';

export interface RawResponse {
  status: number;
  /** Header names exactly as the server wrote them, in order. */
  headerNames: string[];
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request over a real connection (not app.inject), keeping the spelling of the header names. */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headerNames: res.rawHeaders.filter((_, i) => i % 2 === 0),
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
