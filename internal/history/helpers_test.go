package history

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/lineage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The toy pipeline has the shape of salesdag's, with short names:
//
//	source -> raw -> clean -> daily -> weekly
//	              \-> quality (raw, clean)
const (
	inputPath = "/data/sales.csv"
	outDir    = "/work/out"
	jobName   = "toy_pipeline"
)

type runOpts struct {
	failAt      string            // node that fails
	blockAt     string            // node that waits for cancellation
	cancel      bool              // cancel once blockAt started
	nodeLineage bool              // node events carry their own outputs with columnLineage
	checks      bool              // add data-quality assertions
	runID       uuid.UUID         // root run id; default a fresh one
	start       time.Time         // clock start; default a fixed time
	info        map[string]string // Annotate these
	rec         *Recorder         // for info
	onEvent     func(node string) // called inside each node
	extraSink   lineage.Sink      // also gets every event
	outputs     []string          // requested outputs; default weekly and quality
	nodeFacets  func(lineage.NodeEvent)
	skipFinish  bool // leave the root run open (a crash)
	parent      *lineage.ParentContext
	skipOutputs bool
}

func toyDAG(t testing.TB, o runOpts) *dag.DAG {
	t.Helper()
	g := dag.New()
	dag.Input[string](g, "source", "the input path")
	body := func(ctx context.Context, name string, v int) (int, error) {
		if o.onEvent != nil {
			o.onEvent(name)
		}
		switch name {
		case o.failAt:
			return 0, fmt.Errorf("%s:12: unparsable amount %q", inputPath, "1,2")
		case o.blockAt:
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return v + 1, nil
	}
	dag.Add1(g, dag.Spec{Name: "raw", Doc: "Read the input file."}, "source", func(ctx context.Context, s string) (int, error) {
		return body(ctx, "raw", len(s))
	})
	dag.Add1(g, dag.Spec{Name: "clean", Doc: "Drop bad rows."}, "raw", func(ctx context.Context, n int) (int, error) {
		return body(ctx, "clean", n)
	})
	dag.Add1(g, dag.Spec{Name: "daily", Doc: "Sum per day."}, "clean", func(ctx context.Context, n int) (int, error) {
		return body(ctx, "daily", n)
	})
	dag.Add2(g, dag.Spec{Name: "quality", Doc: "Quality metrics."}, "raw", "clean", func(ctx context.Context, a, b int) (int, error) {
		return body(ctx, "quality", a+b)
	})
	dag.Add1(g, dag.Spec{Name: "weekly", Doc: "Sum per week."}, "daily", func(ctx context.Context, n int) (int, error) {
		return body(ctx, "weekly", n)
	})
	d, err := g.Build()
	require.NoError(t, err)
	return d
}

var inputSchema = []frame.Field{{Name: "date", Type: "date"}, {Name: "product_id", Type: "string"}, {Name: "amount", Type: "decimal"}, {Name: "customer_id", Type: "string"}}

func inputDataset(t testing.TB, measured bool) lineage.InputDataset {
	t.Helper()
	in, err := lineage.InputFileDataset(lineage.InputFile{Path: inputPath, Schema: inputSchema, Measured: measured, Rows: 1000, Bytes: 40960,
		Columns: map[string]lineage.ColumnMetrics{"customer_id": {NullCount: lineage.Int(0), DistinctCount: lineage.Int(50)}}})
	require.NoError(t, err)
	return in
}

func field(ds, f string, ts ...lineage.Transformation) lineage.InputField {
	ns, name := lineage.FileNamespace, ds
	if ds != inputPath && filepath.Dir(ds) == "." {
		ns, name = "salesdag", ds
	}
	return lineage.InputField{Namespace: ns, Name: name, Field: f, Transformations: ts}
}

func tr(typ, sub, desc string) lineage.Transformation {
	return lineage.Transformation{Type: typ, Subtype: sub, Description: desc}
}

var (
	identity = tr(lineage.TransformDirect, lineage.SubtypeIdentity, "")
	sumDay   = tr(lineage.TransformDirect, lineage.SubtypeAggregation, "sum per day")
	sumWeek  = tr(lineage.TransformDirect, lineage.SubtypeAggregation, "sum per week")
	weekOf   = tr(lineage.TransformDirect, lineage.SubtypeTransformation, "Monday of the week")
	groupBy  = tr(lineage.TransformIndirect, lineage.SubtypeGroupBy, "")
	filter   = tr(lineage.TransformIndirect, lineage.SubtypeFilter, "amount > 0")
)

func lineageFacet(fields map[string][]lineage.InputField, dataset ...lineage.InputField) *lineage.ColumnLineageDatasetFacet {
	f := lineage.NewColumnLineageDatasetFacet()
	for k, v := range fields {
		f.Fields[k] = lineage.ColumnLineageField{InputFields: v}
	}
	f.Dataset = dataset
	return f
}

// rootOutputs are the files the toy run writes, with column lineage
// resolved back to the input file.
func rootOutputs(t testing.TB, nodes []string) []lineage.OutputDataset {
	t.Helper()
	var outs []lineage.OutputDataset
	for _, n := range nodes {
		var f lineage.OutputFile
		var cl *lineage.ColumnLineageDatasetFacet
		switch n {
		case "daily":
			f = lineage.OutputFile{Path: outDir + "/daily.csv", Rows: 31, Bytes: 700,
				Schema: []frame.Field{{Name: "date", Type: "date"}, {Name: "total_sales", Type: "float"}}}
			cl = lineageFacet(map[string][]lineage.InputField{
				"date":        {field(inputPath, "date", identity)},
				"total_sales": {field(inputPath, "amount", tr(lineage.TransformDirect, lineage.SubtypeAggregation, "raw: parsed as a decimal -> daily: sum per day"))},
			}, field(inputPath, "date", groupBy), field(inputPath, "amount", tr(lineage.TransformIndirect, lineage.SubtypeFilter, "raw: unparsable rows set aside; clean: amount > 0")))
		case "weekly":
			f = lineage.OutputFile{Path: outDir + "/weekly.csv", Rows: 5, Bytes: 200,
				Schema: []frame.Field{{Name: "week_start", Type: "date"}, {Name: "weekly_total", Type: "float"}}}
			cl = lineageFacet(map[string][]lineage.InputField{
				"week_start":   {field(inputPath, "date", weekOf)},
				"weekly_total": {field(inputPath, "amount", sumWeek)},
			}, field(inputPath, "date", groupBy), field(inputPath, "amount", filter))
		case "quality":
			f = lineage.OutputFile{Path: outDir + "/quality.json", Rows: 1, Bytes: 180,
				Schema: []frame.Field{{Name: "total_records", Type: "int"}, {Name: "unique_customers", Type: "int"}}}
			cl = lineageFacet(map[string][]lineage.InputField{
				"total_records":    {field(inputPath, "date", tr(lineage.TransformDirect, lineage.SubtypeAggregation, "count"))},
				"unique_customers": {{Namespace: lineage.FileNamespace, Name: inputPath, Field: "customer_id", Transformations: []lineage.Transformation{{Type: lineage.TransformDirect, Subtype: lineage.SubtypeAggregation, Description: "count distinct", Masking: true}}}},
			})
		default:
			continue
		}
		ds, err := lineage.OutputFileDataset(f)
		require.NoError(t, err)
		ds.Facets.ColumnLineage = cl
		outs = append(outs, ds)
	}
	return outs
}

// nodeDataset is the in-memory result of a node, as a lineage dataset
// (used when node events carry their own lineage).
func nodeDataset(node string, fields map[string][]lineage.InputField, rows int64) lineage.OutputDataset {
	ds := lineage.OutputDataset{Dataset: lineage.Dataset{Namespace: "salesdag", Name: jobName + "." + node}}
	ds.Facets.ColumnLineage = lineageFacet(fields)
	var schema []lineage.SchemaField
	for k := range fields {
		schema = append(schema, lineage.SchemaField{Name: k})
	}
	ds.Facets.Schema = &lineage.SchemaDatasetFacet{BaseFacet: lineage.NewBaseFacet(lineage.SchemaDatasetFacetSchemaURL), Fields: sortFields(schema)}
	ds.OutputFacets.OutputStatistics = lineage.NewOutputStatisticsFacet(rows, 0)
	return ds
}

func sortFields(fs []lineage.SchemaField) []lineage.SchemaField {
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			if fs[j].Name < fs[i].Name {
				fs[i], fs[j] = fs[j], fs[i]
			}
		}
	}
	return fs
}

