/**
 * `echo`: a trivial built-in tool (`module: { builtin: demo.echo }`) that returns its text.
 * Useful to check connectivity and policy end to end, and the tool the benchmark compares
 * against reference servers serving the same trivial tool.
 */
import type { ToolHandler } from '../tools/types.js';

export const echo: ToolHandler = (args) => ({
  content: [{ type: 'text', text: typeof args.text === 'string' ? args.text : '' }],
});
