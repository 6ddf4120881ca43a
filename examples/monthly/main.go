// Command salesdag-monthly is the salesdag command with one more node,
// monthly_summary: a team's own binary, built on the public API, with the
// same commands (run, graph, nodes, lineage, ...) as salesdag.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/salesdag/salesdag"
)

func main() {
	d, err := salesdag.New(monthlySummary)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, err := d.Run(context.Background(), salesdag.RunOptions{Input: os.Args[1], Outputs: []string{"monthly_summary"}, OutputDir: "out"})
	fmt.Println(res, err)
}
