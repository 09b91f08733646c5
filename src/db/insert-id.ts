/**
 * The id an INSERT generated, from the OK packet (no RETURNING, DECISIONS D8).
 * mysql2 reads that field as a *signed* 64-bit number, so ids of 2^63 and
 * above arrive negative; as BIGINT UNSIGNED they are reinterpreted here.
 */
export function insertIdOf(result: { readonly insertId?: bigint }, table: string): bigint {
  if (result.insertId === undefined) throw new Error(`INSERT INTO ${table} returned no id`);
  return BigInt.asUintN(64, result.insertId);
}
