package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// needTool returns the path of an external program a test needs. In CI
// (CI=true) a missing one fails the test: .ci/run installs it.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (Debian package %s; .ci/run installs it)", name, pkg)
		}
		t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	}
	return p
}

// runSummary is the part of the run record the tests read.
type runSummary struct {
	SchemaVersion string `json:"schemaVersion"`
	RunID         string `json:"runId"`
	Status        string `json:"status"`
	ExitCode      int    `json:"exitCode"`
	Nodes         []struct {
		Name, Status, Reason, Error string
	} `json:"nodes"`
	Inputs []struct {
		Rows   int64  `json:"rows"`
		Bytes  int64  `json:"bytes"`
		SHA256 string `json:"sha256"`
	} `json:"inputs"`
	Outputs []struct {
		Node, Path, Format, SHA256 string
		Rows, Bytes                int64
	} `json:"outputs"`
	Checks []struct {
		Node, Name, Severity string
		Success              bool
	} `json:"checks"`
	Lineage struct {
		Enabled                       bool
		Emitted, Sent, Queued, Failed int
	} `json:"lineage"`
	Warnings []string `json:"warnings"`
}

// readSummary validates a run record against the versioned schema in
// docs/schemas and decodes it.
func readSummary(t *testing.T, data []byte) runSummary {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	sch, err := c.Compile("../../docs/schemas/run-summary/1-0-0.json")
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, sch.Validate(doc), "%s", data)
	var s runSummary
	require.NoError(t, json.Unmarshal(data, &s))
	require.Equal(t, "1.0.0", s.SchemaVersion)
	return s
}

// metricValue finds the sample of name with (at least) the given labels
// in Prometheus text output.
func metricValue(t *testing.T, text, name string, labels ...string) float64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(text))
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(line, fmt.Sprintf("%s=%q", labels[i], labels[i+1])) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(t, err, line)
		return v
	}
	t.Fatalf("no sample %s%v in:\n%s", name, labels, text)
	return 0
}

