package lineagetest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const validEvent = `{
  "eventType": "COMPLETE",
  "eventTime": "2024-05-01T10:00:00.123Z",
  "run": {"runId": "0190d9b4-7c6e-7a4e-9a57-2f4f1d6c9b10", "facets": {
    "processing_engine": {"_producer": "https://github.com/salesdag/salesdag", "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet", "version": "1.0.0", "name": "salesdag"},
    "salesdag_cache": {"_producer": "https://github.com/salesdag/salesdag", "_schemaURL": "https://github.com/salesdag/salesdag/blob/facets-1-0-0/docs/facets/1-0-0/SalesdagCacheRunFacet.json#/$defs/SalesdagCacheRunFacet", "status": "hit", "policy": "auto", "stored": false}
  }},
  "job": {"namespace": "default", "name": "sales_data_pipeline", "facets": {
    "jobType": {"_producer": "https://github.com/salesdag/salesdag", "_schemaURL": "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet", "processingType": "BATCH", "integration": "SALESDAG", "jobType": "DAG"}
  }},
  "inputs": [{"namespace": "file", "name": "/data/sales.csv",
    "facets": {"schema": {"_producer": "https://github.com/salesdag/salesdag", "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet", "fields": [{"name": "amount", "type": "float64"}]}},
    "inputFacets": {"dataQualityMetrics": {"_producer": "https://github.com/salesdag/salesdag", "_schemaURL": "https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet", "rowCount": 3, "columnMetrics": {"amount": {"nullCount": 0, "sum": 1.5}}}}
  }],
  "outputs": [{"namespace": "file", "name": "/out/daily.csv",
    "outputFacets": {"outputStatistics": {"_producer": "https://github.com/salesdag/salesdag", "_schemaURL": "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet", "rowCount": 2, "size": 40}}
  }],
  "producer": "https://github.com/salesdag/salesdag",
  "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
}`

