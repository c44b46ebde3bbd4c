/* global process */
// Reference: the tutorial stack — SDK v1 McpServer + StreamableHTTPServerTransport (2025 sessions,
// enableJsonResponse) on Express, one server + transport per session.
import { randomUUID } from 'node:crypto';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const port = Number(process.argv[2] ?? 3400);
const app = express();
app.use(express.json());
const transports = {};

app.post('/mcp', async (req, res) => {
  const sid = req.headers['mcp-session-id'];
  let t = sid && transports[sid];
  if (!t && isInitializeRequest(req.body)) {
    t = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        transports[id] = t;
      },
    });
    const server = new McpServer({ name: 'bench-sdk-v1', version: '1.0.0' });
    server.registerTool('echo', { description: 'Echo', inputSchema: { text: z.string() } }, async ({ text }) => ({
      content: [{ type: 'text', text }],
    }));
    await server.connect(t);
  }
  if (!t) {
    res.status(400).json({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'No session' } });
    return;
  }
  await t.handleRequest(req, res, req.body);
});
app.listen(port, '127.0.0.1');
