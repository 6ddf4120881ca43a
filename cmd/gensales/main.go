// Command gensales writes a deterministic, realistic sales CSV for tests
// and benchmarks: 365 days, 500 products, 50,000 customers, about 1% dirty
// rows and 0.05% duplicates.
//
//	gensales -rows 5000000 -seed 1 -o testdata/sales_5m.csv
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/salesdag/salesdag/internal/pipeline"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gensales:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gensales", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rows := fs.Int("rows", 1_000_000, "number of data rows")
	seed := fs.Int64("seed", 1, "random seed (same seed, same file)")
	out := fs.String("o", "-", `output file ("-" for stdout)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *rows < 0 {
		return fmt.Errorf("-rows must be >= 0")
	}
	if *out == "-" {
		return pipeline.Generate(stdout, *rows, *seed)
	}
	// Write to a temporary file and rename, so a failed run leaves no
	// half-written data file behind.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".gensales-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := pipeline.Generate(tmp, *rows, *seed); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), *out)
}
