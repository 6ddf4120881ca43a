package difftest

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/pipeline"
)

var (
	flagN       = flag.Int("n", defaultN, "TestDifferential: number of seeds (first..first+n-1)")
	flagFirst   = flag.Int64("first", 1, "TestDifferential: first seed")
	flagSeed    = flag.Int64("seed", 0, "run only this seed (with -rows, the row count it was run with)")
	flagRows    = flag.Int("rows", -1, "with -seed: number of rows (-1: the seed draws it)")
	flagWorkers = flag.String("workers", "1,2,8", "worker counts salesdag runs with")
	flagKeep    = flag.Bool("keep", false, "keep the inputs and outputs of mismatching seeds (path in the message)")
	flagPython  = flag.String("python", "/usr/bin/python3", "python with pandas (Debian's python3-pandas)")
)

// defaultN is 200 seeds, or 10 under -race: make test runs the race
// detector over every package first, then this package without it, which
// is about ten times faster (see the Makefile).
var defaultN = map[bool]int{false: 200, true: 10}[raceEnabled]

// bigCases are the 200k+ row inputs: shapes drawn by their seeds, sizes
// fixed here.
var bigCases = []diffCase{{seed: 900_001, rows: 200_000}, {seed: 900_002, rows: 250_000}, {seed: 900_003, rows: 300_000}}

type diffCase struct {
	seed int64
	rows int // -1: the seed draws it
}

func (c diffCase) String() string {
	if c.rows < 0 {
		return fmt.Sprintf("seed %d", c.seed)
	}
	return fmt.Sprintf("seed %d (%d rows)", c.seed, c.rows)
}

// repro is the command that runs this one case again.
func (c diffCase) repro() string {
	return fmt.Sprintf("go test -count=1 -run 'TestDifferential$' ./internal/difftest -args -seed %d -rows %d -keep", c.seed, c.rows)
}

// byHand is the same case step by step with the real binary.
func (c diffCase) byHand(workers int) string {
	rows := ""
	if c.rows >= 0 {
		rows = fmt.Sprintf(" --rows %d", c.rows)
	}
	return fmt.Sprintf("go run ./cmd/gensales --random --seed %d%s --output-file in.csv && "+
		"go run ./cmd/salesdag run --input in.csv --workers %d --output-dir got --lineage none --no-history && "+
		"%s testdata/reference/salesdag_ref.py in.csv want && diff -r want got", c.seed, rows, workers, *flagPython)
}

// TestDifferential runs salesdag and the pandas reference on -n random
// valid inputs and compares every output. With -seed it runs that one.
func TestDifferential(t *testing.T) {
	cases := []diffCase{}
	if *flagSeed != 0 {
		cases = append(cases, diffCase{seed: *flagSeed, rows: *flagRows})
	} else {
		for i := range *flagN {
			cases = append(cases, diffCase{seed: *flagFirst + int64(i), rows: -1})
		}
	}
	runCases(t, cases)
}

// TestDifferentialBig runs the 200k+ row inputs. make test runs it
// without the race detector (see the Makefile), which makes it 10x faster.
func TestDifferentialBig(t *testing.T) {
	if *flagSeed != 0 {
		t.Skip("-seed given: TestDifferential runs it")
	}
	if raceEnabled && os.Getenv("DIFFTEST_BIG_RACE") == "" {
		t.Skip("under -race: make test runs this test in a separate invocation without -race (set DIFFTEST_BIG_RACE=1 to run it here)")
	}
	runCases(t, bigCases)
}

// reference checks that the pandas reference can run here. Without it
// the tests skip locally and fail in CI, where .ci/run installs it.
func reference(t *testing.T) string {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "testdata", "reference", "salesdag_ref.py"))
	require.NoError(t, err)
	out, err := exec.Command(*flagPython, "-c", "import pandas").CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("the differential test needs %s with pandas (apt-get install python3-pandas): %v: %s",
			*flagPython, err, strings.TrimSpace(string(out)))
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return script
}

