// Command salesdag-monthly is the salesdag command with one more node,
// monthly_summary: a team's own binary, built on the public API, with the
// same commands as salesdag (run, graph, nodes, lineage, cache, version).
//
//	go build -o salesdag-monthly .
//	./salesdag-monthly run --input testdata/sales.csv --outputs monthly_summary
package main

import (
	"fmt"
	"os"

	"github.com/salesdag/salesdag"
	"github.com/salesdag/salesdag/cli"
)

func main() {
	d, err := salesdag.New(monthlySummary)
	if err != nil {
		fmt.Fprintf(os.Stderr, "salesdag-monthly: %v\n", err)
		os.Exit(1)
	}
	os.Exit(cli.Main(d, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, cli.Options{Name: "salesdag-monthly"}))
}
