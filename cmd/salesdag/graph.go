package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/salesdag/salesdag/internal/app"
)

func newGraphCmd() *cobra.Command {
	var format string
	var view app.GraphView
	cmd := &cobra.Command{
		Use:   "graph",
		Short: "Print the pipeline DAG (text, Graphviz dot or mermaid)",
		Example: `  salesdag graph
  salesdag graph --outputs trend_analysis            # mark the nodes that run
  salesdag graph --format dot --outputs weekly_aggregation | dot -Tpng > dag.png
  salesdag graph --format mermaid --upstream weekly_aggregation
  salesdag graph --downstream cleaned_sales_data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := app.Build()
			if err != nil {
				return err
			}
			switch format {
			case "text", "dot", "mermaid":
			default:
				return &app.UsageError{Err: fmt.Errorf("unknown graph format %q (use text, dot or mermaid)", format)}
			}
			for _, n := range append([]string{view.Upstream, view.Downstream}, view.Outputs...) {
				if n == "" {
					continue
				}
				if _, err := d.Plan(n); err != nil {
					return &app.UsageError{Err: err}
				}
			}
			return app.RenderGraph(cmd.OutOrStdout(), d, format, view)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, dot or mermaid")
	cmd.Flags().StringSliceVar(&view.Outputs, "outputs", nil, "highlight the execution path of these outputs (comma-separated)")
	cmd.Flags().StringVar(&view.Upstream, "upstream", "", "show only `NODE` and everything it depends on")
	cmd.Flags().StringVar(&view.Downstream, "downstream", "", "show only `NODE` and everything that depends on it")
	return cmd
}

func newNodesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "nodes",
		Short: "List every node with its type, dependencies and doc",
		Example: `  salesdag nodes
  salesdag nodes --json | jq '.[].name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := app.Build()
			if err != nil {
				return err
			}
			infos := app.Describe(d)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(infos)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tTYPE\tDEPENDS ON\tDOC")
			for _, n := range infos {
				deps := "-"
				if len(n.Deps) > 0 {
					deps = strings.Join(n.Deps, ",")
				}
				name := n.Name
				if n.Input {
					name += " (input)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, n.Type, deps, n.Doc)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}
