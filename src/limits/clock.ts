/**
 * The limiter's default clock: milliseconds on the wall-clock scale, but monotonic. It starts at
 * the process's `performance.timeOrigin` and advances with `performance.now()` (CLOCK_MONOTONIC),
 * so an NTP step of the system clock neither refuses every request (a step back leaves every
 * stored TAT in the future) nor hands out a fresh budget (a step forward).
 */
export function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}
