/**
 * The error a `commit()` rejects with when its event cannot be made durable. Callers fail
 * closed on it (SEC-AUD-05, O-09): the tool does not run and the client gets RC-20 with the
 * correlation id; the reason stays in the logs.
 */

/** Why an audit event could not be stored. */
export type AuditUnavailableReason = 'sink_failed' | 'queue_full' | 'closed' | 'invalid_event';

import { ErrorCodes } from '../errors.js';

/** Stable code, for the README's error table. */
export const AUDIT_UNAVAILABLE = ErrorCodes.AUDIT_UNAVAILABLE;

/** An audit event could not be stored; the operation that needed it must not proceed. */
export class AuditUnavailableError extends Error {
  override readonly name = 'AuditUnavailableError';
  readonly code = AUDIT_UNAVAILABLE;

  constructor(
    readonly reason: AuditUnavailableReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
