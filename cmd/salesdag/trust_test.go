package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	faultBinOnce sync.Once
	faultBin     string
	faultBinErr  error
)

// faultBinary builds salesdag with -tags salesdag_faults once: that build
// injects a panic where $SALESDAG_FAULT says (see fault_inject.go).
func faultBinary(t *testing.T) string {
	t.Helper()
	faultBinOnce.Do(func() {
		faultBin = filepath.Join(filepath.Dir(binPath), "salesdag-faults")
		args := []string{"build", "-tags", "salesdag_faults", "-o", faultBin, "."}
		if runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64" {
			args = append(args[:1], append([]string{"-race"}, args[1:]...)...)
		}
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			faultBinErr = fmt.Errorf("building the fault-injection binary: %v\n%s", err, out)
		}
	})
	require.NoError(t, faultBinErr)
	return faultBin
}

// rootEvents returns the root run's events of a JSON-lines file, decoded.
func rootEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	eventTypes(t, string(b)) // every event is valid OpenLineage
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		if ev["job"].(map[string]any)["name"] == "sales_data_pipeline" {
			out = append(out, ev)
		}
	}
	return out
}

func errorMessage(ev map[string]any) string {
	run, _ := ev["run"].(map[string]any)
	facets, _ := run["facets"].(map[string]any)
	em, _ := facets["errorMessage"].(map[string]any)
	msg, _ := em["message"].(string)
	return msg
}

// latestRun returns the newest run of the history as `lineage runs
// --json` lists it.
func latestRun(t *testing.T, dir string, env []string) map[string]any {
	t.Helper()
	r := run(t, dir, env, "lineage", "runs", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
	require.NotEmpty(t, runs)
	return runs[0]
}

// TestPanicFailsTheRunCleanly: a panic anywhere in a run (here a node's
// computation, an AfterGraph hook, the run command itself) once exited 2
// (the usage code) with a Go stack trace. It must exit 1 with one line
// that asks to report the bug, a FAIL event with the message, the run
// FAIL in the history, and no outputs; the stack is in the debug log only.
func TestPanicFailsTheRunCleanly(t *testing.T) {
	t.Parallel()
	bin := faultBinary(t)
	cases := []struct {
		fault  string
		want   string
		events bool // the run started: events and history
	}{
		{"node:daily_sales_summary", "node daily_sales_summary: panic: runtime error: index out of range", true},
		{"node:raw_sales_data", "node raw_sales_data: panic: runtime error: index out of range", true},
		{"aftergraph", "after-graph hook: panic: injected fault in AfterGraph", true},
		{"cli", "panic: injected fault in the run command", false},
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			env := []string{"SALESDAG_HOME=" + filepath.Join(dir, "home"), "SALESDAG_FAULT=" + tc.fault}
			r := runBin(t, bin, dir, env, "run", "--input", fixture(t), "--lineage", "file", "--lineage-file", "events.jsonl")
			require.Equal(t, 1, r.code, r.stderr)
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			require.Len(t, lines, 1, "one line on stderr:\n%s", r.stderr)
			require.True(t, strings.HasPrefix(lines[0], "salesdag: "+tc.want), lines[0])
			require.Contains(t, lines[0], "this is a bug in salesdag: please report it")
			require.NotContains(t, r.stderr, "goroutine")
			require.False(t, exists(filepath.Join(dir, "output")) && !isEmptyDir(t, filepath.Join(dir, "output")), "no outputs")
			if tc.events {
				evs := rootEvents(t, filepath.Join(dir, "events.jsonl"))
				last := evs[len(evs)-1]
				require.Equal(t, "FAIL", last["eventType"])
				require.Contains(t, errorMessage(last), tc.want)
				hist := latestRun(t, dir, env)
				require.Equal(t, "FAIL", hist["status"])
			}

			// The stack trace is there for a debug log.
			r = runBin(t, bin, dir, env, "run", "--input", fixture(t), "--lineage", "none", "--log-level", "debug")
			require.Equal(t, 1, r.code)
			require.Contains(t, r.stderr, "stack trace")
			require.Contains(t, r.stderr, "goroutine")
		})
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestProfileRoundingEdgeEndToEnd is the crash of issue 9: 100,000
// amounts of 5.00 and one of 1.1 made the input profile index its cents
// bitset at -1: exit 2 and a stack trace with several workers, "0 rows,
// 0 bytes" in events and history with one.
func TestProfileRoundingEdgeEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("date,product_id,amount,customer_id\n")
	for i := range 100_000 {
		fmt.Fprintf(&b, "2024-01-%02d,P%d,5.00,C%d\n", i%28+1, i%50, i%1000)
	}
	b.WriteString("2024-02-01,P1,1.1,C1\n")
	in := filepath.Join(dir, "edge.csv")
	require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o644))
	for _, workers := range []string{"1", "4"} {
		t.Run("workers "+workers, func(t *testing.T) {
			t.Parallel()
			work := t.TempDir()
			env := []string{"SALESDAG_HOME=" + filepath.Join(work, "home")}
			r := run(t, work, env, "run", "--input", in, "--workers", workers, "--lineage", "file", "--lineage-file", "events.jsonl")
			require.Equal(t, 0, r.code, r.stderr)
			require.NotContains(t, r.stderr, "panic")
			evs := rootEvents(t, filepath.Join(work, "events.jsonl"))
			last := evs[len(evs)-1]
			require.Equal(t, "COMPLETE", last["eventType"])
			inputs, err := json.Marshal(last["inputs"])
			require.NoError(t, err)
			require.Contains(t, string(inputs), `"rowCount":100001`)
			show := run(t, work, env, "lineage", "show", "latest", "--json")
			require.Equal(t, 0, show.code, show.stderr)
			require.Contains(t, show.stdout, "100001")
		})
	}
}

