package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/salesdag/salesdag/internal/history"
)

// histWarnings prints what a query met in the history and dealt with (a
// damaged store moved aside, unreadable records skipped), one line each.
func histWarnings(cmd *cobra.Command, s *history.Store) {
	for _, w := range s.Warnings() {
		fmt.Fprintf(cmd.ErrOrStderr(), "salesdag: warning: %s\n", w)
	}
}

func newLineageRepairCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Drop what cannot be read from the run history",
		Long: `Repair reads every record of the run history ($SALESDAG_HOME/history.db, default
.salesdag/history.db) and drops what cannot be read: events that do not decode, and
summaries of runs with no readable event left. A run summary that does not decode is
re-derived from the run's events. A file damaged as a whole is moved aside to
history.db.corrupt-<time> (kept, never deleted) and the next run starts a new one.
It prints what it dropped (--json: as JSON on stdout).`,
		Example: `  salesdag lineage repair
  salesdag lineage repair --json | jq '.dropped'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := history.Repair(cmd.Context(), history.DefaultPath(os.Getenv))
			if err != nil {
				return err
			}
			if asJSON {
				return histJSON(cmd.OutOrStdout(), rep)
			}
			w := cmd.OutOrStdout()
			if rep.MovedTo != "" {
				_, err := fmt.Fprintf(w, "%s was damaged (%s): moved it to %s; the next run starts a new history\n", rep.Path, rep.Damage, rep.MovedTo)
				return err
			}
			for _, d := range rep.Dropped {
				what := d.Kind
				if d.Run != "" {
					what += " of run " + d.Run
				}
				if d.Seq != nil {
					what = fmt.Sprintf("%s %d of run %s", d.Kind, *d.Seq, d.Run)
				}
				fmt.Fprintf(w, "dropped %s: %s\n", what, d.Reason)
			}
			for _, id := range rep.Rebuilt {
				fmt.Fprintf(w, "re-derived the unreadable summary of run %s from its events\n", id)
			}
			_, err = fmt.Fprintf(w, "%s: %d run(s) and %d event(s) kept, %d record(s) dropped, %d summary(ies) re-derived\n",
				rep.Path, rep.Runs, rep.Events, len(rep.Dropped), len(rep.Rebuilt))
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON on stdout")
	return cmd
}
