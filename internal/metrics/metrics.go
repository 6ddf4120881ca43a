// Package metrics turns the record of one run (internal/summary) into
// Prometheus metrics, written for node_exporter's textfile collector or
// pushed to a Pushgateway. It uses the official client library: its
// registry, prometheus.WriteToTextfile and the push package.
//
// Values that count things within the run (rows, bytes, checks, cache
// lookups, lineage events) are counters named *_total whose value is the
// run's count; the rest are gauges. Every name starts with salesdag_ and
// uses base units (seconds, bytes, a 0..1 ratio).
package metrics

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/salesdag/salesdag/internal/summary"
)

// PushJob is the Pushgateway job label.
const PushJob = "salesdag"

// LastSuccessName is the gauge with the end time of the last successful run.
const LastSuccessName = "salesdag_last_success_timestamp_seconds"

// Process is what the process cost.
type Process struct {
	CPUSeconds    float64 // user + system
	PeakRSSBytes  int64
	HaveResources bool
}

// Registry returns a registry holding the metrics of run s. lastSuccess,
// when not zero, is the time of the last successful run before s (kept
// across failed runs); a successful s sets it to its own end.
func Registry(s *summary.Summary, p Process, lastSuccess time.Time) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	g := func(name, help string, v float64) {
		m := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		m.Set(v)
		reg.MustRegister(m)
	}
	c := func(name, help string, v float64) {
		m := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		m.Add(v)
		reg.MustRegister(m)
	}
	success := 0.0
	if s.Status == summary.StatusSucceeded {
		success = 1
		lastSuccess = s.EndedAt
	}
	g("salesdag_run_duration_seconds", "Wall-clock time of the last run.", s.DurationSeconds)
	g("salesdag_run_success", "1 if the last run succeeded, 0 otherwise.", success)
	g("salesdag_run_exit_code", "Exit code of the last run (0 ok, 1 failed, 3 checks failed, 4 lineage not delivered, 130/143 interrupted).", float64(s.ExitCode))
	g("salesdag_run_start_timestamp_seconds", "Start of the last run, in seconds since the Unix epoch.", unix(s.StartedAt))
	g("salesdag_run_end_timestamp_seconds", "End of the last run, in seconds since the Unix epoch.", unix(s.EndedAt))
	status := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "salesdag_run_status",
		Help: "Status of the last run: 1 for the status it ended with, 0 for the others."}, []string{"status"})
	for _, st := range []string{summary.StatusSucceeded, summary.StatusChecksFailed, summary.StatusFailed, summary.StatusLineage, summary.StatusInterrupted} {
		status.WithLabelValues(st).Set(b2f(st == s.Status))
	}
	reg.MustRegister(status)
	if !lastSuccess.IsZero() {
		g(LastSuccessName, "End of the last successful run, in seconds since the Unix epoch.", unix(lastSuccess))
	}

	nodeDur := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "salesdag_node_duration_seconds",
		Help: "Time each node of the last run took."}, []string{"node"})
	nodeStatus := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "salesdag_node_status",
		Help: "Status of each node of the last run: 1 for its status, 0 for the others."}, []string{"node", "status"})
	for _, n := range s.Nodes {
		nodeDur.WithLabelValues(n.Name).Set(n.DurationSeconds)
		for _, st := range []string{summary.NodeSucceeded, summary.NodeFailed, summary.NodeSkipped, summary.NodeNotRun} {
			nodeStatus.WithLabelValues(n.Name, st).Set(b2f(st == n.Status))
		}
	}
	reg.MustRegister(nodeDur, nodeStatus)

	var read, kept, rejected, bytesRead int64
	for _, in := range s.Inputs {
		read, kept, rejected, bytesRead = read+in.Rows, kept+in.RowsKept, rejected+in.RowsRejected, bytesRead+in.Bytes
	}
	c("salesdag_input_rows_read_total", "Data rows read from the input in the last run.", float64(read))
	c("salesdag_input_rows_kept_total", "Input rows kept after cleaning in the last run.", float64(kept))
	c("salesdag_input_rows_rejected_total", "Bad input rows set aside (--on-bad-rows=skip) in the last run.", float64(rejected))
	c("salesdag_input_read_bytes_total", "Bytes of input read in the last run.", float64(bytesRead))

	outRows := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "salesdag_output_rows_total",
		Help: "Rows written per output file in the last run."}, []string{"node", "format"})
	outBytes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "salesdag_output_written_bytes_total",
		Help: "Bytes written per output file in the last run."}, []string{"node", "format"})
	for _, o := range s.Outputs {
		outRows.WithLabelValues(o.Node, o.Format).Add(float64(o.Rows))
		outBytes.WithLabelValues(o.Node, o.Format).Add(float64(o.Bytes))
	}
	reg.MustRegister(outRows, outBytes)

	if q := s.Quality; q != nil {
		g("salesdag_data_loss_ratio", "Share of raw rows dropped by cleaning in the last run (0..1).", q.DataLossPercent/100)
		g("salesdag_input_duplicate_rows", "Duplicate rows in the input of the last run.", float64(q.DuplicateRows))
	}

	chk := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "salesdag_checks_total",
		Help: "Data-quality checks evaluated in the last run, by severity and result."}, []string{"severity", "result"})
	for _, sev := range []string{"fail", "warn"} {
		chk.WithLabelValues(sev, "passed")
		chk.WithLabelValues(sev, "failed")
	}
	for _, x := range s.Checks {
		res := "failed"
		if x.Success {
			res = "passed"
		}
		chk.WithLabelValues(x.Severity, res).Inc()
	}
	reg.MustRegister(chk)

	if s.Cache != nil {
		c("salesdag_cache_hits_total", "Nodes served from the cache in the last run.", float64(s.Cache.Hits))
		c("salesdag_cache_misses_total", "Nodes with no usable cache entry in the last run.", float64(s.Cache.Misses))
	}

	ev := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "salesdag_lineage_events_total",
		Help: "OpenLineage events of the last run by fate: sent, queued (in the outbox) or failed (refused or lost)."}, []string{"result"})
	ev.WithLabelValues("sent").Add(float64(s.Lineage.Sent))
	ev.WithLabelValues("queued").Add(float64(s.Lineage.Queued))
	ev.WithLabelValues("failed").Add(float64(s.Lineage.Failed))
	reg.MustRegister(ev)

	if p.HaveResources {
		c("salesdag_process_cpu_seconds_total", "User and system CPU time of the last run's process.", p.CPUSeconds)
		g("salesdag_process_peak_resident_memory_bytes", "Peak resident memory of the last run's process.", float64(p.PeakRSSBytes))
	}
	return reg
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PreviousLastSuccess reads the last-success time from a metrics file an
// earlier run wrote; zero when there is none.
func PreviousLastSuccess(path string) time.Time {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), LastSuccessName+" "); ok {
			if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && x > 0 {
				return time.Unix(0, int64(x*1e9))
			}
		}
	}
	return time.Time{}
}

// WriteFile writes reg in the Prometheus text format to path, atomically
// (a temporary file renamed into place), as the textfile collector needs.
func WriteFile(path string, reg prometheus.Gatherer) error {
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("writing metrics file %s: %w", path, err)
	}
	return nil
}

// Push sends reg to the Pushgateway at url under job "salesdag", grouped
// by pipeline and instance, within timeout. It uses POST (add), which
// replaces the metric families it sends and keeps the others, so that the
// last-success time of an earlier run survives a failed one.
func Push(ctx context.Context, url, pipeline, instance string, reg prometheus.Gatherer, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p := push.New(url, PushJob).Gatherer(reg).
		Grouping("pipeline", pipeline).Grouping("instance", instance).
		Client(&http.Client{Timeout: timeout})
	if err := p.AddContext(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("pushing metrics to %s: no answer within %s", redact(url), timeout)
		}
		return fmt.Errorf("pushing metrics to %s: %w", redact(url), err)
	}
	return nil
}

// redact drops user:password from a URL for messages.
func redact(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.Index(u[i+3:], "@"); j >= 0 {
			return u[:i+3] + "…@" + u[i+3+j+1:]
		}
	}
	return u
}
