package lineage_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

var testTime = time.Date(2024, 5, 1, 10, 0, 0, 123000000, time.UTC)

// cacheFacet is what a custom facet looks like to a user of the package.
type cacheFacet struct {
	lineage.BaseFacet
	Hit bool   `json:"hit"`
	Key string `json:"key"`
}

// exampleSchemaURL is where another producer keeps its custom facets.
func exampleSchemaURL(name string) string {
	return "https://example.com/schemas/1-0-0/" + name + ".json#/$defs/" + name
}

func fullEvent(t *testing.T) *lineage.RunEvent {
	t.Helper()
	parent := lineage.RunRef{Namespace: "airflow", Name: "dag.task", RunID: uuid.MustParse("0190d9b4-7c6e-7a4e-9a57-2f4f1d6c9b10")}
	run := lineage.Run{RunID: uuid.MustParse("0190d9b4-7c6e-7a4e-9a57-2f4f1d6c9b11")}
	run.Facets.Parent = lineage.NewParentRunFacet(parent, nil)
	run.Facets.ProcessingEngine = lineage.NewProcessingEngineRunFacet("1.2.3")
	run.Facets.ErrorMessage = lineage.NewErrorMessageRunFacet(errors.New("boom"))
	run.Facets.NominalTime = &lineage.NominalTimeRunFacet{BaseFacet: lineage.NewBaseFacet(lineage.NominalTimeRunFacetSchemaURL), NominalStartTime: testTime.Format(time.RFC3339)}
	run.Facets.SetCustom("salesdag_cache", map[string]any{"_producer": lineage.Producer, "_schemaURL": lineage.CustomFacetSchemaURL("SalesdagCacheRunFacet"), "status": "hit", "policy": "auto", "key": "abc", "stored": false})
	job := lineage.Job{Namespace: "default", Name: "sales_data_pipeline"}
	job.Facets.JobType = lineage.NewJobTypeJobFacet(lineage.JobTypeDAG)
	job.Facets.Documentation = lineage.NewDocumentationJobFacet("the sales pipeline")
	job.Facets.SetCustom("owner_note", map[string]any{"_producer": lineage.Producer, "_schemaURL": exampleSchemaURL("OwnerNoteJobFacet"), "note": "x"})

	in, err := lineage.InputFileDataset(lineage.InputFile{
		Path:     "testdata/sales.csv",
		Schema:   []frame.Field{{Name: "date", Type: "date"}, {Name: "amount", Type: "float64"}},
		Measured: true, Rows: 10, Bytes: 420,
		Columns: map[string]lineage.ColumnMetrics{
			"amount": {NullCount: lineage.Int(1), DistinctCount: lineage.Int(8), Sum: lineage.Num(12.5), Min: lineage.Num(-1), Max: lineage.Num(9.75)},
			"date":   {NullCount: lineage.Int(0), DistinctCount: lineage.Int(3)},
		},
		LastUpdated: testTime,
	})
	require.NoError(t, err)
	in.InputFacets.DataQualityAssertions = lineage.NewDataQualityAssertionsFacet(lineage.Assertion{Assertion: "not_null", Success: true, Column: "date", Severity: "error"})
	in.InputFacets.SetCustom("example_rejects", cacheFacet{BaseFacet: lineage.NewBaseFacet(exampleSchemaURL("RejectsInputFacet"))})
	in.Facets.SetCustom("example_note", cacheFacet{BaseFacet: lineage.NewBaseFacet(exampleSchemaURL("NoteDatasetFacet"))})

	out, err := lineage.OutputFileDataset(lineage.OutputFile{Path: "/out/weekly.csv", Schema: []frame.Field{{Name: "weekly_total", Type: "float64"}}, Rows: 3, Bytes: 99})
	require.NoError(t, err)
	cl := lineage.NewColumnLineageDatasetFacet()
	cl.Fields["weekly_total"] = lineage.ColumnLineageField{InputFields: []lineage.InputField{{
		Namespace: in.Namespace, Name: in.Name, Field: "amount",
		Transformations: []lineage.Transformation{{Type: lineage.TransformDirect, Subtype: lineage.SubtypeAggregation}},
	}}}
	cl.Dataset = []lineage.InputField{{Namespace: in.Namespace, Name: in.Name, Field: "date", Transformations: []lineage.Transformation{{Type: lineage.TransformIndirect, Subtype: lineage.SubtypeGroupBy}}}}
	out.Facets.ColumnLineage = cl
	out.OutputFacets.SetCustom("example_format", cacheFacet{BaseFacet: lineage.NewBaseFacet(exampleSchemaURL("FormatOutputFacet"))})

	ev := lineage.NewRunEvent(lineage.EventFail, run, job)
	ev.EventTime = testTime
	ev.Inputs = []lineage.InputDataset{in}
	ev.Outputs = []lineage.OutputDataset{out}
	return ev
}

