package cli

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/history"
	"github.com/salesdag/salesdag/internal/units"
)

// autoCacheDir is what --cache alone means: the default directory.
const autoCacheDir = "auto"

type cacheFlags struct {
	dir       string
	recompute []string
	disable   []string
}

func addCacheFlags(fl *pflag.FlagSet, f *cacheFlags) {
	fl.Var(&cacheDirValue{dir: &f.dir, fs: fl, bareAt: -1}, "cache", "reuse node results whose code and inputs are unchanged; --cache alone uses $SALESDAG_HOME/cache or "+cache.DefaultDir+", --cache=`DIR` another directory (./auto for one named auto)")
	fl.Lookup("cache").NoOptDefVal = autoCacheDir
	fl.StringSliceVar(&f.recompute, "recompute", nil, "with --cache: compute these `NODES` again (and store them), even on a hit")
	fl.StringSliceVar(&f.disable, "no-cache-node", nil, "with --cache: neither read nor write these `NODES`")
}

// newCache builds the run's cache from the flags; nil without --cache.
func newCache(f *cacheFlags, d *dag.DAG, inputs []string, home string, log *slog.Logger) (*cache.Cache, error) {
	if f.dir == "" {
		if len(f.recompute)+len(f.disable) > 0 {
			return nil, &app.UsageError{Err: errors.New("--recompute and --no-cache-node need --cache")}
		}
		return nil, nil
	}
	dir := f.dir
	if dir == autoCacheDir {
		dir = filepath.Join(home, "cache") // in the state directory, like the history
	}
	pol := map[string]cache.Policy{}
	for _, set := range []struct {
		nodes []string
		p     cache.Policy
	}{{f.recompute, cache.PolicyRecompute}, {f.disable, cache.PolicyDisable}} {
		for _, n := range set.nodes {
			if node, ok := d.Node(n); !ok || node.IsInput {
				_, err := d.Plan(n) // names the closest nodes
				return nil, &app.UsageError{Err: cmp.Or(err, fmt.Errorf("%q is an input, not a node", n))}
			}
			pol[n] = set.p
		}
	}
	return app.OpenCache(dir, inputs, pol, log)
}

func newCacheCmd() *cobra.Command {
	var dir string
	root := &cobra.Command{
		Use:   "cache",
		Short: "Inspect and prune the per-node result cache",
		Args:  cobra.ArbitraryArgs, // groupRunE names unknown commands
		RunE:  groupRunE,
		Example: `  salesdag cache ls
  salesdag cache prune --older-than 7d --max-size 500MB
  salesdag cache clear`,
	}
	// --cache names the directory as on `salesdag run`; --dir is its old name.
	root.PersistentFlags().StringVar(&dir, "cache", "", "cache `DIR` (default $SALESDAG_HOME/cache or "+cache.DefaultDir+")")
	root.PersistentFlags().StringVar(&dir, "dir", "", "old name of --cache")
	_ = root.PersistentFlags().MarkHidden("dir")
	// open returns a nil store (and says so on stderr) when there is no
	// cache yet: nothing to list or remove is not an error, so cleanup
	// steps in CI pass on a fresh machine.
	open := func(cmd *cobra.Command) (*cache.Store, error) {
		if f := cmd.Flags().Lookup("dir"); f != nil && f.Changed {
			fmt.Fprintln(cmd.ErrOrStderr(), "salesdag: warning: --dir is deprecated, use --cache")
		}
		d := cmp.Or(dir, filepath.Join(history.Home(os.Getenv), "cache"))
		s, err := cache.Open(d, cache.NoCreate())
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(cmd.ErrOrStderr(), "salesdag: no cache at %s (runs create it with --cache)\n", d)
			return nil, nil
		}
		return s, err
	}
	var asJSON bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List cache entries (node, key, size, age, last use)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open(cmd)
			if err != nil {
				return err
			}
			var entries []cache.Entry
			if s != nil {
				if entries, err = s.List(); err != nil {
					return err
				}
			}
			if asJSON {
				list := make([]lsEntry, len(entries))
				for i, e := range entries {
					list[i] = newLsEntry(e)
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			wd, _ := os.Getwd()
			for i := range entries {
				entries[i].Input = relPath(wd, entries[i].Input)
			}
			return cache.WriteList(cmd.OutOrStdout(), entries, time.Now())
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	var olderThan, maxSize string
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove entries unused for a while, then the least recently used beyond a size",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var o cache.PruneOptions
			var err error
			if olderThan == "" && maxSize == "" {
				return &app.UsageError{Err: errors.New("prune needs --older-than and/or --max-size")}
			}
			if olderThan != "" {
				if o.OlderThan, err = cache.ParseAge(olderThan); err != nil {
					return &app.UsageError{Err: err}
				}
			}
			if maxSize != "" {
				if o.MaxSize, err = cache.ParseSize(maxSize); err != nil {
					return &app.UsageError{Err: err}
				}
			}
			s, err := open(cmd)
			if err != nil || s == nil {
				return err
			}
			rep, err := s.Prune(o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d entries (%s), kept %d (%s)\n", len(rep.Removed), units.Bytes(rep.RemovedBytes), rep.Kept, units.Bytes(rep.KeptBytes))
			return nil
		},
	}
	prune.Flags().StringVar(&olderThan, "older-than", "", "remove entries not used for `AGE` (e.g. 7d, 12h)")
	prune.Flags().StringVar(&maxSize, "max-size", "", "then remove least recently used entries until the cache fits in `SIZE` (e.g. 500MB)")
	clear := &cobra.Command{
		Use:   "clear",
		Short: "Remove every cache entry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open(cmd)
			if err != nil || s == nil {
				return err
			}
			rep, err := s.Clear()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d entries (%s)\n", len(rep.Removed), units.Bytes(rep.RemovedBytes))
			return nil
		},
	}
	root.AddCommand(ls, prune, clear)
	return root
}

// relPath shows path relative to wd when it lies below it.
func relPath(wd, path string) string {
	if wd == "" || !filepath.IsAbs(path) {
		return path
	}
	if rel, err := filepath.Rel(wd, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return rel
	}
	return path
}

// lsEntry is one entry of `cache ls --json`: the sizes are named for what
// they count, so "bytes" is the SIZE column of the table.
type lsEntry struct {
	Node         string    `json:"node"`
	Input        string    `json:"input"` // "" for entries written before inputs were recorded
	Key          string    `json:"key"`
	Type         string    `json:"type"`          // Go type of the result
	Bytes        int64     `json:"bytes"`         // on disk: the SIZE column
	PayloadBytes int64     `json:"payload_bytes"` // the encoded result inside the entry
	Created      time.Time `json:"created"`
	LastUsed     time.Time `json:"last_used"`
	Path         string    `json:"path"`
	Corrupt      string    `json:"corrupt,omitempty"`
}

func newLsEntry(e cache.Entry) lsEntry {
	return lsEntry{
		Node: e.Node, Input: e.Input, Key: e.Key, Type: goTypeName(e.Type),
		Bytes: e.Bytes, PayloadBytes: e.Size, Created: e.Created, LastUsed: e.LastUsed,
		Path: e.Path, Corrupt: e.Corrupt,
	}
}

// goTypeName turns a header's "<package path> <type>" into the type as Go
// writes it ("[]pipeline.TopDay").
func goTypeName(t string) string {
	if i := strings.LastIndexByte(t, ' '); i >= 0 {
		return t[i+1:]
	}
	return t
}
