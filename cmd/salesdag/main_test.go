package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

// binPath is the salesdag binary built once for the end-to-end tests;
// noHome is the HOME the binary sees (a directory that does not exist,
// private to this test process). Both are set by TestMain and never
// changed, so that the tests can run in parallel.
var binPath, noHome string

// parallelTests is how many tests run at once unless -parallel says.
// Each test drives the race-enabled binary as a subprocess and spends
// most of its time waiting for it: a race-enabled program sleeps a second
// when it exits successfully (GORACE atexit_sleep_ms, left at its default
// so that goroutines still running at exit are checked too), and several
// tests wait out lineage or metrics timeouts. The default (GOMAXPROCS)
// would leave the cores idle during those waits.
const parallelTests = 8

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		if err := flag.Set("test.parallel", strconv.Itoa(max(parallelTests, runtime.GOMAXPROCS(0)))); err != nil {
			panic(err)
		}
	}
	dir, err := os.MkdirTemp("", "salesdag-e2e-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "salesdag")
	noHome = filepath.Join(dir, "nohome")
	build := exec.Command("go", "build", "-race", "-o", binPath, ".")
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		build = exec.Command("go", "build", "-o", binPath, ".")
	}
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building salesdag: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code   int
	stdout string
	stderr string
}

// run executes the binary in dir with a clean lineage environment.
func run(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return runBin(t, binPath, dir, env, args...)
}

// runBin is run with another salesdag binary (a variant build).
func runBin(t *testing.T, bin, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, out.String(), errb.String()}
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OPENLINEAGE") || strings.HasPrefix(kv, "SALESDAG_") {
			continue
		}
		env = append(env, kv)
	}
	// A stray .salesdag in the temporary directory (or above it) is not
	// the state directory of a test that runs in a t.TempDir.
	return append(env, "HOME="+noHome, "SALESDAG_CEILING_DIRECTORIES="+os.TempDir())
}

func fixture(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../testdata/fixtures/sample/sales_raw.csv")
	require.NoError(t, err)
	return p
}

func requireOneLine(t *testing.T, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	require.Len(t, lines, 1, "want exactly one line on stderr, got:\n%s", stderr)
	require.True(t, strings.HasPrefix(lines[0], "salesdag: "), stderr)
	require.NotContains(t, stderr, "goroutine")
	require.NotContains(t, stderr, "panic")
}

func eventTypes(t *testing.T, jsonl string) []string {
	t.Helper()
	v, err := lineagetest.New()
	require.NoError(t, err)
	var types []string
	sc := bufio.NewScanner(strings.NewReader(jsonl))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		require.NoError(t, v.ValidateEvent(sc.Bytes()), sc.Text())
		var ev struct {
			EventType string `json:"eventType"`
			Job       struct{ Name string }
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		if ev.Job.Name == "sales_data_pipeline" {
			types = append(types, ev.EventType)
		}
	}
	return types
}

func TestRunSampleDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := run(t, dir, nil, "run")
	require.Equal(t, 0, r.code, r.stderr)
	entries, err := os.ReadDir(filepath.Join(dir, "output"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"daily_sales_summary.csv", "enriched_daily_summary.csv", "weekly_aggregation.csv",
		"trend_analysis.json", "top_performing_days.json", "data_quality_metrics.json"}, names)
	want, err := os.ReadFile("../../testdata/fixtures/sample/expected/weekly_aggregation.csv")
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "output", "weekly_aggregation.csv"))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	// Nothing configured: no events on stdout; the history has them and
	// the summary ends with where they went, the status and the next step.
	require.Empty(t, r.stdout)
	require.Contains(t, r.stderr, "read 45 rows")
	require.Contains(t, r.stderr, "kept 43")
	require.Contains(t, r.stderr, "1 row ", "singular for one row")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	require.GreaterOrEqual(t, len(lines), 3, r.stderr)
	require.Equal(t, "lineage: 18 events in the local history only (set OPENLINEAGE_URL to send them, --lineage console to print them)", lines[len(lines)-3])
	require.Regexp(t, `^PASS  all \d+ checks passed$`, lines[len(lines)-2])
	id, ok := strings.CutPrefix(lines[len(lines)-1], "next: salesdag lineage show ")
	require.True(t, ok, r.stderr)
	show := run(t, dir, nil, "lineage", "show", id)
	require.Equal(t, 0, show.code, show.stderr)
	require.Contains(t, show.stdout, "COMPLETE")

	// --lineage console still prints them, and the hint goes away.
	r = run(t, dir, nil, "run", "--lineage", "console")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, []string{"START", "COMPLETE"}, eventTypes(t, r.stdout))
	require.NotContains(t, r.stderr, "lineage:")
}

func TestRunOnlyRequestedOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := run(t, dir, nil, "run", "--input", fixture(t), "--outputs", "trend_analysis", "--output-dir", "out", "--lineage", "none", "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stdout)
	require.Empty(t, r.stderr)
	entries, err := os.ReadDir(filepath.Join(dir, "out"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "trend_analysis.json", entries[0].Name())
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--outputs", "trend_analyss"}, `did you mean "trend_analysis"`},
		{[]string{"run", "--bogus"}, "unknown flag"},
		{[]string{"run", "--format", "xml"}, "unknown format"},
		{[]string{"run", "--on-bad-rows", "maybe"}, "--on-bad-rows"},
		{[]string{"run", "--workers", "-1"}, "--workers"},
		{[]string{"run", "--log-level", "loud"}, "--log-level"},
		{[]string{"run", "--log-format", "xml"}, "--log-format"},
		{[]string{"run", "--lineage", "carrier-pigeon"}, "lineage"},
		{[]string{"graph", "--format", "svg"}, "unknown graph format"},
		{[]string{"graph", "--upstream", "nope"}, "nope"},
		{[]string{"nodes", "extra"}, "unknown command"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			r := run(t, dir, nil, tc.args...)
			require.Equal(t, 2, r.code, r.stderr)
			requireOneLine(t, r.stderr)
			require.Contains(t, r.stderr, tc.want)
			_, err := os.Stat(filepath.Join(dir, "output"))
			require.True(t, os.IsNotExist(err), "no output directory on a usage error")
		})
	}
}

func TestBadInputExitsOne(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("date,product_id,amount,customer_id\n2024-01-01,P1,12,C1\n2024-01-02,P2,1O.5,C2\n"), 0o644))
	noAmount := filepath.Join(dir, "noamount.csv")
	require.NoError(t, os.WriteFile(noAmount, []byte("date,product_id,customer_id\n2024-01-01,P1,C1\n"), 0o644))
	empty := filepath.Join(dir, "empty.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	notDir := filepath.Join(dir, "afile")
	require.NoError(t, os.WriteFile(notDir, []byte("x"), 0o644))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing", []string{"--input", filepath.Join(dir, "missing.csv")}, "missing.csv"},
		{"empty", []string{"--input", empty}, "empty"},
		{"missing column", []string{"--input", noAmount}, "amount"},
		{"bad row", []string{"--input", bad}, "bad.csv:3"},
		{"directory", []string{"--input", dir}, "directory"},
		{"unwritable output dir", []string{"--output-dir", filepath.Join(notDir, "sub")}, "output"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			work := t.TempDir()
			args := append([]string{"run", "--lineage", "file", "--lineage-file", "events.jsonl"}, tc.args...)
			r := run(t, work, nil, args...)
			require.Equal(t, 1, r.code, r.stderr)
			requireOneLine(t, r.stderr)
			require.Contains(t, r.stderr, tc.want)
			_, err := os.Stat(filepath.Join(work, "output"))
			require.True(t, os.IsNotExist(err) || isEmptyDir(t, filepath.Join(work, "output")), "no outputs on failure")
			events, err := os.ReadFile(filepath.Join(work, "events.jsonl"))
			require.NoError(t, err)
			require.Equal(t, []string{"START", "FAIL"}, eventTypes(t, string(events)))
		})
	}
}

func isEmptyDir(t *testing.T, dir string) bool {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	return len(entries) == 0
}

func TestGraphDotRendersWithGraphviz(t *testing.T) {
	t.Parallel()
	dot, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Graphviz dot is required in CI (.ci/run installs it)")
		}
		t.Skip("Graphviz dot not installed")
	}
	for _, args := range [][]string{{"graph", "--format", "dot"}, {"graph", "--format", "dot", "--outputs", "weekly_aggregation"}} {
		r := run(t, t.TempDir(), nil, args...)
		require.Equal(t, 0, r.code, r.stderr)
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = strings.NewReader(r.stdout)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		require.NoError(t, cmd.Run(), errb.String())
		require.Empty(t, errb.String(), "dot must not warn")
		require.Contains(t, out.String(), "<svg")
		require.Contains(t, out.String(), "weekly_aggregation")
	}
}

