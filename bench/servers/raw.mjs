/* global Buffer, process */
// The floor: hand-written JSON-RPC over node:http, no MCP library. Answers `tools/call echo`
// (2026-07-28 stateless request shape) with the same result shape as the other servers.
import http from 'node:http';

const port = Number(process.argv[2] ?? 3200);
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let msg;
      try {
        msg = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        res.writeHead(400).end();
        return;
      }
      const text = msg?.params?.arguments?.text ?? '';
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: msg.id ?? null,
        result: { content: [{ type: 'text', text }], isError: false },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  })
  .listen(port, '127.0.0.1');
