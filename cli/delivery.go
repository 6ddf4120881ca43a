package cli

// The lineage of `salesdag run`: its flags, the sinks its events go to
// (the configured transport's emitter and the local history) and their
// delivery once the run is over. (`salesdag lineage`, which queries the
// history, is lineagecmd.go.)

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/history"
	"github.com/salesdag/salesdag/internal/lineage"
)

type lineageFlags struct {
	transport string
	url       string
	endpoint  string
	apiKey    string
	file      string
	namespace string
	timeout   time.Duration
	strict    bool
	outbox    string
	noHistory bool
}

func addLineageFlags(fl *pflag.FlagSet, f *lineageFlags) {
	fl.StringVar(&f.transport, "lineage", "", "lineage transport: console, http, file or none (default: from openlineage.yml / OPENLINEAGE_*; with none of them, the local history only)")
	fl.StringVar(&f.url, "lineage-url", "", "OpenLineage HTTP base `URL` (implies --lineage http)")
	fl.StringVar(&f.endpoint, "lineage-endpoint", "", "OpenLineage HTTP endpoint (default api/v1/lineage)")
	fl.StringVar(&f.apiKey, "lineage-api-key", "", "Bearer API key for the HTTP transport (prefer OPENLINEAGE_API_KEY)")
	fl.StringVar(&f.file, "lineage-file", "", "append events as JSON lines to `FILE` (implies --lineage file)")
	fl.StringVar(&f.namespace, "namespace", "", "OpenLineage job namespace (default $OPENLINEAGE_NAMESPACE or \"default\")")
	fl.DurationVar(&f.timeout, "lineage-timeout", 30*time.Second, "grace period for delivering events at the end of the run (0: none, straight to the outbox)")
	fl.BoolVar(&f.strict, "lineage-strict", false, "exit 4 when events could not be delivered (the results are still written, the run still COMPLETE)")
	fl.BoolVar(&f.noHistory, "no-history", false, "do not record this run in the local history ($SALESDAG_HOME or .salesdag/history.db)")
	fl.StringVar(&f.outbox, "lineage-outbox", "", "directory for undelivered events (default $SALESDAG_HOME/outbox or .salesdag/outbox)")
}

// lineageSession owns the sinks of one run's events and their delivery.
type lineageSession struct {
	cfg     lineage.Config
	emitter *lineage.Emitter
	history *history.Recorder
	parent  *lineage.ParentContext
	flags   *lineageFlags
	stderr  io.Writer
	log     *slog.Logger
	runID   uuid.UUID       // the root run's id (every log line carries it)
	report  *lineage.Report // event delivery, once the run is over

	// historyOnly: no transport is configured anywhere, so events go to
	// the local history only (no JSON on the terminal).
	historyOnly bool
	// delivering, if set, shows the wait for delivery until stop is called.
	delivering func(grace time.Duration) (stop func())
	events     atomic.Int64 // events recorded, for the summary
}

// startLineage opens the run's sinks as the flags, the configuration
// (openlineage.yml, OPENLINEAGE_* in env) and the state directory say.
func startLineage(env runEnv, f *lineageFlags, runID uuid.UUID, log *slog.Logger) (*lineageSession, error) {
	cfg, err := lineage.LoadConfig(lineage.LoadOptions{Getenv: env.getenv, Environ: env.environ, Overrides: lineage.Overrides{
		Transport: f.transport, URL: f.url, Endpoint: f.endpoint, APIKey: f.apiKey,
		File: f.file, Namespace: f.namespace,
	}})
	if err != nil {
		return nil, &app.UsageError{Err: fmt.Errorf("lineage configuration: %w", err)}
	}
	for _, w := range cfg.Warnings {
		log.Warn("lineage configuration", "warning", w)
	}
	if f.timeout < 0 {
		return nil, &app.UsageError{Err: fmt.Errorf("--lineage-timeout must not be negative, got %s", f.timeout)}
	}
	s := &lineageSession{cfg: cfg, flags: f, stderr: env.stderr, log: log, runID: runID}
	if !f.noHistory {
		// The audit log must never cost a run: without it, say so and go on.
		if s.history, err = history.OpenRecorder(filepath.Join(env.home, history.FileName), history.RecorderOptions{}); err != nil {
			log.Warn("run history is not recorded", "error", err)
			s.history = nil
		}
	}
	// Nothing configured (no flag, file or OPENLINEAGE_* variable): like
	// the OpenLineage clients, print nothing; the summary says how to send.
	s.historyOnly = cfg.Source == "default" && !cfg.Disabled
	if cfg.Disabled || s.historyOnly {
		return s, nil
	}
	tr, err := cfg.NewTransport(env.stdout)
	if err != nil {
		return nil, &app.UsageError{Err: fmt.Errorf("lineage transport: %w", err)}
	}
	parent, err := lineage.ParentFromEnv(env.getenv)
	if err != nil {
		log.Warn("ignoring the OpenLineage parent run from the environment", "error", err)
	}
	s.parent = parent
	grace := cmp.Or(f.timeout, time.Nanosecond)                   // no grace: what is not sent yet goes to the outbox
	outbox := cmp.Or(f.outbox, filepath.Join(env.home, "outbox")) // where undelivered events wait for `salesdag lineage flush`
	s.emitter = lineage.NewEmitter(lineage.EmitterOptions{
		Transport: tr, OutboxDir: outbox, Grace: grace,
		Logf:    func(format string, args ...any) { log.Debug(fmt.Sprintf(format, args...)) },
		Prepare: cfg.Events.Prepare,
	})
	log.Debug("lineage", "config", cfg.String())
	return s, nil
}

