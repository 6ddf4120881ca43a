// Command salesdag-beam is salesdag with the Beam engine: the same
// commands and flags, and `run --engine beam` runs the row work of step 1
// as an Apache Beam job (Prism in-process by default; Flink, Spark or
// Dataflow by --runner). `salesdag run --engine beam` runs this program,
// found beside salesdag or on PATH. It is a module of its own so that the
// salesdag binary never links the Beam SDK.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/salesdag/salesdag"
	"github.com/salesdag/salesdag/beam/engine"
	"github.com/salesdag/salesdag/cli"
)

// version, commit and date are set at build time (make beam).
var (
	version      = "dev"
	commit, date string
)

func main() {
	// A runner that starts this program as an SDK worker (DOCKER or
	// PROCESS environments, Dataflow) passes --worker and its endpoints:
	// Beam's harness takes over and never returns.
	if slices.ContainsFunc(os.Args[1:], func(a string) bool { return a == "--worker" || a == "-worker" || a == "--worker=true" }) {
		flag.Parse()
		beam.Init()
		return
	}
	d, err := salesdag.New()
	if err != nil {
		fmt.Fprintf(os.Stderr, "salesdag: %v\n", err)
		os.Exit(1)
	}
	os.Exit(cli.Main(d, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, cli.Options{
		Version: version, Commit: commit, Date: date, BeamEngine: newEngine,
	}))
}

func newEngine(f cli.EngineFlags) (cli.Engine, error) {
	return engine.New(engine.Config{
		Runner: f.Runner, JobEndpoint: f.JobEndpoint,
		EnvironmentType: f.EnvironmentType, EnvironmentConfig: f.EnvironmentConfig,
		Project: f.Project, Region: f.Region, StagingLocation: f.StagingLocation,
		TempLocation: f.TempLocation, WorkerBinary: f.WorkerBinary, Log: f.Log,
	}), nil
}
