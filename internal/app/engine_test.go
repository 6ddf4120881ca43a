package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/pipeline"
)

// fakeEngine reads with the native reader, but as an engine: it reports a
// job id and can fail.
type fakeEngine struct {
	calls int
	fail  error
}

func (e *fakeEngine) Info() EngineInfo {
	return EngineInfo{Name: "Fake Engine", Version: "9.9.9", Runner: "nowhere"}
}

func (e *fakeEngine) ReadSales(ctx context.Context, src pipeline.Source, opts pipeline.Options) (*pipeline.RawSales, EngineJob, error) {
	e.calls++
	if e.fail != nil {
		return nil, EngineJob{ID: "job-7"}, e.fail
	}
	raw, err := pipeline.ReadSales(ctx, src, opts)
	return raw, EngineJob{ID: "job-7"}, err
}

type engineFacets struct {
	EventType string `json:"eventType"`
	Run       struct {
		Facets struct {
			PE struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"processing_engine"`
			Engine *EngineRunFacet `json:"salesdag_engine"`
		} `json:"facets"`
	} `json:"run"`
	Job struct{ Name string } `json:"job"`
}

func TestEngineReplacesTheReader(t *testing.T) {
	eng := &fakeEngine{}
	dir := t.TempDir()
	res, rec, err := runSample(t, context.Background(), "", nil, Options{OutputDir: dir, Engine: eng})
	require.NoError(t, err)
	require.Equal(t, 1, eng.calls)
	require.Len(t, res.Written, 6)
	rec.validate(t)
	want, err := os.ReadFile(filepath.Join(fixtureDir, "expected", "daily_sales_summary.csv"))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "daily_sales_summary.csv"))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))

	seen := map[string]bool{}
	for _, b := range rec.Events() {
		var ev engineFacets
		require.NoError(t, json.Unmarshal(b, &ev))
		key := ev.EventType + " " + ev.Job.Name
		seen[key] = true
		switch ev.Job.Name {
		case "sales_data_pipeline", "sales_data_pipeline.raw_sales_data":
			require.Equal(t, "Fake Engine (nowhere runner)", ev.Run.Facets.PE.Name, key)
			require.Equal(t, "9.9.9", ev.Run.Facets.PE.Version, key)
			require.NotNil(t, ev.Run.Facets.Engine, key)
			require.Equal(t, "nowhere", ev.Run.Facets.Engine.Runner)
			if ev.EventType == "COMPLETE" {
				require.Equal(t, "job-7", ev.Run.Facets.Engine.JobID, key)
			}
		default:
			require.Equal(t, "salesdag", ev.Run.Facets.PE.Name, "%s runs in the driver", key)
			require.Nil(t, ev.Run.Facets.Engine, key)
		}
	}
	require.True(t, seen["COMPLETE sales_data_pipeline"])
	require.True(t, seen["COMPLETE sales_data_pipeline.raw_sales_data"])
}

func TestEngineFailureFailsTheRun(t *testing.T) {
	eng := &fakeEngine{fail: errors.New("the job failed")}
	dir := t.TempDir()
	_, rec, err := runSample(t, context.Background(), "", nil, Options{OutputDir: dir, Engine: eng})
	require.ErrorContains(t, err, "the job failed")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, ents, "nothing written")
	var fails []string
	for _, b := range rec.Events() {
		var ev engineFacets
		require.NoError(t, json.Unmarshal(b, &ev))
		if ev.EventType == "FAIL" {
			fails = append(fails, ev.Job.Name)
			require.Equal(t, "job-7", ev.Run.Facets.Engine.JobID)
		}
	}
	require.ElementsMatch(t, []string{"sales_data_pipeline", "sales_data_pipeline.raw_sales_data"}, fails)
}
