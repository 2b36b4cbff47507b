/**
 * Deterministic NYC green taxi trips in the TLC 2020 CSV schema, written as CSV.gz. The demo uses
 * it as an offline stand-in for downloading the real files; the benchmark uses it for any size.
 * Shape: ~10% of rows have passenger_count 0, ~5% trip_distance 0, ~35% are "no-LPEP" rows whose
 * vendor, rate code, passenger count, payment and trip type are empty; so the homework's filter
 * keeps about half of the rows, as with the real Q4-2020 data.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
// Types only (erased when a block is bundled): the options ctx.io.read takes.
import type { ReadOptions } from '../../../lib/kernel/block-api';
import { createGzip } from 'node:zlib';

export const HEADER =
  'VendorID,lpep_pickup_datetime,lpep_dropoff_datetime,store_and_fwd_flag,RatecodeID,PULocationID,DOLocationID,' +
  'passenger_count,trip_distance,fare_amount,extra,mta_tax,tip_amount,tolls_amount,ehail_fee,improvement_surcharge,' +
  'total_amount,payment_type,trip_type,congestion_surcharge\n';

/** How the homework reads the files: the TLC 2020 schema's explicit types and its timestamp format. */
export const GREEN_TAXI_READ: ReadOptions = {
  timestampFormat: '%Y-%m-%d %H:%M:%S',
  columns: {
    VendorID: 'BIGINT', lpep_pickup_datetime: 'TIMESTAMP', lpep_dropoff_datetime: 'TIMESTAMP',
    store_and_fwd_flag: 'VARCHAR', RatecodeID: 'BIGINT', PULocationID: 'BIGINT', DOLocationID: 'BIGINT',
    passenger_count: 'BIGINT', trip_distance: 'DOUBLE', fare_amount: 'DOUBLE', extra: 'DOUBLE',
    mta_tax: 'DOUBLE', tip_amount: 'DOUBLE', tolls_amount: 'DOUBLE', ehail_fee: 'DOUBLE',
    improvement_surcharge: 'DOUBLE', total_amount: 'DOUBLE', payment_type: 'BIGINT', trip_type: 'BIGINT',
    congestion_surcharge: 'DOUBLE',
  },
};

/** Real row counts of the 2020 Q4 green taxi files. */
export const REAL_ROWS: Record<string, number> = { '2020-10': 95120, '2020-11': 88605, '2020-12': 83130 };

/** mulberry32: tiny, fast, and the same sequence on every machine for a seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const two = (n: number) => (n < 10 ? `0${n}` : String(n));
const money = (cents: number) => String(Math.round(cents) / 100);

function timestamp(base: number, seconds: number): string {
  const d = new Date(base + seconds * 1000);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

export async function writeGreenTaxiCsv(file: string, month: string, rows: number, seed = 1): Promise<void> {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  if (!match) throw new Error(`month must be YYYY-MM, got "${month}"`);
  const year = Number(match[1]);
  const mon = Number(match[2]);
  const base = Date.UTC(year, mon - 1, 1);
  const monthSeconds = (Date.UTC(year, mon, 1) - base) / 1000;
  const random = rng(seed * 1000003 + year * 100 + mon);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const sink = createWriteStream(tmp);
  const gzip = createGzip({ level: 1 });
  gzip.pipe(sink);
  gzip.write(HEADER);
  // Pickups in time order, as in the real files.
  const step = monthSeconds / Math.max(rows, 1);
  let buffer = '';
  for (let i = 0; i < rows; i++) {
    const pickup = Math.floor(i * step + random() * step);
    const noLpep = random() < 0.35;
    const distance = random() < 0.05 ? 0 : Math.round(Math.exp(random() * 2.2 - 0.2) * 100) / 100;
    const duration = Math.floor(60 + distance * 200 + random() * 600);
    const dropoff = Math.min(pickup + duration, monthSeconds - 1);
    const fare = Math.max(250, Math.round(250 + distance * 250 + duration * 0.5));
    const extra = random() < 0.4 ? 50 : 0;
    const tip = random() < 0.3 ? Math.round(fare * 0.15) : 0;
    const tolls = random() < 0.03 ? 612 : 0;
    const congestion = random() < 0.17 ? 275 : 0;
    const total = fare + extra + 50 + tip + tolls + 30 + congestion;
    const pu = 1 + Math.floor(random() * 265);
    const dz = 1 + Math.floor(random() * 265);
    if (noLpep) {
      buffer += `,${timestamp(base, pickup)},${timestamp(base, dropoff)},,,${pu},${dz},,${distance},${money(fare)},${money(extra)},0.5,${money(tip)},${money(tolls)},,0.3,${money(total)},,,${money(congestion)}\n`;
    } else {
      const vendor = random() < 0.8 ? 2 : 1;
      const passengers = random() < 0.154 ? 0 : 1 + Math.floor(random() * random() * 6);
      const payment = random() < 0.55 ? 1 : 2;
      const rate = random() < 0.95 ? 1 : 5;
      buffer += `${vendor},${timestamp(base, pickup)},${timestamp(base, dropoff)},N,${rate},${pu},${dz},${passengers},${distance},${money(fare)},${money(extra)},0.5,${money(tip)},${money(tolls)},,0.3,${money(total)},${payment},1,${money(congestion)}\n`;
    }
    if (buffer.length > 1 << 20) {
      if (!gzip.write(buffer)) await once(gzip, 'drain');
      buffer = '';
    }
  }
  gzip.end(buffer);
  await once(sink, 'finish');
  await fs.rename(tmp, file);
}

/** Makes sure `green_tripdata_<month>.csv.gz` exists for each month; returns the file paths. */
export async function ensureGreenTaxiFiles(dir: string, months: readonly string[], rowsPerMonth?: number): Promise<string[]> {
  const files: string[] = [];
  for (const month of months) {
    const file = path.join(dir, `green_tripdata_${month}.csv.gz`);
    try {
      await fs.access(file);
    } catch {
      await writeGreenTaxiCsv(file, month, rowsPerMonth ?? REAL_ROWS[month] ?? 90000);
    }
    files.push(file);
  }
  return files;
}