// mutate applies f to the decoded valid event and re-encodes it.
func mutate(t *testing.T, f func(ev map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	require.NoError(t, json.Unmarshal([]byte(validEvent), &ev))
	f(ev)
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	return b
}

func at(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func TestValidEventPasses(t *testing.T) {
	v, err := New()
	require.NoError(t, err)
	require.NoError(t, v.ValidateEvent([]byte(validEvent)))
	n, err := v.ValidateLines([]byte(validEvent[:0] + compact(t, validEvent) + "\n\n" + compact(t, validEvent) + "\n"))
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func compact(t *testing.T, s string) string {
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, []byte(s)))
	return b.String()
}

func TestInvalidEventsFail(t *testing.T) {
	v, err := New()
	require.NoError(t, err)
	cases := []struct {
		name, want string
		f          func(ev map[string]any)
	}{
		{"run id not a uuid", "uuid", func(ev map[string]any) { at(ev, "run")["runId"] = "run-1" }},
		{"event time not date-time", "date-time", func(ev map[string]any) { ev["eventTime"] = "yesterday" }},
		{"producer not a uri", "uri", func(ev map[string]any) { ev["producer"] = "salesdag" }},
		{"unknown event type", "must be one of", func(ev map[string]any) { ev["eventType"] = "DONE" }},
		{"missing job name", "name", func(ev map[string]any) { delete(at(ev, "job"), "name") }},
		{"wrong schemaURL", "schemaURL", func(ev map[string]any) {
			ev["schemaURL"] = "https://openlineage.io/spec/1-0-5/OpenLineage.json#/$defs/RunEvent"
		}},
		{"facet without _producer", "_producer", func(ev map[string]any) {
			delete(at(ev, "run", "facets", "processing_engine"), "_producer")
		}},
		{"processing_engine without version", "version", func(ev map[string]any) {
			delete(at(ev, "run", "facets", "processing_engine"), "version")
		}},
		{"custom facet without _schemaURL", "_schemaURL", func(ev map[string]any) {
			delete(at(ev, "run", "facets", "salesdag_cache"), "_schemaURL")
		}},
		{"salesdag custom facet against its schema", "status", func(ev map[string]any) {
			at(ev, "run", "facets", "salesdag_cache")["status"] = "lukewarm"
		}},
		{"salesdag custom facet at the old branch URL", "names no schema", func(ev map[string]any) {
			at(ev, "run", "facets", "salesdag_cache")["_schemaURL"] = "https://github.com/salesdag/salesdag/blob/main/docs/facets/CacheRunFacet.json#/$defs/CacheRunFacet"
		}},
		{"dataQualityAssertions among an output's dataset facets", `defines "dataQualityAssertions" as a facet of input, not of dataset`, func(ev map[string]any) {
			out := ev["outputs"].([]any)[0].(map[string]any)
			out["facets"] = map[string]any{"dataQualityAssertions": map[string]any{"_producer": "https://github.com/salesdag/salesdag", "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet", "assertions": []any{}}}
		}},
		{"jobType without integration", "integration", func(ev map[string]any) {
			delete(at(ev, "job", "facets", "jobType"), "integration")
		}},
		{"input dataQualityMetrics without columnMetrics", "columnMetrics", func(ev map[string]any) {
			in := ev["inputs"].([]any)[0].(map[string]any)
			delete(at(in, "inputFacets", "dataQualityMetrics"), "columnMetrics")
		}},
		{"schema field without name", "name", func(ev map[string]any) {
			in := ev["inputs"].([]any)[0].(map[string]any)
			at(in, "facets", "schema")["fields"] = []any{map[string]any{"type": "int"}}
		}},
		{"output statistics row count not integer", "integer", func(ev map[string]any) {
			out := ev["outputs"].([]any)[0].(map[string]any)
			at(out, "outputFacets", "outputStatistics")["rowCount"] = 2.5
		}},
		{"facet _schemaURL pointing elsewhere", "does not point", func(ev map[string]any) {
			at(ev, "job", "facets", "jobType")["_schemaURL"] = "https://openlineage.io/spec/facets/1-0-0/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
		}},
		{"inputs not an array", "array", func(ev map[string]any) { ev["inputs"] = nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := v.ValidateEvent(mutate(t, tc.f))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestNotJSON(t *testing.T) {
	v, err := New()
	require.NoError(t, err)
	require.Error(t, v.ValidateEvent([]byte("{not json")))
	require.Error(t, v.ValidateEvent([]byte(`[1,2]`)))
	_, err = v.ValidateLines([]byte(compact(t, validEvent) + "\n{}\n"))
	require.ErrorContains(t, err, "line 2")
}

func TestFacetTableCoversEverySchemaFile(t *testing.T) {
	v, err := New()
	require.NoError(t, err)
	used := map[string]bool{}
	for _, m := range FacetFiles {
		for _, f := range m {
			used[f] = true
		}
	}
	for _, f := range v.SchemaFiles() {
		require.True(t, used[f], "schema file %s has no facet key in FacetFiles", f)
	}
	for f := range used {
		require.Contains(t, v.SchemaFiles(), f)
	}
}

func TestFacetLocationDecidesSchema(t *testing.T) {
	v, err := New()
	require.NoError(t, err)
	base := map[string]any{"_producer": "https://example.com/p"}
	// dataQualityMetrics as a dataset facet (1-0-0) and as an input facet
	// (1-0-3) are different schemas: the _schemaURL check tells them apart.
	input := map[string]any{"_producer": "https://example.com/p", "_schemaURL": "https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet", "columnMetrics": map[string]any{}}
	require.NoError(t, v.ValidateFacet(InputFacet, "dataQualityMetrics", input))
	require.ErrorContains(t, v.ValidateFacet(DatasetFacet, "dataQualityMetrics", input), "does not point")
	// Custom facets only need the base facet fields.
	custom := map[string]any{"_producer": "https://example.com/p", "_schemaURL": "https://example.com/s#/x", "anything": 1}
	for loc := range baseDef {
		require.NoError(t, v.ValidateFacet(loc, "my_custom", custom), loc)
		require.Error(t, v.ValidateFacet(loc, "my_custom", base), loc)
	}
	require.Error(t, v.ValidateFacet(Location("nowhere"), "x", custom))
	require.Error(t, v.ValidateFacet(RunFacet, "x", func() {}))
}

func TestSpecDirIsInRepoAndMatchesSource(t *testing.T) {
	dir, err := SpecDir()
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "SOURCE.txt"))
	src, err := os.ReadFile(filepath.Join(dir, "SOURCE.txt"))
	require.NoError(t, err)
	v, err := New()
	require.NoError(t, err)
	// Every $id the validator maps is the one SOURCE.txt documents.
	for name, id := range v.ids {
		require.Contains(t, string(src), id, name)
	}
}

func TestNewFromDirErrors(t *testing.T) {
	_, err := NewFromDir(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "X.json"), []byte(`{"type":"object"}`), 0o644))
	_, err = NewFromDir(dir)
	require.ErrorContains(t, err, "no $id")

	dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "X.json"), []byte(`{bad`), 0o644))
	_, err = NewFromDir(dir)
	require.Error(t, err)

	// A facet file whose $ref is not among the local files is refused,
	// not fetched.
	dir = t.TempDir()
	spec, err := SpecDir()
	require.NoError(t, err)
	core, err := os.ReadFile(filepath.Join(spec, "OpenLineage.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "OpenLineage.json"), core, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Y.json"), []byte(`{"$id":"https://example.com/Y.json","$ref":"https://example.com/elsewhere.json"}`), 0o644))
	_, err = NewFromDir(dir)
	require.ErrorContains(t, err, "no network access")

	dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "OpenLineage.json"), []byte(`{"$id":"https://example.com/other.json"}`), 0o644))
	_, err = NewFromDir(dir)
	require.ErrorContains(t, err, "is not")
}

func TestValidateHelper(t *testing.T) {
	Validate(t, []byte(validEvent))
	ft := &fakeT{}
	Validate(ft, []byte(`{}`))
	require.True(t, ft.failed)
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }

func TestServer(t *testing.T) {
	s := NewServer(t, func(n int, r *http.Request) Fault {
		if n == 1 {
			return Fault{Status: 503, Header: map[string]string{"Retry-After": "1"}, Body: "busy"}
		}
		return Fault{}
	})
	post := func(body []byte, gz bool, path string) int {
		var buf bytes.Buffer
		if gz {
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(body)
			require.NoError(t, zw.Close())
		} else {
			buf.Write(body)
		}
		req, err := http.NewRequest(http.MethodPost, s.URL+path, &buf)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 503, post([]byte(validEvent), false, s.Path))
	require.Equal(t, 201, post([]byte(validEvent), true, s.Path))
	require.Equal(t, 400, post([]byte(`{}`), false, s.Path))
	require.Equal(t, 404, post([]byte(validEvent), false, "/elsewhere"))
	require.Len(t, s.Events(), 1)
	require.Len(t, s.Invalid(), 1)
	reqs := s.Requests()
	require.Len(t, reqs, 4)
	require.True(t, reqs[1].Gzipped)
	require.True(t, strings.HasPrefix(string(reqs[1].Body), "{"))

	resp, err := http.Post(s.URL+s.Path, "text/plain", strings.NewReader(validEvent))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	req, err := http.NewRequest(http.MethodPost, s.URL+s.Path, strings.NewReader("not gzip"))
	require.NoError(t, err)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
