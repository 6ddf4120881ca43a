package app

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// Build returns the validated sales DAG.
func Build() (*dag.DAG, error) {
	g := dag.New()
	pipeline.Register(g)
	return g.Build()
}

// GraphView selects what `salesdag graph` shows.
type GraphView struct {
	Outputs    []string // highlight the execution path of these outputs
	Upstream   string   // show only this node and its ancestors
	Downstream string   // show only this node and its descendants
}

// selection returns the nodes to draw (in topological order) and the set
// that is on the execution path of the requested outputs.
func selection(d *dag.DAG, v GraphView) ([]*dag.Node, map[string]bool, error) {
	keep := map[string]bool{}
	all := d.Nodes()
	for _, n := range all {
		keep[n.Name] = true
	}
	restrict := func(root string, rel func(string) ([]string, error)) error {
		names, err := rel(root)
		if err != nil {
			return err
		}
		sub := map[string]bool{root: true}
		for _, n := range names {
			sub[n] = true
		}
		for k := range keep {
			if !sub[k] {
				delete(keep, k)
			}
		}
		return nil
	}
	if v.Upstream != "" {
		if err := restrict(v.Upstream, d.Upstream); err != nil {
			return nil, nil, err
		}
	}
	if v.Downstream != "" {
		if err := restrict(v.Downstream, d.Downstream); err != nil {
			return nil, nil, err
		}
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
	var nodes []*dag.Node
	for _, n := range all {
		if keep[n.Name] {
			nodes = append(nodes, n)
		}
	}
	return nodes, onPath, nil
}

func typeName(n *dag.Node) string {
	if n.Out == nil {
		return "?"
	}
	return n.Out.String()
}

// RenderGraph writes the DAG as text, dot (Graphviz) or mermaid.
func RenderGraph(w io.Writer, d *dag.DAG, format string, v GraphView) error {
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
		for _, n := range nodes {
			mark := " "
			if onPath[n.Name] {
				mark = "*"
			}
			kind := "node"
			if n.IsInput {
				kind = "input"
			}
			fmt.Fprintf(&b, "%s %s (%s) : %s\n", mark, n.Name, kind, typeName(n))
			for _, dep := range n.Deps {
				if shown[dep] {
					fmt.Fprintf(&b, "    <- %s\n", dep)
				}
			}
		}
		if len(onPath) > 0 {
			b.WriteString("(* = on the execution path of the requested outputs)\n")
		}
	case "dot":
		b.WriteString("digraph salesdag {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\"];\n")
		for _, n := range nodes {
			attrs := []string{fmt.Sprintf("label=%q", n.Name+"\\n"+typeName(n))}
			if n.IsInput {
				attrs = append(attrs, "shape=ellipse")
			}
			if onPath[n.Name] {
				attrs = append(attrs, "fillcolor=\"#ffe08a\"", "penwidth=2")
			}
			fmt.Fprintf(&b, "  %q [%s];\n", n.Name, strings.Join(attrs, ", "))
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
				fmt.Fprintf(&b, "  %q -> %q%s;\n", dep, n.Name, attr)
			}
		}
		b.WriteString("}\n")
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

func mermaidEscape(s string) string {
	r := strings.NewReplacer("\"", "#quot;", "<", "#lt;", ">", "#gt;", "[", "#91;", "]", "#93;")
	return r.Replace(s)
}

// NodeInfo is one entry of `salesdag nodes --json`.
type NodeInfo struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Input      bool     `json:"input,omitempty"`
	Deps       []string `json:"dependencies"`
	Dependents []string `json:"dependents"`
	Doc        string   `json:"doc"`
	Tags       []string `json:"tags,omitempty"`
}

// Describe lists every node of d in topological order.
func Describe(d *dag.DAG) []NodeInfo {
	var out []NodeInfo
	for _, n := range d.Nodes() {
		deps := slices.Clone(n.Deps)
		if deps == nil {
			deps = []string{}
		}
		dependents := d.Dependents(n.Name)
		if dependents == nil {
			dependents = []string{}
		}
		out = append(out, NodeInfo{Name: n.Name, Type: typeName(n), Input: n.IsInput, Deps: deps, Dependents: dependents, Doc: n.Doc, Tags: n.Tags})
	}
	return out
}
