package salesdag

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/history"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// RunOptions configures one Run. The zero value computes the standard
// outputs from the sample data embedded in the binary, writes no file
// and records no lineage.
type RunOptions struct {
	// Input is the sales CSV (date,product_id,amount,customer_id), gzip
	// or not; "" reads the embedded sample.
	Input string
	// Inputs are more files or globs ("data/2024-*.csv.gz"), read after
	// Input as one input: the concatenation of the files' data rows, in
	// order (globs expanded in sorted order, a file named twice read once),
	// each file with its own header.
	Inputs []string
	// Outputs are the nodes to compute; only they and the nodes they
	// depend on run. None means DefaultOutputs.
	Outputs []string
	// OutputDir receives the outputs as files, written as one set
	// (atomically); "" writes nothing: the results are only returned.
	OutputDir string
	// Formats of the table files: "csv", "json", "parquet"; none means
	// csv. Results that are not tables are always JSON.
	Formats []string
	// Workers bounds the goroutines for parsing and for independent
	// nodes; 0 means one per CPU. Results do not depend on it.
	Workers int
	// SkipBadRows sets rows that cannot be parsed aside (written as
	// rejected_rows) instead of failing the run at the first.
	SkipBadRows bool
	// MaxDataLoss, when set, fails the run (an error wrapping
	// ErrCheckFailed, nothing written) if cleaning drops more than this
	// percentage of the raw rows.
	MaxDataLoss *float64
	// KeepGoing: a failing node stops only the nodes that depend on it;
	// the other outputs are still computed and written.
	KeepGoing bool
	// CacheDir holds the per-node result cache; "" runs without it. A
	// rerun on unchanged input loads results instead of computing them.
	CacheDir string
	// Lineage receives the run's OpenLineage events, one JSON object per
	// line: the run, and a child run for every node computed, added
	// nodes included. nil records no lineage.
	Lineage io.Writer
	// Namespace of the OpenLineage jobs; "" means "default" (with
	// OpenLineage, the configuration's namespace, as for the CLI).
	Namespace string
	// OpenLineage also sends the events where the OpenLineage clients'
	// configuration says, as `salesdag run` does: openlineage.yml
	// ($OPENLINEAGE_CONFIG, ./openlineage.yml,
	// ~/.openlineage/openlineage.yml), the OPENLINEAGE__TRANSPORT__*
	// variables or OPENLINEAGE_URL; with OPENLINEAGE_DISABLED=true or no
	// configuration at all it sends nothing. Run waits up to LineageTimeout (default 30s) for delivery once
	// the run is over; what is still undelivered goes to OutboxDir (if
	// set, for `salesdag lineage flush`) and is counted in
	// Result.LineageUndelivered. Delivery never fails a run.
	OpenLineage    bool
	LineageTimeout time.Duration
	OutboxDir      string
	// HistoryFile records the run in a salesdag run history, the file
	// that `salesdag history` and `salesdag lineage` read (the CLI's is
	// .salesdag/history.db); "" records none.
	HistoryFile string
	// Log receives warnings (a cache that could not be used, ...); nil
	// discards them.
	Log *slog.Logger
}

// ErrCheckFailed is wrapped by the error of a run stopped by a failed
// data-quality check (MaxDataLoss, or the pipeline's own checks).
var ErrCheckFailed = errors.New("data-quality check failed")

// Result is what a run computed and wrote.
type Result struct {
	// Outputs are the nodes asked for, in order.
	Outputs []string
	// Files are the files written, in the order of Outputs.
	Files []File
	// RowsRead, RowsKept and RowsRejected count the input's data rows,
	// those left after cleaning and those set aside (SkipBadRows).
	RowsRead, RowsKept, RowsRejected int64
	// Skipped maps each node a KeepGoing run did not run to the reason.
	Skipped map[string]string
	// LineageUndelivered counts the events that OpenLineage could not
	// deliver (they are in the outbox when RunOptions.OutboxDir is set).
	LineageUndelivered int
	// RunID is the OpenLineage run id of the run.
	RunID string
	// Checks are the data-quality checks evaluated on the nodes that ran,
	// in dependency order; a failed one that is not Blocking is a warning.
	Checks []Check

	values map[string]any
}

// Check is the outcome of one data-quality check of a run.
type Check struct {
	Node     string // the node whose result was checked
	Name     string // e.g. "no_duplicate_rows"
	Passed   bool
	Blocking bool   // a failure fails the run (ErrCheckFailed); else it is a warning
	Text     string // the outcome in one line, e.g. "data_quality_metrics: no_duplicate_rows expected <= 0, got 3 [warn]"
}

// File is one file a run wrote.
type File struct {
	Node   string // the node whose result it holds ("rejected_rows" for the rows set aside)
	Path   string // absolute
	Format string // "csv", "json" or "parquet"
	Rows   int64  // table rows; for JSON: array length, 1 for an object
	Bytes  int64  // size of the file
}

// Get returns the result of node name, which the run computed, as a T:
// *Table for a table, TrendAnalysis, QualityMetrics, []TopDay, or the
// type an added node returns.
func Get[T any](r *Result, name string) (T, error) {
	v, ok := r.values[name]
	if !ok {
		var zero T
		known := slices.Sorted(maps.Keys(r.values))
		return zero, fmt.Errorf("salesdag: no result for %q; the run computed %v (name it in RunOptions.Outputs)", name, known)
	}
	return as[T](v, fmt.Sprintf("salesdag: result %q", name))
}

