// Package cache is salesdag's per-node result cache (`salesdag run
// --cache`). A node's result is stored under a key made of the node's name,
// a code version derived from its source, and the keys of its inputs, so a
// rerun reuses every result whose code and inputs are unchanged: a failed
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
// key(other input) = its CacheKey (Keyer), or a canonical hash of its
// value (ValueKey: exported and unexported fields, maps sorted, functions
// and channels left out).
//
// flow(node)       = SHA-256(BuildVersion, node name, result type, code
// version, flow of each dependency in parameter order). The code version
// (package codeversion) hashes the tokens of the node's function and of
// every declaration of its package it reaches, so editing a node changes
// its key and those of everything downstream of it, and nothing else;
// comments and formatting do not count. Packages the node's package
// imports count as a whole when their source is in Options.Sources too
// (internal/frame is not, today). BuildVersion covers the Go
// version, target architecture, main module version and this package's
// own source.
//
// key(node entry)  = SHA-256(flow, codec identity). How a result is
// encoded is part of its entry's key, not of the keys built on it.
//
// Keys never need values, so Prepare computes every key of the plan before
// anything runs.
//
// # Which nodes run
//
// Prepare walks back from the requested outputs: a node with a readable
// entry is loaded (and its ancestors are not visited through it); any other
// node is computed and its dependencies are visited. Nodes never visited
// are skipped: the engine still schedules them (dag plans always contain
// every ancestor) but the cache's Around hook returns at once without
// running them, and Run.Hooks hides them from the other hooks. Entries are
// loaded and checked in Prepare, before the run, so a corrupt entry turns
// into a computation while the inputs it needs can still be computed.
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
// pipeline disables the two row-level tables (pipeline.CachePolicies):
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
// corrupt or truncated entry is a miss with a warning (StatusCorrupt) and
// is rewritten. Hits refresh the entry's mtime, which Prune uses for LRU.
// Cache trouble never fails a run.
//
// # Use
//
//	store, err := cache.Open(dir)                 // "" = DefaultDir
//	c := cache.New(store, cache.Options{
//		Sources: pipeline.CacheSources(),
//		Policy:  pipeline.CachePolicies(),     // plus --recompute NODE
//		OnEvent: func(e cache.NodeEvent) { ... },  // logs, warnings
//	})
//	run, err := c.Prepare(ctx, d, plan, inputs)
//	res, err := d.Execute(ctx, plan, inputs, dag.WithHooks(run.Hooks(otherHooks...)...))
//	res = run.Results(res)                      // drop skipped nodes
//	run.States()                                // per-node outcome for the summary and lineage
package cache
