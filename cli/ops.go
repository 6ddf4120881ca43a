package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/metrics"
	"github.com/salesdag/salesdag/internal/summary"
)

// opsFlags are the operations flags of `salesdag run`: the run record and
// the Prometheus metrics.
type opsFlags struct {
	summaryJSON    string
	metricsFile    string
	metricsPush    string
	metricsStrict  bool
	metricsTimeout time.Duration
	keepGoing      bool
}

func addOpsFlags(fl *pflag.FlagSet, f *opsFlags) {
	fl.StringVar(&f.summaryJSON, "summary-json", "", "write the run record (JSON, docs/schemas/run-summary) to `FILE` (- for stdout)")
	fl.StringVar(&f.metricsFile, "metrics-file", "", "write the run's Prometheus metrics to `FILE` (text format, atomic; for node_exporter's textfile collector)")
	fl.StringVar(&f.metricsPush, "metrics-push", "", "push the run's Prometheus metrics to the Pushgateway at `URL` (job salesdag)")
	fl.BoolVar(&f.metricsStrict, "metrics-strict", false, "fail the run (exit 1) when the metrics cannot be written or pushed")
	fl.BoolVar(&f.keepGoing, "keep-going", false, "when a node fails (or a check of importance fail), still run the nodes that do not depend on it and write their outputs (exit 3 if only checks failed, else 1)")
	fl.DurationVar(&f.metricsTimeout, "metrics-timeout", 5*time.Second, "how long to wait for the Pushgateway")
}

// opsRun is the operations side of one run.
type opsRun struct {
	flags   *opsFlags
	runID   uuid.UUID
	started time.Time
	warns   *warnings
	log     *slog.Logger
	now     func() time.Time
}

// startOps checks the flags, gives the run its id and returns the logger
// every later line goes through: each carries run_id, and warnings are
// kept for the run record.
func startOps(f *opsFlags, log *slog.Logger, now func() time.Time) (*opsRun, *slog.Logger, error) {
	for _, fl := range []struct{ name, path string }{{"summary-json", f.summaryJSON}, {"metrics-file", f.metricsFile}} {
		if fl.path == "" || fl.path == "-" && fl.name == "summary-json" {
			continue
		}
		if st, err := os.Stat(filepath.Dir(fl.path)); err != nil || !st.IsDir() {
			return nil, nil, &app.UsageError{Err: fmt.Errorf("--%s %s: the directory %s does not exist", fl.name, fl.path, filepath.Dir(fl.path))}
		}
	}
	if f.metricsPush != "" {
		u, err := url.Parse(f.metricsPush)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, nil, &app.UsageError{Err: fmt.Errorf("--metrics-push %q: want an http(s) URL such as http://pushgateway:9091", f.metricsPush)}
		}
	}
	if f.metricsTimeout <= 0 {
		return nil, nil, &app.UsageError{Err: fmt.Errorf("--metrics-timeout must be positive, got %s", f.metricsTimeout)}
	}
	o := &opsRun{flags: f, runID: lineage.NewRunID(), started: now(), warns: &warnings{}, now: now}
	o.log = slog.New(&warnHandler{inner: log.Handler(), w: o.warns}).With("run_id", o.runID.String())
	return o, o.log, nil
}

// finish writes the metrics and the run record of a finished run, and
// returns the run's error (a metrics problem only changes it with
// --metrics-strict).
func (o *opsRun) finish(ctx context.Context, stdout io.Writer, res *app.RunResult, runErr error, chk *checks.Runner, ls *lineageSession) error {
	f := o.flags
	if f.summaryJSON == "" && f.metricsFile == "" && f.metricsPush == "" {
		return runErr
	}
	ended := o.now()
	job := summary.Job{Namespace: lineage.DefaultNamespace, Name: lineage.DefaultJobName}
	var rep *lineage.Report
	if ls != nil {
		job.Namespace, rep = cmp.Or(ls.cfg.Namespace, job.Namespace), ls.report
	}
	warns := o.warns.list()
	if rep != nil && rep.Warning() != "" {
		warns = append(warns, rep.Warning())
	}
	code := exitOK
	if runErr != nil {
		code = exitCode(ctx, runErr)
	}
	p := summary.Params{
		RunID: o.runID.String(), Job: job, Started: o.started, Ended: ended,
		ExitCode: code, Err: runErr, Result: res, Checks: chk, Lineage: rep, Warnings: warns,
	}
	s := summary.New(p)
	if f.metricsFile != "" || f.metricsPush != "" {
		var problems []error
		var last time.Time
		if f.metricsFile != "" {
			last = metrics.PreviousLastSuccess(f.metricsFile)
		}
		reg := metrics.Registry(s, metrics.Self(), last)
		if f.metricsFile != "" {
			if err := metrics.WriteFile(f.metricsFile, reg); err != nil {
				problems = append(problems, err)
			}
		}
		if f.metricsPush != "" {
			host, _ := os.Hostname()
			if err := metrics.Push(context.WithoutCancel(ctx), f.metricsPush, job.Name, host, reg, f.metricsTimeout); err != nil {
				problems = append(problems, err)
			}
		}
		for _, err := range problems {
			o.log.Warn("metrics", "error", err)
			s.Warnings = append(s.Warnings, err.Error())
		}
		if len(problems) > 0 && f.metricsStrict && runErr == nil {
			runErr = &exitError{code: exitFailed, err: fmt.Errorf("metrics (--metrics-strict): %w", problems[0])}
			s.ExitCode, s.Status, s.Error = exitFailed, summary.StatusOf(exitFailed), runErr.Error()
		}
	}
	if f.summaryJSON != "" {
		if err := s.Write(f.summaryJSON, stdout); err != nil {
			err = fmt.Errorf("writing the run summary %s: %w", f.summaryJSON, err)
			if runErr == nil {
				return &exitError{code: exitFailed, err: err}
			}
			o.log.Error(err.Error())
		}
	}
	return runErr
}

// warnings keeps the warnings logged during a run, for the run record,
// and counts the warnings and errors other than failed data-quality
// checks (which the summary's status line lists itself).
type warnings struct {
	mu    sync.Mutex
	msgs  []string
	count int
}

func (w *warnings) add(r slog.Record, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.Level == slog.LevelWarn {
		w.msgs = append(w.msgs, text)
	}
	if r.Message != checks.FailedMessage {
		w.count++
	}
}

func (w *warnings) counted() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string{}, w.msgs...)
}

// warnHandler passes records on to inner and notes every warning, whether
// or not inner shows it (--quiet).
type warnHandler struct {
	inner slog.Handler
	w     *warnings
	attrs []slog.Attr
}

func (h *warnHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.inner.Enabled(ctx, l)
}

func (h *warnHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		var b strings.Builder
		b.WriteString(r.Message)
		add := func(a slog.Attr) bool {
			if a.Key != "run_id" {
				fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			}
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
		h.w.add(r, b.String())
	}
	if !h.inner.Enabled(ctx, r.Level) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *warnHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &warnHandler{inner: h.inner.WithAttrs(as), w: h.w, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *warnHandler) WithGroup(name string) slog.Handler {
	return &warnHandler{inner: h.inner.WithGroup(name), w: h.w, attrs: h.attrs}
}