// Run computes opts.Outputs and, with an OutputDir, writes them. It stops
// when ctx is cancelled (the error then wraps ctx.Err()). On error the
// Result says what was done before the stop.
func (d *Driver) Run(ctx context.Context, opts RunOptions) (*Result, error) {
	log := cmp.Or(opts.Log, slog.New(slog.DiscardHandler))
	formats, err := app.ParseFormats(opts.Formats)
	if err != nil {
		return nil, err
	}
	outputs := opts.Outputs
	if len(outputs) == 0 {
		outputs = pipeline.DefaultOutputs
	}
	plan, err := app.Prepare(d.dag, outputs)
	if err != nil {
		return nil, err
	}
	ro := app.Options{
		Input: opts.Input, Inputs: opts.Inputs, Outputs: plan.Outputs, OutputDir: opts.OutputDir, NoWrite: opts.OutputDir == "",
		Formats: formats, Workers: opts.Workers, KeepGoing: opts.KeepGoing, Log: log, DAG: d.dag, Plan: plan,
	}
	if opts.SkipBadRows {
		ro.OnBadRows = pipeline.SkipBadRows
	}
	if ro.Checks, err = app.NewChecks(pipeline.CheckOptions{MaxDataLoss: opts.MaxDataLoss}, log); err != nil {
		return nil, err
	}
	if opts.CacheDir != "" {
		if ro.Cache, err = app.OpenCache(opts.CacheDir, append([]string{opts.Input}, opts.Inputs...), nil, log); err != nil {
			return nil, err
		}
	}
	ro.Lineage = app.Lineage{Namespace: opts.Namespace, RunID: lineage.NewRunID()}
	var sinks []lineage.Sink
	if opts.Lineage != nil {
		sinks = append(sinks, writerSink(opts.Lineage))
	}
	var emitter *lineage.Emitter
	if opts.OpenLineage {
		cfg, err := lineage.LoadConfig(lineage.LoadOptions{})
		if err != nil {
			return nil, fmt.Errorf("salesdag: OpenLineage configuration: %w", err)
		}
		for _, w := range cfg.Warnings {
			log.Warn("OpenLineage configuration", "warning", w)
		}
		// Nothing configured anywhere: like the CLI, no transport (the
		// Python client would print to the console).
		if !cfg.Disabled && cfg.Source != "default" {
			tr, err := cfg.NewTransport(os.Stdout)
			if err != nil {
				return nil, fmt.Errorf("salesdag: OpenLineage transport: %w", err)
			}
			grace := opts.LineageTimeout
			if grace <= 0 {
				grace = 30 * time.Second
			}
			emitter = lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: opts.OutboxDir, Grace: grace, Prepare: cfg.Events.Prepare})
			sinks = append(sinks, emitter)
			if opts.Namespace == "" {
				ro.Lineage.Namespace = cfg.Namespace
			}
		}
	}
	var hist *history.Recorder
	if opts.HistoryFile != "" {
		if hist, err = history.OpenRecorder(opts.HistoryFile, history.RecorderOptions{}); err != nil {
			log.Warn("run history is not recorded", "error", err)
			hist = nil
		} else {
			sinks = append(sinks, hist)
		}
	}
	if len(sinks) > 0 {
		ro.Lineage.Sink = lineage.Tee(sinks...)
	}
	res, err := app.Run(ctx, ro)
	out := &Result{Outputs: slices.Clone(plan.Outputs), RunID: ro.Lineage.RunID.String(), values: map[string]any{}}
	// Delivery and the history end are not cut short by a cancelled ctx:
	// an interrupted run still records its end.
	if emitter != nil {
		rep := emitter.Close(context.WithoutCancel(ctx))
		out.LineageUndelivered = rep.Emitted - rep.Sent
		if w := rep.Warning(); w != "" {
			log.Warn(w)
		}
	}
	if hist != nil {
		if cerr := hist.Close(context.WithoutCancel(ctx)); cerr != nil {
			log.Warn("run history", "error", cerr)
		}
	}
	if res != nil {
		for _, name := range plan.Outputs {
			if v, ok := res.Results[name]; ok {
				out.values[name] = v
			}
		}
		for _, w := range res.Written {
			out.Files = append(out.Files, File{Node: w.Node, Path: w.Path, Format: w.Format, Rows: w.Rows, Bytes: w.Bytes})
		}
		out.RowsRead, out.RowsKept, out.RowsRejected = res.RowsRead, res.RowsKept, res.Rejected
		out.Skipped = res.Skipped
	}
	for _, c := range ro.Checks.Results() {
		out.Checks = append(out.Checks, Check{Node: c.Node, Name: c.Name, Passed: c.Success, Blocking: c.Importance == checks.Fail, Text: c.String()})
	}
	var failed *checks.FailedError
	if errors.As(err, &failed) {
		err = &checkError{err}
	}
	return out, err
}

// checkError keeps the message of a failed check and adds ErrCheckFailed.
type checkError struct{ err error }

func (e *checkError) Error() string   { return e.err.Error() }
func (e *checkError) Unwrap() []error { return []error{e.err, ErrCheckFailed} }

// writerSink writes each event as one JSON line; a write error is a
// lineage problem, which never fails the run.
func writerSink(w io.Writer) lineage.Sink {
	var mu sync.Mutex
	return lineage.SinkFunc(func(ev *lineage.RunEvent) error {
		b, err := lineage.Marshal(ev)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		_, err = w.Write(append(b, '\n'))
		return err
	})
}
