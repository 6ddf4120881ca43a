package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/dag"
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
	fl.StringVar(&f.transport, "lineage", "", "lineage transport: console, http, file or none (default: from openlineage.yml / OPENLINEAGE_* or console)")
	fl.StringVar(&f.url, "lineage-url", "", "OpenLineage HTTP base `URL` (implies --lineage http)")
	fl.StringVar(&f.endpoint, "lineage-endpoint", "", "OpenLineage HTTP endpoint (default api/v1/lineage)")
	fl.StringVar(&f.apiKey, "lineage-api-key", "", "Bearer API key for the HTTP transport (prefer OPENLINEAGE_API_KEY)")
	fl.StringVar(&f.file, "lineage-file", "", "append events as JSON lines to `FILE` (implies --lineage file)")
	fl.StringVar(&f.namespace, "namespace", "", "OpenLineage job namespace (default $OPENLINEAGE_NAMESPACE or \"default\")")
	fl.DurationVar(&f.timeout, "lineage-timeout", 30*time.Second, "grace period for delivering events at the end of the run (0: none, straight to the outbox)")
	fl.BoolVar(&f.strict, "lineage-strict", false, "fail the run (exit 1) when events could not be delivered")
	fl.BoolVar(&f.noHistory, "no-history", false, "do not record this run in the local history ($SALESDAG_HOME or .salesdag/history.db)")
	fl.StringVar(&f.outbox, "lineage-outbox", "", "directory for undelivered events (default $SALESDAG_HOME/outbox or .salesdag/outbox)")
}

// lineageSession owns the emitter of one run.
type lineageSession struct {
	cfg     lineage.Config
	emitter *lineage.Emitter
	history *history.Recorder
	parent  *lineage.ParentContext
	flags   *lineageFlags
	stderr  io.Writer
	log     *slog.Logger
}

// outboxDir is where undelivered events wait for `salesdag lineage flush`.
func outboxDir(flag string) string {
	if flag != "" {
		return flag
	}
	if home := os.Getenv("SALESDAG_HOME"); home != "" {
		return filepath.Join(home, "outbox")
	}
	return lineage.DefaultOutboxDir
}

func startLineage(_ context.Context, cmd *cobra.Command, f *lineageFlags, log *slog.Logger) (*lineageSession, error) {
	cfg, err := lineage.LoadConfig(lineage.LoadOptions{Overrides: lineage.Overrides{
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
	s := &lineageSession{cfg: cfg, flags: f, stderr: cmd.ErrOrStderr(), log: log}
	if !f.noHistory {
		// The audit log must never cost a run: without it, say so and go on.
		if s.history, err = history.OpenRecorder("", history.RecorderOptions{}); err != nil {
			log.Warn("run history is not recorded", "error", err)
			s.history = nil
		}
	}
	if cfg.Disabled {
		return s, nil
	}
	tr, err := cfg.NewTransport(cmd.OutOrStdout())
	if err != nil {
		return nil, &app.UsageError{Err: fmt.Errorf("lineage transport: %w", err)}
	}
	parent, err := lineage.ParentFromEnv(os.Getenv)
	if err != nil {
		log.Warn("ignoring the OpenLineage parent run from the environment", "error", err)
	}
	s.parent = parent
	grace := f.timeout
	if grace == 0 {
		grace = time.Nanosecond // no grace: what is not sent yet goes to the outbox
	}
	s.emitter = lineage.NewEmitter(lineage.EmitterOptions{
		Transport: tr, OutboxDir: outboxDir(f.outbox), Grace: grace,
		Logf:    func(format string, args ...any) { log.Debug(fmt.Sprintf(format, args...)) },
		Prepare: cfg.Events.Prepare,
	})
	log.Debug("lineage", "config", cfg.String())
	return s, nil
}

// run executes the job and then gives event delivery its grace period.
func (s *lineageSession) run(ctx context.Context, d *dag.DAG, p *dag.Plan, o app.RunOptions) (*app.RunResult, error) {
	lo := app.LineageOptions{Namespace: s.cfg.Namespace, Parent: s.parent, Version: version}
	switch {
	case s.emitter != nil && s.history != nil:
		lo.Sink = lineage.Tee(s.emitter, s.history)
	case s.emitter != nil:
		lo.Sink = s.emitter
	case s.history != nil:
		lo.Sink = s.history
	}
	res, runErr := app.Execute(ctx, d, p, o, lo)
	if res != nil && res.LineageErr != nil {
		s.log.Warn(res.LineageErr.Error())
	}
	if s.history != nil {
		if err := s.history.Close(finalContext(ctx)); err != nil {
			fmt.Fprintf(s.stderr, "salesdag: warning: run history: %v\n", err)
		}
	}
	if s.emitter == nil {
		return res, runErr
	}
	// A second Ctrl-C during the grace period cuts delivery short (what is
	// left goes to the outbox); the first one has already cancelled ctx.
	rep := s.emitter.Close(finalContext(ctx))
	if w := rep.Warning(); w != "" {
		fmt.Fprintf(s.stderr, "salesdag: warning: %s\n", w)
	}
	if runErr == nil && s.flags.strict && !rep.OK() {
		return res, &exitError{code: exitFailed, err: fmt.Errorf("lineage delivery failed (--lineage-strict): %d of %d events not delivered", rep.Emitted-rep.Sent, rep.Emitted)}
	}
	return res, runErr
}
