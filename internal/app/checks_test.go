package app

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

func pctOf(v float64) *float64 { return &v }

func TestNewChecksOptions(t *testing.T) {
	_, err := NewChecks(pipeline.CheckOptions{MaxDataLoss: pctOf(120)}, nil)
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	r, err := NewChecks(pipeline.CheckOptions{MaxDataLoss: pctOf(3)}, nil)
	require.NoError(t, err)
	s, ok := r.Spec(pipeline.NodeQuality)
	require.True(t, ok)
	require.Equal(t, "max_data_loss", s.Checks[len(s.Checks)-1].Name)
}

func sampleResults() []checks.Result {
	return []checks.Result{
		{Node: pipeline.NodeDaily, Name: "unique_date", Assertion: checks.UniqueKind, Column: "date", Importance: checks.Fail, Success: true, Expected: "unique values", Actual: "0 duplicate values in 30 rows"},
		{Node: pipeline.NodeDaily, Name: "row_count", Assertion: checks.RowCountKind, Importance: checks.Warn, Success: false, Expected: ">= 100 rows", Actual: "30 rows", Description: "enough days"},
	}
}

func TestAssertionsFacet(t *testing.T) {
	require.Nil(t, AssertionsFacet(nil))
	f := AssertionsFacet(sampleResults())
	require.Equal(t, []lineage.Assertion{
		{Assertion: "unique", Success: true, Column: "date", Severity: "error", Name: "unique_date", Expected: "unique values", Actual: "0 duplicate values in 30 rows"},
		{Assertion: "row_count", Success: false, Severity: "warn", Name: "row_count", Description: "enough days", Expected: ">= 100 rows", Actual: "30 rows"},
	}, f.Assertions)
	v := colValidator(t)
	require.NoError(t, v.ValidateFacet(lineagetest.InputFacet, "dataQualityAssertions", f))
	require.Error(t, v.ValidateFacet(lineagetest.DatasetFacet, "dataQualityAssertions", f), "an input facet in the spec")

	rf := NewChecksRunFacet(sampleResults())
	require.NoError(t, v.ValidateFacet(lineagetest.RunFacet, ChecksFacetKey, rf))
	b, err := json.Marshal(rf)
	require.NoError(t, err)
	require.Contains(t, string(b), `"node":"daily_sales_summary","name":"unique_date","assertion":"unique","column":"date","importance":"fail","success":true`)
	require.Contains(t, string(b), `"severity":"error"`)
	require.Nil(t, NewChecksRunFacet(nil))
	require.Equal(t, "warn", Severity(checks.Warn))
	require.Equal(t, "error", Severity(checks.Fail))
}

func TestCheckNodeEvents(t *testing.T) {
	r, err := checks.NewRunner(nil, checks.On("n", checks.Rows(1, -1).Fail()))
	require.NoError(t, err)
	on := CheckNodeEvents(r)
	node := &dag.Node{Name: "n"}
	tbl := &pipeline.DailySummary{}

	start := lineage.NewRunEvent(lineage.EventStart, lineage.Run{}, lineage.Job{})
	on(lineage.NodeEvent{Node: node, Event: start})
	require.True(t, start.Run.Facets.IsZero(), "START has no result")

	failed := lineage.NewRunEvent(lineage.EventFail, lineage.Run{}, lineage.Job{})
	on(lineage.NodeEvent{Node: node, Result: &dag.NodeResult{Err: context.Canceled}, Event: failed})
	require.True(t, failed.Run.Facets.IsZero())

	other := lineage.NewRunEvent(lineage.EventComplete, lineage.Run{}, lineage.Job{})
	on(lineage.NodeEvent{Node: &dag.Node{Name: "unchecked"}, Result: &dag.NodeResult{Value: tbl}, Event: other})
	require.True(t, other.Run.Facets.IsZero())

	done := lineage.NewRunEvent(lineage.EventComplete, lineage.Run{}, lineage.Job{})
	done.Outputs = []lineage.OutputDataset{{Dataset: lineage.Dataset{Namespace: "file", Name: "/out/n.csv"}}}
	on(lineage.NodeEvent{Node: node, Result: &dag.NodeResult{Value: tbl}, Event: done})
	rf, ok := done.Run.Facets.Custom[ChecksFacetKey].(*ChecksRunFacet)
	require.True(t, ok)
	require.False(t, rf.Checks[0].Success)
	require.Equal(t, "0 rows", rf.Checks[0].Actual)
	require.Nil(t, done.Outputs[0].Facets.DataQualityAssertions, "an input facet in the spec: not on outputs")
	// The AfterNode hook later reuses the same results.
	res, ok := r.NodeResults("n")
	require.True(t, ok)
	require.Equal(t, rf.Checks[0].Result, res[0])
	var fe *checks.FailedError
	require.ErrorAs(t, r.Err(), &fe)

	require.NotPanics(t, func() { CheckNodeEvents(nil)(lineage.NodeEvent{Node: node, Result: &dag.NodeResult{}, Event: done}) })
}

func TestCheckInput(t *testing.T) {
	r, err := NewChecks(pipeline.CheckOptions{}, nil)
	require.NoError(t, err)
	r.Evaluate(pipeline.NodeQuality, pipeline.QualityMetrics{RawRecordCount: 4, CleanedRecordCount: 3, DataLossRate: 25})

	var in lineage.InputDataset
	AddInputChecks(r, &in)
	require.NotNil(t, in.InputFacets.DataQualityAssertions)
	require.Len(t, in.InputFacets.DataQualityAssertions.Assertions, 4)
	AddInputChecks(nil, &in)
	AddInputChecks(r, nil)
}

func TestColumnLineageWithoutChecks(t *testing.T) {
	o := Options{Input: filepath.Join("data", "sales.csv")}
	ev, err := startEvents(o)
	require.NoError(t, err)
	var ds lineage.OutputDataset
	ev.columns(output.Written{Node: pipeline.NodeDaily}, &ds)
	abs, err := filepath.Abs(o.Input)
	require.NoError(t, err)
	in := ds.Facets.ColumnLineage.Fields["total_amount"].InputFields[0]
	require.Equal(t, "file", in.Namespace)
	require.Equal(t, filepath.ToSlash(abs), in.Name, "a relative --input is named by its absolute path")
	require.Nil(t, ds.Facets.DataQualityAssertions)
}
