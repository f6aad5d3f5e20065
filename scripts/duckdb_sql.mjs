// Run SQL statements with DuckDB and print each one's wall seconds as JSON:
//   NODE_PATH=BUILD/parquet-oracle/node_modules node scripts/duckdb_sql.mjs THREADS SQL [SQL...]
// Used by the benchmarks (a peer measured in the same run) and by tests (an
// independent reader/writer of Parquet and CSV).
import { createRequire } from "node:module";
import { resolve } from "node:path";
const require = createRequire(resolve(process.env.NODE_PATH) + "/");
const { DuckDBInstance } = require("@duckdb/node-api");

const [threads, ...sql] = process.argv.slice(2);
const inst = await DuckDBInstance.create(":memory:", { threads: String(threads) });
const con = await inst.connect();
const times = [];
for (const q of sql) {
    const t0 = process.hrtime.bigint();
    const r = await con.runAndReadAll(q);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (r.columnCount > 0 && !/^\s*copy/i.test(q))
        for (const row of r.getRowsJS()) console.log(JSON.stringify(row, (k, v) => (typeof v === "bigint" ? v.toString() : v)));
}
console.error(JSON.stringify({ seconds: times }));
