// Clock nanoseconds to and from the ticks of a fixed-rate input clock (the PIT's 1.193182 MHz, the PM timer's
// 3.579545 MHz). ns * hz passes 2^53 after an hour or so, so whole seconds and the remainder are converted
// apart: exact for any time the Clock can express.

const NS_PER_S = 1e9;

/** Whole ticks of an `hz` clock in `ns` nanoseconds. */
export function ticksIn(ns: number, hz: number): number {
  const seconds = Math.floor(ns / NS_PER_S);
  const rest = ns - seconds * NS_PER_S;
  return seconds * hz + Math.floor((rest * hz) / NS_PER_S);
}

/** The first nanosecond (an integer) at which ticksIn reaches `ticks`. */
export function nsAtTick(ticks: number, hz: number): number {
  const seconds = Math.floor(ticks / hz);
  const rest = ticks - seconds * hz;
  let ns = seconds * NS_PER_S + Math.ceil((rest * NS_PER_S) / hz);
  // The division rounds; step onto the exact first nanosecond.
  while (ticksIn(ns - 1, hz) >= ticks) ns--;
  while (ticksIn(ns, hz) < ticks) ns++;
  return ns;
}