// runCases runs the reference once for all cases (pandas' import is slow),
// one case ahead of salesdag, and compares as each finishes.
func runCases(t *testing.T, cases []diffCase) {
	script := reference(t)
	var workers []int
	for _, w := range strings.Split(*flagWorkers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		require.NoError(t, err, "-workers")
		workers = append(workers, n)
	}
	d, err := app.Build()
	require.NoError(t, err)
	plan, err := app.Prepare(d, nil)
	require.NoError(t, err)
	root := t.TempDir()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	py := exec.CommandContext(ctx, *flagPython, script, "-")
	py.Stderr = os.Stderr
	stdin, err := py.StdinPipe()
	require.NoError(t, err)
	stdout, err := py.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, py.Start())
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	defer func() {
		stdin.Close()
		cancel()
		_ = py.Wait()
	}()

	// Feed the reference one case ahead of the Go side.
	dirOf := func(c diffCase) string { return filepath.Join(root, strconv.FormatInt(c.seed, 10)) }
	send := func(c diffCase) {
		dir := dirOf(c)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		f, err := os.Create(filepath.Join(dir, "in.csv"))
		require.NoError(t, err)
		require.NoError(t, pipeline.GenerateRandom(f, c.seed, c.rows))
		require.NoError(t, f.Close())
		_, err = fmt.Fprintf(stdin, "%s\t%s\n", filepath.Join(dir, "in.csv"), filepath.Join(dir, "want"))
		require.NoError(t, err)
	}
	start := time.Now()
	failed := 0
	send(cases[0])
	for i, c := range cases {
		if i+1 < len(cases) {
			send(cases[i+1])
		}
		dir := dirOf(c)
		in := filepath.Join(dir, "in.csv")
		gotErr := map[int]error{}
		for _, w := range workers {
			_, gotErr[w] = app.Run(ctx, app.Options{DAG: d, Plan: plan,
				Input: in, OutputDir: filepath.Join(dir, fmt.Sprintf("got-w%d", w)), Workers: w})
		}
		line, ok := <-lines
		require.True(t, ok, "the reference stopped after %d of %d cases (its stderr is above)", i, len(cases))
		require.Equal(t, "ok "+in, line, "%s: the reference could not run on this input (a generator bug?)\nreproduce: %s", c, c.repro())
		var problems []string
		for _, w := range workers {
			if gotErr[w] != nil {
				problems = append(problems, fmt.Sprintf("workers=%d: salesdag failed: %v", w, gotErr[w]))
				continue
			}
			for _, p := range compareDirs(filepath.Join(dir, "want"), filepath.Join(dir, fmt.Sprintf("got-w%d", w))) {
				problems = append(problems, fmt.Sprintf("workers=%d: %s", w, p))
			}
		}
		if len(problems) > 0 {
			failed++
			kept := ""
			if *flagKeep {
				kept = "\nkept: " + dir
			}
			t.Errorf("%s: salesdag and the pandas reference differ:\n  %s\nreproduce: %s\nby hand:   %s%s",
				c, strings.Join(problems, "\n  "), c.repro(), c.byHand(workers[len(workers)-1]), kept)
			if failed >= 10 {
				t.Fatalf("stopping after %d mismatching cases", failed)
			}
		}
		if len(problems) == 0 || !*flagKeep {
			require.NoError(t, os.RemoveAll(dir))
		}
	}
	t.Logf("%d cases, workers %v: %s", len(cases), workers, time.Since(start).Round(time.Millisecond))
}

// outputs are the six files of a default run.
var outputs = []string{
	"daily_sales_summary.csv", "enriched_daily_summary.csv", "weekly_aggregation.csv",
	"data_quality_metrics.json", "trend_analysis.json", "top_performing_days.json",
}

// compareDirs compares the six outputs: CSV byte for byte, JSON by value
// and key order. It returns what differs.
func compareDirs(want, got string) []string {
	var problems []string
	for _, name := range outputs {
		w, err := os.ReadFile(filepath.Join(want, name))
		if err != nil {
			problems = append(problems, fmt.Sprintf("reference: %v", err))
			continue
		}
		g, err := os.ReadFile(filepath.Join(got, name))
		if err != nil {
			problems = append(problems, fmt.Sprintf("salesdag: %v", err))
			continue
		}
		if strings.HasSuffix(name, ".csv") {
			if p := firstDiff(string(w), string(g)); p != "" {
				problems = append(problems, name+": "+p)
			}
			continue
		}
		if p := jsonDiff(w, g); p != "" {
			problems = append(problems, name+": "+p)
		}
	}
	return problems
}

// firstDiff names the first line where two texts differ.
func firstDiff(want, got string) string {
	if want == got {
		return ""
	}
	wl, gl := strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var a, b string
		if i < len(wl) {
			a = wl[i]
		}
		if i < len(gl) {
			b = gl[i]
		}
		if a != b {
			return fmt.Sprintf("line %d: want %q, got %q", i+1, a, b)
		}
	}
	return "differs"
}

// jsonDiff compares two JSON documents by value (numbers as float64, so
// 1 equals 1.0) and by the order of object keys.
func jsonDiff(want, got []byte) string {
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return fmt.Sprintf("reference JSON: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Sprintf("salesdag JSON: %v", err)
	}
	if p := valueDiff("$", w, g); p != "" {
		return p
	}
	wk, gk := keyOrder(want), keyOrder(got)
	if strings.Join(wk, ",") != strings.Join(gk, ",") {
		return fmt.Sprintf("key order: want %v, got %v", wk, gk)
	}
	return ""
}

func valueDiff(path string, w, g any) string {
	switch wv := w.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok || len(gv) != len(wv) {
			return fmt.Sprintf("%s: want %v, got %v", path, w, g)
		}
		for k := range wv {
			if p := valueDiff(path+"."+k, wv[k], gv[k]); p != "" {
				return p
			}
		}
		return ""
	case []any:
		gv, ok := g.([]any)
		if !ok || len(gv) != len(wv) {
			return fmt.Sprintf("%s: want %v, got %v", path, w, g)
		}
		for i := range wv {
			if p := valueDiff(fmt.Sprintf("%s[%d]", path, i), wv[i], gv[i]); p != "" {
				return p
			}
		}
		return ""
	}
	if w != g {
		return fmt.Sprintf("%s: want %v, got %v", path, w, g)
	}
	return ""
}

// keyOrder lists the object keys of a JSON document in order.
func keyOrder(doc []byte) []string {
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	var keys []string
	var stack []bool // per open container: is it an object?
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return keys
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, true)
				expectKey = true
				continue
			case '[':
				stack = append(stack, false)
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		} else if s, ok := tok.(string); ok && expectKey {
			keys = append(keys, s)
			expectKey = false
			continue
		}
		expectKey = len(stack) > 0 && stack[len(stack)-1] && dec.More()
	}
}
