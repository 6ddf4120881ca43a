package app

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/history"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// sampleCustomerIDs returns the customer ids of the embedded sample.
func sampleCustomerIDs(t *testing.T) []string {
	t.Helper()
	rc, err := pipeline.SampleSource().Open()
	require.NoError(t, err)
	defer rc.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	require.NoError(t, err)
	ids := regexp.MustCompile(`C\d{3}`).FindAllString(buf.String(), -1)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// leaks returns the ids found in blob.
func leaks(blob []byte, ids []string) []string {
	var found []string
	for _, id := range ids {
		if bytes.Contains(blob, []byte(id)) {
			found = append(found, id)
		}
	}
	return found
}

// TestNoCustomerIDsAnywhere runs the whole job on the sample, with
// lineage, column lineage, checks, history and debug logging wired as the
// CLI wires them, and looks for every customer id of the input in every
// output file, every event, the history store and the logs. customer_id
// is personal data: counts of it are fine, values never.
func TestNoCustomerIDsAnywhere(t *testing.T) {
	ids := sampleCustomerIDs(t)
	require.Len(t, ids, 45, "the sample has customers C001..C045")
	require.Equal(t, []string{"C017"}, leaks([]byte(`{"x":"C017"}`), ids), "the scan finds a planted id")

	tests := []struct {
		name    string
		policy  pipeline.BadRowPolicy
		formats []output.Format
		maxLoss *float64
	}{
		{"default", pipeline.FailOnBadRows, nil, nil},
		{"skip bad rows, all formats", pipeline.SkipBadRows, []output.Format{output.FormatCSV, output.FormatJSON, output.FormatParquet}, nil},
		// A failing check: its message and log lines are scanned too.
		{"failing data-loss check", pipeline.FailOnBadRows, nil, pctOf(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			tmp := t.TempDir()
			outDir := filepath.Join(tmp, "out")
			require.NoError(t, os.MkdirAll(outDir, 0o755))
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

			d, err := Build()
			require.NoError(t, err)
			p, err := Prepare(d, nil)
			require.NoError(t, err)
			runner, err := NewChecks(pipeline.CheckOptions{MaxDataLoss: tt.maxLoss}, log)
			require.NoError(t, err)

			events := &lineagetest.Recorder{}
			storePath := filepath.Join(tmp, "history.db")
			rec, err := history.OpenRecorder(storePath, history.RecorderOptions{})
			require.NoError(t, err)

			o := Options{OutputDir: outDir, Formats: tt.formats, OnBadRows: tt.policy, Log: log}
			lo := Lineage{Sink: lineage.Tee(events, rec), Namespace: "pii-test", Version: "test"}
			o.Checks = runner
			res, runErr := execute(ctx, d, p, o, lo)
			require.NoError(t, rec.Close(ctx))

			checkErr := runner.Err()
			if tt.maxLoss != nil {
				// A failed check of importance fail fails the run: nothing is written.
				var fe *checks.FailedError
				require.ErrorAs(t, runErr, &fe)
				require.Empty(t, res.Written)
				require.Error(t, checkErr)
				log.Error("run failed", "err", checkErr)
			} else {
				require.NoError(t, runErr)
				require.NotEmpty(t, res.Written)
				require.NoError(t, checkErr)
			}

			// The events are valid and do carry the new facets, so the
			// scan below looks at real content.
			require.NotEmpty(t, events.Events())
			v := colValidator(t)
			all := bytes.Join(events.Events(), []byte("\n"))
			for _, ev := range events.Events() {
				require.NoError(t, v.ValidateEvent(ev), string(ev))
			}
			if tt.maxLoss == nil { // a failed run writes no output datasets
				require.Contains(t, string(all), `"columnLineage"`)
				require.Contains(t, string(all), `"dataQualityAssertions"`)
			}
			require.Contains(t, string(all), `"`+ChecksFacetKey+`"`)
			require.Contains(t, string(all), `"customer_id"`, "the column name (not its values) is in schema and lineage")

			require.Empty(t, leaks(all, ids), "events")
			require.Empty(t, leaks(logs.Bytes(), ids), "logs")
			if checkErr != nil {
				require.Empty(t, leaks([]byte(checkErr.Error()), ids), "error message")
			}
			store, err := os.ReadFile(storePath)
			require.NoError(t, err)
			require.True(t, bytes.Contains(store, []byte("pii-test")), "the history store holds the run's events")
			require.Empty(t, leaks(store, ids), "history store")

			files := 0
			require.NoError(t, filepath.WalkDir(outDir, func(path string, e fs.DirEntry, err error) error {
				if err != nil || e.IsDir() {
					return err
				}
				files++
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				require.Empty(t, leaks(b, ids), "output %s", path)
				return nil
			}))
			if tt.maxLoss == nil {
				require.GreaterOrEqual(t, files, 6)
			}
		})
	}
}

// TestRootOutputsCarryFacets: with checks, the root COMPLETE
// event's output datasets carry columnLineage (pointing at the input
// dataset of the events); dataQualityAssertions is on the input only.
func TestRootOutputsCarryFacets(t *testing.T) {
	ctx := context.Background()
	d, err := Build()
	require.NoError(t, err)
	p, err := Prepare(d, nil)
	require.NoError(t, err)
	runner, err := NewChecks(pipeline.CheckOptions{}, nil)
	require.NoError(t, err)
	input, err := InputDatasetRef(pipeline.SampleSource())
	require.NoError(t, err)
	var mu sync.Mutex
	callerSaw := 0
	o := Options{OutputDir: t.TempDir()}
	lo := Lineage{
		OnNodeEvent: func(ne lineage.NodeEvent) {
			// The caller's callback runs after the checks were added.
			if ne.Result != nil && ne.Event.Run.Facets.Custom[ChecksFacetKey] != nil {
				mu.Lock()
				callerSaw++
				mu.Unlock()
			}
		},
		OutputFacets: func(_ output.Written, ds *lineage.OutputDataset) {
			require.NotNil(t, ds.Facets.ColumnLineage, "the caller's callback runs last")
		},
	}
	var root *lineage.RunEvent
	sink := lineage.SinkFunc(func(ev *lineage.RunEvent) error {
		b, err := lineage.Marshal(ev)
		if err != nil {
			return err
		}
		lineagetest.Validate(t, b)
		if ev.EventType == lineage.EventComplete && ev.Run.Facets.Parent == nil {
			mu.Lock()
			root = ev
			mu.Unlock()
		}
		return nil
	})
	lo.Sink = sink
	o.Checks = runner
	_, err = execute(ctx, d, p, o, lo)
	require.NoError(t, err)
	require.Equal(t, 6, callerSaw, "the six checked nodes")
	require.NotNil(t, root)
	require.Len(t, root.Outputs, 6)
	for _, o := range root.Outputs {
		require.NotNil(t, o.Facets.ColumnLineage, o.Name)
		require.Nil(t, o.Facets.DataQualityAssertions, "an input facet in the spec, not an output's: "+o.Name)
		for _, l := range o.Facets.ColumnLineage.Fields {
			for _, in := range l.InputFields {
				require.Equal(t, input.Namespace, in.Namespace)
				require.Equal(t, input.Name, in.Name)
			}
		}
	}
	require.Len(t, root.Inputs, 1)
	require.Equal(t, input.Name, root.Inputs[0].Name, "column lineage points at the input dataset of the events")
	require.NotNil(t, root.Inputs[0].InputFacets.DataQualityAssertions, "the checks about the input file")
}
