package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/columns"
	"github.com/salesdag/salesdag/internal/dbio"
	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

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

// CacheFacetKey is the custom run facet with a node's cache outcome.
const CacheFacetKey = "salesdag_cache"

// CacheRunFacet is the salesdag_cache run facet: hit, miss, stored, ...
type CacheRunFacet struct {
	lineage.BaseFacet
	cache.RunFacet
}

// runEvents is the lineage side of one run: the root run and its node
// runs, with the input measured, column lineage, checks, cache and row
// facets. It only watches: nothing it does changes a result.
type runEvents struct {
	tracker  *lineage.Tracker
	sink     *guardedSink
	lo       Lineage
	log      *slog.Logger
	checks   *checks.Runner
	measure  bool // someone records the events: measure the input
	in       *Input
	cacheRun *cache.Run // set before any node runs
	columns  func(output.Written, *lineage.OutputDataset)
	catalog  *columns.Catalog
	engine   *engineRun // nil: the native reader

	profOnce sync.Once
	prof     *pipeline.InputProfile
	files    []*pipeline.InputProfile // per file of a multi-file input
}

func startEvents(o Options) (*runEvents, error) {
	ev := &runEvents{lo: o.Lineage, log: o.Log, checks: o.Checks, measure: o.Lineage.Sink != nil,
		engine: newEngineRun(o.Engine, o.Lineage.Version)}
	inner := o.Lineage.Sink
	if inner == nil {
		inner = lineage.SinkFunc(func(*lineage.RunEvent) error { return nil })
	}
	ev.sink = &guardedSink{inner: inner}
	cat, err := pipeline.Columns()
	if err != nil {
		return nil, err
	}
	ev.catalog = cat
	if in, one := o.singleInput(); one && !dbio.IsURL(in) { // a database input or many files are named once open (setInput)
		input, err := InputDatasetRef(pipeline.Source{Path: in})
		if err != nil {
			return nil, err
		}
		ev.columns = ColumnLineageOutputs(cat, input, o.Log)
	}
	ev.tracker, err = lineage.NewTracker(lineage.TrackerConfig{
		Sink: ev.sink, Namespace: o.Lineage.Namespace, Parent: o.Lineage.Parent, Version: o.Lineage.Version,
		RunID: o.Lineage.RunID, Description: "salesdag sales-analytics pipeline", OnNodeEvent: ev.nodeEvent,
		OnRootEvent: ev.rootEvent,
	})
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// nodeEvent adds salesdag's datasets and facets to a node run's event:
// the measured input (raw_sales_data), the cache outcome, the rows, the
// checks; then the caller's.
func (ev *runEvents) nodeEvent(ne lineage.NodeEvent) {
	if ev.measure && ne.Node.Name == pipeline.NodeRaw && ne.Result != nil && ne.Result.Err == nil {
		if raw, ok := ne.Result.Value.(*pipeline.RawSales); ok {
			if prof, files := ev.profile(raw); prof != nil || files != nil {
				for _, f := range ev.in.lineageFiles(prof, files) {
					if in, err := lineage.InputFileDataset(f); err == nil {
						ne.Event.Inputs = append(ne.Event.Inputs, in)
					}
				}
			}
		}
	}
	if ev.cacheRun != nil {
		if st, ok := ev.cacheRun.State(ne.Node.Name); ok && st.Status != "" {
			ne.Event.Run.Facets.SetCustom(CacheFacetKey, &CacheRunFacet{
				BaseFacet: lineage.NewBaseFacet(lineage.CustomFacetSchemaURL("SalesdagCacheRunFacet")),
				RunFacet:  st.Facet(),
			})
		}
	}
	if ev.engine != nil && ne.Node.Name == pipeline.NodeRaw {
		ev.engine.facets(&ne.Event.Run)
	}
	addRowsFacet(ne)
	if ev.checks != nil {
		CheckNodeEvents(ev.checks)(ne)
	}
	if ev.lo.OnNodeEvent != nil {
		ev.lo.OnNodeEvent(ne)
	}
}

// rootEvent names the engine on the root run's events.
func (ev *runEvents) rootEvent(e *lineage.RunEvent) {
	if ev.engine != nil {
		ev.engine.facets(&e.Run)
	}
}

// profile computes the input's statistics once, whoever asks first: the
// whole input's, or each file's of a multi-file input of at most
// ManyFiles files.
func (ev *runEvents) profile(raw *pipeline.RawSales) (*pipeline.InputProfile, []*pipeline.InputProfile) {
	ev.profOnce.Do(func() {
		guardSide(ev.log, "input statistics", func() {
			if ev.in.perFileProfiles() {
				files, err := fileProfiles(raw)
				if err != nil {
					sideBug(ev.log, "input statistics", err)
				}
				ev.files = files
				return
			}
			if pr, err := inputProfile(raw); err != nil {
				sideBug(ev.log, "input statistics", err)
			} else {
				ev.prof = &pr
			}
		})
	})
	return ev.prof, ev.files
}

// inputProfile computes the input's statistics (tests make it fail).
var inputProfile = (*pipeline.RawSales).Profile

// fileProfiles computes each file's statistics (tests make it fail).
var fileProfiles = (*pipeline.RawSales).FileProfiles

// unreadInput names an input that could not be opened in the FAIL event.
func (ev *runEvents) unreadInput(o Options) {
	path, one := o.singleInput()
	if !one || dbio.IsURL(path) {
		return // a database's name needs the database, many files their resolution (the error names it)
	}
	if abs, err := filepath.Abs(path); err == nil {
		if in, err := lineage.InputFileDataset(lineage.InputFile{Path: abs, Schema: InputSchema}); err == nil {
			ev.tracker.SetInputs(in)
		}
	}
}

func (ev *runEvents) setInput(in *Input) {
	ev.in = in
	if ev.columns == nil {
		if refs, err := in.refs(); err == nil {
			ev.columns = columnLineageOutputs(ev.catalog, refs, ev.log)
		}
	}
	var inputs []lineage.InputDataset
	for _, f := range in.lineageFiles(nil, nil) {
		if ds, err := lineage.InputFileDataset(f); err == nil {
			inputs = append(inputs, ds)
		}
	}
	ev.tracker.SetInputs(inputs...)
}

// fail ends a run that never ran its plan.
func (ev *runEvents) fail(ctx context.Context, res *RunResult, runErr error) (*RunResult, error) {
	if err := ev.end(ctx, lineage.OutcomeOf(runErr), runErr, nil, nil); IsBug(err) {
		runErr = errors.Join(runErr, err)
	}
	return res, runErr
}

// finish ends the root run with the input as measured (unless
// raw_sales_data did not run, e.g. on a fully cached run), the checks
// about the input file and every written output.
func (ev *runEvents) finish(ctx context.Context, o Options, res *RunResult, runErr error) (*RunResult, error) {
	var inputs []lineage.InputDataset
	var outputs []lineage.OutputDataset
	guardSide(ev.log, "lineage datasets of the run", func() {
		var prof *pipeline.InputProfile
		var files []*pipeline.InputProfile
		if raw, ok := res.Results[pipeline.NodeRaw].(*pipeline.RawSales); ok && ev.measure {
			prof, files = ev.profile(raw)
		}
		if ev.in != nil {
			for _, f := range ev.in.lineageFiles(prof, files) {
				if in, err := lineage.InputFileDataset(f); err == nil {
					AddInputChecks(o.Checks, &in)
					inputs = append(inputs, in)
				}
			}
		}
		for _, w := range res.Written {
			ds, err := lineage.OutputFileDataset(lineage.OutputFile{Path: w.Path, Schema: w.Schema, Rows: w.Rows, Bytes: w.Bytes})
			if err != nil {
				continue
			}
			if ev.columns != nil {
				ev.columns(w, &ds)
			}
			if ev.lo.OutputFacets != nil {
				ev.lo.OutputFacets(w, &ds)
			}
			outputs = append(outputs, ds)
		}
		outputs = append(outputs, dbOutputDatasets(res.Tables)...)
	})
	if runErr == nil {
		runErr = ev.sink.panicked() // the sink (history) panicked after the pre-write check
	}
	outcome := lineage.OutcomeOf(runErr)
	if errors.Is(runErr, context.DeadlineExceeded) {
		outcome = lineage.Aborted
	}
	if err := ev.end(ctx, outcome, runErr, inputs, outputs); IsBug(err) {
		runErr = errors.Join(runErr, err)
	} else if err != nil && runErr == nil {
		res.LineageErr = fmt.Errorf("lineage: %w", err)
	}
	if runErr == nil {
		runErr = ev.sink.panicked() // the final event
	}
	return res, runErr
}

// end sends the root run's terminal event; a panic in the tracker is its
// error. The run's own context may be cancelled (SIGINT): the terminal
// event must still go out, so it is not bound to ctx.
func (ev *runEvents) end(ctx context.Context, outcome lineage.Outcome, runErr error, in []lineage.InputDataset, out []lineage.OutputDataset) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("recording lineage: %w", Recovered(v))
		}
	}()
	return ev.tracker.Finish(context.WithoutCancel(ctx), outcome, runErr, in, out)
}

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
