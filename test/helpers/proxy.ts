import http from 'node:http';

export interface CountingProxy {
  url: string;
  /** Every request that reached the proxy: time (ms) and path. */
  requests: Array<{ at: number; path: string }>;
  /** While true, the proxy refuses to answer (closes connections), as an unreachable upstream would. */
  down: boolean;
  /** Answer the next N requests with this status and Retry-After instead of forwarding them. */
  throttle: { remaining: number; status: number; retryAfterSeconds: number };
  close(): Promise<void>;
}

/** A real HTTP proxy in front of a test upstream that records every request (to count and time them). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const proxy: CountingProxy = { url: '', requests: [], down: false, throttle: { remaining: 0, status: 429, retryAfterSeconds: 1 }, close: async () => {} };
  const server = http.createServer(async (request, response) => {
    proxy.requests.push({ at: Date.now(), path: request.url ?? '' });
    if (proxy.down) {
      request.socket.destroy();
      return;
    }
    if (proxy.throttle.remaining > 0) {
      proxy.throttle.remaining--;
      response.writeHead(proxy.throttle.status, { 'retry-after': String(proxy.throttle.retryAfterSeconds) }).end();
      return;
    }
    try {
      const upstream = await fetch(target + request.url, { redirect: 'manual', headers: { accept: request.headers.accept ?? '*/*' } });
      const headers: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!['content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) headers[name] = value;
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      response.writeHead(upstream.status, { ...headers, 'content-length': String(body.length) });
      response.end(body);
    } catch {
      response.writeHead(502).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  proxy.url = `http://127.0.0.1:${address.port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
