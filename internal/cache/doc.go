// Package cache is salesdag's per-node result cache (`salesdag run
// --cache`). A node's result is stored under a key made of the node's name,
// the build of the program, and the keys of its inputs, so a rerun of the
// same binary reuses every result whose inputs are unchanged: a failed
// run resumes at the node that failed, and a rerun on the same data costs
// little more than checking that the data is the same.
//
// # Keys
//
// key(input file)  = SHA-256 tree hash of its bytes (4 MiB pieces hashed on
// all cores, then hashed together), remembered in a side index under the
// file's size, mtime, ctime, inode and device. The index is trusted only
// when all five match and the file had not changed in the three seconds
// before it was hashed (git's racy-clean rule). Any write to a file, and
// `touch -r` or `cp -p` restoring an mtime, set the ctime to the current
// time, which tools cannot set back, and replacing a file changes its
// inode, so a changed file is always hashed again. Residual risks: the
// system clock set back while the file is edited, writes below the file
// system, stale attributes on network file systems, and systems other
// than Linux, where the index is never trusted (the file is hashed every
// run). Before a result is stored the file's stat is checked again, so
// results computed from a file that changed during the run are not filed
// under the old content's key.
//
// key(other input) = Options.InputKey's key for it, or a canonical hash of
// its value (ValueKey: exported and unexported fields, maps sorted,
// functions and channels left out).
//
// flow(node)       = SHA-256(build, node name, result type, flow of each
// dependency in parameter order). The build (Store.BuildVersion) is a
// SHA-256 of the running executable's bytes: every line of code a result
// can depend on (the node, the packages it calls, the codecs, the Go
// toolchain and build flags) is in them, so binaries built from different
// code never share an entry, and no code change can be missed. It is
// hashed once per process and remembered in the side index under the
// executable's stat, like an input file, so a rerun of an unchanged
// binary does not read it. A rebuild that changes nothing but the bytes
// (another version string) only costs misses. Under `go run` and `go test`
// the binary that runs is hashed in the same way.
//
// key(node entry)  = SHA-256(flow, codec id). How a result is encoded is
// part of its entry's key, not of the keys built on it. Codecs are given
// to the cache (Options.Codecs; StructCodec derives one from a type); a
// node whose result type has none is not cached, while its key flows.
//
// Keys never need values, so Prepare computes every key of the plan before
// anything runs.
//
// # Which nodes run
//
// Prepare gives the plan every node with a readable entry as a known value
// (dag.Plan.Given): the engine keeps those the outputs need, and leaves out
// the nodes only they need, which are skipped. The kept entries are loaded
// and checked in Prepare, before the run, so a corrupt entry turns into a
// computation (and the plan is made again) while the inputs it needs can
// still be computed. The engine fires the node hooks of given nodes too,
// so timing, progress and lineage see the nodes served from the cache as
// well as those that ran; the cache's own hook records each outcome and
// stores computed results.
//
// So a fully cached rerun loads the six results and runs no node: on 5M
// rows it costs the stat of the input plus the loads (about 15 ms), or
// about 75 ms when the input must be hashed again, against about 400 ms
// without the cache. After a failure at node N, everything that completed
// was stored, so a rerun computes N and its dependents only.
//
// # Policies
//
// PolicyDefault reuses or computes and stores; PolicyRecompute computes
// and stores the node and everything downstream of it; PolicyDisable
// neither reads nor writes, while the node's key still flows. The sales
// pipeline disables the two row-level tables (app.CacheOptions):
// measured on the 2-core machine, with 1M rows computing raw and cleaned
// data takes 40-70 ms, while storing them takes 100-125 ms (24 MB each)
// and loading them 55-60 ms; with 5M rows, 500-600 ms to compute, 470-550
// ms to store (240 MB) and about 300 ms to load. They would cost every run
// on new data twice the time and a quarter of a gigabyte, and help only
// when a downstream node's code changes; their entries would also put
// every customer id on disk. Their keys still flow, so everything
// downstream is cached, and a fully cached rerun never touches them.
//
// # Store
//
// Entries live in DIR/entries/<node>/<key>.entry: a header (magic,
// format version, JSON header with node, key, type, codec, creation time,
// size and the payload's CRC-32C, itself checksummed) and the payload.
// They are written to a temporary file, synced and renamed into place, so
// concurrent runs sharing a cache see whole entries or none; every read
// checks the checksums, the node, the key, the type and the codec. A
// damaged entry (truncated, garbage, written for something else) is
// removed and the node computed again, with a warning (StatusCorrupt)
// that names the file; a damaged record of the side index (DIR/files) is
// removed and its file hashed again, with the same kind of warning. Hits
// refresh the entry's mtime, which Prune uses for LRU. Cache trouble never
// fails a run.
//
// # Use
//
//	store, err := cache.Open(dir)                // "" = DefaultDir
//	opts, err := app.CacheOptions()               // sales codecs and policies
//	opts.OnEvent = func(e cache.NodeEvent) { ... } // logs, warnings
//	run, err := cache.New(store, opts).Prepare(ctx, d, plan, inputs)
//	maps.Copy(inputs, run.Given())                // results loaded from the cache
//	res, err := d.Execute(ctx, run.Plan(), inputs, dag.WithHooks(run.Hooks(), otherHooks))
//	run.States()                                   // per-node outcome for the summary and lineage
package cache
