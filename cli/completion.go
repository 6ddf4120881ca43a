package cli

import (
	"cmp"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/history"
)

// Shell completion (`salesdag completion bash|zsh|fish|powershell`)
// completes flag values and arguments, not only names: outputs and node
// names from the DAG, run ids from the history, the fixed choices of
// --format, --lineage and the like.

type completeFunc = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// fixed completes one of a fixed list.
func fixed(values ...string) completeFunc {
	return choices(func() []string { return values })
}

// choices completes one of a list computed when asked.
func choices(values func() []string) completeFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, v := range values() {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// commaList completes a comma-separated list: the part before the last
// comma stays, the last item is completed from values not listed yet.
func commaList(values func() []string) completeFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		i := strings.LastIndexByte(toComplete, ',')
		done, last := toComplete[:i+1], toComplete[i+1:] // "a,b," and "c"
		seen := map[string]bool{}
		for _, v := range strings.Split(done, ",") {
			seen[v] = true
		}
		var out []string
		for _, v := range values() {
			if !seen[v] && strings.HasPrefix(v, last) {
				out = append(out, done+v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// nodeNames lists every node, inputs included.
func nodeNames(d *dag.DAG) []string {
	var out []string
	for _, n := range describeNodes(d) {
		out = append(out, n.Name)
	}
	return out
}

// runIDs completes run ids from the history, newest first, each with its
// start and status as the description.
func runIDs(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	s, err := history.Open(history.DefaultPath(os.Getenv))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer s.Close()
	runs, err := s.List(history.ListQuery{Limit: 50})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	if strings.HasPrefix("latest", toComplete) {
		out = append(out, "latest\tthe newest run")
	}
	for _, r := range runs {
		id := cmp.Or(r.ShortID, r.ID)
		if !strings.HasPrefix(id, toComplete) {
			continue
		}
		out = append(out, fmt.Sprintf("%s\t%s %s", id, r.Start.In(histLocation).Format("2006-01-02 15:04:05"), r.Status))
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// addCompletions registers the value completions of every command under
// root by flag name, so that each command file stays as it is.
func addCompletions(root *cobra.Command, d *dag.DAG) {
	nodeNames := func() []string { return nodeNames(d) }
	outputNames := func() []string { return outputNames(d) }
	computedNodes := outputNames
	flags := map[string]map[string]completeFunc{
		"run": {
			"outputs":       commaList(outputNames),
			"format":        commaList(func() []string { return []string{"csv", "json", "parquet"} }),
			"lineage":       fixed("console", "http", "file", "none"),
			"on-bad-rows":   fixed("fail", "skip"),
			"log-level":     fixed("debug", "info", "warn", "error"),
			"log-format":    fixed("text", "json"),
			"recompute":     commaList(computedNodes),
			"no-cache-node": commaList(computedNodes),
		},
		"graph": {
			"outputs":    commaList(outputNames),
			"format":     fixed("text", "dot", "mermaid"),
			"upstream":   choices(nodeNames),
			"downstream": choices(nodeNames),
		},
		"runs":   {"status": commaList(func() []string { return []string{"complete", "fail", "abort", "running", "incomplete"} })},
		"column": {"run": runIDs},
		"node":   {"run": runIDs},
	}
	args := map[string]completeFunc{
		"show": runIDs,
		"node": choices(nodeNames),
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, fn := range flags[c.Name()] {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, fn)
			}
		}
		if fn, ok := args[c.Name()]; ok && c.Parent() != nil && c.Parent().Name() == "lineage" {
			c.ValidArgsFunction = onlyFirst(fn)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// `salesdag run FILE`: the input is a file.
	for _, c := range root.Commands() {
		if c.Name() == "run" {
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return []string{"csv"}, cobra.ShellCompDirectiveFilterFileExt
			}
		}
	}
}

// onlyFirst completes the first argument only.
func onlyFirst(fn completeFunc) completeFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fn(c, args, toComplete)
	}
}
