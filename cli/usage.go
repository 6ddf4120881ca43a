package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// Usage mistakes get one line with the likely fix and exit code 2.

// usageErrorf is a usage error (exit 2) that ends with where to read more.
func usageErrorf(c *cobra.Command, format string, args ...any) error {
	return &app.UsageError{Err: fmt.Errorf("%s (see '%s --help')", fmt.Sprintf(format, args...), c.CommandPath())}
}

// groupRunE is the RunE of a command that only holds subcommands
// (salesdag, cache, lineage): alone it prints its help; followed by a word
// that is not one of its subcommands it fails with a suggestion, so that
// `salesdag cache lss` in a CI step does not pass silently.
func groupRunE(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return c.Help()
	}
	return unknownCommand(c, args[0])
}

// unknownCommand names the closest subcommands of c to typed.
func unknownCommand(c *cobra.Command, typed string) error {
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() || sub.Name() == "help" {
			names = append(names, sub.Name())
			names = append(names, sub.Aliases...)
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q", typed, c.CommandPath())
	if s := dag.Suggest(typed, names); len(s) > 0 {
		msg += "; did you mean " + orList(quoteAll(s, "'"+c.CommandPath()+" ", "'")) + "?"
	}
	return usageErrorf(c, "%s", msg)
}

// flagError is the root's SetFlagErrorFunc: pflag's message plus the
// closest flag names, or an unknown-command error when the flag came after
// a mistyped subcommand (`salesdag lineage shwo --json`).
func flagError(c *cobra.Command, err error) error {
	if c.HasAvailableSubCommands() && len(c.Flags().Args()) > 0 {
		return unknownCommand(c, c.Flags().Args()[0])
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		var known []string
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && f.Deprecated == "" {
				known = append(known, f.Name)
			}
		})
		if s := dag.Suggest(name, known); len(s) > 0 {
			msg += "; did you mean " + orList(quoteAll(s, "--", "")) + "?"
		}
	}
	return usageErrorf(c, "%s", msg)
}

func quoteAll(ss []string, pre, post string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = pre + s + post
	}
	return out
}

// orList joins "a", "a or b", "a, b or c".
func orList(ss []string) string {
	if len(ss) <= 1 {
		return strings.Join(ss, "")
	}
	return strings.Join(ss[:len(ss)-1], ", ") + " or " + ss[len(ss)-1]
}

// percentValue is a flag holding a percentage, written "5" or "5%".
type percentValue struct{ v *float64 }

func (p percentValue) String() string {
	if p.v == nil {
		return "0"
	}
	return strconv.FormatFloat(*p.v, 'g', -1, 64)
}

func (p percentValue) Set(s string) error {
	t := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return fmt.Errorf("want a percentage such as 5 or 5%%, got %q", s)
	}
	*p.v = f
	return nil
}

func (percentValue) Type() string { return "percent" }

// cacheDirValue is --cache: a bare --cache means the default directory.
// It notes where in the command line a bare --cache was, so that
// `--cache /tmp/x` (a space instead of "=") can be told apart from an
// input file given after it.
type cacheDirValue struct {
	dir    *string
	fs     *pflag.FlagSet
	bareAt int // index in fs.Args() of the first word after a bare --cache; -1 if none
}

func (v *cacheDirValue) String() string { return *v.dir }

func (v *cacheDirValue) Set(s string) error {
	*v.dir = s
	v.bareAt = -1
	if s == autoCacheDir {
		v.bareAt = len(v.fs.Args())
	}
	return nil
}

func (*cacheDirValue) Type() string { return "string" }

// inputArgs resolves `salesdag run [FILE...]`: the --input values, then
// the positional arguments, unless one looks like a slip that would read
// the wrong thing. A mistake in naming the inputs (a glob that matches
// nothing, a database URL with other inputs) is a usage error here, before
// anything runs; a missing file is the run's error (exit 1).
func inputArgs(c *cobra.Command, f *runFlags, args []string) ([]string, error) {
	for i, arg := range args {
		st, statErr := os.Stat(arg)
		isFile := statErr == nil && !st.IsDir()
		if cv, ok := c.Flags().Lookup("cache").Value.(*cacheDirValue); ok && cv.bareAt == i && !isFile {
			return nil, usageErrorf(c, "--cache takes its directory after \"=\": did you mean --cache=%s?", arg)
		}
		if !isFile && errors.Is(statErr, os.ErrNotExist) && !pipeline.IsGlob(arg) {
			if d, err := dagOf(c.Context()); err == nil {
				if n, ok := d.Node(arg); ok && !n.IsInput {
					return nil, usageErrorf(c, "%q is an output, not an input file: did you mean --outputs %s?", arg, arg)
				}
			}
		}
	}
	values := append(slices.Clone(f.inputs), args...)
	if _, err := app.ResolveInputs(values); err != nil {
		var ue *app.UsageError
		if errors.As(err, &ue) {
			return nil, usageErrorf(c, "%v", ue.Err)
		}
	}
	return values, nil
}

// inputNames lists the DAG's non-input nodes: what --outputs accepts.
func outputNames(d *dag.DAG) []string {
	var out []string
	for _, n := range describeNodes(d) {
		if !n.Input {
			out = append(out, n.Name)
		}
	}
	return slices.Clip(out)
}
