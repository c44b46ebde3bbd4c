/**
 * Confirmation of destructive tools (SEC-AZ-07, DESIGN "Tools"). Where the client can ask its
 * user (it declared form-mode `elicitation`), the gateway asks the human and binds the answer to
 * the exact call and principal:
 * - 2026-07-28: an `InputRequiredResult` carrying an `elicitation/create` input request and a
 *   sealed `requestState` (confirmState.ts); the retry must carry the user's answer and that state
 *   (basic/patterns/mrtr.mdx);
 * - 2025 and 2024 sessions: an `elicitation/create` request on the call's own stream, whose answer
 *   must come back on the same session (hence the same principal) with the pending request's id.
 * Otherwise the call must carry `confirm: true`, recorded as asserted by the model, not a person.
 * With elicitation available the `confirm` argument is neither needed nor enough.
 */
import type { Principal } from '../auth/principal.js';
import { createConfirmStateCodec } from './confirmState.js';
import type { StateRejection } from './confirmState.js';

export type ConfirmedBy = 'model' | 'user';

export type ConfirmDenial =
  /** No elicitation: the call did not carry `confirm: true`. */
  | 'confirmation_required'
  | 'confirmation_declined'
  | 'confirmation_cancelled'
  /** The answer was not an elicitation result. */
  | 'confirmation_answer_invalid'
  /** The question could not be put or answered (no stream, client error, call gone, too many pending). */
  | 'confirmation_unavailable'
  | 'confirmation_timeout'
  | StateRejection;

/** The `InputRequiredResult` body (without `resultType`) that asks the user. */
export interface InputRequired {
  inputRequests: Record<string, unknown>;
  requestState: string;
}

export type ConfirmDecision =
  | { ok: true; assertedBy: ConfirmedBy }
  | { ok: false; reason: ConfirmDenial }
  | { ok: false; reason: 'input_required'; inputRequired: InputRequired };

/** The client's answer to a server→client request on a session. */
export type ClientAnswer =
  { ok: true; result: unknown } | { ok: false; reason: 'unavailable' | 'error' | 'cancelled' | 'timeout' };

/** How this call can reach the user. */
export type ConfirmChannel =
  | { readonly kind: 'none' }
  /** 2026-07-28: the request's `requestState` and `inputResponses`, as received. */
  | {
      readonly kind: 'mrtr';
      readonly canElicit: boolean;
      readonly requestState: unknown;
      readonly inputResponses: unknown;
    }
  /** A session: sends `elicitation/create` on the call's stream and waits for the answer. */
  | {
      readonly kind: 'elicit';
      /** 2025-11-25 and later name the form mode; older revisions have no `mode`. */
      readonly withMode: boolean;
      ask(method: 'elicitation/create', params: Record<string, unknown>, timeoutMs: number): Promise<ClientAnswer>;
    };

export interface ConfirmCall {
  readonly principal: Principal;
  /** The arguments as the audit shows them (redacted): what the user is asked about. */
  readonly shownArgs: unknown;
  readonly channel: ConfirmChannel;
}

export interface ConfirmationStrategy {
  confirm(
    toolName: string,
    args: Readonly<Record<string, unknown>>,
    call?: ConfirmCall,
  ): ConfirmDecision | Promise<ConfirmDecision>;
}

/** The fallback when no one can be asked: `confirm: true`, asserted by the model. */
export const confirmFlagStrategy: ConfirmationStrategy = {
  confirm(_toolName, args) {
    return args.confirm === true ? { ok: true, assertedBy: 'model' } : { ok: false, reason: 'confirmation_required' };
  },
};

export const NO_CHANNEL: ConfirmChannel = { kind: 'none' };

/** The `inputRequests` key of the question (server-assigned, unique within the request). */
export const CONFIRM_INPUT_KEY = 'confirm';

const MAX_SHOWN_CHARS = 2000;

export interface ConfirmationOptions {
  /** How long the user has to answer, and how long a `requestState` lives. */
  ttlMs: number;
  now?: () => number;
  /** HMAC key of `requestState` (default: 32 random bytes per gateway). */
  key?: Buffer;
}

