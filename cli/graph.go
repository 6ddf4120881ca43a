package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
)

func newGraphCmd() *cobra.Command {
	var format string
	var view graphView
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
			d := envOf(cmd.Context()).dag
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
			return renderGraph(cmd.OutOrStdout(), d, format, view)
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
			d := envOf(cmd.Context()).dag
			infos := describeNodes(d)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(infos)
			}
			tw := newTable(cmd.OutOrStdout())
			fmt.Fprintln(tw, "NODE\tTYPE\tDEPENDS ON\tDOC")
			for _, n := range infos {
				deps := cmp.Or(strings.Join(n.Deps, ","), "-")
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

// graphView selects what `salesdag graph` shows.
type graphView struct {
	Outputs    []string // highlight the execution path of these outputs
	Upstream   string   // show only this node and its ancestors
	Downstream string   // show only this node and its descendants
}

// selection returns the nodes to draw (in topological order) and the set
// that is on the execution path of the requested outputs.
func selection(d *dag.DAG, v graphView) ([]*dag.Node, map[string]bool, error) {
	nodes := d.Nodes()
	for _, r := range []struct {
		root string
		rel  func(string) ([]string, error)
	}{{v.Upstream, d.Upstream}, {v.Downstream, d.Downstream}} {
		if r.root == "" {
			continue
		}
		names, err := r.rel(r.root)
		if err != nil {
			return nil, nil, err
		}
		nodes = slices.DeleteFunc(nodes, func(n *dag.Node) bool { return n.Name != r.root && !slices.Contains(names, n.Name) })
	}
	onPath := map[string]bool{}
	if len(v.Outputs) > 0 {
		p, err := d.Plan(v.Outputs...)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range p.Nodes {
			onPath[n.Name] = true
		}
	}
	return nodes, onPath, nil
}

func typeName(n *dag.Node) string {
	switch n.Out {
	case nil:
		return "?"
	case reflect.TypeFor[*frame.Frame]():
		// Only nodes added through the public API return bare frames:
		// name the type their authors wrote.
		return "*salesdag.Table"
	}
	return n.Out.String()
}

// renderGraph writes the DAG as text, dot (Graphviz) or mermaid.
func renderGraph(w io.Writer, d *dag.DAG, format string, v graphView) error {
	nodes, onPath, err := selection(d, v)
	if err != nil {
		return err
	}
	shown := map[string]bool{}
	for _, n := range nodes {
		shown[n.Name] = true
	}
	var b strings.Builder
	switch format {
	case "", "text":
		writeTextTree(&b, nodes, shown, onPath)
	case "dot":
		writeDot(&b, nodes, shown, onPath)
	case "mermaid":
		b.WriteString("graph LR\n")
		for _, n := range nodes {
			open, closing := "[", "]"
			if n.IsInput {
				open, closing = "([", "])"
			}
			fmt.Fprintf(&b, "    %s%s\"%s<br/><small>%s</small>\"%s\n", n.Name, open, n.Name, mermaidEscape(typeName(n)), closing)
		}
		for _, n := range nodes {
			for _, dep := range n.Deps {
				if shown[dep] {
					fmt.Fprintf(&b, "    %s --> %s\n", dep, n.Name)
				}
			}
		}
		var path []string
		for _, n := range nodes {
			if onPath[n.Name] {
				path = append(path, n.Name)
			}
		}
		if len(path) > 0 {
			b.WriteString("    classDef onpath fill:#ffe08a,stroke:#b07d00,stroke-width:2px\n")
			fmt.Fprintf(&b, "    class %s onpath\n", strings.Join(path, ","))
		}
	default:
		return fmt.Errorf("unknown graph format %q (use text, dot or mermaid)", format)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// writeTextTree draws the DAG as a tree: every node once, under the
// dependency that comes last in topological order, with any other
// dependency named after it; the nodes without dependencies head it. With
// --outputs, a gutter marks the execution path with "*".
func writeTextTree(b *strings.Builder, nodes []*dag.Node, shown, onPath map[string]bool) {
	index := map[string]int{}
	for i, n := range nodes {
		index[n.Name] = i
	}
	isRoot := func(n *dag.Node) bool {
		for _, dep := range n.Deps {
			if shown[dep] {
				return false
			}
		}
		return true
	}
	var roots []*dag.Node
	children := map[string][]*dag.Node{} // "" is the head line
	also := map[string][]string{}
	for _, n := range nodes {
		if isRoot(n) {
			roots = append(roots, n)
			continue
		}
		// Under the last non-root dependency; under the head line when
		// every dependency heads the tree.
		parent := ""
		for _, dep := range n.Deps {
			if shown[dep] && !isRoot(nodes[index[dep]]) && (parent == "" || index[dep] > index[parent]) {
				parent = dep
			}
		}
		for _, dep := range n.Deps {
			if shown[dep] && dep != parent && (parent != "" || !isRoot(nodes[index[dep]])) {
				also[n.Name] = append(also[n.Name], dep)
			}
		}
		children[parent] = append(children[parent], n)
	}
	type line struct {
		tree, name, typ, note string
		path                  bool // on the execution path
	}
	var lines []line
	var walk func(parent, prefix string)
	walk = func(parent, prefix string) {
		kids := children[parent]
		for i, n := range kids {
			branch, next := "├─ ", "│  "
			if i == len(kids)-1 {
				branch, next = "└─ ", "   "
			}
			note := ""
			if len(also[n.Name]) > 0 {
				note = "(also uses " + strings.Join(also[n.Name], ", ") + ")"
			}
			lines = append(lines, line{prefix + branch, n.Name, typeName(n), note, onPath[n.Name]})
			walk(n.Name, prefix+next)
		}
	}
	if len(roots) == 1 {
		r := roots[0]
		lines = append(lines, line{name: r.Name, typ: typeName(r), path: onPath[r.Name]})
	} else {
		var names []string
		inputs, path := true, false
		for _, r := range roots {
			names = append(names, r.Name)
			inputs = inputs && r.IsInput
			path = path || onPath[r.Name]
		}
		head := strings.Join(names, ", ")
		if inputs {
			head += " (inputs)"
		}
		lines = append(lines, line{name: head, path: path})
	}
	walk("", "")
	width := 0
	for _, l := range lines[1:] {
		width = max(width, utf8.RuneCountInString(l.tree+l.name))
	}
	for _, l := range lines {
		if len(onPath) > 0 {
			mark := "  "
			if l.path {
				mark = "* "
			}
			b.WriteString(mark)
		}
		text := l.tree + l.name
		if l.typ != "" {
			text += strings.Repeat(" ", max(width-utf8.RuneCountInString(text), 0)+2) + l.typ
		}
		if l.note != "" {
			text += "  " + l.note
		}
		b.WriteString(text + "\n")
	}
	if len(onPath) > 0 {
		b.WriteString("(* = on the execution path of the requested outputs)\n")
	}
}

// writeDot draws the DAG top-down, one rank per step, with HTML labels
// (the node in bold, its Go type below in grey); inputs are ellipses.
func writeDot(b *strings.Builder, nodes []*dag.Node, shown, onPath map[string]bool) {
	b.WriteString("digraph salesdag {\n")
	b.WriteString("  rankdir=TB;\n  nodesep=0.3;\n  ranksep=0.45;\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", fontsize=12, margin=\"0.15,0.06\"];\n")
	b.WriteString("  edge [color=\"#666666\", arrowsize=0.7];\n")
	for _, n := range nodes {
		label := fmt.Sprintf(`<<b>%s</b><br/><font point-size="9" color="#555555">%s</font>>`, html.EscapeString(n.Name), html.EscapeString(typeName(n)))
		attrs := []string{"label=" + label}
		fill := ""
		if n.IsInput {
			attrs = append(attrs, "shape=ellipse")
			fill = "#eeeeee"
		}
		if onPath[n.Name] {
			attrs = append(attrs, "penwidth=2")
			fill = "#ffe08a"
		}
		if fill != "" {
			attrs = append(attrs, fmt.Sprintf("fillcolor=%q", fill))
		}
		fmt.Fprintf(b, "  %q [%s];\n", n.Name, strings.Join(attrs, ", "))
	}
	for _, n := range nodes {
		for _, dep := range n.Deps {
			if !shown[dep] {
				continue
			}
			attr := ""
			if onPath[n.Name] && onPath[dep] {
				attr = " [penwidth=2, color=\"#b07d00\"]"
			}
			fmt.Fprintf(b, "  %q -> %q%s;\n", dep, n.Name, attr)
		}
	}
	b.WriteString("}\n")
}

func mermaidEscape(s string) string {
	r := strings.NewReplacer("\"", "#quot;", "<", "#lt;", ">", "#gt;", "[", "#91;", "]", "#93;")
	return r.Replace(s)
}

// nodeInfo is one entry of `salesdag nodes --json`.
type nodeInfo struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Input      bool     `json:"input,omitempty"`
	Deps       []string `json:"dependencies"`
	Dependents []string `json:"dependents"`
	Doc        string   `json:"doc"`
	Tags       []string `json:"tags,omitempty"`
}

// Describe lists every node of d in topological order.
func describeNodes(d *dag.DAG) []nodeInfo {
	var out []nodeInfo
	for _, n := range d.Nodes() {
		deps := append([]string{}, n.Deps...)
		dependents := append([]string{}, d.Dependents(n.Name)...)
		out = append(out, nodeInfo{Name: n.Name, Type: typeName(n), Input: n.IsInput, Deps: deps, Dependents: dependents, Doc: n.Doc, Tags: n.Tags})
	}
	return out
}
