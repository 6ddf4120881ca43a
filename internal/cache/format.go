package cache

import (
	"cmp"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/salesdag/salesdag/internal/units"
)

// WriteList writes entries as the table `salesdag cache ls` prints: node,
// the input it was computed from, key prefix, size on disk, age and last
// use, then a total line.
func WriteList(w io.Writer, entries []Entry, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tINPUT\tKEY\tSIZE\tAGE\tLAST USED")
	var total int64
	for _, e := range entries {
		key := e.Key
		if len(key) > 12 {
			key = key[:12]
		}
		age := "?"
		if !e.Created.IsZero() {
			age = FormatAge(now.Sub(e.Created))
		}
		node := e.Node
		if e.Corrupt != "" {
			node += " (corrupt: " + e.Corrupt + ")"
		}
		input := cmp.Or(e.Input, "-") // written before inputs were recorded, or unreadable
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s ago\n", node, input, key, units.Bytes(e.Bytes), age, FormatAge(now.Sub(e.LastUsed)))
		total += e.Bytes
	}
	fmt.Fprintf(tw, "%d entries, %s\n", len(entries), units.Bytes(total))
	return tw.Flush()
}

// FormatAge writes a duration coarsely ("45s", "12m", "3h", "2d").
func FormatAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
