package cli

import (
	"cmp"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo returns the version, commit and build date of this binary:
// those given to Main (cmd/salesdag's are set with -ldflags "-X
// main.version=... -X main.commit=... -X main.date=...", as make build
// does), else what the go command recorded (module version, version
// control stamp); "unknown" for what nobody recorded.
func buildInfo(e mainEnv) (v, c, d string) {
	v, c, d = e.version, e.commit, e.date
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		vcs := map[string]string{}
		for _, s := range bi.Settings {
			vcs[s.Key] = s.Value
		}
		if c == "" && vcs["vcs.revision"] != "" {
			c = vcs["vcs.revision"]
			if vcs["vcs.modified"] == "true" {
				c += "-dirty"
			}
		}
		d = cmp.Or(d, vcs["vcs.time"]) // the commit's time: the nearest thing recorded
	}
	c = cmp.Or(c, "unknown")
	d = cmp.Or(d, "unknown")
	return v, c, d
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the salesdag version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, c, d := buildInfo(envOf(cmd.Context()))
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "salesdag %s (commit %s, built %s, %s, %s/%s)\n", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
