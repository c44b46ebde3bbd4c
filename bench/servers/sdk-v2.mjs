/* global process */
// Reference: SDK v2 `createMcpHandler` (@modelcontextprotocol/server, 2026-07-28 stateless: a
// fresh McpServer per request), on node:http through `toNodeHandler` (@modelcontextprotocol/node).
import http from 'node:http';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { z } from 'zod';

const port = Number(process.argv[2] ?? 3500);
const factory = () => {
  const server = new McpServer({ name: 'bench-sdk-v2', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echo', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({
      content: [{ type: 'text', text }],
    }),
  );
  return server;
};
const node = toNodeHandler(createMcpHandler(factory));
http
  .createServer((req, res) => {
    if (req.url !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    void node(req, res);
  })
  .listen(port, '127.0.0.1');
