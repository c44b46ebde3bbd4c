/**
 * Raw-socket attacks, where `fetch` would normalise or refuse the request (SECURITY.md C.8,
 * issue 6 item 3): body limits on the wire (V-01), slowloris on headers and body (D-01, D-02),
 * a reader that stops reading a chatty stream (D-04), and requests Node's parser or the edge
 * must refuse: repeated `Authorization`, oversized headers, CL+TE smuggling, malformed request
 * lines. Each asserts the status on the wire, that the connection is closed where §0 says so,
 * and that nothing behind the refusal ran.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODERN, modernParams } from '../integration/support.js';
import { openSocket, postHead, rawExchange, startRawGateway, toolState } from './support/raw.js';
import type { RawGateway } from './support/raw.js';

let g: RawGateway;
let alice: string;

beforeAll(async () => {
  // Short timeouts so that slowloris is cut in seconds (the defaults are 20 s and 30 s).
  g = await startRawGateway({ server: '  headersTimeoutMs: 1000\n  requestTimeoutMs: 2000' });
  alice = await g.token('alice');
});
afterAll(async () => {
  await g?.close();
});

/** A well-formed 2026-07-28 request head for `tools/call` of `name` with a body of `length` bytes. */
function callHead(name: string, length: number | 'chunked', token = alice): string {
  return postHead(g.port, '/mcp', [
    `Authorization: Bearer ${token}`,
    'Content-Type: application/json',
    'Accept: application/json, text/event-stream',
    `MCP-Protocol-Version: ${MODERN}`,
    'Mcp-Method: tools/call',
    `Mcp-Name: ${name}`,
    length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`,
  ]);
}

function callBody(name: string, args: Record<string, unknown>, meta: Record<string, unknown> = {}): string {
  const params = modernParams({ name, arguments: args });
  params._meta = { ...(params._meta as Record<string, unknown>), ...meta };
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params });
}

function countResponses(text: string): number {
  return text.match(/(^|\r\n)HTTP\/1\.[01] \d{3} /g)?.length ?? 0;
}

const closeHeader = /\r\nconnection: close\r\n/i;

describe('body limits on the wire (V-01)', () => {
  it('V-01 a declared Content-Length of 50 MiB: 413 before any body byte, connection closed', async () => {
    const before = toolState().probe;
    const answer = await rawExchange(g.port, [callHead('sec_probe', 50 * 1024 * 1024)]);
    expect(answer.status).toBe(413);
    expect(answer.text).toMatch(closeHeader);
    expect(answer.closed).toBe(true);
    expect(toolState().probe).toBe(before);
  });

  it('V-01 a chunked body of 2 MiB: 413 at the cap, connection closed', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const chunks: (string | Buffer)[] = [callHead('sec_probe', 'chunked')];
    for (let i = 0; i < 32; i++) chunks.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    chunks.push('0\r\n\r\n');
    const answer = await rawExchange(g.port, chunks);
    expect(answer.status).toBe(413);
    expect(answer.text).toMatch(closeHeader);
    expect(answer.closed).toBe(true);
    expect(countResponses(answer.text)).toBe(1);
  });
});

describe('slowloris (D-01, D-02)', () => {
  it('D-01 headers trickled one byte at a time: 408 and the connection closed by headersTimeout', async () => {
    const head = callHead('sec_probe', 2);
    // 300 ms a byte: the head alone would take minutes; the gateway must cut it within seconds.
    const answer = await rawExchange(g.port, [], { trickle: { bytes: head, everyMs: 300 }, waitMs: 15_000 });
    expect(answer.closed).toBe(true);
    expect(answer.status).toBe(408);
    expect(answer.text).toMatch(closeHeader);
  });

  it('D-02 a body trickled one byte at a time: 408 and the connection closed by requestTimeout', async () => {
    const before = toolState().probe;
    const body = callBody('sec_probe', { flag: true });
    const answer = await rawExchange(g.port, [callHead('sec_probe', body.length)], {
      trickle: { bytes: body, everyMs: 300 },
      waitMs: 15_000,
    });
    expect(answer.closed).toBe(true);
    expect(answer.status).toBe(408);
    expect(toolState().probe).toBe(before);
  });
});

describe('a reader that stops reading (D-04)', () => {
  it('D-04 the 2024 SSE stream is dropped once its unread backlog passes the cap, and its session with it', async () => {
    const socket = await openSocket(g.port);
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        let text = '';
        const onData = (d: Buffer): void => {
          text += d.toString('latin1');
          const m = /data: (\/mcp\/messages\?sessionId=[A-Za-z0-9_-]+)\n/.exec(text);
          if (m) {
            socket.off('data', onData);
            resolve(m[1]!);
          }
        };
        socket.on('data', onData);
        socket.once('error', reject);
        socket.write(
          `GET /mcp/sse HTTP/1.1\r\nHost: 127.0.0.1:${g.port}\r\nAuthorization: Bearer ${alice}\r\nAccept: text/event-stream\r\n\r\n`,
        );
      });
      socket.pause(); // stop reading: the kernel buffers fill, then the gateway's
      const sessionsOpen = g.gateway.sessions.size;
      const statuses: number[] = [];
      // 1 MiB answers, up to 96 MiB in all: far more than the kernel buffers and the 4 MiB cap.
      for (let i = 0; i < 96 && !statuses.includes(404); i++) {
        const res = await fetch(`${g.url}${endpoint}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: i,
            method: 'tools/call',
            params: { name: 'sec_big', arguments: { kb: 1024 } },
          }),
        });
        statuses.push(res.status);
        await res.text();
      }
      expect(statuses).toContain(404);
      expect(statuses.filter((s) => s !== 202 && s !== 404)).toEqual([]);
      expect(g.gateway.sessions.size).toBe(sessionsOpen - 1);
    } finally {
      socket.destroy();
    }
  });

  it('D-04 a POST answered as an SSE stream is dropped once its unread backlog passes the cap, and the tool cancelled', async () => {
    let socket: Socket | undefined;
    try {
      socket = await openSocket(g.port);
      toolState().chatty = undefined;
      const body = callBody('sec_chatty', { count: 1000 }, { progressToken: 'p1' });
      socket.write(callHead('sec_chatty', Buffer.byteLength(body)) + body);
      socket.pause(); // never read: 1000 notifications of 64 KiB would be 64 MiB
      await waitFor(() => toolState().chatty?.done === true, 30_000);
      const run = toolState().chatty!;
      expect(run.aborted).toBe(true);
      expect(run.sent).toBeLessThan(1000);
    } finally {
      socket?.destroy();
    }
  });
});

