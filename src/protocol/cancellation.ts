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

/** Cancelled when the response closes before it was fully written (2026-07-28: closing the stream cancels). */
export function responseCancellation(res: ServerResponse): Cancellation {
  return {
    get cancelled() {
      return res.destroyed && !res.writableFinished;
    },
    onCancel(listener) {
      const onClose = (): void => {
        if (!res.writableFinished) listener();
      };
      res.once('close', onClose);
      return () => res.off('close', onClose);
    },
  };
}

/** Cancelled when the signal aborts (a session's lifetime). */
export function signalCancellation(signal: AbortSignal): Cancellation {
  return {
    get cancelled() {
      return signal.aborted;
    },
    onCancel(listener) {
      if (signal.aborted) {
        listener();
        return noop;
      }
      signal.addEventListener('abort', listener, { once: true });
      return () => signal.removeEventListener('abort', listener);
    },
  };
}

/** Cancelled when either is. */
export function eitherCancellation(a: Cancellation, b: Cancellation): Cancellation {
  return {
    get cancelled() {
      return a.cancelled || b.cancelled;
    },
    onCancel(listener) {
      let fired = false;
      const once = (): void => {
        if (fired) return;
        fired = true;
        listener();
      };
      const offA = a.onCancel(once);
      const offB = b.onCancel(once);
      return () => {
        offA();
        offB();
      };
    },
  };
}
