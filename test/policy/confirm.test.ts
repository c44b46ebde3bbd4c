/**
 * The confirmation strategy (SEC-AZ-07): who may confirm a destructive call on each channel, and
 * what the user is asked. The wire round trips are in test/integration/confirm.test.ts and
 * test/security/confirm.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { principalKey } from '../../src/auth/principal.js';
import type { Principal } from '../../src/auth/principal.js';
import {
  CONFIRM_INPUT_KEY,
  canElicitForm,
  confirmationMessage,
  createConfirmation,
  elicitationParams,
  judge,
  modernChannel,
} from '../../src/policy/confirm.js';
import type { ClientAnswer, ConfirmCall, ConfirmDecision, InputRequired } from '../../src/policy/confirm.js';

const principal = (user = 'carol'): Principal => ({
  issuer: 'urn:test',
  user,
  tenant: 'acme',
  roles: ['admin'],
  scopes: new Set(),
  expiresAt: 0,
  key: principalKey('urn:test', user, 'acme'),
});
const ELICIT = { elicitation: {} };
const args = { tenantId: 'acme', confirm: true };

function mrtr(params: Record<string, unknown>, caps: Record<string, unknown> = ELICIT, user = 'carol'): ConfirmCall {
  return { principal: principal(user), shownArgs: args, channel: modernChannel(params, caps) };
}

function inputRequired(d: ConfirmDecision): InputRequired {
  if (d.ok || d.reason !== 'input_required') throw new Error(`expected input_required, got ${JSON.stringify(d)}`);
  return d.inputRequired;
}

const accept = { [CONFIRM_INPUT_KEY]: { action: 'accept', content: { confirm: true } } };

describe('which clients can be asked', () => {
  it.each([
    [{ elicitation: {} }, true],
    [{ elicitation: { form: {} } }, true],
    [{ elicitation: { form: {}, url: {} } }, true],
    [{ elicitation: { url: {} } }, false],
    [{ elicitation: true }, false],
    [{ elicitation: null }, false],
    [{ sampling: {} }, false],
    [{}, false],
  ])('%j → form elicitation %s', (caps, expected) => {
    expect(canElicitForm(caps)).toBe(expected);
  });
});

describe('what the user is asked', () => {
  it('a form with one boolean, naming the tool and the (redacted) arguments', () => {
    const p = elicitationParams('deprovision_tenant', { tenantId: 'acme', apiKey: '[redacted]' }, true);
    expect(p).toMatchObject({ mode: 'form', requestedSchema: { type: 'object', required: ['confirm'] } });
    const schema = p.requestedSchema as { properties: Record<string, { type: string }> };
    expect(Object.keys(schema.properties)).toEqual(['confirm']);
    expect(schema.properties.confirm?.type).toBe('boolean');
    expect(p.message).toContain('deprovision_tenant');
    expect(p.message).toContain('"apiKey":"[redacted]"');
    expect(elicitationParams('t', {}, false)).not.toHaveProperty('mode');
    expect(String(elicitationParams('t', { s: 'x'.repeat(10_000) }, false).message).length).toBeLessThan(2200);
  });

  it('only accept with confirm: true allows', () => {
    expect(judge({ action: 'accept', content: { confirm: true } })).toEqual({ ok: true, assertedBy: 'user' });
    expect(judge({ action: 'accept', content: { confirm: false } })).toEqual({
      ok: false,
      reason: 'confirmation_declined',
    });
    expect(judge({ action: 'accept', content: { confirm: 'true' } })).toMatchObject({ ok: false });
    expect(judge({ action: 'accept' })).toMatchObject({ ok: false });
    expect(judge({ action: 'decline', content: { confirm: true } })).toEqual({
      ok: false,
      reason: 'confirmation_declined',
    });
    expect(judge({ action: 'cancel' })).toEqual({ ok: false, reason: 'confirmation_cancelled' });
    for (const bad of [null, 'accept', [], { action: 'ACCEPT' }, {}]) {
      expect(judge(bad)).toEqual({ ok: false, reason: 'confirmation_answer_invalid' });
    }
  });

  it('every denial has a message naming the tool', () => {
    for (const reason of [
      'confirmation_required',
      'confirmation_declined',
      'confirmation_cancelled',
      'confirmation_unavailable',
      'confirmation_timeout',
      'confirmation_answer_invalid',
      'confirmation_state_invalid',
      'confirmation_state_mismatch',
      'confirmation_expired',
      'confirmation_replayed',
    ] as const) {
      expect(confirmationMessage(reason, 'drop_db')).toContain("'drop_db'");
    }
  });
});

describe('2026-07-28: InputRequiredResult and requestState', () => {
  const strategy = () => createConfirmation({ ttlMs: 60_000 });

  it('asks first, then runs on the retry that carries the state and an accept', async () => {
    const s = strategy();
    const ask = inputRequired(await s.confirm('t', args, mrtr({})));
    expect(ask.inputRequests[CONFIRM_INPUT_KEY]).toMatchObject({
      method: 'elicitation/create',
      params: { mode: 'form' },
    });
    const d = await s.confirm('t', args, mrtr({ requestState: ask.requestState, inputResponses: accept }));
    expect(d).toEqual({ ok: true, assertedBy: 'user' });
  });

  it('the model cannot forge the answer: an accept without the state is asked again', async () => {
    const d = await createConfirmation({ ttlMs: 60_000 }).confirm('t', args, mrtr({ inputResponses: accept }));
    expect(inputRequired(d).requestState).toMatch(/^v1\./);
  });

  it('with elicitation, confirm: true is not enough; without it, the flag decides', async () => {
    const s = strategy();
    expect(await s.confirm('t', { confirm: true }, mrtr({}))).toMatchObject({ reason: 'input_required' });
    expect(await s.confirm('t', { confirm: true }, mrtr({}, {}))).toEqual({ ok: true, assertedBy: 'model' });
    expect(await s.confirm('t', { confirm: false }, mrtr({}, {}))).toEqual({
      ok: false,
      reason: 'confirmation_required',
    });
    expect(await s.confirm('t', { confirm: true })).toEqual({ ok: true, assertedBy: 'model' });
  });

  it('a state without the answer is spent and the user asked again', async () => {
    const s = strategy();
    const first = inputRequired(await s.confirm('t', args, mrtr({})));
    const again = inputRequired(await s.confirm('t', args, mrtr({ requestState: first.requestState })));
    expect(again.requestState).not.toBe(first.requestState);
    expect(await s.confirm('t', args, mrtr({ requestState: first.requestState, inputResponses: accept }))).toEqual({
      ok: false,
      reason: 'confirmation_replayed',
    });
  });

  it('Z-26 a state is bound to the principal, tool and arguments, and single-use', async () => {
    const s = strategy();
    const state = async () => inputRequired(await s.confirm('t', args, mrtr({}))).requestState;
    const retry = (requestState: string, o: { user?: string; tool?: string; a?: Record<string, unknown> } = {}) =>
      s.confirm(o.tool ?? 't', o.a ?? args, mrtr({ requestState, inputResponses: accept }, ELICIT, o.user));
    expect(await retry(await state(), { user: 'erin' })).toMatchObject({ reason: 'confirmation_state_mismatch' });
    expect(await retry(await state(), { tool: 'u' })).toMatchObject({ reason: 'confirmation_state_mismatch' });
    expect(await retry(await state(), { a: { ...args, tenantId: 'globex' } })).toMatchObject({
      reason: 'confirmation_state_mismatch',
    });
    const once = await state();
    expect(await retry(once)).toEqual({ ok: true, assertedBy: 'user' });
    expect(await retry(once)).toEqual({ ok: false, reason: 'confirmation_replayed' });
  });
});

describe('sessions: elicitation/create on the call stream', () => {
  function session(answer: ClientAnswer) {
    const asked: Record<string, unknown>[] = [];
    const call: ConfirmCall = {
      principal: principal(),
      shownArgs: args,
      channel: {
        kind: 'elicit',
        withMode: false,
        ask: (_method, params) => {
          asked.push(params);
          return Promise.resolve(answer);
        },
      },
    };
    return { asked, run: () => createConfirmation({ ttlMs: 60_000 }).confirm('t', args, call) };
  }

  it('the user decides, whatever the model put in confirm', async () => {
    const yes = session({ ok: true, result: { action: 'accept', content: { confirm: true } } });
    expect(await yes.run()).toEqual({ ok: true, assertedBy: 'user' });
    expect(yes.asked).toHaveLength(1);
    expect(yes.asked[0]).not.toHaveProperty('mode');
    expect(await session({ ok: true, result: { action: 'decline' } }).run()).toEqual({
      ok: false,
      reason: 'confirmation_declined',
    });
  });

  it('no answer is no confirmation', async () => {
    expect(await session({ ok: false, reason: 'timeout' }).run()).toEqual({
      ok: false,
      reason: 'confirmation_timeout',
    });
    for (const reason of ['unavailable', 'error', 'cancelled'] as const) {
      expect(await session({ ok: false, reason }).run()).toEqual({ ok: false, reason: 'confirmation_unavailable' });
    }
  });
});