func TestGraphTextAndMermaid(t *testing.T) {
	t.Parallel()
	r := run(t, t.TempDir(), nil, "graph", "--outputs", "trend_analysis")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "* └─ raw_sales_data")
	require.Contains(t, r.stdout, "├─ trend_analysis")
	require.Contains(t, r.stdout, "\n        │     ├─ weekly_aggregation", "off the path: no mark")
	r = run(t, t.TempDir(), nil, "graph", "--format", "mermaid", "--upstream", "weekly_aggregation")
	require.Equal(t, 0, r.code, r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, "graph LR\n"))
	require.NotContains(t, r.stdout, "trend_analysis")
}

func TestNodesJSON(t *testing.T) {
	t.Parallel()
	r := run(t, t.TempDir(), nil, "nodes", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var nodes []struct {
		Name string
		Type string
		Deps []string `json:"dependencies"`
		Doc  string
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &nodes))
	require.Len(t, nodes, 10)
	r = run(t, t.TempDir(), nil, "nodes")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "trend_analysis")
	require.Contains(t, r.stdout, "DEPENDS ON")
}

func TestVersionAndCompletion(t *testing.T) {
	t.Parallel()
	r := run(t, t.TempDir(), nil, "version")
	require.Equal(t, 0, r.code)
	require.True(t, strings.HasPrefix(r.stdout, "salesdag "))
	r = run(t, t.TempDir(), nil, "completion", "bash")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, "salesdag")
	r = run(t, t.TempDir(), nil, "run", "--help")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, "Examples:")
	require.Contains(t, r.stdout, "Exit codes")
}

func TestUnreachableLineageBackendDoesNotFailRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Now()
	r := run(t, dir, []string{"OPENLINEAGE_URL=http://127.0.0.1:9"}, "run", "--lineage-timeout", "3s", "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	require.Less(t, time.Since(start), 20*time.Second)
	require.Contains(t, r.stderr, "warning")
	outbox, err := filepath.Glob(filepath.Join(dir, ".salesdag", "outbox", "*.jsonl"))
	require.NoError(t, err)
	require.Len(t, outbox, 1)
	data, err := os.ReadFile(outbox[0])
	require.NoError(t, err)
	require.Equal(t, []string{"START", "COMPLETE"}, eventTypes(t, string(data)))

	// --lineage-strict: the results are written and the run is COMPLETE
	// (the data work succeeded), but the exit code says that lineage was
	// not delivered, and so does the history.
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "output")))
	r = run(t, dir, []string{"OPENLINEAGE_URL=http://127.0.0.1:9"}, "run", "--lineage-timeout", "2s", "--quiet", "--lineage-strict")
	require.Equal(t, 4, r.code, r.stderr) // exit code 4: --lineage-strict, events not delivered
	require.Contains(t, r.stderr, "--lineage-strict")
	require.FileExists(t, filepath.Join(dir, "output", "trend_analysis.json"))
	runs := historyRuns(t, dir, nil)
	require.Len(t, runs, 2)
	require.Equal(t, "COMPLETE", runs[0].Status)
	require.Contains(t, runs[0].Info["lineage"], "18 of 18 events not delivered")
	require.Contains(t, runs[0].Info["lineage"], "--lineage-strict: exit code 4")
	require.NotContains(t, runs[1].Info["lineage"], "--lineage-strict", "the run without the flag")
}

// TestInterruptAbortsWithoutPartialOutput feeds the input through a FIFO
// that never ends, so the run is certainly in progress when SIGINT comes.
func TestInterruptAbortsWithoutPartialOutput(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			fifo := filepath.Join(dir, "in.csv")
			require.NoError(t, syscall.Mkfifo(fifo, 0o600))
			// An earlier result that the interrupted run must leave untouched.
			outDir := filepath.Join(dir, "output")
			require.NoError(t, os.MkdirAll(outDir, 0o755))
			old := filepath.Join(outDir, "trend_analysis.json")
			require.NoError(t, os.WriteFile(old, []byte("{}"), 0o644))

			cmd := exec.Command(binPath, "run", "--input", fifo, "--lineage", "file", "--lineage-file", "events.jsonl")
			cmd.Dir = dir
			cmd.Env = cleanEnv()
			var errb bytes.Buffer
			cmd.Stderr = &errb
			// O_RDWR opens a FIFO without waiting for a reader (Linux).
			w, err := os.OpenFile(fifo, os.O_RDWR, 0)
			require.NoError(t, err)
			defer w.Close()
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			go func() {
				// Stops with an error once the reader is gone.
				_, _ = w.WriteString("date,product_id,amount,customer_id\n")
				for range 2000 {
					if _, err := w.WriteString("2024-01-01,P1,10.5,C1\n"); err != nil {
						return
					}
				}
			}()
			// Wait until the root START is recorded, then interrupt.
			deadline := time.After(20 * time.Second)
			for started := false; !started; {
				select {
				case err := <-exited:
					t.Fatalf("salesdag ended before the signal: %v\n%s", err, errb.String())
				case <-deadline:
					t.Fatal("no START event within 20s")
				case <-time.After(10 * time.Millisecond):
					b, _ := os.ReadFile(filepath.Join(dir, "events.jsonl"))
					started = bytes.Contains(b, []byte(`"START"`))
				}
			}
			require.NoError(t, cmd.Process.Signal(sig))
			select {
			case err = <-exited:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("salesdag did not stop within 20s of the signal")
			}
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, 128+int(sig), ee.ExitCode(), errb.String())
			got, err := os.ReadFile(old)
			require.NoError(t, err)
			require.Equal(t, "{}", string(got))
			entries, err := os.ReadDir(outDir)
			require.NoError(t, err)
			require.Len(t, entries, 1, "no new or temporary files")
			events, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
			require.NoError(t, err)
			require.Equal(t, []string{"START", "ABORT"}, eventTypes(t, string(events)))
		})
	}
}

func TestCacheHitsOnRerunAndCacheCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"SALESDAG_HOME=" + filepath.Join(dir, "home")}
	first := run(t, dir, env, "run", "--cache", "--lineage", "file", "--lineage-file", "events1.jsonl")
	require.Equal(t, 0, first.code, first.stderr)
	require.Contains(t, first.stderr, "cache miss")
	want, err := os.ReadFile(filepath.Join(dir, "output", "trend_analysis.json"))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "output")))

	second := run(t, dir, env, "run", "--cache", "--lineage", "file", "--lineage-file", "events2.jsonl")
	require.Equal(t, 0, second.code, second.stderr)
	require.Contains(t, second.stderr, "cache: 6 hit, 2 skipped")
	require.Contains(t, second.stderr, "salesdag: from cache (45 rows from sample/sales_raw.csv (embedded), kept 43);", "row counts survive a fully cached run, which reads nothing")
	require.NotContains(t, second.stderr, "read 45 rows")
	got, err := os.ReadFile(filepath.Join(dir, "output", "trend_analysis.json"))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	events, err := os.ReadFile(filepath.Join(dir, "events2.jsonl"))
	require.NoError(t, err)
	require.Equal(t, []string{"START", "COMPLETE"}, eventTypes(t, string(events)))
	require.Contains(t, string(events), `"salesdag_cache"`)
	require.Contains(t, string(events), `"status":"hit"`)

	third := run(t, dir, env, "run", "--cache", "--recompute", "trend_analysis", "--lineage", "none")
	require.Equal(t, 0, third.code, third.stderr)
	require.Contains(t, third.stderr, "trend_analysis")
	require.Contains(t, third.stderr, "cache recomputed")

	ls := run(t, dir, env, "cache", "ls", "--json")
	require.Equal(t, 0, ls.code, ls.stderr)
	var entries []map[string]any
	require.NoError(t, json.Unmarshal([]byte(ls.stdout), &entries))
	require.Len(t, entries, 6)

	bad := run(t, dir, env, "run", "--recompute", "trend_analysis")
	require.Equal(t, 2, bad.code)
	require.Contains(t, bad.stderr, "need --cache")
	bad = run(t, dir, env, "run", "--cache", "--recompute", "nope")
	require.Equal(t, 2, bad.code)
	bad = run(t, dir, env, "cache", "prune")
	require.Equal(t, 2, bad.code)

	pr := run(t, dir, env, "cache", "prune", "--max-size", "1B")
	require.Equal(t, 0, pr.code, pr.stderr)
	require.Contains(t, pr.stdout, "removed 6 entries")
	cl := run(t, dir, env, "cache", "clear")
	require.Equal(t, 0, cl.code, cl.stderr)
	require.Contains(t, cl.stdout, "removed 0 entries")
	for _, args := range [][]string{{"cache", "ls"}, {"cache", "clear"}, {"cache", "prune", "--older-than", "1d"}} {
		none := run(t, t.TempDir(), []string{"SALESDAG_HOME=" + filepath.Join(dir, "nohome")}, args...)
		require.Equal(t, 0, none.code, "nothing to do is not an error: %v", args)
		require.Contains(t, none.stderr, "no cache")
	}
	none := run(t, t.TempDir(), []string{"SALESDAG_HOME=" + filepath.Join(dir, "nohome")}, "cache", "ls", "--json")
	require.Equal(t, "[]\n", none.stdout)

	// The history recorded every run; --no-history leaves it out.
	runs := run(t, dir, env, "lineage", "runs", "--json")
	require.Equal(t, 0, runs.code, runs.stderr)
	var listed []map[string]any
	require.NoError(t, json.Unmarshal([]byte(runs.stdout), &listed))
	require.Len(t, listed, 3)
	nh := run(t, dir, env, "run", "--lineage", "none", "--no-history", "--quiet")
	require.Equal(t, 0, nh.code, nh.stderr)
	runs = run(t, dir, env, "lineage", "runs", "--json")
	require.NoError(t, json.Unmarshal([]byte(runs.stdout), &listed))
	require.Len(t, listed, 3)
}

