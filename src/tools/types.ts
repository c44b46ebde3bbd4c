/**
 * What a tool is, to the gateway: its definition from config, compiled once at start,
 * and the handler contract for in-process (`module`) backends.
 */
import type { Principal } from '../auth/principal.js';

/** A content block of a tool result (MCP `ContentBlock`, the subset the gateway produces). */
export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; data: string; mimeType: string }
  | { type: 'audio'; data: string; mimeType: string }
  | { type: 'resource_link'; uri: string; name: string; mimeType?: string; description?: string };

/** Key of an `isError` result's internal reason (for the audit); a symbol, so never serialised. */
export const FAILURE_REASON: unique symbol = Symbol('portcullis.failureReason');

/** MCP `CallToolResult`. */
export interface ToolResult {
  content: ContentBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  readonly [FAILURE_REASON]?: string;
}

export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical' | 'alert' | 'emergency';

/** The answer a handler gets when it asks the client's user for input (elicitation). */
export interface ElicitationAnswer {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, unknown>;
}

/** What an in-process tool handler receives besides its validated arguments. */
export interface ToolContext {
  readonly principal: Principal;
  /** Aborted when the call times out or the client goes away. */
  readonly signal: AbortSignal;
  /** Correlation id of this request; appears in logs and error answers. */
  readonly requestId: string;
  /** Sends an MCP log message (`notifications/message`) to the calling client, if it listens. */
  log: (level: LogLevel, data: unknown) => void;
  /** Sends a progress notification when the caller asked for progress. */
  progress: (progress: number, total?: number, message?: string) => void;
}

/** An in-process tool implementation. Arguments are already validated against the tool's schema. */
export type ToolHandler = (args: Record<string, unknown>, ctx: ToolContext) => Promise<ToolResult> | ToolResult;