func TestSummaryAndMetricsFile(t *testing.T) {
	t.Parallel()
	promtool := needTool(t, "promtool", "prometheus")
	dir := t.TempDir()
	r := run(t, dir, nil, "run", "--lineage", "file", "--lineage-file", "events.jsonl",
		"--summary-json", "run.json", "--metrics-file", "salesdag.prom", "--log-level", "debug", "--log-format", "json")
	require.Equal(t, 0, r.code, r.stderr)

	data, err := os.ReadFile(filepath.Join(dir, "run.json"))
	require.NoError(t, err)
	s := readSummary(t, data)
	require.Equal(t, "succeeded", s.Status)
	require.Equal(t, 0, s.ExitCode)
	require.Len(t, s.Nodes, 8)
	for _, n := range s.Nodes {
		require.Equal(t, "succeeded", n.Status, n.Name)
	}
	require.Len(t, s.Inputs, 1)
	require.EqualValues(t, 45, s.Inputs[0].Rows)
	require.Len(t, s.Outputs, 6)
	for _, o := range s.Outputs {
		b, err := os.ReadFile(o.Path)
		require.NoError(t, err)
		require.EqualValues(t, len(b), o.Bytes, o.Path)
		require.Regexp(t, "^[0-9a-f]{64}$", o.SHA256)
	}
	require.NotEmpty(t, s.Checks)
	require.True(t, s.Lineage.Enabled)
	require.Equal(t, s.Lineage.Emitted, s.Lineage.Sent)
	require.Positive(t, s.Lineage.Sent)
	require.Empty(t, s.Warnings)

	// The run id is the OpenLineage root run id, and every log line has it.
	events, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	require.NoError(t, err)
	require.Contains(t, string(events), `"runId":"`+s.RunID+`"`)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	require.NotEmpty(t, lines)
	for _, l := range lines {
		if !strings.HasPrefix(l, "{") {
			continue // the human summary
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		require.Equal(t, s.RunID, rec["run_id"], l)
	}

	prom := filepath.Join(dir, "salesdag.prom")
	text, err := os.ReadFile(prom)
	require.NoError(t, err)
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(text)
	out, err := check.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s\n%s", out, text)
	m := string(text)
	require.Equal(t, 1.0, metricValue(t, m, "salesdag_run_success"))
	require.Equal(t, 45.0, metricValue(t, m, "salesdag_input_rows_read_total"))
	require.Equal(t, 43.0, metricValue(t, m, "salesdag_input_rows_kept_total"))
	require.Equal(t, float64(s.Inputs[0].Bytes), metricValue(t, m, "salesdag_input_read_bytes_total"))
	require.InDelta(t, 2.0/45, metricValue(t, m, "salesdag_data_loss_ratio"), 1e-9)
	require.Equal(t, 1.0, metricValue(t, m, "salesdag_node_status", "node", "trend_analysis", "status", "succeeded"))
	require.Equal(t, float64(s.Lineage.Sent), metricValue(t, m, "salesdag_lineage_events_total", "result", "sent"))
	require.Equal(t, 0.0, metricValue(t, m, "salesdag_checks_total", "severity", "fail", "result", "failed"))
	require.Positive(t, metricValue(t, m, "salesdag_process_peak_resident_memory_bytes"))
	last := metricValue(t, m, "salesdag_last_success_timestamp_seconds")
	require.InDelta(t, float64(time.Now().Unix()), last, 120)

	// A failed run keeps the time of the last success, and says it failed.
	r = run(t, dir, nil, "run", "--lineage", "none", "--max-data-loss", "1", "--summary-json", "-", "--metrics-file", "salesdag.prom")
	require.Equal(t, 3, r.code, r.stderr)
	s = readSummary(t, []byte(r.stdout))
	require.Equal(t, "checks_failed", s.Status)
	require.Equal(t, 3, s.ExitCode)
	var failed []string
	for _, c := range s.Checks {
		if !c.Success {
			failed = append(failed, c.Node+"/"+c.Name+"/"+c.Severity)
		}
	}
	require.Equal(t, []string{"data_quality_metrics/max_data_loss/fail"}, failed)
	text, err = os.ReadFile(prom)
	require.NoError(t, err)
	m = string(text)
	require.Equal(t, 0.0, metricValue(t, m, "salesdag_run_success"))
	require.Equal(t, 3.0, metricValue(t, m, "salesdag_run_exit_code"))
	require.Equal(t, 1.0, metricValue(t, m, "salesdag_run_status", "status", "checks_failed"))
	require.Equal(t, 1.0, metricValue(t, m, "salesdag_checks_total", "severity", "fail", "result", "failed"))
	require.Equal(t, last, metricValue(t, m, "salesdag_last_success_timestamp_seconds"))
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// refusedURL is a URL on 127.0.0.1 that refuses connections until the
// test ends: a socket bound to its port but not listening holds the port,
// so that no server of another test (they run in parallel) can take it.
func refusedURL(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	return fmt.Sprintf("http://127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// startPushgateway runs a real Pushgateway on a free port until the test ends.
func startPushgateway(t *testing.T) string {
	t.Helper()
	bin := needTool(t, "prometheus-pushgateway", "prometheus-pushgateway")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--log.level=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Pushgateway on %s did not become ready: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMetricsPushToPushgateway(t *testing.T) {
	t.Parallel()
	gw := startPushgateway(t)
	dir := t.TempDir()
	r := run(t, dir, nil, "run", "--lineage", "none", "--metrics-push", gw, "--summary-json", "run.json")
	require.Equal(t, 0, r.code, r.stderr)
	data, err := os.ReadFile(filepath.Join(dir, "run.json"))
	require.NoError(t, err)
	s := readSummary(t, data)
	require.Empty(t, s.Warnings)

	resp, err := http.Get(gw + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	m := string(body)
	host, err := os.Hostname()
	require.NoError(t, err)
	group := []string{"job", "salesdag", "pipeline", "sales_data_pipeline", "instance", host}
	require.Equal(t, 1.0, metricValue(t, m, "salesdag_run_success", group...))
	require.Equal(t, 45.0, metricValue(t, m, "salesdag_input_rows_read_total", group...))
	require.Equal(t, 15.0, metricValue(t, m, "salesdag_output_rows_total", append(group, "node", "daily_sales_summary", "format", "csv")...))
	require.Equal(t, 1.0, metricValue(t, m, "salesdag_node_status", append(group, "node", "raw_sales_data", "status", "succeeded")...))
	last := metricValue(t, m, "salesdag_last_success_timestamp_seconds", group...)

	// A failed run replaces the run's metrics but keeps the last success.
	r = run(t, dir, nil, "run", "--lineage", "none", "--metrics-push", gw, "--max-data-loss", "1")
	require.Equal(t, 3, r.code, r.stderr)
	resp, err = http.Get(gw + "/metrics")
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	m = string(body)
	require.Equal(t, 0.0, metricValue(t, m, "salesdag_run_success", group...))
	require.Equal(t, 1.0, metricValue(t, m, "salesdag_checks_total", append(group, "severity", "fail", "result", "failed")...))
	require.Equal(t, last, metricValue(t, m, "salesdag_last_success_timestamp_seconds", group...))
}

// A metrics target that refuses, or never answers, costs a warning and a
// bounded wait, never the run; --metrics-strict makes it fail the run.
func TestMetricsTargetDownNeverFailsTheRun(t *testing.T) {
	t.Parallel()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	// Closed after the parallel subtests, not when this function returns.
	t.Cleanup(func() { silent.Close() })
	go func() { // accepts and never answers
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	refusing := refusedURL(t)
	cases := []struct {
		name   string
		args   []string
		code   int
		inWarn string
	}{
		{"refused", []string{"--metrics-push", refusing}, 0, "connection refused"},
		{"silent", []string{"--metrics-push", "http://" + silent.Addr().String(), "--metrics-timeout", "1s"}, 0, "no answer within 1s"},
		{"refused strict", []string{"--metrics-push", refusing, "--metrics-strict"}, 1, "connection refused"},
		{"unwritable file", []string{"--metrics-file", "out.prom/x"}, 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			start := time.Now()
			r := run(t, dir, nil, append([]string{"run", "--lineage", "none", "--summary-json", "run.json"}, tc.args...)...)
			require.Less(t, time.Since(start), 30*time.Second)
			require.Equal(t, tc.code, r.code, r.stderr)
			if tc.inWarn == "" {
				return
			}
			require.Equal(t, 1, strings.Count(r.stderr, "level=WARN"), r.stderr)
			require.Contains(t, r.stderr, tc.inWarn)
			data, err := os.ReadFile(filepath.Join(dir, "run.json"))
			require.NoError(t, err)
			s := readSummary(t, data)
			require.Equal(t, tc.code, s.ExitCode)
			require.Len(t, s.Warnings, 1)
			require.Contains(t, s.Warnings[0], tc.inWarn)
			_, err = os.Stat(filepath.Join(dir, "output", "trend_analysis.json"))
			require.NoError(t, err, "the outputs are written whatever happens to the metrics")
		})
	}
}

// The example: a failed check of importance fail under
// --keep-going costs only its node's output.
func TestKeepGoingOnFailedCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := run(t, dir, nil, "run", "--keep-going", "--max-data-loss", "1", "--lineage", "none", "--summary-json", "run.json")
	require.Equal(t, 3, r.code, r.stderr)
	entries, err := os.ReadDir(filepath.Join(dir, "output"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"daily_sales_summary.csv", "enriched_daily_summary.csv", "weekly_aggregation.csv",
		"trend_analysis.json", "top_performing_days.json"}, names)

	data, err := os.ReadFile(filepath.Join(dir, "run.json"))
	require.NoError(t, err)
	s := readSummary(t, data)
	require.Equal(t, "checks_failed", s.Status)
	require.Len(t, s.Outputs, 5)
	for _, n := range s.Nodes {
		want := "succeeded"
		if n.Name == "data_quality_metrics" {
			want = "failed"
			require.Contains(t, n.Error, "max_data_loss")
		}
		require.Equal(t, want, n.Status, n.Name)
	}

	r = run(t, dir, nil, "lineage", "show")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `(?m)^data_quality_metrics\s+FAIL\b`, r.stdout)
	require.Regexp(t, `(?m)^trend_analysis\s+COMPLETE\b`, r.stdout)
}
