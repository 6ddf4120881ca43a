package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/checks"
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

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries a specific exit code up to Main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Main runs the CLI and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// The first signal stops the run (which still writes its ABORT event
	// and saves undelivered events); a second one also cuts that short.
	final, stopFinal := context.WithCancel(context.Background())
	defer stopFinal()
	ctx, stop := context.WithCancelCause(context.WithValue(context.Background(), finalCtxKey{}, final))
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

	err := execute(ctx, newRootCmd(stdin, stdout, stderr), args)
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

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
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
		Version:       version,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.Args = cobra.ArbitraryArgs // groupRunE names unknown commands
	root.RunE = groupRunE
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newRunCmd(), newGraphCmd(), newNodesCmd(), newLineageCmd(), newCacheCmd(), newVersionCmd())
	addCompletions(root)
	return root
}