func TestFailedCheckExitsThree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The sample loses 2 of 45 rows (4.44%) in cleaning.
	r := run(t, dir, nil, "run", "--max-data-loss", "1", "--lineage", "file", "--lineage-file", "events.jsonl")
	require.Equal(t, 3, r.code, r.stderr)
	require.Contains(t, r.stderr, "max_data_loss")
	require.Contains(t, r.stderr, "4.444444444444445")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	require.True(t, strings.HasPrefix(lines[len(lines)-1], "salesdag: 1 data-quality check failed"), r.stderr)
	_, err := os.Stat(filepath.Join(dir, "output"))
	require.True(t, os.IsNotExist(err) || isEmptyDir(t, filepath.Join(dir, "output")), "nothing is written")
	events, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	require.NoError(t, err)
	require.Equal(t, []string{"START", "FAIL"}, eventTypes(t, string(events)))

	ok := run(t, dir, nil, "run", "--max-data-loss", "5", "--lineage", "none", "--quiet")
	require.Equal(t, 0, ok.code, ok.stderr)
	bad := run(t, dir, nil, "run", "--max-data-loss", "150")
	require.Equal(t, 2, bad.code, bad.stderr)
}

func TestPipeInputIsReadOnceAndNotCached(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"SALESDAG_HOME=" + filepath.Join(dir, "home")}
	sample, err := os.ReadFile(fixture(t))
	require.NoError(t, err)
	other := []byte("date,product_id,amount,customer_id\n2024-02-01,P1,10.0,C1\n2024-02-02,P2,20.0,C2\n")
	for i, data := range [][]byte{sample, other} {
		fifo := filepath.Join(dir, fmt.Sprintf("in%d.csv", i))
		require.NoError(t, syscall.Mkfifo(fifo, 0o600))
		go func() {
			// Opening for write waits for salesdag to open the pipe once.
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer w.Close()
			_, _ = w.Write(data)
		}()
		r := run(t, dir, env, "run", "--input", fifo, "--cache", "--lineage", "none", "--output-dir", fmt.Sprintf("out%d", i))
		require.Equal(t, 0, r.code, r.stderr)
		require.NotContains(t, r.stderr, "cache hit", "a pipe's content cannot be keyed, so nothing may hit")
		require.Contains(t, r.stderr, "not a regular file")
	}
	got, err := os.ReadFile(filepath.Join(dir, "out1", "daily_sales_summary.csv"))
	require.NoError(t, err)
	require.Equal(t, "date,total_amount,avg_amount,transaction_count,unique_products\n2024-02-01,10.0,10.0,1,1\n2024-02-02,20.0,20.0,1,1\n", string(got))
}

func TestClosedStdoutDoesNotKillTheRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(binPath, "run", "--lineage", "console")
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	require.NoError(t, out.Close()) // like `salesdag run | head -c 0`
	require.NoError(t, cmd.Wait(), errb.String())
	entries, err := os.ReadDir(filepath.Join(dir, "output"))
	require.NoError(t, err)
	require.Len(t, entries, 6)
	require.Contains(t, errb.String(), "broken pipe")
	require.Contains(t, errb.String(), "lineage flush")
}

func TestMoreUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--outputs", "source"}, "is an input"},
		{[]string{"run", "--workers", "100000"}, "--workers must be between"},
		{[]string{"run", "--lineage-timeout", "-1s"}, "--lineage-timeout"},
		{[]string{"run", "--outputs", ""}, "--outputs is empty"},
		{[]string{"run", "--format", ""}, "--format is empty"},
	} {
		r := run(t, t.TempDir(), nil, tc.args...)
		require.Equal(t, 2, r.code, r.stderr)
		requireOneLine(t, r.stderr)
		require.Contains(t, r.stderr, tc.want)
	}
}