func addNodeLineage(ne lineage.NodeEvent) {
	if ne.Result == nil || ne.Result.Err != nil {
		return
	}
	cleanDS := jobName + ".clean"
	dailyDS := jobName + ".daily"
	switch ne.Node.Name {
	case "clean":
		ne.Event.Outputs = append(ne.Event.Outputs, nodeDataset("clean", map[string][]lineage.InputField{
			"date":   {field(inputPath, "date", identity)},
			"amount": {field(inputPath, "amount", identity, filter)},
		}, 990))
	case "daily":
		ne.Event.Outputs = append(ne.Event.Outputs, nodeDataset("daily", map[string][]lineage.InputField{
			"date":        {field(cleanDS, "date", identity)},
			"total_sales": {field(cleanDS, "amount", sumDay)},
		}, 31))
	case "weekly":
		ne.Event.Outputs = append(ne.Event.Outputs, nodeDataset("weekly", map[string][]lineage.InputField{
			"week_start":   {field(dailyDS, "date", weekOf)},
			"weekly_total": {field(dailyDS, "total_sales", sumWeek)},
		}, 5))
	}
}

// The toy checks, reported as the app does: in the salesdag_checks run
// facet of the node's run, and as dataQualityAssertions on the written
// file (daily) or on the input (quality's checks are about it).
var (
	dailyChecks = []lineage.Assertion{
		{Assertion: "not_null", Column: "date", Success: true, Severity: "error", Name: "date_not_null"},
		{Assertion: "unique", Column: "date", Success: true, Severity: "error", Name: "date_unique"},
		{Assertion: "range", Column: "total_sales", Success: false, Severity: "warn", Name: "total_sales_positive", Expected: "> 0", Actual: "1 of 31 rows outside (min -12.5)"},
	}
	qualityChecks = []lineage.Assertion{
		{Assertion: "max_loss", Success: true, Severity: "error", Name: "data_loss_rate", Expected: "<= 5%", Actual: "1.0%"},
	}
)

