// Command salesdag runs the sales-analytics pipeline as a DAG of typed Go
// functions and records its lineage as OpenLineage events. The commands
// are the cli package's, over the standard DAG.
package main

import (
	"fmt"
	"os"

	"github.com/salesdag/salesdag"
	"github.com/salesdag/salesdag/cli"
)

// version, commit and date are set at build time with -ldflags
// "-X main.version=... -X main.commit=... -X main.date=..." (make build).
var (
	version      = "dev"
	commit, date string
)

func main() {
	d, err := salesdag.New()
	if err != nil {
		fmt.Fprintf(os.Stderr, "salesdag: %v\n", err)
		os.Exit(1)
	}
	os.Exit(cli.Main(d, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, cli.Options{Version: version, Commit: commit, Date: date}))
}
