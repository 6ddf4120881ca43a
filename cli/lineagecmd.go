package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/history"
	"github.com/salesdag/salesdag/internal/lineage"
)

// histLocation is the time zone of human output (tests pin it).
var histLocation = time.Local

func newLineageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lineage",
		Short: "Query the local run history; re-send undelivered lineage events",
		Long: `Every salesdag run records its OpenLineage events in a local history store,
.salesdag/history.db in the nearest .salesdag directory of the working directory or
its parents (as git finds .git; not above $SALESDAG_CEILING_DIRECTORIES), else
./.salesdag; $SALESDAG_HOME overrides. These commands query it:
the runs, one run's node timeline, a column's journey from the input file to the
outputs, and a node's upstream and downstream impact. Run ids may be shortened to
any unique prefix, like git hashes, or given as "latest". Every query has --json.`,
		Example: `  salesdag lineage runs --limit 5 --status fail
  salesdag lineage show 0199a1b2
  salesdag lineage column amount
  salesdag lineage node cleaned_sales_data
  salesdag lineage flush
  salesdag lineage repair`,
		Args: cobra.ArbitraryArgs, // groupRunE names unknown commands
		RunE: groupRunE,
	}
	cmd.AddCommand(newLineageRunsCmd(), newLineageShowCmd(), newLineageColumnCmd(), newLineageNodeCmd(), newLineageFlushCmd(), newLineageRepairCmd())
	return cmd
}

func histJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// histQuery opens the store, runs fn and closes the store again soon, so
// that runs waiting to record are not held up.
func histQuery(fn func(s *history.Store) error) error {
	s, err := history.Open(history.DefaultPath(os.Getenv))
	if err == nil {
		err = cmp.Or(fn(s), s.Close()) // fn runs first
	}
	if errors.Is(err, history.ErrNoHistory) {
		if where := history.HomeSearch(os.Getenv); where != "" {
			err = fmt.Errorf("%w (%s)", err, where)
		}
	}
	return err
}

// histAnswer runs query on the store and prints its answer: as JSON with
// asJSON, else as text by write. Nothing is printed when the query fails.
func histAnswer[T any](cmd *cobra.Command, asJSON bool, query func(*history.Store) (T, error), write func(io.Writer, T, textOptions) error) error {
	var buf bytes.Buffer
	err := histQuery(func(s *history.Store) error {
		defer histWarnings(cmd, s)
		v, err := query(s)
		if err != nil {
			return err
		}
		return histPrint(&buf, asJSON, v, write)
	})
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(buf.Bytes())
	return err
}

func histPrint[T any](w io.Writer, asJSON bool, v T, write func(io.Writer, T, textOptions) error) error {
	if asJSON {
		return histJSON(w, v)
	}
	cwd, _ := os.Getwd()
	return write(w, v, textOptions{Loc: histLocation, Cwd: cwd})
}

// noRunsMessage is `lineage runs` on an empty history: where it looked.
func noRunsMessage() string {
	if where := history.HomeSearch(os.Getenv); where != "" {
		return fmt.Sprintf("no runs recorded yet: %s (a run here records its history in %s; set %s to use another place)", where, history.DefaultPath(os.Getenv), history.EnvHome)
	}
	return "no runs recorded yet in " + history.DefaultPath(os.Getenv)
}

