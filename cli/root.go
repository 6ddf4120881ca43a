// Package cli is the salesdag command line (run, graph, nodes, lineage,
// cache, version) built around a salesdag.Driver, so that a program that
// adds nodes to the DAG ships the same commands, with its nodes in them:
//
//	func main() {
//		d, err := salesdag.New(myNodes...)
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		os.Exit(cli.Main(d, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, cli.Options{}))
//	}
//
// The exit codes are salesdag's: 0 ok, 1 the run failed, 2 usage, 3 a
// failed check, 4 lineage not delivered (--lineage-strict), 130/143
// interrupted by SIGINT/SIGTERM.
package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/salesdag/salesdag"
	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/bridge"
	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/dag"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitChecks      = 3
	exitLineage     = 4   // --lineage-strict: results written, events not delivered
	exitInterrupted = 130 // SIGINT; SIGTERM gives 143
)

// Options adjust the command line to the program that runs it.
type Options struct {
	// Name of the command in its help; "" means "salesdag".
	Name string
	// Version printed by `version` and recorded in lineage events; ""
	// means "dev" (or the module version that go install records).
	Version string
	// Commit and Date (of the build) printed by `version`; "" means
	// what the go command recorded from version control, if anything.
	Commit, Date string
	// BeamEngine, when set, builds the engine of `run --engine beam` in
	// this process (the salesdag-beam program sets it). When nil, `run
	// --engine beam` hands the whole command line to the salesdag-beam
	// program found beside this one or on PATH.
	BeamEngine func(EngineFlags) (Engine, error)
}

// mainEnv is what the commands of one Main share: the driver's graph and
// the version. It travels in the commands' context.
type mainEnv struct {
	dag                   *dag.DAG
	version, commit, date string
	beam                  func(EngineFlags) (Engine, error)
	args                  []string // the command line, for salesdag-beam
}

type envKey struct{}

// envOf returns the mainEnv of ctx; outside Main, the standard graph.
func envOf(ctx context.Context) mainEnv {
	if e, ok := ctx.Value(envKey{}).(mainEnv); ok {
		return e
	}
	d, err := app.Build()
	if err != nil {
		panic(err) // the standard graph is fixed: a bug
	}
	return mainEnv{dag: d, version: "dev"}
}

// dagOf returns the graph the commands work on.
func dagOf(ctx context.Context) (*dag.DAG, error) { return envOf(ctx).dag, nil }

// exitError carries a specific exit code up to Main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Main runs the command line with args (without the program name) over
// the graph of d and returns the process exit code. It handles SIGINT
// and SIGTERM (a run stops and still records its end) and ignores
// SIGPIPE, so it is meant to be called once, from a program's main.
func Main(d *salesdag.Driver, args []string, stdin io.Reader, stdout, stderr io.Writer, opts Options) int {
	e := mainEnv{dag: bridge.DAG(d), version: opts.Version, commit: opts.Commit, date: opts.Date, beam: opts.BeamEngine, args: args}
	e.version = cmp.Or(e.version, "dev")
	// The first signal stops the run (which still writes its ABORT event
	// and saves undelivered events); a second one also cuts that short.
	final, stopFinal := context.WithCancel(context.Background())
	defer stopFinal()
	ctx, stop := context.WithCancelCause(context.WithValue(context.WithValue(context.Background(), finalCtxKey{}, final), envKey{}, e))
	defer stop(nil)
	// Without this, a closed stdout (`salesdag run | head`) kills the
	// process mid-run; ignored, writes fail with EPIPE and the console
	// transport reports its events as undelivered instead.
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			stop(&signalError{s.(syscall.Signal)})
		case <-final.Done():
			return
		}
		select {
		case <-sigs:
			stopFinal()
		case <-final.Done():
		}
	}()

	root := newRootCmd(e, stdin, stdout, stderr)
	if opts.Name != "" {
		root.Use = opts.Name
	}
	err := execute(ctx, root, args)
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, err)
	var se *signalError
	if errors.As(context.Cause(ctx), &se) && app.IsInterrupted(err) {
		err = fmt.Errorf("%s: run stopped, no output written", se.Error())
	}
	if msg := errorLine(err); msg != "" {
		fmt.Fprintf(stderr, "salesdag: %s\n", msg)
	}
	return code
}

// execute runs the command; a panic (a bug) is its error, so that it exits
// 1 with one line instead of 2 with a stack trace.
func execute(ctx context.Context, root *cobra.Command, args []string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = app.Recovered(v)
		}
	}()
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

type signalError struct{ sig syscall.Signal }

// finalCtxKey holds the context for the work after a run ends (delivering
// events, closing the history): not cancelled by the first signal.
type finalCtxKey struct{}

// finalContext returns the context for end-of-run work under ctx.
func finalContext(ctx context.Context) context.Context {
	if f, ok := ctx.Value(finalCtxKey{}).(context.Context); ok {
		return f
	}
	return context.WithoutCancel(ctx)
}

func (e *signalError) Error() string {
	name := "SIGINT"
	if e.sig == syscall.SIGTERM {
		name = "SIGTERM"
	}
	return "interrupted by " + name
}

func exitCode(ctx context.Context, err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if app.IsBug(err) {
		return exitFailed // whatever words the panic has, not a usage error
	}
	if app.IsInterrupted(err) {
		var se *signalError
		if errors.As(context.Cause(ctx), &se) && se.sig == syscall.SIGTERM {
			return 128 + int(syscall.SIGTERM)
		}
		return exitInterrupted
	}
	var fe *checks.FailedError
	if errors.As(err, &fe) {
		return exitChecks
	}
	var ue *app.UsageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailed
}

// errorLine squeezes an error into the one line the user sees.
func errorLine(err error) string {
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return ""
	}
	line := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	if app.IsBug(err) {
		line += " (" + app.BugReport + ")"
	}
	return line
}

// isCobraUsage recognises cobra's own flag and argument errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "invalid argument", "flag needs an argument", "accepts ", "requires at least", "bad flag syntax", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRootCmd(e mainEnv, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "salesdag",
		Short: "Run the sales-analytics DAG and record its OpenLineage lineage",
		Long: `salesdag reads a sales CSV (date,product_id,amount,customer_id), computes the
requested results as a DAG of typed Go functions, writes them as CSV/JSON/Parquet
and emits OpenLineage events for the run and every node.

With no input it runs on a sample data set embedded in the binary.`,
		Example: `  salesdag run                                  # the sample, six outputs into output/
  salesdag run --input sales.csv --outputs trend_analysis
  salesdag graph --format dot | dot -Tsvg > dag.svg
  salesdag nodes --json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       e.version,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.Args = cobra.ArbitraryArgs // groupRunE names unknown commands
	root.RunE = groupRunE
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newRunCmd(), newGraphCmd(), newNodesCmd(), newLineageCmd(), newCacheCmd(), newVersionCmd())
	addCompletions(root, e.dag)
	return root
}
