package cache

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteList writes entries as the table `salesdag cache ls` prints: node,
// key prefix, size, age and last use, then a total line.
func WriteList(w io.Writer, entries []Entry, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tKEY\tSIZE\tAGE\tLAST USED")
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s ago\n", node, key, FormatBytes(e.Bytes), age, FormatAge(now.Sub(e.LastUsed)))
		total += e.Bytes
	}
	fmt.Fprintf(tw, "%d entries, %s\n", len(entries), FormatBytes(total))
	return tw.Flush()
}

// FormatBytes writes a size with a binary unit ("1.5 MiB").
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
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
