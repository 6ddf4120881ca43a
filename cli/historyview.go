package cli

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/salesdag/salesdag/internal/history"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/units"
)

// textOptions control the human output.
type textOptions struct {
	// Loc is the time zone times are shown in; nil means time.Local.
	Loc *time.Location
	// Cwd, if set, shortens file paths under it to relative ones.
	Cwd string
	// AllChecks lists every check in writeDetail; otherwise only the
	// failed ones are listed and the passed ones counted.
	AllChecks bool
}

func (o textOptions) time(t time.Time, layout string) string {
	if t.IsZero() {
		return "-"
	}
	loc := cmp.Or(o.Loc, time.Local)
	return t.In(loc).Format(layout)
}

const (
	timeLayout     = "2006-01-02 15:04:05"
	timeLayoutMsec = "2006-01-02 15:04:05.000"
)

// path shortens a dataset name for display.
func (o textOptions) path(name string) string {
	if o.Cwd != "" && filepath.IsAbs(filepath.FromSlash(name)) {
		if rel, err := filepath.Rel(o.Cwd, filepath.FromSlash(name)); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return name
}

// paths shortens each of names; "-" for none.
func (o textOptions) paths(names []string) string {
	short := make([]string, len(names))
	for i, n := range names {
		short[i] = o.path(n)
	}
	return orDash(short)
}

func (o textOptions) outputs(names []string) string {
	switch len(names) {
	case 0:
		return "-"
	case 1:
		return o.path(names[0])
	}
	dir := path.Dir(names[0])
	for _, n := range names[1:] {
		if path.Dir(n) != dir {
			base := make([]string, len(names))
			for i, n := range names {
				base[i] = path.Base(n)
			}
			return strings.Join(base, ", ")
		}
	}
	return fmt.Sprintf("%d files in %s/", len(names), strings.TrimSuffix(o.path(dir), "/"))
}

// formatDuration shows a duration with three significant digits.
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Microsecond:
		return d.String()
	case d < time.Millisecond:
		return trimFloat(float64(d)/float64(time.Microsecond)) + "µs"
	case d < time.Second:
		return trimFloat(float64(d)/float64(time.Millisecond)) + "ms"
	case d < time.Minute:
		return trimFloat(d.Seconds()) + "s"
	}
	return d.Round(time.Second).String()
}

