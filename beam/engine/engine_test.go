package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// allOutputs are the eight nodes: the row-level two come from the native
// reader on the driver (read again), the others from the Beam job.
var allOutputs = []string{
	pipeline.NodeRaw, pipeline.NodeCleaned, pipeline.NodeDaily, pipeline.NodeQuality,
	pipeline.NodeEnriched, pipeline.NodeWeekly, pipeline.NodeTrend, pipeline.NodeTop,
}

type runOut struct {
	files  map[string][]byte
	err    error
	events []*lineage.RunEvent
}

// run runs salesdag on input with eng (nil: the native engine).
func run(t *testing.T, eng app.Engine, input string, outputs []string, set func(*app.Options)) runOut {
	t.Helper()
	dir := t.TempDir()
	var out runOut
	o := app.Options{
		Input: input, Outputs: outputs, OutputDir: dir, Engine: eng, Workers: 2,
		Lineage: app.Lineage{Version: "test", Sink: lineage.SinkFunc(func(e *lineage.RunEvent) error {
			out.events = append(out.events, e)
			return nil
		})},
	}
	if set != nil {
		set(&o)
	}
	_, out.err = app.Run(context.Background(), o)
	out.files = map[string][]byte{}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out.files[e.Name()] = b
	}
	return out
}

func prismEngine(t *testing.T) *Engine {
	t.Helper()
	return New(Config{Runner: RunnerPrism})
}

// requireSame checks that both engines wrote the same files, byte for byte.
func requireSame(t *testing.T, native, beam runOut, what string) {
	t.Helper()
	require.NoError(t, native.err, what)
	require.NoError(t, beam.err, what)
	require.Equal(t, slices.Sorted(mapKeys(native.files)), slices.Sorted(mapKeys(beam.files)), what)
	for name, want := range native.files {
		if !bytes.Equal(want, beam.files[name]) {
			t.Fatalf("%s: %s differs between the native and the Beam engine:\nnative:\n%s\nbeam:\n%s", what, name, head(want), head(beam.files[name]))
		}
	}
}

func head(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestSampleSameAsNative(t *testing.T) {
	eng := prismEngine(t)
	for _, outputs := range [][]string{nil, allOutputs} {
		native := run(t, nil, "", outputs, nil)
		beam := run(t, eng, "", outputs, nil)
		requireSame(t, native, beam, fmt.Sprintf("sample, outputs %v", outputs))
	}
}

func TestFixtureSameAsNative(t *testing.T) {
	eng := prismEngine(t)
	in := filepath.Join("..", "..", "internal", "pipeline", "testdata", "fixture", "sales_raw.csv")
	if _, err := os.Stat(in); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	requireSame(t, run(t, nil, in, allOutputs, nil), run(t, eng, in, allOutputs, nil), "fixture")
}

func TestNoResultFromFailingJob(t *testing.T) {
	eng := prismEngine(t)
	faultHook = func(point string, spec fileSpec) error {
		if point == faultParse {
			return errors.New("salesdag: injected failure reading " + spec.File.Name)
		}
		return nil
	}
	defer func() { faultHook = nil }()
	out := run(t, eng, "", nil, nil)
	require.ErrorContains(t, out.err, "beam job on prism failed")
	require.ErrorContains(t, out.err, "injected failure reading sample/sales_raw.csv")
	require.Empty(t, out.files)
}