func TestFullEventValidatesAndRoundTrips(t *testing.T) {
	ev := fullEvent(t)
	b, err := lineage.Marshal(ev)
	require.NoError(t, err)
	lineagetest.Validate(t, b)
	require.NotContains(t, string(b), "\n", "one event, one line")

	var back lineage.RunEvent
	require.NoError(t, json.Unmarshal(b, &back))
	require.NotNil(t, back.Run.Facets.Parent)
	require.Equal(t, "airflow", back.Run.Facets.Parent.Job.Namespace)
	require.Equal(t, "1.2.3", back.Run.Facets.ProcessingEngine.Version)
	require.Contains(t, back.Run.Facets.Custom, "salesdag_cache")
	require.Equal(t, int64(10), *back.Inputs[0].InputFacets.DataQualityMetrics.RowCount)
	require.Equal(t, 12.5, *back.Inputs[0].InputFacets.DataQualityMetrics.ColumnMetrics["amount"].Sum)
	b2, err := lineage.Marshal(&back)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(b2))

	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	in := m["inputs"].([]any)[0].(map[string]any)
	abs, err := filepath.Abs("testdata/sales.csv")
	require.NoError(t, err)
	require.Equal(t, "file", in["namespace"])
	require.Equal(t, filepath.ToSlash(abs), in["name"])
	ds := in["facets"].(map[string]any)["dataSource"].(map[string]any)
	require.Equal(t, "file://"+filepath.ToSlash(abs), ds["uri"])
	fields := in["facets"].(map[string]any)["schema"].(map[string]any)["fields"].([]any)
	require.Equal(t, map[string]any{"name": "amount", "type": "float64", "ordinal_position": 2.0}, fields[1])
	msg := m["run"].(map[string]any)["facets"].(map[string]any)["errorMessage"].(map[string]any)
	require.Equal(t, "go", msg["programmingLanguage"])
	require.Equal(t, "boom", msg["message"])
}

func TestMinimalEventHasArraysAndNoEmptyFacets(t *testing.T) {
	ev := &lineage.RunEvent{EventType: lineage.EventStart, EventTime: testTime, Run: lineage.Run{RunID: lineage.NewRunID()}, Job: lineage.Job{Namespace: "n", Name: "j"}}
	b, err := lineage.Marshal(ev)
	require.NoError(t, err)
	lineagetest.Validate(t, b)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, []any{}, m["inputs"])
	require.Equal(t, []any{}, m["outputs"])
	require.Equal(t, lineage.Producer, m["producer"])
	require.Equal(t, lineage.RunEventSchemaURL, m["schemaURL"])
	require.NotContains(t, m["run"], "facets")
	require.NotContains(t, m["job"], "facets")
	id, err := uuid.Parse(m["run"].(map[string]any)["runId"].(string))
	require.NoError(t, err)
	require.Equal(t, uuid.Version(7), id.Version())
}

func TestMarshalErrors(t *testing.T) {
	_, err := lineage.Marshal(nil)
	require.Error(t, err)

	ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "n", Name: "j"})
	ev.EventTime = time.Time{}
	_, err = lineage.Marshal(ev)
	require.ErrorContains(t, err, "no eventTime")

	ev = lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "n", Name: "j"})
	ev.Run.Facets.ProcessingEngine = lineage.NewProcessingEngineRunFacet("")
	ev.Run.Facets.SetCustom("processing_engine", map[string]any{})
	_, err = lineage.Marshal(ev)
	require.ErrorContains(t, err, "collides")

	// A custom facet under a typed key is fine while the typed one is
	// unset; a nil custom value is left out.
	ev.Run.Facets.ProcessingEngine = nil
	ev.Run.Facets.SetCustom("other", nil)
	b, err := lineage.Marshal(ev)
	require.NoError(t, err)
	require.NotContains(t, string(b), `"other"`)

	ev.Run.Facets.SetCustom("bad", func() {})
	_, err = lineage.Marshal(ev)
	require.Error(t, err)
}

func TestUnmarshalFacetErrors(t *testing.T) {
	var f lineage.RunFacets
	require.Error(t, json.Unmarshal([]byte(`[1]`), &f))
	require.Error(t, json.Unmarshal([]byte(`{"parent": 5}`), &f))
	var ev lineage.RunEvent
	require.NoError(t, json.Unmarshal([]byte(`{"eventType":"START","run":{"runId":"0190d9b4-7c6e-7a4e-9a57-2f4f1d6c9b10","facets":{"x":{"a":1}}},"job":{"namespace":"n","name":"j","facets":{"y":{}}},"inputs":[{"namespace":"a","name":"b","facets":{"z":{}},"inputFacets":{"w":{}}}],"outputs":[{"namespace":"a","name":"c","outputFacets":{"v":{}}}]}`), &ev))
	require.JSONEq(t, `{"a":1}`, string(ev.Run.Facets.Custom["x"].(json.RawMessage)))
	require.Contains(t, ev.Job.Facets.Custom, "y")
	require.Contains(t, ev.Inputs[0].Facets.Custom, "z")
	require.Contains(t, ev.Inputs[0].InputFacets.Custom, "w")
	require.Contains(t, ev.Outputs[0].OutputFacets.Custom, "v")
}

