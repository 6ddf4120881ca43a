// Package app is one run of the sales pipeline, as a single path:
//
//	input -> plan -> nodes (engine, hooks, cache, checks) -> writers -> events
//
// Run is that path. Everything it depends on is in Options: the hooks and
// the lineage sink are values the caller gives, and Run reads no
// environment variable, flag or file other than its input and outputs.
// Building Options (flags, environment, local state) is the CLI's job.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/dbio"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// Options is one run: what to compute, where to write it, and the hooks
// and sinks that watch it.
type Options struct {
	Input string // CSV path, database URL (see OpenInput); "" runs on the embedded sample
	// Inputs are more input files or globs, read after Input as one input
	// (see ResolveInputs); none and no Input: the embedded sample.
	Inputs    []string
	Outputs   []string // nodes to write; nil: pipeline.DefaultOutputs
	OutputDir string
	Formats   []output.Format // nil: output.DefaultFormats
	// Database receives the outputs as tables too, in one transaction
	// with the files (database.go); zero: none.
	Database  DatabaseOptions
	Workers   int
	OnBadRows pipeline.BadRowPolicy
	// KeepGoing: a failing node (or a failed check of importance fail)
	// skips only its dependants; the other outputs are written (keepgoing.go).
	KeepGoing bool
	// NoWrite computes the outputs without writing any file (the library's
	// Run without an output directory); OutputDir is then ignored.
	NoWrite bool

	// DAG and Plan, when set, come from Build and Prepare (which check
	// Outputs); nil: Run builds them.
	DAG  *dag.DAG
	Plan *dag.Plan

	// Engine, when set, computes raw_sales_data instead of the native
	// reader (engine.go: the Beam engine); nil: the native reader.
	Engine Engine

	Checks   *checks.Runner                          // data-quality checks; nil: none
	Cache    *cache.Cache                            // per-node result cache; nil: none
	Hooks    []dag.Hooks                             // more hooks on every node (progress, ...)
	Progress func(bytesRead, totalBytes, rows int64) // reading the input; nil: none
	Writing  func()                                  // once, before the outputs are written; nil: none
	Lineage  Lineage                                 // where the OpenLineage events go
	Log      *slog.Logger                            // nil: none
	Now      func() time.Time                        // the clock; nil: time.Now
}

// Lineage connects a run to OpenLineage. A nil Sink records nothing.
type Lineage struct {
	Sink      lineage.Sink
	Namespace string
	Parent    *lineage.ParentContext
	Version   string
	RunID     uuid.UUID // of the root run; default a fresh one
	// OnNodeEvent may add facets to node events (after salesdag's own).
	OnNodeEvent func(lineage.NodeEvent)
	// OutputFacets may add facets to each written output dataset (after
	// column lineage).
	OutputFacets func(w output.Written, ds *lineage.OutputDataset)
}

// NodeTiming is how long one node took.
type NodeTiming struct {
	Node     string        `json:"node"`
	Duration time.Duration `json:"duration_ns"`
	Err      string        `json:"error,omitempty"`
}

// RunResult describes a finished run.
type RunResult struct {
	Source   pipeline.Source
	Plan     *dag.Plan
	Results  dag.Results
	RowsRead int64
	RowsKept int64
	Rejected int64
	// Files are the row counts of each file of a multi-file input, when
	// the run read them (not when its results came from the cache).
	Files    []pipeline.FileStats
	Written  []output.Written
	Tables   []dbio.Written // tables written to Options.Database
	Nodes    []NodeTiming
	Duration time.Duration
	// Cache is the cache's record of this run (nil without a cache).
	Cache *cache.Run
	// LineageErr is a problem recording lineage; it never fails the run.
	LineageErr error
	// Skipped: node -> why it did not run (KeepGoing).
	Skipped map[string]string
}

// RejectedRowsName is the output that holds rows set aside by --on-bad-rows=skip.
const RejectedRowsName = "rejected_rows"

