/**
 * Seeded randomness for the engine tests (DECISIONS D13): the seed comes from
 * ENGINE_TEST_SEED or the clock, is printed, and reproduces a run.
 */

/** mulberry32: small, fast, good enough for test workloads. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for one test, printed with its name so a failure can be replayed. */
export function testSeed(name: string): number {
  const fromEnv = process.env["ENGINE_TEST_SEED"];
  const seed = fromEnv !== undefined ? Number(fromEnv) : Date.now() % 2_147_483_647;
  console.log(`[engine test] ${name}: seed=${seed} (replay with ENGINE_TEST_SEED=${seed})`);
  return seed;
}
