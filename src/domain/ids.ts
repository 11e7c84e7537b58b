import { randomInt } from "node:crypto";

// Time-ordered 18-digit decimal ids like ZITADEL's: 10 ms ticks since 2019-01-01 shifted left by
// 22 bits, then a per-process node number (12 bits, random at start) and a per-process sequence
// (10 bits). Ids sort by creation; two processes collide only when they drew the same node number
// and mint in the same tick with the same sequence, and writers retry with a fresh id then.
const EPOCH = Date.UTC(2019, 0, 1);
const NODE = BigInt(randomInt(0, 0x1000));
let lastTick = 0;
let sequence = 0;

export function newId(now = Date.now()): string {
  let tick = Math.floor((now - EPOCH) / 10);
  if (tick <= lastTick) {
    tick = lastTick;
    sequence += 1;
    if (sequence > 0x3ff) {
      tick += 1;
      sequence = 0;
    }
  } else {
    sequence = 0;
  }
  lastTick = tick;
  return ((BigInt(tick) << 22n) | (NODE << 10n) | BigInt(sequence)).toString();
}