// Run is the whole job: it opens the input, runs the plan's nodes, writes
// the outputs as one set and records it all as a root run (START, node
// runs, then COMPLETE, FAIL or ABORT) in o.Lineage.Sink. Lineage problems
// never change the returned error (see RunResult.LineageErr).
//
// A panic (a bug) anywhere in the run fails it like any other error, with
// a *dag.PanicError: FAIL event, nothing written. That includes a panic
// of the sink (the history), which fails the run even though a lineage
// error would not. A panic in a side computation (the input's statistics,
// facets, progress) only costs what it would have added, with a warning.
func Run(ctx context.Context, o Options) (res *RunResult, runErr error) {
	o.Log = cmp.Or(o.Log, slog.New(slog.DiscardHandler))
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.Formats) == 0 {
		o.Formats = output.DefaultFormats
	}
	var err error
	if o.DAG == nil {
		if o.DAG, err = Build(); err != nil {
			return nil, err
		}
		o.Plan = nil // a plan belongs to its graph
	}
	if o.Plan == nil {
		if o.Plan, err = Prepare(o.DAG, o.Outputs); err != nil {
			return nil, err
		}
	}
	ev, err := startEvents(o)
	if err != nil {
		return nil, err
	}
	// Input.
	in, err := OpenInputs(ctx, o.inputValues())
	if err != nil {
		ev.unreadInput(o)
		return ev.fail(ctx, &RunResult{}, err)
	}
	defer in.Close()
	src := in.Source
	ev.setInput(in)
	// Outputs: the directory must be writable before anything runs.
	_, statErr := os.Stat(o.OutputDir)
	if o.NoWrite {
		statErr = nil
	} else if err := output.CheckDir(o.OutputDir); err != nil {
		return ev.fail(ctx, &RunResult{Source: src}, err)
	}
	var db *dbio.Output
	if !o.NoWrite {
		db, err = openOutputDB(ctx, o.Database, ev.tracker.RunID().String(), o.Now())
	}
	if err != nil {
		if errors.Is(statErr, fs.ErrNotExist) {
			os.Remove(o.OutputDir) // CheckDir created it
		}
		return ev.fail(ctx, &RunResult{Source: src}, err)
	}
	if db != nil {
		defer db.Close()
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// CheckDir created it; a run that writes nothing takes it back.
		defer func() {
			if len(res.Written) == 0 {
				os.Remove(o.OutputDir) // only succeeds while empty
			}
		}()
	}
	// Nodes and writers; a panic outside the nodes (which the engine
	// guards) is the run's error.
	func() {
		defer func() {
			if v := recover(); v != nil {
				if res == nil {
					res = &RunResult{Source: src, Plan: o.Plan}
				}
				runErr = Recovered(v)
			}
		}()
		res, runErr = runPlan(ctx, o, src, db, ev)
	}()
	// Events: the root run's end.
	return ev.finish(ctx, o, res, runErr)
}

// keepRows says whether the row-level tables must be kept in memory: when
// they are written, or when a node other than the pipeline's own reads
// them (a node added through the library). Otherwise raw_sales_data
// streams: it keeps aggregates, not rows.
func keepRows(p *dag.Plan) bool {
	rowLevel := []string{pipeline.NodeRaw, pipeline.NodeCleaned}
	for _, name := range rowLevel {
		if slices.Contains(p.Outputs, name) {
			return true
		}
	}
	for _, n := range p.Nodes {
		switch n.Name {
		case pipeline.NodeCleaned, pipeline.NodeDaily, pipeline.NodeQuality:
			continue // they read a streaming raw_sales_data's aggregates
		}
		for _, dep := range n.Deps {
			if slices.Contains(rowLevel, dep) {
				return true
			}
		}
	}
	return false
}

