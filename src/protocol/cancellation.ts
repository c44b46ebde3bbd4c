/**
 * Cancellation of a request without allocating an AbortController per request: the transport
 * says when the caller went away (the response closed early, the session ended), and the tool
 * runner creates an AbortSignal only if a handler asks for one.
 */
import type { ServerResponse } from 'node:http';

export interface Cancellation {
  readonly cancelled: boolean;
  /** Calls `listener` once when the request is cancelled; returns the unsubscribe. */
  onCancel(listener: () => void): () => void;
}

const noop = (): void => undefined;

// Classes, not object literals with `get cancelled()`: a getter literal created per request made
// V8 promote the request's objects to old space (~15 % of all allocated bytes; bench/README.md).

/** Cancelled when the response closes before it was fully written (2026-07-28: closing the stream cancels). */
export function responseCancellation(res: ServerResponse): Cancellation {
  return new ResponseCancellation(res);
}

class ResponseCancellation implements Cancellation {
  readonly #res: ServerResponse;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  get cancelled(): boolean {
    return this.#res.destroyed && !this.#res.writableFinished;
  }

  onCancel(listener: () => void): () => void {
    const res = this.#res;
    const onClose = (): void => {
      if (!res.writableFinished) listener();
    };
    res.once('close', onClose);
    return () => res.off('close', onClose);
  }
}

/** Cancelled when the signal aborts (a session's lifetime). */
export function signalCancellation(signal: AbortSignal): Cancellation {
  return new SignalCancellation(signal);
}

class SignalCancellation implements Cancellation {
  readonly #signal: AbortSignal;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  get cancelled(): boolean {
    return this.#signal.aborted;
  }

  onCancel(listener: () => void): () => void {
    const signal = this.#signal;
    if (signal.aborted) {
      listener();
      return noop;
    }
    signal.addEventListener('abort', listener, { once: true });
    return () => signal.removeEventListener('abort', listener);
  }
}

/** Cancelled when either is. */
export function eitherCancellation(a: Cancellation, b: Cancellation): Cancellation {
  return new EitherCancellation(a, b);
}

class EitherCancellation implements Cancellation {
  constructor(
    private readonly a: Cancellation,
    private readonly b: Cancellation,
  ) {}

  get cancelled(): boolean {
    return this.a.cancelled || this.b.cancelled;
  }

  onCancel(listener: () => void): () => void {
    let fired = false;
    const once = (): void => {
      if (fired) return;
      fired = true;
      listener();
    };
    const offA = this.a.onCancel(once);
    const offB = this.b.onCancel(once);
    return () => {
      offA();
      offB();
    };
  }
}
