import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { JacketError } from '../errors.ts';

export interface SafeFetchOptions {
  /** Host names allowed (exact, or `*.example.org` for subdomains); empty means every host is refused. `*` allows all. */
  allowHosts: string[];
  /**
   * Also allow loopback and private-network addresses (closed networks, tests). Link-local (cloud metadata at
   * 169.254.169.254), unspecified, multicast and reserved addresses stay refused either way.
   */
  allowPrivate: boolean;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects?: number;
  headers?: Record<string, string>;
}

export interface FetchedResource {
  status: number;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const refuse = (code: string, message: string) => new JacketError(400, code, message);

export function hostAllowed(host: string, allowHosts: string[]): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  return allowHosts.some((pattern) => pattern === '*' || pattern === name || (pattern.startsWith('*.') && name.endsWith(pattern.slice(1))));
}

export function isPublicAddress(address: string): boolean {
  try {
    return ipaddr.process(address).range() === 'unicast';
  } catch {
    return false;
  }
}

const PRIVATE_RANGES = new Set(['loopback', 'private', 'uniqueLocal', 'carrierGradeNat']);

/** May a download connect to this address? Public unicast always; private networks and loopback only when allowed. */
export function isAllowedAddress(address: string, allowPrivate: boolean): boolean {
  if (isPublicAddress(address)) return true;
  if (!allowPrivate) return false;
  try {
    return PRIVATE_RANGES.has(ipaddr.process(address).range());
  } catch {
    return false;
  }
}

/**
 * A DNS lookup that refuses non-public addresses: the check happens on the address actually connected to, so a
 * host name that resolves to 127.0.0.1 (or changes its answer between check and use) cannot reach inside.
 */
function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: (...args: any[]) => void) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error);
      const list = addresses as dns.LookupAddress[];
      const bad = list.find((entry) => !isAllowedAddress(entry.address, allowPrivate));
      if (bad) return callback(refuse('source_url_private', `${hostname} resolves to a non-public address (${bad.address}).`));
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`no address for ${hostname}`));
      callback(null, first.address, first.family);
    });
  }) as net.LookupFunction;
}

function requestOnce(url: URL, options: SafeFetchOptions, deadline: number): Promise<FetchedResource> {
  return new Promise((resolve, reject) => {
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(literal) && !isAllowedAddress(literal, options.allowPrivate)) {
      reject(refuse('source_url_private', `${literal} is not a public address.`));
      return;
    }
    const client = url.protocol === 'https:' ? https : http;
    const remaining = Math.max(1, deadline - Date.now());
    const request = client.get(
      url,
      { lookup: guardedLookup(options.allowPrivate), headers: { 'user-agent': 'Jacket cover server', ...options.headers }, timeout: remaining },
      (response) => {
        const declared = Number(response.headers['content-length'] ?? 0);
        if (declared > options.maxBytes) {
          response.destroy();
          reject(new JacketError(413, 'source_url_too_large', `The resource is ${declared} bytes; the limit is ${options.maxBytes}.`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            response.destroy();
            reject(new JacketError(413, 'source_url_too_large', `The resource is larger than ${options.maxBytes} bytes.`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, url: url.toString(), headers: response.headers, body: Buffer.concat(chunks) }),
        );
        response.on('error', reject);
      },
    );
    const timer = setTimeout(() => request.destroy(new JacketError(400, 'source_url_timeout', `No complete answer from ${url.host} in time.`)), remaining);
    request.on('close', () => clearTimeout(timer));
    request.on('timeout', () => request.destroy(new JacketError(400, 'source_url_timeout', `No complete answer from ${url.host} in time.`)));
    request.on('error', (error) => reject(error instanceof JacketError ? error : refuse('source_url_unreachable', `Cannot fetch ${url.host}: ${error.message}`)));
  });
}

/** GET a URL from the outside world with an allow-list, address checks at connect time on every hop, a byte cap and a deadline. */
export async function safeFetch(rawUrl: string, options: SafeFetchOptions): Promise<FetchedResource> {
  const deadline = Date.now() + options.timeoutMs;
  let url = parseHttpUrl(rawUrl);
  for (let hop = 0; hop <= (options.maxRedirects ?? 5); hop++) {
    if (!hostAllowed(url.hostname, options.allowHosts)) {
      throw refuse('source_url_not_allowed', `Downloads from ${url.hostname} are not allowed on this server.`);
    }
    const response = await requestOnce(url, options, deadline);
    const location = response.headers.location;
    if ([301, 302, 303, 307, 308].includes(response.status) && location) {
      // maxRedirects 0: the caller follows redirects itself (the mirror counts every hop against its rate).
      if (options.maxRedirects === 0) return response;
      url = parseHttpUrl(new URL(location, url).toString());
      continue;
    }
    return response;
  }
  throw refuse('source_url_redirects', 'Too many redirects.');
}

export function parseHttpUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('invalid_url', `"${raw.slice(0, 200)}" is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('invalid_url', 'Only http and https URLs can be fetched.');
  if (url.username || url.password) throw refuse('invalid_url', 'URLs with credentials are not fetched.');
  return url;
}
