package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/uuid"

	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// LineageOptions connects a run to OpenLineage. A nil Sink records nothing.
type LineageOptions struct {
	Sink      lineage.Sink
	Namespace string
	Parent    *lineage.ParentContext
	Version   string
	// RunID of the root run; default a fresh one.
	RunID uuid.UUID
	// OnNodeEvent lets callers add facets to node events (after ours).
	OnNodeEvent func(lineage.NodeEvent)
	// OutputFacets lets callers add facets to each written output dataset.
	OutputFacets func(w output.Written, ds *lineage.OutputDataset)
}

// InputSchema is the schema of the columns salesdag reads.
var InputSchema = []frame.Field{
	{Name: "date", Type: "date"},
	{Name: "product_id", Type: "string"},
	{Name: "amount", Type: "decimal"},
	{Name: "customer_id", Type: "string"},
}

// Embedded sample dataset identity: it is not a file on disk, so it gets a
// namespace of its own instead of "file".
const (
	sampleNamespace = "salesdag"
	sampleName      = "embedded/sample/sales_raw.csv"
	sampleURI       = "salesdag:embedded"
)

// inputFile describes the input dataset; with a profile, it is measured.
func inputFile(src pipeline.Source, p *pipeline.InputProfile) lineage.InputFile {
	f := lineage.InputFile{Path: src.Path, Schema: InputSchema}
	if src.Path == "" {
		f.Namespace, f.Name, f.SourceURI = sampleNamespace, sampleName, sampleURI
	}
	if p == nil {
		return f
	}
	f.Measured = true
	f.Rows, f.Bytes = p.RowCount, p.Bytes
	f.Columns = map[string]lineage.ColumnMetrics{}
	for _, c := range p.Columns {
		m := lineage.ColumnMetrics{NullCount: lineage.Int(c.NullCount), DistinctCount: lineage.Int(c.DistinctCount)}
		if c.Name == "amount" && p.AmountCount > 0 {
			m.Sum, m.Min, m.Max = lineage.Num(p.AmountSum), lineage.Num(p.AmountMin), lineage.Num(p.AmountMax)
			m.Count = lineage.Num(float64(p.AmountCount))
		}
		f.Columns[c.Name] = m
	}
	return f
}

