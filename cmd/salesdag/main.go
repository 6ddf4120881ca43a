// Command salesdag runs the sales-analytics pipeline as a DAG of typed Go
// functions and records its lineage as OpenLineage events.
package main

import (
	"os"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
