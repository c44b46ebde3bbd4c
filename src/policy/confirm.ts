/**
 * Confirmation of destructive tools (SEC-AZ-07). Today: the call must carry `confirm: true`,
 * which the audit records as asserted by the model, not by a person. The `ConfirmationStrategy`
 * seam is where human approval through elicitation (InputRequiredResult on 2026-07-28,
 * `elicitation/create` on 2025 sessions) plugs in.
 */

export type ConfirmDecision =
  { ok: true; assertedBy: 'model' | 'user' } | { ok: false; reason: 'confirmation_required' };

export interface ConfirmationStrategy {
  confirm(toolName: string, args: Readonly<Record<string, unknown>>): ConfirmDecision;
}

export const confirmFlagStrategy: ConfirmationStrategy = {
  confirm(_toolName, args) {
    return args.confirm === true ? { ok: true, assertedBy: 'model' } : { ok: false, reason: 'confirmation_required' };
  },
};
