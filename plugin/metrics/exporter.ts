/**
 * The HTTP endpoint: `GET /metrics` (Prometheus text format) and `GET /healthz` (200 while
 * `healthy()` is true, else 503). Loopback by default; on any other address it refuses to start
 * unless basic auth or a bearer token is configured.
 *
 * Guarantees: a scrape only reads memory (the metrics registry and the coordinator's snapshot);
 * credential files are read once, at start, and must be private (mode 0600 or stricter); their
 * contents never appear in an error, a log line or a response. /healthz needs no credentials and
 * says nothing but ok/unhealthy. A connection flood cannot use up the coordinator's descriptors
 * (the lease's fence channel lives in the same process): at most `maxConnections` sockets are
 * open at once (more are closed as soon as they are accepted and counted as dropped), a socket
 * that sends nothing for `idleTimeoutMs` is closed, headers must arrive within
 * `headersTimeoutMs`, and requests are bounded (GET/HEAD, no body, short URL, 8 KiB of headers).
 * Not guaranteed: TLS — put a reverse proxy in front for that; answering scrapes during a flood
 * (a flood can hold every slot; it cannot hurt the lease).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metrics } from './metrics';

/** Bounds on what one client can hold; defaults in EXPORTER_LIMITS. */
export interface ExporterLimits {
  /** Open sockets at once; beyond it a new connection is closed at once (counted as dropped). */
  maxConnections: number;
  /** The request line and headers must have arrived within this. */
  headersTimeoutMs: number;
  /** The whole request must have arrived within this. */
  requestTimeoutMs: number;
  /** A socket with no traffic for this long is closed (also between keep-alive requests). */
  idleTimeoutMs: number;
  /** Longest request target (path and query). */
  maxUrlBytes: number;
  /** Largest request line plus headers (Node answers 431 beyond it). */
  maxHeaderBytes: number;
  /** How often Node checks the header and request timeouts (its default is 30 s). */
  checkIntervalMs: number;
}

/** A Prometheus scrape needs one connection, a few hundred bytes and well under a second. */
export const EXPORTER_LIMITS: Readonly<ExporterLimits> = {
  maxConnections: 64,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 5_000,
  idleTimeoutMs: 5_000,
  maxUrlBytes: 1_024,
  maxHeaderBytes: 8_192,
  checkIntervalMs: 1_000,
};

export interface ExporterOptions {
  /** HOST:PORT, e.g. '127.0.0.1:9464' (the default). */
  listen?: string;
  basicAuth?: { user: string; passwordFile: string };
  bearerTokenFile?: string;
  /** /healthz answers 200 while this returns true (e.g. this node's lease bookkeeping is current). */
  healthy: () => boolean;
  limits?: Partial<ExporterLimits>;
}

export interface Exporter {
  host: string;
  port: number;
  /** Sockets open now, and those closed at once because `maxConnections` were open. */
  connections(): { open: number; dropped: number };
  close(): Promise<void>;
}

export const DEFAULT_LISTEN = '127.0.0.1:9464';

export async function startExporter(metrics: Metrics, options: ExporterOptions): Promise<Exporter> {
  const listen = options.listen ?? DEFAULT_LISTEN;
  const { host, port } = parseListen(listen);
  const check = authChecker(options);
  if (!check && !isLoopback(host)) {
    throw new Error(`metrics.listen ${listen} is not a loopback address: set metrics.basicAuth ({ user, passwordFile }) or metrics.bearerTokenFile, or listen on 127.0.0.1`);
  }

  const limits: ExporterLimits = { ...EXPORTER_LIMITS, ...options.limits };
  const server = http.createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  }, (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    // A scrape has no body; one that announces a body is not a scrape and is not read.
    if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) !== 0) return refuse(res, 413, 'no request body accepted\n');
    if ((req.url ?? '/').length > limits.maxUrlBytes) return refuse(res, 414, 'request target too long\n');
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      let ok = false;
      try { ok = options.healthy(); } catch { ok = false; }
      return reply(res, ok ? 200 : 503, ok ? 'ok\n' : 'unhealthy\n');
    }
    if (path !== '/metrics') return reply(res, 404, 'not found: try /metrics or /healthz\n');
    if (check && !check(req.headers.authorization)) {
      return reply(res, 401, 'unauthorized\n', options.basicAuth ? { 'www-authenticate': 'Basic realm="msgha"' } : { 'www-authenticate': 'Bearer' });
    }
    metrics.render().then(
      (body) => reply(res, 200, req.method === 'HEAD' ? '' : body, { 'content-type': metrics.contentType }),
      () => reply(res, 500, 'metrics unavailable\n'),
    );
  });
  // Each open socket is a descriptor of the coordinator: a bounded number, none kept idle.
  server.maxConnections = limits.maxConnections;
  server.timeout = limits.idleTimeoutMs;
  server.keepAliveTimeout = limits.idleTimeoutMs;
  let open = 0;
  let dropped = 0;
  server.on('connection', (sock) => { open++; sock.once('close', () => { open--; }); });
  server.on('drop', () => { dropped++; });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      // The code travels with the error: a port in use is worth retrying, a bad address is not.
      const e: NodeJS.ErrnoException = new Error(`metrics exporter cannot listen on ${listen} (${err.code ?? err.message}): change metrics.listen`);
      if (err.code) e.code = err.code;
      reject(e);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      // An error after listening (e.g. EMFILE on accept) must not crash the coordinator: the
      // scrape that hit it fails and Prometheus retries at the next interval.
      server.on('error', () => undefined);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    host,
    port: bound,
    connections: () => ({ open, dropped }),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** An answer to a request that is not a scrape: the socket is not kept for another one. */
function refuse(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  reply(res, status, body, { connection: 'close', ...headers });
}

function reply(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`metrics.listen must be HOST:PORT (e.g. ${DEFAULT_LISTEN}), got '${listen}'`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

export function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === 'localhost' || host === '::1';
}

/** Returns a checker of the Authorization header, or undefined when no auth is configured. */
function authChecker(options: ExporterOptions): ((header: string | undefined) => boolean) | undefined {
  if (options.basicAuth && options.bearerTokenFile) {
    throw new Error('metrics: set either metrics.basicAuth or metrics.bearerTokenFile, not both');
  }
  if (options.basicAuth) {
    const { user, passwordFile } = options.basicAuth;
    if (!user || user.includes(':')) throw new Error('metrics.basicAuth.user must be a non-empty name without ":"');
    const expected = digest(`Basic ${Buffer.from(`${user}:${readSecretFile(passwordFile, 'metrics.basicAuth.passwordFile')}`).toString('base64')}`);
    return (header) => header !== undefined && timingSafeEqual(digest(header), expected);
  }
  if (options.bearerTokenFile) {
    const expected = digest(`Bearer ${readSecretFile(options.bearerTokenFile, 'metrics.bearerTokenFile')}`);
    return (header) => header !== undefined && timingSafeEqual(digest(header), expected);
  }
  return undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function readSecretFile(file: string, option: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    throw new Error(`${option}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if ((stat.mode & 0o077) !== 0) throw new Error(`${option}: ${file} is readable by group or others: chmod 600 ${file}`);
  const value = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (!value) throw new Error(`${option}: ${file} is empty`);
  return value;
}
