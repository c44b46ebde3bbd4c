/**
 * Raw-socket mode: the same requests written byte by byte on a fresh TCP connection, with the
 * message framing mutated where `fetch`/undici would refuse or normalise it (request-line
 * version, bare LF, Content-Length/Transfer-Encoding conflicts, a short Content-Length that
 * leaves bytes behind as a second "request", obs-fold, a space before the colon, missing or
 * repeated Host). Every response on the connection is parsed, so a smuggled second answer shows.
 */
import { connect } from 'node:net';
import fc from 'fast-check';

export interface Framing {
  version: string;
  eol: '\r\n' | '\n';
  body: 'cl' | 'te' | 'te_and_cl' | 'cl_twice' | 'cl_conflict' | 'cl_short' | 'te_unknown';
  host: 'ok' | 'missing' | 'twice';
  fold: boolean;
  spaceBeforeColon: boolean;
  lowercaseMethod: boolean;
}

const pick = <T>(usual: T, others: readonly T[], weight = 8): fc.Arbitrary<T> =>
  fc.oneof({ weight, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: fc.constantFrom(...others) });

export const framing: fc.Arbitrary<Framing> = fc.record({
  version: pick('HTTP/1.1', ['HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 x', 'http/1.1', 'HTTP/1.10', ''], 4),
  eol: pick<'\r\n' | '\n'>('\r\n', ['\n']),
  body: pick<Framing['body']>('cl', ['te', 'te_and_cl', 'cl_twice', 'cl_conflict', 'cl_short', 'te_unknown'], 3),
  host: pick<Framing['host']>('ok', ['missing', 'twice']),
  fold: pick(false, [true]),
  spaceBeforeColon: pick(false, [true]),
  lowercaseMethod: pick(false, [true]),
});

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawExchange {
  responses: RawResponse[];
  /** The bytes that came back, as text (for leak checks over everything the server wrote). */
  text: string;
  timedOut: boolean;
}

/** Writes one request with the given framing and reads until the server closes or `ms` pass. */
export function sendRaw(
  port: number,
  req: { method: string; url: string; headers: string[]; body: Buffer | undefined },
  f: Framing,
  ms: number,
): Promise<RawExchange> {
  const eol = f.eol;
  const lines: string[] = [
    `${f.lowercaseMethod ? req.method.toLowerCase() : req.method} ${req.url} ${f.version}`.trimEnd(),
  ];
  const host = `127.0.0.1:${port}`;
  if (f.host !== 'missing') lines.push(`Host: ${host}`);
  if (f.host === 'twice') lines.push(`Host: ${host}`);
  for (let i = 0; i < req.headers.length; i += 2) {
    const name = req.headers[i]!;
    if (name.toLowerCase() === 'host') continue;
    lines.push(`${name}${f.spaceBeforeColon && i === 0 ? ' ' : ''}: ${req.headers[i + 1]!}`);
  }
  if (f.fold && lines.length > 1) lines.push(' folded');
  lines.push('Connection: close');
  const body = req.body ?? Buffer.alloc(0);
  const chunked = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
  let payload = body;
  switch (f.body) {
    case 'cl':
      if (req.body !== undefined) lines.push(`Content-Length: ${body.length}`);
      break;
    case 'te':
      lines.push('Transfer-Encoding: chunked');
      payload = chunked;
      break;
    case 'te_and_cl':
      lines.push('Transfer-Encoding: chunked', `Content-Length: ${chunked.length}`);
      payload = chunked;
      break;
    case 'cl_twice':
      lines.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length}`);
      break;
    case 'cl_conflict':
      lines.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
      break;
    case 'cl_short':
      lines.push(`Content-Length: ${Math.floor(body.length / 2)}`);
      break;
    case 'te_unknown':
      lines.push('Transfer-Encoding: gzip, chunked, identity');
      payload = chunked;
  }
  const head = Buffer.from(lines.join(eol) + eol + eol, 'latin1');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let timedOut = false;
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, ms);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ responses: parseResponses(text), text, timedOut });
    });
    socket.write(Buffer.concat([head, payload]));
  });
}

/** Splits what came back into responses (Content-Length, chunked, or until the end). */
export function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const [statusLine = '', ...headerLines] = text.slice(at, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!m) break;
    const headers: Record<string, string> = {};
    for (const l of headerLines) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let bodyEnd: number;
    let body: string;
    const start = end + 4;
    if (headers['content-length'] !== undefined) {
      bodyEnd = start + Number(headers['content-length']);
      body = text.slice(start, bodyEnd);
    } else if (headers['transfer-encoding'] === 'chunked') {
      body = '';
      let p = start;
      for (;;) {
        const lineEnd = text.indexOf('\r\n', p);
        if (lineEnd === -1) break;
        const size = parseInt(text.slice(p, lineEnd), 16);
        if (!Number.isFinite(size) || size === 0) {
          p = lineEnd + 4;
          break;
        }
        body += text.slice(lineEnd + 2, lineEnd + 2 + size);
        p = lineEnd + 2 + size + 2;
      }
      bodyEnd = p;
    } else {
      bodyEnd = text.length;
      body = text.slice(start);
    }
    out.push({ status: Number(m[1]), headers, body: Buffer.from(body, 'latin1').toString('utf8') });
    at = bodyEnd;
  }
  return out;
}
