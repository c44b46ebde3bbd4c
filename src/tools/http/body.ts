/** Upstream response bodies: read up to a cap, or abandon without reading. */
import { Buffer } from 'node:buffer';

interface BodyStream extends AsyncIterable<Buffer> {
  on(event: 'error', listener: () => void): unknown;
  destroy(): unknown;
}

/**
 * Never reads an unwanted body: destroys the stream (the connection is not reused). undici then
 * emits an AbortError on it, which is expected and must not become an uncaught exception.
 */
export function abandon(body: BodyStream): void {
  body.on('error', () => {});
  body.destroy();
}

/** Reads the whole body if it has at most `limit` bytes; otherwise abandons it → undefined (D-17). */
export async function readCapped(body: BodyStream, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      abandon(body);
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
