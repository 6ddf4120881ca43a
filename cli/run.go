package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/history"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// maxWorkers bounds --workers; the reader uses at most pipeline.MaxWorkers.
const maxWorkers = 256

type runFlags struct {
	inputs    []string // --input values, then the positional arguments
	outputs   []string
	outputDir string
	formats   []string
	workers   int
	logLevel  string
	logFormat string
	onBadRows string
	quiet     bool
	maxLoss   float64
	lineage   lineageFlags
	cache     cacheFlags
	ops       opsFlags
	db        dbFlags
	engine    EngineFlags

	logLevelSet bool   // --log-level given (--quiet does not lower it)
	maxLossSet  bool   // --max-data-loss given
	emptyList   string // a list flag given empty ("outputs", "format")
}

// runEnv is what a run takes from its process, injected so that nothing
// below reads it: the streams, the environment, the clock and the state
// directory (history, cache, outbox).
type runEnv struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        func() []string
	now            func() time.Time
	home           string
}

func newRunCmd() *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run [FILE...]",
		Short: "Run the pipeline and write its results",
		Long: `Run reads the input CSV, computes only the nodes the requested outputs need, in
dependency order, writes each output atomically into the output directory and
emits OpenLineage events. Human messages go to stderr; console lineage events
(one JSON object per line) go to stdout.

Exit codes: 0 success, 1 the run failed, 2 usage error, 3 a data-quality check
of importance "fail" failed, 4 (--lineage-strict) results written but lineage
events not delivered, 130/143 interrupted by SIGINT/SIGTERM.`,
		Example: `  salesdag run
  salesdag run sales.csv --max-data-loss 5%
  salesdag run --input 'data/2024-*.csv.gz' --input extra.csv   # many files, as one input
  salesdag run --input data/sales.csv --output-dir out --format csv,parquet
  salesdag run --outputs trend_analysis,weekly_aggregation --workers 2
  salesdag run --input dirty.csv --on-bad-rows=skip        # bad rows -> rejected_rows.csv
  OPENLINEAGE_URL=http://localhost:5000 salesdag run --quiet`,
		Args: cobra.ArbitraryArgs, // inputArgs checks them
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := inputArgs(cmd, f, args)
			if err != nil {
				return err
			}
			f.inputs = in
			if err := f.engine.check(cmd.Flags()); err != nil {
				return err
			}
			if f.engine.Engine == EngineBeam && envOf(cmd.Context()).beam == nil {
				return handOverToBeam(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			f.logLevelSet = cmd.Flags().Changed("log-level")
			f.maxLossSet = cmd.Flags().Changed("max-data-loss")
			for _, name := range []string{"outputs", "format"} {
				if fl := cmd.Flags().Lookup(name); fl.Changed && strings.Trim(fl.Value.String(), "[]") == "" && f.emptyList == "" {
					f.emptyList = name
				}
			}
			return runRun(cmd.Context(), runEnv{
				stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(),
				getenv: os.Getenv, environ: os.Environ, now: time.Now, home: history.Home(os.Getenv),
			}, f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.inputs, "input", "i", nil, "input CSV `FILE`, also given as arguments; repeat it, or give a quoted glob ('data/2024-*.csv.gz'), to read many files as one input (gzip and zstd files by .gz/.zst or content), or a database table: 'postgres://USER@HOST/DB?table=NAME' or 'sqlite:PATH?table=NAME' (?query=SELECT... instead of table=) (default: the sample embedded in the binary)")
	fl.StringSliceVarP(&f.outputs, "outputs", "o", nil, "outputs to compute, comma-separated (default: the six standard results)")
	fl.StringVar(&f.outputDir, "output-dir", "output", "directory for the results")
	fl.StringSliceVar(&f.formats, "format", []string{"csv"}, "file formats for tables, comma-separated: csv, json (array of records), parquet; objects and lists are always JSON")
	fl.IntVarP(&f.workers, "workers", "w", 0, "worker goroutines for parsing and independent nodes (default: number of CPUs)")
	fl.StringVar(&f.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	fl.StringVar(&f.onBadRows, "on-bad-rows", "fail", "bad input rows: fail (stop at the first) or skip (write them to rejected_rows.csv)")
	fl.Var(percentValue{&f.maxLoss}, "max-data-loss", "fail the run (exit 3) when cleaning drops more than `PCT` percent of the raw rows, e.g. 5 or 5% (default: no limit)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress, summary or warnings on stderr (errors only)")
	addLineageFlags(fl, &f.lineage)
	addCacheFlags(fl, &f.cache)
	addOpsFlags(fl, &f.ops)
	addDBFlags(fl, &f.db)
	addEngineFlags(fl, &f.engine)
	return cmd
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, &app.UsageError{Err: fmt.Errorf("invalid --log-level %q (use debug, info, warn or error)", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, &app.UsageError{Err: fmt.Errorf("invalid --log-format %q (use text or json)", format)}
}

// runRun is `salesdag run`: flags and environment become one app.Options
// (hooks for progress and faults, the lineage sinks), app.Run runs it, and
// what follows is delivery, metrics, the run record and the summary.
func runRun(ctx context.Context, env runEnv, f *runFlags) (runErr error) {
	start := env.now()
	// On a terminal, stderr becomes the screen: every log line and warning
	// clears the progress line first.
	var scr *screen
	if !f.quiet && isTerminal(env.stderr) && env.getenv("CI") == "" {
		scr = newScreen(env.stderr)
		if isTerminal(env.stdout) {
			env.stdout = scr.also(env.stdout) // console lineage events
		}
		env.stderr = scr
		defer scr.clear()
	}
	level := f.logLevel
	if f.quiet && !f.logLevelSet {
		level = "error" // --quiet: only what made the run fail
	}
	log, err := newLogger(env.stderr, level, f.logFormat)
	if err != nil {
		return err
	}
	ops, log, err := startOps(&f.ops, log, env.now)
	if err != nil {
		return err
	}
	defer func() {
		// A bug: the stack goes to the debug log only (Main prints the
		// one-line message).
		if v := recover(); v != nil {
			runErr = app.Recovered(v)
		}
		if st := app.PanicStack(runErr); st != "" {
			log.Debug("stack trace", "error", runErr.Error(), "stack", st)
		}
	}()
	if f.emptyList != "" {
		return &app.UsageError{Err: fmt.Errorf("--%s is empty: name at least one (see 'salesdag run --help')", f.emptyList)}
	}
	formats, err := app.ParseFormats(f.formats)
	if err != nil {
		return err
	}
	if f.workers < 0 || f.workers > maxWorkers {
		return &app.UsageError{Err: fmt.Errorf("--workers must be between 0 (one per CPU) and %d, got %d", maxWorkers, f.workers)}
	}
	policy, err := pipeline.ParseBadRowPolicy(f.onBadRows)
	if err != nil {
		return &app.UsageError{Err: fmt.Errorf("--on-bad-rows: %w", err)}
	}
	d, err := dagOf(ctx)
	if err != nil {
		return err
	}
	plan, err := app.Prepare(d, f.outputs)
	if err != nil {
		return err
	}
	opts := app.Options{
		Inputs: f.inputs, Outputs: plan.Outputs, OutputDir: f.outputDir, Formats: formats,
		Workers: f.workers, OnBadRows: policy, KeepGoing: f.ops.keepGoing,
		DAG: d, Plan: plan, Log: log, Now: env.now,
	}
	if opts.Database, err = f.db.options(); err != nil {
		return err
	}
	if f.engine.Engine == EngineBeam {
		ef := f.engine
		ef.Log = log
		if opts.Engine, err = envOf(ctx).beam(ef); err != nil {
			return err
		}
	}
	var co pipeline.CheckOptions
	if f.maxLossSet {
		co.MaxDataLoss = &f.maxLoss
	}
	if opts.Checks, err = app.NewChecks(co, log); err != nil {
		return err
	}
	if opts.Cache, err = newCache(&f.cache, d, f.inputs, env.home, log); err != nil {
		return err
	}
	if faultHooks != nil {
		opts.Hooks = append(opts.Hooks, faultHooks(env.getenv)...)
	}
	session, err := startLineage(env, &f.lineage, ops.runID, log)
	if err != nil {
		return err
	}
	if scr != nil {
		p := newProgress(scr, f.inputs)
		opts.Progress, opts.Writing = p.read, p.writing
		opts.Hooks = append(opts.Hooks, p.hooks())
		session.delivering = p.delivering
	}
	opts.Lineage = session.sinks(ctx)

	res, runErr := app.Run(ctx, opts)

	runErr = session.deliver(ctx, res, runErr)
	if scr != nil {
		scr.clear()
	}
	warned := ops.warns.counted() // the run's own, not those about metrics below
	runErr = ops.finish(ctx, env.stdout, res, runErr, opts.Checks, session)
	if !f.quiet && res != nil {
		sum := screenSummary{res: res, took: env.now().Sub(start), session: session, checks: opts.Checks, warnings: warned}
		switch {
		case runErr == nil || len(res.Written) > 0:
			// Written results (--lineage-strict failing too) get the
			// whole summary.
			io.WriteString(env.stderr, sum.String(runErr))
		case errors.As(runErr, new(*checks.FailedError)):
			// Failed data-quality checks: FAIL and where to see them; the
			// error itself follows on the last line. Other failures are
			// that one line only.
			io.WriteString(env.stderr, sum.status(runErr))
		}
	}
	return runErr
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
