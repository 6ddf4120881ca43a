package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/salesdag/salesdag/internal/app"
)

// Engine computes raw_sales_data in place of the native reader (the Beam
// engine of the salesdag-beam program). Only salesdag's own modules can
// implement it.
type Engine = app.Engine

// EngineFlags are `run`'s engine and runner flags. They are defined here
// once, so that salesdag and salesdag-beam parse them the same way.
type EngineFlags struct {
	Engine            string // native (default) or beam
	Runner            string // prism (default), flink, spark, dataflow
	JobEndpoint       string // HOST:PORT of a job service
	EnvironmentType   string // how the runner starts SDK workers: LOOPBACK, DOCKER, PROCESS
	EnvironmentConfig string
	Project           string // Dataflow
	Region            string // Dataflow
	StagingLocation   string // Dataflow: gs://BUCKET/PATH
	TempLocation      string // where the job's small results file goes
	WorkerBinary      string // Dataflow: this program built for linux/amd64
	// Log is the run's logger (the engine logs through it, at debug level).
	Log *slog.Logger
}

// Engine names.
const (
	EngineNative = "native"
	EngineBeam   = "beam"
)

var beamRunners = []string{"prism", "flink", "spark", "dataflow"}

// BeamProgram is the program that runs `salesdag run --engine beam`.
const BeamProgram = "salesdag-beam"

func addEngineFlags(fl *pflag.FlagSet, f *EngineFlags) {
	fl.StringVar(&f.Engine, "engine", EngineNative, "where the row work of step 1 runs: native (this process) or beam (an Apache Beam job, through the "+BeamProgram+" program)")
	fl.StringVar(&f.Runner, "runner", "prism", "--engine beam: the Beam runner: "+strings.Join(beamRunners, ", ")+" (prism without --job-endpoint runs in-process)")
	fl.StringVar(&f.JobEndpoint, "job-endpoint", "", "--engine beam: the runner's job service `HOST:PORT` (required for flink and spark)")
	fl.StringVar(&f.EnvironmentType, "environment-type", "", "--engine beam: how the runner starts SDK workers: LOOPBACK (this process; default for prism), DOCKER (default otherwise), PROCESS")
	fl.StringVar(&f.EnvironmentConfig, "environment-config", "", "--engine beam: the worker environment's configuration (a container image for DOCKER)")
	fl.StringVar(&f.Project, "project", "", "--runner dataflow: the Google Cloud project")
	fl.StringVar(&f.Region, "region", "", "--runner dataflow: the Dataflow region, e.g. europe-west1")
	fl.StringVar(&f.StagingLocation, "staging-location", "", "--runner dataflow: staging `gs://BUCKET/PATH`")
	fl.StringVar(&f.TempLocation, "temp-location", "", "--engine beam: where the job writes its small results file, readable by this process (default: a temporary directory; STAGING_LOCATION/tmp on dataflow)")
	fl.StringVar(&f.WorkerBinary, "worker-binary", "", "--runner dataflow: "+BeamProgram+" built for linux/amd64, staged for the workers")
}

// check validates the values that are usage mistakes (exit 2). A runner
// without the flags it needs is the run's failure (exit 1, FAIL event):
// the engine reports it.
func (f *EngineFlags) check(fl *pflag.FlagSet) error {
	switch f.Engine {
	case EngineNative:
		for _, name := range []string{"runner", "job-endpoint", "environment-type", "environment-config", "project", "region", "staging-location", "temp-location", "worker-binary"} {
			if fl.Changed(name) {
				return &app.UsageError{Err: fmt.Errorf("--%s is for --engine beam", name)}
			}
		}
	case EngineBeam:
		if !slices.Contains(beamRunners, f.Runner) {
			return &app.UsageError{Err: fmt.Errorf("unknown --runner %q (use %s)", f.Runner, strings.Join(beamRunners, ", "))}
		}
	default:
		return &app.UsageError{Err: fmt.Errorf("unknown --engine %q (use native or beam)", f.Engine)}
	}
	return nil
}

// findBeamProgram looks for salesdag-beam beside this program, then on
// PATH; it returns where it looked when it finds none.
func findBeamProgram() (string, []string) {
	var looked []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		p := filepath.Join(filepath.Dir(exe), BeamProgram)
		looked = append(looked, filepath.Dir(exe))
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(BeamProgram); err == nil {
		return p, nil
	}
	looked = append(looked, "PATH")
	return "", looked
}

// runBeamProgram hands the whole command line to salesdag-beam: the same
// arguments, standard streams and environment; a signal this process gets
// is passed on, and its exit code is returned.
func runBeamProgram(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	prog, looked := findBeamProgram()
	if prog == "" {
		return fmt.Errorf("--engine beam needs the %s program, found neither in %s; build it with 'make beam' (into bin/, beside salesdag) or put it on PATH",
			BeamProgram, strings.Join(looked, " nor on "))
	}
	cmd := exec.Command(prog, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", prog, err)
	}
	done := make(chan struct{})
	go func() {
		sig := syscall.SIGINT
		select {
		case <-ctx.Done():
			var se *signalError
			if errors.As(context.Cause(ctx), &se) {
				sig = se.sig
			}
			_ = cmd.Process.Signal(sig)
		case <-done:
			return
		}
		select {
		case <-finalContext(ctx).Done():
			_ = cmd.Process.Signal(sig)
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		code := ee.ExitCode()
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			code = 128 + int(st.Signal())
		}
		return &exitError{code: code} // it printed its own error line
	}
	return fmt.Errorf("running %s: %w", prog, err)
}

// handOverToBeam runs the command line in salesdag-beam. A program with
// nodes of its own cannot: salesdag-beam has the standard graph only.
func handOverToBeam(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	std, err := app.Build()
	if err != nil {
		return err
	}
	e := envOf(ctx)
	if len(e.dag.Nodes()) != len(std.Nodes()) {
		return &app.UsageError{Err: fmt.Errorf("--engine beam runs the standard pipeline in %s; a program with nodes of its own plugs the engine in itself (cli.Options.BeamEngine)", BeamProgram)}
	}
	return runBeamProgram(ctx, e.args, stdin, stdout, stderr)
}
