// duckdb_oracle.mjs — DuckDB (@duckdb/node-api) as the reference for the
// Parquet codec tests. Used only by tests; the product never runs node.
//   node duckdb_oracle.mjs write OUT 'SELECT ...' 'OPTIONS'   COPY ... TO OUT (FORMAT parquet, OPTIONS)
//   node duckdb_oracle.mjs dump FILE      every value as pqdump dump prints it
//   node duckdb_oracle.mjs query 'SQL'    rows, tab-separated (NULL for null)
// One thread, rows in file order (file_row_number), so output is stable.
import { DuckDBInstance } from '@duckdb/node-api';

const [cmd, a1, a2, a3] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRows();
const q = (s) => "'" + String(s).replaceAll("'", "''") + "'";
const id = (s) => '"' + String(s).replaceAll('"', '""') + '"';

const buf = new DataView(new ArrayBuffer(8));
const f64bits = (x) => {
  buf.setFloat64(0, x, true);
  return buf.getBigUint64(0, true).toString(16).padStart(16, '0');
};
const f32bits = (x) => {
  buf.setFloat32(0, x, true);
  return buf.getUint32(0, true).toString(16).padStart(8, '0');
};
const text = (v) => (v === null || v === undefined ? 'NULL' : typeof v === 'object' ? String(v) : String(v));

// Numbers as mpiscore reads them: dates in days, timestamps in their unit.
function numExpr(col, type, unit) {
  const c = id(col);
  if (type.startsWith('TIMESTAMP') && unit) return `epoch_${unit}(${c})`;
  if (type === 'BOOLEAN') return `${c}::INTEGER`;
  if (type === 'DATE') return `(${c} - DATE '1970-01-01')`;
  if (type === 'TIMESTAMP_NS') return `epoch_ns(${c})`;
  if (type === 'TIMESTAMP_MS') return `epoch_ms(${c})`;
  if (type === 'TIMESTAMP_S') return `epoch(${c})::BIGINT`;
  if (type.startsWith('TIMESTAMP')) return `epoch_us(${c})`;
  return c;
}

async function dump(file) {
  const src = `read_parquet(${q(file)}, file_row_number = true)`;
  const cols = (await rows(`DESCRIBE SELECT * FROM read_parquet(${q(file)})`)).map((r) => [r[0], r[1]]);
  // the unit the file stores (DuckDB reads TIMESTAMP(MILLIS) as microseconds)
  const units = {};
  for (const [n, conv, logical] of await rows(
    `SELECT name, converted_type, logical_type FROM parquet_schema(${q(file)})`)) {
    const l = String(logical ?? '') + String(conv ?? '');
    if (/MILLIS=MilliSeconds|TIMESTAMP_MILLIS/.test(l)) units[n] = 'ms';
    else if (/NANOS=NanoSeconds/.test(l)) units[n] = 'ns';
    else if (/MICROS=MicroSeconds|TIMESTAMP_MICROS/.test(l)) units[n] = 'us';
  }
  const out = [];
  for (const [name, type] of cols) {
    const isBytes = type === 'VARCHAR' || type === 'BLOB' || type === 'UUID';
    const kinds = [];
    if (isBytes) {
      const e = type === 'UUID' ? `replace(${id(name)}::VARCHAR, '-', '')` : `lower(hex(${id(name)}))`;
      kinds.push(['s', e], ['d', e]);
    } else {
      const n = numExpr(name, type, units[name]);
      kinds.push(['f64', `(${n})::DOUBLE`], ['f32', `(${n})::FLOAT`]);
      if (!(type === 'FLOAT' || type === 'DOUBLE' || type.startsWith('DECIMAL')))
        kinds.push(['i64', `(${n})::BIGINT::VARCHAR`]);
    }
    for (const [k, e] of kinds) {
      for (const r of await rows(`SELECT ${e} FROM ${src} ORDER BY file_row_number`)) {
        const v = r[0];
        let s;
        if (v === null) s = 'NULL';
        else if (k === 'f64') s = f64bits(v);
        else if (k === 'f32') s = f32bits(v);
        else s = String(v);
        out.push(`${name}\t${k}\t${s}`);
      }
    }
  }
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
}

if (cmd === 'write') {
  await con.run(`COPY (${a2}) TO ${q(a1)} (FORMAT parquet${a3 ? ', ' + a3 : ''})`);
} else if (cmd === 'dump') {
  await dump(a1);
} else if (cmd === 'query') {
  const out = (await rows(a1)).map((r) => r.map(text).join('\t'));
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
} else {
  console.error('usage: duckdb_oracle.mjs write|dump|query ...');
  process.exit(1);
}
