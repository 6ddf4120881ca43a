// Package app wires the generic engine, the sales nodes, the writers and
// the lineage tracker into the `salesdag run` job. The CLI is a thin layer
// over it so that tests can drive a whole run in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// UsageError marks a mistake in how salesdag was called (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// RunOptions configures one run of the pipeline.
type RunOptions struct {
	Input     string // CSV path; "" runs on the embedded sample
	Outputs   []string
	OutputDir string
	Formats   []output.Format
	Workers   int
	OnBadRows pipeline.BadRowPolicy
	Progress  func(bytesRead, totalBytes, rows int64) // nil: no progress
	Writing   func()                                  // called once before the outputs are written; nil: none
	Hooks     []dag.Hooks                             // extra hooks (lineage, cache, ...)
	Checks    *checks.Runner                          // data-quality checks; nil: none
	Cache     *cache.Cache                            // per-node result cache; nil: none
	// KeepGoing: a failing node (or a failed check of importance fail)
	// skips only its dependants; the other outputs are written (keepgoing.go).
	KeepGoing bool
	// NoWrite computes the outputs without writing any file (the library's
	// Run without an output directory); OutputDir is then ignored.
	NoWrite bool

	// onCacheRun is told the cache's plan before any node runs (lineage
	// reads each node's cache state from it).
	onCacheRun func(*cache.Run)
	// beforeWrite, when set, can stop a run that computed everything from
	// writing its outputs (a panic of the lineage sink).
	beforeWrite func() error
	// measureInput: the input profile is wanted (lineage statistics), so
	// raw_sales_data computes it while it reads.
	measureInput bool
	Log          *slog.Logger
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
	Written  []output.Written
	Nodes    []NodeTiming
	Duration time.Duration
	// Cache is the cache's record of this run (nil without --cache).
	Cache *cache.Run
	// LineageErr is a problem recording lineage; it never fails the run.
	LineageErr error
	// Skipped: node -> why it did not run (--keep-going).
	Skipped map[string]string
}

// ParseFormats turns the values of --format ("csv", "json,parquet", ...)
// into formats; none gives the defaults.
func ParseFormats(list []string) ([]output.Format, error) {
	f, err := output.ParseFormats(strings.Join(list, ","))
	if err != nil {
		return nil, &UsageError{err}
	}
	return f, nil
}

// Prepare validates the requested outputs against the graph and opens the
// input, before any lineage is emitted for node runs.
func Prepare(d *dag.DAG, outputs []string) (*dag.Plan, error) {
	if len(outputs) == 0 {
		outputs = pipeline.DefaultOutputs
	}
	for _, name := range outputs {
		if n, ok := d.Node(name); ok && n.IsInput {
			return nil, &UsageError{fmt.Errorf("%q is an input of the pipeline, not an output (see 'salesdag nodes')", name)}
		}
	}
	p, err := d.Plan(outputs...)
	if err != nil {
		return nil, &UsageError{err}
	}
	return p, nil
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

// Run executes the plan on src and writes the requested outputs.
func Run(ctx context.Context, d *dag.DAG, p *dag.Plan, src pipeline.Source, o RunOptions) (*RunResult, error) {
	start := time.Now()
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	formats := o.Formats
	if len(formats) == 0 {
		formats = output.DefaultFormats
	}
	res := &RunResult{Source: src, Plan: p}
	popts := pipeline.Options{OnBadRows: o.OnBadRows, Workers: o.Workers, Profile: o.measureInput,
		// Row-level tables are kept only when they are written.
		KeepRows: slices.Contains(p.Outputs, pipeline.NodeRaw) || slices.Contains(p.Outputs, pipeline.NodeCleaned)}
	if o.Progress != nil {
		total := src.Size
		popts.Progress = guardProgress(log, func(n, rows int64) { o.Progress(n, total, rows) })
	}
	tm := &timer{}
	hooks := append([]dag.Hooks{tm.hooks()}, o.Hooks...)
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
		res.Cache = cr
		if o.onCacheRun != nil {
			o.onCacheRun(cr)
		}
		p = cr.Plan()
		maps.Copy(inputs, cr.Given())
		hooks = append([]dag.Hooks{cr.Hooks()}, hooks...) // first: lineage's facet reads the final cache state
	}
	log.Debug("executing plan", "outputs", p.Outputs, "nodes", len(p.Nodes), "workers", o.Workers)
	results, err := d.Execute(ctx, p, inputs, append(execOpts, dag.WithHooks(hooks...))...)
	if res.Cache != nil {
		log.Info("cache", "result", res.Cache.Summary())
	}
	res.Results = results
	var failure error // --keep-going: returned once the rest is written
	if o.KeepGoing {
		want, failure, err = keepGoing(res, want, err, o.Checks)
	}
	if err == nil && o.Checks != nil && !o.KeepGoing {
		err = o.Checks.Err() // a failed check of importance fail: nothing is written
	}
	if err == nil && o.beforeWrite != nil {
		err = o.beforeWrite()
	}
	res.Nodes = tm.sorted(p)
	if raw, ok := results[pipeline.NodeRaw].(*pipeline.RawSales); ok {
		res.RowsRead = int64(raw.Len())
		res.Rejected = int64(len(raw.Rejected()))
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
		res.Duration = time.Since(start)
		return res, err
	}
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
	if o.NoWrite {
		res.Duration = time.Since(start)
		return res, failure
	}
	if o.Writing != nil {
		o.Writing()
	}
	written, err := output.WriteSet(ctx, o.OutputDir, toWrite, names, formats, stale)
	res.Written = written
	res.Duration = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("writing outputs: %w", err)
	}
	return res, failure
}

// RejectedRowsName is the output that holds rows set aside by --on-bad-rows=skip.
const RejectedRowsName = "rejected_rows"

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

// IsInterrupted reports whether err comes from a cancelled run.
func IsInterrupted(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// OpenSource opens the input file, or the embedded sample for "".
func OpenSource(path string) (pipeline.Source, error) {
	if path == "" {
		return pipeline.SampleSource(), nil
	}
	return pipeline.FileSource(path)
}
