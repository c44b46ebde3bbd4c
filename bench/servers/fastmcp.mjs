/* global process */
// Reference: FastMCP (npm `fastmcp`), httpStream transport, 2025 sessions, JSON responses.
import { FastMCP } from 'fastmcp';
import { z } from 'zod';

const port = Number(process.argv[2] ?? 3600);
const server = new FastMCP({ name: 'bench-fastmcp', version: '1.0.0' });
server.addTool({
  name: 'echo',
  description: 'Echo',
  parameters: z.object({ text: z.string() }),
  execute: async ({ text }) => text,
});
await server.start({ transportType: 'httpStream', httpStream: { port, host: '127.0.0.1', enableJsonResponse: true } });
