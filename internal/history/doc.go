// Package history is salesdag's local audit log: every run's OpenLineage
// events, recorded as they are emitted, and the queries behind
// `salesdag lineage runs|show|column|node`.
//
// # Why bbolt
//
// The log must be append-only and crash-safe, survive several salesdag
// processes writing at once, and answer "the last 20 runs" instantly with
// thousands of runs recorded. A JSON-lines file per run is crash-safe
// enough but makes every listing read (or index) every file; SQLite would
// need cgo or a large pure-Go port. bbolt (go.etcd.io/bbolt) is one file,
// pure Go, with ACID transactions (copy-on-write B+tree, two meta pages,
// fsync on commit: a crash leaves the last committed state, never a torn
// one) and ordered keys, so the newest runs are a reverse cursor walk over
// a start-time index.
//
// bbolt lets one process write at a time and holds an exclusive file lock
// while a read-write handle is open. The Recorder therefore never keeps
// the database open: a background goroutine takes whatever events are
// queued, opens the file, writes them in one transaction and closes it
// again (group commit), while Emit itself never blocks the pipeline.
// Writers first take an exclusive flock on history.db.lock and wait for it
// in the kernel: bbolt retries its own lock only every 50 ms, which lets a
// busy writer starve a waiting one. Readers open the database read-only
// (a shared lock) for the few milliseconds a query takes; a writer that
// meets one backs off briefly and tries again.
//
// # Layout
//
//	meta      "schema" -> format version
//	runs      run id (16 bytes) -> Run summary (JSON)
//	events    run id (16 bytes) + seq (8 bytes, big-endian) -> event JSON, compressed (compress.go)
//	by_start  start time (8 bytes, big-endian ns) + run id -> status
//
// Events of a node's child run are filed under the root run they belong to
// (their parent facet), so one prefix scan returns a whole run. The
// summary is a view kept up to date from the events in the same
// transaction; `show`, `column` and `node` re-derive everything else from
// the events, which remain the record, byte for byte as emitted. They are
// stored compressed with a preset dictionary of OpenLineage boilerplate,
// about ten times smaller than the JSON (5000 runs: ~33 MiB).
//
// A run whose root has a START but no terminal event is RUNNING while the
// process that recorded it is alive, and INCOMPLETE once that process is
// gone (it crashed or was killed).
package history