// runPlan runs the plan's nodes on src and writes the requested outputs.
func runPlan(ctx context.Context, o Options, src pipeline.Source, db *dbio.Output, ev *runEvents) (*RunResult, error) {
	start := o.Now()
	d, p := o.DAG, o.Plan
	res := &RunResult{Source: src, Plan: p}
	popts := pipeline.Options{OnBadRows: o.OnBadRows, Workers: o.Workers, Profile: ev.measure, KeepRows: keepRows(p)}
	if o.Progress != nil {
		total := src.Size
		popts.Progress = guardProgress(o.Log, func(n, rows int64) { o.Progress(n, total, rows) })
	}
	tm := &timer{}
	hooks := append([]dag.Hooks{tm.hooks(), ev.tracker.Hooks()}, o.Hooks...)
	if o.Checks != nil {
		hooks = append(hooks, o.Checks.Hooks())
	}
	inputs := map[string]any{pipeline.InputSource: src, pipeline.InputOptions: popts}
	want := p.Outputs
	execOpts := []dag.Option{dag.Workers(o.Workers)}
	if o.KeepGoing {
		execOpts = append(execOpts, dag.KeepGoing())
		if o.Checks != nil {
			hooks = append(hooks, checksGate(o.Checks))
		}
	}
	if o.OnBadRows == pipeline.SkipBadRows && !slices.Contains(p.Outputs, pipeline.NodeRaw) {
		// rejected_rows is built from raw_sales_data: the run needs it even
		// when the cache knows everything downstream of it.
		var err error
		if p, err = d.Plan(append(slices.Clone(p.Outputs), pipeline.NodeRaw)...); err != nil {
			return res, err
		}
	}
	if o.Cache != nil {
		// Results loaded from the cache are given to the plan: their nodes,
		// and the nodes only they need, do not run.
		cr, err := o.Cache.Prepare(ctx, d, p, inputs)
		if err != nil {
			return res, fmt.Errorf("cache: %w", err)
		}
		res.Cache, ev.cacheRun = cr, cr // the events carry each node's cache state
		p = cr.Plan()
		maps.Copy(inputs, cr.Given())
		hooks = append([]dag.Hooks{cr.Hooks()}, hooks...) // first: lineage's facet reads the final cache state
	}
	if ev.engine != nil {
		// Last: the innermost Around, in place of the node's function.
		hooks = append(hooks, ev.engine.hooks())
	}
	o.Log.Debug("executing plan", "outputs", p.Outputs, "nodes", len(p.Nodes), "workers", o.Workers)
	results, err := d.Execute(ctx, p, inputs, append(execOpts, dag.WithHooks(hooks...))...)
	if res.Cache != nil {
		o.Log.Info("cache", "result", res.Cache.Summary())
	}
	res.Results = results
	var failure error // KeepGoing: returned once the rest is written
	if o.KeepGoing {
		want, failure, err = keepGoing(res, want, err, o.Checks)
	}
	if err == nil && o.Checks != nil && !o.KeepGoing {
		err = o.Checks.Err() // a failed check of importance fail: nothing is written
	}
	if err == nil {
		err = ev.sink.panicked() // the lineage sink (history) broke: nothing is written
	}
	res.Nodes = tm.sorted(p)
	if raw, ok := results[pipeline.NodeRaw].(*pipeline.RawSales); ok {
		res.RowsRead = int64(raw.Len())
		res.Rejected = int64(len(raw.Rejected()))
		res.Files = raw.FileStats()
	}
	if c, ok := results[pipeline.NodeCleaned].(*pipeline.Sales); ok {
		res.RowsKept = int64(c.Len())
	}
	if q, ok := results[pipeline.NodeQuality].(pipeline.QualityMetrics); ok && res.RowsRead == 0 {
		// Served from the cache: the row-level tables were never built.
		res.RowsRead, res.RowsKept = int64(q.RawRecordCount), int64(q.CleanedRecordCount)
	}
	if err != nil {
		var bad *pipeline.BadRowError
		if errors.As(err, &bad) && o.OnBadRows == pipeline.FailOnBadRows {
			err = fmt.Errorf("%w (fix that row, or run with --on-bad-rows=skip to set bad rows aside)", err)
		}
		res.Duration = o.Now().Sub(start)
		return res, err
	}
	if o.NoWrite {
		res.Duration = o.Now().Sub(start)
		return res, failure
	}
	// Writers: the requested results and the rejected rows, as one set.
	toWrite := map[string]any{}
	for _, name := range want {
		toWrite[name] = redactPersonal(results[name])
	}
	names := slices.Clone(want)
	if raw, ok := results[pipeline.NodeRaw].(*pipeline.RawSales); ok && o.OnBadRows == pipeline.SkipBadRows {
		toWrite[RejectedRowsName] = raw.RejectedTable()
		names = append(names, RejectedRowsName)
	}
	// A run that sets no rows aside (or not in every format) removes the
	// rejected rows of an earlier run, as part of the same set of files.
	stale := []string{RejectedRowsName + ".csv", RejectedRowsName + ".json", RejectedRowsName + ".parquet"}
	if o.Writing != nil {
		o.Writing()
	}
	// With a database, its transaction commits between writing the files
	// and renaming them into place: both or neither.
	written, err := output.WriteSetCommit(ctx, o.OutputDir, toWrite, names, o.Formats, stale, dbCommit(db, toWrite, names, &res.Tables))
	res.Written = written
	res.Duration = o.Now().Sub(start)
	if err != nil {
		return res, fmt.Errorf("writing outputs: %w", err)
	}
	return res, failure
}

// timer records node durations for the run summary.
type timer struct {
	mu    sync.Mutex
	nodes []NodeTiming
}

func (t *timer) hooks() dag.Hooks {
	return dag.Hooks{AfterNode: func(_ context.Context, n *dag.Node, r dag.NodeResult) {
		nt := NodeTiming{Node: n.Name, Duration: r.Duration}
		if r.Err != nil {
			nt.Err = r.Err.Error()
		}
		t.mu.Lock()
		t.nodes = append(t.nodes, nt)
		t.mu.Unlock()
	}}
}

func (t *timer) sorted(p *dag.Plan) []NodeTiming {
	t.mu.Lock()
	defer t.mu.Unlock()
	order := map[string]int{}
	for i, n := range p.Nodes {
		order[n.Name] = i
	}
	out := slices.Clone(t.nodes)
	slices.SortFunc(out, func(a, b NodeTiming) int { return order[a.Node] - order[b.Node] })
	return out
}
