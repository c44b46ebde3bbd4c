/**
 * The gateway's one error type, with stable codes. Expected denials are values elsewhere
 * (see policy/); this type is for configuration and runtime failures that must stop an operation.
 * Every code is listed in the README's error table.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'PORTCULLIS_E_CONFIG_INVALID',
  CONFIG_NOT_FOUND: 'PORTCULLIS_E_CONFIG_NOT_FOUND',
  TLS_LOAD: 'PORTCULLIS_E_TLS_LOAD',
  KEY_LOAD: 'PORTCULLIS_E_KEY_LOAD',
  TOOL_LOAD: 'PORTCULLIS_E_TOOL_LOAD',
  USAGE: 'PORTCULLIS_E_USAGE',
  LISTEN: 'PORTCULLIS_E_LISTEN',
  AUDIT_UNAVAILABLE: 'PORTCULLIS_E_AUDIT_UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PortcullisError extends Error {
  readonly code: ErrorCode;
  /** Individual problems, each with the config path it concerns (for `portcullis check`). */
  readonly problems: readonly string[];

  constructor(code: ErrorCode, message: string, problems: readonly string[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = 'PortcullisError';
    this.code = code;
    this.problems = problems;
  }
}