func trimFloat(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func count(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

func bytesText(p *int64) string {
	if p == nil {
		return "-"
	}
	return units.Bytes(*p)
}

// oneLine keeps the first line of s, cut to max runes.
func oneLine(s string, max int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	if r := []rune(s); len(r) > max {
		s = string(r[:max-3]) + "..."
	}
	return s
}

func orDash(list []string) string {
	if len(list) == 0 {
		return "-"
	}
	return strings.Join(list, ", ")
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// writeRuns prints runs as a table, newest first as given.
func writeRuns(w io.Writer, runs []history.Run, o textOptions) error {
	if len(runs) == 0 {
		_, err := fmt.Fprintln(w, "no runs match")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "RUN\tSTART\tSTATUS\tDURATION\tINPUT\tOUTPUTS\tNOTE")
	for _, r := range runs {
		// Many input files show as their number and directory, like the
		// outputs; `lineage show` lists them all.
		id := cmp.Or(r.ShortID, r.ID)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id, o.time(r.Start, timeLayout), r.Status,
			formatDuration(r.Duration()), o.outputs(r.Inputs), o.outputs(r.Outputs), runNote(&r))
	}
	return tw.Flush()
}

// runNote is the NOTE column of `lineage runs`: the error of a failed
// run, else its warnings (failed checks of severity warn), else "-".
func runNote(r *history.Run) string {
	switch {
	case r.Error != "":
		return "error: " + oneLine(r.Error, 70)
	case len(r.Warnings) == 1:
		return "warning: " + oneLine(r.Warnings[0], 70)
	case len(r.Warnings) > 1:
		return fmt.Sprintf("%d warnings: %s", len(r.Warnings), oneLine(strings.Join(r.Warnings, ", "), 70))
	}
	return "-"
}

// writeDetail prints one run: its header, node timeline, datasets and
// checks.
func writeDetail(out io.Writer, d *history.Detail, o textOptions) error {
	w := new(strings.Builder) // tabwriter.Flush cannot fail on it
	tw := newTable(w)
	fmt.Fprintf(tw, "run\t%s\n", d.ID)
	fmt.Fprintf(tw, "job\t%s (namespace %s)\n", orDash([]string{d.Job}), orDash([]string{d.Namespace}))
	fmt.Fprintf(tw, "status\t%s\n", d.Status)
	fmt.Fprintf(tw, "started\t%s\n", o.time(d.Start, timeLayoutMsec))
	if !d.End.IsZero() {
		fmt.Fprintf(tw, "ended\t%s (took %s)\n", o.time(d.End, timeLayoutMsec), formatDuration(d.Duration()))
	}
	fmt.Fprintf(tw, "input\t%s\n", o.paths(d.Inputs))
	fmt.Fprintf(tw, "outputs\t%s\n", o.outputs(d.Outputs))
	for _, k := range slices.Sorted(maps.Keys(d.Info)) {
		fmt.Fprintf(tw, "%s\t%s\n", k, d.Info[k])
	}
	if d.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", oneLine(d.Error, 200))
	}
	tw.Flush()

	if len(d.Nodes) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "NODE\tSTATUS\tSTART\tDURATION\tROWS IN\tROWS OUT\tCHECKS\tERROR")
		for _, n := range d.Nodes {
			start := "-"
			if !n.Start.IsZero() && !d.Start.IsZero() {
				start = "+" + formatDuration(n.Start.Sub(d.Start))
				if n.Start.Equal(d.Start) {
					start = "+0"
				}
			}
			checks := "-"
			if total, failed := d.NodeChecks(n.Name); total > 0 {
				checks = fmt.Sprintf("%d ok", total)
				if failed > 0 {
					checks = fmt.Sprintf("%d/%d failed", failed, total)
				}
			}
			errText := cmp.Or(oneLine(n.Error, 80), "-")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Status, start, formatDuration(n.Duration()),
				count(n.RowsIn), count(cmp.Or(n.RowsOut, n.Rows)), checks, errText)
		}
		tw.Flush()
	}

	if len(d.Datasets) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "DATASET\tROLE\tNODE\tROWS\tBYTES\tCOLUMNS")
		for _, ds := range d.Datasets {
			node := cmp.Or(ds.Node, "-")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", o.path(history.DatasetName(ds.Namespace, ds.Name)), ds.Role, node,
				count(ds.Rows), bytesText(ds.Bytes), len(ds.Fields))
		}
		tw.Flush()
	}

	if len(d.Checks) > 0 {
		fmt.Fprintln(w)
		var listed []history.Check
		passed := 0
		for _, c := range d.Checks {
			if c.Success {
				passed++
			}
			if o.AllChecks || !c.Success {
				listed = append(listed, c)
			}
		}
		if !o.AllChecks {
			fmt.Fprintf(w, "checks: %d passed, %d failed (--checks lists them all)\n", passed, len(d.Checks)-passed)
		}
		tw = newTable(w)
		if len(listed) > 0 {
			fmt.Fprintln(tw, "CHECK\tNODE\tDATASET\tCOLUMN\tRESULT\tSEVERITY\tEXPECTED\tACTUAL")
		}
		for _, c := range listed {
			res := "ok"
			if !c.Success {
				res = "FAILED"
			}
			label := history.FieldRef{Dataset: c.Dataset}.DatasetLabel()
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, cmp.Or(c.Node, "-"), cmp.Or(label, "-"), cmp.Or(c.Column, "-"), res,
				cmp.Or(c.Severity, "-"), cmp.Or(oneLine(c.Expected, 40), "-"), cmp.Or(oneLine(c.Actual, 40), "-"))
		}
		tw.Flush()
	}
	_, err := io.WriteString(out, w.String())
	return err
}