// sinks is where app.Run sends the events: the emitter, then the history.
func (s *lineageSession) sinks(ctx context.Context) app.Lineage {
	lo := app.Lineage{Namespace: s.cfg.Namespace, Parent: s.parent, Version: envOf(ctx).version, RunID: s.runID}
	switch {
	case s.emitter != nil && s.history != nil:
		lo.Sink = lineage.Tee(s.emitter, s.history)
	case s.emitter != nil:
		lo.Sink = s.emitter
	case s.history != nil:
		lo.Sink = s.history
	}
	if lo.Sink != nil {
		lo.Sink = lineage.Tee(lineage.SinkFunc(func(*lineage.RunEvent) error {
			s.events.Add(1)
			return nil
		}), lo.Sink)
	}
	return lo
}

// interruptedGrace bounds delivery after a signal stopped the run: the
// person or supervisor wants the process gone; what is not delivered by
// then is already in the outbox.
const interruptedGrace = time.Second

// deliver gives event delivery its grace period once app.Run is over.
//
// Order matters for what a kill leaves behind: the events still undelivered
// are written to the outbox (durably) before the run's end is recorded in
// the history, and both happen before the grace period. A signal during
// the grace period ends it at once (the events are in the outbox already);
// it never stops the history from recording the run's end.
func (s *lineageSession) deliver(ctx context.Context, res *app.RunResult, runErr error) error {
	if res != nil && res.LineageErr != nil {
		s.log.Warn(res.LineageErr.Error())
	}
	if s.emitter != nil {
		s.emitter.Persist(50 * time.Millisecond)
	}
	// Not cancelled by signals: an interrupted run still records its ABORT.
	histCtx, cancelHist := context.WithTimeout(context.WithoutCancel(ctx), history.DefaultCloseTimeout)
	defer cancelHist()
	if s.history != nil {
		_ = s.history.Sync(histCtx) // a failure is reported by Close below
	}
	var rep lineage.Report
	if s.emitter != nil {
		dctx, cancel := deliveryContext(ctx)
		stop := func() {}
		if s.delivering != nil {
			stop = s.delivering(s.flags.timeout)
		}
		rep = s.emitter.Close(dctx)
		stop()
		cancel()
		s.report = &rep
		s.log.Debug("lineage delivery ended", "sent", rep.Sent, "emitted", rep.Emitted, "outboxed", rep.Outboxed, "took", rep.Elapsed)
		if w := rep.Warning(); w != "" {
			fmt.Fprintf(s.stderr, "salesdag: warning: %s\n", w)
		}
	}
	strictFail := runErr == nil && s.emitter != nil && s.flags.strict && !rep.OK()
	if s.history != nil {
		if s.events.Load() > 0 && s.emitter != nil && !rep.OK() { // the root run started
			note := fmt.Sprintf("%d of %d events not delivered", rep.Emitted-rep.Sent, rep.Emitted)
			if rep.Outboxed > 0 {
				note += "; saved to " + rep.OutboxPath
			}
			if strictFail {
				note += fmt.Sprintf("; --lineage-strict: exit code %d", exitLineage)
			}
			_ = s.history.Annotate(s.runID, "lineage", note)
		}
		if err := s.history.Close(histCtx); err != nil {
			fmt.Fprintf(s.stderr, "salesdag: warning: run history: %v\n", err)
		}
		for _, w := range s.history.Warnings() {
			fmt.Fprintf(s.stderr, "salesdag: warning: %s\n", w)
		}
	}
	if strictFail {
		return &exitError{code: exitLineage, err: fmt.Errorf("lineage delivery failed (--lineage-strict): %d of %d events not delivered; the results were written and the run is recorded COMPLETE", rep.Emitted-rep.Sent, rep.Emitted)}
	}
	return runErr
}

// deliveryContext bounds the grace period by signals: after a run that a
// signal stopped, delivery gets interruptedGrace (a second signal ends it
// at once); after a run that ended by itself, the first signal during the
// grace period ends it.
func deliveryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	final := finalContext(ctx)
	if ctx.Err() != nil {
		return context.WithTimeout(final, interruptedGrace)
	}
	dctx, cancel := context.WithCancel(final)
	stop := context.AfterFunc(ctx, cancel)
	return dctx, func() { stop(); cancel() }
}
