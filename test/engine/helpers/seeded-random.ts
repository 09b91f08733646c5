/**
 * Seeded randomness for the engine tests (DECISIONS D13): the seed comes from
 * ENGINE_TEST_SEED or the clock, is printed, and reproduces a run.
 */
export { seededRandom } from "../../../src/core/seeded-random.ts";

/** A seed for one test, printed with its name so a failure can be replayed. */
export function testSeed(name: string): number {
  const fromEnv = process.env["ENGINE_TEST_SEED"];
  const seed = fromEnv !== undefined ? Number(fromEnv) : Date.now() % 2_147_483_647;
  console.log(`[engine test] ${name}: seed=${seed} (replay with ENGINE_TEST_SEED=${seed})`);
  return seed;
}