// writeColumn prints a column's journey, grouped by the dataset it
// reaches: for each dependency, every transformation with its steps, one
// line per node ("node: what it did"), in the order the data flows.
// Filters, groupings and sorts that apply to a whole dataset are listed
// once, as "(rows)", rather than under every column.
func writeColumn(w io.Writer, j *history.ColumnJourney, o textOptions) error {
	var b strings.Builder
	fmt.Fprintf(&b, "column %s in run %s (%s, started %s)\n", j.Column, j.Run.ShortID, j.Run.Status, o.time(j.Run.Start, timeLayout))
	nodes := map[string]bool{}
	for _, n := range j.Run.Nodes {
		nodes[n.Name] = true
	}
	inputs := map[string]bool{}
	for _, in := range j.Run.Inputs {
		inputs[in] = true
	}
	for _, s := range j.Steps {
		for _, n := range s.Path {
			nodes[n] = true
		}
	}
	said := map[string]bool{}
	var order []string
	byDataset := map[string][]history.ColumnEdge{}
	for _, s := range j.Steps {
		k := s.To.Namespace + "\x00" + s.To.Dataset
		if _, ok := byDataset[k]; !ok {
			order = append(order, k)
		}
		byDataset[k] = append(byDataset[k], s)
	}
	for _, k := range order {
		steps := byDataset[k]
		to := steps[0].To
		fmt.Fprintf(&b, "\n%s", o.path(history.DatasetName(to.Namespace, to.Dataset)))
		if p := steps[0].Path; len(p) > 0 {
			fmt.Fprintf(&b, "  (via %s)", strings.Join(p, " -> "))
		}
		b.WriteByte('\n')
		// Row-level dependencies, to leave out of the columns' entries.
		rowLevel := map[string]bool{}
		for _, s := range steps {
			if s.To.Field == "" {
				for _, t := range s.Transformations {
					rowLevel[fieldKey(s.From)+"\x00"+t.Subtype+"\x00"+t.Description] = true
				}
			}
		}
		// Each step (node: description) is said once, where it first
		// appears; a column whose steps were all said already joins the
		// "same steps as above" line of its dataset.
		type fromTo struct {
			from string
			to   []string
		}
		var repeated []fromTo
		for _, s := range steps {
			from := s.From.String()
			if inputs[history.DatasetName(s.From.Namespace, s.From.Dataset)] {
				from = s.From.Field
			}
			target := cmp.Or(s.To.Field, "(rows)")
			var ts []lineage.Transformation
			for _, t := range s.Transformations {
				if s.To.Field != "" && t.Type == lineage.TransformIndirect && rowLevel[fieldKey(s.From)+"\x00"+t.Subtype+"\x00"+t.Description] {
					continue
				}
				ts = append(ts, t)
			}
			if len(ts) == 0 && len(s.Transformations) > 0 {
				continue // only the row-level dependencies listed as (rows)
			}
			labels := make([]string, 0, len(ts))
			hopsOf := make([][]string, 0, len(ts))
			width := 0
			for _, t := range ts {
				var fresh []string
				for _, hop := range splitHops(t.Description, nodes) {
					if !said[t.Type+"/"+t.Subtype+"\x00"+hop] {
						fresh = append(fresh, hop)
					}
				}
				if len(fresh) == 0 && t.Description != "" {
					continue
				}
				label := t.Type
				if t.Subtype != "" {
					label += "/" + t.Subtype
				}
				if t.Masking {
					label += " (masked)"
				}
				labels = append(labels, label)
				hopsOf = append(hopsOf, fresh)
				width = max(width, len(label))
			}
			if len(labels) == 0 && len(ts) > 0 {
				if len(repeated) > 0 && repeated[len(repeated)-1].from == from {
					repeated[len(repeated)-1].to = append(repeated[len(repeated)-1].to, target)
				} else {
					repeated = append(repeated, fromTo{from, []string{target}})
				}
				continue
			}
			fmt.Fprintf(&b, "  %s -> %s\n", from, target)
			for i := range labels {
				hops := hopsOf[i]
				if len(hops) == 0 {
					hops = []string{""}
				}
				for h, hop := range hops {
					label := ""
					if h == 0 {
						label = labels[i]
					}
					fmt.Fprintf(&b, "      %-*s  %s\n", width, label, hop)
				}
			}
			for _, t := range ts {
				for _, hop := range splitHops(t.Description, nodes) {
					said[t.Type+"/"+t.Subtype+"\x00"+hop] = true
				}
			}
		}
		for _, r := range repeated {
			fmt.Fprintf(&b, "  %s -> %s: same steps as above\n", r.from, strings.Join(r.to, ", "))
		}
	}
	// Lines of a transformation without description end in padding.
	lines := strings.Split(b.String(), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

// splitHops splits a transformation's description into its steps where
// a known node's name starts one: the composed descriptions read
// "raw_sales_data: parsed -> daily_sales_summary: sum per date" (DIRECT)
// or "raw_sales_data: ...; cleaned_sales_data: ..." (INDIRECT).
func splitHops(desc string, nodes map[string]bool) []string {
	if desc == "" {
		return nil
	}
	var hops []string
	rest := desc
	for {
		cut := -1
		sepLen := 0
		for _, sep := range []string{" -> ", "; "} {
			off := 0
			for {
				i := strings.Index(rest[off:], sep)
				if i < 0 {
					break
				}
				i += off
				next := rest[i+len(sep):]
				name := next
				if c := strings.IndexAny(next, ":; "); c >= 0 {
					name = next[:c]
				}
				if nodes[name] {
					if cut < 0 || i < cut {
						cut, sepLen = i, len(sep)
					}
					break
				}
				off = i + len(sep)
			}
		}
		if cut < 0 {
			hops = append(hops, rest)
			return hops
		}
		hops = append(hops, rest[:cut])
		rest = rest[cut+sepLen:]
	}
}

// writeNode prints a node's place in the DAG, its impact and its columns.
func writeNode(out io.Writer, v *history.NodeView, o textOptions) error {
	w := new(strings.Builder) // tabwriter.Flush cannot fail on it
	tw := newTable(w)
	kind := "node"
	if v.Input {
		kind = "input"
	}
	title := kind + " " + v.Node
	if v.Doc != "" {
		title += ": " + v.Doc
	}
	fmt.Fprintln(tw, title)
	fmt.Fprintf(tw, "depends on\t%s\n", orDash(v.DependsOn))
	fmt.Fprintf(tw, "feeds\t%s\n", orDash(v.Feeds))
	fmt.Fprintf(tw, "upstream\t%s\n", orDash(v.Upstream))
	fmt.Fprintf(tw, "downstream\t%s\n", orDash(v.Downstream))
	if r := v.LastRun; r != nil {
		fmt.Fprintf(tw, "last run\t%s (%s, started %s)\n", r.ShortID, r.Status, o.time(r.Start, timeLayout))
		if n := v.NodeRun; n != nil {
			line := fmt.Sprintf("%s in %s, %s rows in, %s rows out", n.Status, formatDuration(n.Duration()), count(n.RowsIn), count(cmp.Or(n.RowsOut, n.Rows)))
			if n.Error != "" {
				line += ": " + oneLine(n.Error, 120)
			}
			fmt.Fprintf(tw, "node run\t%s\n", line)
		}
		fmt.Fprintf(tw, "affects\t%s\n", o.paths(v.Affected))
	} else {
		fmt.Fprintf(tw, "last run\t-\t(no recorded run ran it)\n")
	}
	tw.Flush()
	if len(v.ColumnsIn) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "COLUMN IN\tTYPE\tFROM")
		for _, c := range v.ColumnsIn {
			from := cmp.Or(c.Node, o.path(c.Dataset))
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, cmp.Or(c.Type, "-"), cmp.Or(from, "-"))
		}
		tw.Flush()
	}
	if len(v.ColumnsOut) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "COLUMN OUT\tTYPE\tCOMPUTED FROM")
		for _, c := range v.ColumnsOut {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, cmp.Or(c.Type, "-"), sourcesText(c.From, true))
		}
		tw.Flush()
	}
	if len(v.RowFilters) > 0 {
		fmt.Fprintf(w, "\nrows depend on: %s\n", sourcesText(v.RowFilters, false))
		fmt.Fprintf(w, "(the steps of each: salesdag lineage column %s.COLUMN)\n", v.Node)
	}
	_, err := io.WriteString(out, w.String())
	return err
}

// sourcesText names each source column with the subtypes of how it is
// used: with direct set, only the sources a value is computed from
// (filters and groupings are the rows' business, listed apart).
func sourcesText(srcs []history.ColumnSource, direct bool) string {
	var parts []string
	for _, s := range srcs {
		var subs []string
		for _, t := range s.Transformations {
			if direct && t.Type != lineage.TransformDirect {
				continue
			}
			sub := cmp.Or(t.Subtype, t.Type)
			if t.Masking {
				sub += ", masked"
			}
			if !slices.Contains(subs, sub) {
				subs = append(subs, sub)
			}
		}
		if len(subs) == 0 && (direct || len(s.Transformations) > 0) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", s.Field, strings.Join(subs, ", ")))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func fieldKey(f history.FieldRef) string { return f.Namespace + "\x00" + f.Dataset + "\x00" + f.Field }
