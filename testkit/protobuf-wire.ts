/** Hand-made protobuf wire bytes, for tests that send requests no generated encoder would write. */

/** A base-128 varint, as protobuf writes lengths and tags. */
export function varint(value: number): number[] {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
  return out;
}

/** A length-delimited field (wire type 2): tag, length, bytes. */
export function lengthDelimitedField(fieldNumber: number, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([...varint((fieldNumber << 3) | 2), ...varint(bytes.length)]), bytes]);
}