func newLineageRunsCmd() *cobra.Command {
	var limit int
	var statuses []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List recorded runs, newest first",
		Example: `  salesdag lineage runs
  salesdag lineage runs --limit 50 --status fail,abort
  salesdag lineage runs --json | jq -r '.[0].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return &app.UsageError{Err: fmt.Errorf("--limit must be >= 0 (0 lists every run), got %d", limit)}
			}
			q := history.ListQuery{Limit: limit}
			for _, s := range statuses {
				st, ok := history.ParseStatus(s)
				if !ok {
					return &app.UsageError{Err: fmt.Errorf("unknown --status %q (use complete, fail, abort, running or incomplete)", s)}
				}
				q.Statuses = append(q.Statuses, st)
			}
			err := histAnswer(cmd, asJSON, func(s *history.Store) ([]history.Run, error) { return s.List(q) }, writeRuns)
			if errors.Is(err, history.ErrNoHistory) {
				if asJSON {
					_, err = io.WriteString(cmd.OutOrStdout(), "[]\n")
				} else {
					_, err = fmt.Fprintln(cmd.OutOrStdout(), noRunsMessage())
				}
			}
			return err
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "show at most `N` runs (0: all)")
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "only runs in these states: complete, fail, abort, running, incomplete (comma-separated)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func newLineageShowCmd() *cobra.Command {
	var asJSON, events, allChecks bool
	cmd := &cobra.Command{
		Use:   "show [RUN]",
		Short: "Show one run (default: the latest): node timeline with durations, datasets, row counts, checks, error",
		Example: `  salesdag lineage show
  salesdag lineage show 0199a1b2-3c4d --checks
  salesdag lineage show 0199a1b2 --events > run.jsonl     # the recorded OpenLineage events`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := "latest"
			if len(args) == 1 {
				ref = args[0]
			}
			if events {
				return histAnswer(cmd, false, func(s *history.Store) ([]json.RawMessage, error) {
					id, err := s.Resolve(ref)
					if err != nil {
						return nil, err
					}
					return s.RawEvents(id)
				}, func(w io.Writer, raw []json.RawMessage, _ textOptions) error {
					for _, ev := range raw {
						if _, err := fmt.Fprintf(w, "%s\n", ev); err != nil {
							return err
						}
					}
					return nil
				})
			}
			return histAnswer(cmd, asJSON, func(s *history.Store) (*history.Detail, error) {
				id, err := s.Resolve(ref)
				if err != nil {
					return nil, err
				}
				return s.Detail(id)
			}, func(w io.Writer, d *history.Detail, o textOptions) error {
				o.AllChecks = allChecks
				return writeDetail(w, d, o)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	cmd.Flags().BoolVar(&events, "events", false, "print the run's recorded OpenLineage events, one JSON object per line")
	cmd.Flags().BoolVar(&allChecks, "checks", false, "list every data-quality check, not only the failed ones")
	return cmd
}

func newLineageColumnCmd() *cobra.Command {
	var run string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "column NAME",
		Short: "Trace a column from the input file through each node to the outputs",
		Long: `Column follows a column through the column-level lineage (columnLineage facets)
of the latest run that has it: where its values come from and every output column
computed from it, with the transformation at each step and the nodes in between.
NAME is a column ("amount") or a column of one node's output
("weekly_aggregation.weekly_total").`,
		Example: `  salesdag lineage column amount
  salesdag lineage column weekly_aggregation.weekly_total --json
  salesdag lineage column date --run 0199a1b2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := envOf(cmd.Context()).dag
			return histAnswer(cmd, asJSON, func(s *history.Store) (*history.ColumnJourney, error) {
				return s.Column(args[0], history.ColumnQuery{Run: run, DAG: d})
			}, writeColumn)
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "use this `RUN` (default: the latest run with column lineage)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func newLineageNodeCmd() *cobra.Command {
	var run string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "node NAME",
		Short: "Show a node's upstream and downstream impact and its columns in and out",
		Example: `  salesdag lineage node cleaned_sales_data      # what a change to it affects
  salesdag lineage node weekly_aggregation --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := envOf(cmd.Context()).dag
			if _, ok := d.Node(args[0]); !ok {
				_, err := d.Upstream(args[0]) // the error names the closest nodes
				return &app.UsageError{Err: err}
			}
			err := histAnswer(cmd, asJSON, func(s *history.Store) (*history.NodeView, error) {
				return s.Node(args[0], history.NodeQuery{Run: run, DAG: d})
			}, writeNode)
			if errors.Is(err, history.ErrNoHistory) {
				// The DAG alone still answers the impact question.
				v, nerr := history.EmptyStore().Node(args[0], history.NodeQuery{DAG: d})
				if nerr != nil {
					return nerr
				}
				return histPrint(cmd.OutOrStdout(), asJSON, v, writeNode)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "use this `RUN` (default: the latest run that ran the node)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	return cmd
}

// histFlushReport is `lineage flush --json`.
type histFlushReport struct {
	Outbox     string `json:"outbox"`
	Transport  string `json:"transport"`
	Files      int    `json:"files"`
	Sent       int    `json:"sent"`
	Rejected   int    `json:"rejected"`
	Remaining  int    `json:"remaining"`
	Corrupt    int    `json:"corrupt"`
	InUse      int    `json:"in_use_files,omitempty"`
	FirstError string `json:"first_error,omitempty"`
	// SetAside are damaged outbox files and what was done about them.
	SetAside []lineage.SetAside `json:"set_aside,omitempty"`
}

func newLineageFlushCmd() *cobra.Command {
	var outbox string
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "flush",
		Short: "Re-send the events waiting in the outbox with the configured transport",
		Long: `Flush re-sends, oldest first, the OpenLineage events that earlier runs could not
deliver (saved in the outbox), through the transport configured as for 'salesdag run'
(openlineage.yml, OPENLINEAGE_* variables). Accepted events are removed; the rest
stay, in order, for the next flush. The summary goes to stderr (--json: stdout). It
exits 1 when events remain.

Flush stops after --timeout (default 30s), and never waits for a server's
Retry-After that ends later; what it could not deliver stays in the outbox.
Files of a run that is still delivering its own events are skipped.`,
		Example: `  OPENLINEAGE_URL=http://localhost:5000 salesdag lineage flush
  salesdag lineage flush --outbox /var/lib/salesdag/outbox --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return &app.UsageError{Err: fmt.Errorf("--timeout must be positive, got %s", timeout)}
			}
			outbox = cmp.Or(outbox, filepath.Join(history.Home(os.Getenv), "outbox"))
			pending, err := lineage.Pending(outbox)
			if err != nil {
				return err
			}
			cfg, err := lineage.LoadConfig(lineage.LoadOptions{})
			if err != nil {
				return &app.UsageError{Err: fmt.Errorf("lineage configuration: %w", err)}
			}
			rep := histFlushReport{Outbox: outbox, Transport: cfg.Transport.String()}
			if pending == 0 {
				if asJSON {
					return histJSON(cmd.OutOrStdout(), rep)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "lineage flush: nothing to send, %s is empty\n", outbox)
				return nil
			}
			if cfg.Disabled || cfg.Transport.Type == lineage.TypeNone {
				// Sending to "none" would count every event as delivered
				// and empty the outbox for nothing.
				return &app.UsageError{Err: fmt.Errorf("lineage flush: %d event(s) wait in %s but lineage is disabled (%s); configure a transport, e.g. OPENLINEAGE_URL=http://localhost:5000", pending, outbox, cfg)}
			}
			t, err := cfg.NewTransport(cmd.OutOrStdout())
			if err != nil {
				return &app.UsageError{Err: fmt.Errorf("lineage transport: %w", err)}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			r, ferr := lineage.Flush(ctx, outbox, t, lineage.FlushOptions{})
			if cerr := t.Close(); cerr != nil && ferr == nil && r.FirstError == nil {
				r.FirstError = cerr
			}
			rep.Files, rep.Sent, rep.Rejected, rep.Remaining, rep.Corrupt, rep.InUse = r.Files, r.Sent, r.Rejected, r.Remaining, r.Corrupt, r.InUse
			rep.SetAside = r.SetAside
			for _, a := range r.SetAside {
				fmt.Fprintf(cmd.ErrOrStderr(), "salesdag: warning: %s\n", a)
			}
			if r.FirstError != nil {
				rep.FirstError = strings.ReplaceAll(r.FirstError.Error(), "\n", "; ")
			}
			if asJSON {
				if err := histJSON(cmd.OutOrStdout(), rep); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s (outbox %s, transport %s)\n", r, outbox, rep.Transport)
			}
			if ferr != nil {
				return ferr
			}
			if r.Remaining > 0 {
				return &exitError{code: exitFailed, err: fmt.Errorf("lineage flush: %d event(s) still in %s", r.Remaining, outbox)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&outbox, "outbox", "", "outbox `DIR` (default $SALESDAG_HOME/outbox or .salesdag/outbox)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON on stdout")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up after `D`; undelivered events stay in the outbox")
	return cmd
}