func TestSchemaURLConstantsPointIntoTheSpec(t *testing.T) {
	dir, err := lineagetest.SpecDir()
	require.NoError(t, err)
	ids := map[string]map[string]any{} // $id -> $defs
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		var doc struct {
			ID   string         `json:"$id"`
			Defs map[string]any `json:"$defs"`
		}
		require.NoError(t, json.Unmarshal(b, &doc))
		ids[doc.ID] = doc.Defs
	}
	for _, u := range []string{
		lineage.RunEventSchemaURL,
		lineage.ParentRunFacetSchemaURL, lineage.ProcessingEngineRunFacetSchemaURL, lineage.ErrorMessageRunFacetSchemaURL,
		lineage.NominalTimeRunFacetSchemaURL, lineage.JobTypeJobFacetSchemaURL, lineage.DocumentationJobFacetSchemaURL,
		lineage.SchemaDatasetFacetSchemaURL, lineage.DatasourceDatasetFacetSchemaURL, lineage.ColumnLineageDatasetFacetSchemaURL,
		lineage.DataQualityAssertionsSchemaURL, lineage.InputStatisticsSchemaURL, lineage.DataQualityMetricsInputSchemaURL,
		lineage.OutputStatisticsOutputFacetSchemaURL,
	} {
		id, ptr, ok := strings.Cut(u, "#/$defs/")
		require.True(t, ok, u)
		defs, ok := ids[id]
		require.True(t, ok, "no schema file has $id %s", id)
		require.Contains(t, defs, ptr, u)
	}
}

func TestNumberHelpers(t *testing.T) {
	require.Nil(t, lineage.Num(math.NaN()))
	require.Nil(t, lineage.Num(math.Inf(-1)))
	require.Equal(t, 2.5, *lineage.Num(2.5))
	require.Equal(t, int64(7), *lineage.Int(7))
	require.Nil(t, lineage.NewErrorMessageRunFacet(nil))
	require.Nil(t, lineage.NewDocumentationJobFacet(""))
	require.Equal(t, "unknown", lineage.NewProcessingEngineRunFacet("").Version)
	require.True(t, lineage.EventAbort.Terminal())
	require.False(t, lineage.EventRunning.Terminal())
}

func TestErrorTrace(t *testing.T) {
	inner := fmt.Errorf("file.csv:12: bad amount %q", "x")
	err := &dag.NodeError{Node: "raw_sales_data", Err: errors.Join(inner, errors.New("second"))}
	f := lineage.NewErrorMessageRunFacet(err)
	require.Equal(t, err.Error(), f.Message)
	require.Contains(t, f.StackTrace, "*dag.NodeError: node raw_sales_data")
	require.Contains(t, f.StackTrace, "  *errors.joinError")
	require.Contains(t, f.StackTrace, "    *errors.errorString: file.csv:12")
	panicErr := &dag.NodeError{Node: "n", Err: &dag.PanicError{Value: "oops", Stack: []byte("goroutine 7 [running]:\nmain.f()")}}
	f = lineage.NewErrorMessageRunFacet(panicErr)
	require.Contains(t, f.StackTrace, "goroutine 7 [running]")
}

func TestDatasetHelpers(t *testing.T) {
	_, err := lineage.FileDatasetName("")
	require.Error(t, err)
	_, err = lineage.InputFileDataset(lineage.InputFile{})
	require.ErrorContains(t, err, "needs a file path")
	_, err = lineage.OutputFileDataset(lineage.OutputFile{})
	require.Error(t, err)

	in, err := lineage.InputFileDataset(lineage.InputFile{Namespace: "salesdag", Name: "embedded/sales_raw.csv", SourceURI: "salesdag:embedded/sales_raw.csv"})
	require.NoError(t, err)
	require.Nil(t, in.InputFacets.InputStatistics, "not measured yet")
	require.Nil(t, in.Facets.Schema)
	require.Equal(t, "salesdag:embedded/sales_raw.csv", in.Facets.DataSource.URI)
	ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "n", Name: "j"})
	ev.Inputs = append(ev.Inputs, in)
	b, err := lineage.Marshal(ev)
	require.NoError(t, err)
	lineagetest.Validate(t, b)
	require.Equal(t, "file:///a%20b/c.csv", lineage.FileURI("/a b/c.csv"))
	require.Nil(t, lineage.SchemaFacet(nil))
}