/** The gateway's strategy: ask the user where the channel allows it, else the flag. */
export function createConfirmation(opts: ConfirmationOptions): ConfirmationStrategy {
  const codec = createConfirmStateCodec({
    ttlMs: opts.ttlMs,
    ...(opts.now && { now: opts.now }),
    ...(opts.key && { key: opts.key }),
  });

  function inputRequired(tool: string, args: Readonly<Record<string, unknown>>, call: ConfirmCall): ConfirmDecision {
    return {
      ok: false,
      reason: 'input_required',
      inputRequired: {
        inputRequests: {
          [CONFIRM_INPUT_KEY]: { method: 'elicitation/create', params: elicitationParams(tool, call.shownArgs, true) },
        },
        requestState: codec.mint({ principalKey: call.principal.key, tool, args }),
      },
    };
  }

  return {
    async confirm(tool, args, call) {
      const channel = call?.channel ?? NO_CHANNEL;
      if (call === undefined || channel.kind === 'none') return confirmFlagStrategy.confirm(tool, args);
      if (channel.kind === 'mrtr') {
        // An answer without our sealed state is worth nothing: anyone can write `inputResponses`.
        if (channel.requestState === undefined) {
          return channel.canElicit ? inputRequired(tool, args, call) : confirmFlagStrategy.confirm(tool, args);
        }
        const check = codec.redeem(channel.requestState, { principalKey: call.principal.key, tool, args });
        if (!check.ok) return { ok: false, reason: check.reason };
        const answer = entry(channel.inputResponses, CONFIRM_INPUT_KEY);
        // mrtr.mdx: missing input is asked for again rather than refused.
        if (answer === undefined) {
          return channel.canElicit
            ? inputRequired(tool, args, call)
            : { ok: false, reason: 'confirmation_answer_invalid' };
        }
        return judge(answer);
      }
      const answer = await channel.ask(
        'elicitation/create',
        elicitationParams(tool, call.shownArgs, channel.withMode),
        opts.ttlMs,
      );
      if (answer.ok) return judge(answer.result);
      return { ok: false, reason: answer.reason === 'timeout' ? 'confirmation_timeout' : 'confirmation_unavailable' };
    },
  };
}

/**
 * The question: form mode, a single boolean (elicitation.mdx: no sensitive information through
 * form mode), with the tool and its redacted arguments so the user sees what they allow.
 */
export function elicitationParams(tool: string, shownArgs: unknown, withMode: boolean): Record<string, unknown> {
  let shown = JSON.stringify(shownArgs ?? {}) ?? '{}';
  if (shown.length > MAX_SHOWN_CHARS) shown = `${shown.slice(0, MAX_SHOWN_CHARS)}…`;
  return {
    ...(withMode && { mode: 'form' }),
    message: `Allow "${tool}"? It is a destructive action that your assistant asked Portcullis to run for you.\nArguments: ${shown}`,
    requestedSchema: {
      type: 'object',
      properties: {
        confirm: {
          type: 'boolean',
          title: 'Allow this action',
          description: `Run ${tool} once, with exactly the arguments shown`,
          default: false,
        },
      },
      required: ['confirm'],
    },
  };
}

/** An `ElicitResult`: accept with `confirm: true` allows; anything else does not. */
export function judge(answer: unknown): ConfirmDecision {
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) {
    return { ok: false, reason: 'confirmation_answer_invalid' };
  }
  const r = answer as Record<string, unknown>;
  switch (r.action) {
    case 'accept':
      return entry(r.content, 'confirm') === true
        ? { ok: true, assertedBy: 'user' }
        : { ok: false, reason: 'confirmation_declined' };
    case 'decline':
      return { ok: false, reason: 'confirmation_declined' };
    case 'cancel':
      return { ok: false, reason: 'confirmation_cancelled' };
    default:
      return { ok: false, reason: 'confirmation_answer_invalid' };
  }
}

/**
 * True when these client capabilities allow a form-mode elicitation: `elicitation: {}` means form
 * (backwards compatibility); otherwise `form` must be declared (elicitation.mdx "Capabilities").
 */
export function canElicitForm(capabilities: Readonly<Record<string, unknown>>): boolean {
  const e = capabilities.elicitation;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return false;
  const modes = e as Record<string, unknown>;
  if (modes.form === undefined && modes.url === undefined) return true;
  return modes.form !== null && typeof modes.form === 'object';
}

/** The 2026-07-28 channel of a `tools/call`: its echoed state and answers, if any. */
export function modernChannel(
  params: Readonly<Record<string, unknown>>,
  capabilities: Readonly<Record<string, unknown>>,
): ConfirmChannel {
  const canElicit = canElicitForm(capabilities);
  const requestState = params.requestState;
  if (!canElicit && requestState === undefined) return NO_CHANNEL;
  return { kind: 'mrtr', canElicit, requestState, inputResponses: params.inputResponses };
}

/** The message a model gets when a destructive call was not run (RC-17; details stay in the audit). */
export function confirmationMessage(reason: ConfirmDenial, tool: string): string {
  switch (reason) {
    case 'confirmation_required':
      return `'${tool}' is destructive and needs explicit confirmation: ask the user, then call again with "confirm": true`;
    case 'confirmation_declined':
      return `The user declined '${tool}'; it was not run`;
    case 'confirmation_cancelled':
      return `The user dismissed the confirmation of '${tool}'; it was not run`;
    case 'confirmation_unavailable':
    case 'confirmation_timeout':
    case 'confirmation_answer_invalid':
      return `The user's confirmation of '${tool}' could not be obtained; it was not run`;
    case 'confirmation_state_invalid':
    case 'confirmation_state_mismatch':
    case 'confirmation_expired':
    case 'confirmation_replayed':
      return `This confirmation is not valid for this call of '${tool}' (expired, already used, or given for another call); it was not run. Call the tool again to ask the user`;
  }
}

function entry(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  return Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}