// Execute runs the whole job: it records the root run, opens the input,
// runs the plan, writes the outputs and ends the root run with COMPLETE,
// FAIL or ABORT. Lineage problems never change the returned error; they
// are reported by the sink's owner (the emitter's Close report).
//
// A panic (a bug) anywhere in the run fails it like any other error, with
// a *dag.PanicError: FAIL event, nothing written. That includes a panic
// of the sink (the history), which fails the run even though a lineage
// error would not. A panic in a side computation (the input's statistics,
// facets) only costs what it would have added, with a warning.
func Execute(ctx context.Context, d *dag.DAG, p *dag.Plan, o RunOptions, lo LineageOptions) (res *RunResult, runErr error) {
	// Measuring the input (distinct counts, sums) costs a pass over the
	// rows; only do it when someone records the events.
	measure := lo.Sink != nil
	if lo.Sink == nil {
		lo.Sink = lineage.SinkFunc(func(*lineage.RunEvent) error { return nil })
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sink := &guardedSink{inner: lo.Sink}
	lo.Sink = sink
	o.beforeWrite = sink.panicked
	o.measureInput = measure
	// The input's statistics, computed once whoever asks first.
	var profOnce sync.Once
	var prof *pipeline.InputProfile
	profile := func(raw *pipeline.RawSales) *pipeline.InputProfile {
		profOnce.Do(func() {
			guardSide(log, "input statistics", func() {
				if pr, err := inputProfile(raw); err != nil {
					sideBug(log, "input statistics", err)
				} else {
					prof = &pr
				}
			})
		})
		return prof
	}
	// Column lineage and check results go into the events.
	if err := WireQuality(&o, &lo, o.Checks, o.Log); err != nil {
		return nil, err
	}
	var src pipeline.Source
	var cacheRun *cache.Run
	o.onCacheRun = func(r *cache.Run) { cacheRun = r }
	tr, err := lineage.NewTracker(lineage.TrackerConfig{
		Sink: lo.Sink, Namespace: lo.Namespace, Parent: lo.Parent, Version: lo.Version, RunID: lo.RunID,
		Description: "salesdag sales-analytics pipeline",
		OnNodeEvent: func(ne lineage.NodeEvent) {
			if measure && ne.Node.Name == pipeline.NodeRaw && ne.Result != nil && ne.Result.Err == nil {
				if raw, ok := ne.Result.Value.(*pipeline.RawSales); ok {
					if prof := profile(raw); prof != nil {
						if in, err := lineage.InputFileDataset(inputFile(src, prof)); err == nil {
							ne.Event.Inputs = append(ne.Event.Inputs, in)
						}
					}
				}
			}
			if cacheRun != nil {
				if st, ok := cacheRun.State(ne.Node.Name); ok && st.Status != "" {
					ne.Event.Run.Facets.SetCustom(CacheFacetKey, &CacheRunFacet{
						BaseFacet: lineage.NewBaseFacet(lineage.CustomFacetSchemaURL("SalesdagCacheRunFacet")),
						RunFacet:  st.Facet(),
					})
				}
			}
			addRowsFacet(ne)
			if lo.OnNodeEvent != nil {
				lo.OnNodeEvent(ne)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	fail := func(res *RunResult, runErr error) (*RunResult, error) {
		if err := finish(ctx, tr, lineage.OutcomeOf(runErr), runErr, nil, nil); IsBug(err) {
			runErr = errors.Join(runErr, err)
		}
		return res, runErr
	}
	if src, err = OpenSource(o.Input); err != nil {
		// Name the input that could not be read in the FAIL event.
		if abs, aerr := filepath.Abs(o.Input); aerr == nil {
			if in, derr := lineage.InputFileDataset(lineage.InputFile{Path: abs, Schema: InputSchema}); derr == nil {
				tr.SetInputs(in)
			}
		}
		return fail(&RunResult{}, err)
	}
	if in, err := lineage.InputFileDataset(inputFile(src, nil)); err == nil {
		tr.SetInputs(in)
	}
	_, statErr := os.Stat(o.OutputDir)
	if o.NoWrite {
		statErr = nil
	} else if err := output.CheckDir(o.OutputDir); err != nil {
		return fail(&RunResult{Source: src}, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// CheckDir created it; a run that writes nothing takes it back.
		defer func() {
			if len(res.Written) == 0 {
				os.Remove(o.OutputDir) // only succeeds while empty
			}
		}()
	}
	o.Hooks = append([]dag.Hooks{tr.Hooks()}, o.Hooks...)
	res, runErr = runGuarded(ctx, d, p, src, o)

	// The input as measured (unless raw_sales_data did not run, e.g. on a
	// fully cached run), with the checks that are about the file itself.
	var inputs []lineage.InputDataset
	var outputs []lineage.OutputDataset
	guardSide(log, "lineage datasets of the run", func() {
		var prof *pipeline.InputProfile
		if raw, ok := res.Results[pipeline.NodeRaw].(*pipeline.RawSales); ok && measure {
			prof = profile(raw)
		}
		if in, err := lineage.InputFileDataset(inputFile(src, prof)); err == nil {
			AddInputChecks(o.Checks, &in)
			inputs = append(inputs, in)
		}
		for _, w := range res.Written {
			ds, err := lineage.OutputFileDataset(lineage.OutputFile{Path: w.Path, Schema: w.Schema, Rows: w.Rows, Bytes: w.Bytes})
			if err != nil {
				continue
			}
			if lo.OutputFacets != nil {
				lo.OutputFacets(w, &ds)
			}
			outputs = append(outputs, ds)
		}
	})
	if runErr == nil {
		runErr = sink.panicked() // the sink (history) panicked after the pre-write check
	}
	outcome := lineage.OutcomeOf(runErr)
	if errors.Is(runErr, context.DeadlineExceeded) {
		outcome = lineage.Aborted
	}
	// The run's own context may be cancelled (SIGINT): the terminal event
	// must still go out, so it is not bound to ctx.
	if err := finish(ctx, tr, outcome, runErr, inputs, outputs); IsBug(err) {
		runErr = errors.Join(runErr, err)
	} else if err != nil && runErr == nil {
		res.LineageErr = fmt.Errorf("lineage: %w", err)
	}
	if runErr == nil {
		runErr = sink.panicked() // the final event
	}
	return res, runErr
}

// runGuarded is Run with a panic (outside the nodes, which the engine
// guards: the cache, the checks, the writers) turned into its error.
func runGuarded(ctx context.Context, d *dag.DAG, p *dag.Plan, src pipeline.Source, o RunOptions) (res *RunResult, err error) {
	defer func() {
		if v := recover(); v != nil {
			if res == nil {
				res = &RunResult{Source: src, Plan: p}
			}
			err = Recovered(v)
		}
	}()
	return Run(ctx, d, p, src, o)
}

// finish ends the root run; a panic in the tracker is its error.
func finish(ctx context.Context, tr *lineage.Tracker, outcome lineage.Outcome, runErr error, in []lineage.InputDataset, out []lineage.OutputDataset) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("recording lineage: %w", Recovered(v))
		}
	}()
	return tr.Finish(context.WithoutCancel(ctx), outcome, runErr, in, out)
}

// inputProfile computes the input's statistics (tests make it fail).
var inputProfile = (*pipeline.RawSales).Profile

// CacheFacetKey is the custom run facet with a node's cache outcome.
const CacheFacetKey = "salesdag_cache"

// CacheRunFacet is the salesdag_cache run facet: hit, miss, stored, ...
type CacheRunFacet struct {
	lineage.BaseFacet
	cache.RunFacet
}
