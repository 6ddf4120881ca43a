package engine

import (
	"bufio"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/pipeline"
)

var (
	flagSeeds   = flag.Int("seeds", 50, "TestRandomSameAsNative: number of random inputs (seeds 1..N)")
	flagMillion = flag.Bool("million", true, "TestMillionRowsSameAsNative: run the 1M-row case")
	flagRows    = flag.Int("rows", 1_000_000, "TestMillionRowsSameAsNative: rows")
)

// writeRandom writes the random input of seed (rows < 0: the seed draws
// the count) into dir.
func writeRandom(t *testing.T, dir string, seed int64, rows int) string {
	t.Helper()
	path := filepath.Join(dir, "in.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	require.NoError(t, pipeline.GenerateRandom(w, seed, rows))
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	return path
}

// TestRandomSameAsNative is the differential test of "Trust" between the
// two engines: random valid inputs of every shape, every output byte for
// byte, and the input's statistics in the events.
func TestRandomSameAsNative(t *testing.T) {
	eng := prismEngine(t)
	before := fileOrderDates.Load()
	rows := 0
	for seed := int64(1); seed <= int64(*flagSeeds); seed++ {
		in := writeRandom(t, t.TempDir(), seed, -1)
		native := run(t, nil, in, nil, nil)
		beam := run(t, eng, in, nil, nil)
		requireSame(t, native, beam, "seed "+jsonNum(seed))
		require.Equal(t, inputFacets(t, native.events), inputFacets(t, beam.events), "seed %d: input statistics", seed)
		var q pipeline.QualityMetrics
		require.NoError(t, json.Unmarshal(native.files["data_quality_metrics.json"], &q))
		rows += int(q.RawRecordCount)
	}
	t.Logf("%d seeds, %d rows: %d dates needed the file-order sum", *flagSeeds, rows, fileOrderDates.Load()-before)
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestMillionRowsSameAsNative: one random input of 1M rows.
func TestMillionRowsSameAsNative(t *testing.T) {
	if !*flagMillion || testing.Short() {
		t.Skip("-million=false or -short")
	}
	eng := prismEngine(t)
	in := writeRandom(t, t.TempDir(), 900_001, *flagRows)
	before := fileOrderDates.Load()
	requireSame(t, run(t, nil, in, nil, nil), run(t, eng, in, nil, nil), "1M rows")
	t.Logf("1M rows: %d dates needed the file-order sum", fileOrderDates.Load()-before)
}

// inputFacets returns the input datasets of the root run's terminal event.
func inputFacets(t *testing.T, events []*lineage.RunEvent) string {
	t.Helper()
	for _, e := range events {
		if e.Job.Name == "sales_data_pipeline" && (e.EventType == lineage.EventComplete || e.EventType == lineage.EventFail) {
			b, err := json.Marshal(e.Inputs)
			require.NoError(t, err)
			return string(b)
		}
	}
	t.Fatal("no terminal root event")
	return ""
}

const badCSV = "date,product_id,amount,customer_id\n" +
	"2024-01-01,P1,10.50,C1\n" +
	"2024-01-01,P2,3.25,C2\n" +
	"2024-13-45,P1,1.00,C3\n" +
	"2024-01-02,P1,oops,C4\n" +
	"2024-01-02,P1,7.00,C5\n" +
	"2024-01-02,P1,7.0,C5\n"

func TestBadRowsFollowThePolicy(t *testing.T) {
	eng := prismEngine(t)
	in := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(in, []byte(badCSV), 0o644))

	native, beam := run(t, nil, in, nil, nil), run(t, eng, in, nil, nil)
	require.Error(t, native.err)
	require.Error(t, beam.err)
	require.Equal(t, native.err.Error(), beam.err.Error(), "fail: the same first bad row, file and line")
	require.Contains(t, beam.err.Error(), "bad.csv:4: invalid date")
	require.Empty(t, beam.files)

	skip := func(o *app.Options) { o.OnBadRows = pipeline.SkipBadRows }
	native, beam = run(t, nil, in, nil, skip), run(t, eng, in, nil, skip)
	requireSame(t, native, beam, "skip")
	require.Contains(t, string(beam.files["rejected_rows.csv"]), "5,invalid amount")
}

// engineFacet returns the salesdag_engine facet and processing_engine
// name of the terminal root event.
func engineFacet(t *testing.T, events []*lineage.RunEvent) (typ lineage.EventType, pe string, f app.EngineRunFacet) {
	t.Helper()
	for _, e := range events {
		if e.Job.Name != "sales_data_pipeline" || e.EventType == lineage.EventStart {
			continue
		}
		b, err := json.Marshal(e.Run.Facets)
		require.NoError(t, err)
		var fs struct {
			PE     struct{ Name string } `json:"processing_engine"`
			Engine app.EngineRunFacet    `json:"salesdag_engine"`
		}
		require.NoError(t, json.Unmarshal(b, &fs))
		return e.EventType, fs.PE.Name, fs.Engine
	}
	t.Fatal("no terminal root event")
	return
}

func TestLineageNamesBeam(t *testing.T) {
	out := run(t, prismEngine(t), "", nil, nil)
	require.NoError(t, out.err)
	typ, pe, f := engineFacet(t, out.events)
	require.Equal(t, lineage.EventComplete, typ)
	require.Equal(t, "Apache Beam (prism runner)", pe)
	require.Equal(t, "2.77.0", f.SDKVersion)
	require.Equal(t, "prism", f.Runner)
	require.NotEmpty(t, f.JobID)
	native := run(t, nil, "", nil, nil)
	var jobs, nativeJobs []string
	for _, e := range out.events {
		jobs = append(jobs, string(e.EventType)+" "+e.Job.Name)
	}
	for _, e := range native.events {
		nativeJobs = append(nativeJobs, string(e.EventType)+" "+e.Job.Name)
	}
	require.ElementsMatch(t, nativeJobs, jobs, "the same root and node runs")
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestRunnerErrorsFailTheRun(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"unreachable endpoint", Config{Runner: RunnerFlink, JobEndpoint: freePort(t)}, "beam flink job endpoint 127.0.0.1:"},
		{"missing endpoint", Config{Runner: RunnerSpark}, "--runner spark needs --job-endpoint HOST:PORT"},
		{"missing dataflow flags", Config{Runner: RunnerDataflow, Project: "p"}, "--runner dataflow needs --region, --staging-location"},
		{"unknown runner", Config{Runner: "storm"}, `unknown --runner "storm"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := run(t, New(tt.cfg), "", nil, nil)
			require.ErrorContains(t, out.err, tt.want)
			require.NotContains(t, out.err.Error(), "\n", "one line")
			require.Empty(t, out.files)
			typ, _, f := engineFacet(t, out.events)
			require.Equal(t, lineage.EventFail, typ)
			require.Equal(t, tt.cfg.Runner, f.Runner)
		})
	}
}