describe('requests fetch would not send', () => {
  it('RC-3 two Authorization headers (SEC-AUTH-09): 400 invalid_request, in any letter case', async () => {
    const before = toolState().probe;
    const body = callBody('sec_probe', { flag: true });
    for (const second of [
      `Authorization: Bearer ${alice}`,
      `authorization: Bearer ${alice}`,
      'AUTHORIZATION: Basic eDp5',
    ]) {
      const answer = await rawExchange(
        g.port,
        [`${callHead('sec_probe', body.length)}`.replace(/\r\n\r\n$/, `\r\n${second}\r\n\r\n`), body],
        {
          until: (t) => t.includes('\r\n\r\n') && t.includes('}'),
        },
      );
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(
        /\r\nwww-authenticate: Bearer error="invalid_request"(, [a-z_]+="[^"]*")*, resource_metadata="[^"]+"\r\n/i,
      );
      expect(answer.text.endsWith('{"error":"invalid_request"}')).toBe(true);
    }
    expect(toolState().probe).toBe(before);
  });

  it('RC-11 headers over 16 KiB (SEC-AUTH-09): 431 and the connection closed', async () => {
    for (const head of [
      `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${g.port}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${g.port}\r\nAuthorization: Bearer ${'a'.repeat(20 * 1024)}\r\n\r\n`,
      `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${g.port}\r\n${Array.from({ length: 1500 }, (_, i) => `X-H${i}: vvvvvvvv\r\n`).join('')}\r\n`,
    ]) {
      const answer = await rawExchange(g.port, [head]);
      expect(answer.status).toBe(431);
      expect(answer.text).toMatch(closeHeader);
      expect(answer.closed).toBe(true);
    }
  });

  it('SEC-IN-01 Content-Length with Transfer-Encoding (CL.TE smuggling): one 400, the smuggled request never runs', async () => {
    const before = toolState().probe;
    const inner = callBody('sec_probe', { flag: true });
    const smuggled = `0\r\n\r\n${callHead('sec_probe', inner.length)}${inner}`;
    const head = callHead('sec_probe', smuggled.length).replace(/\r\n\r\n$/, '\r\nTransfer-Encoding: chunked\r\n\r\n');
    const answer = await rawExchange(g.port, [head, smuggled]);
    expect(answer.status).toBe(400);
    expect(countResponses(answer.text)).toBe(1);
    expect(answer.closed).toBe(true);
    expect(toolState().probe).toBe(before);
  });

  it('SEC-IN-01 obfuscated framing (TE.TE, bad or repeated Content-Length): 400 and closed', async () => {
    const before = toolState().probe;
    const body = callBody('sec_probe', { flag: true });
    const base = callHead('sec_probe', body.length);
    const variants = [
      base.replace(/\r\n\r\n$/, '\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n'),
      base.replace(/Content-Length: \d+/, 'Transfer-Encoding: xchunked'),
      base.replace(/Content-Length: \d+/, `Content-Length: ${body.length}\r\nContent-Length: ${body.length + 1}`),
      base.replace(/Content-Length: \d+/, `Content-Length: ${body.length}, ${body.length}`),
      base.replace(/Content-Length: \d+/, 'Content-Length: -1'),
      base.replace(/Content-Length: \d+/, `Content-Length: 0x${body.length.toString(16)}`),
      base.replace(/Content-Length: (\d+)/, 'Content-Length : $1'),
    ];
    for (const head of variants) {
      const answer = await rawExchange(g.port, [head, body]);
      expect(answer.status).toBe(400);
      expect(answer.closed).toBe(true);
    }
    expect(toolState().probe).toBe(before);
  });

  it('malformed request lines and header lines: 400 and closed, nothing reaches the gateway', async () => {
    const host = `Host: 127.0.0.1:${g.port}`;
    const requests = [
      'GARBAGE\r\n\r\n',
      `POST /mcp HTTP/9.9\r\n${host}\r\n\r\n`,
      `POST /m\u0000cp HTTP/1.1\r\n${host}\r\n\r\n`,
      `POST /mcp HTTP/1.1\n${host}\n\n`, // bare LF
      `POST /mcp HTTP/1.1\r\n${host}\r\nX-A: a\rb\r\n\r\n`, // bare CR in a value
      `POST /mcp HTTP/1.1\r\n${host}\r\nX-A: a\r\n folded\r\n\r\n`, // obs-fold
      `POST /mcp HTTP/1.1\r\n${host}\r\nX\u007f: 1\r\n\r\n`,
    ];
    for (const request of requests) {
      const answer = await rawExchange(g.port, [request]);
      expect(answer.status).toBe(400);
      expect(answer.closed).toBe(true);
    }
  });

  it('a request line that is not HTTP/1.x (0.9-style, 2.0 in clear text): 505 and closed, never authenticated', async () => {
    const body = callBody('sec_probe', { flag: true });
    const before = toolState().probe;
    const head = callHead('sec_probe', body.length);
    for (const line of ['POST /mcp', 'POST /mcp HTTP/2.0']) {
      const answer = await rawExchange(g.port, [head.replace('POST /mcp HTTP/1.1', line), body]);
      expect(answer.status).toBe(505);
      expect(answer.closed).toBe(true);
    }
    expect(toolState().probe).toBe(before);
  });

  it('RC-6 two Host headers: 403 before authentication', async () => {
    const answer = await rawExchange(
      g.port,
      [`GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${g.port}\r\nHost: evil.example\r\nAccept: text/event-stream\r\n\r\n`],
      { until: (t) => t.includes('}') },
    );
    expect(answer.status).toBe(403);
    expect(answer.text).not.toMatch(/www-authenticate/i);
  });

  it('the gateway is healthy after all of the above', async () => {
    expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
    const answer = await fetch(g.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/call',
        'mcp-name': 'sec_probe',
      },
      body: callBody('sec_probe', { flag: true }),
    });
    expect(answer.status).toBe(200);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}