// TestProcInputsNameTheRealProblem: /proc files report size 0 and were
// "empty". /proc/self/status is read (as a stream) and has no header;
// /proc/self/mem cannot be read at all (an I/O error).
func TestProcInputsNameTheRealProblem(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	cases := []struct{ input, want string }{
		{"/proc/self/status", "/proc/self/status:1: no header line"},
		{"/proc/self/mem", "input /proc/self/mem: cannot be read: input/output error"},
	}
	for _, tc := range cases {
		dir := t.TempDir()
		r := run(t, dir, nil, "run", "--input", tc.input, "--lineage", "file", "--lineage-file", "events.jsonl")
		require.Equal(t, 1, r.code, r.stderr)
		requireOneLine(t, r.stderr)
		require.Contains(t, r.stderr, tc.want)
		require.NotContains(t, r.stderr, "empty")
		evs := rootEvents(t, filepath.Join(dir, "events.jsonl"))
		require.Equal(t, "FAIL", evs[len(evs)-1]["eventType"])
	}
}

// TestNoDataInAnyMessage feeds files whose first line or columns are data
// (headerless, shifted, an extra column, garbled) with secret-looking
// customer ids, and scans everything salesdag says about them: stderr,
// stdout (console events), the events file, the history (`lineage runs`
// and `lineage show --json`) and JSON debug logs. No id may appear.
func TestNoDataInAnyMessage(t *testing.T) {
	t.Parallel()
	const hdr = "date,product_id,amount,customer_id\n"
	files := map[string]string{
		"headerless":           "2024-01-01,P1,5.00,CUSTSECRET21\n2024-01-02,P2,6.00,CUSTSECRET22\n",
		"headerless extra":     "\n2024-01-01,P1,5.00,CUSTSECRET21,x\n",
		"headerless id first":  "CUSTSECRET21,2024-01-01,P1,5.00\n",
		"shifted":              hdr + "CUSTSECRET21,2024-01-01,P1,5.00\n2024-01-02,P2,6.00,CUSTSECRET22\n",
		"shifted amount":       hdr + "2024-01-02,P2,CUSTSECRET22,6.00\n2024-01-03,P2,6.00,C1\n",
		"extra column":         hdr + "2024-01-01,P1,5.00,CUSTSECRET21,surplus\n",
		"garbled":              "\x00\x01CUSTSECRET21\x02;;\"\n\xff\xfeCUSTSECRET22\n",
		"garbled after header": hdr + "2024-01-01,P1,\"5.00,CUSTSECRET21\n",
		"bad utf-8 after id":   hdr + "2024-01-01,P1,5.00,CUSTSECRET21\xff\n2024-01-03,P2,6.00,C1\n",
		"semicolon separated":  "date;product_id;amount;customer_id\n2024-01-01;P1;5.00;CUSTSECRET21\n",
	}
	for name, content := range files {
		for _, mode := range []string{"fail", "skip"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				in := filepath.Join(dir, "in.csv")
				require.NoError(t, os.WriteFile(in, []byte(content), 0o644))
				env := []string{"SALESDAG_HOME=" + filepath.Join(dir, "home")}
				seen := map[string]string{}
				// Fail mode: events to a file, JSON debug logs; skip mode:
				// events on stdout, text debug logs.
				args := []string{"run", "--input", in, "--on-bad-rows", mode, "--log-level", "debug", "--lineage", "file", "--lineage-file", "events.jsonl", "--log-format", "json"}
				if mode == "skip" {
					args = []string{"run", "--input", in, "--on-bad-rows", mode, "--log-level", "debug", "--lineage", "console"}
				}
				r := run(t, dir, env, args...)
				seen["stderr"], seen["stdout"] = r.stderr, r.stdout
				if mode == "fail" {
					require.Equal(t, 1, r.code, r.stderr)
					ev, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
					require.NoError(t, err)
					seen["events file"] = string(ev)
				}
				for _, args := range [][]string{{"lineage", "runs", "--json"}, {"lineage", "show", "latest"}, {"lineage", "show", "latest", "--json"}} {
					h := run(t, dir, env, args...)
					require.Equal(t, 0, h.code, h.stderr)
					seen[strings.Join(args, " ")] = h.stdout + h.stderr
				}
				for where, text := range seen {
					require.NotContains(t, text, "SECRET", "a customer id in %s:\n%s", where, text)
				}
			})
		}
	}
}
