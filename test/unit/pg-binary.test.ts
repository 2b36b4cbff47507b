import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryColumnFor, binaryHeader, binaryTrailer, encodeRows, PG_TYPE_OF, warmUpEncoder, type RawColumn } from '../../lib/io/pg-binary';
import { pgColumnFor } from '../../lib/io/pg-types';

/** How format_type names the types pgColumnFor writes in CREATE TABLE. */
const FORMAT_TYPE: Record<string, string> = { timestamp: 'timestamp without time zone', timestamptz: 'timestamp with time zone' };

test('every binary encoding sends the type of the column the export creates for it', () => {
  const types = ['BOOLEAN', 'TINYINT', 'UTINYINT', 'SMALLINT', 'USMALLINT', 'INTEGER', 'UINTEGER', 'BIGINT', 'FLOAT', 'DOUBLE', 'VARCHAR', 'JSON', 'DATE', 'TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP WITH TIME ZONE', "ENUM('a', 'b')"];
  for (const t of types) {
    const binary = binaryColumnFor(t);
    assert.ok(binary, `${t} has a binary encoding`);
    const created = pgColumnFor('c', t).pgType;
    assert.equal(PG_TYPE_OF[binary.kind], FORMAT_TYPE[created] ?? created, t);
  }
  for (const t of ['DECIMAL(10,2)', 'HUGEINT', 'UBIGINT', 'UUID', 'BLOB', 'INTERVAL', 'TIME', 'TIMESTAMP_NS', 'INTEGER[]', 'STRUCT(a INTEGER)']) {
    assert.equal(binaryColumnFor(t), null, `${t} goes as CSV`);
  }
});

function column(kind: RawColumn['kind'], bytes: number[], validity: number[] | null = null): RawColumn {
  return { kind, data: Uint8Array.from(bytes), validity: validity ? Uint8Array.from(validity) : null };
}

function le64(hi: number, lo: number): number[] {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(lo, 0);
  b.writeInt32LE(hi, 4);
  return [...b];
}

test('rows are written as field count, then length and network-order value per field, -1 for NULL', () => {
  const ints = column('int4', [...Buffer.from(Int32Array.from([7, -2]).buffer)], [0b01]);
  const flags = column('bool', [1, 0]);
  const out = encodeRows([ints, flags], 2, () => new Uint8Array());
  assert.equal(out.toString('hex'), ['0002', '00000004', '00000007', '00000001', '01', '0002', 'ffffffff', '00000001', '00'].join(''));
  assert.equal(binaryHeader().toString('latin1'), 'PGCOPY\n\xff\r\n\0' + '\0'.repeat(8));
  assert.equal(binaryTrailer().toString('hex'), 'ffff');
});

test('dates and timestamps move from the 1970 epoch to 2000, across the 32-bit borrow, and keep their infinities', () => {
  const days = Buffer.alloc(12);
  days.writeInt32LE(10_957, 0); // 2000-01-01
  days.writeInt32LE(0x7fffffff, 4);
  days.writeInt32LE(-0x7fffffff, 8);
  const out = encodeRows([column('date', [...days])], 3, () => new Uint8Array());
  assert.deepEqual([out.readInt32BE(6), out.readInt32BE(16), out.readInt32BE(26)], [0, 0x7fffffff, -0x80000000]);

  const micros = [0, 946_684_800_000_000, -1]; // 1970-01-01, 2000-01-01, 1969-12-31 23:59:59.999999
  const bytes = micros.flatMap((m) => [...Buffer.from(BigInt64Array.from([BigInt(m)]).buffer)]);
  bytes.push(...le64(0x7fffffff, 0xffffffff), ...le64(-0x80000000, 1));
  const ts = encodeRows([column('timestamp', bytes)], 5, () => new Uint8Array());
  const read = (row: number) => ts.readBigInt64BE(row * 14 + 6);
  assert.deepEqual([0, 1, 2, 3, 4].map(read), [-946_684_800_000_000n, 0n, -946_684_800_000_001n, 2n ** 63n - 1n, -(2n ** 63n)]);
});

test('short strings are read in place, long ones through their pointer; jsonb gets its version byte', () => {
  const vector = Buffer.alloc(32);
  vector.writeUInt32LE(2, 0);
  vector.write('hi', 4);
  vector.writeUInt32LE(13, 16);
  const long = Buffer.from('thirteen byte');
  const pointers: number[] = [];
  const out = encodeRows([column('jsonb', [...vector])], 2, (_data, offset, length) => {
    pointers.push(offset, length);
    return long;
  });
  assert.deepEqual(pointers, [24, 13]);
  assert.equal(out.toString('latin1'), '\x00\x01\x00\x00\x00\x03\x01hi' + '\x00\x01\x00\x00\x00\x0e\x01thirteen byte');
});

test('warming the encoder up runs every kind, with and without NULLs, and changes nothing after', () => {
  const column = { kind: 'int4' as const, data: new Uint8Array([1, 0, 0, 0]), validity: null };
  const before = encodeRows([column], 1, () => new Uint8Array(0));
  assert.doesNotThrow(() => warmUpEncoder());
  assert.deepEqual(encodeRows([column], 1, () => new Uint8Array(0)), before);
});
