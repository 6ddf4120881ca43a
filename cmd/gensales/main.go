// Command gensales writes a deterministic, realistic sales CSV for tests
// and benchmarks: 365 days, 500 products, 50,000 customers, about 1% dirty
// rows and 0.05% duplicates. With --random, the seed also draws the file's
// shape (size, date range, number formats, nulls, quoting, line ends...):
// the inputs of the differential test against the pandas reference.
//
//	gensales --rows 5000000 --seed 1 --output-file testdata/sales_5m.csv
//
// Short flags mean the same in every salesdag tool: -o is salesdag's
// --outputs (which results to compute), so the file gensales writes is
// --output-file, like salesdag's --output-dir.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/salesdag/salesdag/internal/pipeline"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gensales:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line (exit code 2, as salesdag).
type usageError struct{ error }

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gensales", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints the usage below
	rows := fs.Int("rows", 1_000_000, "number of data rows `N`")
	seed := fs.Int64("seed", 1, "random seed `S` (same seed, same file)")
	out := fs.String("output-file", "-", "write to `FILE` (\"-\" for stdout)")
	random := fs.Bool("random", false, "draw the file's shape from the seed too (the number of rows as well, unless --rows is given)")
	fs.Usage = func() {} // the flag package calls it on every error
	usage := func() {
		fmt.Fprintln(stdout, "Usage: gensales [--rows N] [--seed S] [--random] [--output-file FILE]")
		fmt.Fprintln(stdout, "Writes a deterministic, realistic sales CSV (about 1% dirty rows, 0.05% duplicates).")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	for _, a := range args {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); strings.HasPrefix(a, "-") && name == "o" {
			return usageError{errors.New("-o is salesdag's --outputs; gensales writes its file with --output-file FILE")}
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return nil
		}
		return usageError{fmt.Errorf("%w (see gensales -h)", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v (see gensales -h)", fs.Args())}
	}
	if *rows < 0 {
		return usageError{fmt.Errorf("--rows must be >= 0")}
	}
	gen := func(w io.Writer) error { return pipeline.Generate(w, *rows, *seed) }
	if *random {
		n := -1
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "rows" {
				n = *rows
			}
		})
		gen = func(w io.Writer) error { return pipeline.GenerateRandom(w, *seed, n) }
	}
	if *out == "-" {
		return gen(stdout)
	}
	// Write to a temporary file and rename, so a failed run leaves no
	// half-written data file behind.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".gensales-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := gen(tmp); err != nil {
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