func checksFacet(node string, as []lineage.Assertion) map[string]any {
	var list []map[string]any
	for _, a := range as {
		imp := "fail"
		if a.Severity == "warn" {
			imp = "warn"
		}
		list = append(list, map[string]any{"node": node, "name": a.Name, "assertion": a.Assertion, "column": a.Column,
			"importance": imp, "success": a.Success, "expected": a.Expected, "actual": a.Actual, "severity": a.Severity})
	}
	return map[string]any{"_producer": lineage.Producer, "_schemaURL": lineage.CustomFacetSchemaURL("ChecksRunFacet"), "checks": list}
}

func addChecks(ne lineage.NodeEvent) {
	if ne.Result == nil || ne.Result.Err != nil {
		return
	}
	switch ne.Node.Name {
	case "daily":
		ne.Event.Run.Facets.SetCustom(ChecksFacetKey, checksFacet("daily", dailyChecks))
	case "quality":
		ne.Event.Run.Facets.SetCustom(ChecksFacetKey, checksFacet("quality", qualityChecks))
	}
}

// clock ticks a millisecond per call from start, so that runs recorded
// in a row have distinct, ordered times.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

var baseTime = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// trackedRun runs the toy DAG with a lineage tracker whose sink tees into
// sink, and ends the root run as the app does. It returns the root run id
// and the run's error.
func trackedRun(t testing.TB, sink lineage.Sink, o runOpts) (uuid.UUID, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if o.cancel {
		prev := o.onEvent
		o.onEvent = func(name string) {
			if prev != nil {
				prev(name)
			}
			if name == o.blockAt {
				cancel() // as SIGINT does
			}
		}
	}
	d := toyDAG(t, o)
	start := o.start
	if start.IsZero() {
		start = baseTime
	}
	clk := &clock{t: start}
	tracker, err := lineage.NewTracker(lineage.TrackerConfig{
		Sink: lineage.Tee(sink, o.extraSink), Namespace: "test", JobName: jobName, RunID: o.runID, Now: clk.now, Version: "test", Parent: o.parent,
		OnNodeEvent: func(ne lineage.NodeEvent) {
			if ne.Node.Name == "raw" && ne.Result != nil && ne.Result.Err == nil {
				ne.Event.Inputs = append(ne.Event.Inputs, inputDataset(t, true))
			}
			if o.nodeLineage {
				addNodeLineage(ne)
			}
			if o.checks {
				addChecks(ne)
			}
			if o.nodeFacets != nil {
				o.nodeFacets(ne)
			}
		},
	})
	require.NoError(t, err)
	tracker.SetInputs(inputDataset(t, false))
	for k, v := range o.info {
		require.NoError(t, o.rec.Annotate(tracker.RunID(), k, v))
	}
	outputs := o.outputs
	if outputs == nil {
		outputs = []string{"weekly", "quality"}
	}
	plan, err := d.Plan(outputs...)
	require.NoError(t, err)
	opts := []dag.Option{dag.WithHooks(tracker.Hooks()), dag.Workers(1)} // one at a time: node order, and so the golden files, are stable
	_, runErr := d.Execute(ctx, plan, map[string]any{"source": inputPath}, opts...)
	if o.skipFinish {
		return tracker.RunID(), runErr
	}
	var outs []lineage.OutputDataset
	if runErr == nil && !o.skipOutputs {
		written := []string{}
		for _, n := range plan.Nodes {
			written = append(written, n.Name)
		}
		outs = rootOutputs(t, written)
	}
	in := inputDataset(t, true)
	if o.checks {
		for i := range outs {
			if strings.HasSuffix(outs[i].Name, "/daily.csv") {
				outs[i].Facets.DataQualityAssertions = lineage.NewDataQualityAssertionsFacet(dailyChecks...)
			}
		}
		in.InputFacets.DataQualityAssertions = lineage.NewDataQualityAssertionsFacet(qualityChecks...)
	}
	require.NoError(t, tracker.Finish(context.Background(), lineage.OutcomeOf(runErr), runErr, []lineage.InputDataset{in}, outs))
	return tracker.RunID(), runErr
}

func newRecorder(t testing.TB, path string) *Recorder {
	t.Helper()
	rec, err := OpenRecorder(path, RecorderOptions{LockTimeout: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	return rec
}

func closeRecorder(t testing.TB, rec *Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, rec.Close(ctx))
}

func openStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func storePath(t testing.TB) string { return filepath.Join(t.TempDir(), "state", FileName) }

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(p, got, 0o644))
	}
	want, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("golden file %s missing; run go test -run %s -update", p, t.Name())
	}
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Check verifies the store's B+tree (for tests and `fsck`-like use).
func (s *Store) Check() error {
	if s.db == nil {
		return nil
	}
	return checkDB(s.db, true)
}

// Count is the number of recorded runs.
func (s *Store) Count() (int, error) {
	n := 0
	err := s.view(func(runs, _, _ *bolt.Bucket) error {
		if runs != nil {
			n = runs.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// openWrite opens the database for one write transaction, creating it
// (and its directory) if needed, after the cheap check of guard.go. A
// damaged file is a *CorruptError.
func openWrite(path string, timeout time.Duration) (*bolt.DB, error) {
	db, _, err := openWriteChecked(path, timeout, false)
	return db, err
}

// Path is the store's file.
func (r *Recorder) Path() string { return r.path }
