/**
 * The optional admin listener (`observability.admin`): a separate plain-HTTP server that serves
 * only the health and metrics routes, so operators can scrape `/metrics` and probe `/readyz`
 * without exposing them on the public MCP port. It binds 127.0.0.1 unless told otherwise
 * (STYLE 9) and answers everything else with a JSON 404.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, PortcullisError } from '../errors.js';
import { closeIfBody, sendJson } from '../http/respond.js';

/** Serves one admin request; resolves `false` if the path is not one it serves. */
export type AdminHandler = (
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
) => Promise<boolean>;

export interface AdminServerOptions {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Usually `(p, req, res, id) => handleHealthRoute(p, req, res, deps, id)`. */
  readonly handle: AdminHandler;
  /** Told about a handler failure (answered with a generic 500 carrying the request id). */
  readonly onError?: (err: unknown, requestId: string) => void;
  /** Whole-request time limit; default 10 s (scrapes are small). */
  readonly requestTimeoutMs?: number;
}

export interface AdminServer {
  /** Starts listening; resolves with the base URL actually bound. */
  listen(): Promise<{ url: string; port: number }>;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

/** Creates (but does not start) the admin listener. */
export function createAdminServer(opts: AdminServerOptions): AdminServer {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    const requestId = randomUUID();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    opts
      .handle(path, req, res, requestId)
      .then((handled) => {
        if (!handled) sendJson(res, 404, '{"error":"not_found"}', requestId, closeIfBody(req));
      })
      .catch((err: unknown) => {
        opts.onError?.(err, requestId);
        if (res.headersSent) res.destroy();
        else sendJson(res, 500, JSON.stringify({ error: 'internal_error', requestId }), requestId);
      });
  });
  server.requestTimeout = opts.requestTimeoutMs ?? 10_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);

  let closed = false;
  return {
    listen: () =>
      new Promise((resolve, reject) => {
        const onError = (err: Error): void =>
          reject(
            new PortcullisError(ErrorCodes.LISTEN, `cannot listen on ${host}:${opts.port}: ${err.message}`, [], {
              cause: err,
            }),
          );
        server.once('error', onError);
        server.listen(opts.port, host, () => {
          server.off('error', onError);
          const port = (server.address() as AddressInfo).port;
          resolve({ url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port });
        });
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      if (!server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
